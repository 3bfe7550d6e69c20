using System.Buffers;
using Otlp.Core;
using Otlp.Core.Protobuf;

namespace Otlp.Export;

/// <summary>
/// What differs between signals when a request is written straight from the items' sources: the messages that
/// hold the resource, a scope and an item, and how one source is written. Implemented by structs, so that
/// <see cref="DirectRequest.Write{TItem, TLimits, TSignal}"/> is compiled for each signal without indirect calls.
/// </summary>
/// <typeparam name="TLimits">The limits applied to an item.</typeparam>
internal interface IDirectSignal<TLimits>
{
    /// <summary>Starts the request's one resource message (ResourceSpans, ResourceLogs) with its resource.</summary>
    static abstract int BeginResource(ProtoWriter writer, Resource resource);

    /// <summary>Ends the resource message.</summary>
    static abstract void EndResource(ProtoWriter writer, int token);

    /// <summary>Starts a scope message (ScopeSpans, ScopeLogs) with its scope.</summary>
    static abstract int BeginScope(ProtoWriter writer, InstrumentationScope scope);

    /// <summary>Ends a scope message with its schema URL (empty for none).</summary>
    static abstract void EndScope(ProtoWriter writer, int token, string schemaUrl);

    /// <summary>Writes the item of <paramref name="source"/> (an Activity, a log entry), its tag included.</summary>
    static abstract void WriteItem(ProtoWriter writer, object source, TLimits limits);
}

/// <summary>
/// One request written straight from the sources of a batch's items, grouped by scope in order of first appearance
/// (as the model path groups them), into the caller's buffer; shared by the signals that encode directly.
/// </summary>
internal static class DirectRequest
{
    // One writer per thread, taken while in use so a nested call (none today) would make its own.
    [ThreadStatic]
    private static ProtoWriter? cached;

    /// <summary>
    /// True when every item is deferred with a conversion whose target is a <typeparamref name="TTarget"/>: the
    /// conversion tells the source's type, so the sources are not read here (that first read of each, a cache miss,
    /// would only come before the encoder's). Items of one pipeline share their conversion, so its target is
    /// checked once per run of them.
    /// </summary>
    public static bool AllConvertedBy<TItem, TTarget>(ReadOnlySpan<ScopedItem<TItem>> items)
    {
        Delegate? checkedConvert = null;
        foreach (ref readonly var item in items)
        {
            if (item.Convert is null)
            {
                return false;
            }

            if (!ReferenceEquals(item.Convert, checkedConvert))
            {
                if (item.Convert.Target is not TTarget)
                {
                    return false;
                }

                checkedConvert = item.Convert;
            }
        }

        return true;
    }

    /// <summary>
    /// Writes one request of <paramref name="resource"/> holding the items of <paramref name="items"/> (their
    /// <c>Source</c>), each under the limits <paramref name="limitsOf"/> gives for it, which must depend on the
    /// item's <c>Convert</c> only; returns the bytes written.
    /// </summary>
    public static int Write<TItem, TLimits, TSignal>(
        IBufferWriter<byte> output, Resource resource, ReadOnlySpan<ScopedItem<TItem>> items, Func<ScopedItem<TItem>, TLimits> limitsOf)
        where TSignal : struct, IDirectSignal<TLimits>
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(limitsOf);
        var writer = cached ?? new ProtoWriter();
        cached = null;
        var count = items.Length;
        var links = ArrayPool<int>.Shared.Rent(Math.Max(1, 3 * count));
        try
        {
            writer.StartInto(output);
            if (count > 0)
            {
                var request = TSignal.BeginResource(writer, resource);
                var next = links.AsSpan(0, count);
                var groups = ScopeGroups.Link(items, next, links.AsSpan(count, count), links.AsSpan(2 * count, count));
                // Items offered through the same pipeline share their conversion, and with it their limits: asked
                // for once per run of items with the same one, not once per item.
                object? limitsKey = null;
                var limits = default(TLimits)!;
                foreach (var first in links.AsSpan(count, groups))
                {
                    var scope = TSignal.BeginScope(writer, items[first].Scope);
                    for (var i = first; i >= 0; i = next[i])
                    {
                        ref readonly var item = ref items[i];
                        if (limitsKey is null || !ReferenceEquals(item.Convert, limitsKey))
                        {
                            limits = limitsOf(item);
                            limitsKey = item.Convert;
                        }

                        TSignal.WriteItem(writer, item.Source!, limits);
                    }

                    TSignal.EndScope(writer, scope, items[first].SchemaUrl);
                }

                TSignal.EndResource(writer, request);
            }

            return writer.FinishInto(output);
        }
        finally
        {
            writer.Release();
            cached = writer;
            ArrayPool<int>.Shared.Return(links);
        }
    }
}

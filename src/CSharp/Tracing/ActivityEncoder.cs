using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Otlp.Core;
using Otlp.Core.Protobuf;
using Otlp.Export;

namespace Otlp.Tracing;

/// <summary>
/// Stopped <see cref="Activity"/> objects as an OTLP trace request, written straight into a buffer: the bytes
/// <see cref="ActivityConverter.ToSpan"/>, <c>Limits.applyToSpan</c> and the model encoder give, without the
/// spans. Ids are copied through the stack, tags, events and links read with the activity's non-allocating
/// enumerators, values mapped by <see cref="TagValues.WriteAttribute"/>, and every field written by the core's
/// field rules (<c>TraceFields</c>), so nothing is allocated per span.
/// </summary>
internal static class ActivityEncoder
{
    /// <summary>
    /// Writes one request of <paramref name="resource"/> holding the activities of <paramref name="items"/> (their
    /// <c>Source</c>), grouped by scope in order of first appearance, each under the limits
    /// <paramref name="limitsOf"/> gives for it; returns the bytes written.
    /// </summary>
    public static int WriteRequest(
        IBufferWriter<byte> output, Resource resource, ReadOnlySpan<ScopedItem<Span>> items, Func<ScopedItem<Span>, SpanLimits> limitsOf) =>
        DirectRequest.Write<Span, SpanLimits, Spans>(output, resource, items, limitsOf);

    /// <summary>The fields of the span of <paramref name="activity"/> under <paramref name="limits"/>, without its tag.</summary>
    public static void WriteSpan(ProtoWriter writer, Activity activity, SpanLimits limits)
    {
        // In parts, each its own method: one method holding all of them kept fewer values in registers.
        var maxLength = limits.AttributeValueLengthLimit is { } length ? length.Value : int.MaxValue;
        WriteHead(writer, activity);
        var statusTags = WriteAttributes(writer, activity, limits, maxLength);
        WriteEvents(writer, activity, limits, maxLength);
        WriteLinks(writer, activity, limits, maxLength);
        var (message, code) = ActivityConverter.StatusOf(activity.Status, activity.StatusDescription, statusTags.Code, statusTags.Description);
        TraceFields.tail(writer, message, code, ActivityConverter.FlagsOf(activity));
    }

    /// <summary>Span fields 1 to 8: ids, trace state, name, kind, times.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteHead(ProtoWriter writer, Activity activity)
    {
        var start = ActivityConverter.UnixNanos(activity.StartTimeUtc);
        HexIds.ToIds(activity.TraceId, activity.SpanId, activity.ParentSpanId, out var traceId, out var spanId, out var parentSpanId);
        TraceFields.head(
            writer,
            traceId,
            spanId,
            activity.TraceStateString ?? string.Empty,
            parentSpanId,
            activity.DisplayName,
            (SpanKind)((int)activity.Kind + 1),
            start,
            ActivityConverter.EndNanos(activity));
    }

    /// <summary>Span fields 9 and 10: the tags as attributes, the first ones kept; returns the status tags met on the way.</summary>
    /// <remarks>
    /// Keys are unique (common spec, "Attribute Collections": exported collections MUST hold unique keys), and AddTag
    /// can repeat one: a repeated key is left out, its first occurrence kept, before the count limit counts it. A key
    /// whose length (modulo 64) no earlier key had is new without a look back; only one that shares a length is
    /// looked for among the tags before it.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static StatusTags WriteAttributes(ProtoWriter writer, Activity activity, SpanLimits limits, int maxLength)
    {
        // How many more attributes the count limit lets in: one local for the loop instead of a count and a limit.
        var room = limits.AttributeCountLimit;
        var dropped = 0u;
        var lengths = 0UL;

        // The status tags are read on the way (as Activity.GetTagItem finds them), not exported.
        var statusTags = default(StatusTags);
        foreach (ref readonly var tag in activity.EnumerateTagObjects())
        {
            if (string.IsNullOrEmpty(tag.Key) || tag.Key is ActivityConverter.StatusCodeTag or ActivityConverter.StatusDescriptionTag)
            {
                statusTags.Note(tag);
                continue;
            }

            var bit = 1UL << (tag.Key.Length & 63);
            if ((lengths & bit) != 0 && KeyBefore(activity, in tag))
            {
                continue;
            }

            lengths |= bit;
            if (room > 0)
            {
                TagValues.WriteAttribute(writer, Fields.Span_Attributes, tag.Key, tag.Value, maxLength);
                room--;
            }
            else
            {
                dropped++;
            }
        }

        TraceFields.droppedAttributes(writer, dropped);
        return statusTags;
    }

    /// <summary>Whether a tag of <paramref name="activity"/> before <paramref name="tag"/> (one of its own, found by reference) has its key.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool KeyBefore(Activity activity, in KeyValuePair<string, object?> tag)
    {
        foreach (ref readonly var earlier in activity.EnumerateTagObjects())
        {
            if (Unsafe.AreSame(ref Unsafe.AsRef(in earlier), ref Unsafe.AsRef(in tag)))
            {
                return false;
            }

            if (string.Equals(earlier.Key, tag.Key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Span fields 11 and 12: the events, the first ones kept.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteEvents(ProtoWriter writer, Activity activity, SpanLimits limits, int maxLength)
    {
        var events = 0;
        var droppedEvents = 0u;
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (events >= limits.EventCountLimit)
            {
                droppedEvents++;
                continue;
            }

            events++;
            var token = TraceFields.beginEvent(writer, ActivityConverter.UnixNanos(e.Timestamp.UtcDateTime), e.Name);
            var droppedTags = WriteTags(writer, Fields.Event_Attributes, e.EnumerateTagObjects(), limits.EventAttributeCountLimit, maxLength);
            TraceFields.endEvent(writer, token, droppedTags);
        }

        TraceFields.droppedEvents(writer, droppedEvents);
    }

    /// <summary>Span fields 13 and 14: the links, the first ones kept.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteLinks(ProtoWriter writer, Activity activity, SpanLimits limits, int maxLength)
    {
        var links = 0;
        var droppedLinks = 0u;
        foreach (ref readonly var link in activity.EnumerateLinks())
        {
            if (links >= limits.LinkCountLimit)
            {
                droppedLinks++;
                continue;
            }

            links++;
            var context = link.Context;
            var token = TraceFields.beginLink(
                writer, ActivityConverter.ToTraceId(context.TraceId), ActivityConverter.ToSpanId(context.SpanId), context.TraceState ?? string.Empty);
            var droppedTags = WriteTags(writer, Fields.Link_Attributes, link.EnumerateTagObjects(), limits.LinkAttributeCountLimit, maxLength);
            TraceFields.endLink(writer, token, droppedTags, ActivityConverter.FlagsOf(context));
        }

        TraceFields.droppedLinks(writer, droppedLinks);
    }

    /// <summary>The tags of an event or link as attributes, the first <paramref name="countLimit"/> kept; returns how many were dropped.</summary>
    /// <remarks>
    /// Out of line: inlined into the event and link loops, it left the runtime's inlining budget for those methods
    /// spent before the attribute writers' own parts were inlined (they stayed calls).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint WriteTags(
        ProtoWriter writer, int field, Activity.Enumerator<KeyValuePair<string, object?>> tags, int countLimit, int maxLength)
    {
        var room = countLimit;
        var dropped = 0u;
        foreach (ref readonly var tag in tags)
        {
            if (string.IsNullOrEmpty(tag.Key))
            {
                continue;
            }

            if (room > 0)
            {
                TagValues.WriteAttribute(writer, field, tag.Key, tag.Value, maxLength);
                room--;
            }
            else
            {
                dropped++;
            }
        }

        return dropped;
    }
}

/// <summary>The values of the first <c>otel.status_code</c> and <c>otel.status_description</c> tags of an activity.</summary>
internal struct StatusTags
{
    private bool codeSeen;
    private bool descriptionSeen;

    /// <summary>The value of the first status code tag, or null.</summary>
    public object? Code { get; private set; }

    /// <summary>The value of the first status description tag, or null.</summary>
    public object? Description { get; private set; }

    /// <summary>Keeps the value of <paramref name="tag"/> if it is the first status tag of its key; ignores other tags.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Note(in KeyValuePair<string, object?> tag)
    {
        // Out of line: the encoder's loop comes here only for tags it does not export, which are rare.
        if (tag.Key == ActivityConverter.StatusCodeTag && !this.codeSeen)
        {
            this.codeSeen = true;
            this.Code = tag.Value;
        }
        else if (tag.Key == ActivityConverter.StatusDescriptionTag && !this.descriptionSeen)
        {
            this.descriptionSeen = true;
            this.Description = tag.Value;
        }
    }
}

/// <summary>The trace request's messages around spans written from activities.</summary>
internal readonly struct Spans : IDirectSignal<SpanLimits>
{
    /// <inheritdoc />
    public static int BeginResource(ProtoWriter writer, Resource resource) => TraceFields.beginResourceSpans(writer, resource);

    /// <inheritdoc />
    public static void EndResource(ProtoWriter writer, int token) => TraceFields.endResourceSpans(writer, token, string.Empty);

    /// <inheritdoc />
    public static int BeginScope(ProtoWriter writer, InstrumentationScope scope) => TraceFields.beginScopeSpans(writer, scope);

    /// <inheritdoc />
    public static void EndScope(ProtoWriter writer, int token, string schemaUrl) => TraceFields.endScopeSpans(writer, token, schemaUrl);

    /// <inheritdoc />
    public static void WriteItem(ProtoWriter writer, object source, SpanLimits limits)
    {
        var span = TraceFields.beginSpan(writer);
        ActivityEncoder.WriteSpan(writer, (Activity)source, limits);
        TraceFields.endSpan(writer, span);
    }
}

/// <summary>
/// The conversion the tracer defers to the export task (<see cref="ToSpan"/>), and the limits the direct encoder
/// applies in its place.
/// </summary>
internal sealed class ActivitySpans(SpanLimits limits)
{
    /// <summary>The limits of the tracer that offered the activity.</summary>
    public SpanLimits Limits { get; } = limits;

    /// <summary>The limited span of an activity.</summary>
    public Span ToSpan(object source) => LimitsModule.ApplyToSpan(this.Limits, ActivityConverter.ToSpan((Activity)source));
}

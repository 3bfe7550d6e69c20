using System.Diagnostics;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Metrics;

/// <summary>
/// The exemplars of one series since the last collection: slots filled as the core's reservoir decides
/// (<see cref="Exemplars.simpleSlot"/>, <see cref="Exemplars.alignedTakes"/>), without a lock: the count of
/// measurements seen is an interlocked increment, most measurements stop at the decision, and one that takes a slot
/// builds its exemplar and stores it with one write. A collection exchanges the slots for empty ones.
/// </summary>
/// <remarks>
/// A measurement racing with a collection may land in the next interval's slots, or be counted in the next
/// interval's sampling: exemplars are samples, and nothing else depends on them.
/// </remarks>
internal sealed class ExemplarReservoir
{
    private readonly double[]? bounds;
    private readonly Exemplar?[] slots;
    private readonly long[]? seenInBucket;
    private long seen;

    public ExemplarReservoir(Exemplars.Reservoir kind)
    {
        this.slots = new Exemplar?[Exemplars.slots(kind)];
        if (kind is Exemplars.Reservoir.Aligned aligned)
        {
            this.bounds = aligned.bounds;
            this.seenInBucket = new long[this.slots.Length];
        }
    }

    /// <summary>
    /// Offers a measurement of <paramref name="value"/> (<paramref name="position"/> places it in a bucket) made while
    /// <paramref name="activity"/> was current; its tags that <paramref name="keeps"/> refuses are the exemplar's
    /// filtered attributes, and <paramref name="now"/> its time, both read only when it is kept.
    /// </summary>
    public void Offer(
        double position, NumberValue value, Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, Func<ulong> now)
    {
        int slot;
        if (this.bounds is { } bounds)
        {
            slot = Exemplars.alignedSlot(bounds, position);
            if (!Exemplars.alignedTakes(Interlocked.Increment(ref this.seenInBucket![slot]) - 1, Random.Shared.NextDouble()))
            {
                return;
            }
        }
        else
        {
            slot = Exemplars.simpleSlot(Interlocked.Increment(ref this.seen) - 1, this.slots.Length, Random.Shared.NextDouble());
            if (slot < 0)
            {
                return;
            }
        }

        var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
        Volatile.Write(
            ref this.slots[slot],
            new Exemplar(
                Filtered(tags, keeps),
                now(),
                value,
                traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty,
                traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty));
    }

    /// <summary>
    /// The exemplars kept since the last call, in slot order; the reservoir starts afresh (its counts too). Called by
    /// one collection at a time.
    /// </summary>
    public Exemplar[] Take()
    {
        Interlocked.Exchange(ref this.seen, 0);
        if (this.seenInBucket is { } counts)
        {
            for (var i = 0; i < counts.Length; i++)
            {
                Interlocked.Exchange(ref counts[i], 0);
            }
        }

        Exemplar[]? taken = null;
        var kept = 0;
        for (var i = 0; i < this.slots.Length; i++)
        {
            if (Volatile.Read(ref this.slots[i]) is not null && Interlocked.Exchange(ref this.slots[i], null) is { } exemplar)
            {
                taken ??= new Exemplar[this.slots.Length - i];
                taken[kept++] = exemplar;
            }
        }

        return taken is null ? [] : kept == taken.Length ? taken : taken[..kept];
    }

    /// <summary>The measurement's attributes that its series does not keep (specification: an exemplar keeps them).</summary>
    private static KeyValue[] Filtered(ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps)
    {
        foreach (var tag in tags)
        {
            if (SeriesKeyComparer.IsExported(tag) && !keeps(tag.Key))
            {
                // Some are not kept (a view's keys, or the overflow series): those become the exemplar's attributes.
                return TagValues.ToAttributes(tags.ToArray(), keeps);
            }
        }

        return [];
    }
}

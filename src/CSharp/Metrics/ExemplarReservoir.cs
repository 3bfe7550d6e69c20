using System.Diagnostics;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Metrics;

/// <summary>
/// The exemplars of one series since the last collection: slots filled as the core's reservoir decides
/// (<see cref="Exemplars.simpleSlot"/>, <see cref="Exemplars.alignedTakes"/>), under a lock only measurements the
/// filter let through take. An exemplar is built only when a measurement takes a slot.
/// </summary>
internal sealed class ExemplarReservoir
{
    private readonly Lock gate = new();
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
        lock (this.gate)
        {
            int slot;
            if (this.bounds is { } bounds)
            {
                slot = Exemplars.alignedSlot(bounds, position);
                if (!Exemplars.alignedTakes(this.seenInBucket![slot]++, Random.Shared.NextDouble()))
                {
                    return;
                }
            }
            else
            {
                slot = Exemplars.simpleSlot(this.seen++, this.slots.Length, Random.Shared.NextDouble());
                if (slot < 0)
                {
                    return;
                }
            }

            var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
            this.slots[slot] = new Exemplar(
                Filtered(tags, keeps),
                now(),
                value,
                traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty,
                traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty);
        }
    }

    /// <summary>The exemplars kept since the last call, in slot order; the reservoir starts afresh (its counts too).</summary>
    public Exemplar[] Take()
    {
        lock (this.gate)
        {
            this.seen = 0;
            if (this.seenInBucket is { } counts)
            {
                Array.Clear(counts);
            }

            var kept = 0;
            foreach (var slot in this.slots)
            {
                kept += slot is null ? 0 : 1;
            }

            if (kept == 0)
            {
                return [];
            }

            var taken = new Exemplar[kept];
            var next = 0;
            for (var i = 0; i < this.slots.Length; i++)
            {
                if (this.slots[i] is { } exemplar)
                {
                    taken[next++] = exemplar;
                    this.slots[i] = null;
                }
            }

            return taken;
        }
    }

    /// <summary>The measurement's attributes that its series does not keep (specification: an exemplar keeps them).</summary>
    private static KeyValue[] Filtered(ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps)
    {
        var dropped = 0;
        foreach (var tag in tags)
        {
            dropped += SeriesKeyComparer.IsExported(tag) && !keeps(tag.Key) ? 1 : 0;
        }

        if (dropped == 0)
        {
            return [];
        }

        var filtered = new KeyValuePair<string, object?>[dropped];
        var next = 0;
        foreach (var tag in tags)
        {
            if (SeriesKeyComparer.IsExported(tag) && !keeps(tag.Key))
            {
                filtered[next++] = tag;
            }
        }

        return TagValues.ToAttributes(filtered);
    }
}

using System.Diagnostics;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Metrics;

/// <summary>
/// The exemplars of one series since the last collection: offered the measurements the exemplar filter lets through
/// (from any thread), taken by each collection (one at a time). Made by the series' first offer.
/// </summary>
internal abstract class SeriesExemplars
{
    /// <summary>
    /// The maker of a stream's series exemplars for <paramref name="kind"/>: the core's reservoirs, or the one a view
    /// provides (<see cref="OtlpView.ExemplarReservoirFactory"/>), whose failures <paramref name="drops"/> counts and warns of
    /// under <paramref name="metric"/>.
    /// </summary>
    public static Func<SeriesExemplars> Maker(Exemplars.Reservoir kind, Aggregation.Shape shape, string metric, MeasurementDrops drops) =>
        kind is Exemplars.Reservoir.Provided { factory: Func<OtlpExemplarReservoir> factory }
            ? new ProvidedSource(factory, (shape as Aggregation.Shape.ExplicitHistogram)?.bounds, metric, drops).Make
            : () => new SampledExemplars(kind);

    /// <summary>
    /// Offers a measurement of <paramref name="value"/> (<paramref name="position"/> places it in a bucket) made while
    /// <paramref name="activity"/> was current; its tags that <paramref name="keeps"/> refuses are the exemplar's
    /// filtered attributes, and <paramref name="now"/> its time, both read only when it is kept.
    /// </summary>
    public abstract void Offer(
        double position, NumberValue value, Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, Func<ulong> now);

    /// <summary>The exemplars kept since the last call; the reservoir starts afresh.</summary>
    public abstract Exemplar[] Take();

    /// <summary>
    /// The exemplar of a measurement: its value, the time <paramref name="now"/> gives, the span of
    /// <paramref name="activity"/> (W3C ids only), and the tags its series does not keep.
    /// </summary>
    public static Exemplar Make(
        NumberValue value, Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, Func<ulong> now)
    {
        var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
        return new Exemplar(
            Filtered(tags, keeps),
            now(),
            value,
            traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty,
            traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty);
    }

    /// <summary>The measurement's attributes that its series does not keep (specification: an exemplar keeps them).</summary>
    private static KeyValue[] Filtered(ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps)
    {
        foreach (var tag in tags)
        {
            if (SeriesKeyComparer.IsExported(tag) && !keeps(tag.Key))
            {
                // Some are not kept (a view's keys, or the overflow series): those become the exemplar's attributes,
                // each key once with its last value, as the series' own attributes are.
                return TagValues.ToAttributes(SeriesKey.LastOfEachKey(tags, static _ => true, copyArrays: false), keeps);
            }
        }

        return [];
    }

    /// <summary>A view's reservoir factory with what its series' reservoirs need.</summary>
    private sealed class ProvidedSource(Func<OtlpExemplarReservoir> factory, double[]? bounds, string metric, MeasurementDrops drops)
    {
        public SeriesExemplars Make()
        {
            try
            {
                if (factory() is { } reservoir)
                {
                    return new ProvidedExemplars(reservoir, bounds, metric, drops);
                }

                drops.ReservoirFailed(metric, "its factory returned null");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                drops.ReservoirFailed(metric, $"its factory threw {e.GetType().Name}: {e.Message}");
            }

            return NoExemplars.Instance;
        }
    }

    /// <summary>A series whose provided reservoir could not be made: it keeps none (the failure was counted).</summary>
    private sealed class NoExemplars : SeriesExemplars
    {
        public static readonly NoExemplars Instance = new();

        public override void Offer(
            double position, NumberValue value, Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, Func<ulong> now)
        {
        }

        public override Exemplar[] Take() => [];
    }
}

/// <summary>
/// The core's reservoirs: slots filled as <see cref="Exemplars.simpleSlot"/> and <see cref="Exemplars.alignedTakes"/>
/// decide, without a lock: the count of measurements seen is an interlocked increment, most measurements stop at the
/// decision, and one that takes a slot builds its exemplar and stores it with one write. A collection exchanges the
/// slots for empty ones.
/// </summary>
/// <remarks>
/// A measurement racing with a collection may land in the next interval's slots, or be counted in the next
/// interval's sampling: exemplars are samples, and nothing else depends on them.
/// </remarks>
internal sealed class SampledExemplars : SeriesExemplars
{
    private readonly double[]? bounds;
    private readonly Exemplar?[] slots;
    private readonly long[]? seenInBucket;
    private long seen;

    public SampledExemplars(Exemplars.Reservoir kind)
    {
        this.slots = new Exemplar?[Exemplars.slots(kind)];
        if (kind is Exemplars.Reservoir.Aligned aligned)
        {
            this.bounds = aligned.bounds;
            this.seenInBucket = new long[this.slots.Length];
        }
    }

    /// <inheritdoc />
    public override void Offer(
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

        Volatile.Write(ref this.slots[slot], Make(value, activity, tags, keeps, now));
    }

    /// <summary>The exemplars kept since the last call, in slot order; the reservoir starts afresh (its counts too).</summary>
    public override Exemplar[] Take()
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
}

/// <summary>
/// A series' reservoir of the application's own (<see cref="OtlpView.ExemplarReservoirFactory"/>): offered each measurement
/// the filter lets through, collected at each collection. What it throws is caught, counted and warned of, never
/// passed to the thread recording or collecting.
/// </summary>
internal sealed class ProvidedExemplars(OtlpExemplarReservoir reservoir, double[]? bounds, string metric, MeasurementDrops drops) : SeriesExemplars
{
    /// <inheritdoc />
    public override void Offer(
        double position, NumberValue value, Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, Func<ulong> now)
    {
        try
        {
            reservoir.Offer(new OtlpExemplarMeasurement(value, position, bounds, activity, tags, keeps, now));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            drops.ReservoirFailed(metric, $"its Offer threw {e.GetType().Name}: {e.Message}");
        }
    }

    /// <inheritdoc />
    public override Exemplar[] Take()
    {
        IReadOnlyList<Exemplar>? collected;
        try
        {
            collected = reservoir.Collect();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            drops.ReservoirFailed(metric, $"its Collect threw {e.GetType().Name}: {e.Message}");
            return [];
        }

        if (collected is null || collected.Count == 0)
        {
            return [];
        }

        // Copied: the reservoir may reuse its list; a null in it is left out. At most as many as a view may ask of the
        // default reservoir, so that a reservoir that never forgets cannot grow every point without bound.
        var limit = Views.maxExemplarReservoirSize;
        if (collected.Count > limit)
        {
            drops.ReservoirOverfull(metric, collected.Count, limit);
        }

        var taken = new List<Exemplar>(Math.Min(collected.Count, limit));
        for (var i = 0; i < collected.Count && taken.Count < limit; i++)
        {
            if (collected[i] is { } exemplar)
            {
                taken.Add(exemplar);
            }
        }

        return [.. taken];
    }
}

using System.Diagnostics;
using Otlp.Core;

namespace Otlp.Metrics;

/// <summary>
/// An exemplar reservoir of the application's own (metrics SDK specification, "ExemplarReservoir"), set on a view
/// with <see cref="OtlpView.ExemplarReservoirFactory"/>: each series of the view's metric gets one, made by the first
/// measurement offered to it. It is offered every measurement of its series that the exemplar filter
/// (<see cref="OtlpMetricsOptions.ExemplarFilter"/>) lets through, and collected at every collection.
/// </summary>
/// <remarks>
/// <para><see cref="Offer"/> runs on the application's thread that recorded the measurement, on several threads at
/// once, and concurrently with <see cref="Collect"/>: it must be thread-safe, and should be quick and allocate
/// nothing for the measurements it does not keep. <see cref="Collect"/> runs on the collection's thread, one
/// collection at a time.</para>
/// <para>What either throws is caught: the exemplars are lost, the failure is counted in
/// <see cref="OtlpMetrics.ExemplarReservoirFailures"/> and warned of once per metric in
/// <see cref="OtlpMetrics.Warnings"/>; the measurement itself is recorded all the same.</para>
/// </remarks>
public abstract class OtlpExemplarReservoir
{
    /// <summary>
    /// Offers a measurement, already recorded in its series. To keep it, store
    /// <see cref="OtlpExemplarMeasurement.ToExemplar"/> (the measurement itself lives only during the call).
    /// </summary>
    /// <param name="measurement">The measurement, its tags and the activity current when it was made.</param>
    public abstract void Offer(in OtlpExemplarMeasurement measurement);

    /// <summary>
    /// The exemplars to report with the series' next point: those kept since the previous call (the reservoir should
    /// start afresh, so that each exemplar falls within its point's time range). Null or empty for none; past 1000
    /// (the largest reservoir a view may size) the rest are left out, with a warning.
    /// </summary>
    public abstract IReadOnlyList<Exemplar>? Collect();
}

/// <summary>A measurement offered to an <see cref="OtlpExemplarReservoir"/>; valid only during the offer.</summary>
public readonly ref struct OtlpExemplarMeasurement
{
    private readonly double position;
    private readonly double[]? bounds;
    private readonly Func<string, bool> keeps;
    private readonly Func<ulong> now;

    internal OtlpExemplarMeasurement(
        NumberValue value,
        double position,
        double[]? bounds,
        Activity? activity,
        ReadOnlySpan<KeyValuePair<string, object?>> tags,
        Func<string, bool> keeps,
        Func<ulong> now)
    {
        this.Value = value;
        this.position = position;
        this.bounds = bounds;
        this.Activity = activity;
        this.Tags = tags;
        this.keeps = keeps;
        this.now = now;
    }

    /// <summary>The measured value: <c>NumberValue.AsInt</c> from an integer instrument, <c>NumberValue.AsDouble</c> otherwise.</summary>
    public NumberValue Value { get; }

    /// <summary>The measured value as a double (an integer one converted).</summary>
    public double DoubleValue => this.position;

    /// <summary>The activity current when the measurement was made, or null.</summary>
    public Activity? Activity { get; }

    /// <summary>The measurement's tags, all of them (also those its series keeps).</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> Tags { get; }

    /// <summary>
    /// For a metric aggregated as an explicit-bucket histogram, the index of the bucket the value falls in (0 to the
    /// number of bounds), as the default reservoir aligned to the buckets uses it; -1 for every other aggregation.
    /// </summary>
    public int HistogramBucket => this.bounds is { } bounds ? Exemplars.alignedSlot(bounds, this.position) : -1;

    /// <summary>
    /// The measurement as an exemplar, as the default reservoirs keep them: its value, the time now, the current
    /// activity's span (W3C ids only) and the tags its series does not keep (those a view's attribute keys leave out,
    /// or all of them in the overflow series).
    /// </summary>
    public Exemplar ToExemplar() => SeriesExemplars.Make(this.Value, this.Activity, this.Tags, this.keeps, this.now);
}

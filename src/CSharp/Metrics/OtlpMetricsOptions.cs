using System.Diagnostics.Metrics;
using Microsoft.FSharp.Core;
using Otlp.Core;

namespace Otlp.Metrics;

/// <summary>Settings of <see cref="OtlpMetrics"/>; anything left null comes from the exporter's configuration (<c>OTEL_METRIC_*</c>, <c>OTEL_EXPORTER_OTLP_METRICS_*</c>).</summary>
public sealed class OtlpMetricsOptions
{
    /// <summary>
    /// Names of the <see cref="Meter"/>s to listen to, compared without case; <c>*</c> matches any run of characters
    /// (<c>"MyCompany.*"</c>) and <c>?</c> one character. Empty listens to nothing.
    /// </summary>
    public IList<string> Meters { get; } = new List<string>();

    /// <summary>The views applied to every instrument of the meters listened to, in order (metrics SDK specification, "View").</summary>
    public IList<OtlpView> Views { get; } = new List<OtlpView>();

    /// <summary>The time between two exports; null for <c>OTEL_METRIC_EXPORT_INTERVAL</c> (default 60 s).</summary>
    public TimeSpan? ExportInterval { get; set; }

    /// <summary>
    /// How long one collect-and-export may take; <see cref="TimeSpan.Zero"/> or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// for no limit; null for <c>OTEL_METRIC_EXPORT_TIMEOUT</c> (default 30 s).
    /// </summary>
    public TimeSpan? ExportTimeout { get; set; }

    /// <summary>The temporality asked for; null for <c>OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE</c> (default cumulative).</summary>
    public TemporalityPreference? TemporalityPreference { get; set; }

    /// <summary>The aggregation of histograms without a view; null for <c>OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION</c>.</summary>
    public HistogramAggregation? DefaultHistogramAggregation { get; set; }

    /// <summary>
    /// The most distinct attribute sets a metric keeps series for, unless a view says otherwise; null for 2000, and
    /// at least 1 (a smaller value is raised to it). Past it, new attribute sets go to one more series,
    /// <c>otel.metric.overflow=true</c>.
    /// </summary>
    public int? CardinalityLimit { get; set; }

    /// <summary>
    /// Which measurements of synchronous instruments may become exemplars (a sampled measurement with the current
    /// span's ids, attached to its point); null for <c>OTEL_METRICS_EXEMPLAR_FILTER</c> (default
    /// <see cref="ExemplarFilter.TraceBased"/>: those recorded while a sampled activity is current).
    /// <see cref="ExemplarFilter.AlwaysOff"/> removes their cost from recording.
    /// </summary>
    public ExemplarFilter? ExemplarFilter { get; set; }

    /// <summary>The clock of timestamps and of the export timer; null for <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}

/// <summary>
/// A view: selects instruments by name (wildcards <c>*</c> and <c>?</c>, without case) and optionally by meter and
/// kind, and configures the metric stream they produce. Unset properties keep the instrument's defaults.
/// <code>
/// options.Views.Add(new OtlpView("http.server.request.duration") { ExplicitBucketBoundaries = [0.01, 0.1, 1, 10] });
/// options.Views.Add(new OtlpView("noisy.*") { Drop = true });
/// </code>
/// </summary>
public sealed class OtlpView
{
    /// <summary>A view of the instruments named <paramref name="instrumentName"/> (wildcards allowed).</summary>
    public OtlpView(string instrumentName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instrumentName);
        this.InstrumentName = instrumentName;
    }

    /// <summary>The instrument name selected, compared without case; <c>*</c> and <c>?</c> are wildcards.</summary>
    public string InstrumentName { get; }

    /// <summary>The meter name selected, exactly; null selects every meter.</summary>
    public string? MeterName { get; set; }

    /// <summary>The instrument kind selected; null selects every kind.</summary>
    public Aggregation.InstrumentKind? Kind { get; set; }

    /// <summary>The metric's name; null keeps the instrument's. Ignored, with a warning, when <see cref="InstrumentName"/> has a wildcard.</summary>
    public string? Name { get; set; }

    /// <summary>The metric's description; null keeps the instrument's.</summary>
    public string? Description { get; set; }

    /// <summary>True to record nothing of the selected instruments (they are not even enabled).</summary>
    public bool Drop { get; set; }

    /// <summary>Histogram and counter instruments: an explicit-bucket histogram with these upper bounds (finite, increasing).</summary>
    public IReadOnlyList<double>? ExplicitBucketBoundaries { get; set; }

    /// <summary>Histogram and counter instruments: a base-2 exponential histogram with at most this many buckets per sign (default 160 when <see cref="ExponentialHistogramMaxScale"/> is set).</summary>
    public int? ExponentialHistogramMaxSize { get; set; }

    /// <summary>The starting (highest) scale of the exponential histogram, in [-10, 20] (default 20 when <see cref="ExponentialHistogramMaxSize"/> is set).</summary>
    public int? ExponentialHistogramMaxScale { get; set; }

    /// <summary>The attribute keys kept; null keeps all. Measurements that differ only in other keys share a series.</summary>
    public IReadOnlyList<string>? AttributeKeys { get; set; }

    /// <summary>The most distinct attribute sets the metric keeps series for (the overflow series comes on top); null for the listener's limit.</summary>
    public int? CardinalityLimit { get; set; }

    /// <summary>
    /// The most exemplars each series of the metric keeps, chosen by uniform sampling among its measurements since
    /// the last collection, in [0, 1000]; 0 keeps none (their cost gone for this metric). Null keeps the default:
    /// one per bucket for explicit-bucket histograms, up to 20 for exponential ones, one otherwise. Which
    /// measurements are offered is the listener's <see cref="OtlpMetricsOptions.ExemplarFilter"/>.
    /// </summary>
    public int? ExemplarReservoirSize { get; set; }

    /// <summary>
    /// Makes each series of the metric an exemplar reservoir of the application's own, in place of the default ones
    /// (called at a series' first measurement offered as an exemplar; when two threads make a series' first offers at
    /// once, each may call it and one reservoir is kept; see <see cref="OtlpExemplarReservoir"/>).
    /// Null keeps the default. A view may not set both this and <see cref="ExemplarReservoirSize"/> (it is then
    /// ignored, with a warning). Which measurements are offered is still the listener's
    /// <see cref="OtlpMetricsOptions.ExemplarFilter"/>.
    /// </summary>
    public Func<OtlpExemplarReservoir>? ExemplarReservoirFactory { get; set; }

    internal Views.View ToCore()
    {
        var aggregation =
            this.Drop ? Core.Views.ViewAggregation.Drop
            : this.ExplicitBucketBoundaries is { } bounds ? Core.Views.ViewAggregation.NewExplicitBuckets(bounds.ToArray())
            : this.ExponentialHistogramMaxSize is not null || this.ExponentialHistogramMaxScale is not null
                ? Core.Views.ViewAggregation.NewExponential(
                    this.ExponentialHistogramMaxSize ?? Aggregation.defaultMaxSize, this.ExponentialHistogramMaxScale ?? Aggregation.defaultMaxScale)
            : Core.Views.ViewAggregation.Default;
        return new Views.View(
            this.InstrumentName,
            this.MeterName!,
            this.Kind is { } kind ? FSharpOption<Aggregation.InstrumentKind>.Some(kind) : null!,
            this.Name!,
            this.Description!,
            aggregation,
            this.AttributeKeys is { } keys ? FSharpOption<string[]>.Some(keys.ToArray()) : null!,
            this.CardinalityLimit is { } limit ? FSharpOption<int>.Some(limit) : null!,
            this.ExemplarReservoirSize is { } size ? FSharpOption<int>.Some(size) : null!,
            this.ExemplarReservoirFactory is { } factory ? FSharpOption<object>.Some(factory) : null!);
    }
}

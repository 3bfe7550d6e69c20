using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.FSharp.Core;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Metrics;

/// <summary>
/// Exports the measurements of .NET's own metrics API (<see cref="System.Diagnostics.Metrics"/>) as OTLP metrics,
/// with no other telemetry SDK: listens to the chosen meters, aggregates every measurement in memory (sums, last
/// values, explicit or exponential histograms, as views and the configuration say), and every export interval
/// collects the series and sends them to an <see cref="OtlpMetricExporter"/>.
/// <code>
/// await using var exporter = OtlpExporter.ForMetrics().Build();
/// await using var metrics = OtlpMetrics.Start(exporter, "MyCompany.*");
/// </code>
/// Instruments with an invalid name or unit are ignored, and dropped measurements (NaN, infinities, negative counter
/// values) are counted, each with a warning through the exporter's problem log; nothing thrown here reaches the
/// thread that records. When the exporter is disabled (<c>OTEL_SDK_DISABLED=true</c>) nothing is listened to.
/// Disposing collects and exports one last time, then stops listening; it does not dispose the exporter.
/// </summary>
public sealed class OtlpMetrics : IAsyncDisposable, IDisposable
{
    private const int MaxWarningsKept = 100;
    private readonly MeterListener? listener;
    private readonly PeriodicReader? reader;
    private readonly Regex[] patterns;
    private readonly Views.View[] views;
    private readonly HistogramAggregation histograms;
    private readonly int cardinalityLimit;
    private readonly TimeProvider time;
    private readonly Lock registration = new();
    private readonly List<MetricStream> streams = [];
    private readonly List<string> warnings = [];
    private readonly MeasurementDrops drops;
    private readonly Dictionary<(InstrumentationScope Scope, string SchemaUrl), InstrumentationScope> scopes = [];
    private readonly MetricEncoder encoder = new();
    private readonly Action<System.Buffers.IBufferWriter<byte>> writeRequest;
    private Instruments.Registry registry = Instruments.emptyRegistry;

    // The streams of the running collection, copied from `streams` into an array reused by every collection.
    private MetricStream[] collecting = [];
    private int collectingCount;
    private ulong previousCollectionUnixNano;
    private long ignoredInstruments;
    private int disposed;

    private OtlpMetrics(OtlpMetricExporter exporter, OtlpMetricsOptions options)
    {
        this.Exporter = exporter;
        var configured = exporter.Configuration.Processing is Processing.PeriodicReader p
            ? p.Item
            : new MetricReaderConfig(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30), Core.TemporalityPreference.Cumulative, HistogramAggregation.ExplicitBucketHistogram);
        this.TemporalityPreference = options.TemporalityPreference ?? configured.TemporalityPreference;
        this.histograms = options.DefaultHistogramAggregation ?? configured.DefaultHistogramAggregation;
        (this.ExportInterval, this.ExportTimeout) = this.IntervalAndTimeout(options, configured, exporter);
        this.cardinalityLimit = Math.Max(1, options.CardinalityLimit ?? Aggregation.defaultCardinalityLimit);
        this.ExemplarFilter = this.ResolveExemplarFilter(options, exporter);
        this.views = options.Views.Select(v => v.ToCore()).ToArray();
        this.time = options.TimeProvider ?? TimeProvider.System;
        this.drops = new MeasurementDrops(this.Warn);
        this.patterns = options.Meters.Where(m => !string.IsNullOrWhiteSpace(m)).Select(Pattern).ToArray();
        this.previousCollectionUnixNano = this.NowUnixNano();
        this.writeRequest = output => this.encoder.WriteRequest(output, this.Exporter.Resource, this.collecting.AsSpan(0, this.collectingCount));
        if (exporter.IsDisabled || this.patterns.Length == 0)
        {
            return;
        }

        this.listener = new MeterListener
        {
            InstrumentPublished = this.OnInstrumentPublished,
        };
        this.listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        this.listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        this.listener.Start();

        var settings = new MetricReader.Settings(
            Math.Max(1, (long)this.ExportInterval.TotalMilliseconds),
            Runtime.Deadlines.ToMilliseconds(this.ExportTimeout));
        this.reader = new PeriodicReader(settings, this.CollectAndExportAsync, this.Warn, this.time);
    }

    /// <summary>
    /// The options' interval and timeout, checked by the rules of <c>OTEL_METRIC_EXPORT_INTERVAL</c> and
    /// <c>OTEL_METRIC_EXPORT_TIMEOUT</c> (a zero timeout is no limit; an interval under 1 ms or a negative timeout is
    /// reported and the environment's or the default used); the exporter's configuration for what the options leave out.
    /// </summary>
    private (TimeSpan Interval, TimeSpan Timeout) IntervalAndTimeout(OtlpMetricsOptions options, MetricReaderConfig configured, OtlpMetricExporter exporter)
    {
        if (options.ExportInterval is null && options.ExportTimeout is null)
        {
            return (configured.ExportInterval, configured.ExportTimeout);
        }

        static FSharpOption<TimeSpan> Opt(TimeSpan? value) => value is { } v ? FSharpOption<TimeSpan>.Some(v) : FSharpOption<TimeSpan>.None;
        var resolved = ConfigModule.ResolveMetricReader(exporter.EnvironmentVariables, Opt(options.ExportInterval), Opt(options.ExportTimeout));
        foreach (var diagnostic in resolved.Diagnostics)
        {
            if (diagnostic.Setting.StartsWith("ConfigOverrides.", StringComparison.Ordinal))
            {
                this.Warn(diagnostic.Message.Replace("ConfigOverrides.Metric", "OtlpMetricsOptions.", StringComparison.Ordinal));
            }
        }

        return (
            options.ExportInterval is null ? configured.ExportInterval : resolved.Value.ExportInterval,
            options.ExportTimeout is null ? configured.ExportTimeout : resolved.Value.ExportTimeout);
    }

    /// <summary>The options' exemplar filter over <c>OTEL_METRICS_EXEMPLAR_FILTER</c>; an unknown variable value is reported and the default used.</summary>
    private ExemplarFilter ResolveExemplarFilter(OtlpMetricsOptions options, OtlpMetricExporter exporter)
    {
        var code = options.ExemplarFilter is { } filter ? FSharpOption<ExemplarFilter>.Some(filter) : FSharpOption<ExemplarFilter>.None;
        var resolved = ConfigModule.ResolveExemplarFilter(exporter.EnvironmentVariables, code);
        foreach (var diagnostic in resolved.Diagnostics)
        {
            this.Warn(diagnostic.Message);
        }

        return resolved.Value;
    }

    /// <summary>The exemplar filter in use (<see cref="OtlpMetricsOptions.ExemplarFilter"/>, or <c>OTEL_METRICS_EXEMPLAR_FILTER</c>).</summary>
    public ExemplarFilter ExemplarFilter { get; }

    /// <summary>The exporter the metrics are sent to.</summary>
    public OtlpMetricExporter Exporter { get; }

    /// <summary>The temporality preference in use (per instrument kind as in the OTLP exporter specification's table).</summary>
    public TemporalityPreference TemporalityPreference { get; }

    /// <summary>The time between two collections.</summary>
    public TimeSpan ExportInterval { get; }

    /// <summary>How long one collect-and-export may take.</summary>
    public TimeSpan ExportTimeout { get; }

    /// <summary>Instruments ignored because their name or unit is invalid.</summary>
    public long IgnoredInstruments => Interlocked.Read(ref this.ignoredInstruments);

    /// <summary>Measurements dropped: NaN or infinite values, negative values of counters, and any that failed to record.</summary>
    public long DroppedMeasurements => this.drops.NonFiniteCount + this.drops.NegativeCount + this.drops.FailedCount;

    /// <summary>
    /// Calls to the exemplar reservoirs of views (<see cref="OtlpView.ExemplarReservoirFactory"/>) that threw (their
    /// factory, <c>Offer</c> or <c>Collect</c>); each metric's first is in <see cref="Warnings"/>.
    /// </summary>
    public long ExemplarReservoirFailures => this.drops.ReservoirFailures;

    /// <summary>The last 100 warnings written (ignored instruments and views, duplicate registrations, drops, overflows, failed callbacks).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (this.warnings)
            {
                return this.warnings.ToArray();
            }
        }
    }

    /// <summary>The number of metric streams (one per instrument and view, identical instruments sharing one).</summary>
    public int StreamCount
    {
        get
        {
            lock (this.registration)
            {
                return this.streams.Count;
            }
        }
    }

    /// <summary>The series held now across all streams (for tests: idle delta series are retired).</summary>
    internal int SeriesCount
    {
        get
        {
            lock (this.registration)
            {
                return this.streams.Sum(s => s.SeriesCount);
            }
        }
    }

    /// <summary>Starts listening to the meters named in <paramref name="options"/>, exporting every export interval.</summary>
    public static OtlpMetrics Start(OtlpMetricExporter exporter, OtlpMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        ArgumentNullException.ThrowIfNull(options);
        return new OtlpMetrics(exporter, options);
    }

    /// <summary>Starts listening to <paramref name="meters"/> (wildcards allowed), with the exporter's configuration.</summary>
    public static OtlpMetrics Start(OtlpMetricExporter exporter, params string[] meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var options = new OtlpMetricsOptions();
        foreach (var meter in meters)
        {
            options.Meters.Add(meter);
        }

        return Start(exporter, options);
    }

    /// <summary>True when a meter of this name is listened to.</summary>
    public bool ListensTo(string meterName) => this.listener is not null && this.patterns.Any(p => p.IsMatch(meterName));

    /// <summary>Collects and exports now; true when the export finished (successfully or not) within <paramref name="timeout"/>.</summary>
    /// <remarks>
    /// Without a <paramref name="timeout"/> and a token that can be cancelled, the collection (the observable
    /// instruments' callbacks included) runs on the calling thread, up to the export's send, as a flush of the
    /// official SDK does. With either, it runs on the thread pool, so that a slow callback cannot hold the caller
    /// past the timeout.
    /// </remarks>
    public Task<bool> ForceFlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        this.reader is null ? Task.FromResult(true) : this.reader.ForceFlushAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Collects and exports one last time, then stops collecting; true when that finished within <paramref name="timeout"/>.</summary>
    /// <remarks>The last collection runs on the calling thread or the thread pool as <see cref="ForceFlushAsync"/> says.</remarks>
    public async Task<bool> ShutdownAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (this.reader is null)
        {
            return true;
        }

        try
        {
            return await this.reader.ShutdownAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Also when the wait was cancelled: the reader shuts down all the same, so measurements must stop.
            this.listener?.Dispose();
        }
    }

    /// <summary>Shuts down within the export timeout, then stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref this.disposed, 1) == 1)
        {
            return;
        }

        if (this.reader is not null)
        {
            await this.reader.DisposeAsync().ConfigureAwait(false);
        }

        this.listener?.Dispose();
    }

    /// <summary>As <see cref="DisposeAsync"/>, blocking until done.</summary>
    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Collects every stream now, without exporting: the request the next export would send.</summary>
    internal ExportMetricsServiceRequest Collect()
    {
        this.Gather();
        return this.ToRequest();
    }

    /// <summary>
    /// Collects every stream now, without exporting, and gives the collection both ways: written straight from the
    /// series (the direct path) and as the model's request. For tests.
    /// </summary>
    internal (byte[] Direct, ExportMetricsServiceRequest Model) CollectBothWays()
    {
        this.Gather();
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        this.writeRequest(output);
        return (output.WrittenSpan.ToArray(), this.ToRequest());
    }

    /// <summary>
    /// Collects every stream now and writes the request straight from the series into <paramref name="output"/>,
    /// without exporting; returns the number of points. For tests and measurements of the direct path.
    /// </summary>
    internal int CollectInto(System.Buffers.IBufferWriter<byte> output)
    {
        var points = this.Gather();
        this.writeRequest(output);
        return points;
    }

    /// <summary>
    /// The first half of a collection: observable callbacks run, then every stream moves its series' measurements
    /// into what they report. Returns the number of points; the streams keep them for <see cref="ToRequest"/> or
    /// the direct encoding, until the next collection.
    /// </summary>
    private int Gather()
    {
        try
        {
            this.listener?.RecordObservableInstruments();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            this.Warn($"An observable instrument's callback threw {e.GetType().Name}: {e.Message}");
        }

        lock (this.registration)
        {
            if (this.collecting.Length < this.streams.Count)
            {
                this.collecting = new MetricStream[Math.Max(this.streams.Count, 2 * this.collecting.Length)];
            }

            this.streams.CopyTo(this.collecting);
            this.collectingCount = this.streams.Count;
        }

        var now = this.NowUnixNano();
        var previous = this.previousCollectionUnixNano;
        this.previousCollectionUnixNano = now;
        var points = 0;
        for (var i = 0; i < this.collectingCount; i++)
        {
            points += this.collecting[i].Gather(now, previous);
        }

        return points;
    }

    /// <summary>The points of the last <see cref="Gather"/> as the model's request.</summary>
    private ExportMetricsServiceRequest ToRequest()
    {
        var metrics = new List<Tuple<InstrumentationScope, string, Metric>>();
        for (var i = 0; i < this.collectingCount; i++)
        {
            if (this.collecting[i].ToMetric() is { } metric)
            {
                metrics.Add(Tuple.Create(this.collecting[i].Scope, this.collecting[i].SchemaUrl, metric));
            }
        }

        return MetricStreams.requestWithSchemaUrls(this.Exporter.Resource, metrics);
    }

    private static Regex Pattern(string glob) =>
        new(
            "^" + Regex.Escape(glob.Trim()).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static (Aggregation.InstrumentKind Kind, bool Integers)? Describe(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var number = type.GetGenericArguments()[0];
        var integers = number == typeof(long) || number == typeof(int) || number == typeof(short) || number == typeof(byte);
        Aggregation.InstrumentKind? kind =
            definition == typeof(Counter<>) ? Aggregation.InstrumentKind.Counter
            : definition == typeof(UpDownCounter<>) ? Aggregation.InstrumentKind.UpDownCounter
            : definition == typeof(Histogram<>) ? Aggregation.InstrumentKind.Histogram
            : definition == typeof(Gauge<>) ? Aggregation.InstrumentKind.Gauge
            : definition == typeof(ObservableCounter<>) ? Aggregation.InstrumentKind.ObservableCounter
            : definition == typeof(ObservableUpDownCounter<>) ? Aggregation.InstrumentKind.ObservableUpDownCounter
            : definition == typeof(ObservableGauge<>) ? Aggregation.InstrumentKind.ObservableGauge
            : null;
        return kind is null ? null : (kind, integers);
    }

    /// <summary>The bucket boundaries a histogram advises (<see cref="InstrumentAdvice{T}"/>), as doubles; None for other instruments and histograms without advice.</summary>
    private static FSharpOption<double[]> AdvisedBucketBoundaries(Instrument instrument)
    {
        static double[]? Of<T>(InstrumentAdvice<T>? advice, Func<T, double> toDouble)
            where T : struct =>
            advice?.HistogramBucketBoundaries is { } bounds ? bounds.Select(toDouble).ToArray() : null;

        var bounds = instrument switch
        {
            Histogram<double> h => Of(h.Advice, b => b),
            Histogram<long> h => Of(h.Advice, b => b),
            Histogram<int> h => Of(h.Advice, b => b),
            Histogram<float> h => Of(h.Advice, b => b),
            Histogram<short> h => Of(h.Advice, b => b),
            Histogram<byte> h => Of(h.Advice, b => b),
            Histogram<decimal> h => Of(h.Advice, b => (double)b),
            _ => null,
        };
        return bounds is null ? FSharpOption<double[]>.None : FSharpOption<double[]>.Some(bounds);
    }

    private ulong NowUnixNano() => (ulong)(this.time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100UL;

    private void Warn(string message)
    {
        lock (this.warnings)
        {
            // A callback that throws at every collection must not grow this list for ever.
            if (this.warnings.Count == MaxWarningsKept)
            {
                this.warnings.RemoveAt(0);
            }

            this.warnings.Add(message);
        }

        this.Exporter.Statistics.ReportProblem(message);
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener meterListener)
    {
        try
        {
            if (!this.patterns.Any(p => p.IsMatch(instrument.Meter.Name)))
            {
                return;
            }

            if (this.Enable(instrument) is { } state)
            {
                meterListener.EnableMeasurementEvents(instrument, state);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            this.CountIgnored();
            this.Warn($"Instrument '{instrument.Name}' of meter '{instrument.Meter.Name}' is ignored: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The state of a published instrument (its streams), or null when it is not recorded: invalid, of an unknown type, or dropped by views.</summary>
    private InstrumentState? Enable(Instrument instrument)
    {
        if (Describe(instrument) is not var (kind, integers))
        {
            this.CountIgnored();
            this.Warn($"Instrument '{instrument.Name}' of meter '{instrument.Meter.Name}' is ignored: its type {instrument.GetType().Name} is not an instrument of the metrics API.");
            return null;
        }

        var described = new Instruments.Instrument(
            instrument.Meter.Name, instrument.Meter.Version ?? string.Empty, instrument.Name, instrument.Unit ?? string.Empty,
            instrument.Description ?? string.Empty, kind, integers, AdvisedBucketBoundaries(instrument));
        if (Instruments.validate(described) is { IsError: true } invalid)
        {
            this.CountIgnored();
            this.Warn(invalid.ErrorValue);
            return null;
        }

        var (configs, viewWarnings) = Views.streams(this.histograms, this.cardinalityLimit, this.views, described);
        foreach (var warning in viewWarnings)
        {
            this.Warn(warning);
        }

        if (configs.Length == 0)
        {
            return null;
        }

        var scope = MetricStreams.scope(instrument.Meter.Name, instrument.Meter.Version, TagValues.ToAttributes(instrument.Meter.Tags));
        var schemaUrl = instrument.Meter.TelemetrySchemaUrl ?? string.Empty;
        var temporality = Aggregation.temporality(this.TemporalityPreference, kind);
        var instrumentStreams = new MetricStream[configs.Length];
        lock (this.registration)
        {
            // Equal scopes with equal schema URLs (instruments of one meter, or of meters alike) become one object, so
            // that the direct encoding groups streams by reference as the model groups them by value.
            if (!this.scopes.TryAdd((scope, schemaUrl), scope))
            {
                scope = this.scopes[(scope, schemaUrl)];
            }

            // One stream per selecting view, even when two views end up alike; identical streams of another
            // instrument (a duplicate registration) are shared.
            var identities = Array.ConvertAll(configs, c => Instruments.identity(described, c.Name, c.Description));
            var (registrations, next) = Instruments.registerStreams(described, identities, this.registry);
            this.registry = next;
            for (var i = 0; i < configs.Length; i++)
            {
                switch (registrations[i])
                {
                    case Instruments.Registration.Identical same:
                        instrumentStreams[i] = this.streams[same.id];
                        break;
                    case Instruments.Registration.Renamed renamed:
                        this.Warn(renamed.warning);
                        instrumentStreams[i] = this.streams[renamed.id];
                        break;
                    case Instruments.Registration.Conflicting conflict:
                        this.Warn(conflict.warning);
                        goto default;
                    default:
                        instrumentStreams[i] = new MetricStream(configs[i], described, scope, schemaUrl, temporality, this.drops, this.NowUnixNano, this.ExemplarFilter);
                        this.streams.Add(instrumentStreams[i]);
                        break;
                }
            }
        }

        return new InstrumentState(instrumentStreams, this, instrument.Name);
    }

    private async Task CollectAndExportAsync(MetricReader.Trigger trigger, CancellationToken cancellationToken)
    {
        var points = this.Gather();
        if (points == 0)
        {
            return;
        }

        // Straight from the series into a pooled buffer when possible; the model (which can be split) otherwise.
        if (this.Exporter.TryExportDirect(this.writeRequest, points, cancellationToken, out var sending))
        {
            await sending.ConfigureAwait(false);
            return;
        }

        await this.Exporter.ExportAsync(this.ToRequest(), cancellationToken).ConfigureAwait(false);
    }

    private void CountIgnored()
    {
        Interlocked.Increment(ref this.ignoredInstruments);
        try
        {
            Diagnostics.OtlpSelfTelemetry.InstrumentsIgnored.Add(1);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An application's listener of the Otlp meter, run here on the thread creating the instrument.
        }
    }

    // On the application's recording thread, for every failed measurement: counted (here and on the Otlp meter, as
    // the other drops are), and warned of once per instrument and kind of fault, not once per measurement (each
    // warning takes locks and calls the Problem handlers). The exception's message is left out: it may hold the
    // application's values (a tag's Equals saying what it compared).
    private void CountFailure(string instrument, Exception e) => this.drops.Failed(instrument, e.GetType().Name);

    /// <summary>What the listener hands back with every measurement of an instrument: its streams, so no lookup is needed.</summary>
    private sealed class InstrumentState(MetricStream[] streams, OtlpMetrics owner, string instrument)
    {
        public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            try
            {
                foreach (var stream in streams)
                {
                    stream.Record(value, tags, this);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                owner.CountFailure(instrument, e);
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            try
            {
                foreach (var stream in streams)
                {
                    stream.Record(value, tags, this);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                owner.CountFailure(instrument, e);
            }
        }
    }
}

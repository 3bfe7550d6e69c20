using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Logging;
using Otlp.Metrics;
using Otlp.Tracing;

namespace Otlp;

/// <summary>What <see cref="OtlpPipeline.Create"/> and <c>services.AddOtlp</c> set up.</summary>
public sealed class OtlpPipelineOptions
{
    /// <summary>The activity sources to trace, wildcards allowed (<c>"MyCompany.*"</c>); none traces nothing.</summary>
    public IList<string> Sources { get; } = new List<string>();

    /// <summary>The sampler; null for <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> (default parent-based always on).</summary>
    public SamplerConfig? Sampler { get; set; }

    /// <summary>
    /// The meters whose instruments are exported as metrics, wildcards allowed (<c>"MyCompany.*"</c>); none exports no
    /// metrics.
    /// </summary>
    public IList<string> Meters { get; } = new List<string>();

    /// <summary>The views applied to the instruments of <see cref="Meters"/> (rename, drop, histogram buckets, attribute keys, limits).</summary>
    public IList<OtlpView> Views { get; } = new List<OtlpView>();

    /// <summary>Whether metrics are exported; on by default, which does something only when <see cref="Meters"/> names some.</summary>
    public bool Metrics { get; set; } = true;

    /// <summary>Settings of the metrics listener beyond meters and views (interval, temporality, limits); null for the environment's.</summary>
    public Action<OtlpMetricsOptions>? ConfigureMetrics { get; set; }

    /// <summary>Whether log entries are exported (through <see cref="OtlpPipeline.LoggerProvider"/>). On by default.</summary>
    public bool Logs { get; set; } = true;

    /// <summary>
    /// Adds the key-value pairs of logging scopes to log records. Off by default; with <c>services.AddOtlp</c>, when
    /// not set here, the logger's own setting (<c>builder.Logging.AddOtlp(o => o.IncludeScopes = true)</c>) stands.
    /// </summary>
    public bool IncludeScopes
    {
        get => this.IncludeScopesGiven ?? false;
        set => this.IncludeScopesGiven = value;
    }

    /// <summary>
    /// Sends event ids as the log record attribute <c>logrecord.event.id</c> (<see cref="OtlpLoggerOptions.IncludeEventId"/>).
    /// On by default; with <c>services.AddOtlp</c>, when not set here, the logger's own setting stands.
    /// </summary>
    public bool IncludeEventId
    {
        get => this.IncludeEventIdGiven ?? true;
        set => this.IncludeEventIdGiven = value;
    }

    /// <summary><see cref="IncludeScopes"/> when it was set; null otherwise.</summary>
    internal bool? IncludeScopesGiven { get; private set; }

    /// <summary><see cref="IncludeEventId"/> when it was set; null otherwise.</summary>
    internal bool? IncludeEventIdGiven { get; private set; }

    /// <summary>Settings given in code to every exporter (endpoint, protocol, headers, ...); anything unset comes from the environment.</summary>
    public Action<OtlpExporterOptions>? ConfigureExporters { get; set; }

    /// <summary>The environment variables to read instead of the process's (for tests).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; set; }
}

/// <summary>
/// Traces, metrics and logs to OTLP in one object, without a dependency injection container:
/// <code>
/// await using var otlp = OtlpPipeline.Create(o => { o.Sources.Add("MyCompany.*"); o.Meters.Add("MyCompany.*"); });
/// using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(otlp.LoggerProvider));
/// </code>
/// Everything comes from the <c>OTEL_*</c> environment variables unless set in code. With
/// <c>OTEL_SDK_DISABLED=true</c> nothing is listened to, logged or sent. Disposing flushes what is queued and
/// exports the metrics a last time.
/// </summary>
public sealed class OtlpPipeline : IAsyncDisposable, IDisposable
{
    private OtlpPipeline(OtlpPipelineOptions options)
    {
        // The application's callbacks all run before anything is built, so one that throws leaves nothing behind.
        void Configure(OtlpExporterOptions exporter)
        {
            exporter.Environment = options.Environment;
            options.ConfigureExporters?.Invoke(exporter);
        }

        var traceExporter = OtlpExporter.ForTraces().Configure(Configure);
        var logExporter = OtlpExporter.ForLogs().Configure(Configure);
        var metricExporter = OtlpExporter.ForMetrics().Configure(Configure);
        // The metrics listener keeps the metric exporter's clock.
        var metricsOptions = MetricsOptions(options, metricExporter.ConfiguredTimeProvider);
        var tracerOptions = new OtlpTracerOptions { Sampler = options.Sampler };
        foreach (var source in options.Sources)
        {
            tracerOptions.Sources.Add(source);
        }

        try
        {
            this.TraceExporter = traceExporter.Build();
            this.LogExporter = logExporter.Build();
            this.MetricExporter = metricExporter.Build();
            this.Metrics = OtlpMetrics.Start(this.MetricExporter, metricsOptions);
            this.Tracer = OtlpTracer.Start(this.TraceExporter, tracerOptions);
            this.LoggerProvider = options.Logs
                ? new OtlpLoggerProvider(this.LogExporter, new OtlpLoggerOptions { IncludeScopes = options.IncludeScopes, IncludeEventId = options.IncludeEventId })
                : Microsoft.Extensions.Logging.Abstractions.NullLoggerProvider.Instance;
        }
        catch
        {
            // A listener or exporter built before the failure would otherwise run on with no owner.
            this.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>The metrics listener's options: the pipeline's meters (when metrics are on) and views, then its callback.</summary>
    private static OtlpMetricsOptions MetricsOptions(OtlpPipelineOptions options, TimeProvider? time)
    {
        var metricsOptions = new OtlpMetricsOptions { TimeProvider = time };
        if (options.Metrics)
        {
            foreach (var meter in options.Meters)
            {
                metricsOptions.Meters.Add(meter);
            }
        }

        foreach (var view in options.Views)
        {
            metricsOptions.Views.Add(view);
        }

        options.ConfigureMetrics?.Invoke(metricsOptions);
        return metricsOptions;
    }

    /// <summary>The span exporter.</summary>
    public OtlpTraceExporter TraceExporter { get; }

    /// <summary>The metric exporter.</summary>
    public OtlpMetricExporter MetricExporter { get; }

    /// <summary>The metrics listener of the configured meters (listening to nothing when none are configured).</summary>
    public OtlpMetrics Metrics { get; }

    /// <summary>The log record exporter.</summary>
    public OtlpLogExporter LogExporter { get; }

    /// <summary>The tracer listening to the configured activity sources.</summary>
    public OtlpTracer Tracer { get; }

    /// <summary>The logger provider to add to a logger factory (<c>builder.AddProvider(pipeline.LoggerProvider)</c>).</summary>
    public ILoggerProvider LoggerProvider { get; }

    /// <summary>True when <c>OTEL_SDK_DISABLED</c> is true: nothing is traced, measured, logged or sent.</summary>
    public bool IsDisabled => this.TraceExporter.IsDisabled;

    /// <summary>Creates the pipeline and starts listening to the activity sources and meters.</summary>
    public static OtlpPipeline Create(Action<OtlpPipelineOptions>? configure = null)
    {
        var options = new OtlpPipelineOptions();
        configure?.Invoke(options);
        return new OtlpPipeline(options);
    }

    /// <summary>Exports the spans and log records queued so far and collects and exports the metrics; true when all finished in time.</summary>
    public async Task<bool> ForceFlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var traces = this.TraceExporter.ForceFlushAsync(timeout, cancellationToken);
        var metrics = this.Metrics.ForceFlushAsync(timeout, cancellationToken);
        var logs = this.LogExporter.ForceFlushAsync(timeout, cancellationToken);
        return await traces.ConfigureAwait(false) & await metrics.ConfigureAwait(false) & await logs.ConfigureAwait(false);
    }

    /// <summary>Stops listening, flushes and releases the exporters.</summary>
    public async ValueTask DisposeAsync()
    {
        // Null-checked: a constructor that failed part way releases what it had built.
        this.Tracer?.Dispose();
        await DisposeIfBuilt(this.Metrics).ConfigureAwait(false);
        await DisposeIfBuilt(this.MetricExporter).ConfigureAwait(false);
        await DisposeIfBuilt(this.TraceExporter).ConfigureAwait(false);
        await DisposeIfBuilt(this.LogExporter).ConfigureAwait(false);
    }

    private static ValueTask DisposeIfBuilt(IAsyncDisposable? part) => part?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>As <see cref="DisposeAsync"/>, blocking the caller until done (each exporter within its batch export timeout).</summary>
    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();
}

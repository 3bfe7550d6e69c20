using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Logging;
using Otlp.Tracing;

namespace Otlp;

/// <summary>What <see cref="OtlpPipeline.Create"/> and <c>services.AddOtlp</c> set up.</summary>
public sealed class OtlpPipelineOptions
{
    /// <summary>The activity sources to trace, wildcards allowed (<c>"MyCompany.*"</c>); none traces nothing.</summary>
    public IList<string> Sources { get; } = new List<string>();

    /// <summary>The sampler; null for <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> (default parent-based always on).</summary>
    public SamplerConfig? Sampler { get; set; }

    /// <summary>Whether log entries are exported (through <see cref="OtlpPipeline.LoggerProvider"/>). On by default.</summary>
    public bool Logs { get; set; } = true;

    /// <summary>Adds the key-value pairs of logging scopes to log records. Off by default.</summary>
    public bool IncludeScopes { get; set; }

    /// <summary>Settings given in code to both exporters (endpoint, protocol, headers, ...); anything unset comes from the environment.</summary>
    public Action<OtlpExporterOptions>? ConfigureExporters { get; set; }

    /// <summary>The environment variables to read instead of the process's (for tests).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; set; }
}

/// <summary>
/// Traces and logs to OTLP in one object, without a dependency injection container:
/// <code>
/// await using var otlp = OtlpPipeline.Create(o => o.Sources.Add("MyCompany.*"));
/// using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(otlp.LoggerProvider));
/// </code>
/// Everything comes from the <c>OTEL_*</c> environment variables unless set in code. With
/// <c>OTEL_SDK_DISABLED=true</c> nothing is listened to, logged or sent. Disposing flushes what is queued.
/// </summary>
public sealed class OtlpPipeline : IAsyncDisposable
{
    private OtlpPipeline(OtlpPipelineOptions options)
    {
        void Configure(OtlpExporterOptions exporter)
        {
            exporter.Environment = options.Environment;
            options.ConfigureExporters?.Invoke(exporter);
        }

        this.TraceExporter = OtlpExporter.ForTraces().Configure(Configure).Build();
        this.LogExporter = OtlpExporter.ForLogs().Configure(Configure).Build();
        var tracerOptions = new OtlpTracerOptions { Sampler = options.Sampler };
        foreach (var source in options.Sources)
        {
            tracerOptions.Sources.Add(source);
        }

        this.Tracer = OtlpTracer.Start(this.TraceExporter, tracerOptions);
        this.LoggerProvider = options.Logs
            ? new OtlpLoggerProvider(this.LogExporter, new OtlpLoggerOptions { IncludeScopes = options.IncludeScopes })
            : Microsoft.Extensions.Logging.Abstractions.NullLoggerProvider.Instance;
    }

    /// <summary>The span exporter.</summary>
    public OtlpTraceExporter TraceExporter { get; }

    /// <summary>The log record exporter.</summary>
    public OtlpLogExporter LogExporter { get; }

    /// <summary>The tracer listening to the configured activity sources.</summary>
    public OtlpTracer Tracer { get; }

    /// <summary>The logger provider to add to a logger factory (<c>builder.AddProvider(pipeline.LoggerProvider)</c>).</summary>
    public ILoggerProvider LoggerProvider { get; }

    /// <summary>True when <c>OTEL_SDK_DISABLED</c> is true: nothing is traced, logged or sent.</summary>
    public bool IsDisabled => this.TraceExporter.IsDisabled;

    /// <summary>Creates the pipeline and starts listening to the activity sources.</summary>
    public static OtlpPipeline Create(Action<OtlpPipelineOptions>? configure = null)
    {
        var options = new OtlpPipelineOptions();
        configure?.Invoke(options);
        return new OtlpPipeline(options);
    }

    /// <summary>Exports the spans and log records queued so far; true when both finished in time.</summary>
    public async Task<bool> ForceFlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var traces = this.TraceExporter.ForceFlushAsync(timeout, cancellationToken);
        var logs = this.LogExporter.ForceFlushAsync(timeout, cancellationToken);
        return await traces.ConfigureAwait(false) & await logs.ConfigureAwait(false);
    }

    /// <summary>Stops listening, flushes and releases the exporters.</summary>
    public async ValueTask DisposeAsync()
    {
        this.Tracer.Dispose();
        await this.TraceExporter.DisposeAsync().ConfigureAwait(false);
        await this.LogExporter.DisposeAsync().ConfigureAwait(false);
    }
}

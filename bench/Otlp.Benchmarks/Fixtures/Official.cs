using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace Otlp.Benchmarks.Fixtures;

// Inside the namespace, so that these names mean the official types here, not this repository's Otlp.* ones.
using OtlpExporterOptions = OpenTelemetry.Exporter.OtlpExporterOptions;
using OtlpLogExporter = OpenTelemetry.Exporter.OtlpLogExporter;
using OtlpTraceExporter = OpenTelemetry.Exporter.OtlpTraceExporter;

/// <summary>
/// The official OpenTelemetry .NET OTLP exporter (OpenTelemetry.Exporter.OpenTelemetryProtocol), set up as an
/// application would, for the benchmarks to drive through its public export calls.
/// </summary>
public static class Official
{
    /// <summary>Options for HTTP/protobuf to <paramref name="handler"/>, or to a real endpoint when it is null.</summary>
    public static OtlpExporterOptions Options(OtlpExportProtocol protocol, Uri endpoint, DiscardingHandler? handler)
    {
        var options = new OtlpExporterOptions { Protocol = protocol, Endpoint = endpoint };
        if (handler is not null)
        {
            options.HttpClientFactory = handler.CreateClient;
        }

        return options;
    }

    /// <summary>The signal URL the official exporter wants in code: HTTP needs the full path, gRPC the base.</summary>
    public static Uri Endpoint(OtlpExportProtocol protocol, Uri baseUri, string signal) =>
        protocol == OtlpExportProtocol.Grpc ? baseUri : new Uri(baseUri, $"v1/{signal}");

    /// <summary>
    /// A trace exporter attached to a tracer provider that listens to nothing, so that it exports with the SDK's
    /// default resource (service.name, telemetry.sdk.*) as it would in an application. Dispose the provider.
    /// </summary>
    public static (OtlpTraceExporter Exporter, TracerProvider Provider) TraceExporter(OtlpExporterOptions options)
    {
        var exporter = new OtlpTraceExporter(options);
        var provider = Sdk.CreateTracerProviderBuilder().AddProcessor(new SimpleActivityExportProcessor(exporter)).Build();
        return (exporter, provider);
    }

    /// <summary>
    /// A log exporter attached to a logger provider (in a logger factory nothing logs to), as the trace exporter
    /// above. Dispose the factory. Unlike the trace exporter it sends an empty resource this way (1.20.1).
    /// </summary>
    /// <param name="options">The exporter's options.</param>
    /// <param name="withEventIds">
    /// Sends each record's event id as the <c>logrecord.event.id</c> attribute, as Otlp does: the exporter's
    /// experimental switch, <c>OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES</c>, which it reads from the
    /// environment when it is made. Without it the id is not sent (only the event's name, in <c>event_name</c>).
    /// </param>
    public static (OtlpLogExporter Exporter, ILoggerFactory Factory) LogExporter(OtlpExporterOptions options, bool withEventIds = false)
    {
        const string EmitEventIds = "OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES";
        var before = Environment.GetEnvironmentVariable(EmitEventIds);
        Environment.SetEnvironmentVariable(EmitEventIds, withEventIds ? "true" : "false");
        OtlpLogExporter exporter;
        try
        {
            exporter = new OtlpLogExporter(options);
        }
        finally
        {
            Environment.SetEnvironmentVariable(EmitEventIds, before);
        }

        var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(o => o.AddProcessor(new SimpleLogRecordExportProcessor(exporter))));
        return (exporter, factory);
    }

    /// <summary>
    /// The SDK's <see cref="LogRecord"/>s of the entries <paramref name="write"/> logs, as its batch processor hands
    /// them to an exporter (state buffered, formatted message included). LogRecord has no public constructor,
    /// so they are captured from a logger provider whose batch processor exports to a capturing exporter. The
    /// SDK pools records and clears them once exported, so the exporter keeps copies: a shallow clone with its
    /// own attribute list (the only pooled buffer a record holds after the batch processor buffered it).
    /// </summary>
    public static LogRecord[] CaptureLogRecords(Action<ILogger> write)
    {
        var capture = new CapturingExporter();
        using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(o =>
               {
                   o.IncludeFormattedMessage = true;
                   o.AddProcessor(new BatchLogRecordExportProcessor(
                       capture, maxQueueSize: 65536, scheduledDelayMilliseconds: 3_600_000, maxExportBatchSize: 65536));
               })))
        {
            write(factory.CreateLogger("Orders.Api"));
        }

        return [.. capture.Records];
    }

    /// <summary>The official pipeline for traces: tracer provider, always-on sampling, batch processor, OTLP.</summary>
    public static TracerProvider TracerPipeline(string sourceName, OtlpExporterOptions options) =>
        Sdk.CreateTracerProviderBuilder()
            .SetSampler(new AlwaysOnSampler())
            .AddSource(sourceName)
            .AddProcessor(new BatchActivityExportProcessor(new OtlpTraceExporter(options)))
            .Build();

    /// <summary>The official pipeline for logs: the OpenTelemetry logger provider, batch processor, OTLP.</summary>
    public static ILoggerFactory LoggerPipeline(OtlpExporterOptions options) =>
        LoggerFactory.Create(logging => logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.AddProcessor(new BatchLogRecordExportProcessor(new OtlpLogExporter(options)));
        }));

    private sealed class CapturingExporter : BaseExporter<LogRecord>
    {
        private static readonly System.Reflection.MethodInfo MemberwiseCloneMethod =
            typeof(object).GetMethod("MemberwiseClone", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;

        public List<LogRecord> Records { get; } = [];

        public override ExportResult Export(in Batch<LogRecord> batch)
        {
            foreach (var record in batch)
            {
                var copy = (LogRecord)MemberwiseCloneMethod.Invoke(record, null)!;
                copy.Attributes = record.Attributes?.ToList();
                this.Records.Add(copy);
            }

            return ExportResult.Success;
        }
    }
}

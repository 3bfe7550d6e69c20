using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Logging;
using Otlp.Tracing;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// This exporter, set up as an application would, and the one place where the benchmarks reach its internals:
/// the items its front ends (<see cref="OtlpTracer"/>, <see cref="OtlpLoggerProvider"/>) queue, and the batch
/// export the background processor runs on them (<c>OtlpSignalExporter.ExportBatchAsync</c>).
/// </summary>
/// <remarks>
/// When the front ends change what they queue, change <see cref="SpanItems"/> and <see cref="LogItems"/> to match
/// (and only them): each must do exactly what the front end does, no less.
/// </remarks>
public static class Ours
{
    /// <summary>A trace exporter over HTTP/protobuf to <paramref name="handler"/>.</summary>
    public static OtlpTraceExporter TraceExporter(DiscardingHandler handler) =>
        OtlpExporter.ForTraces().WithHttp().WithHttpClientFactory(handler.CreateClient).WithBaseEndpoint("http://localhost:4318").Build();

    /// <summary>A log exporter over HTTP/protobuf to <paramref name="handler"/>.</summary>
    public static OtlpLogExporter LogExporter(DiscardingHandler handler) =>
        OtlpExporter.ForLogs().WithHttp().WithHttpClientFactory(handler.CreateClient).WithBaseEndpoint("http://localhost:4318").Build();

    /// <summary>A trace exporter over gRPC or HTTP/protobuf to a real endpoint.</summary>
    public static OtlpTraceExporter TraceExporter(bool grpc, Uri baseUri) =>
        grpc
            ? OtlpExporter.ForTraces().WithGrpc().WithBaseEndpoint(baseUri.ToString()).Build()
            : OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(baseUri.ToString()).Build();

    /// <summary>
    /// The items <see cref="OtlpTracer"/> queues for stopped activities: the activity itself, converted to a span
    /// (with the tracer's span limits) on the export task, under its source's scope.
    /// </summary>
    internal static ScopedItem<Span>[] SpanItems(OtlpTraceExporter exporter, Activity[] activities)
    {
        using var tracer = OtlpTracer.Start(exporter, new OtlpTracerOptions());
        var limits = tracer.Limits;
        Func<object, Span> convert = source => LimitsModule.ApplyToSpan(limits, ActivityConverter.ToSpan((Activity)source));
        var scopes = new Dictionary<ActivitySource, InstrumentationScope>();
        return activities
            .Select(activity =>
            {
                if (!scopes.TryGetValue(activity.Source, out var scope))
                {
                    scope = ActivityConverter.ToScope(activity.Source);
                    scopes[activity.Source] = scope;
                }

                return new ScopedItem<Span>(scope, default!, activity, convert);
            })
            .ToArray();
    }

    /// <summary>
    /// The items <see cref="OtlpLoggerProvider"/> queues for the entries <paramref name="write"/> logs: each entry
    /// converted to a log record on the logging thread, with the exporter's log record limits, under its
    /// category's scope.
    /// </summary>
    internal static ScopedItem<LogRecord>[] LogItems(OtlpLogExporter exporter, Action<ILogger> write)
    {
        var limits = LimitsModule.FromEnvironment(exporter.EnvironmentVariables).Value.LogRecord;
        var recorder = new Recorder(limits);
        write(recorder);
        return [.. recorder.Items];
    }

    /// <summary>This exporter's pipeline for traces: <see cref="OtlpTracer"/> with always-on sampling.</summary>
    public static OtlpTracer Tracer(OtlpTraceExporter exporter, string sourceName)
    {
        var options = new OtlpTracerOptions { Sampler = new SamplerConfig(SamplerKind.AlwaysOn, 1.0) };
        options.Sources.Add(sourceName);
        return OtlpTracer.Start(exporter, options);
    }

    /// <summary>This exporter's pipeline for logs: <see cref="OtlpLoggerProvider"/> in a logger factory.</summary>
    public static ILoggerFactory LoggerPipeline(OtlpLogExporter exporter) =>
        LoggerFactory.Create(logging => logging.AddProvider(new OtlpLoggerProvider(exporter)));

    /// <summary>Does what <c>OtlpLoggerProvider</c>'s logger does with an entry, but keeps the item instead of queueing it.</summary>
    private sealed class Recorder(LogRecordLimits limits) : ILogger
    {
        private readonly InstrumentationScope scope = new("Orders.Api", string.Empty, [], 0u);

        public List<ScopedItem<LogRecord>> Items { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var record = LogRecordConverter.ToLogRecord(logLevel, eventId, state, exception, formatter, null, DateTime.UtcNow, Activity.Current);
            this.Items.Add(new ScopedItem<LogRecord>(this.scope, LimitsModule.ApplyToLogRecord(limits, record), null, null));
        }
    }
}

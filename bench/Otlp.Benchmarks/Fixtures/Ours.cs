using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Logging;
using Otlp.Tracing;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// This exporter, set up as an application would, and the one place where the benchmarks reach its internals:
/// the items its front ends (<see cref="OtlpTracer"/>, <see cref="OtlpLoggerProvider"/>) queue, captured from the
/// front ends themselves (<c>OtlpSignalExporter.CaptureOffered</c>), and the batch export the background processor
/// runs on them (<c>OtlpSignalExporter.ExportBatchAsync</c>).
/// </summary>
public static class Ours
{
    /// <summary>
    /// Marks the calling thread as the background processor marks its loop's thread (everything it sends is the
    /// exporter's own, not to be traced), so that the batch exports the benchmarks run on it take the processor's
    /// path. Call it on the thread that runs the benchmark (BenchmarkDotNet's global setup runs there).
    /// </summary>
    public static void ExportFromThisThread() => Otlp.Diagnostics.ExporterOwnWork.MarkCurrentThread();

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
    /// The items <see cref="OtlpTracer"/> queues for <paramref name="activities"/> (stopped, recorded) when they
    /// stop: the tracer's own stop handler runs on each, and what it offers the exporter is kept.
    /// </summary>
    internal static ScopedItem<Span>[] SpanItems(OtlpTraceExporter exporter, Activity[] activities)
    {
        var captured = new List<ScopedItem<Span>>();
        exporter.CaptureOffered = item =>
        {
            captured.Add(item);
            return true;
        };
        try
        {
            using var tracer = Tracer(exporter, activities[0].Source.Name);
            foreach (var activity in activities)
            {
                tracer.OnStopped(activity);
            }
        }
        finally
        {
            exporter.CaptureOffered = null;
        }

        return Checked(captured, activities.Length);
    }

    /// <summary>
    /// The items <see cref="OtlpLoggerProvider"/> queues for the entries <paramref name="write"/> logs through it
    /// (category <c>Orders.Api</c>): its logger runs on each entry, and what it offers the exporter is kept.
    /// </summary>
    internal static ScopedItem<LogRecord>[] LogItems(OtlpLogExporter exporter, Action<ILogger> write, bool includeEventIds = true)
    {
        var captured = new List<ScopedItem<LogRecord>>();
        exporter.CaptureOffered = item =>
        {
            captured.Add(item);
            return true;
        };
        try
        {
            using var logging = LoggerPipeline(exporter, includeEventIds);
            write(logging.CreateLogger("Orders.Api"));
        }
        finally
        {
            exporter.CaptureOffered = null;
        }

        return [.. captured];
    }

    /// <summary>This exporter's pipeline for traces: <see cref="OtlpTracer"/> with always-on sampling.</summary>
    public static OtlpTracer Tracer(OtlpTraceExporter exporter, string sourceName)
    {
        var options = new OtlpTracerOptions { Sampler = new SamplerConfig(SamplerKind.AlwaysOn, 1.0) };
        options.Sources.Add(sourceName);
        return OtlpTracer.Start(exporter, options);
    }

    /// <summary>This exporter's pipeline for logs: <see cref="OtlpLoggerProvider"/> in a logger factory.</summary>
    public static ILoggerFactory LoggerPipeline(OtlpLogExporter exporter, bool includeEventIds = true) =>
        LoggerFactory.Create(logging => logging.AddProvider(new OtlpLoggerProvider(exporter, new OtlpLoggerOptions { IncludeEventId = includeEventIds })));

    private static ScopedItem<T>[] Checked<T>(List<ScopedItem<T>> captured, int expected) =>
        captured.Count == expected
            ? [.. captured]
            : throw new InvalidOperationException($"The front end queued {captured.Count} items for {expected} inputs.");
}

using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using Otlp.Benchmarks.Fixtures;
using Otlp.Tracing;

namespace Otlp.Benchmarks;

/// <summary>
/// App-thread cost: what an application thread pays per span (start an activity of a listened-to source, set
/// two tags, dispose it, which stops it and hands it to the pipeline) and per log entry (a template with 3
/// arguments; with an exception in a pair of its own), with each library's whole pipeline attached: always-on
/// sampling, the batch processor, OTLP over HTTP/protobuf to <see cref="DiscardingHandler"/>, so the background
/// side stays cheap. Single-threaded and on 2 threads at once; the mean is wall time per operation, all threads
/// together.
/// </summary>
/// <remarks>
/// Both pipelines keep their defaults (queue of 2048, batches of 512, 5 s delay): at this rate their queues fill
/// and the excess is dropped and counted, so a result mixes queued and dropped items the same way for both.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class AppThreadBenchmarks
{
    /// <summary>Operations per invocation, shared among the threads.</summary>
    public const int Operations = 2048;

    private readonly DiscardingHandler handler = new();
    private readonly Exception failure = Workload.CaughtException();
    private readonly ActivitySource officialSource = new("Bench.AppThread.Official", "1.0.0");
    private readonly ActivitySource ourSource = new("Bench.AppThread.Otlp", "1.0.0");
    private IDisposable? officialTracer;
    private OtlpTraceExporter? ourTraceExporter;
    private OtlpTracer? ourTracer;
    private ILoggerFactory? officialLogging;
    private OtlpLogExporter? ourLogExporter;
    private ILoggerFactory? ourLogging;
    private ILogger officialLogger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private ILogger ourLogger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        this.officialTracer = Official.TracerPipeline(
            this.officialSource.Name, Official.Options(OtlpExportProtocol.HttpProtobuf, new Uri("http://localhost:4318/v1/traces"), this.handler));
        this.ourTraceExporter = Ours.TraceExporter(this.handler);
        this.ourTracer = Ours.Tracer(this.ourTraceExporter, this.ourSource.Name);

        this.officialLogging = Official.LoggerPipeline(Official.Options(OtlpExportProtocol.HttpProtobuf, new Uri("http://localhost:4318/v1/logs"), this.handler));
        this.officialLogger = this.officialLogging.CreateLogger("Orders.Api");
        this.ourLogExporter = Ours.LogExporter(this.handler);
        this.ourLogging = Ours.LoggerPipeline(this.ourLogExporter);
        this.ourLogger = this.ourLogging.CreateLogger("Orders.Api");

        // Both pipelines must sample every span.
        using var official = this.officialSource.StartActivity("check");
        using var ours = this.ourSource.StartActivity("check");
        if (official is not { Recorded: true } || ours is not { Recorded: true })
        {
            throw new InvalidOperationException("A pipeline did not record the activities of its source.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        this.officialTracer?.Dispose();
        this.ourTracer?.Dispose();
        this.ourTraceExporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.officialLogging?.Dispose();
        this.ourLogging?.Dispose();
        this.ourLogExporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.officialSource.Dispose();
        this.ourSource.Dispose();
        this.handler.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "Official: span")]
    [BenchmarkCategory("Span")]
    public void Official_Span() => this.Run(this.officialSource, static (source, _) => Span(source));

    [Benchmark(OperationsPerInvoke = Operations, Description = "Otlp: span")]
    [BenchmarkCategory("Span")]
    public void Otlp_Span() => this.Run(this.ourSource, static (source, _) => Span(source));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "Official: log entry")]
    [BenchmarkCategory("Log")]
    public void Official_Log() => this.Run(this.officialLogger, static (logger, i) => Workload.WriteLogEntry(logger, i, null));

    [Benchmark(OperationsPerInvoke = Operations, Description = "Otlp: log entry")]
    [BenchmarkCategory("Log")]
    public void Otlp_Log() => this.Run(this.ourLogger, static (logger, i) => Workload.WriteLogEntry(logger, i, null));

    // Both keep the exception object and turn it into attributes (its stack trace as text) when they export, which
    // runs beside the logging threads: this pair shows what that background work costs them.
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "Official: log entry with exception")]
    [BenchmarkCategory("LogWithException")]
    public void Official_LogWithException() => this.Run(this.officialLogger, (logger, i) => Workload.WriteLogEntry(logger, i, this.failure));

    [Benchmark(OperationsPerInvoke = Operations, Description = "Otlp: log entry with exception")]
    [BenchmarkCategory("LogWithException")]
    public void Otlp_LogWithException() => this.Run(this.ourLogger, (logger, i) => Workload.WriteLogEntry(logger, i, this.failure));

    private static void Span(ActivitySource source)
    {
        using var activity = source.StartActivity("GET /api/orders/{id}", ActivityKind.Server);
        activity?.SetTag("http.request.method", "GET");
        activity?.SetTag("http.response.status_code", 200L);
    }

    private void Run<T>(T target, Action<T, int> operation) => Workers.Run(this.Threads, Operations, target, operation);
}

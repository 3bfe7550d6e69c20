using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using Otlp.Benchmarks.Fixtures;
using Otlp.Core;

namespace Otlp.Benchmarks;

/// <summary>
/// End to end: batches of 512 spans exported over loopback, gRPC and HTTP/protobuf, to the receiver in another
/// process (<see cref="ReceiverProcess"/>), one batch after another as fast as each exporter goes. One operation
/// is one span (an invocation exports <see cref="Batches"/> batches), so the mean is the inverse of the
/// throughput at saturation of one export loop. The CPU us/item column is this process's CPU time (every
/// thread, the GC's included) per span over the whole run.
/// </summary>
[MemoryDiagnoser]
// The receiver (and the connection) take about 20 seconds of traffic to settle; a run measured before that mixed two
// regimes. At least 40 warm-up iterations (about 20 seconds here) for every benchmark of the family.
[MinWarmupCount(40)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class EndToEndBenchmarks
{
    /// <summary>Batches exported per invocation.</summary>
    public const int Batches = 8;

    private const int SpansPerInvocation = Batches * Workload.BatchSize;

    private readonly CpuMeter cpu = new();
    private ReceiverProcess? receiver;
    private Activity[] activities = [];
    private OpenTelemetry.Exporter.OtlpTraceExporter? officialExporter;
    private IDisposable? officialProvider;
    private OtlpTraceExporter? ourExporter;
    private ScopedItem<Span>[] ourItems = [];
    private string? measured;

    [Params("grpc", "http/protobuf")]
    public string Protocol { get; set; } = "grpc";

    [GlobalSetup]
    public void Setup()
    {
        Ours.ExportFromThisThread();
        this.receiver = ReceiverProcess.Start();
        var grpc = this.Protocol == "grpc";
        this.activities = Workload.StoppedActivities("Orders.Api", Workload.BatchSize);

        var protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var baseUri = grpc ? this.receiver.GrpcEndpoint : this.receiver.HttpEndpoint;
        (this.officialExporter, var provider) = Official.TraceExporter(Official.Options(protocol, Official.Endpoint(protocol, baseUri, "traces"), null));
        this.officialProvider = provider;

        this.ourExporter = Ours.TraceExporter(grpc, baseUri);
        this.ourItems = Ours.SpanItems(this.ourExporter, this.activities);

        // Both must reach the receiver and succeed before anything is measured.
        if (this.ExportOfficial() != ExportResult.Success || !this.ExportOurs().IsSucceeded)
        {
            throw new InvalidOperationException($"An export to the receiver over {this.Protocol} failed.");
        }

        this.cpu.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (this.measured is not null)
        {
            this.cpu.Stop(Report.Key(this.measured, $"{nameof(this.Protocol)}={this.Protocol}"));
        }

        this.officialProvider?.Dispose();
        this.ourExporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.receiver?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = SpansPerInvocation, Description = "Official: span, batches of 512")]
    [BenchmarkCategory("Spans")]
    public void Official_EndToEnd()
    {
        this.measured = nameof(this.Official_EndToEnd);
        for (var i = 0; i < Batches; i++)
        {
            if (this.ExportOfficial() != ExportResult.Success)
            {
                throw new InvalidOperationException("The official export failed.");
            }
        }

        this.cpu.Add(SpansPerInvocation);
    }

    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd()
    {
        this.measured = nameof(this.Otlp_EndToEnd);
        for (var i = 0; i < Batches; i++)
        {
            if (!this.ExportOurs().IsSucceeded)
            {
                throw new InvalidOperationException("Our export failed.");
            }
        }

        this.cpu.Add(SpansPerInvocation);
    }

    /// <summary>
    /// Ours with <c>MaxConcurrentExports = 2</c> (not the default; the official exporter has no such setting): as the
    /// batch loop then runs, each batch is encoded on this thread and its send started without blocking, and the next
    /// batch is encoded while it waits, with at most two sends in flight.
    /// </summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512, 2 exports at a time")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd_TwoExportsAtATime()
    {
        this.measured = nameof(this.Otlp_EndToEnd_TwoExportsAtATime);
        Task<Batching.ExportOutcome>? previous = null;
        for (var i = 0; i < Batches; i++)
        {
            var current = this.ourExporter!.ExportBatchAsync(this.ourItems, mayBlock: false);
            if (previous is not null)
            {
                Succeeded(previous);
            }

            previous = current;
        }

        Succeeded(previous!);
        this.cpu.Add(SpansPerInvocation);

        static void Succeeded(Task<Batching.ExportOutcome> export)
        {
            if (!export.GetAwaiter().GetResult().IsSucceeded)
            {
                throw new InvalidOperationException("Our export failed.");
            }
        }
    }

    private ExportResult ExportOfficial() => this.officialExporter!.Export(new Batch<Activity>(this.activities, this.activities.Length));

    private Batching.ExportOutcome ExportOurs() => this.ourExporter!.ExportBatchAsync(this.ourItems).GetAwaiter().GetResult();
}

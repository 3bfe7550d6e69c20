using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using Otlp.Benchmarks.Fixtures;
using Otlp.Core;
using Otlp.Runtime;

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

    /// <summary>Spans exported per invocation: the operations of one.</summary>
    public const int SpansPerInvocation = Batches * Workload.BatchSize;

    private readonly CpuMeter cpu = new();
    private ReceiverProcess? receiver;
    private Activity[] activities = [];
    private OpenTelemetry.Exporter.OtlpTraceExporter? officialExporter;
    private IDisposable? officialProvider;
    private OtlpTraceExporter? ourExporter;
    private ScopedItem<Span>[] ourItems = [];
    private string? measured;

    // What the exporter's batch loop would do with its configuration (Config.encodesAheadByDefault).
    private bool encodesAheadByDefault;

    // Set when one of our exports ends; the loop's wait (BatchExportProcessor's wake) does not spin either.
    private readonly ManualResetEventSlim exportEnded = new(initialState: false, spinCount: 0);

    // Sources of attempts that ended in time, reset for the next, as the processor keeps them.
    private readonly SpareCancellation cancels = new(TimeProvider.System);

    // The exporter timeout, as the processor gives it to an attempt whose batch deadline is further away.
    private Func<TimeSpan> attemptLimit = static () => Timeout.InfiniteTimeSpan;

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
        this.encodesAheadByDefault = this.ourExporter.Configuration.Processing is Processing.Batch { Item.EncodeAhead: true };
        var timeout = this.ourExporter.Configuration.Exporter.Timeout;
        this.attemptLimit = () => timeout;

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
        this.cancels.Dispose();
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

    /// <summary>
    /// Ours with the defaults of the protocol, as the batch loop then runs: one request on the wire at a time, and
    /// over gRPC the next batch encoded while it is (<see cref="Otlp_EndToEnd_EncodingAhead"/>), over HTTP each batch
    /// encoded and then sent by the loop's thread (<see cref="Otlp_EndToEnd_NotEncodingAhead"/>).
    /// </summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd()
    {
        this.measured = nameof(this.Otlp_EndToEnd);
        if (this.encodesAheadByDefault)
        {
            this.ExportOursAsTheLoop(sends: 1);
        }
        else
        {
            this.ExportOursOneAfterAnother();
        }

        this.cpu.Add(SpansPerInvocation);
    }

    /// <summary>
    /// Ours with <c>EncodeAhead = true</c> (the default over gRPC; over HTTP until 2026-12-02): each batch is encoded
    /// on this thread and waits for its turn to send, and the loop waits for the oldest batch before it encodes
    /// another.
    /// </summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512, encoding ahead")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd_EncodingAhead()
    {
        this.measured = nameof(this.Otlp_EndToEnd_EncodingAhead);
        this.ExportOursAsTheLoop(sends: 1);
        this.cpu.Add(SpansPerInvocation);
    }

    /// <summary>
    /// Ours with <c>EncodeAhead = false</c> (the default over HTTP): each batch encoded and then sent, the send
    /// blocking this thread as it blocks the loop's (HTTP), before the next batch is encoded; a send that does not
    /// block (gRPC) is waited for as the loop waits, on the event its end sets.
    /// </summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512, not encoding ahead")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd_NotEncodingAhead()
    {
        this.measured = nameof(this.Otlp_EndToEnd_NotEncodingAhead);
        this.ExportOursOneAfterAnother();
        this.cpu.Add(SpansPerInvocation);
    }

    private void ExportOursOneAfterAnother()
    {
        for (var i = 0; i < Batches; i++)
        {
            var export = this.ourExporter!.ExportBatchAsync(this.ourItems);
            _ = export.ContinueWith(
                static (_, wake) => ((ManualResetEventSlim)wake!).Set(),
                this.exportEnded,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            this.Succeeded((export, null));
        }
    }

    /// <summary>
    /// Ours with <c>MaxConcurrentExports = 2</c> (not the default; the official exporter has no such setting), as the
    /// batch loop then runs: two requests on the wire at a time, and a third batch encoded meanwhile.
    /// </summary>
    [Benchmark(OperationsPerInvoke = SpansPerInvocation, Description = "Otlp: span, batches of 512, 2 exports at a time")]
    [BenchmarkCategory("Spans")]
    public void Otlp_EndToEnd_TwoExportsAtATime()
    {
        this.measured = nameof(this.Otlp_EndToEnd_TwoExportsAtATime);
        this.ExportOursAsTheLoop(sends: 2);
        this.cpu.Add(SpansPerInvocation);
    }

    /// <summary>
    /// <see cref="Batches"/> batches as the batch loop exports them when it encodes ahead: it starts one batch more
    /// than it sends at once, so it waits for the oldest batch's answer before it encodes another, and each batch
    /// sends when it gets one of the <paramref name="sends"/> turns (<see cref="ExportTurn"/>). It waits as the loop
    /// does: blocked on an event that each export's end sets, without spinning (a task's own wait spins first, on a
    /// core the transport and the receiver want).
    /// </summary>
    private void ExportOursAsTheLoop(int sends)
    {
        var slots = new SendSlots(sends);
        var outstanding = new Queue<(Task<Batching.ExportOutcome> Export, CancellationTokenSource Cancel)>();
        for (var i = 0; i < Batches; i++)
        {
            var cancel = this.cancels.Take();
            var turn = new ExportTurn(cancel, slots, this.attemptLimit);
            var export = this.ourExporter!.ExportBatchAsync(this.ourItems, turn);
            // As the processor does when an attempt ends: it wakes the loop, then its send slot goes to the next batch.
            _ = export.ContinueWith(
                static (_, state) =>
                {
                    var (wake, turn) = ((ManualResetEventSlim, ExportTurn))state!;
                    wake.Set();
                    turn.End();
                },
                (this.exportEnded, turn),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            outstanding.Enqueue((export, cancel));
            if (outstanding.Count > sends)
            {
                this.Succeeded(outstanding.Dequeue());
            }
        }

        while (outstanding.Count > 0)
        {
            this.Succeeded(outstanding.Dequeue());
        }
    }

    private void Succeeded((Task<Batching.ExportOutcome> Export, CancellationTokenSource? Cancel) export)
    {
        while (true)
        {
            this.exportEnded.Reset();
            if (export.Export.IsCompleted)
            {
                break;
            }

            this.exportEnded.Wait();
        }

        var outcome = export.Export.GetAwaiter().GetResult();
        if (export.Cancel is { } cancel)
        {
            this.cancels.Return(cancel, reuse: true);
        }

        if (!outcome.IsSucceeded)
        {
            throw new InvalidOperationException("Our export failed.");
        }
    }

    private ExportResult ExportOfficial() => this.officialExporter!.Export(new Batch<Activity>(this.activities, this.activities.Length));

    private Batching.ExportOutcome ExportOurs() => this.ourExporter!.ExportBatchAsync(this.ourItems).GetAwaiter().GetResult();


}

using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Otlp.Benchmarks.Fixtures;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Benchmarks;

/// <summary>
/// How the protobuf encoder gets nested lengths right, measured on the same model request: the production
/// one-pass encoder (reserve a guessed number of length bytes, write, shift when the guess was wrong) beside the
/// earlier two-pass encoder (a size pass filling a table of lengths, then a write pass). Both write byte-identical
/// output (the setup checks it) into the same reused buffer. One operation encodes one request of 512 spans
/// made from the workload's activities.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EncoderStrategyBenchmarks
{
    private readonly ArrayBufferWriter<byte> output = new(1 << 20);
    private ExportTraceServiceRequest request = new([]);

    [GlobalSetup]
    public void Setup()
    {
        var activities = Workload.StoppedActivities("Orders.Api", Workload.BatchSize);
        var scope = ActivityConverter.ToScope(activities[0].Source);
        var spans = activities.Select(ActivityConverter.ToSpan).ToArray();
        var resource = new Resource([new KeyValue("service.name", AnyValue.NewString("orders"))], 0u, []);
        this.request = new ExportTraceServiceRequest([new ResourceSpans(resource, [new ScopeSpans(scope, spans, string.Empty)], string.Empty)]);

        var onePass = ProtoEncoder.TraceRequestToBytes(this.request);
        var twoPass = SizePassEncoder.traceRequestToBytes(this.request);
        if (!onePass.AsSpan().SequenceEqual(twoPass))
        {
            throw new InvalidOperationException("The two encoders wrote different bytes for the same request.");
        }
    }

    [Benchmark(Baseline = true, Description = "Two passes (size table): 512 spans")]
    [BenchmarkCategory("Spans")]
    public int SizePass()
    {
        this.output.ResetWrittenCount();
        return SizePassEncoder.writeTraceRequest(this.request, this.output);
    }

    [Benchmark(Description = "One pass (reserve and shift): 512 spans")]
    [BenchmarkCategory("Spans")]
    public int ReserveAndShift()
    {
        this.output.ResetWrittenCount();
        return ProtoEncoder.WriteTraceRequest(this.request, this.output);
    }
}

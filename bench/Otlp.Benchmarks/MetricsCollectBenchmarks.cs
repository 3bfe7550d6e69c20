using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Otlp.Benchmarks.Fixtures;

namespace Otlp.Benchmarks;

/// <summary>
/// Metrics, collect and export: one collection of 100 series (a counter and an explicit-bucket histogram, 50
/// attribute sets each, cumulative), through each pipeline's flush (<see cref="MetricPipelines"/>): reading the
/// series, building the request, encoding it, and the HTTP call that discards the body. One operation is one
/// collection.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MetricsCollectBenchmarks
{
    private MetricPipelines? pipelines;

    [GlobalSetup]
    public void Setup()
    {
        this.pipelines = new MetricPipelines();
        for (var i = 0; i < MetricPipelines.SeriesPerInstrument * 4; i++)
        {
            this.pipelines.Official.Add(i);
            this.pipelines.Official.Observe(i);
            this.pipelines.Ours.Add(i);
            this.pipelines.Ours.Observe(i);
        }

        // Each pipeline exports one collection of every series, in one request: its body size is the wire size.
        RecordWireBytes(nameof(this.Official_Collect), this.pipelines.OfficialHandler, this.Official_Collect);
        RecordWireBytes(nameof(this.Otlp_Collect), this.pipelines.OurHandler, this.Otlp_Collect);
    }

    [GlobalCleanup]
    public void Cleanup() => this.pipelines?.Dispose();

    [Benchmark(Baseline = true, Description = "Official: collect and export 100 series")]
    [BenchmarkCategory("Collect")]
    public bool Official_Collect() => this.pipelines!.FlushOfficial();

    [Benchmark(Description = "Otlp: collect and export 100 series")]
    [BenchmarkCategory("Collect")]
    public bool Otlp_Collect() => this.pipelines!.FlushOurs();

    private static void RecordWireBytes(string method, DiscardingHandler handler, Func<bool> flush)
    {
        handler.Reset();
        if (!flush() || handler.Requests != 1)
        {
            throw new InvalidOperationException($"{method}: the flush failed or sent {handler.Requests} requests instead of 1.");
        }

        Report.Record(Report.Key(method), Report.WireBytesPerItem, (double)handler.Bytes / (2 * MetricPipelines.SeriesPerInstrument));
    }
}

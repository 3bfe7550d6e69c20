using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Otlp.Benchmarks.Fixtures;

namespace Otlp.Benchmarks;

/// <summary>
/// Metrics, app-thread cost: what an application thread pays to add to a counter or record a histogram value on
/// an existing series (2 tags, 50 series per instrument), with each library's pipeline attached
/// (<see cref="MetricPipelines"/>), on 1 thread or split over 2 at once; the mean is wall time per measurement.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class MetricsRecordBenchmarks
{
    /// <summary>Measurements per invocation, shared among the threads.</summary>
    public const int Operations = 4096;

    private MetricPipelines? pipelines;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup() => this.pipelines = new MetricPipelines();

    [GlobalCleanup]
    public void Cleanup() => this.pipelines?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "Official: counter add")]
    [BenchmarkCategory("Counter")]
    public void Official_Counter() => Workers.Run(this.Threads, Operations, this.pipelines!.Official, static (instruments, i) => instruments.Add(i));

    [Benchmark(OperationsPerInvoke = Operations, Description = "Otlp: counter add")]
    [BenchmarkCategory("Counter")]
    public void Otlp_Counter() => Workers.Run(this.Threads, Operations, this.pipelines!.Ours, static (instruments, i) => instruments.Add(i));

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "Official: histogram record")]
    [BenchmarkCategory("Histogram")]
    public void Official_Histogram() => Workers.Run(this.Threads, Operations, this.pipelines!.Official, static (instruments, i) => instruments.Observe(i));

    [Benchmark(OperationsPerInvoke = Operations, Description = "Otlp: histogram record")]
    [BenchmarkCategory("Histogram")]
    public void Otlp_Histogram() => Workers.Run(this.Threads, Operations, this.pipelines!.Ours, static (instruments, i) => instruments.Observe(i));
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// Figures measured inside a benchmark process (wire bytes per item, process CPU time per item), handed to the
/// host process through a file named by <see cref="Variable"/>, where <see cref="FigureColumn"/>s show them in
/// the summary tables. Each line is <c>key TAB figure TAB value</c>; the key is the benchmark method and its
/// parameters (<see cref="Key(string, string)"/>).
/// </summary>
public static class Report
{
    /// <summary>The environment variable naming the file; the host sets it, benchmark processes inherit it.</summary>
    public const string Variable = "OTLP_BENCH_FIGURES";

    /// <summary>Wire bytes per item: body bytes sent for a batch, divided by its items.</summary>
    public const string WireBytesPerItem = "Wire B/item";

    /// <summary>Process CPU time (all threads, GC included) per item exported, in microseconds.</summary>
    public const string CpuPerItem = "CPU us/item";

    private static readonly Lock Gate = new();

    /// <summary>The key of a benchmark method with its parameters written as <c>Name=Value</c>, comma separated.</summary>
    public static string Key(string method, string parameters = "") => parameters.Length == 0 ? method : $"{method}({parameters})";

    /// <summary>Records a figure, and prints it so it is also in the benchmark's log.</summary>
    public static void Record(string key, string figure, double value)
    {
        var text = value.ToString("0.##", CultureInfo.InvariantCulture);
        Console.WriteLine($"// {figure} of {key}: {text}");
        var path = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        lock (Gate)
        {
            File.AppendAllText(path, $"{key}\t{figure}\t{text}{Environment.NewLine}");
        }
    }

    /// <summary>The last value recorded of each key and figure.</summary>
    public static IReadOnlyDictionary<(string Key, string Figure), string> Read()
    {
        var path = Environment.GetEnvironmentVariable(Variable);
        var figures = new Dictionary<(string, string), string>();
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return figures;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            var parts = line.Split('\t');
            if (parts.Length == 3)
            {
                figures[(parts[0], parts[1])] = parts[2];
            }
        }

        return figures;
    }
}

/// <summary>Measures the process CPU time spent per item between <see cref="Start"/> and <see cref="Stop"/>.</summary>
public sealed class CpuMeter
{
    private TimeSpan started;
    private long items;

    /// <summary>Starts measuring.</summary>
    public void Start()
    {
        this.items = 0;
        this.started = Process.GetCurrentProcess().TotalProcessorTime;
    }

    /// <summary>Counts items handled.</summary>
    public void Add(long count) => Interlocked.Add(ref this.items, count);

    /// <summary>Records the CPU time per item under <paramref name="key"/>, if any item was counted.</summary>
    public void Stop(string key)
    {
        var spent = Process.GetCurrentProcess().TotalProcessorTime - this.started;
        if (this.items > 0)
        {
            Report.Record(key, Report.CpuPerItem, spent.TotalMicroseconds / this.items);
        }
    }
}

/// <summary>A summary column showing one figure of <see cref="Report"/>.</summary>
public sealed class FigureColumn(string figure) : IColumn
{
    private readonly ConcurrentDictionary<Summary, IReadOnlyDictionary<(string, string), string>> cache = new();

    public string Id => "Figure." + figure;

    public string ColumnName => figure;

    public bool AlwaysShow => false;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => figure == Report.CpuPerItem
        ? "Process CPU time (all threads, GC included) per item exported, over the whole run of the benchmark, in microseconds"
        : "Request body bytes per item, measured once in setup";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        this.cache.GetOrAdd(summary, _ => Report.Read()).TryGetValue((KeyOf(benchmarkCase), figure), out var value) ? value : "-";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => this.GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) =>
        summary.BenchmarksCases.Any(c => this.cache.GetOrAdd(summary, _ => Report.Read()).ContainsKey((KeyOf(c), figure)));

    public override string ToString() => this.ColumnName;

    private static string KeyOf(BenchmarkCase benchmarkCase) =>
        Report.Key(
            benchmarkCase.Descriptor.WorkloadMethod.Name,
            string.Join(",", benchmarkCase.Parameters.Items.Select(p => $"{p.Name}={p.Value}")));
}

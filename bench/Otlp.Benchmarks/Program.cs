using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Otlp.Benchmarks.Fixtures;

namespace Otlp.Benchmarks;

/// <summary>
/// Runs the benchmarks BenchmarkDotNet's command line selects (<c>--filter *Encode*</c>, <c>--job short</c>, ...),
/// and exits non-zero when any benchmark failed, so that a dry run (<c>--job Dry</c>) checks they all still work;
/// or, with <c>alternate</c> first, one pair alternated in one process (<see cref="Alternation"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "alternate")
        {
            return Alternation.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "alternate-side")
        {
            return Alternation.RunSide(args[1..]);
        }


        // The figures measured inside the benchmark processes come back through this file (see Report).
        var figures = Path.Combine(Path.GetTempPath(), $"otlp-bench-figures-{Environment.ProcessId}.tsv");
        File.WriteAllText(figures, string.Empty);
        Environment.SetEnvironmentVariable(Report.Variable, figures);
        try
        {
            var config = DefaultConfig.Instance
                .AddColumn(new FigureColumn(Report.WireBytesPerItem), new FigureColumn(Report.CpuPerItem))
                .WithOptions(ConfigOptions.DisableLogFile);
            var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config).ToList();
            var failed = summaries
                .Where(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success) || s.Reports.Length < s.BenchmarksCases.Length)
                .ToList();
            if (summaries.Count == 0 || failed.Count > 0)
            {
                Console.Error.WriteLine(summaries.Count == 0 ? "No benchmark ran." : $"Benchmarks failed in: {string.Join(", ", failed.Select(s => s.Title))}");
                return 1;
            }

            return 0;
        }
        finally
        {
            File.Delete(figures);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Otlp.Benchmarks.Fixtures;

namespace Otlp.Benchmarks;

/// <summary>
/// The end-to-end and app-thread pairs alternated between processes (<c>--isolated</c>): each slice is a process of
/// its own that runs one pipeline (as BenchmarkDotNet runs each benchmark in a process of its own), and the slices of
/// the two alternate (so that a drift of the machine's speed falls on both); the end-to-end ones all send to one
/// receiver started once and kept warm.
/// </summary>
/// <remarks>
/// In one process the two pipelines share the runtime: the thread pool (which both exports hop through, and whose
/// workers spin before they sleep), the garbage collector and its budgets. Each slice then starts in a runtime the
/// other pipeline has just shaped, which the end-to-end pair, whose time is mostly waits and hops between threads,
/// feels more than the others; the app-thread pairs, about a tenth of whose time is collections, feel the shared
/// collector (an application runs one pipeline, in a heap of its own).
/// </remarks>
public static partial class Alternation
{
    /// <summary>Alternates a pair between processes: <paramref name="rounds"/> rounds, each a process per side.</summary>
    private static Ratios MeasureIsolated(string category, int threads, int rounds, TimeSpan slice, TimeSpan warmup)
    {
        var endToEnd = category.StartsWith("end-to-end-", StringComparison.Ordinal);
        using var receiver = endToEnd ? ReceiverProcess.Start() : null;
        var threadsNote = endToEnd ? "" : $", {threads} thread(s)";
        Console.WriteLine($"{category}{threadsNote}, isolated: {rounds} rounds of one process per side ({warmup.TotalSeconds} s of warm-up, {slice.TotalSeconds} s measured); ns per operation, Otlp / official:");

        // The receiver's own warm-up (its code tiers up in the first seconds of traffic): one process per side, not counted.
        if (receiver is not null)
        {
            foreach (var side in new[] { "ours", "official" })
            {
                RunSideProcess(category, side, threads, receiver, slice, TimeSpan.FromSeconds(10));
            }
        }

        var ours = new Side("Otlp");
        var official = new Side("official");
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var order = round % 2 == 0 ? new[] { ("ours", ours), ("official", official) } : new[] { ("official", official), ("ours", ours) };
            foreach (var (name, side) in order)
            {
                side.Add(RunSideProcess(category, name, threads, receiver, slice, warmup));
            }

            ratios.Add(ours.Last / official.Last);
            Console.Write($"{ours.Last:F0}/{official.Last:F0} ");
        }

        Console.WriteLine();
        return Summarize(ratios, ours, official);
    }

    /// <summary>Runs one side of a pair in a process of its own (an end-to-end one sending to <paramref name="receiver"/>); what it measured.</summary>
    private static SliceResult RunSideProcess(string category, string side, int threads, ReceiverProcess? receiver, TimeSpan slice, TimeSpan warmup)
    {
        var info = new ProcessStartInfo(
            "dotnet",
            [
                typeof(Alternation).Assembly.Location, "alternate-side", "--category", category, "--side", side,
                "--threads", threads.ToString(CultureInfo.InvariantCulture),
                "--slice", slice.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                "--warmup", warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (receiver is not null)
        {
            info.Environment[ReceiverProcess.RunningVariable] = receiver.Line;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a side's process.");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith(SliceResult.Prefix, StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"The {side} side of {category} failed (exit code {process.ExitCode}):\n{output}");
        }

        return SliceResult.Parse(line);
    }

    /// <summary>
    /// The child of <see cref="RunSideProcess"/>: sets up the pair (against the running receiver), runs one side for
    /// the warm-up, then measures it for one slice and prints the result.
    /// </summary>
    public static int RunSide(string[] args)
    {
        var category = Option(args, "--category", "end-to-end-grpc")!;
        var ours = Option(args, "--side", "ours") == "ours";
        var threads = int.Parse(Option(args, "--threads", "1")!, CultureInfo.InvariantCulture);
        var slice = TimeSpan.FromSeconds(double.Parse(Option(args, "--slice", "4")!, CultureInfo.InvariantCulture));
        var warmup = TimeSpan.FromSeconds(double.Parse(Option(args, "--warmup", "4")!, CultureInfo.InvariantCulture));
        var pair = Pair(category, threads);
        pair.Setup();
        try
        {
            var operation = ours ? pair.Ours : pair.Official;
            var warming = Stopwatch.StartNew();
            while (warming.Elapsed < warmup)
            {
                operation();
            }

            var side = new Side(ours ? "Otlp" : "official");
            side.Measure(operation, pair.OperationsPerInvocation, slice);
            Console.WriteLine(side.LastSlice.Format());
            return 0;
        }
        finally
        {
            pair.Cleanup();
        }
    }

    /// <summary>One slice's measurements, as a side's process prints them for the alternation's.</summary>
    private sealed record SliceResult(long Operations, TimeSpan Elapsed, TimeSpan Paused, int Collections, int Gen1Collections)
    {
        public const string Prefix = "slice ";

        public static SliceResult Parse(string line)
        {
            var fields = line[Prefix.Length..].Trim().Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture));
            return new SliceResult(
                fields["operations"], TimeSpan.FromTicks(fields["elapsed"]), TimeSpan.FromTicks(fields["paused"]), (int)fields["gc0"], (int)fields["gc1"]);
        }

        public string Format() =>
            FormattableString.Invariant(
                $"{Prefix}operations={this.Operations} elapsed={this.Elapsed.Ticks} paused={this.Paused.Ticks} gc0={this.Collections} gc1={this.Gen1Collections}");
    }
}

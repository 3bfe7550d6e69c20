using Microsoft.Extensions.Logging;

namespace Otlp.Diagnostics;

/// <summary>
/// Writes problems to the event source and an optional <see cref="ILogger"/>, at most once per interval for
/// each kind of problem, so a collector that rejects every request does not flood the application's logs.
/// Repeats are counted and mentioned with the next message of that kind.
/// </summary>
internal sealed class ProblemLog
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly string signal;
    private readonly ILogger? logger;
    private readonly TimeProvider time;
    private readonly Dictionary<string, (long LastWrittenTimestamp, int Suppressed)> kinds = new(StringComparer.Ordinal);

    public ProblemLog(string signal, ILogger? logger, TimeProvider time)
    {
        this.signal = signal;
        this.logger = logger;
        this.time = time;
    }

    /// <summary>Writes <paramref name="message"/> unless a problem of the same kind was written less than an interval ago.</summary>
    public void Write(string message)
    {
        var kind = KindOf(message);
        int suppressed;
        lock (this.kinds)
        {
            var now = this.time.GetTimestamp();
            if (this.kinds.TryGetValue(kind, out var seen) && this.time.GetElapsedTime(seen.LastWrittenTimestamp, now) < Interval)
            {
                this.kinds[kind] = (seen.LastWrittenTimestamp, seen.Suppressed + 1);
                return;
            }

            suppressed = this.kinds.TryGetValue(kind, out seen) ? seen.Suppressed : 0;
            this.kinds[kind] = (now, 0);
        }

        var text = suppressed > 0 ? $"{message} ({suppressed} similar problem(s) in the last minute not shown)" : message;
        OtlpEventSource.Log.ExportProblem(this.signal, text);
        this.logger?.LogWarning("Otlp {Signal} exporter: {Problem}", this.signal, text);
    }

    /// <summary>The kind of a problem: its text with numbers removed, so counts and delays do not make new kinds.</summary>
    private static string KindOf(string message)
    {
        var kind = new System.Text.StringBuilder(Math.Min(message.Length, 120));
        foreach (var c in message.AsSpan(0, Math.Min(message.Length, 120)))
        {
            if (!char.IsDigit(c))
            {
                kind.Append(c);
            }
        }

        return kind.ToString();
    }
}

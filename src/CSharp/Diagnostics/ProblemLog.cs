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

    // Kinds remembered at most: server text in messages can make many; past this, those not seen for an interval go.
    private const int MostKinds = 256;

    // Enough of a message to hold the endpoint's explanation (its URL and rule) and what went wrong after it.
    private const int KindLength = 400;

    /// <summary>
    /// Writes a configuration problem to the logger only: the caller has written it to the event source as a
    /// configuration problem, which is not an export problem.
    /// </summary>
    public void WriteConfiguration(string message) =>
        this.logger?.LogWarning("Otlp {Signal} exporter: {Problem}", this.signal, message);

    /// <summary>Writes <paramref name="message"/> unless a problem of the same kind was written less than an interval ago.</summary>
    public void Write(string message)
    {
        var kind = KindOf(message);
        int suppressed;
        lock (this.kinds)
        {
            var now = this.time.GetTimestamp();
            if (this.kinds.Count >= MostKinds && !this.kinds.ContainsKey(kind))
            {
                this.Forget(now);
            }

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

    /// <summary>Drops the kinds not written for an interval, or all of them when every one was (a flood of new kinds). Under the lock.</summary>
    private void Forget(long now)
    {
        foreach (var (kind, seen) in this.kinds)
        {
            if (this.time.GetElapsedTime(seen.LastWrittenTimestamp, now) >= Interval)
            {
                this.kinds.Remove(kind);
            }
        }

        if (this.kinds.Count >= MostKinds)
        {
            this.kinds.Clear();
        }
    }

    /// <summary>
    /// The kind of a problem: the start of its text with numbers removed, so counts and delays do not make new
    /// kinds, long enough to reach past the endpoint's explanation to what went wrong (a 503 and a 401 differ).
    /// </summary>
    private static string KindOf(string message)
    {
        var kind = new System.Text.StringBuilder(Math.Min(message.Length, KindLength));
        foreach (var c in message.AsSpan(0, Math.Min(message.Length, KindLength)))
        {
            if (!char.IsDigit(c))
            {
                kind.Append(c);
            }
        }

        return kind.ToString();
    }
}

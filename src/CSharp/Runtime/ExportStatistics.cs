using Otlp.Core;
using Otlp.Diagnostics;

namespace Otlp.Runtime;

/// <summary>
/// Counts of one pipeline's exports and drops, readable at any time, and the sink of its problems. Thread-safe.
/// </summary>
public sealed class ExportStatistics
{
    private readonly KeyValuePair<string, object?> signalTag;
    private ProblemLog problemLog;
    private KnownSecrets? secrets;
    private long exported;
    // Counted by the application's threads when the queue is full: striped, so that they do not contend.
    private readonly StripedCounter droppedQueueFull = new();
    private long droppedShutDown;
    private long droppedPermanentFailure;
    private long droppedRetriesExhausted;
    private long droppedDeadlineExceeded;
    private long rejectedByServer;
    private long droppedTooLarge;
    private long droppedUnreadable;
    private long problems;

    /// <summary>Counts for one signal; also reported on the <c>Otlp</c> meter and event source with the signal's name.</summary>
    /// <param name="signal">The signal's name: <c>traces</c>, <c>metrics</c> or <c>logs</c>.</param>
    public ExportStatistics(string signal = "unknown")
    {
        this.Signal = signal;
        this.signalTag = new KeyValuePair<string, object?>("otlp.signal", signal);
        this.problemLog = new ProblemLog(signal, null, TimeProvider.System);
    }

    internal void UseLog(ProblemLog log) => this.problemLog = log;

    /// <summary>The secrets to scrub from every problem before it is said (a server may echo one back).</summary>
    internal void UseSecrets(KnownSecrets secrets) => this.secrets = secrets;

    /// <summary>The signal counted.</summary>
    public string Signal { get; }

    /// <summary>
    /// Raised for every problem (failed export, server warning), unthrottled, often on the exporter's own thread;
    /// messages never contain header values. What a handler throws is ignored. The event source and the configured
    /// logger get each kind at most once a minute.
    /// </summary>
    public event Action<string>? Problem;

    /// <summary>Items the server accepted.</summary>
    public long Exported => Interlocked.Read(ref this.exported);

    /// <summary>Items dropped because the queue was full.</summary>
    public long DroppedQueueFull => this.droppedQueueFull.Value;

    /// <summary>Items offered after shutdown or disposal began, and those of a direct export made after it.</summary>
    public long DroppedShutDown => Interlocked.Read(ref this.droppedShutDown);

    /// <summary>Items whose export failed with an error that is never retried, and those offered when the batch export could not start.</summary>
    public long DroppedPermanentFailure => Interlocked.Read(ref this.droppedPermanentFailure);

    /// <summary>Items whose export failed on its last allowed attempt.</summary>
    public long DroppedRetriesExhausted => Interlocked.Read(ref this.droppedRetriesExhausted);

    /// <summary>
    /// Items whose export could not finish before its deadline (the exporter timeout of a direct export, the batch
    /// export timeout of a batch, shutdown's timeout), and those of a direct export whose caller cancelled it.
    /// </summary>
    public long DroppedDeadlineExceeded => Interlocked.Read(ref this.droppedDeadlineExceeded);

    /// <summary>Items the server rejected in a partial success.</summary>
    public long RejectedByServer => Interlocked.Read(ref this.rejectedByServer);

    /// <summary>Items larger than the request size limit on their own.</summary>
    public long DroppedTooLarge => Interlocked.Read(ref this.droppedTooLarge);

    /// <summary>
    /// Items that threw as they were read for export (an application object that misbehaves, such as an activity's
    /// tags changed by another thread), left out so that the rest of their batch was sent.
    /// </summary>
    public long DroppedUnreadable => Interlocked.Read(ref this.droppedUnreadable);

    /// <summary>Every item dropped for any reason, server rejections included.</summary>
    public long Dropped =>
        this.DroppedQueueFull + this.DroppedShutDown + this.DroppedPermanentFailure + this.DroppedRetriesExhausted
        + this.DroppedDeadlineExceeded + this.RejectedByServer + this.DroppedTooLarge + this.DroppedUnreadable;

    /// <summary>Problems reported so far.</summary>
    public long Problems => Interlocked.Read(ref this.problems);

    internal void CountExported(int count)
    {
        Interlocked.Add(ref this.exported, count);
        Add(OtlpSelfTelemetry.Exported, count, this.signalTag);
    }

    internal void CountRetry() => Add(OtlpSelfTelemetry.Retries, 1, this.signalTag);

    internal void RecordAttempt(TimeSpan duration, bool succeeded)
    {
        try
        {
            OtlpSelfTelemetry.Duration.Record(duration.TotalSeconds, this.signalTag);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An application's listener (see Add).
        }

        if (!succeeded)
        {
            Add(OtlpSelfTelemetry.FailedExports, 1, this.signalTag);
        }
    }

    internal void CountDropped(Batching.DropReason reason, int count)
    {
        Add(OtlpSelfTelemetry.Dropped, count, this.signalTag, new KeyValuePair<string, object?>("otlp.reason", ReasonName(reason)));
        if (reason.IsQueueFull)
        {
            this.droppedQueueFull.Add(count);
        }
        else if (reason.IsShutDown)
        {
            Interlocked.Add(ref this.droppedShutDown, count);
        }
        else if (reason.IsPermanentFailure)
        {
            Interlocked.Add(ref this.droppedPermanentFailure, count);
        }
        else if (reason.IsRetriesExhausted)
        {
            Interlocked.Add(ref this.droppedRetriesExhausted, count);
        }
        else if (reason.IsDeadlineExceeded)
        {
            Interlocked.Add(ref this.droppedDeadlineExceeded, count);
        }
        else if (reason.IsTooLarge)
        {
            Interlocked.Add(ref this.droppedTooLarge, count);
        }
        else if (reason.IsUnreadable)
        {
            Interlocked.Add(ref this.droppedUnreadable, count);
        }
        else
        {
            Interlocked.Add(ref this.rejectedByServer, count);
        }
    }

    /// <summary>
    /// Adds to one of the <c>Otlp</c> meter's counters. The application's meter listeners run inside the call, on the
    /// thread counting: an offer's (which must not throw) or an export loop's (which must not end). What they throw is
    /// theirs to see, not ours to pass on.
    /// </summary>
    private static void Add(System.Diagnostics.Metrics.Counter<long> counter, long count, KeyValuePair<string, object?> signal, KeyValuePair<string, object?> reason = default)
    {
        try
        {
            if (reason.Key is null)
            {
                counter.Add(count, signal);
            }
            else
            {
                counter.Add(count, signal, reason);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Ignored: see above.
        }
    }

    private static string ReasonName(Batching.DropReason reason) =>
        reason.IsQueueFull ? "queue_full"
        : reason.IsShutDown ? "shut_down"
        : reason.IsPermanentFailure ? "permanent_failure"
        : reason.IsRetriesExhausted ? "retries_exhausted"
        : reason.IsDeadlineExceeded ? "deadline_exceeded"
        : reason.IsTooLarge ? "too_large"
        : reason.IsUnreadable ? "unreadable"
        : "rejected_by_server";

    internal void ReportProblem(string message)
    {
        Interlocked.Increment(ref this.problems);
        message = this.secrets?.Scrub(message) ?? message;
        // The configured logger and the Problem handlers are the application's code, run here on an export thread:
        // what they throw must not end that thread (the batch loop would die with its items), and is not reported,
        // since reporting it would call them again.
        try
        {
            this.problemLog.Write(message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
        }

        if (this.Problem is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<string>)handler)(message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
            }
        }
    }
}

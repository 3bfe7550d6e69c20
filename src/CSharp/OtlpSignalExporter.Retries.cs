using Otlp.Core;
using Otlp.Export;
using Otlp.Transport;

namespace Otlp;

/// <summary>Sending one encoded request: the attempts, the waits between them, and the result they make.</summary>
public abstract partial class OtlpSignalExporter<TRequest, TItem>
{
    /// <summary>
    /// Sends one encoded request, retrying until it is delivered, given up, past the exporter timeout or cancelled;
    /// <paramref name="owned"/>, when given, is the payload's buffer, released when the export ends;
    /// <paramref name="exportDeadline"/>, when given, the deadline (on the exporter's clock) the parts of one split
    /// export share, instead of the exporter timeout from now.
    /// </summary>
    private async ValueTask<OtlpExportResult> SendWithRetriesAsync(OutgoingPayload payload, PooledBuffer? owned, int items, CancellationToken cancellationToken, long? exportDeadline = null)
    {
        // The clock is read once before an attempt and once after it (a read costs a few percent of a small export,
        // such as a metrics collection's): the first attempt starts at the export's start.
        var exportStarted = this.time.GetTimestamp();
        var now = this.MsAt(exportStarted);
        var deadline = exportDeadline ?? Runtime.Deadlines.After(now, this.Configuration.Exporter.Timeout);
        // One source ends every attempt: the deadline is the export's, not an attempt's, and the caller's token
        // cancels it too. The source of the last export is used again when it never fired (SpareCancellation).
        var limit = Runtime.Deadlines.Remaining(deadline, now);
        var sendCancel = this.sendCancels.Take();
        if (limit != Timeout.InfiniteTimeSpan)
        {
            sendCancel.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, limit.TotalMilliseconds)));
        }

        var callerCancels = cancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), sendCancel);
        // What the last attempt that was answered (or refused) said: when the deadline cuts off the attempt after
        // it, the result still names why the export was being retried (a gateway's 503, an UNAVAILABLE).
        string? answeredProblem = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (Volatile.Read(ref this.closed))
                {
                    return this.RefuseClosed(items, attempt - 1);
                }

                if (attempt > 1)
                {
                    this.Statistics.CountRetry();
                }

                var started = attempt == 1 ? exportStarted : this.time.GetTimestamp();
                TransportResult result;
                try
                {
                    using (Diagnostics.ExporterOwnWork.Begin())
                    {
                        result = await this.transport.SendAsync(payload, Runtime.Deadlines.Remaining(deadline, this.MsAt(started)), sendCancel.Token).ConfigureAwait(false);
                    }
                }
                catch (ObjectDisposedException) when (Volatile.Read(ref this.closed))
                {
                    // Disposed during the send: the transport's client is gone, and the items with it.
                    return this.RefuseClosed(items, attempt);
                }

                var ended = this.time.GetTimestamp();
                var interpreted = ExportInterpreter.Interpret(result, this.Configuration.Exporter, this.time, items, this.scrub);
                this.Statistics.RecordAttempt(this.time.GetElapsedTime(started, ended), interpreted.Classification.IsSuccess);
                if (interpreted.Problem is not null)
                {
                    this.Statistics.ReportProblem(interpreted.Problem);
                }

                var decision = Retry.decide(
                    this.retryPolicy, attempt, interpreted.Classification, this.MsAt(ended), deadline, Random.Shared.NextDouble());
                if (decision.IsDone)
                {
                    // The count within [0, items] (Batching.partialOutcome), never the server's number as it is.
                    var rejected = interpreted.Rejected;
                    this.Statistics.CountExported(items - rejected);
                    if (rejected > 0)
                    {
                        this.Statistics.CountDropped(Batching.DropReason.RejectedByServer, rejected);
                    }

                    return interpreted.PartialSuccess is { } partial
                        ? new OtlpExportResult(OtlpExportStatus.PartialSuccess, rejected, partial.ErrorMessage, attempt)
                        : attempt == 1 ? DeliveredAtFirstAttempt : new OtlpExportResult(OtlpExportStatus.Success, 0, null, attempt);
                }

                if (result.Kind != TransportResultKind.Cancelled)
                {
                    answeredProblem = interpreted.Problem;
                }

                if (decision is Retry.Decision.RetryAfter retry && !cancellationToken.IsCancellationRequested)
                {
                    try
                    {
                        await this.DelayAsync(retry.delayMs, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }

                var giveUp = decision as Retry.Decision.GiveUp;
                var reason = giveUp is null ? "cancelled" : GiveUpText(giveUp.Item);
                this.Statistics.CountDropped(
                    giveUp is null || giveUp.Item.IsDeadlineExceeded ? Batching.DropReason.DeadlineExceeded
                    : giveUp.Item.IsAttemptsExhausted ? Batching.DropReason.RetriesExhausted
                    : Batching.DropReason.PermanentFailure,
                    items);
                var problem = result.Kind == TransportResultKind.Cancelled && answeredProblem is not null
                    ? $"{interpreted.Problem} The attempt before it: {answeredProblem}"
                    : interpreted.Problem;
                return new OtlpExportResult(OtlpExportStatus.Failure, items, $"{problem} (gave up: {reason})", attempt);
            }
        }
        finally
        {
            // The caller's registration is gone: nothing cancels the source through this export any more.
            callerCancels.Dispose();
            this.sendCancels.Return(sendCancel, reuse: !Volatile.Read(ref this.closed));
            owned?.Dispose();
        }
    }

    private static string GiveUpText(Retry.GiveUpReason reason) =>
        reason.IsAttemptsExhausted ? "no attempts left"
        : reason.IsDeadlineExceeded ? "the timeout would pass before the next attempt"
        : "the error is permanent";

    private long NowMs() => this.MsAt(this.time.GetTimestamp());

    /// <summary>The time of <paramref name="timestamp"/> (of <see cref="TimeProvider.GetTimestamp"/>) on the exporter's millisecond timeline.</summary>
    private long MsAt(long timestamp) => (long)this.time.GetElapsedTime(0, timestamp).TotalMilliseconds;

    /// <summary>
    /// Waits <paramref name="delayMs"/> on the clock. A timer may fire up to a tick of the kernel's coarse clock early
    /// (10 ms on some machines), and a server's retry delay is honoured in full: the wait goes on until the clock says so.
    /// </summary>
    private async Task DelayAsync(long delayMs, CancellationToken cancellationToken)
    {
        var until = this.NowMs() + delayMs;
        do
        {
            // In steps a timer takes (a server may ask for a delay of weeks when the export has no time limit).
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(until - this.NowMs(), 1, int.MaxValue)), this.time, cancellationToken).ConfigureAwait(false);
        }
        while (this.NowMs() < until);
    }
}

using Microsoft.FSharp.Core;
using Otlp.Core;
using Otlp.Export;
using Otlp.Runtime;
using Otlp.Transport;

namespace Otlp;

/// <summary>The batched path: the background processor, and each batch's encoding, splitting and sending.</summary>
public abstract partial class OtlpSignalExporter<TRequest, TItem>
{
    private BatchExportProcessor<ScopedItem<TItem>> CreateProcessor()
    {
        var batch = this.Configuration.Processing is Processing.Batch b
            ? b.Item
            : throw new InvalidOperationException(
                "The metrics exporter does not batch: send metrics with ExportAsync, or let OtlpMetrics collect and export them.");
        var settings = new Batching.Settings(
            batch.MaxQueueSize,
            (long)batch.ScheduleDelay.TotalMilliseconds,
            batch.MaxExportBatchSize,
            Runtime.Deadlines.ToMilliseconds(batch.ExportTimeout),
            batch.MaxConcurrentExports,
            batch.EncodeAhead,
            this.retryPolicy);

        // One export at a time, not encoding ahead: its send may block the loop's thread, which would start no other
        // export meanwhile. Otherwise the loop must go on to encode the next batch while a send waits, so sends
        // never block it.
        var mayBlock = batch.MaxConcurrentExports == 1 && !batch.EncodeAhead;
        return new BatchExportProcessor<ScopedItem<TItem>>(
            settings,
            (items, attempt, turn) =>
                this.ExportBatchAttemptAsync(items, attempt, mayBlock, turn.Limit, turn.Token, turn.WaitsForSlot ? turn : null),
            this.Configuration.Exporter.Timeout,
            this.time,
            this.Statistics);
    }

    /// <summary>
    /// One attempt at a batch, on a thread that exists to export (the processor's loop): when
    /// <paramref name="mayBlock"/>, its sends may block that thread instead of handing their I/O between pool threads.
    /// With a <paramref name="turn"/>, the request is sent when the turn begins, and the attempt's time (then
    /// <see cref="Runtime.ExportTurn.Limit"/>) starts there; a turn comes only with sends that never block (the
    /// loop goes on encoding the next batch meanwhile), so <paramref name="mayBlock"/> is false then.
    /// </summary>
    private Task<Batching.ExportOutcome> ExportBatchAttemptAsync(ScopedItem<TItem>[] items, int attempt, bool mayBlock, TimeSpan limit, CancellationToken cancellationToken, Runtime.ExportTurn? turn)
    {
        if (attempt > 1)
        {
            this.Statistics.CountRetry();
        }

        // The usual batch: written straight from its sources into one request, sent as one part. A send that
        // finishes at once with success (an in-process network, a fast collector) is answered with a shared task.
        if (this.TryPrepareDirect(items) is { } direct)
        {
            // The send releases the payload when it ends; one that is still running is its own task.
            var send = this.SendPartAsync(direct.Outgoing, items.Length, attempt, mayBlock, limit, cancellationToken, turn, owned: direct);
            if (!send.IsCompletedSuccessfully)
            {
                return send.AsTask();
            }

            var outcome = send.Result;
            return outcome.IsSucceeded ? SucceededTask : Task.FromResult(outcome);
        }

        return this.ExportPartsAsync(items, attempt, mayBlock, limit, cancellationToken, turn);
    }

    /// <summary>The outcome of an attempt that was cancelled while it waited for its turn (shutdown's deadline): nothing was sent.</summary>
    private static readonly Batching.ExportOutcome CancelledBeforeSending = Batching.ExportOutcome.NewRetryableFailure(FSharpOption<long>.None);

    /// <summary>A batch through the model: grouped, encoded, split when too large, sent part by part.</summary>
    private async Task<Batching.ExportOutcome> ExportPartsAsync(ScopedItem<TItem>[] items, int attempt, bool mayBlock, TimeSpan limit, CancellationToken cancellationToken, Runtime.ExportTurn? turn)
    {
        var deadline = Runtime.Deadlines.After(this.NowMs(), limit);
        // A batch too large for one request goes as several; a failure of any part makes the batch fail (its
        // retry may send the parts that succeeded again: duplicates are preferred to loss).
        // Items too large alone are found again on every attempt: the outcome names them, and the machine counts them
        // once, when the batch ends (so does it the server's rejections).
        var (groups, unreadable) = this.GroupByScope(items);
        if (groups.Count == 0)
        {
            return Batching.ExportOutcome.NewPartiallySucceeded(0, 0, unreadable);
        }

        var (parts, tooLarge) = this.Prepare(this.Group(this.Resource, groups));
        var rejected = 0;
        try
        {
            if (turn is not null)
            {
                // Every part is sent in the one turn, whose time starts now.
                if (!await turn.BeginSendAsync().ConfigureAwait(false))
                {
                    return CancelledBeforeSending;
                }

                deadline = Runtime.Deadlines.After(this.NowMs(), turn.Limit);
            }

            foreach (var (part, payload) in parts)
            {
                var timeLeft = Runtime.Deadlines.Remaining(deadline, this.NowMs());
                var outcome = await this.SendPartAsync(
                    payload.Outgoing, this.CountItems(part), attempt, mayBlock, timeLeft, cancellationToken, handOver: turn is { SendsAlone: true }).ConfigureAwait(false);
                if (outcome is Batching.ExportOutcome.PartiallySucceeded partial)
                {
                    rejected += partial.rejected;
                }
                else if (!outcome.IsSucceeded)
                {
                    return outcome;
                }
            }
        }
        finally
        {
            Release(parts);
        }

        return rejected > 0 || tooLarge > 0 || unreadable > 0
            ? Batching.ExportOutcome.NewPartiallySucceeded(rejected, tooLarge, unreadable)
            : Batching.ExportOutcome.Succeeded;
    }

    /// <summary>
    /// A batch's request encoded straight from its sources, when the signal can (activities, log entries) and the
    /// request fits in one part; null otherwise (the batch then goes through the model, split when too large).
    /// </summary>
    private PooledBuffer? TryPrepareDirect(ScopedItem<TItem>[] items)
    {
        if (this.Configuration.Exporter.Protocol.IsHttpJson)
        {
            return null;
        }

        var payload = this.NewBuffer();
        try
        {
            if (this.TryEncodeDirect(items, payload) && payload.WrittenCount <= this.PayloadLimit)
            {
                this.lastPayloadBytes = payload.WrittenCount;
                return payload;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An item whose reading throws (an application object that misbehaves): the model's path reads the items
            // one by one, and leaves out only the ones that throw (GroupByScope).
        }

        payload.Dispose();
        return null;
    }

    /// <summary>
    /// One send of one encoded part of a batch, interpreted as the batch machine wants it; blocking the export
    /// thread when <paramref name="mayBlock"/> and the transport can send that way. <paramref name="items"/> is the
    /// number of items in the part, which bounds a partial success's rejected count; <paramref name="timeLeft"/> is
    /// what is left of the attempt's time (the token ends the send then). With a <paramref name="turn"/>, the send
    /// waits for it to begin and takes its time from it (nothing is sent when it is cancelled meanwhile);
    /// <paramref name="owned"/>, when given, is the payload's buffer, released when the send ends. A request that is
    /// the only one on the wire while the loop encodes ahead (<paramref name="handOver"/>, or a turn with one slot) is
    /// sent blocking by the exporter's send thread when the transport can (<see cref="Runtime.BlockingSendThread"/>).
    /// </summary>
    private async ValueTask<Batching.ExportOutcome> SendPartAsync(
        OutgoingPayload payload,
        int items,
        int attempt,
        bool mayBlock,
        TimeSpan timeLeft,
        CancellationToken cancellationToken,
        Runtime.ExportTurn? turn = null,
        PooledBuffer? owned = null,
        bool handOver = false)
    {
        try
        {
            if (turn is not null)
            {
                if (!await turn.BeginSendAsync().ConfigureAwait(false))
                {
                    return CancelledBeforeSending;
                }

                // A turn comes only with sends that never block the loop (it encodes the next batch meanwhile).
                mayBlock = false;
                handOver = turn.SendsAlone;
                timeLeft = turn.Limit;
            }

            var started = this.time.GetTimestamp();
            TransportResult result;
            using (Diagnostics.ExporterOwnWork.Begin())
            {
                result = mayBlock && this.transport.TrySendBlocking(payload, cancellationToken, out var sent)
                    ? sent
                    : handOver && this.sendThread?.TrySend(this.transport, payload, cancellationToken) is { } handedOver
                        ? await handedOver.ConfigureAwait(false)
                        : await this.transport.SendAsync(payload, timeLeft, cancellationToken).ConfigureAwait(false);
            }

            var interpreted = ExportInterpreter.Interpret(result, this.Configuration.Exporter, this.time, items, this.scrub);
            this.Statistics.RecordAttempt(this.time.GetElapsedTime(started), interpreted.Classification.IsSuccess);
            if (interpreted.Problem is not null)
            {
                this.Statistics.ReportProblem(attempt > 1 ? $"{interpreted.Problem} (attempt {attempt})" : interpreted.Problem);
            }

            return interpreted.Outcome;
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <summary>
    /// The batch's items by scope, in order, each deferred one read from its source now; an item whose reading throws
    /// (an application object that misbehaves, such as an activity whose tags another thread changes) is left out and
    /// counted in the second value, so that it alone is lost, and said (the exception's type only: its message may
    /// hold the application's values).
    /// </summary>
    private (List<(InstrumentationScope Scope, string SchemaUrl, TItem[] Items)> Groups, int Unreadable) GroupByScope(ScopedItem<TItem>[] items)
    {
        // A scope's items share their origin, and with it the schema URL of the first.
        var order = new List<(InstrumentationScope Scope, string SchemaUrl)>();
        var groups = new Dictionary<InstrumentationScope, List<TItem>>(ReferenceEqualityComparer.Instance);
        var unreadable = 0;
        Exception? first = null;
        foreach (var item in items)
        {
            TItem read;
            try
            {
                read = item.Convert is null ? item.Item : item.Convert(item.Source!);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                unreadable++;
                first ??= e;
                continue;
            }

            if (!groups.TryGetValue(item.Scope, out var list))
            {
                list = [];
                groups[item.Scope] = list;
                order.Add((item.Scope, item.SchemaUrl));
            }

            list.Add(read);
        }

        if (first is not null)
        {
            this.Statistics.ReportProblem(
                $"{unreadable} item(s) of a batch threw {first.GetType().Name} as they were read for export and were left out; the rest of the batch is sent.");
        }

        return (order.Select(first => (first.Scope, first.SchemaUrl, groups[first.Scope].ToArray())).ToList(), unreadable);
    }
}

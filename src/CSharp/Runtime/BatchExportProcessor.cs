using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Otlp.Core;

namespace Otlp.Runtime;

/// <summary>
/// Runs the core's batch state machine (<see cref="Batching"/>) on one background thread and carries out its
/// commands: exports, the timer, flush and shutdown waiters, drop counts. Holds no policy of its own.
/// </summary>
/// <remarks>
/// Application threads only call <see cref="Offer"/>: a write into a lock-free ring (<see cref="BoundedRing{T}"/>)
/// that never blocks or throws; a full queue drops the item and counts it. The loop moves offered items into the
/// machine in slices of one batch-long array, which goes out as it is once it holds a whole batch. The ring gates
/// the whole queue (items stay counted there until they leave the machine's queue), so an offer is one atomic
/// operation, and the ring wakes the loop when the count the loop asked for is reached: a batch, or two while batches
/// fill quickly (see <see cref="QuickBatchFill"/>).
///
/// The loop has a thread of its own, as the official SDK's processor has, rather than running on the thread pool:
/// every wake-up of a pooled loop, and every export handed to the pool, woke a worker that then spun idle on a core
/// the application's threads wanted. An export starts on the loop's thread and runs there until its first
/// asynchronous wait, and its completion is queued back to the loop.
///
/// Encoding ahead (<see cref="Batching.Settings.EncodeAhead"/>, the default over gRPC), the machine starts one
/// batch more than <see cref="Batching.Settings.MaxConcurrentExports"/>: its export encodes the request on this
/// thread at once, then waits for a send slot (<see cref="ExportTurn"/>), so the encoding overlaps the request
/// before it on the wire; sends never block this thread then. Otherwise, with one export at a time, an HTTP send
/// may block this thread (as the official SDK's export thread is blocked), which spares every request the hand-offs
/// of asynchronous socket I/O between pool threads; meanwhile offers keep filling the ring, and the machine would
/// start no other export anyway. The attempt's deadline still ends a send that hangs.
/// </remarks>
/// <typeparam name="T">The item exported: a span, a log record.</typeparam>
internal sealed class BatchExportProcessor<T> : IAsyncDisposable
{
    private readonly Batching.Settings settings;
    private readonly Func<T[], int, ExportTurn, Task<Batching.ExportOutcome>> export;
    private readonly TimeSpan attemptTimeout;
    private readonly TimeProvider time;
    private readonly ExportStatistics statistics;
    private readonly BoundedRing<T> incoming;
    private readonly ConcurrentQueue<Batching.Event<T>> control = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<Batching.WaiterResult>> waiters = new();

    // The cancellation of each attempt in flight, by batch: shutdown's deadline ends them (see ShutdownAsync).
    private readonly ConcurrentDictionary<long, CancellationTokenSource> attempts = new();

    // Attempts' sources: one that ended without firing is reset for the next.
    private readonly SpareCancellation cancels;

    // With encoding ahead, the machine starts one batch more than it sends at once: the sends take turns here.
    private readonly SendSlots? sendSlots;
    // Wakes the loop. It never spins while it waits: the loop waits once or more per batch at saturation, and a
    // spinning wait (SemaphoreSlim's) spent a third of the loop's time yielding a core the application wanted.
    private readonly ManualResetEventSlim wake = new(initialState: false, spinCount: 0);
    private readonly TaskCompletionSource loopEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Batching.State<T> state = Batching.init<T>();
    private long timerDueMs = long.MaxValue;
    private long nextWaiterId;

    // The array the loop fills from the ring, a batch long, offered to the machine slice by slice (OfferSlice): the
    // machine joins the slices, so a batch filled in several drains is exported as this array, not a copy.
    private T[] fill = [];

    // Batch-long fill arrays from this size are allocated on the large object heap; a drain of fewer than
    // FullFillThreshold items then gets an array of its own size.
    private const long LargeObjectBytes = 85_000;
    private const int FullFillThreshold = 64;

    // Batch-long arrays whose batch has ended, cleared, for the loop to fill again. At saturation a new array per
    // batch lived just long enough to be promoted, and gen1 collections, paid on the application's threads, came
    // twice as often as the official pipeline's. A few are kept: at most one per export in flight is ever waiting.
    private readonly T[]?[] spareFills = new T[]?[4];

    // Waking the loop costs the offering application thread a system call (a profile of the span loop put about 4%
    // of its time there). While batches fill faster than this, the loop asks to be woken for two batches instead of
    // one, and sleeps at most this long: half the wakes at saturation, and a full batch waits no longer than this.
    private static readonly TimeSpan QuickBatchFill = TimeSpan.FromMilliseconds(2);

    // The longest wait ManualResetEventSlim.Wait takes (int.MaxValue milliseconds).
    private static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(int.MaxValue);
    private long lastBatchFilled;
    private bool batchesFillQuickly;
    private long sleeps;
    private int fillNext;
    private int runningExports;
    private bool shuttingDown;

    /// <summary>Starts the background loop.</summary>
    /// <param name="settings">The batch settings (from configuration).</param>
    /// <param name="export">Exports one batch attempt: items, attempt number, and the attempt's turn, which it begins
    /// before it sends (<see cref="ExportTurn.BeginSendAsync"/>) and which then says the time the attempt may take
    /// (infinite for no limit; a protocol that carries a deadline sends it) and has a token that fires when that time
    /// is up. It must not keep the items array once its task has completed: the array is filled again.</param>
    /// <param name="attemptTimeout">The longest one attempt may take (the exporter timeout), within the batch deadline.</param>
    /// <param name="time">The clock.</param>
    /// <param name="statistics">Where exports and drops are counted.</param>
    public BatchExportProcessor(
        Batching.Settings settings,
        Func<T[], int, ExportTurn, Task<Batching.ExportOutcome>> export,
        TimeSpan attemptTimeout,
        TimeProvider time,
        ExportStatistics statistics)
    {
        this.settings = settings;
        this.export = export;
        this.attemptTimeout = attemptTimeout;
        this.time = time;
        this.cancels = new SpareCancellation(time);
        this.statistics = statistics;
        this.sendSlots = settings.EncodeAhead ? new SendSlots(Math.Max(1, settings.MaxConcurrentExports)) : null;
        // The ring counts every queued item, also those in the machine's queue: its limit is the queue size.
        this.incoming = new BoundedRing<T>(settings.MaxQueueSize);
        // The loop's thread must not inherit the creator's ambient context (Activity.Current, logging scopes): it
        // would be the parent of everything the exports do, for the life of the process.
        var thread = new Thread(this.Run) { IsBackground = true, Name = "Otlp batch export" };
        using (ExecutionContext.SuppressFlow())
        {
            thread.Start();
        }
    }

    private Task Loop => this.loopEnded.Task;

    /// <summary>How many times the loop has gone to sleep (for the tests: an idle loop must not poll).</summary>
    internal long Sleeps => Volatile.Read(ref this.sleeps);

    /// <summary>
    /// Queues an item for export. Never blocks and never throws; returns false when the item was dropped
    /// because the queue is full or the processor is shutting down (the drop is counted). An offer racing with the
    /// loop's stop may be taken, then dropped and counted as the loop stops.
    /// </summary>
    public bool Offer(T item)
    {
        // Once shutdown was asked, offers are refused at once; the ring, closed when the loop stops, refuses the
        // offers that passed this check too late (see DrainAfterStop).
        if (Volatile.Read(ref this.shuttingDown))
        {
            this.statistics.CountDropped(Batching.DropReason.ShutDown, 1);
            return false;
        }

        switch (this.incoming.TryWrite(item, out var wakeLoop))
        {
            case RingWrite.Written:
                if (wakeLoop)
                {
                    this.wake.Set();
                }

                return true;
            case RingWrite.Full:
                this.statistics.CountDropped(Batching.DropReason.QueueFull, 1);
                return false;
            default:
                this.statistics.CountDropped(Batching.DropReason.ShutDown, 1);
                return false;
        }
    }

    /// <summary>How long shutdown waits, after its deadline, for the loop to settle the attempts it cancelled.</summary>
    internal static readonly TimeSpan ShutdownGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Exports everything offered so far; true when it all completed (exported or dropped) in time. Returns false by
    /// its deadline, also while a send is in progress on the loop's thread; that send goes on, within its own
    /// deadline (a flush does not give up on data: the batch is still exported or retried).
    /// </summary>
    public Task<bool> ForceFlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        this.WaitAsync(timeout, flush: true, cancellationToken);

    /// <summary>
    /// Flushes, then refuses new items and stops; true when it finished in time. At the deadline the attempts still
    /// in flight are cancelled, also a send in progress on the loop's thread, and what was left is counted dropped
    /// (<see cref="Batching.DropReason.DeadlineExceeded"/>), once: it returns false within the timeout and a short
    /// grace (<see cref="ShutdownGrace"/>).
    /// </summary>
    public async Task<bool> ShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref this.shuttingDown, true);
        var done = await this.WaitAsync(timeout, flush: false, cancellationToken).ConfigureAwait(false);
        return done;
    }

    /// <summary>Cancels every attempt in flight (an attempt that ends meanwhile has removed itself).</summary>
    private void CancelAttempts()
    {
        foreach (var attempt in this.attempts.Values)
        {
            try
            {
                attempt.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The attempt ended between the read and the cancel.
            }
        }
    }

    /// <summary>
    /// Shuts down with the batch export timeout as the deadline, then waits a grace (<see cref="Deadlines.DisposeGrace"/>) for
    /// the loop to end: an attempt whose send does not heed its cancellation (a handler or header provider of the
    /// application's) keeps the loop running, and disposal then goes on without it, saying so.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!Batching.isShuttingDown(this.state))
        {
            await this.ShutdownAsync(Deadlines.ToTimeSpan(this.settings.ExportTimeoutMs)).ConfigureAwait(false);
        }

        if (!await Deadlines.EndsWithin(this.Loop, Deadlines.DisposeGrace, this.time).ConfigureAwait(false))
        {
            this.statistics.ReportProblem(
                "An export was still running when the exporter was disposed (an HTTP handler or header provider that does not heed cancellation?); disposal went on without it.");
            return;
        }

        await this.Loop.ConfigureAwait(false);
    }

    private async Task<bool> WaitAsync(TimeSpan timeout, bool flush, CancellationToken cancellationToken)
    {
        if (this.Loop.IsCompleted)
        {
            // As the machine answers a request that reaches it after it stopped (AlreadyShutDown): a flush has nothing
            // to flush into, and a shutdown was already done by an earlier call, which said how it went.
            return false;
        }

        var id = Interlocked.Increment(ref this.nextWaiterId);
        var waiter = new TaskCompletionSource<Batching.WaiterResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        this.waiters[id] = waiter;
        var now = this.NowMs();
        var deadline = Deadlines.After(now, timeout);
        this.control.Enqueue(flush
            ? Batching.Event<T>.NewForceFlush(id, now, deadline)
            : Batching.Event<T>.NewShutdown(id, now, deadline));
        this.wake.Set();
        if (this.Loop.IsCompleted)
        {
            // The loop ended after the check above: it may never have read the event (see AnswerLeftWaiters).
            this.AnswerLeftWaiters();
        }
        if (deadline == long.MaxValue || timeout.TotalMilliseconds >= int.MaxValue)
        {
            return (await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false)).IsCompleted;
        }

        // The machine completes the waiter at its deadline, but only when the loop runs: with one export at a time
        // the loop's thread may be blocked in a send (by design), so the deadline is kept here too.
        try
        {
            return (await waiter.Task.WaitAsync(timeout, this.time, cancellationToken).ConfigureAwait(false)).IsCompleted;
        }
        catch (TimeoutException)
        {
        }

        if (flush)
        {
            // The machine's late answer finds no one waiting; the send in progress goes on.
            this.waiters.TryRemove(id, out _);
            return false;
        }

        // The deadline event reaches the machine before the completion of any attempt cancelled below (that is
        // queued when the send returns), so their items are dropped as DeadlineExceeded, and their completions
        // ignored. Its time must be at the deadline on the machine's timeline.
        while (this.NowMs() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), this.time, CancellationToken.None).ConfigureAwait(false);
        }

        this.control.Enqueue(Batching.Event<T>.NewTimerFired(this.NowMs()));
        this.wake.Set();
        this.CancelAttempts();
        try
        {
            return (await waiter.Task.WaitAsync(ShutdownGrace, this.time, cancellationToken).ConfigureAwait(false)).IsCompleted;
        }
        catch (TimeoutException)
        {
            // A send that does not heed its token: shutdown still returns, not in time; the loop settles it later.
            return false;
        }
    }

    private long NowMs() => (long)this.time.GetElapsedTime(0).TotalMilliseconds;

    private void Run()
    {
        try
        {
            // Everything this thread does is exporting: its requests are the exporter's own, not to be traced.
            Diagnostics.ExporterOwnWork.MarkCurrentThread();
            this.RunLoop();
            // No attempt starts any more: the spare source goes (one returned later is disposed, as stopped).
            this.cancels.Dispose();
            this.loopEnded.TrySetResult();
        }
        catch (Exception e)
        {
            // A thread's unhandled exception would end the process: the error goes to whoever awaits shutdown.
            this.loopEnded.TrySetException(e);
        }

        this.AnswerLeftWaiters();
    }

    /// <summary>
    /// Answers the flush and shutdown requests the ended loop will never read: those queued after its last look at
    /// the control queue (a flush or a second shutdown racing the first). A request registers its waiter, then
    /// queues its event, then looks whether the loop has ended; the loop marks its end before it sweeps the waiters:
    /// so either the sweep finds a waiter or its caller sees the end and sweeps itself, and none waits for ever.
    /// </summary>
    private void AnswerLeftWaiters()
    {
        foreach (var id in this.waiters.Keys)
        {
            if (this.waiters.TryRemove(id, out var waiter))
            {
                waiter.TrySetResult(Batching.WaiterResult.AlreadyShutDown);
            }
        }
    }

    private void RunLoop()
    {
        while (true)
        {
            // Everything in the ring when the delay timer is due, so that the export it starts takes it along. The
            // same reading of the clock decides both, so a timer never fires without the ring drained first.
            var now = this.NowMs();
            var timerDue = this.timerDueMs <= now;
            this.DrainIncoming(all: timerDue);
            while (this.control.TryDequeue(out var controlEvent))
            {
                // Items offered before a flush or shutdown was requested are in the ring by now: hand them to the
                // machine first, so the request covers them, also those behind a writer still storing its item.
                this.DrainUpTo(this.incoming.Written);
                this.Apply(controlEvent);
            }

            if (this.timerDueMs <= now)
            {
                if (!timerDue)
                {
                    // Armed by a control event, already due: once more round, draining everything first.
                    continue;
                }

                this.timerDueMs = long.MaxValue;
                this.Apply(Batching.Event<T>.NewTimerFired(now));
                continue;
            }

            if (Batching.isStopped(this.state) && Volatile.Read(ref this.runningExports) == 0 && this.control.IsEmpty)
            {
                this.DrainAfterStop();
                return;
            }

            // Offers made during the drains above, or made before the ring was asked to wake the loop for them.
            var wanted = this.RingItemsWanted(out var twoBatches);
            if (this.incoming.Count >= wanted || !this.incoming.ArmWake(this.incoming.Taken + wanted))
            {
                continue;
            }

            var wait = Deadlines.Remaining(this.timerDueMs, now);
            if (twoBatches && (wait == Timeout.InfiniteTimeSpan || wait > QuickBatchFill))
            {
                wait = QuickBatchFill;
            }

            if (!this.WaitForWork(wait) && twoBatches)
            {
                // Not even one batch came within the wait: the rate has dropped, so wait for single batches again.
                this.batchesFillQuickly = false;
            }

            this.incoming.Disarm();
        }
    }

    /// <summary>
    /// Blocks the loop's thread until <see cref="wake"/> is set or <paramref name="wait"/> has passed on the clock,
    /// whichever comes first; <see cref="Timeout.InfiniteTimeSpan"/> waits for the signal only. The signal is
    /// cleared before the loop looks for work again, so a signal given after that look wakes the next wait. True
    /// when the signal ended the wait.
    /// </summary>
    private bool WaitForWork(TimeSpan wait)
    {
        Volatile.Write(ref this.sleeps, this.sleeps + 1);
        var signalled = true;
        if (wait > LongestWait)
        {
            // Deadlines reach about 49 days (a timer's limit), a wait on the event about 24: the loop wakes early,
            // finds nothing due, and waits again.
            wait = LongestWait;
        }

        if (wait == Timeout.InfiniteTimeSpan)
        {
            this.wake.Wait();
        }
        else if (this.time == TimeProvider.System)
        {
            signalled = this.wake.Wait(wait);
        }
        else
        {
            // Another clock (a test's) decides when the wait ends: its timer sets the signal, and the clock says
            // whether that was the timer.
            var start = this.time.GetTimestamp();
            using (this.time.CreateTimer(static state => ((ManualResetEventSlim)state!).Set(), this.wake, wait, Timeout.InfiniteTimeSpan))
            {
                this.wake.Wait();
            }

            signalled = this.time.GetElapsedTime(start) < wait;
        }

        this.wake.Reset();
        return signalled;
    }

    /// <summary>
    /// Hands what the ring holds to the machine, in slices that end where a batch ends, written into a batch-long
    /// array (<see cref="fill"/>). Unless <paramref name="all"/>, a slice that would not complete a batch is left in
    /// the ring while the machine holds items (its delay timer is then armed, and the offer that completes a batch
    /// wakes the loop): at saturation the loop would otherwise step the machine for every item or two.
    /// </summary>
    private void DrainIncoming(bool all)
    {
        // Only what was offered before this call is drained: at saturation the ring never stays empty, and draining
        // until it is would step the machine for every item or two that arrives meanwhile. Later offers wake the
        // loop again.
        var budget = this.incoming.Count;
        while (budget > 0)
        {
            // A slice ends where a full batch taken from the machine's queue would end.
            var batch = this.BatchSize;
            var inMachine = Batching.queuedCount(this.state);
            var toBatchEnd = batch - (inMachine % batch);
            if (!all && budget < toBatchEnd && inMachine > 0)
            {
                return;
            }

            // A new array when this one is full, or when the machine holds none of its items (the slots left were
            // taken by a partial batch, or the array went out whole): slices then start a batch at its start. When
            // a batch-long array would go to the large object heap (a large batch size), a drain of a handful of
            // items (low load: that batch leaves at the delay, copied) gets an array of just those instead.
            if (inMachine == 0 && this.fillNext < this.fill.Length && this.fill.Length == batch)
            {
                // The machine copied this array's items into a partial batch (at the delay, for a flush): it queues
                // none of them, and no batch holds the array itself (only a whole array goes out as it is). Start it
                // again, letting go of the items: an abandoned array in an older generation would keep them, and
                // what they reference, alive through the next young collections.
                Array.Clear(this.fill, 0, this.fillNext);
                this.fillNext = 0;
            }
            else if (this.fillNext == this.fill.Length || inMachine == 0)
            {
                var wholeBatch = budget >= FullFillThreshold || (long)batch * Unsafe.SizeOf<T>() < LargeObjectBytes;
                this.fill = this.TakeSpareFill() ?? new T[wholeBatch ? batch : (int)budget];
                this.fillNext = 0;
            }

            var expected = (int)Math.Min(budget, Math.Min(toBatchEnd, this.fill.Length - this.fillNext));
            var start = this.fillNext;
            var count = 0;
            while (count < expected && this.incoming.TryRead(out var item))
            {
                this.fill[start + count++] = item;
            }

            if (count == 0)
            {
                // Rare: a writer has claimed a slot but not filled it yet, or an offer is being refused.
                return;
            }

            this.fillNext = start + count;
            budget -= count;
            this.Apply(Batching.Event<T>.NewOfferSlice(this.fill, start, count, this.NowMs()));
            if (count == toBatchEnd)
            {
                this.NoteBatchFilled();
            }
        }
    }

    /// <summary>A batch-long array returned by <see cref="KeepSpareFill"/>, if any. Any thread.</summary>
    private T[]? TakeSpareFill()
    {
        for (var i = 0; i < this.spareFills.Length; i++)
        {
            if (Volatile.Read(ref this.spareFills[i]) is not null && Interlocked.Exchange(ref this.spareFills[i], null) is { } spare)
            {
                return spare;
            }
        }

        return null;
    }

    /// <summary>
    /// Keeps the items array of a batch that has ended for a later fill, when it is batch-long and there is room. The
    /// machine holds such an array only in that batch (a batch is one whole filled array or a copy), and the export
    /// holds it no longer than its attempt. Any thread.
    /// </summary>
    private void KeepSpareFill(T[] items)
    {
        if (items.Length != this.BatchSize)
        {
            return;
        }

        // Let go of the items for the collector; a later fill writes every slot before the machine reads it.
        Array.Clear(items);
        for (var i = 0; i < this.spareFills.Length; i++)
        {
            if (Interlocked.CompareExchange(ref this.spareFills[i], items, null) is null)
            {
                return;
            }
        }
    }

    /// <summary>The most items one export takes.</summary>
    private int BatchSize => Math.Max(1, Math.Min(this.settings.MaxExportBatchSize, this.settings.MaxQueueSize));

    /// <summary>
    /// How many items in the ring make a drain worth it: one when the machine is empty, else those that complete its
    /// batch; and while batches fill quickly, also the batch after it (<paramref name="twoBatches"/>), when the ring
    /// has room for both twice over, so that a burst meanwhile is not refused.
    /// </summary>
    private int RingItemsWanted(out bool twoBatches)
    {
        twoBatches = false;
        var inMachine = Batching.queuedCount(this.state);
        if (inMachine == 0)
        {
            return 1;
        }

        var wanted = this.BatchSize - (inMachine % this.BatchSize);
        if (this.batchesFillQuickly && 2L * (wanted + this.BatchSize) <= this.incoming.Limit - inMachine)
        {
            twoBatches = true;
            return wanted + this.BatchSize;
        }

        return wanted;
    }

    /// <summary>A batch is complete in the machine's queue: batches fill quickly when it took less than <see cref="QuickBatchFill"/> since the one before.</summary>
    private void NoteBatchFilled()
    {
        var now = this.time.GetTimestamp();
        this.batchesFillQuickly = this.lastBatchFilled != 0 && this.time.GetElapsedTime(this.lastBatchFilled, now) < QuickBatchFill;
        this.lastBatchFilled = now;
    }

    /// <summary>
    /// After the machine stopped: an offer that passed its shutdown check just before shutdown was asked may still
    /// be writing its item. Close the ring, which refuses later offers and says which got in, wait for each of those
    /// items and give it to the machine, which drops and counts it.
    /// </summary>
    private void DrainAfterStop() => this.DrainUpTo(this.incoming.Close());

    /// <summary>
    /// Hands the machine every item written before <paramref name="end"/> (a count of writes). A writer that has
    /// claimed its position stores its item a few instructions later, but may be preempted in between while later
    /// writers finish theirs and return: their items wait behind it, so this waits for it.
    /// </summary>
    private void DrainUpTo(long end)
    {
        this.DrainIncoming(all: true);
        var spin = default(SpinWait);
        while (this.incoming.Taken < end)
        {
            spin.SpinOnce();
            this.DrainIncoming(all: true);
        }
    }

    private void Apply(Batching.Event<T> e)
    {
        var (next, commands) = Batching.step(this.settings, this.state, e);
        var stopping = !Batching.isStopped(this.state) && Batching.isStopped(next);
        this.state = next;
        // Of the items taken from the ring, what the machine no longer queues (exporting, exported, dropped) has left
        // the queue: room for offers.
        this.incoming.ReleaseUpTo(this.incoming.Taken - Batching.queuedCount(next));
        if (stopping && !this.attempts.IsEmpty)
        {
            // Stopped at the shutdown deadline with attempts still running: their items are counted dropped, and
            // nobody waits for their answers any more.
            this.CancelAttempts();
        }

        // Walked by its cells: a foreach over an F# list allocates an enumerator, on every step.
        for (var rest = commands; !rest.IsEmpty; rest = rest.Tail)
        {
            switch (rest.Head)
            {
                case Batching.Command<T>.StartExport start:
                    this.StartExport(start.batchId, start.items, start.attempt, start.deadlineMs);
                    break;
                case Batching.Command<T>.ArmTimer arm:
                    this.timerDueMs = arm.atMs;
                    break;
                case Batching.Command<T>.CompleteWaiter complete:
                    if (this.waiters.TryRemove(complete.waiterId, out var waiter))
                    {
                        waiter.TrySetResult(complete.result);
                    }

                    break;
                case Batching.Command<T>.ReportDropped dropped:
                    this.statistics.CountDropped(dropped.reason, dropped.count);
                    break;
                case Batching.Command<T>.ReportExported exported:
                    this.statistics.CountExported(exported.count);
                    break;
            }
        }
    }

    /// <summary>The time an attempt starting now may take: the nearer of the batch's deadline and the exporter timeout (either may be infinite).</summary>
    private TimeSpan AttemptLimit(long deadlineMs)
    {
        var remaining = Deadlines.Remaining(deadlineMs, this.NowMs());
        var limit = remaining == Timeout.InfiniteTimeSpan
            || (this.attemptTimeout != Timeout.InfiniteTimeSpan && this.attemptTimeout < remaining)
            ? this.attemptTimeout
            : remaining;
        return limit != Timeout.InfiniteTimeSpan && limit <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : limit;
    }

    private void StartExport(long batchId, T[] items, int attempt, long deadlineMs)
    {
        Interlocked.Increment(ref this.runningExports);
        CancellationTokenSource cancel;
        ExportTurn turn;
        cancel = this.cancels.Take();
        if (this.sendSlots is { } slots)
        {
            // The attempt's time starts when it gets its turn to send (ExportTurn); until then only shutdown cancels it.
            turn = new ExportTurn(cancel, slots, () => this.AttemptLimit(deadlineMs));
        }
        else
        {
            var limit = this.AttemptLimit(deadlineMs);
            if (limit != Timeout.InfiniteTimeSpan)
            {
                cancel.CancelAfter(limit);
            }

            turn = new ExportTurn(cancel.Token, limit);
        }

        this.attempts[batchId] = cancel;

        Task<Batching.ExportOutcome> attemptTask;
        try
        {
            attemptTask = this.export(items, attempt, turn);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            attemptTask = Task.FromException<Batching.ExportOutcome>(e);
        }

        if (attemptTask.IsCompleted)
        {
            this.EndExport(attemptTask, batchId, items, cancel, turn);
        }
        else
        {
            _ = attemptTask.ContinueWith(
                static (task, state) =>
                {
                    var (processor, batchId, items, cancel, turn) = ((BatchExportProcessor<T>, long, T[], CancellationTokenSource, ExportTurn))state!;
                    processor.EndExport(task, batchId, items, cancel, turn);
                },
                (this, batchId, items, cancel, turn),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private void EndExport(Task<Batching.ExportOutcome> attempt, long batchId, T[] items, CancellationTokenSource cancel, ExportTurn turn)
    {
        this.attempts.TryRemove(new KeyValuePair<long, CancellationTokenSource>(batchId, cancel));
        this.cancels.Return(cancel, reuse: !Batching.isStopped(this.state));
        Batching.ExportOutcome outcome;
        if (attempt.IsCompletedSuccessfully)
        {
            outcome = attempt.Result;
        }
        else if (attempt.IsCanceled)
        {
            // A send given up on (its time ran out where the transport did not turn that into a result): retried
            // within the batch's deadline, as a timed-out attempt is. At the shutdown's deadline the machine has
            // dropped the batch already and ignores this.
            this.statistics.ReportProblem($"The export of a batch of {items.Length} was cancelled; it is retried within its deadline.");
            outcome = Batching.ExportOutcome.NewRetryableFailure(Microsoft.FSharp.Core.FSharpOption<long>.None);
        }
        else
        {
            // An exporter bug must not kill the loop: count the batch as failed for good.
            var e = attempt.Exception?.InnerException ?? new OperationCanceledException();
            this.statistics.ReportProblem($"The export of a batch of {items.Length} threw {e.GetType().Name}: {e.Message}");
            outcome = Batching.ExportOutcome.PermanentFailure;
        }

        // Any outcome but a retryable failure ends the batch (a retryable one may be tried again with these items).
        if (outcome is not Batching.ExportOutcome.RetryableFailure)
        {
            this.KeepSpareFill(items);
        }

        // Exports are counted when the machine reports them (ReportExported): a completion of a batch it no longer
        // holds (abandoned at the shutdown deadline, counted dropped then) must count nothing.
        this.control.Enqueue(Batching.Event<T>.NewExportCompleted(batchId, outcome, this.NowMs(), Random.Shared.NextDouble()));
        Interlocked.Decrement(ref this.runningExports);
        this.wake.Set();

        // Last: the next prepared batch starts its send on this thread (SendSlots), once the loop has been told of
        // this one, so that it prepares the batch after meanwhile.
        turn.End();
    }
}

using Microsoft.FSharp.Collections;
using Otlp.Core;

namespace Otlp.Metrics;

/// <summary>
/// Runs the core's periodic reader (<see cref="MetricReader"/>) and carries out its commands: collect-and-export
/// runs, the timer, flush and shutdown waiters. Holds no policy of its own: when to collect, how runs never overlap
/// and when waiters complete are the machine's decisions.
/// </summary>
/// <remarks>
/// Whoever has an event (a flush or shutdown caller, the timer, the end of a run) steps the machine under a lock and
/// then carries out its commands. A collection the timer or the end of a run starts runs on that thread; one a flush
/// or shutdown with a deadline (or a cancellable wait) starts runs on the thread pool, since it calls the
/// application's observable callbacks: one that is slow or hangs must not hold the caller past the deadline it gave
/// (the machine answers it then). A flush or shutdown without either waits however long the collection takes, so it
/// runs on the caller's thread. Collections never run at once, so one cancellation source serves them all.
/// </remarks>
internal sealed class PeriodicReader : IAsyncDisposable
{
    private readonly MetricReader.Settings settings;
    private readonly Func<MetricReader.Trigger, CancellationToken, Task> collectAndExport;
    private readonly Action<string> report;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private static readonly Task<bool> Finished = Task.FromResult(true);
    private static readonly Task<bool> NotFinished = Task.FromResult(false);

    // The flush and shutdown calls waiting for an answer; a call's task source is made only when its answer was not
    // there by the time its own step returned (a collection that runs on, or one running already), so a flush whose
    // export completes synchronously allocates none. Answers that come before a source are kept in `answered`.
    private readonly Dictionary<long, TaskCompletionSource<MetricReader.WaiterResult>?> waiters = [];
    private readonly Dictionary<long, MetricReader.WaiterResult> answered = [];
    private readonly TaskCompletionSource idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer timer;
    private MetricReader.State state;
    private CancellationTokenSource runCancel;
    private long timerDueMs = long.MaxValue;
    private long nextWaiterId;
    private int runningExports;

    /// <summary>Starts the reader: the first collection is due one interval from now.</summary>
    /// <param name="settings">Interval and timeout.</param>
    /// <param name="collectAndExport">One collection and its export, cancelled at the run's deadline.</param>
    /// <param name="report">Where problems go (a run that threw).</param>
    /// <param name="time">The clock and timers.</param>
    public PeriodicReader(
        MetricReader.Settings settings,
        Func<MetricReader.Trigger, CancellationToken, Task> collectAndExport,
        Action<string> report,
        TimeProvider time)
    {
        this.settings = settings;
        this.collectAndExport = collectAndExport;
        this.report = report;
        this.time = time;
        this.runCancel = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        // A timer runs its callback in the context it was created in; the creator's (a request's activity, its
        // logging scopes) must not become the context of every timed export for the life of the process.
        using (ExecutionContext.SuppressFlow())
        {
            this.timer = time.CreateTimer(static s => ((PeriodicReader)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        lock (this.gate)
        {
            var (initial, commands) = MetricReader.start(settings, this.NowMs());
            this.state = initial;
            this.CarryQuick(commands);
        }
    }

    /// <summary>The collections started so far.</summary>
    public long CollectionsStarted
    {
        get
        {
            lock (this.gate)
            {
                return MetricReader.collectionsStarted(this.state);
            }
        }
    }

    /// <summary>Collects and exports now (or right after the running collection); true when that export finished in time.</summary>
    public Task<bool> ForceFlushAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        this.WaitAsync(timeout, flush: true, cancellationToken);

    /// <summary>The final collection and export, then no more; true when it finished in time.</summary>
    public Task<bool> ShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        this.WaitAsync(timeout, flush: false, cancellationToken);

    /// <summary>
    /// Shuts down (within the export timeout) unless already done, and waits for the last run to end, a grace
    /// (<see cref="Runtime.Deadlines.DisposeGrace"/>) at most: a run held by an observable callback that
    /// never returns is left behind, and said.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        bool stopped;
        lock (this.gate)
        {
            stopped = MetricReader.isStopped(this.state);
        }

        if (!stopped)
        {
            await this.ShutdownAsync(Runtime.Deadlines.ToTimeSpan(this.settings.ExportTimeoutMs), CancellationToken.None).ConfigureAwait(false);
        }

        if (!await Runtime.Deadlines.EndsWithin(this.idle.Task, Runtime.Deadlines.DisposeGrace, this.time).ConfigureAwait(false))
        {
            this.report("A collection or export was still running when the metrics were disposed (an observable callback that does not return?); disposal went on without it.");
        }

        await this.timer.DisposeAsync().ConfigureAwait(false);
    }

    private Task<bool> WaitAsync(TimeSpan timeout, bool flush, CancellationToken cancellationToken)
    {
        if (this.idle.Task.IsCompleted)
        {
            return NotFinished;
        }

        var now = this.NowMs();
        var deadline = Runtime.Deadlines.After(now, timeout);
        long id;
        lock (this.gate)
        {
            id = ++this.nextWaiterId;
            this.waiters[id] = null;
        }

        // With no deadline and nothing to cancel the wait, the caller waits for the collection however long it takes:
        // it runs on the caller's thread, as a timed one runs on the timer's (no hand-off to the pool and back).
        // Otherwise it runs on the pool, so that a slow observable callback cannot hold the caller past its deadline.
        var runHere = timeout == Timeout.InfiniteTimeSpan && !cancellationToken.CanBeCanceled;
        this.Raise(
            flush ? MetricReader.Event.NewForceFlush(id, now, deadline) : MetricReader.Event.NewShutdown(id, now, deadline),
            runHere);
        TaskCompletionSource<MetricReader.WaiterResult> source;
        lock (this.gate)
        {
            if (this.answered.Remove(id, out var result))
            {
                return result.IsCompleted ? Finished : NotFinished;
            }

            source = new TaskCompletionSource<MetricReader.WaiterResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            this.waiters[id] = source;
        }

        return WaitForAnswerAsync(source.Task, cancellationToken);
    }

    private static async Task<bool> WaitForAnswerAsync(Task<MetricReader.WaiterResult> answer, CancellationToken cancellationToken) =>
        (await answer.WaitAsync(cancellationToken).ConfigureAwait(false)).IsCompleted;

    private long NowMs() => (long)this.time.GetElapsedTime(0).TotalMilliseconds;

    private void OnTimer()
    {
        var now = this.NowMs();
        lock (this.gate)
        {
            if (this.timerDueMs > now)
            {
                // Early (the clock's milliseconds against the timer's): wait for the rest.
                this.timer.Change(Runtime.Deadlines.Remaining(this.timerDueMs, now), Timeout.InfiniteTimeSpan);

                return;
            }

            this.timerDueMs = long.MaxValue;
        }

        this.Raise(MetricReader.Event.NewTimerFired(now), runHere: true);
    }

    /// <summary>
    /// Steps the machine with <paramref name="e"/>, then carries out its commands: collections outside the lock, on
    /// this thread when <paramref name="runHere"/>, otherwise on the thread pool.
    /// </summary>
    private void Raise(MetricReader.Event e, bool runHere)
    {
        FSharpList<MetricReader.Command> commands;
        bool abandonRun;
        lock (this.gate)
        {
            var (next, produced) = MetricReader.step(this.settings, this.state, e);
            // Stopped at a shutdown deadline while a collection still runs: the machine no longer waits for it.
            abandonRun = !MetricReader.isStopped(this.state) && MetricReader.isStopped(next) && this.runningExports > 0;
            this.state = next;
            commands = produced;
            this.CarryQuick(commands);
            for (var c = commands; !c.IsEmpty; c = c.Tail)
            {
                if (c.Head.IsCollectAndExport)
                {
                    this.runningExports++;
                }
            }

            this.ReleaseIfStopped();
        }

        if (abandonRun)
        {
            // Shutdown has returned: the run must not go on sending past it, nor keep disposal waiting until its own
            // deadline (none, with a timeout of 0). Its export counts what it had as dropped when it ends.
            this.runCancel.Cancel();
        }

        for (var c = commands; !c.IsEmpty; c = c.Tail)
        {
            if (c.Head is MetricReader.Command.CollectAndExport run)
            {
                if (runHere)
                {
                    this.RunReporting(run);
                }
                else
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static r => r.Reader.RunReporting(r.Run), (Reader: this, Run: run), preferLocal: false);
                }
            }
        }
    }

    /// <summary>The timer and waiter commands, carried out under the lock (they only set values), in the order given.</summary>
    private void CarryQuick(FSharpList<MetricReader.Command> commands)
    {
        for (var c = commands; !c.IsEmpty; c = c.Tail)
        {
            switch (c.Head)
            {
                case MetricReader.Command.ArmTimer arm:
                    this.timerDueMs = arm.atMs;
                    this.timer.Change(Runtime.Deadlines.Remaining(arm.atMs, this.NowMs()), Timeout.InfiniteTimeSpan);
                    break;
                case MetricReader.Command.CompleteWaiter complete:
                    this.Answer(complete.waiterId, complete.result);
                    break;
            }
        }
    }

    /// <summary>Completes a waiter's task, or keeps its answer for the call that has yet to make one. Under the lock.</summary>
    private void Answer(long waiterId, MetricReader.WaiterResult result)
    {
        if (!this.waiters.Remove(waiterId, out var source))
        {
            return;
        }

        if (source is null)
        {
            this.answered[waiterId] = result;
        }
        else
        {
            source.TrySetResult(result);
        }
    }

    /// <summary>Once the machine has stopped and no run is left: waiters it can no longer answer are told so, and disposal may end.</summary>
    private void ReleaseIfStopped()
    {
        if (!MetricReader.isStopped(this.state) || this.runningExports != 0)
        {
            return;
        }

        // Waiters the machine can no longer answer (a flush queued behind the shutdown) are told so.
        foreach (var id in this.waiters.Keys.ToArray())
        {
            this.Answer(id, MetricReader.WaiterResult.AlreadyShutDown);
        }

        this.timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        this.idle.TrySetResult();
    }

    /// <summary>
    /// A collection whose unexpected exception is reported, not thrown: on the pool or the timer's thread it would end
    /// the process, and a flush's caller is answered by the machine, not by an exception of the run.
    /// </summary>
    private void RunReporting(MetricReader.Command.CollectAndExport run)
    {
        try
        {
            this.Run(run.exportId, run.trigger, run.deadlineMs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            this.report($"A metrics collection could not run: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Starts one collection on this thread; its end is reported at once when it finished synchronously.</summary>
    private void Run(long exportId, MetricReader.Trigger trigger, long deadlineMs)
    {
        // Runs never overlap: the source of the previous run is free again unless its deadline fired.
        if (!this.runCancel.TryReset())
        {
            this.runCancel.Dispose();
            this.runCancel = new CancellationTokenSource(Timeout.InfiniteTimeSpan, this.time);
        }

        var cancel = this.runCancel;
        var remaining = Runtime.Deadlines.Remaining(deadlineMs, this.NowMs());
        if (remaining != Timeout.InfiniteTimeSpan)
        {
            cancel.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
        }

        Task running;
        try
        {
            running = this.collectAndExport(trigger, cancel.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            running = Task.FromException(e);
        }

        if (running.IsCompleted)
        {
            this.Finish(exportId, running);
        }
        else
        {
            _ = this.FinishLaterAsync(exportId, running);
        }
    }

    private async Task FinishLaterAsync(long exportId, Task running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Reported by Finish from the task's state.
        }

        this.Finish(exportId, running);
    }

    private void Finish(long exportId, Task running)
    {
        // The deadline no longer applies; the source is reset by the next run.
        this.runCancel.CancelAfter(Timeout.InfiniteTimeSpan);
        if (running.Exception?.InnerException is { } e)
        {
            this.report($"A metrics collection threw {e.GetType().Name}: {e.Message}");
        }
        else if (running.IsCanceled)
        {
            this.report("A metrics collection was cancelled at its deadline.");
        }

        lock (this.gate)
        {
            this.runningExports--;
        }

        this.Raise(MetricReader.Event.NewExportCompleted(exportId, this.NowMs()), runHere: true);
    }
}

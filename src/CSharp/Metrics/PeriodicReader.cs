using System.Collections.Concurrent;
using Otlp.Core;
using Otlp.Runtime;

namespace Otlp.Metrics;

/// <summary>
/// Runs the core's periodic reader (<see cref="MetricReader"/>) on one background task and carries out its commands:
/// collect-and-export runs, the timer, flush and shutdown waiters. Holds no policy of its own: when to collect, how
/// runs never overlap and when waiters complete are the machine's decisions.
/// </summary>
internal sealed class PeriodicReader : IAsyncDisposable
{
    private readonly MetricReader.Settings settings;
    private readonly Func<MetricReader.Trigger, CancellationToken, Task> collectAndExport;
    private readonly Action<string> report;
    private readonly TimeProvider time;
    private readonly ConcurrentQueue<MetricReader.Event> events = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<MetricReader.WaiterResult>> waiters = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly Task loop;
    private MetricReader.State state;
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
        var (initial, commands) = MetricReader.start(settings, this.NowMs());
        this.state = initial;
        this.Carry(commands);
        this.loop = Task.Run(this.RunAsync);
    }

    /// <summary>The collections started so far.</summary>
    public long CollectionsStarted => MetricReader.collectionsStarted(Volatile.Read(ref this.state));

    /// <summary>Collects and exports now (or right after the running collection); true when that export finished in time.</summary>
    public Task<bool> ForceFlushAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        this.WaitAsync(timeout, flush: true, cancellationToken);

    /// <summary>The final collection and export, then no more; true when it finished in time.</summary>
    public Task<bool> ShutdownAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        this.WaitAsync(timeout, flush: false, cancellationToken);

    /// <summary>Shuts down (within the export timeout) unless already done, and waits for the loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!MetricReader.isStopped(Volatile.Read(ref this.state)) && !this.loop.IsCompleted)
        {
            await this.ShutdownAsync(TimeSpan.FromMilliseconds(this.settings.ExportTimeoutMs), CancellationToken.None).ConfigureAwait(false);
        }

        await this.loop.ConfigureAwait(false);
        this.wake.Dispose();
    }

    private async Task<bool> WaitAsync(TimeSpan timeout, bool flush, CancellationToken cancellationToken)
    {
        if (this.loop.IsCompleted)
        {
            return false;
        }

        var id = Interlocked.Increment(ref this.nextWaiterId);
        var waiter = new TaskCompletionSource<MetricReader.WaiterResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        this.waiters[id] = waiter;
        var now = this.NowMs();
        var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : now + (long)timeout.TotalMilliseconds;
        this.events.Enqueue(flush
            ? MetricReader.Event.NewForceFlush(id, now, deadline)
            : MetricReader.Event.NewShutdown(id, now, deadline));
        this.wake.Release();
        var result = await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return result.IsCompleted;
    }

    private long NowMs() => (long)this.time.GetElapsedTime(0).TotalMilliseconds;

    private async Task RunAsync()
    {
        while (true)
        {
            while (this.events.TryDequeue(out var e))
            {
                this.Apply(e);
            }

            var now = this.NowMs();
            if (this.timerDueMs <= now)
            {
                this.timerDueMs = long.MaxValue;
                this.Apply(MetricReader.Event.NewTimerFired(now));
                continue;
            }

            if (MetricReader.isStopped(this.state) && Volatile.Read(ref this.runningExports) == 0 && this.events.IsEmpty)
            {
                // Waiters the machine can no longer answer (a flush queued behind the shutdown) are told so.
                foreach (var id in this.waiters.Keys)
                {
                    if (this.waiters.TryRemove(id, out var waiter))
                    {
                        waiter.TrySetResult(MetricReader.WaiterResult.AlreadyShutDown);
                    }
                }

                return;
            }

            var wait = this.timerDueMs == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(this.timerDueMs - now);
            await this.WaitForWorkAsync(wait).ConfigureAwait(false);
        }
    }

    private Task WaitForWorkAsync(TimeSpan wait) => WakeSignal.WaitAsync(this.wake, wait, this.time);

    private void Apply(MetricReader.Event e)
    {
        var (next, commands) = MetricReader.step(this.settings, this.state, e);
        Volatile.Write(ref this.state, next);
        this.Carry(commands);
    }

    private void Carry(IEnumerable<MetricReader.Command> commands)
    {
        foreach (var command in commands)
        {
            switch (command)
            {
                case MetricReader.Command.CollectAndExport run:
                    this.Start(run.exportId, run.trigger, run.deadlineMs);
                    break;
                case MetricReader.Command.ArmTimer arm:
                    this.timerDueMs = arm.atMs;
                    break;
                case MetricReader.Command.CompleteWaiter complete:
                    if (this.waiters.TryRemove(complete.waiterId, out var waiter))
                    {
                        waiter.TrySetResult(complete.result);
                    }

                    break;
            }
        }
    }

    private void Start(long exportId, MetricReader.Trigger trigger, long deadlineMs)
    {
        Interlocked.Increment(ref this.runningExports);
        _ = Task.Run(async () =>
        {
            var remaining = deadlineMs == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, deadlineMs - this.NowMs()));
            using var cancel = remaining == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(remaining, this.time);
            try
            {
                await this.collectAndExport(trigger, cancel.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                this.report($"A metrics collection threw {e.GetType().Name}: {e.Message}");
            }

            this.events.Enqueue(MetricReader.Event.NewExportCompleted(exportId, this.NowMs()));
            Interlocked.Decrement(ref this.runningExports);
            try
            {
                this.wake.Release();
            }
            catch (ObjectDisposedException)
            {
                // The loop saw the run end and stopped: nobody is left to wake.
            }
        });
    }
}

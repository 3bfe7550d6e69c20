namespace Otlp.Runtime;

/// <summary>
/// The send slots of a processor that encodes ahead: at most the given number of requests on the wire at once. A
/// release hands its slot straight to the oldest waiting attempt and resumes that attempt on the releasing thread,
/// so the next request starts as the one before it ends.
/// </summary>
/// <remarks>
/// Replaces a <see cref="SemaphoreSlim"/>, whose waiters always resume on the thread pool: every request then went
/// through one more hand-off between pool threads before it was sent, about a sixth of the end-to-end time over
/// HTTP on two cores (docs/benchmarks.md, tenth session).
/// </remarks>
internal sealed class SendSlots
{
    private static readonly Task<bool> Taken = Task.FromResult(true);
    private static readonly Task<bool> Refused = Task.FromResult(false);
    private readonly object gate = new();
    private readonly Queue<Waiter> waiting = new();
    private int free;

    /// <summary>Slots for <paramref name="count"/> requests at once (at least 1).</summary>
    public SendSlots(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        this.free = count;
        this.Count = count;
    }

    /// <summary>How many requests may be on the wire at once.</summary>
    public int Count { get; }

    /// <summary>Slots free now (for the tests).</summary>
    internal int Free
    {
        get
        {
            lock (this.gate)
            {
                return this.free;
            }
        }
    }

    /// <summary>Takes a free slot at once; false, taking nothing, when none is free.</summary>
    public bool TryTake()
    {
        lock (this.gate)
        {
            if (this.free == 0)
            {
                return false;
            }

            this.free--;
            return true;
        }
    }

    /// <summary>
    /// A slot, in the order of asking: true once the caller holds one (resumed on the thread that released it),
    /// false when <paramref name="token"/> fired first (also before the call), holding none.
    /// </summary>
    public Task<bool> TakeAsync(CancellationToken token)
    {
        if (token.IsCancellationRequested)
        {
            return Refused;
        }

        Waiter waiter;
        lock (this.gate)
        {
            if (this.free > 0)
            {
                this.free--;
                return Taken;
            }

            waiter = new Waiter();
            this.waiting.Enqueue(waiter);
        }

        // A waiter whose token fires stays queued, completed: a release passes over it.
        waiter.Registration = token.UnsafeRegister(static state => ((Waiter)state!).TrySetResult(false), waiter);
        return waiter.Task;
    }

    /// <summary>
    /// Gives a slot back: to the oldest waiter still waiting, whose continuation (its send) runs on this thread
    /// before this returns, or to the free slots.
    /// </summary>
    public void Release()
    {
        while (true)
        {
            Waiter? next;
            lock (this.gate)
            {
                if (!this.waiting.TryDequeue(out next))
                {
                    this.free++;
                    return;
                }
            }

            // Outside the lock: the waiter may release or take slots itself as it goes on.
            if (next.TrySetResult(true))
            {
                next.Registration.Dispose();
                return;
            }
        }
    }

    // Completes synchronously on the thread that sets its result (no RunContinuationsAsynchronously): that is the
    // point of the hand-off.
    private sealed class Waiter() : TaskCompletionSource<bool>(TaskCreationOptions.None)
    {
        public CancellationTokenRegistration Registration { get; set; }
    }
}

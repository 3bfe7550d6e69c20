namespace Otlp.Runtime;

/// <summary>
/// What one export attempt of the batch processor is given: its cancellation, its time, and its turn on the wire.
/// The attempt prepares (encodes) its request, then calls <see cref="BeginSendAsync"/> before it sends. When the
/// processor encodes ahead, that waits for one of its send slots (the other attempts' requests still on the wire),
/// and the attempt's time starts only then: waiting behind a slow send must not use up the time of the next.
/// </summary>
internal sealed class ExportTurn
{
    private readonly SendSlots? sendSlots;
    private readonly CancellationTokenSource? cancel;
    private readonly CancellationToken token;
    private readonly Func<TimeSpan>? limitFromNow;
    private int holdsSlot;

    /// <summary>An attempt that sends when it is ready, whose time has started: <paramref name="token"/> fires at <paramref name="limit"/>.</summary>
    /// <param name="token">The attempt's cancellation: its time, and shutdown's deadline.</param>
    /// <param name="limit">The time the attempt may take (<see cref="Timeout.InfiniteTimeSpan"/> for no limit).</param>
    public ExportTurn(CancellationToken token, TimeSpan limit)
    {
        this.token = token;
        this.Limit = limit;
    }

    /// <summary>
    /// An attempt that sends in one of <paramref name="sendSlots"/>; its time, <paramref name="limitFromNow"/> when
    /// it gets one, starts then (<paramref name="cancel"/> must have no timer running before).
    /// </summary>
    public ExportTurn(CancellationTokenSource cancel, SendSlots sendSlots, Func<TimeSpan> limitFromNow)
    {
        this.cancel = cancel;
        this.token = cancel.Token;
        this.sendSlots = sendSlots;
        this.limitFromNow = limitFromNow;
        this.Limit = Timeout.InfiniteTimeSpan;
    }

    /// <summary>Fires when the attempt's time is up (once its send began) or shutdown's deadline passed.</summary>
    public CancellationToken Token => this.token;

    /// <summary>The time the attempt may take from the start of its send; infinite for no limit.</summary>
    public TimeSpan Limit { get; private set; }

    /// <summary>Whether the attempt waits for a send slot before it sends (the processor encodes ahead).</summary>
    public bool WaitsForSlot => this.sendSlots is not null;

    /// <summary>Whether the attempt waits for the one send slot there is: its request is the only one on the wire.</summary>
    public bool SendsAlone => this.sendSlots?.Count == 1;

    /// <summary>
    /// Waits for the attempt's turn to send and starts its time; false when it was cancelled while waiting (shutdown's
    /// deadline), and nothing must be sent. Completes at once when no slot is needed or one is free.
    /// </summary>
    public ValueTask<bool> BeginSendAsync()
    {
        if (this.sendSlots is null)
        {
            return new ValueTask<bool>(true);
        }

        return this.sendSlots.TryTake() ? new ValueTask<bool>(this.Start()) : this.WaitForSlotAsync(this.sendSlots);
    }

    /// <summary>
    /// Gives the slot back, if the attempt holds one; the processor calls it when the attempt ends. The next attempt
    /// waiting for a slot starts its send on this thread before this returns (<see cref="SendSlots.Release"/>).
    /// </summary>
    public void End()
    {
        if (Interlocked.Exchange(ref this.holdsSlot, 0) == 1)
        {
            this.sendSlots!.Release();
        }
    }

    private async ValueTask<bool> WaitForSlotAsync(SendSlots slots) =>
        await slots.TakeAsync(this.token).ConfigureAwait(false) && this.Start();

    private bool Start()
    {
        Volatile.Write(ref this.holdsSlot, 1);
        this.Limit = this.limitFromNow!();
        if (this.Limit != Timeout.InfiniteTimeSpan)
        {
            this.cancel!.CancelAfter(this.Limit);
        }

        return true;
    }
}

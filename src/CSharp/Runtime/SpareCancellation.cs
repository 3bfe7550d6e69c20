namespace Otlp.Runtime;

/// <summary>
/// Cancellation sources for exports one after another (or two at a time when encoding ahead): the source of an export
/// that ended without firing is reset and kept for the next, so that exports make no source, timer or registration
/// list of their own. A source that fired or was cancelled is never handed on.
/// </summary>
internal sealed class SpareCancellation(TimeProvider time) : IDisposable
{
    private CancellationTokenSource? spare;

    /// <summary>A source with no timer running: the one an ended export left, or a new one on the clock given.</summary>
    public CancellationTokenSource Take()
    {
        if (Interlocked.Exchange(ref this.spare, null) is { } kept)
        {
            // Shutdown cancels the exports it finds, and may have found this one as it ended.
            if (!kept.IsCancellationRequested)
            {
                return kept;
            }

            kept.Dispose();
        }

        return new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
    }

    /// <summary>
    /// Keeps an ended export's source for the next when <paramref name="reuse"/> and it can be reset (never cancelled,
    /// its timer never fired: <see cref="CancellationTokenSource.TryReset"/> checks both and drops what was still
    /// registered on it); disposes it otherwise. Nothing may cancel it through its export any more.
    /// </summary>
    public void Return(CancellationTokenSource source, bool reuse)
    {
        if (!reuse || !source.TryReset() || Interlocked.CompareExchange(ref this.spare, source, null) is not null)
        {
            source.Dispose();
        }
    }

    /// <summary>Disposes the kept source, if any; one returned later with <c>reuse</c> false is disposed then.</summary>
    public void Dispose() => Interlocked.Exchange(ref this.spare, null)?.Dispose();
}

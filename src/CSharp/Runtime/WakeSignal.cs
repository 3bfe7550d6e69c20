namespace Otlp.Runtime;

/// <summary>How the background loops (batch processor, periodic metric reader) sleep between steps.</summary>
internal static class WakeSignal
{
    /// <summary>
    /// Waits until <paramref name="wake"/> is released or <paramref name="wait"/> has passed on
    /// <paramref name="time"/>'s clock, whichever comes first; <see cref="Timeout.InfiniteTimeSpan"/> waits for the
    /// release only. A release consumed by the wait is not lost: the caller's next step sees its work.
    /// </summary>
    public static async Task WaitAsync(SemaphoreSlim wake, TimeSpan wait, TimeProvider time)
    {
        if (wait == Timeout.InfiniteTimeSpan)
        {
            await wake.WaitAsync().ConfigureAwait(false);
            return;
        }

        using var cancel = new CancellationTokenSource();
        var delay = Task.Delay(wait, time, cancel.Token);
        var woken = wake.WaitAsync(cancel.Token);
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        cancel.Cancel();
        try
        {
            await woken.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

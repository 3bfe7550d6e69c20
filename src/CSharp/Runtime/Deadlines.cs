namespace Otlp.Runtime;

/// <summary>
/// Turns the state machines' deadlines (milliseconds, <see cref="long.MaxValue"/> for none) into waits the runtime's
/// timers accept: they take at most about 49 days, and an infinite wait is <see cref="Timeout.InfiniteTimeSpan"/>.
/// </summary>
internal static class Deadlines
{
    // Timers, Task.Delay and CancelAfter refuse more than uint.MaxValue - 1 milliseconds; a wait that long is no limit.
    private const long LongestTimerMs = uint.MaxValue - 1L;

    /// <summary>A configured timeout as the machines keep it: <see cref="long.MaxValue"/> when infinite.</summary>
    public static long ToMilliseconds(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)timeout.TotalMilliseconds;

    /// <summary>
    /// The deadline <paramref name="timeout"/> after <paramref name="nowMs"/> on the machines' timeline:
    /// <see cref="long.MaxValue"/> for an infinite timeout, never wrapping into the past (<c>Deadline.after</c>).
    /// </summary>
    public static long After(long nowMs, TimeSpan timeout) => Core.Deadline.after(nowMs, ToMilliseconds(timeout));

    /// <summary>A timeout of <paramref name="milliseconds"/>: infinite for <see cref="long.MaxValue"/> or beyond a timer's reach.</summary>
    public static TimeSpan ToTimeSpan(long milliseconds) =>
        milliseconds > LongestTimerMs ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, milliseconds));

    /// <summary>
    /// How long a disposal waits, once its shutdown has returned, for the work the shutdown cancelled or gave up on
    /// to end (work held by the application's code that heeds no cancellation is left behind after it).
    /// </summary>
    public static readonly TimeSpan DisposeGrace = TimeSpan.FromSeconds(1);

    /// <summary>Whether <paramref name="task"/> ends, however, within <paramref name="grace"/> on <paramref name="time"/>.</summary>
    public static async Task<bool> EndsWithin(Task task, TimeSpan grace, TimeProvider time)
    {
        try
        {
            await task.WaitAsync(grace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return task.IsCompleted;
        }
        catch
        {
            // Ended with an error or cancelled: ended. The caller sees the outcome in the task itself.
        }

        return true;
    }

    /// <summary>What is left until <paramref name="deadlineMs"/> at <paramref name="nowMs"/>: infinite for no deadline, never negative.</summary>
    public static TimeSpan Remaining(long deadlineMs, long nowMs) =>
        deadlineMs == long.MaxValue ? Timeout.InfiniteTimeSpan : ToTimeSpan(Math.Max(0, deadlineMs - nowMs));
}

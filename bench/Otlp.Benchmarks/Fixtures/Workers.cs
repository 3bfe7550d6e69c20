namespace Otlp.Benchmarks.Fixtures;

/// <summary>Runs a benchmark's operations on one thread, or split evenly over several running at once.</summary>
public static class Workers
{
    /// <summary>
    /// Runs <paramref name="operation"/> <paramref name="operations"/> times, numbered 0 to operations - 1: in a
    /// plain loop for one thread, otherwise split among <paramref name="threads"/> threads at once.
    /// </summary>
    public static void Run<T>(int threads, int operations, T target, Action<T, int> operation)
    {
        if (threads == 1)
        {
            for (var i = 0; i < operations; i++)
            {
                operation(target, i);
            }

            return;
        }

        var perThread = operations / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            for (var i = 0; i < perThread; i++)
            {
                operation(target, (thread * perThread) + i);
            }
        });
    }
}

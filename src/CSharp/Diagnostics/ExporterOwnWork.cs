using System.Diagnostics;

namespace Otlp.Diagnostics;

/// <summary>
/// Marks the exporter's own requests, so that the activities the runtime starts for them (HTTP requests, their
/// connections, sockets, name lookups, gRPC calls) are not recorded by an <see cref="Otlp.Tracing.OtlpTracer"/>.
/// A tracer listening to those sources would otherwise export a span for every export, whose export would make
/// the next: a loop that never goes quiet. Within a mark there is also no current activity, so a direct export
/// made inside an application's span does not carry that span's trace context to the collector.
/// </summary>
/// <remarks>
/// The mark is an async local, so it follows the request into the continuations and connection set-up that run
/// on other threads. The tracer asks on every activity it samples; a count of requests in flight anywhere answers
/// without reading the async local while none is being sent, which is almost always. The batch export loop's
/// thread is marked once for good (<see cref="MarkCurrentThread"/>), so that its sends only count themselves: a
/// change of an async local allocates, and a batch's request allocates no more than it must.
/// </remarks>
internal static class ExporterOwnWork
{
    // An object rather than a bool: setting an async local to the value it holds allocates nothing only when the
    // two are the same reference, and a bool is boxed anew on every set.
    private static readonly object MarkValue = new();
    private static readonly AsyncLocal<object?> Marked = new();
    private static int inFlight;

    /// <summary>True when the calling flow is one of the exporter's own requests.</summary>
    public static bool IsCurrent => Volatile.Read(ref inFlight) != 0 && Marked.Value is not null;

    /// <summary>
    /// Marks the calling thread, and every flow that starts from it, for good: for threads that do nothing but
    /// export. Requests sent from it still open a scope (<see cref="Begin"/>), which then only counts them.
    /// </summary>
    public static void MarkCurrentThread() => Marked.Value = MarkValue;

    /// <summary>
    /// Marks the calling flow until the scope is disposed, and clears the current activity within it. Dispose it
    /// when the request has ended (after awaiting it), not when its task is returned.
    /// </summary>
    public static Scope Begin()
    {
        Interlocked.Increment(ref inFlight);
        var scope = new Scope(Activity.Current, markedHere: Marked.Value is null);
        if (scope.MarkedHere)
        {
            Marked.Value = MarkValue;
        }

        if (scope.PreviousActivity is not null)
        {
            Activity.Current = null;
        }

        return scope;
    }

    /// <summary>An open mark; disposing it restores the flow's previous state.</summary>
    public readonly struct Scope : IDisposable
    {
        internal Scope(Activity? previousActivity, bool markedHere)
        {
            this.PreviousActivity = previousActivity;
            this.MarkedHere = markedHere;
        }

        /// <summary>The activity current when the mark was made.</summary>
        internal Activity? PreviousActivity { get; }

        /// <summary>Whether this scope made the mark (the flow was not already marked).</summary>
        internal bool MarkedHere { get; }

        /// <summary>Ends the mark.</summary>
        public void Dispose()
        {
            if (this.MarkedHere)
            {
                Marked.Value = null;
            }

            if (this.PreviousActivity is not null)
            {
                Activity.Current = this.PreviousActivity;
            }

            Interlocked.Decrement(ref inFlight);
        }
    }
}

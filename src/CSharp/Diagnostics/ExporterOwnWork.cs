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
/// on other threads. The tracer asks on every activity it samples; a count of marks open anywhere answers without
/// reading the async local while no request is being sent, which is almost always.
/// </remarks>
internal static class ExporterOwnWork
{
    private static readonly AsyncLocal<bool> Marked = new();
    private static int open;

    /// <summary>True when the calling flow is one of the exporter's own requests.</summary>
    public static bool IsCurrent => Volatile.Read(ref open) != 0 && Marked.Value;

    /// <summary>
    /// Marks the calling flow until the scope is disposed, and clears the current activity within it. Dispose it
    /// when the request has ended (after awaiting it), not when its task is returned.
    /// </summary>
    public static Scope Begin()
    {
        Interlocked.Increment(ref open);
        var scope = new Scope(Activity.Current, Marked.Value);
        Marked.Value = true;
        if (scope.PreviousActivity is not null)
        {
            Activity.Current = null;
        }

        return scope;
    }

    /// <summary>An open mark; disposing it restores the flow's previous state.</summary>
    public readonly struct Scope : IDisposable
    {
        internal Scope(Activity? previousActivity, bool wasMarked)
        {
            this.PreviousActivity = previousActivity;
            this.WasMarked = wasMarked;
        }

        /// <summary>The activity current when the mark was made.</summary>
        internal Activity? PreviousActivity { get; }

        /// <summary>Whether the flow was already marked (a request made while sending another).</summary>
        internal bool WasMarked { get; }

        /// <summary>Ends the mark.</summary>
        public void Dispose()
        {
            Marked.Value = this.WasMarked;
            if (this.PreviousActivity is not null)
            {
                Activity.Current = this.PreviousActivity;
            }

            Interlocked.Decrement(ref open);
        }
    }
}

using Otlp.Transport;

namespace Otlp.Runtime;

/// <summary>
/// A thread of an exporter's own that sends its batch loop's requests blocking, one at a time, in the order handed
/// over, while the loop encodes the next batch. Without it such a request is sent asynchronously from the pool (the
/// loop must not block while it encodes ahead): its connection's socket turns non-blocking, every wait of the
/// request (room in the socket's buffer, the answer) goes from the runtime's socket thread to a pool worker, and the
/// worker then spins for more work on a core the application, the encoding or a local collector wants. Here the
/// request is written and its answer read with blocking calls, and the thread sleeps between requests without
/// spinning. The attempt's continuation (the answer's interpretation, the send slot's release, the hand-off of the
/// next request) runs on this thread, so a request already encoded is taken as soon as the one before it ends.
/// </summary>
internal sealed class BlockingSendThread : IDisposable
{
    private readonly object gate = new();
    private readonly Queue<Send> queue = new();
    private readonly string name;
    private Thread? thread;
    private bool disposed;

    /// <summary>A thread named <paramref name="name"/>, started by the first send handed to it.</summary>
    public BlockingSendThread(string name)
    {
        this.name = name;
    }

    /// <summary>
    /// Hands a blocking send of <paramref name="payload"/> through <paramref name="transport"/> to the thread: its
    /// result (continuations run on the thread), or null, with nothing sent, once this is disposed. The token ends the
    /// send as it ends <see cref="IExportTransport.TrySendBlocking"/>.
    /// </summary>
    public Task<TransportResult>? TrySend(IExportTransport transport, OutgoingPayload payload, CancellationToken cancellationToken)
    {
        var send = new Send(transport, payload, cancellationToken);
        lock (this.gate)
        {
            if (this.disposed)
            {
                return null;
            }

            this.queue.Enqueue(send);
            if (this.thread is null)
            {
                this.thread = new Thread(this.Run) { IsBackground = true, Name = this.name };
                this.thread.Start();
            }
            else
            {
                Monitor.Pulse(this.gate);
            }
        }

        return send.Done.Task;
    }

    /// <summary>
    /// Ends the thread once the sends already handed over are done (they end by their own tokens); later sends are
    /// refused. Does not wait for the thread.
    /// </summary>
    public void Dispose()
    {
        lock (this.gate)
        {
            this.disposed = true;
            Monitor.Pulse(this.gate);
        }
    }

    private void Run()
    {
        // Its requests are the exporter's own: never recorded as the application's.
        Diagnostics.ExporterOwnWork.MarkCurrentThread();
        while (true)
        {
            Send next;
            lock (this.gate)
            {
                while (this.queue.Count == 0 && !this.disposed)
                {
                    Monitor.Wait(this.gate);
                }

                if (!this.queue.TryDequeue(out next!))
                {
                    return;
                }
            }

            next.Run();
        }
    }

    /// <summary>One send handed to the thread, and its result.</summary>
    private sealed class Send(IExportTransport transport, OutgoingPayload payload, CancellationToken cancellationToken)
    {
        // Continuations run on the sending thread, on purpose (see the class's remarks).
        public TaskCompletionSource<TransportResult> Done { get; } = new();

        public void Run()
        {
            try
            {
                var result = transport.TrySendBlocking(payload, cancellationToken, out var sent)
                    ? sent
                    : transport.SendAsync(payload, Timeout.InfiniteTimeSpan, cancellationToken).AsTask().GetAwaiter().GetResult();
                this.Done.SetResult(result);
            }
            catch (Exception e)
            {
                // A transport throws only for a programmer's error: the attempt sees it as it would have inline.
                this.Done.SetException(e);
            }
        }
    }
}

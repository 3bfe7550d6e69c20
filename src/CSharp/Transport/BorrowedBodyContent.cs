using System.Net;

namespace Otlp.Transport;

/// <summary>
/// A request body over memory that goes back to a pool once the send returns. A server may answer before it has
/// read the whole body, and the handler may then still be copying it; <see cref="WhenCopiedAsync"/> lets the
/// sender wait for that copy to end before it gives the memory back, so a later request can never be sent with
/// bytes of the next one.
/// </summary>
internal sealed class BorrowedBodyContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> body;

    private readonly int pieceLength;

    // Guarded by a lock on this instance, which no one else sees (a request's content, made and disposed by one send):
    // a request then allocates no lock object of its own.
    private int copies;

    // Made only when someone waits while a copy runs, which is rare: a handler usually copies before answering.
    private TaskCompletionSource? copied;

    /// <summary>
    /// A body of <paramref name="body"/>, which must stay valid until <see cref="WhenCopiedAsync"/> completes, written
    /// to the connection in one piece.
    /// </summary>
    public BorrowedBodyContent(ReadOnlyMemory<byte> body)
        : this(body, int.MaxValue)
    {
    }

    /// <summary>
    /// A body of <paramref name="body"/> written to the connection in pieces of <paramref name="pieceLength"/> bytes
    /// (the last one shorter), each as soon as the one before is taken (see <see cref="FramedMessageHandler.Http2PieceLength"/>).
    /// </summary>
    public BorrowedBodyContent(ReadOnlyMemory<byte> body, int pieceLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pieceLength);
        this.body = body;
        this.pieceLength = pieceLength;
    }

    /// <summary>The memory of the body.</summary>
    public ReadOnlyMemory<byte> Body => this.body;

    /// <summary>
    /// Completes when no copy of the body is running: at once when the handler never started one, otherwise when
    /// it ended (sent, failed or aborted), or when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public Task WhenCopiedAsync(CancellationToken cancellationToken)
    {
        lock (this)
        {
            if (this.copies == 0)
            {
                return Task.CompletedTask;
            }

            this.copied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return this.copied.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>How long a send waits, after its response, for the handler to stop copying the request body.</summary>
    internal static readonly TimeSpan CopyGrace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Waits (up to <see cref="CopyGrace"/>) for the handler to stop copying the body; true when it did, so the
    /// body's memory may go back to its pool, false when it is kept out of the pool for good.
    /// </summary>
    public async ValueTask<bool> WaitForCopyOrQuarantineAsync()
    {
        if (this.WhenCopiedAsync(CancellationToken.None).IsCompleted)
        {
            // The usual case: the handler copied the body before answering; no grace timer is needed.
            return true;
        }

        try
        {
            using var grace = new CancellationTokenSource(CopyGrace);
            await this.WhenCopiedAsync(grace.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            // Still copying: waiting longer would hold the export, so the memory is kept out of the pool instead
            // (left to the garbage collector once the copy lets go of it).
            Export.PooledBuffer.Quarantine(this.body);
            return false;
        }
    }

    /// <inheritdoc />
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        this.SerializeToStreamAsync(stream, context, CancellationToken.None);

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        this.CopyStarted();
        try
        {
            for (var rest = this.body; !rest.IsEmpty;)
            {
                var piece = rest[..Math.Min(this.pieceLength, rest.Length)];
                await stream.WriteAsync(piece, cancellationToken).ConfigureAwait(false);
                rest = rest[piece.Length..];
            }
        }
        finally
        {
            this.CopyEnded();
        }
    }

    /// <inheritdoc />
    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        this.CopyStarted();
        try
        {
            for (var rest = this.body.Span; !rest.IsEmpty;)
            {
                var piece = rest[..Math.Min(this.pieceLength, rest.Length)];
                stream.Write(piece);
                rest = rest[piece.Length..];
            }
        }
        finally
        {
            this.CopyEnded();
        }
    }

    private void CopyStarted()
    {
        lock (this)
        {
            this.copies++;
        }
    }

    private void CopyEnded()
    {
        TaskCompletionSource? waiting = null;
        lock (this)
        {
            if (--this.copies == 0)
            {
                waiting = this.copied;
                this.copied = null;
            }
        }

        waiting?.TrySetResult();
    }

    /// <inheritdoc />
    protected override bool TryComputeLength(out long length)
    {
        length = this.body.Length;
        return true;
    }

    /// <inheritdoc />
    protected override Task<Stream> CreateContentReadStreamAsync() =>
        // Only a handler that reads the body itself (a logging handler, say) comes here: it gets a copy.
        Task.FromResult<Stream>(new MemoryStream(this.body.ToArray(), writable: false));
}

using System.Net;
using System.Net.Http.Headers;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// The network of the in-memory benchmarks: has each request body copied to a stream that counts it and keeps
/// none of it (as a socket handler has it copied to the connection), and answers
/// 200 with an empty protobuf body (an empty Export*ServiceResponse, full success). Both exporters pay the same
/// transport cost through it: none but their own HttpClient plumbing. Counts requests and body bytes.
/// </summary>
public sealed class DiscardingHandler : HttpMessageHandler
{
    private long requests;
    private long bytes;

    /// <summary>Requests seen so far.</summary>
    public long Requests => Interlocked.Read(ref this.requests);

    /// <summary>Body bytes seen so far, as sent (after compression, if any).</summary>
    public long Bytes => Interlocked.Read(ref this.bytes);

    /// <summary>A client on this handler that does not dispose it.</summary>
    public HttpClient CreateClient() => new(this, disposeHandler: false);

    /// <summary>Forgets the counts.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref this.requests, 0);
        Interlocked.Exchange(ref this.bytes, 0);
    }

    // The official exporter sends synchronously (HttpClient.Send), ours asynchronously: both are served. The body
    // is consumed as a socket handler consumes it, by having the content copy itself to the connection's stream
    // (HttpContent.CopyTo), here a stream that counts and discards; asking the content for a read stream instead
    // would charge a copy of the body to any content that does not keep its bytes in an array of its own.
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var sink = new CountingSink();
        request.Content?.CopyTo(sink, null, cancellationToken);
        return this.Reply(sink.Count);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await using var sink = new CountingSink();
        if (request.Content is not null)
        {
            await request.Content.CopyToAsync(sink, cancellationToken).ConfigureAwait(false);
        }

        return this.Reply(sink.Count);
    }

    private HttpResponseMessage Reply(long read)
    {
        Interlocked.Increment(ref this.requests);
        Interlocked.Add(ref this.bytes, read);
        var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    /// <summary>A write-only stream that counts what is written to it and keeps none of it.</summary>
    private sealed class CountingSink : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => this.Count;

        public override long Position
        {
            get => this.Count;
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => this.Count += count;

        public override void Write(ReadOnlySpan<byte> buffer) => this.Count += buffer.Length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            this.Count += buffer.Length;
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            this.Count += count;
            return Task.CompletedTask;
        }
    }
}

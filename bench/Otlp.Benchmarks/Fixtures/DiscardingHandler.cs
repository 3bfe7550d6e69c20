using System.Net;
using System.Net.Http.Headers;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// The network of the in-memory benchmarks: reads each request body to the end, keeps none of it, and answers
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

    // The official exporter sends synchronously (HttpClient.Send), ours asynchronously: both are served.
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        long read = 0;
        if (request.Content is not null)
        {
            using var body = request.Content.ReadAsStream(cancellationToken);
            read = Drain(body);
        }

        return this.Reply(read);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        long read = 0;
        if (request.Content is not null)
        {
            await using var body = await request.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            read = Drain(body);
        }

        return this.Reply(read);
    }

    private static long Drain(Stream body)
    {
        Span<byte> buffer = stackalloc byte[8192];
        long total = 0;
        int n;
        while ((n = body.Read(buffer)) > 0)
        {
            total += n;
        }

        return total;
    }

    private HttpResponseMessage Reply(long read)
    {
        Interlocked.Increment(ref this.requests);
        Interlocked.Add(ref this.bytes, read);
        var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }
}

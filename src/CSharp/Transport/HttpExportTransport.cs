using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Otlp.Core;
using Otlp.Export;

namespace Otlp.Transport;

/// <summary>
/// OTLP/HTTP: POSTs the encoded request (protobuf or JSON, optionally compressed) to the signal's URL.
/// </summary>
internal sealed class HttpExportTransport : IExportTransport
{
    /// <summary>Responses larger than this are not read: the OTLP exporter treats them as an error.</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    private readonly HttpClient client;
    private readonly bool ownsClient;
    private readonly Uri url;
    private readonly MediaTypeHeaderValue contentType;
    private readonly Compression compression;
    private readonly IReadOnlyList<Header> headers;

    // A User-Agent among the configured headers is sent instead of the exporter's own, as a provided one is.
    private readonly bool userAgentConfigured;
    private readonly bool canBlock;
    private TransportResult? lastEmptySuccess;
    private readonly Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>? headerProvider;
    private readonly Action<string>? reportProblem;

    public HttpExportTransport(
        HttpClient client,
        bool ownsClient,
        Uri url,
        bool json,
        Compression compression,
        IReadOnlyList<Header> headers,
        Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>? headerProvider,
        bool canBlock = false,
        Action<string>? reportProblem = null)
    {
        this.reportProblem = reportProblem;
        this.client = client ?? throw new ArgumentNullException(nameof(client));
        this.ownsClient = ownsClient;
        this.url = url ?? throw new ArgumentNullException(nameof(url));
        this.contentType = new MediaTypeHeaderValue(json ? "application/json" : "application/x-protobuf");
        this.compression = compression;
        this.headers = headers;
        this.userAgentConfigured = headers.Any(h => string.Equals(h.Name, "User-Agent", StringComparison.OrdinalIgnoreCase));
        this.headerProvider = headerProvider;
        this.canBlock = canBlock;
    }

    // The URL's user-info and query values may be credentials: shown redacted, as everywhere.
    public string Destination => $"HTTP POST {ConfigText.endpoint(this.url.AbsoluteUri)}";

    // OTLP/HTTP has no header for the client's deadline: the token alone ends the send.
    public ValueTask<TransportResult> SendAsync(OutgoingPayload payload, TimeSpan timeLeft, CancellationToken cancellationToken) =>
        this.SendCoreAsync(payload.Bytes, blocking: false, cancellationToken);

    /// <inheritdoc />
    public bool SendsBlocking => this.canBlock;

    /// <summary>
    /// Blocks only when made with <c>canBlock</c>: for a client over a <see cref="SocketsHttpHandler"/> speaking
    /// HTTP/1.1. A client given by the application may hold handlers that cannot send synchronously.
    /// </summary>
    public bool TrySendBlocking(OutgoingPayload payload, CancellationToken cancellationToken, out TransportResult result)
    {
        if (!this.SendsBlocking)
        {
            result = null!;
            return false;
        }

        // Every step runs on this thread; only a body copy the handler is still finishing (after an early answer)
        // leaves the task running, and this thread waits for it, within the copy's grace.
        var send = this.SendCoreAsync(payload.Bytes, blocking: true, cancellationToken);
        result = send.IsCompleted ? send.Result : send.AsTask().GetAwaiter().GetResult();
        return true;
    }

    /// <summary>
    /// One send. With <paramref name="blocking"/>, the request and the response are sent and read with the
    /// synchronous calls, on the calling thread.
    /// </summary>
    private async ValueTask<TransportResult> SendCoreAsync(ReadOnlyMemory<byte> payload, bool blocking, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, this.url);
        var encoding = PayloadCompression.EncodingName(this.compression);
        // A compressed body is rented too, and returned with the payload's memory below.
        var compressed = encoding is null ? default : PayloadCompression.CompressPooled(payload.Span, this.compression);
        var body = encoding is null ? payload : compressed.AsMemory();
        // The payload's memory goes back to its pool when this returns: wait for any copy of it to end first.
        var content = new BorrowedBodyContent(body);
        request.Content = content;
        request.Content.Headers.ContentType = this.contentType;
        if (encoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(encoding);
        }

        if (!this.userAgentConfigured)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", OtlpInfo.UserAgent);
        }

        for (var i = 0; i < this.headers.Count; i++)
        {
            request.Headers.TryAddWithoutValidation(this.headers[i].Name, this.headers[i].Value);
        }

        try
        {
            if (this.headerProvider is not null)
            {
                // A blocking send waits for the provider here, so the send itself stays on the calling thread.
                var (pairs, failure) = await ProvidedHeaders.AskAsync(this.headerProvider, blocking, cancellationToken).ConfigureAwait(false);
                if (failure is not null)
                {
                    return failure;
                }

                foreach (var (name, value) in pairs!)
                {
                    // Checked as configured headers are: the runtime would throw for the name, or refuse the value
                    // on every send. Skipped and said, never thrown.
                    if (Headers.Problem(name, value) is { } problem)
                    {
                        this.reportProblem?.Invoke($"The header provider's header {problem.Value}; it is not sent.");
                        continue;
                    }

                    if (!Replace(request.Headers, name, value))
                    {
                        this.reportProblem?.Invoke($"The header provider's header '{name}' {NotARequestHeader}; it is not sent.");
                    }
                }
            }

            using var response = blocking
                ? this.client.Send(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                : await this.client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            // A synchronous read of the body takes no token: the deadline aborts it by disposing the response.
            using var abortRead = blocking
                ? cancellationToken.UnsafeRegister(static r => ((HttpResponseMessage)r!).Dispose(), response)
                : default;
            // A body over the limit is not read (a hostile or broken server must not fill memory), but the status
            // still decides: a 200 with a huge body delivered the data, a 503 with one is still retried.
            var declared = response.Content.Headers.ContentLength;
            string? bodyNotRead = null;
            byte[]? read;
            try
            {
                read = declared > MaxResponseBytes
                    ? null
                    : await ReadBoundedAsync(response.Content, blocking, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is IOException or HttpRequestException or InvalidDataException)
            {
                // A body cut short, or one the application's client fails to decompress: the answer came, and its
                // status still decides (a 200 delivered the data; a retry would send it twice).
                read = [];
                bodyNotRead = $"its body could not be read ({e.Message})";
            }

            if (read is null)
            {
                bodyNotRead = declared > MaxResponseBytes
                    ? $"its body declared {declared} bytes, over the {MaxResponseBytes}-byte response limit, and was not read"
                    : $"its body exceeded the {MaxResponseBytes}-byte response limit and was not read";
                read = [];
            }

            var status = (int)response.StatusCode;
            var contentType = response.Content.Headers.ContentType?.MediaType;
            var reason = response.ReasonPhrase;
            // By value: a handler of the application's may have re-made the request (its method a new instance).
            if (status is >= 300 and <= 399 || (response.RequestMessage is { } answered && answered.Method != HttpMethod.Post))
            {
                return this.Redirect(response, status, read, contentType, reason);
            }

            if (status == 200 && read.Length == 0 && bodyNotRead is null && this.lastEmptySuccess is { } last
                && last.ContentType == contentType && last.Message == reason)
            {
                // Results are immutable and nearly every answer is this one: it is shared.
                return last;
            }

            var result = new TransportResult
            {
                Kind = TransportResultKind.Response,
                StatusCode = status,
                Body = read,
                // Only a refusal's delay is read (throttling and unavailability); a success's headers are left alone.
                RetryAfter = status is < 200 or > 299 && response.Headers.TryGetValues("Retry-After", out var values)
                    ? values.FirstOrDefault()
                    : null,
                ContentType = contentType,
                Message = reason,
                BodyNotRead = bodyNotRead,
            };
            if (status == 200 && read.Length == 0 && bodyNotRead is null)
            {
                this.lastEmptySuccess = result;
            }

            return result;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            return TransportResult.Failed(TransportResultKind.Cancelled, "The request was cancelled or timed out.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The application's client ended the request on its own (its HttpClient.Timeout): a failed attempt,
            // retried within the exporter's own deadline as a connection failure is.
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, "The HttpClient's own timeout (HttpClient.Timeout) ended the request.");
        }
        catch (HttpRequestException e)
        {
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, UnansweredRequest.Describe(e, this.url));
        }
        catch (IOException e)
        {
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A handler of the application's client failed the request in a way of its own (a resilience pipeline's
            // open circuit or its own timeout, added to every client by ConfigureHttpClientDefaults): no answer came,
            // so it is retried as a connection failure is, and never thrown to the exporter's caller.
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, HandlerFailure(e));
        }
        finally
        {
            // The response is disposed by now, which ends a copy still running (the connection cannot be reused).
            var released = await content.WaitForCopyOrQuarantineAsync().ConfigureAwait(false);
            if (released && compressed.Array is { } rented)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>What a handler's own exception says: its type (which names the policy) and its message, on one line.</summary>
    internal static string HandlerFailure(Exception e) =>
        Otlp.Core.ResponseBody.Printable(
            Otlp.Core.ResponseBody.MaxMessageChars,
            $"The HTTP client's handlers failed the request with {e.GetType().Name}: {e.Message}");

    /// <summary>Why a header is refused by <see cref="HttpRequestHeaders"/>: it is a content header.</summary>
    internal const string NotARequestHeader = "describes the body (a content header such as Content-Type), which the exporter writes";

    /// <summary>
    /// Whether <paramref name="name"/> can be a request header: <see cref="HttpRequestHeaders"/> refuses the content
    /// headers (Content-Type, Content-Encoding, ...), which describe the body the exporter writes.
    /// </summary>
    internal static bool IsRequestHeader(string name)
    {
        using var probe = new HttpRequestMessage();
        return Replace(probe.Headers, name, string.Empty);
    }

    /// <summary>Sets <paramref name="name"/> to <paramref name="value"/> alone; false, changing nothing, for a content header's name.</summary>
    private static bool Replace(HttpRequestHeaders headers, string name, string value)
    {
        try
        {
            headers.Remove(name);
        }
        catch (InvalidOperationException)
        {
            // "Misused header name": a content header.
            return false;
        }

        return headers.TryAddWithoutValidation(name, value);
    }

    /// <summary>
    /// A redirect: a 3xx answer (the exporter's own handler never follows one), or the answer to the GET an
    /// application's client re-sent a redirected POST as (after 301, 302 or 303), which never carried the data.
    /// </summary>
    private TransportResult Redirect(HttpResponseMessage response, int status, byte[] body, string? contentType, string? reason)
    {
        var sent = response.RequestMessage;
        var followedAsGet = sent is not null && sent.Method != HttpMethod.Post;
        var location = response.Headers.Location;
        return new TransportResult
        {
            Kind = TransportResultKind.Response,
            StatusCode = status,
            Body = body,
            ContentType = contentType,
            Message = reason,
            Location = location is null ? null : location.IsAbsoluteUri ? location : new Uri(this.url, location),
            RedirectedAsGetTo = followedAsGet ? sent!.RequestUri ?? this.url : null,
        };
    }

    public void Dispose()
    {
        if (this.ownsClient)
        {
            this.client.Dispose();
        }
    }

    /// <summary>
    /// Reads at most <see cref="MaxResponseBytes"/>; null when the body is longer. An empty body (the usual full
    /// success over HTTP/protobuf is a few bytes or none) costs no buffer; others are read into a pooled one.
    /// </summary>
    private static async ValueTask<byte[]?> ReadBoundedAsync(HttpContent content, bool blocking, CancellationToken cancellationToken)
    {
        var declared = content.Headers.ContentLength;
        if (declared == 0)
        {
            return [];
        }

        using var stream = blocking
            ? content.ReadAsStream(cancellationToken)
            : await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(declared is > 0 and <= MaxResponseBytes ? (int)declared.Value + 1 : 4096);
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxResponseBytes + 1));
                    buffer.AsSpan(0, count).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = blocking
                    ? stream.Read(buffer.AsSpan(count))
                    : await stream.ReadAsync(buffer.AsMemory(count), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return count == 0 ? [] : buffer.AsSpan(0, count).ToArray();
                }

                count += read;
                if (count > MaxResponseBytes)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

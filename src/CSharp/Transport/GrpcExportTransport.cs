using Grpc.Core;
using Grpc.Net.Client;
using Otlp.Core;

namespace Otlp.Transport;

/// <summary>
/// OTLP/gRPC: calls <c>Export</c> of the signal's collector service with the already encoded request as the
/// message (a marshaller over raw bytes, so nothing is re-encoded), through <c>Grpc.Net.Client</c>. Over the
/// exporter's own channel an uncompressed message goes out from the encoder's buffer, framed in place
/// (<see cref="FramedMessageHandler"/>); otherwise the client copies it into its framing buffer, compressing it when
/// asked.
/// </summary>
internal sealed class GrpcExportTransport : IExportTransport
{
    private static readonly Marshaller<EncodedRequest> RequestMarshaller = Marshallers.Create<EncodedRequest>(
        static (request, context) =>
        {
            var payload = request.Bytes;
            context.SetPayloadLength(payload.Length);
            var writer = context.GetBufferWriter();
            payload.Span.CopyTo(writer.GetSpan(payload.Length));
            writer.Advance(payload.Length);
            context.Complete();
        },
        static context => new EncodedRequest(context.PayloadAsNewBuffer()));

    private static readonly Marshaller<byte[]> ResponseMarshaller = Marshallers.Create<byte[]>(
        static bytes => bytes,
        static bytes => bytes);

    private readonly GrpcChannel channel;
    private readonly bool ownsChannel;
    private readonly bool framesInPlace;
    private readonly CallInvoker invoker;
    private readonly Method<EncodedRequest, byte[]> method;
    private readonly string? encoding;
    private readonly Metadata.Entry[] entries;
    private readonly bool userAgentConfigured;
    private readonly Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>? headerProvider;
    private readonly Action<string>? reportProblem;
    private readonly Uri? endpoint;

    /// <summary>A transport over <paramref name="channel"/> to the collector service of <paramref name="signal"/>.</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="ownsChannel">Whether disposing the transport disposes the channel.</param>
    /// <param name="framesInPlace">Whether the channel sends through a <see cref="FramedMessageHandler"/>, which takes
    /// the messages this transport offers.</param>
    /// <param name="signal">The signal, which names the service.</param>
    /// <param name="compression">The compression of each message.</param>
    /// <param name="headers">Metadata sent with every call.</param>
    /// <param name="headerProvider">More metadata, asked for before every call.</param>
    /// <param name="warn">Told of each configured header that cannot be sent as gRPC metadata (it is skipped).</param>
    /// <param name="reportProblem">Told of each header from <paramref name="headerProvider"/> skipped at a send.</param>
    /// <param name="endpoint">The configured endpoint, for the hints of a call that got no answer.</param>
    public GrpcExportTransport(
        GrpcChannel channel,
        bool ownsChannel,
        bool framesInPlace,
        Signal signal,
        Compression compression,
        IReadOnlyList<Header> headers,
        Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>? headerProvider,
        Action<string>? warn = null,
        Action<string>? reportProblem = null,
        Uri? endpoint = null)
    {
        this.channel = channel ?? throw new ArgumentNullException(nameof(channel));
        this.endpoint = endpoint;
        this.ownsChannel = ownsChannel;
        this.framesInPlace = framesInPlace;
        this.invoker = channel.CreateCallInvoker();
        this.method = new Method<EncodedRequest, byte[]>(
            MethodType.Unary, ServiceName(signal), "Export", RequestMarshaller, ResponseMarshaller);
        this.encoding = PayloadCompression.EncodingName(compression);
        this.headerProvider = headerProvider;
        this.reportProblem = reportProblem;
        var entries = new List<Metadata.Entry>(headers.Count);
        foreach (var header in headers)
        {
            if (TryEntry(header.Name, header.Value, out var entry, out var problem))
            {
                entries.Add(entry);
            }
            else
            {
                warn?.Invoke($"The header '{header.Name}' cannot be sent as gRPC metadata ({problem}); skipping it.");
            }
        }

        this.entries = [.. entries];
        this.userAgentConfigured = this.entries.Any(e => e.Key == "user-agent");
    }

    // The channel knows its host and port only; over the exporter's own channel the scheme is the configured endpoint's
    // (http or https: whether TLS is used), which an application's channel need not follow.
    public string Destination =>
        this.ownsChannel && this.endpoint is { } configured
            ? $"gRPC {configured.Scheme}://{this.channel.Target}{this.method.FullName}"
            : $"gRPC {this.channel.Target} {this.method.FullName}";

    /// <summary>The fully qualified collector service of a signal.</summary>
    public static string ServiceName(Signal signal) =>
        signal.IsTraces ? "opentelemetry.proto.collector.trace.v1.TraceService"
        : signal.IsMetrics ? "opentelemetry.proto.collector.metrics.v1.MetricsService"
        : "opentelemetry.proto.collector.logs.v1.LogsService";

    // Never: gRPC runs over HTTP/2, which the runtime's HTTP stack sends only asynchronously.
    public bool SendsBlocking => false;

    public bool TrySendBlocking(OutgoingPayload payload, CancellationToken cancellationToken, out TransportResult result)
    {
        result = null!;
        return false;
    }

    /// <summary>
    /// Calls <c>Export</c> with what is left of the attempt's time as the call's deadline (<c>grpc-timeout</c>), so
    /// that the server can give up on a call its client has given up on, a retry telling it the time left.
    /// </summary>
    public async ValueTask<TransportResult> SendAsync(OutgoingPayload payload, TimeSpan timeLeft, CancellationToken cancellationToken)
    {
        var metadata = new Metadata();
        // A configured user-agent is sent instead of the exporter's own, as a provided one is.
        if (!this.userAgentConfigured)
        {
            metadata.Add("user-agent", OtlpInfo.UserAgent);
        }

        foreach (var entry in this.entries)
        {
            metadata.Add(entry);
        }

        BorrowedBodyContent? framed = null;
        if (this.encoding is not null)
        {
            // Grpc.Net.Client compresses the message with the provider of this name and sets grpc-encoding.
            metadata.Add("grpc-internal-encoding-request", this.encoding);
        }

        DateTime? deadline = null;
        try
        {
            if (this.headerProvider is not null)
            {
                var (pairs, failure) = await ProvidedHeaders.AskAsync(this.headerProvider, blocking: false, cancellationToken).ConfigureAwait(false);
                if (failure is not null)
                {
                    return failure;
                }

                foreach (var (name, value) in pairs!)
                {
                    if (!TryEntry(name, value, out var entry, out var problem))
                    {
                        this.reportProblem?.Invoke($"The header provider's header cannot be sent as gRPC metadata ({problem}); it is not sent.");
                        continue;
                    }

                    var existing = metadata.Get(entry.Key);
                    if (existing is not null)
                    {
                        metadata.Remove(existing);
                    }

                    metadata.Add(entry);
                }
            }

            deadline = timeLeft == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + timeLeft;
            // A compressed message is the client's to frame: its compression is the copy.
            framed = this.framesInPlace && this.encoding is null ? FramedMessageHandler.Offer(payload) : null;
            using var call = this.invoker.AsyncUnaryCall(
                this.method, host: null, new CallOptions(metadata, deadline, cancellationToken), new EncodedRequest(payload.Bytes));
            var response = await call.ResponseAsync.ConfigureAwait(false);
            return TransportResult.Response((int)Grpc.Core.StatusCode.OK, grpc: true, response);
        }
        catch (RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return TransportResult.Failed(TransportResultKind.Cancelled, "The call was cancelled or timed out.");
        }
        catch (RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.DeadlineExceeded && deadline is { } due && DateTime.UtcNow >= due)
        {
            // The call's deadline is the attempt's time left: when it passes, the attempt ran out of time, whether the
            // client's deadline timer noticed it before the attempt's token (a DEADLINE_EXCEEDED it made itself) or
            // the server said so. Either way it is the timeout, not a status to report as the server's answer.
            return TransportResult.Failed(TransportResultKind.Cancelled, "The call was cancelled or timed out.");
        }
        catch (RpcException e) when (RequiresHttp11(e))
        {
            // Retrying cannot help: gRPC exists only over HTTP/2. An OTLP/HTTP port is the usual cause.
            return TransportResult.Failed(
                TransportResultKind.ProtocolRefused,
                "the server requires HTTP/1.1 (HTTP/2 error HTTP_1_1_REQUIRED), and gRPC runs only over HTTP/2: this is not a gRPC endpoint; an OTLP/HTTP one takes the protocol http/protobuf.");
        }
        catch (RpcException e) when (Unanswered(e) is { } unanswered)
        {
            // No response came (no connection, TLS that could not start, an HTTP/2 handshake the server did not
            // complete, a connection closed first): the client made its UNAVAILABLE or INTERNAL itself.
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, UnansweredRequest.Describe(unanswered, this.endpoint));
        }
        catch (RpcException e) when (NoAnswer(e) is { } lost)
        {
            // The client made this status from a stream or connection the server (or a proxy) reset before any status
            // came: gRPC maps an RST_STREAM of INTERNAL_ERROR (what nginx and Kestrel send when a call is cut off) to
            // INTERNAL, which is not retried. OTLP: "If the server disconnects without returning a response, the client
            // SHOULD retry".
            return TransportResult.Failed(TransportResultKind.ConnectionFailed, $"The connection or stream was reset before the server answered ({lost}).");
        }
        catch (RpcException e)
        {
            // Trailers-Only replies (grpc-go and the Collector send them for immediate errors) carry the status
            // and its details in the response headers; Grpc.Net.Client exposes them as the trailers.
            return TransportResult.Response((int)e.StatusCode, grpc: true, ReadOnlyMemory<byte>.Empty) with
            {
                Message = OverReceiveLimit(e)
                    ? $"the answer was larger than the {HttpExportTransport.MaxResponseBytes} bytes the exporter reads, and the client refused it (\"{e.Status.Detail}\"): the server's own status is unknown"
                    : e.Status.Detail,
                GrpcStatusDetails = e.Trailers.GetValueBytes("grpc-status-details-bin"),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TransportResult.Failed(TransportResultKind.Cancelled, "The call was cancelled or timed out.");
        }
        finally
        {
            // The call is disposed by now, which ends a copy of the message still running (a server may answer
            // before it has read the request): the payload's memory is not reused before that copy has ended.
            if (framed is not null)
            {
                await framed.WaitForCopyOrQuarantineAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Whether the client made this RESOURCE_EXHAUSTED itself, refusing an answer over its receive limit (the
    /// exporter's <see cref="HttpExportTransport.MaxResponseBytes"/>), compressed or not: no trailer came with it, and
    /// its text is the client's own. A server's RESOURCE_EXHAUSTED comes in trailers.
    /// </summary>
    private static bool OverReceiveLimit(RpcException e) =>
        e.StatusCode == Grpc.Core.StatusCode.ResourceExhausted
        && e.Trailers.Count == 0
        && e.Status.Detail.StartsWith("Received message exceeds the maximum configured message size", StringComparison.Ordinal);

    /// <summary>HTTP/2's HTTP_1_1_REQUIRED error code (RFC 9113, section 7).</summary>
    private const long Http11Required = 0xd;

    /// <summary>
    /// Whether the call ended because the server reset the stream or closed the connection with HTTP_1_1_REQUIRED:
    /// an HTTP/2 server that will not serve this request over HTTP/2 (Kestrel's HTTP/1.1-only endpoints, for one).
    /// </summary>
    internal static bool RequiresHttp11(RpcException e)
    {
        for (var cause = e.Status.DebugException; cause is not null; cause = cause.InnerException)
        {
            if (cause is HttpProtocolException { ErrorCode: Http11Required })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Why the call got no response, when it got none: the <see cref="HttpRequestException"/> the HTTP client threw
    /// before any answer's head came, behind the status the gRPC client made of it. (An answer cut off later fails
    /// with an <see cref="IOException"/> instead: <see cref="NoAnswer"/>.)
    /// </summary>
    internal static HttpRequestException? Unanswered(RpcException e) => UnansweredRequest.Find(e.Status.DebugException);

    /// <summary>
    /// What the call's end was, when no status came from the server: the client made its INTERNAL or
    /// RESOURCE_EXHAUSTED from an HTTP/2 reset (<see cref="HttpProtocolException"/>: RST_STREAM or GOAWAY with
    /// INTERNAL_ERROR, PROTOCOL_ERROR, NO_ERROR, ENHANCE_YOUR_CALM, ...) or from a lost connection. Null for a status
    /// the server sent (it carries no exception), and for the other codes (UNAVAILABLE and CANCELLED are retried
    /// anyway; PERMISSION_DENIED from INADEQUATE_SECURITY is the TLS setup's, which a retry does not change).
    /// </summary>
    internal static string? NoAnswer(RpcException e)
    {
        if (e.StatusCode is not (Grpc.Core.StatusCode.Internal or Grpc.Core.StatusCode.ResourceExhausted))
        {
            return null;
        }

        for (var cause = e.Status.DebugException; cause is not null; cause = cause.InnerException)
        {
            if (cause is HttpProtocolException or IOException or System.Net.Sockets.SocketException)
            {
                return cause.Message;
            }
        }

        return null;
    }

    /// <summary>
    /// A metadata entry for a header, or why there is none: the header rules every transport shares
    /// (<see cref="Headers.Problem"/>), then gRPC's own (lower-case keys; a <c>-bin</c> key carries bytes, not text).
    /// The problem never shows the value.
    /// </summary>
    private static bool TryEntry(string name, string value, out Metadata.Entry entry, out string problem)
    {
        entry = null!;
        if (Headers.Problem(name, value) is { } shared)
        {
            problem = shared.Value;
            return false;
        }

        try
        {
            entry = new Metadata.Entry(name.ToLowerInvariant(), value);
            problem = string.Empty;
            return true;
        }
        catch (ArgumentException)
        {
            problem = name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase)
                ? "a name ending in -bin marks binary metadata, whose values are bytes, not text"
                : "not a valid gRPC metadata key";
            return false;
        }
    }

    public void Dispose()
    {
        if (this.ownsChannel)
        {
            this.channel.Dispose();
        }
    }
}

/// <summary>An encoded request; gRPC's generic call API needs a reference type for its messages.</summary>
internal sealed record EncodedRequest(ReadOnlyMemory<byte> Bytes);

namespace Otlp.Transport;

/// <summary>What became of one request on the wire, before any interpretation.</summary>
internal enum TransportResultKind
{
    /// <summary>The server answered; see the status.</summary>
    Response,

    /// <summary>No answer: the connection could not be made or was lost.</summary>
    ConnectionFailed,

    /// <summary>The caller's token was cancelled (the export's deadline, or shutdown).</summary>
    Cancelled,

    /// <summary>Nothing was sent: the application's header provider threw (a token service may be down for a while).</summary>
    HeaderProviderFailed,

    /// <summary>
    /// The server refused the protocol itself, before any status (an HTTP/2 server that requires HTTP/1.1, where
    /// gRPC cannot go): no request of this transport can succeed at this endpoint, so it is not retried.
    /// </summary>
    ProtocolRefused,
}

/// <summary>
/// The raw outcome of sending one encoded request: the status, the throttling hints and the body, or why there
/// was no response. Interpreting it (retry, partial success) is the core's job, not the transport's.
/// </summary>
internal sealed record TransportResult
{
    /// <summary>What happened.</summary>
    public required TransportResultKind Kind { get; init; }

    /// <summary>The HTTP status code, or the gRPC status code for gRPC.</summary>
    public int StatusCode { get; init; }

    /// <summary>True when <see cref="StatusCode"/> is a gRPC status.</summary>
    public bool IsGrpc { get; init; }

    /// <summary>The raw <c>Retry-After</c> header (HTTP), if any.</summary>
    public string? RetryAfter { get; init; }

    /// <summary>The <c>grpc-status-details-bin</c> trailer (a serialized <c>google.rpc.Status</c>), if any.</summary>
    public byte[]? GrpcStatusDetails { get; init; }

    /// <summary>The gRPC status message or a description of the failure; never contains header values.</summary>
    public string? Message { get; init; }

    /// <summary>The response body (HTTP) or response message (gRPC), at most the response limit.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The response's content type (HTTP), if any.</summary>
    public string? ContentType { get; init; }

    /// <summary>
    /// Why the answer's body was left unread (it was over the response limit), or null when it was read: the status
    /// still decides; only what the body would have said (a partial success, a failure's message) is unknown.
    /// </summary>
    public string? BodyNotRead { get; init; }

    /// <summary>The absolute target of a redirect (HTTP 3xx) answer's <c>Location</c> header, if any.</summary>
    public Uri? Location { get; init; }

    /// <summary>
    /// The URL an application's HTTP client followed a redirect to, re-sending the export as a body-less GET (the
    /// status is then the answer to that GET); null when the request reached its answer as the POST it was.
    /// </summary>
    public Uri? RedirectedAsGetTo { get; init; }

    /// <summary>A response with a status and body.</summary>
    public static TransportResult Response(int status, bool grpc, ReadOnlyMemory<byte> body) =>
        new() { Kind = TransportResultKind.Response, StatusCode = status, IsGrpc = grpc, Body = body };

    /// <summary>No response: why, in words that contain no header values.</summary>
    public static TransportResult Failed(TransportResultKind kind, string message) =>
        new() { Kind = kind, Message = message };
}

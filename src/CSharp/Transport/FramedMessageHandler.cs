using System.Buffers.Binary;

namespace Otlp.Transport;

/// <summary>
/// The outermost handler of the exporter's own gRPC channel: it sends a call's message straight from the exporter's
/// buffer. <c>Grpc.Net.Client</c> writes every message into a framing buffer of its own first, one more copy of the
/// whole request on its way to the wire (7 to 9% of a request's time over loopback in <c>TransportBenchmarks</c>).
/// The transport instead frames the encoded request in the room its buffer keeps in front of it and offers it here
/// (<see cref="Offer"/>); this handler makes those bytes the request's body, keeping the content headers the client
/// set. The offer travels in the call's execution context, so only the request of the call it was made for takes
/// it, and only once. It also drops binary headers of an answer that cannot be decoded (see
/// <see cref="DropUndecodableBinaryHeaders"/>).
/// </summary>
internal sealed class FramedMessageHandler : DelegatingHandler
{
    /// <summary>gRPC's message header: a compression flag byte, then the message's length (4 bytes, big-endian).</summary>
    public const int MessageHeaderLength = 5;

    /// <summary>
    /// How much of a body is written to the HTTP/2 connection at a time: 16,384 bytes, then 16,365. The runtime's
    /// HTTP/2 client cuts a body into DATA frames of at most 16,384 bytes (whatever the server allows), copies each
    /// with its 9-byte header into the connection's 32 KB buffer, and sends the buffer whenever the next frame does
    /// not fit. Written whole, a body makes frames of 16,393 bytes, two of which never fit: one send (and one loopback
    /// or TCP segment's work) for every frame. Written in these pieces, a full frame and one of 16,374 bytes share a
    /// buffer, which halves the sends (measured: about 9% more spans a second over loopback gRPC, docs/benchmarks.md).
    /// Nothing waits for more bytes: each piece goes as soon as the one before is taken.
    /// </summary>
    internal const int Http2PieceLength = 16_384 + 16_365;

    private static readonly AsyncLocal<OfferedBody?> Offered = new();

    /// <summary>A handler sending through <paramref name="inner"/>.</summary>
    public FramedMessageHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>
    /// Frames <paramref name="payload"/> (uncompressed) in its room and offers it as the body of the next request sent
    /// from this execution context through a <see cref="FramedMessageHandler"/>; the body to wait for before the
    /// payload's memory is reused, or null when the payload has no room (nothing is offered: the client frames it).
    /// </summary>
    public static BorrowedBodyContent? Offer(OutgoingPayload payload)
    {
        Span<byte> header = stackalloc byte[MessageHeaderLength];
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)payload.Length);
        if (!payload.TryFrame(header, out var framed))
        {
            return null;
        }

        var body = new BorrowedBodyContent(framed, Http2PieceLength);
        Offered.Value = new OfferedBody(body);
        return body;
    }

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is { } made && Offered.Value?.Take() is { } body)
        {
            foreach (var header in made.Headers)
            {
                body.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            request.Content = body;
            made.Dispose();
        }

        return DecodableAsync(base.SendAsync(request, cancellationToken));
    }

    private static async Task<HttpResponseMessage> DecodableAsync(Task<HttpResponseMessage> answer)
    {
        var response = await answer.ConfigureAwait(false);
        DropUndecodableBinaryHeaders(response.Headers);
        return response;
    }

    /// <summary>
    /// Removes the binary (<c>-bin</c>) headers whose values are not base64. <c>Grpc.Net.Client</c> decodes every
    /// binary header of a trailers-only answer (an error sent without a body, as collectors and proxies send) before
    /// it reads the status, and one it cannot decode turns the server's status (UNAVAILABLE, to be retried) into
    /// INTERNAL (not retried): the status matters more than a detail nobody can read.
    /// </summary>
    internal static void DropUndecodableBinaryHeaders(System.Net.Http.Headers.HttpResponseHeaders headers)
    {
        List<string>? undecodable = null;
        foreach (var header in headers.NonValidated)
        {
            if (header.Key.EndsWith("-bin", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var value in header.Value)
                {
                    if (!IsBase64(value))
                    {
                        (undecodable ??= []).Add(header.Key);
                        break;
                    }
                }
            }
        }

        foreach (var name in undecodable ?? [])
        {
            headers.Remove(name);
        }
    }

    /// <summary>Whether <paramref name="value"/> is base64, with or without its padding (gRPC accepts both).</summary>
    private static bool IsBase64(string value)
    {
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        var decoded = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, padded.Length));
        try
        {
            return Convert.TryFromBase64String(padded, decoded, out _);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    /// <summary>A body offered for one request: the first to take it gets it.</summary>
    private sealed class OfferedBody(BorrowedBodyContent body)
    {
        private BorrowedBodyContent? body = body;

        public BorrowedBodyContent? Take() => Interlocked.Exchange(ref this.body, null);
    }
}

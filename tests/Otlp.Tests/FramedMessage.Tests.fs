/// The gRPC message goes out from the encoder's buffer, framed in the room kept in front of it: the same bytes the
/// gRPC client frames itself, never another call's, and never reused while a copy of them still runs.
module Otlp.Tests.FramedMessageTests

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression
open System.Net
open System.Net.Http
open System.Net.Http.Headers
open System.Threading
open System.Threading.Tasks
open Expecto
open Grpc.Net.Client
open Otlp.Core
open Otlp.Export
open Otlp.Testing
open Otlp.Transport

/// What a gRPC server answers for a successful Export: an empty message, then the OK status in the trailers.
let private grpcOk () =
    let response =
        new HttpResponseMessage(HttpStatusCode.OK, Version = HttpVersion.Version20, Content = new ByteArrayContent([| 0uy; 0uy; 0uy; 0uy; 0uy |]))
    response.Content.Headers.ContentType <- MediaTypeHeaderValue "application/grpc"
    response.TrailingHeaders.Add("grpc-status", "0")
    response

/// A server that reads each request body whole (after `delay`, which lets calls overlap), keeps it with the type of
/// the content it came in, and answers OK.
type private Recorder(delay: TimeSpan) =
    inherit HttpMessageHandler()
    let received = Collections.Concurrent.ConcurrentQueue<string * byte array>()

    member _.Received = List.ofSeq received

    override _.SendAsync(request: HttpRequestMessage, cancellationToken: CancellationToken) =
        task {
            if delay > TimeSpan.Zero then do! Task.Delay(delay, cancellationToken)
            let! body = request.Content.ReadAsByteArrayAsync cancellationToken
            received.Enqueue(request.Content.GetType().Name, body)
            return grpcOk ()
        }

/// A pooled payload of `bytes`, written as the encoder writes (in pieces, the buffer growing as it must).
let private pooled (bytes: byte array) =
    let buffer = new PooledBuffer(16)
    let mutable written = 0
    while written < bytes.Length do
        let piece = min 3000 (bytes.Length - written)
        bytes.AsSpan(written, piece).CopyTo(buffer.GetSpan piece)
        buffer.Advance piece
        written <- written + piece
    buffer

/// gRPC's framing of an uncompressed message: flag 0, the length big-endian, the message.
let private framedAsGrpc (message: byte array) =
    let framed = Array.zeroCreate<byte> (message.Length + 5)
    BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan 1, uint32 message.Length)
    message.CopyTo(framed, 5)
    framed

let private transportOver (handler: HttpMessageHandler) (framesInPlace: bool) (compression: Compression) =
    let channel = GrpcChannel.ForAddress("http://localhost:4317", GrpcChannelOptions(HttpHandler = handler, CompressionProviders = [| Grpc.Net.Compression.GzipCompressionProvider(CompressionLevel.Fastest) |]))
    new GrpcExportTransport(channel, true, framesInPlace, Signal.Traces, compression, Array.empty<Header>, null)

let private sendOk (transport: GrpcExportTransport) (payload: OutgoingPayload) =
    task {
        let! (result: TransportResult) = transport.SendAsync(payload, Timeout.InfiniteTimeSpan, CancellationToken.None)
        Expect.equal (result.Kind, result.StatusCode) (TransportResultKind.Response, 0) "answered OK"
    }

let private message (length: int) (seed: int) = Array.init length (fun i -> byte ((i * 7 + seed) % 251))

/// A server that never answers: it holds each request until the client gives up on it.
type private Silent() =
    inherit HttpMessageHandler()

    override _.SendAsync(_: HttpRequestMessage, cancellationToken: CancellationToken) =
        task {
            do! Task.Delay(Timeout.Infinite, cancellationToken)
            return grpcOk ()
        }

/// A connection's stream that adds the length of every write made to it to `lengths`.
type private WriteLengths(inner: Stream, lengths: Collections.Concurrent.ConcurrentQueue<int>) =
    inherit Stream()
    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = raise (NotSupportedException())
    override _.Position with get () = raise (NotSupportedException()) and set _ = raise (NotSupportedException())
    override _.Flush() = inner.Flush()
    override _.FlushAsync(cancellationToken: CancellationToken) = inner.FlushAsync cancellationToken
    override _.Read(buffer: byte array, offset: int, count: int) = inner.Read(buffer, offset, count)
    override _.ReadAsync(buffer: Memory<byte>, cancellationToken: CancellationToken) = inner.ReadAsync(buffer, cancellationToken)
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(buffer: byte array, offset: int, count: int) =
        lengths.Enqueue count
        inner.Write(buffer, offset, count)
    override _.WriteAsync(buffer: ReadOnlyMemory<byte>, cancellationToken: CancellationToken) =
        lengths.Enqueue buffer.Length
        inner.WriteAsync(buffer, cancellationToken)
    override _.Dispose(disposing: bool) = if disposing then inner.Dispose()

/// Sends `message` over gRPC to `receiver` through a connection of its own, the message framed in place or by the
/// gRPC client: the lengths of the writes made to the connection.
let private connectionWrites (receiver: LoopbackReceiver) (message: byte array) (framesInPlace: bool) =
    task {
        let lengths = Collections.Concurrent.ConcurrentQueue<int>()
        let connect (context: SocketsHttpConnectionContext) (token: CancellationToken) =
            task {
                let socket = new Sockets.Socket(Sockets.SocketType.Stream, Sockets.ProtocolType.Tcp, NoDelay = true)
                do! socket.ConnectAsync(context.DnsEndPoint, token)
                return new WriteLengths(new Sockets.NetworkStream(socket, true), lengths) :> Stream
            }
            |> ValueTask<Stream>
        let sockets = new SocketsHttpHandler(ConnectCallback = Func<_, _, _> connect)
        let handler = if framesInPlace then new FramedMessageHandler(sockets) :> HttpMessageHandler else sockets
        let channel = GrpcChannel.ForAddress(receiver.GrpcEndpoint, GrpcChannelOptions(HttpHandler = handler))
        let transport = new GrpcExportTransport(channel, true, framesInPlace, Signal.Traces, Compression.None, Array.empty<Header>, null)
        let payload = pooled message
        do! sendOk transport payload.Outgoing
        transport.Dispose()
        payload.Dispose()
        return List.ofSeq lengths
    }

[<Tests>]
let tests =
    testList "FramedMessage" [
        testProperty "a pooled buffer's bytes are what was written, framed in place without touching them" <| fun (pieces: byte array list) (prefix: byte array) ->
            let bytes = Array.concat pieces
            use buffer = pooled bytes
            Expect.sequenceEqual (buffer.WrittenMemory.ToArray()) bytes "written"
            Expect.equal buffer.WrittenCount bytes.Length "counted"
            let header = Array.truncate PooledBuffer.RoomInFront prefix
            let mutable framed = ReadOnlyMemory<byte>()
            Expect.isTrue (buffer.Outgoing.TryFrame(ReadOnlySpan header, &framed)) "the room fits any prefix up to its size"
            Expect.sequenceEqual (framed.ToArray()) (Array.append header bytes) "the prefix directly in front of the bytes"
            Expect.sequenceEqual (buffer.WrittenMemory.ToArray()) bytes "the bytes untouched"

        test "bytes from anywhere else have no room: framing refuses and writes nothing" {
            let array = Array.init 32 byte
            for payload in [ OutgoingPayload.Of(ReadOnlyMemory(array, 10, 5)); OutgoingPayload.Of(ReadOnlyMemory array) ] do
                let mutable framed = ReadOnlyMemory<byte>()
                Expect.isFalse (payload.TryFrame(ReadOnlySpan [| 9uy |], &framed)) "refused"
            Expect.sequenceEqual array (Array.init 32 byte) "nothing written"
            use buffer = pooled [| 1uy; 2uy |]
            let mutable framed = ReadOnlyMemory<byte>()
            Expect.isFalse (buffer.Outgoing.TryFrame(ReadOnlySpan(Array.zeroCreate (PooledBuffer.RoomInFront + 1)), &framed)) "a prefix larger than the room is refused"
        }

        testTask "over HTTP/2 a message framed in place goes out two DATA frames to a send, where the client's own goes one" {
            // The runtime's HTTP/2 client cuts a body into frames of 16,384 bytes and sends its 32 KB buffer whenever
            // the next frame does not fit: a body written whole is one send a frame (16,393 bytes with the header);
            // written in FramedMessageHandler.Http2PieceLength pieces, a full frame and one of 16,374 bytes share
            // one. A change in the runtime's buffering shows here first.
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let request = Otlp.Core.Tests.Oracle.TraceRequest()
            let resource = Otlp.Oracle.Trace.ResourceSpans(Resource = Otlp.Oracle.Resource.Resource())
            let value = Otlp.Oracle.Common.AnyValue(StringValue = String('x', 400_000))
            resource.Resource.Attributes.Add(Otlp.Oracle.Common.KeyValue(Key = "large", Value = value))
            request.ResourceSpans.Add resource
            let message = Google.Protobuf.MessageExtensions.ToByteArray request
            let! inPlace = connectionWrites receiver message true
            let! byClient = connectionWrites receiver message false
            let count length writes = writes |> List.filter ((=) length) |> List.length
            // 400,000 bytes: 24 full frames, 12 pairs of pieces; a few may be cut elsewhere by flow control.
            Expect.isGreaterThanOrEqual (count 16_393 byClient) 18 $"the client's own body: one frame a send ({byClient})"
            Expect.isGreaterThanOrEqual (count 32_767 inPlace) 9 $"in place: two frames a send ({inPlace})"
            Expect.isLessThan (count 16_393 inPlace) 4 $"in place: few single frames ({inPlace})"
            Expect.isLessThan (List.sum inPlace) (List.sum byClient + 1000) "the same bytes, give or take the headers"
            Expect.equal receiver.Requests.Count 2 "both received"
        }

        testTask "a call whose own deadline passes first ends as the attempt's timeout, not as the server's DEADLINE_EXCEEDED" {
            // The call's deadline is the attempt's time left; here no token ends the attempt, so the gRPC client's
            // deadline timer is what ends it (on a busy machine it may also come before the attempt's token does).
            let transport = transportOver (new Silent()) true Compression.None
            let payload = pooled (message 100 1)
            let! (result: TransportResult) = transport.SendAsync(payload.Outgoing, TimeSpan.FromMilliseconds 200.0, CancellationToken.None)
            transport.Dispose()
            payload.Dispose()
            Expect.equal result.Kind TransportResultKind.Cancelled $"the timeout: {result.Message}"
        }

        testTask "over the exporter's own channel the message goes out from the payload's buffer, as the gRPC client frames it" {
            for length in [ 0; 1; 16_384; 16_389; 300_000 ] do
                let bytes = message length length
                let payload = pooled bytes
                let framing = new Recorder(TimeSpan.Zero)
                let framed = transportOver (new FramedMessageHandler(framing)) true Compression.None
                do! sendOk framed payload.Outgoing
                let client = new Recorder(TimeSpan.Zero)
                let byClient = transportOver client false Compression.None
                do! sendOk byClient payload.Outgoing
                framed.Dispose()
                byClient.Dispose()
                match framing.Received, client.Received with
                | [ (inPlace, sent) ], [ (byGrpc, grpcSent) ] ->
                    Expect.equal inPlace (nameof BorrowedBodyContent) $"{length} bytes: the payload's own memory"
                    Expect.notEqual byGrpc (nameof BorrowedBodyContent) $"{length} bytes: without the handler, the client's content"
                    Expect.sequenceEqual sent grpcSent $"{length} bytes: the same bytes as the client frames"
                    Expect.sequenceEqual sent (framedAsGrpc bytes) $"{length} bytes: flag 0, length, message"
                | other -> failtest $"one request each, got {other}"
                Expect.sequenceEqual (payload.WrittenMemory.ToArray()) bytes "the payload unchanged"
                payload.Dispose()
        }

        testTask "a compressed message is the client's to frame" {
            let bytes = message 50_000 3
            let payload = pooled bytes
            let recorder = new Recorder(TimeSpan.Zero)
            let transport = transportOver (new FramedMessageHandler(recorder)) true Compression.Gzip
            do! sendOk transport payload.Outgoing
            match recorder.Received with
            | [ (content, sent) ] ->
                Expect.notEqual content (nameof BorrowedBodyContent) "the client's content"
                Expect.equal sent[0] 1uy "flagged compressed"
                Expect.equal (BinaryPrimitives.ReadUInt32BigEndian(ReadOnlySpan(sent, 1, 4))) (uint32 (sent.Length - 5)) "its length"
                use gzip = new GZipStream(new MemoryStream(sent, 5, sent.Length - 5), CompressionMode.Decompress)
                use restored = new MemoryStream()
                gzip.CopyTo restored
                Expect.sequenceEqual (restored.ToArray()) bytes "the message"
            | other -> failtest $"one request, got {other}"
            transport.Dispose()
            payload.Dispose()
        }

        testTask "concurrent calls each send their own message" {
            let recorder = new Recorder(TimeSpan.FromMilliseconds 20.0)
            let transport = transportOver (new FramedMessageHandler(recorder)) true Compression.None
            let messages = [ for i in 1..8 -> message (1000 * i) i ]
            let payloads = messages |> List.map pooled
            do! payloads |> List.map (fun p -> sendOk transport p.Outgoing :> Task) |> Task.WhenAll
            let received = recorder.Received
            Expect.equal received.Length 8 "eight requests"
            Expect.isTrue (received |> List.forall (fun (content, _) -> content = nameof BorrowedBodyContent)) "each from its payload's memory"
            let sent = received |> List.map snd |> List.sortBy Array.length
            Expect.equal sent (messages |> List.map framedAsGrpc) "each message once, whole"
            for p in payloads do p.Dispose()
            transport.Dispose()
        }

        testTask "the send returns only once the message's copy has ended" {
            let bytes = message 5000 1
            let payload = pooled bytes
            let release = TaskCompletionSource()
            let handler = new BorrowedBodyTests.AnswersBeforeReading(release.Task, grpcOk)
            let transport = transportOver (new FramedMessageHandler(handler)) true Compression.None
            let send = transport.SendAsync(payload.Outgoing, Timeout.InfiniteTimeSpan, CancellationToken.None)
            do! Task.Delay 100
            Expect.isFalse send.IsCompleted "the send waits while the message is copied"
            release.SetResult()
            let! (result: TransportResult) = send
            Expect.equal (result.Kind, result.StatusCode) (TransportResultKind.Response, 0) "answered OK"
            Expect.isTrue handler.Copied.IsCompleted "copied before the send returned"
            let! copied = handler.Copied
            Expect.sequenceEqual copied (framedAsGrpc bytes) "the framed message"
            transport.Dispose()
            payload.Dispose()
        }
    ]

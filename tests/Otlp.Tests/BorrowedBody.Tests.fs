/// A request body over pooled memory is never given back while a handler still copies it.
module Otlp.Tests.BorrowedBodyTests

open System
open System.IO
open System.Net
open System.Net.Http
open System.Threading
open System.Threading.Tasks
open Expecto
open Otlp.Core
open Otlp.Transport

/// A stream whose writes wait for `release`, then keep the bytes.
type GatedStream(release: Task) =
    inherit Stream()
    let kept = new MemoryStream()

    member _.Bytes = kept.ToArray()
    override _.CanRead = false
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = kept.Length
    override _.Position with get () = kept.Position and set _ = raise (NotSupportedException())
    override _.Flush() = ()
    override _.Read(_: byte array, _: int, _: int) : int = raise (NotSupportedException())
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(buffer: byte array, offset: int, count: int) =
        release.Wait()
        kept.Write(buffer, offset, count)
    override _.WriteAsync(buffer: ReadOnlyMemory<byte>, cancellationToken: CancellationToken) =
        ValueTask(
            task {
                do! release
                do! kept.WriteAsync(buffer, cancellationToken)
            }
        )

/// A stream that keeps every write's bytes, in order, each as written.
type WriteRecorder() =
    inherit Stream()
    let writes = Collections.Generic.List<byte array>()

    member _.Writes = List.ofSeq writes
    override _.CanRead = false
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = writes |> Seq.sumBy (fun w -> int64 w.Length)
    override _.Position with get () = 0L and set _ = raise (NotSupportedException())
    override _.Flush() = ()
    override _.Read(_: byte array, _: int, _: int) : int = raise (NotSupportedException())
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(buffer: byte array, offset: int, count: int) = writes.Add(buffer.AsSpan(offset, count).ToArray())
    override _.Write(buffer: ReadOnlySpan<byte>) = writes.Add(buffer.ToArray())
    override _.WriteAsync(buffer: ReadOnlyMemory<byte>, _: CancellationToken) =
        writes.Add(buffer.ToArray())
        // Not yet complete, as a connection's write often is: the next piece must wait for it.
        ValueTask(task { do! Task.Yield() })

/// A handler that starts copying the request body into a `GatedStream` and gives `answer` before that copy ends: a
/// server answering before it has read the whole body.
type AnswersBeforeReading(release: Task, answer: unit -> HttpResponseMessage) =
    inherit HttpMessageHandler()

    /// Answering 200 with an empty body.
    new(release: Task) = new AnswersBeforeReading(release, fun () -> new HttpResponseMessage(HttpStatusCode.OK, Content = new ByteArrayContent([||])))

    member val Copied: Task<byte array> = Task.FromResult [||] with get, set

    override this.SendAsync(request: HttpRequestMessage, cancellationToken: CancellationToken) =
        let sink = new GatedStream(release)
        let copy = request.Content.CopyToAsync(sink, cancellationToken)
        this.Copied <- task {
            do! copy
            return sink.Bytes
        }
        Task.FromResult(answer ())

/// A stream of `length` bytes (each its index mod 251) with no declared length, read in pieces of at most 1000.
type private UnsizedStream(length: int) =
    inherit Stream()
    let mutable position = 0
    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = false
    override _.Length = raise (NotSupportedException())
    override _.Position with get () = int64 position and set _ = raise (NotSupportedException())
    override _.Flush() = ()
    override _.Read(buffer: byte array, offset: int, count: int) =
        let n = min (min count 1000) (length - position)
        for i in 0 .. n - 1 do
            buffer[offset + i] <- byte ((position + i) % 251)
        position <- position + n
        n
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException())
    override _.SetLength(_: int64) = raise (NotSupportedException())
    override _.Write(_: byte array, _: int, _: int) = raise (NotSupportedException())

/// A handler answering 200 with a body of `length` bytes, its length declared or not (as a chunked response).
type private AnswersWith(length: int, declared: bool) =
    inherit HttpMessageHandler()

    override _.SendAsync(_: HttpRequestMessage, _: CancellationToken) =
        let content: HttpContent =
            if declared then new ByteArrayContent(Array.init length (fun i -> byte (i % 251)))
            else new StreamContent(new UnsizedStream(length))
        if not declared then content.Headers.ContentLength <- Nullable()
        Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK, Content = content))

let private answer (length: int) (declared: bool) =
    task {
        let transport =
            new HttpExportTransport(
                new HttpClient(new AnswersWith(length, declared)), true, Uri "http://localhost/v1/traces", false, Compression.None,
                Array.empty<Header>, null)
        let! (result: TransportResult) = transport.SendAsync(OutgoingPayload.Of(ReadOnlyMemory [| 1uy |]), Timeout.InfiniteTimeSpan, CancellationToken.None)
        transport.Dispose()
        return result
    }

[<Tests>]
let responseTests =
    testList "HttpTransport.responses" [
        testTask "bodies of any length up to the limit are read whole, declared or not" {
            for length in [ 0; 1; 999; 4096; 4097; 100_000; HttpExportTransport.MaxResponseBytes ] do
                for declared in [ true; false ] do
                    let! (result: TransportResult) = answer length declared
                    Expect.equal result.Kind TransportResultKind.Response $"{length} bytes (declared {declared}): a response"
                    Expect.equal result.Body.Length length $"{length} bytes (declared {declared}): whole"
                    let body = result.Body.ToArray()
                    Expect.isTrue (body |> Array.mapi (fun i b -> b = byte (i % 251)) |> Array.forall id) "the bytes sent"
        }

        testTask "a body over the limit is not read, declared or not, but the status is still the answer's" {
            for declared in [ true; false ] do
                let! (result: TransportResult) = answer (HttpExportTransport.MaxResponseBytes + 1) declared
                Expect.equal result.Kind TransportResultKind.Response $"declared {declared}: a response"
                Expect.equal result.StatusCode 200 "its status"
                Expect.equal result.Body.Length 0 "nothing kept"
                Expect.isNotNull result.BodyNotRead "said"
        }
    ]

[<Tests>]
let tests =
    testList "BorrowedBody" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } "a body written in pieces arrives whole, in full pieces but the last, synchronously or not"
        <| fun (length: uint16) (pieceLength: FsCheck.PositiveInt) (scale: bool) ->
            // Lengths up to 655,350 bytes, so that bodies of many HTTP/2 pieces come up too.
            let length = int length * (if scale then 10 else 1)
            let pieceLength = if scale then FramedMessageHandler.Http2PieceLength else pieceLength.Get
            let body = Array.init length (fun i -> byte (i % 253))
            let expectedWrites = (length + pieceLength - 1) / pieceLength
            for synchronous in [ false; true ] do
                use content = new BorrowedBodyContent(ReadOnlyMemory body, pieceLength)
                let sink = new WriteRecorder()
                if synchronous then content.CopyTo(sink, null, CancellationToken.None)
                else content.CopyToAsync(sink).Wait()
                let writes = sink.Writes
                Expect.sequenceEqual (Array.concat writes) body $"synchronous {synchronous}: the body, in order"
                Expect.equal writes.Length expectedWrites $"synchronous {synchronous}: one write a piece"
                for write in writes |> List.truncate (max 0 (writes.Length - 1)) do
                    Expect.equal write.Length pieceLength "every piece but the last is full"
                Expect.isTrue (content.WhenCopiedAsync(CancellationToken.None).IsCompleted) "released once written"

        test "a body is one write unless pieces are asked for, and pieces must hold a byte" {
            use whole = new BorrowedBodyContent(ReadOnlyMemory(Array.zeroCreate<byte> 100_000))
            let sink = new WriteRecorder()
            whole.CopyToAsync(sink).Wait()
            Expect.equal (sink.Writes |> List.map _.Length) [ 100_000 ] "one write"
            Expect.throwsT<ArgumentOutOfRangeException> (fun () -> new BorrowedBodyContent(ReadOnlyMemory [| 1uy |], 0) |> ignore) "no empty pieces"
        }

        testTask "a body no handler copied is released at once" {
            let content = new BorrowedBodyContent(ReadOnlyMemory([| 1uy; 2uy |]))
            Expect.isTrue (content.WhenCopiedAsync(CancellationToken.None).IsCompleted) "released"
            content.Dispose()
        }

        testTask "the release waits for a copy that runs after the response" {
            let body = Array.init 1000 byte
            let release = TaskCompletionSource()
            let handler = new AnswersBeforeReading(release.Task)
            let client = new HttpClient(handler)
            let request = new HttpRequestMessage(HttpMethod.Post, "http://localhost/v1/traces")
            let content = new BorrowedBodyContent(ReadOnlyMemory body)
            request.Content <- content
            let! (response: HttpResponseMessage) = client.SendAsync request
            Expect.equal response.StatusCode HttpStatusCode.OK "answered first"
            response.Dispose()
            let copied = content.WhenCopiedAsync(CancellationToken.None)
            do! Task.Delay 50
            Expect.isFalse copied.IsCompleted "still copying, not released"
            release.SetResult()
            do! copied
            let! bytes = handler.Copied
            Expect.sequenceEqual bytes body "the whole body was copied before the release"
            request.Dispose()
            client.Dispose()
        }

        testTask "the HTTP transport returns only once the body's copy has ended" {
            let body = Array.init 5000 byte
            let release = TaskCompletionSource()
            let handler = new AnswersBeforeReading(release.Task)
            let client = new HttpClient(handler)
            let transport =
                new HttpExportTransport(client, true, Uri "http://localhost/v1/traces", false, Compression.None, Array.empty<Header>, null)
            let send = transport.SendAsync(OutgoingPayload.Of(ReadOnlyMemory body), Timeout.InfiniteTimeSpan, CancellationToken.None)
            do! Task.Delay 100
            Expect.isFalse send.IsCompleted "the send waits while the handler copies"
            release.SetResult()
            let! (result: TransportResult) = send
            Expect.equal result.Kind TransportResultKind.Response "a response"
            Expect.isTrue handler.Copied.IsCompleted "copied before the send returned"
            transport.Dispose()
        }
    ]

[<Tests>]
let compressionTests =
    testList "HttpTransport.compression" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 100 } "pooled gzip and zstd bodies decompress to the payload, whatever its size and entropy"
        <| fun (seed: int) (size: uint16) (repetitive: bool) ->
            // Random bytes barely compress, so the gzip output outgrows its first rented array; repetitive ones
            // compress well. The zstd compressor is reused from one call to the next.
            let random = Random seed
            let payload = Array.zeroCreate<byte> (int size * (if repetitive then 8 else 1))
            if repetitive then
                for i in 0 .. payload.Length - 1 do payload[i] <- byte (i % 13)
            else
                random.NextBytes payload
            for compression, name in [ Compression.Gzip, "gzip"; Compression.Zstd, "zstd"; Compression.Zstd, "zstd" ] do
                let body = PayloadCompression.CompressPooled(ReadOnlySpan payload, compression)
                let restored = PayloadCompression.Decompress(ReadOnlySpan(body.Array, body.Offset, body.Count), name)
                Expect.sequenceEqual restored payload $"{name} round trip"
                System.Buffers.ArrayPool<byte>.Shared.Return body.Array

        testTask "concurrent zstd compressions each get a whole compressor" {
            let payloads = Array.init 16 (fun i -> Array.init (20_000 + i) (fun j -> byte ((j * (i + 1)) % 251)))
            let! (restored: byte array array) =
                payloads
                |> Array.map (fun payload ->
                    Task.Run(fun () ->
                        let body = PayloadCompression.CompressPooled(ReadOnlySpan payload, Compression.Zstd)
                        let bytes = PayloadCompression.Decompress(ReadOnlySpan(body.Array, body.Offset, body.Count), "zstd")
                        System.Buffers.ArrayPool<byte>.Shared.Return body.Array
                        bytes))
                |> Task.WhenAll
            for i in 0 .. payloads.Length - 1 do
                Expect.sequenceEqual restored[i] payloads[i] $"payload {i}"
        }
    ]

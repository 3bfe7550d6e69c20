/// How the exporters treat answers beyond the ordinary ones: redirects, error bodies, oversized bodies, partial
/// successes out of range, slow servers at shutdown.
module Otlp.Tests.AnswersTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Net
open System.Net.Sockets
open System.Text
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Otlp
open Otlp.Core
open Otlp.Testing

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private secret = "s3cr3t-api-key-value"

let private sample (g: FsCheck.Gen<'a>) = (Gen.sampleWithSize 12 1 g)[0]

/// A request of `count` generated spans.
let private spans count =
    Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..count -> sample Generators.span ]

/// A request seen by a `RawServer`: its request line and its head (headers, for assertions on names only).
type RawRequest = { Line: string; Head: string }

/// A bare HTTP/1.1 server on 127.0.0.1: answers every request with `answer` (a function of the request line) and
/// closes the connection. Records what it saw.
type RawServer(answer: string -> string) =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    let requests = ConcurrentQueue<RawRequest>()
    let stop = new CancellationTokenSource()

    let serve (client: TcpClient) =
        task {
            use client = client
            use stream = client.GetStream()
            let buffer = Array.zeroCreate<byte> 65536
            let head = StringBuilder()
            let mutable ended = false
            let mutable bodyRead = 0
            while not ended do
                let! n = stream.ReadAsync(buffer, 0, buffer.Length)
                if n = 0 then ended <- true
                else
                    head.Append(Encoding.Latin1.GetString(buffer, 0, n)) |> ignore
                    let text = head.ToString()
                    let endOfHead = text.IndexOf "\r\n\r\n"
                    if endOfHead >= 0 then
                        let lengthLine =
                            text.Substring(0, endOfHead).Split("\r\n")
                            |> Array.tryFind (fun l -> l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
                        let length = lengthLine |> Option.map (fun l -> int (l.Substring(15).Trim())) |> Option.defaultValue 0
                        bodyRead <- text.Length - endOfHead - 4
                        if bodyRead >= length then ended <- true
            let text = head.ToString()
            let line = text.Split("\r\n")[0]
            requests.Enqueue { Line = line; Head = text.Substring(0, max 0 (text.IndexOf "\r\n\r\n")) }
            let reply = Encoding.Latin1.GetBytes(answer line)
            do! stream.WriteAsync(reply, 0, reply.Length)
            do! stream.FlushAsync()
        }

    do
        listener.Start()
        Task.Run(fun () ->
            task {
                try
                    while not stop.IsCancellationRequested do
                        let! client = listener.AcceptTcpClientAsync(stop.Token)
                        serve client |> ignore
                with _ -> ()
            } :> Task) |> ignore

    member _.Port = (listener.LocalEndpoint :?> IPEndPoint).Port
    member this.Url = $"http://127.0.0.1:{this.Port}"
    member _.Requests = List.ofSeq requests

    interface IAsyncDisposable with
        member _.DisposeAsync() =
            stop.Cancel()
            listener.Stop()
            ValueTask.CompletedTask

let private status (code: int) (reason: string) (headers: string) =
    $"HTTP/1.1 {code} {reason}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"

let private httpTraces (url: string) (extra: OtlpExporterOptions -> unit) =
    OtlpExporter.ForTraces().Configure(fun o ->
        o.Protocol <- OtlpProtocol.HttpProtobuf
        o.BaseEndpoint <- url
        o.Environment <- noEnvironment
        o.Headers["api-key"] <- secret
        extra o).Build()

let private redirects =
    testList "redirects" [
        for code, reason in [ 301, "Moved Permanently"; 307, "Temporary Redirect" ] do
            testTask $"an HTTP {code} is not followed: a permanent failure naming the status and the Location with its user information redacted" {
                use target = new RawServer(fun _ -> status 200 "OK" "")
                use redirecting = new RawServer(fun _ -> status code reason $"Location: http://user:hunter2@127.0.0.1:{target.Port}/elsewhere\r\n")
                use exporter = httpTraces redirecting.Url ignore
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 2)
                Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Failure, 1) "failed, not retried"
                Expect.stringContains result.Message $"HTTP {code}" "the status"
                Expect.stringContains result.Message $"http://[redacted]@127.0.0.1:{target.Port}/elsewhere" "the Location, its user information redacted"
                Expect.isFalse (result.Message.Contains "hunter2") "no user information"
                Expect.isFalse (String.Join(" ", problems).Contains secret) "no header value"
                Expect.equal redirecting.Requests.Length 1 "one POST"
                Expect.equal target.Requests.Length 0 "nothing sent to the Location"
                Expect.equal exporter.Statistics.DroppedPermanentFailure 2L "counted as dropped"
                Expect.equal exporter.Statistics.Exported 0L "nothing counted as exported"
            }

        testTask "batched items answered with a 302 are counted as dropped, not exported" {
            use target = new RawServer(fun _ -> status 200 "OK" "")
            use redirecting = new RawServer(fun _ -> status 302 "Found" $"Location: http://127.0.0.1:{target.Port}/\r\n")
            use exporter = httpTraces redirecting.Url ignore
            for _ in 1..3 do exporter.Offer(sample Generators.span, InstrumentationScope.Empty) |> ignore
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (exporter.Statistics.Exported, exporter.Statistics.DroppedPermanentFailure) (0L, 3L) "dropped"
            Expect.equal target.Requests.Length 0 "nothing sent to the Location"
        }

        testTask "an application's HttpClient that follows a 301 as a GET without the data is a failure, not a success" {
            use target = new RawServer(fun _ -> status 200 "OK" "")
            use redirecting = new RawServer(fun _ -> status 301 "Moved Permanently" $"Location: http://127.0.0.1:{target.Port}/v1/traces\r\n")
            let client = new Http.HttpClient()
            use exporter = httpTraces redirecting.Url (fun o -> o.HttpClient <- client)
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            client.Dispose()
            Expect.equal result.Status OtlpExportStatus.Failure "not delivered"
            Expect.stringContains result.Message "GET" "explains the GET"
            Expect.equal (target.Requests |> List.map _.Line) [ "GET /v1/traces HTTP/1.1" ] "the client followed as a GET"
        }
    ]

let private errorBodies =
    testList "error bodies" [
        for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.HttpJson ] do
            testTask $"the receiver's explanation of a refused {protocol} request is in the failure message" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.InvalidArgument, "span 2 has no trace id"))
                use exporter =
                    OtlpExporter.ForTraces().Configure(fun o ->
                        o.Protocol <- protocol
                        o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                        o.Environment <- noEnvironment).Build()
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal result.Status OtlpExportStatus.Failure "refused"
                Expect.stringContains result.Message "HTTP 400" "the status"
                Expect.stringContains result.Message "span 2 has no trace id" "the server's message"
            }
    ]

let private partialSuccesses =
    testList "partial successes out of range" [
        for rejected, expectedRejected in [ 20L, 10L; -5L, 0L ] do
            testTask $"a partial success rejecting {rejected} of 10 items counts {expectedRejected} rejected, directly and batched" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                receiver.Enqueue(Reply.PartialSuccess(rejected, "odd count"), Reply.PartialSuccess(rejected, "odd count"))
                use direct = httpTraces (receiver.HttpEndpoint.ToString()) ignore
                let! (result: OtlpExportResult) = direct.ExportAsync(spans 10)
                Expect.equal result.Rejected expectedRejected "the result's count"
                Expect.equal (direct.Statistics.Exported, direct.Statistics.RejectedByServer) (10L - expectedRejected, expectedRejected) "direct counts"
                use batched = httpTraces (receiver.HttpEndpoint.ToString()) ignore
                for _ in 1..10 do batched.Offer(sample Generators.span, InstrumentationScope.Empty) |> ignore
                let! (flushed: bool) = batched.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                Expect.isTrue flushed "flushed"
                Expect.equal (batched.Statistics.Exported, batched.Statistics.RejectedByServer) (10L - expectedRejected, expectedRejected) "batched counts"
            }
    ]

let private slowServers =
    testList "slow servers" [
        for concurrency in [ 1; 2 ] do
            testTask $"with {concurrency} export(s) at a time, flush and shutdown deadlines bound a send in progress, whose items are dropped once" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 1.5))
                use exporter =
                    httpTraces (receiver.HttpEndpoint.ToString()) (fun o ->
                        o.Timeout <- Nullable(TimeSpan.FromSeconds 10.0)
                        o.MaxConcurrentExports <- Nullable concurrency)
                for _ in 1..5 do exporter.Offer(sample Generators.span, InstrumentationScope.Empty) |> ignore
                let watch = Diagnostics.Stopwatch.StartNew()
                // The flush starts the export, which then runs (one at a time: on the loop's thread) for 1.5 s.
                let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromMilliseconds 100.0)
                Expect.isFalse flushed "the flush is not done in time"
                Expect.isLessThan watch.ElapsedMilliseconds 500L "the flush returned near its deadline"
                watch.Restart()
                let! (stopped: bool) = exporter.ShutdownAsync(TimeSpan.FromMilliseconds 500.0)
                let took = watch.ElapsedMilliseconds
                Expect.isFalse stopped "not in time"
                Expect.isLessThan took 900L "shutdown returned within its timeout and a small margin"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.DroppedDeadlineExceeded) (0L, 5L) "dropped at the deadline"
                do! Task.Delay 1500
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (0L, 5L) "counted once"
            }
    ]

[<Tests>]
let tests = testList "Answers" [ redirects; errorBodies; partialSuccesses; slowServers ]

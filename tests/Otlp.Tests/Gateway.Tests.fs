/// The exporters against a Collector that has outgrown one process: replicas behind a load balancer that recycle
/// connections (GOAWAY at `max_connection_age`, an L4 balancer's reset of an idle connection), receivers that
/// restart, and the answers of an L7 gateway (nginx, envoy) in front of them. Every connection here is real: the
/// kit's receiver, Kestrel for what it can be made to do, raw sockets for the rest.
module Otlp.Tests.GatewayTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Net
open System.Net.Sockets
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.AspNetCore.Http
open Microsoft.AspNetCore.Server.Kestrel.Core
open Otlp
open Otlp.Core
open Otlp.Testing

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private secret = "s3cr3t-api-key-value"

let private span () = (Gen.sampleWithSize 12 1 Generators.span)[0]

let private spans count =
    Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..count -> span () ]

let private exporterTo (protocol: OtlpProtocol) (url: string) (configure: OtlpExporterOptions -> unit) =
    OtlpExporter.ForTraces().Configure(fun o ->
        o.Protocol <- protocol
        o.BaseEndpoint <- url
        o.Environment <- noEnvironment
        o.Headers["api-key"] <- secret
        o.Timeout <- Nullable(TimeSpan.FromSeconds 10.0)
        configure o).Build()

let private problemsOf (exporter: OtlpTraceExporter) =
    let problems = ConcurrentQueue<string>()
    exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
    problems

/// An empty OTLP/gRPC success: the message (a 0-length response), then `grpc-status: 0` in the trailers.
let private grpcOk (context: HttpContext) =
    task {
        do! context.Request.Body.CopyToAsync(IO.Stream.Null)
        context.Response.ContentType <- "application/grpc"
        do! context.Response.Body.WriteAsync([| 0uy; 0uy; 0uy; 0uy; 0uy |], 0, 5)
        context.Response.AppendTrailer("grpc-status", "0")
    }
    :> Task

/// An empty OTLP/HTTP success.
let private httpOk (context: HttpContext) =
    task {
        do! context.Request.Body.CopyToAsync(IO.Stream.Null)
        context.Response.ContentType <- "application/x-protobuf"
    }
    :> Task

/// A Kestrel server on 127.0.0.1 (`port`, 0 for one the system picks) answering with `handler`; it counts the
/// connections that brought requests. `StopAsync` stops it as a replica leaving a balancer does: gracefully (HTTP/2
/// GOAWAY, HTTP/1.1 `Connection: close`), then aborting what is still open when `grace` runs out.
type private Replica(protocols: HttpProtocols, handler: HttpContext -> Task, ?port: int) =
    let connections = ConcurrentDictionary<string, int>()
    let builder = WebApplication.CreateEmptyBuilder(WebApplicationOptions())
    do builder.WebHost.UseKestrelCore() |> ignore
    let mutable listen: ListenOptions = null
    do
        builder.WebHost.ConfigureKestrel(fun k ->
            k.Listen(IPAddress.Loopback, defaultArg port 0, fun l ->
                l.Protocols <- protocols
                listen <- l))
        |> ignore
    let app = builder.Build()
    do
        app.Run(fun context ->
            connections.AddOrUpdate(context.Connection.Id, 1, fun _ n -> n + 1) |> ignore
            handler context)
    do app.StartAsync().GetAwaiter().GetResult()
    let mutable stopped = 0
    member _.Port = listen.IPEndPoint.Port
    member this.Url = $"http://127.0.0.1:{this.Port}"
    /// The connections that brought at least one request.
    member _.Connections = connections.Count
    member _.Requests = connections.Values |> Seq.sum
    member _.StopAsync(grace: TimeSpan) : Task =
        if Interlocked.Exchange(&stopped, 1) = 0 then
            task {
                use timeout = new CancellationTokenSource(grace)
                do! app.StopAsync(timeout.Token)
                do! app.DisposeAsync()
            }
        else
            Task.CompletedTask
    interface IAsyncDisposable with
        member this.DisposeAsync() = ValueTask(this.StopAsync(TimeSpan.FromSeconds 1.0))

/// A TCP relay on 127.0.0.1 in front of `upstream`, as an L4 balancer is: `ResetAll` ends every connection it relays
/// with a reset (linger 0), as a balancer does to connections idle past its timeout.
type private L4Balancer(upstream: int) =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    let stop = new CancellationTokenSource()
    let pairs = ConcurrentBag<Socket * Socket>()
    let mutable accepted = 0
    let blackholed = ConcurrentDictionary<Socket, bool>()
    let pump (from: Socket) (into: Socket) =
        task {
            let buffer = Array.zeroCreate<byte> 65536
            try
                let mutable going = true
                while going do
                    let! n = from.ReceiveAsync(ArraySegment buffer, SocketFlags.None)
                    if n = 0 then
                        into.Shutdown SocketShutdown.Send
                        going <- false
                    elif not (blackholed.ContainsKey from) then
                        let! (_: int) = into.SendAsync(ArraySegment(buffer, 0, n), SocketFlags.None)
                        ()
            with _ -> ()
        }
        :> Task
    do
        listener.Start()
        Task.Run(fun () ->
            task {
                try
                    while true do
                        let! client = listener.AcceptSocketAsync(stop.Token)
                        Interlocked.Increment &accepted |> ignore
                        let server = new Socket(SocketType.Stream, ProtocolType.Tcp)
                        do! server.ConnectAsync(IPEndPoint(IPAddress.Loopback, upstream))
                        pairs.Add((client, server))
                        pump client server |> ignore
                        pump server client |> ignore
                with _ -> ()
            } :> Task) |> ignore
    member _.Url = $"http://127.0.0.1:{(listener.LocalEndpoint :?> IPEndPoint).Port}"
    member _.Accepted = accepted
    /// From now on the connections open so far carry nothing either way, and are never closed: what a client sees of
    /// a balancer or NAT that forgot them (a replica gone without a reset, a path that went down).
    member _.BlackholeAll() =
        for client, server in pairs do
            blackholed[client] <- true
            blackholed[server] <- true
    member _.ResetAll() =
        for client, server in pairs do
            for socket in [ client; server ] do
                try
                    socket.LingerState <- LingerOption(true, 0)
                    socket.Close()
                with _ -> ()
        pairs.Clear()
    interface IAsyncDisposable with
        member this.DisposeAsync() =
            stop.Cancel()
            listener.Stop()
            this.ResetAll()
            ValueTask.CompletedTask

let private okFor protocol = if protocol = OtlpProtocol.Grpc then grpcOk else httpOk

let private kestrelProtocols protocol = if protocol = OtlpProtocol.Grpc then HttpProtocols.Http2 else HttpProtocols.Http1

let private bothProtocols = [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ]

let rebalancing =
    testSequenced <| testList "connection re-balancing" [
        for protocol in bothProtocols do
            testTask $"{protocol}: an export in flight when the replica stops gracefully (GOAWAY) completes; the next export opens a new connection to the replica that took the port" {
                let arrived = TaskCompletionSource()
                let release = TaskCompletionSource()
                let first =
                    new Replica(kestrelProtocols protocol, fun context ->
                        task {
                            arrived.TrySetResult() |> ignore
                            do! release.Task
                            do! (okFor protocol) context
                        })
                use exporter = exporterTo protocol first.Url ignore
                let export = exporter.ExportAsync(spans 3)
                do! arrived.Task.WaitAsync(TimeSpan.FromSeconds 10.0)
                let stopping = first.StopAsync(TimeSpan.FromSeconds 10.0)
                do! Task.Delay 200
                release.SetResult()
                let! (result: OtlpExportResult) = export
                Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 1) $"the call in flight completed: {result.Message}"
                do! stopping
                use second = new Replica(kestrelProtocols protocol, okFor protocol, first.Port)
                let! (next: OtlpExportResult) = exporter.ExportAsync(spans 2)
                Expect.equal (next.Status, next.Attempts) (OtlpExportStatus.Success, 1) $"the next export went to the new replica at once: {next.Message}"
                Expect.equal second.Connections 1 "over a new connection"
                Expect.equal exporter.Statistics.Exported 5L "every item counted as exported"
            }

            testTask $"{protocol}: an export in flight when the replica's shutdown grace runs out (connection aborted) is retried, not lost" {
                let arrived = TaskCompletionSource()
                let first =
                    new Replica(kestrelProtocols protocol, fun context ->
                        task {
                            arrived.TrySetResult() |> ignore
                            try
                                do! Task.Delay(Timeout.Infinite, context.RequestAborted)
                            with _ -> ()
                        })
                use exporter = exporterTo protocol first.Url ignore
                let problems = problemsOf exporter
                let export = exporter.ExportAsync(spans 3)
                do! arrived.Task.WaitAsync(TimeSpan.FromSeconds 10.0)
                do! first.StopAsync(TimeSpan.FromMilliseconds 200.0)
                use second = new Replica(kestrelProtocols protocol, okFor protocol, first.Port)
                let! (result: OtlpExportResult) = export
                Expect.equal result.Status OtlpExportStatus.Success $"retried on the replica that took the port: {result.Message}; {String.Join(' ', problems)}"
                Expect.isGreaterThan result.Attempts 1 "a second attempt"
                Expect.equal second.Requests 1 "delivered once to the new replica"
                Expect.equal exporter.Statistics.Dropped 0L "nothing dropped"
            }

            testTask $"{protocol}: an idle connection an L4 balancer resets does not fail the next export" {
                use replica = new Replica(kestrelProtocols protocol, okFor protocol)
                use balancer = new L4Balancer(replica.Port)
                use exporter = exporterTo protocol balancer.Url ignore
                let problems = problemsOf exporter
                let! (first: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal first.Status OtlpExportStatus.Success "the first export"
                balancer.ResetAll()
                do! Task.Delay 100
                let! (next: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal (next.Status, next.Attempts) (OtlpExportStatus.Success, 1) $"a new connection, no failed attempt: {String.Join(' ', problems)}"
                Expect.equal balancer.Accepted 2 "a second connection"
                Expect.equal exporter.Statistics.Dropped 0L "nothing dropped"
            }

        testTask "gRPC: a connection that went silent (a balancer forgot it) is found dead by keepalive pings and replaced within the export" {
            // HTTP/2 keeps one connection: without pings, every call goes on to the dead one, and fails at its timeout,
            // until the kernel gives up on it (about 15 minutes) or the connection's lifetime ends.
            use replica = new Replica(HttpProtocols.Http2, grpcOk)
            use balancer = new L4Balancer(replica.Port)
            use exporter = exporterTo OtlpProtocol.Grpc balancer.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 40.0))
            let problems = problemsOf exporter
            let! (first: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal first.Status OtlpExportStatus.Success "the first export"
            balancer.BlackholeAll()
            let watch = Diagnostics.Stopwatch.StartNew()
            let! (next: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal next.Status OtlpExportStatus.Success $"delivered over a new connection: {String.Join(' ', problems)}"
            Expect.isLessThan watch.Elapsed.TotalSeconds 36.0 "within the ping's delay and timeout and a retry, before the export timeout"
            Expect.equal balancer.Accepted 2 "a second connection"
        }
    ]

let restarts =
    testSequenced <| testList "receiver restarts" [
        for protocol in bothProtocols do
            testTask $"{protocol}: the receiver gone between exports and back on its port during the retry's backoff: every item exported and counted once" {
                let! (first: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                let ports = first.Options.WithPorts(first.GrpcEndpoint.Port, first.HttpEndpoint.Port)
                let url = (if protocol = OtlpProtocol.Grpc then first.GrpcEndpoint else first.HttpEndpoint).ToString()
                use exporter =
                    exporterTo protocol url (fun o ->
                        o.ScheduledDelay <- Nullable(TimeSpan.FromMinutes 10.0)
                        o.BatchExportTimeout <- Nullable(TimeSpan.FromSeconds 20.0))
                let problems = problemsOf exporter
                for _ in 1..3 do exporter.Offer(span (), InstrumentationScope.Empty) |> ignore
                let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                Expect.isTrue flushed "the first batch"
                Expect.equal first.Spans.Count 3 "received"
                do! first.DisposeAsync()
                for _ in 1..4 do exporter.Offer(span (), InstrumentationScope.Empty) |> ignore
                let flushing = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
                // The first attempt finds the port closed; the receiver is back before the retry.
                do! Task.Delay 300
                Expect.isGreaterThanOrEqual exporter.Statistics.Problems 1L $"the refused attempt said: {String.Join(' ', problems)}"
                let! (second: LoopbackReceiver) = LoopbackReceiver.StartAsync ports
                use _second = second
                let! (flushed: bool) = flushing
                Expect.isTrue flushed $"the second batch, after the restart: {String.Join(' ', problems)}"
                Expect.equal second.Spans.Count 4 "received by the receiver that came back, once"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (7L, 0L) "all exported, nothing dropped"
                // Once more, now that the receiver is back: the connection the exporter holds (or a new one) works.
                for _ in 1..2 do exporter.Offer(span (), InstrumentationScope.Empty) |> ignore
                let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                Expect.isTrue flushed "the third batch"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped, second.Requests.Count) (9L, 0L, 2) "exported once each"
            }

            testTask $"{protocol}: the receiver gone for good: the items are dropped as retries exhausted or deadline exceeded, never as a permanent failure" {
                let! (gone: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                let url = (if protocol = OtlpProtocol.Grpc then gone.GrpcEndpoint else gone.HttpEndpoint).ToString()
                do! gone.DisposeAsync()
                use exporter =
                    exporterTo protocol url (fun o ->
                        o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0)
                        o.BatchExportTimeout <- Nullable(TimeSpan.FromSeconds 2.0))
                for _ in 1..5 do exporter.Offer(span (), InstrumentationScope.Empty) |> ignore
                let! (_: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                let s = exporter.Statistics
                Expect.equal (s.Exported, s.DroppedPermanentFailure, s.DroppedRetriesExhausted + s.DroppedDeadlineExceeded) (0L, 0L, 5L) "counted as transient"
            }
    ]

/// A raw HTTP/1.1 answer of a gateway, then the connection closed.
let private rawAnswer (status: string) (headers: string) (body: string) =
    $"HTTP/1.1 {status}\r\n{headers}Content-Length: {Text.Encoding.UTF8.GetByteCount body}\r\nConnection: close\r\n\r\n{body}"

let private html title = $"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr><center>nginx</center></body></html>"

let gatewayReplies =
    testSequenced <| testList "gateway replies" [
        for code, reason in [ 502, "Bad Gateway"; 503, "Service Temporarily Unavailable"; 504, "Gateway Time-out" ] do
            testTask $"gRPC: a gateway's HTTP {code} with an HTML page is UNAVAILABLE, retried, said without the page or the headers" {
                use gateway =
                    new Replica(HttpProtocols.Http2, fun context ->
                        task {
                            context.Response.StatusCode <- code
                            context.Response.ContentType <- "text/html"
                            do! context.Response.WriteAsync(html $"{code} {reason}")
                        })
                use exporter = exporterTo OtlpProtocol.Grpc gateway.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0))
                let problems = problemsOf exporter
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal result.Status OtlpExportStatus.Failure "failed"
                Expect.isGreaterThan result.Attempts 1 "retried"
                Expect.stringContains result.Message "Unavailable" "as UNAVAILABLE"
                Expect.stringContains result.Message (string code) "naming the HTTP status"
                Expect.all problems (fun p -> not (p.Contains "<html") && not (p.Contains secret)) "no page, no header values"
            }

            testTask $"HTTP: a gateway's {code} with an HTML page is retried, said without the page" {
                use gateway = new Otlp.Tests.AnswersTests.RawServer(fun _ -> rawAnswer $"{code} {reason}" "Content-Type: text/html\r\n" (html $"{code} {reason}"))
                use exporter = exporterTo OtlpProtocol.HttpProtobuf gateway.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0))
                let problems = problemsOf exporter
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal result.Status OtlpExportStatus.Failure "failed"
                Expect.isGreaterThan result.Attempts 1 "retried"
                Expect.stringContains result.Message (string code) "naming the status"
                Expect.all problems (fun p -> not (p.Contains "<html") && not (p.Contains secret)) "no page, no header values"
            }

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"{protocol}: a retry the timeout cuts off: the result names the timeout and the gateway's answer before it" {
                let mutable calls = 0
                use gateway =
                    new Replica((if protocol = OtlpProtocol.Grpc then HttpProtocols.Http2 else HttpProtocols.Http1), fun context ->
                        task {
                            if Interlocked.Increment &calls = 1 then
                                context.Response.StatusCode <- 503
                                context.Response.ContentType <- "text/html"
                                do! context.Response.WriteAsync(html "503 Service Temporarily Unavailable")
                            else
                                // Hangs until the exporter gives up (its timeout), as an overloaded upstream does.
                                try do! Task.Delay(TimeSpan.FromSeconds 30.0, context.RequestAborted) with _ -> ()
                        })
                use exporter = exporterTo protocol gateway.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 3.0))
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 2)
                Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Failure, 2) $"the second attempt cut off: {result.Message}"
                Expect.stringContains result.Message "did not finish in time" "the timeout"
                Expect.stringContains result.Message "503" "the answer before it"
                Expect.isFalse (result.Message.Contains "<html") "without the page"
                Expect.equal exporter.Statistics.DroppedDeadlineExceeded 2L "counted as past the deadline"
            }

        testTask "gRPC: an HTTP 200 with no grpc-status (the stream ends without trailers) is retried: no status came" {
            use gateway =
                new Replica(HttpProtocols.Http2, fun context ->
                    task {
                        do! context.Request.Body.CopyToAsync(IO.Stream.Null)
                        context.Response.ContentType <- "application/grpc"
                        do! context.Response.Body.WriteAsync([| 0uy; 0uy; 0uy; 0uy; 0uy |], 0, 5)
                    })
            use exporter = exporterTo OtlpProtocol.Grpc gateway.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0))
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal result.Status OtlpExportStatus.Failure $"not a success: {result.Message}"
            Expect.isGreaterThan result.Attempts 1 $"retried: {result.Message}"
            Expect.stringContains result.Message "grpc-status" "said"
        }

        testTask "gRPC: an HTTP 200 with content-type text/html (a gateway's page) is retried, naming the content type" {
            use gateway =
                new Replica(HttpProtocols.Http2, fun context ->
                    task {
                        context.Response.ContentType <- "text/html"
                        do! context.Response.WriteAsync(html "Welcome to nginx!")
                    })
            use exporter = exporterTo OtlpProtocol.Grpc gateway.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0))
            let problems = problemsOf exporter
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal result.Status OtlpExportStatus.Failure "not a success"
            Expect.isGreaterThan result.Attempts 1 $"retried: {result.Message}"
            Expect.stringContains result.Message "text/html" "naming the content type"
            Expect.all problems (fun p -> not (p.Contains "<html")) "no page"
        }

        testTask "gRPC: a gateway that resets the stream in the middle of the answer: retried (no status came), the data delivered by the retry" {
            let mutable calls = 0
            use gateway =
                new Replica(HttpProtocols.Http2, fun context ->
                    task {
                        do! context.Request.Body.CopyToAsync(IO.Stream.Null)
                        if Interlocked.Increment &calls = 1 then
                            context.Response.ContentType <- "application/grpc"
                            do! context.Response.Body.WriteAsync([| 0uy; 0uy; 0uy |], 0, 3)
                            do! context.Response.Body.FlushAsync()
                            do! Task.Delay 50
                            context.Abort()
                        else
                            do! grpcOk context
                    })
            use exporter = exporterTo OtlpProtocol.Grpc gateway.Url ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) $"retried: {result.Message}"
            // An INTERNAL the server sends is its answer: still not retried.
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.Internal, "bug"))
            use toReceiver = exporterTo OtlpProtocol.Grpc (receiver.GrpcEndpoint.ToString()) ignore
            let! (answered: OtlpExportResult) = toReceiver.ExportAsync(spans 1)
            Expect.equal (answered.Status, answered.Attempts) (OtlpExportStatus.Failure, 1) "a sent INTERNAL is permanent"
        }

        testTask "HTTP: a gateway that closes the connection in the middle of the answer's head: retried" {
            let mutable calls = 0
            use gateway =
                new Otlp.Tests.AnswersTests.RawServer(fun _ ->
                    if Interlocked.Increment &calls = 1 then "HTTP/1.1 200 OK\r\nContent-Ty" else rawAnswer "200 OK" "" "")
            use exporter = exporterTo OtlpProtocol.HttpProtobuf gateway.Url ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) $"retried: {result.Message}"
        }

        testTask "HTTP: a gateway's 413 with an HTML page is a permanent failure, counted, naming the status" {
            use gateway =
                new Otlp.Tests.AnswersTests.RawServer(fun _ ->
                    rawAnswer "413 Request Entity Too Large" "Content-Type: text/html\r\n" (html "413 Request Entity Too Large"))
            use exporter = exporterTo OtlpProtocol.HttpProtobuf gateway.Url (fun o -> o.BatchExportTimeout <- Nullable(TimeSpan.FromSeconds 5.0))
            let problems = problemsOf exporter
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Failure, 1) "not retried"
            Expect.stringContains result.Message "413" "naming the status"
            for _ in 1..3 do exporter.Offer(span (), InstrumentationScope.Empty) |> ignore
            let! (_: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.equal exporter.Statistics.DroppedPermanentFailure 4L "the direct export's item and the batched ones counted as dropped"
            Expect.all problems (fun p -> not (p.Contains "<html") && not (p.Contains secret)) "no page, no header values"
        }

        testTask "gRPC: a server that requires HTTP/1.1 (an OTLP/HTTP port) fails the export at once, permanently, saying why" {
            // Kestrel resets HTTP/2 on an HTTP/1.1-only endpoint with HTTP_1_1_REQUIRED; retrying cannot help.
            use replica = new Replica(HttpProtocols.Http1, httpOk)
            use exporter = exporterTo OtlpProtocol.Grpc replica.Url ignore
            let problems = problemsOf exporter
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 2)
            Expect.equal (result.Status, result.Attempts, result.Rejected) (OtlpExportStatus.Failure, 1, 2L) $"not retried: {result.Message}"
            Expect.stringContains result.Message "refused the protocol: the server requires HTTP/1.1" "what the server said"
            Expect.stringContains result.Message "takes the protocol http/protobuf" "the way out"
            Expect.stringContains result.Message "(gave up: the error is permanent)" "given up as permanent"
            Expect.equal exporter.Statistics.DroppedPermanentFailure 2L "counted as a permanent failure"
            Expect.equal replica.Requests 0 "nothing reached the server's handler"
            Expect.all problems (fun p -> not (p.Contains secret)) "no header values"
        }

        testTask "HTTP: a 429 with Retry-After as an HTTP-date is retried after that date" {
            let mutable calls = 0
            use gateway =
                new Otlp.Tests.AnswersTests.RawServer(fun _ ->
                    if Interlocked.Increment &calls = 1 then
                        let date = DateTimeOffset.UtcNow.AddSeconds(2.0).ToString("r", Globalization.CultureInfo.InvariantCulture)
                        rawAnswer "429 Too Many Requests" $"Retry-After: {date}\r\n" ""
                    else
                        rawAnswer "200 OK" "" "")
            use exporter = exporterTo OtlpProtocol.HttpProtobuf gateway.Url ignore
            let watch = Diagnostics.Stopwatch.StartNew()
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "retried once"
            // The date has a resolution of a second: the wait is between 1 and 2 s.
            Expect.isGreaterThanOrEqual watch.Elapsed (TimeSpan.FromMilliseconds 900.0) "waited for the date"
        }
    ]

let addresses =
    testList "several addresses" [
        testCase "HTTP's connect tries the next address when the first refuses, within the attempt" <| fun () ->
            use listener = new TcpListener(IPAddress.Loopback, 0)
            listener.Start()
            let port = (listener.LocalEndpoint :?> IPEndPoint).Port
            let watch = Diagnostics.Stopwatch.StartNew()
            use stream = Otlp.Transport.BlockingSockets.ConnectFirst([| IPAddress.IPv6Loopback; IPAddress.Loopback |], port, CancellationToken.None)
            Expect.isLessThan watch.Elapsed.TotalSeconds 2.0 "at once"
            let remote = (stream :?> Net.Sockets.NetworkStream).Socket.RemoteEndPoint :?> IPEndPoint
            Expect.equal (remote.Address, remote.Port) (IPAddress.Loopback, port) "connected to the second address"
    ]

[<Tests>]
let tests = testList "Gateway" [ rebalancing; restarts; gatewayReplies; addresses ]

/// End to end: the exporters against the loopback receiver, every signal over every protocol and compression,
/// and the faults a real collector produces. Everything stays on 127.0.0.1.
module Otlp.Tests.IntegrationTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Otlp
open Otlp.Core
open Otlp.Core.Tests.Common
open Otlp.Testing

let private startReceiver () : Task<LoopbackReceiver> = LoopbackReceiver.StartAsync()

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private secret = "s3cr3t-api-key-value"

let private configure (receiver: LoopbackReceiver) (protocol: OtlpProtocol) (options: OtlpExporterOptions) =
    options.Protocol <- protocol
    options.BaseEndpoint <- (if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()
    options.Environment <- noEnvironment
    options.Headers["api-key"] <- secret

let private traces receiver protocol (extra: OtlpExporterOptions -> unit) =
    OtlpExporter.ForTraces().Configure(fun o -> configure receiver protocol o; extra o).Build()

let private sample (g: FsCheck.Gen<'a>) = (Gen.sampleWithSize 12 1 g)[0]

/// A trace exporter over HTTP to the receiver whose batches are 10 spans, sent when full (the delay is far away).
let private tenSpanBatches receiver =
    traces receiver OtlpProtocol.HttpProtobuf (fun o ->
        o.MaxExportBatchSize <- Nullable 10
        o.ScheduledDelay <- Nullable(TimeSpan.FromMinutes 10.0))

let private protocols = [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf; OtlpProtocol.HttpJson ]

let private compressions = [ OtlpCompression.None; OtlpCompression.Gzip; OtlpCompression.Zstd ]

let private nonEmpty (request: ExportTraceServiceRequest) =
    if request.ResourceSpans |> Array.sumBy (fun r -> r.ScopeSpans |> Array.sumBy (fun s -> s.Spans.Length)) = 0 then
        Request.ofSpans Resource.Empty InstrumentationScope.Empty [ sample Generators.span ]
    else
        request

/// Exports one request with a new exporter, then disposes it.
let private exportOnce (exporter: OtlpSignalExporter<'request, 'item>) (request: 'request) =
    task {
        try
            return! exporter.ExportAsync request
        finally
            exporter.DisposeAsync().AsTask().Wait()
    }

let private matrix =
    testList "every signal arrives intact over every protocol and compression" [
        for protocol in protocols do
            for compression in compressions do
                testTask $"{protocol} with {compression}" {
                    let! (receiver: LoopbackReceiver) = startReceiver ()
                    use _receiver = receiver
                    let set (o: OtlpExporterOptions) =
                        configure receiver protocol o
                        o.Compression <- Nullable compression
                    let traceRequest = nonEmpty (sample Generators.traceRequest)
                    // Requests with something in them: an empty one arrives intact however it is sent.
                    let metricsRequest =
                        sample (Generators.metricsRequest |> Gen.filter (fun r -> r.ResourceMetrics |> Array.exists (fun rm -> rm.ScopeMetrics |> Array.exists (fun sm -> sm.Metrics.Length > 0))))
                    let logsRequest =
                        sample (Generators.logsRequest |> Gen.filter (fun r -> r.ResourceLogs |> Array.exists (fun rl -> rl.ScopeLogs |> Array.exists (fun sl -> sl.LogRecords.Length > 0))))
                    let! (traceResult: OtlpExportResult) = exportOnce (OtlpExporter.ForTraces().Configure(set).Build()) traceRequest
                    let! (metricsResult: OtlpExportResult) = exportOnce (OtlpExporter.ForMetrics().Configure(set).Build()) metricsRequest
                    let! (logsResult: OtlpExportResult) = exportOnce (OtlpExporter.ForLogs().Configure(set).Build()) logsRequest
                    Expect.equal traceResult.Status OtlpExportStatus.Success $"traces: {traceResult.Message}"
                    Expect.equal metricsResult.Status OtlpExportStatus.Success $"metrics: {metricsResult.Message}"
                    Expect.equal logsResult.Status OtlpExportStatus.Success $"logs: {logsResult.Message}"
                    let received = receiver.Requests
                    Expect.equal received.Count 3 "one request per signal"
                    expectSame received[0].TraceRequest traceRequest "traces"
                    expectSame received[1].MetricsRequest metricsRequest "metrics"
                    expectSame received[2].LogsRequest logsRequest "logs"
                    for request in received do
                        Expect.equal (request.Header "api-key") secret "configured header"
                        Expect.stringContains (request.Header "user-agent") "OTel-OTLP-Exporter-Dotnet/" ("user agent: " + request.Header "user-agent")
                        let expected = match compression with OtlpCompression.Gzip -> "gzip" | OtlpCompression.Zstd -> "zstd" | _ -> ""
                        Expect.equal request.ContentEncoding expected "encoding"
                }
    ]

let private elapsed (action: unit -> Task<'result>) =
    task {
        let watch = Stopwatch.StartNew()
        let! (result: 'result) = action ()
        return result, watch.Elapsed
    }

/// A request's gRPC deadline in seconds: `grpc-timeout` is an integer of at most 8 digits and a unit (H, M, S, m for
/// milliseconds, u, n).
let private grpcTimeoutSeconds (request: ReceivedRequest) =
    let header = request.Header "grpc-timeout"
    Expect.isNotNull header "a deadline was sent"
    let amount = float (header.Substring(0, header.Length - 1))
    amount
    * (match header[header.Length - 1] with
       | 'H' -> 3600.0 | 'M' -> 60.0 | 'S' -> 1.0 | 'm' -> 1e-3 | 'u' -> 1e-6 | 'n' -> 1e-9
       | unit -> failwith $"unknown unit {unit}")

let private faults =
    testList "faults" [
        testTask "HTTP 503 with Retry-After is retried after the server's delay" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds 1.0))
            use exporter = traces receiver OtlpProtocol.HttpProtobuf ignore
            let! (result: OtlpExportResult), took = elapsed (fun () -> exporter.ExportAsync(sample Generators.traceRequest))
            Expect.equal result.Status OtlpExportStatus.Success "delivered"
            Expect.equal result.Attempts 2 "two attempts"
            Expect.isGreaterThanOrEqual took (TimeSpan.FromMilliseconds 900.0) "waited for Retry-After"
        }

        testTask "HTTP 429 is retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.HttpStatus(429).WithRetryAfter(TimeSpan.FromSeconds 1.0))
            use exporter = traces receiver OtlpProtocol.HttpJson ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "delivered on the second attempt"
        }

        testTask "gRPC UNAVAILABLE then OK is delivered" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.Unavailable, "restarting"))
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "delivered on the second attempt"
        }

        testTask "gRPC RESOURCE_EXHAUSTED with RetryInfo in a Trailers-Only reply is retried after its delay" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.ResourceExhausted, "slow down").WithRetryAfter(TimeSpan.FromSeconds 1.0))
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let! (result: OtlpExportResult), took = elapsed (fun () -> exporter.ExportAsync(sample Generators.traceRequest))
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "retried"
            Expect.isGreaterThanOrEqual took (TimeSpan.FromMilliseconds 900.0) "waited for RetryInfo"
        }

        testTask "gRPC RESOURCE_EXHAUSTED without RetryInfo is not retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.ResourceExhausted, "quota"))
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Failure, 1) "given up at once"
        }

        testTask "HTTP 400 and gRPC INVALID_ARGUMENT are not retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.HttpStatus 400, Reply.GrpcStatus(Grpc.Core.StatusCode.InvalidArgument, "bad"))
            use http = traces receiver OtlpProtocol.HttpProtobuf ignore
            use grpc = traces receiver OtlpProtocol.Grpc ignore
            let! (first: OtlpExportResult) = http.ExportAsync(sample Generators.traceRequest)
            let! (second: OtlpExportResult) = grpc.ExportAsync(sample Generators.traceRequest)
            Expect.equal (first.Status, first.Attempts) (OtlpExportStatus.Failure, 1) "HTTP 400"
            Expect.equal (second.Status, second.Attempts) (OtlpExportStatus.Failure, 1) "INVALID_ARGUMENT"
            Expect.equal receiver.Requests.Count 2 "no retries"
            Expect.equal grpc.Statistics.DroppedPermanentFailure (int64 (second.Rejected)) "counted"
        }

        testTask "a receiver slower than the timeout fails the export within the timeout" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0))
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.Timeout <- Nullable(TimeSpan.FromMilliseconds 500.0))
            let! (result: OtlpExportResult), took = elapsed (fun () -> exporter.ExportAsync(sample Generators.traceRequest))
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.isLessThan took (TimeSpan.FromSeconds 5.0) "bounded by the timeout"
        }

        testTask "each export has its own deadline and cancellation: one timed out or cancelled does not end the next" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.Timeout <- Nullable(TimeSpan.FromMilliseconds 500.0))
            let export (cancellationToken: CancellationToken) =
                elapsed (fun () -> exporter.ExportAsync(sample Generators.traceRequest, cancellationToken))
            // Prompt exports one after another: the second runs on what the first left (its deadline re-armed).
            let! (first: OtlpExportResult), _ = export CancellationToken.None
            receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0))
            let! (timedOut: OtlpExportResult), timedOutTook = export CancellationToken.None
            let! (afterTimeout: OtlpExportResult), _ = export CancellationToken.None
            receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0))
            let cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds 100.0)
            let! (cancelled: OtlpExportResult), cancelledTook = export cancel.Token
            cancel.Dispose()
            let! (afterCancel: OtlpExportResult), _ = export CancellationToken.None
            Expect.equal
                [ first.Status; timedOut.Status; afterTimeout.Status; cancelled.Status; afterCancel.Status ]
                [ OtlpExportStatus.Success; OtlpExportStatus.Failure; OtlpExportStatus.Success; OtlpExportStatus.Failure; OtlpExportStatus.Success ]
                "only the slow ones fail"
            Expect.isLessThan timedOutTook (TimeSpan.FromSeconds 5.0) "the slow export ended at its timeout"
            Expect.isLessThan cancelledTook (TimeSpan.FromSeconds 5.0) "the cancelled export ended when cancelled"
        }

        testTask "over HTTP the batch loop's send ends at the export timeout, and the retry delivers the batch" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 30.0))
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.Timeout <- Nullable(TimeSpan.FromMilliseconds 500.0))
            let scope = InstrumentationScope.create "slow" "1.0"
            for _ in 1..10 do exporter.Offer(sample Generators.span, scope) |> ignore
            let! flushed, took = elapsed (fun () -> exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0))
            Expect.isTrue flushed "flushed"
            Expect.isLessThan took (TimeSpan.FromSeconds 10.0) "the hanging attempt ended at its timeout"
            Expect.equal receiver.Spans.Count 10 "delivered by the retry"
            Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (10L, 0L) "counted as exported, none dropped"
        }

        testTask "connection resets are retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Reset)
            use exporter = traces receiver OtlpProtocol.HttpProtobuf ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "delivered after the reset"
        }

        testTask "an unreachable receiver fails after retries, counted and reported without the header value" {
            let port =
                let listener = new Net.Sockets.TcpListener(Net.IPAddress.Loopback, 0)
                listener.Start()
                let port = (listener.LocalEndpoint :?> Net.IPEndPoint).Port
                listener.Stop()
                port
            let problems = Collections.Concurrent.ConcurrentQueue<string>()
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint($"http://127.0.0.1:{port}").WithHeader("api-key", secret)
                    .Configure(fun o -> o.Environment <- noEnvironment; o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0)).Build()
            exporter.Statistics.add_Problem(fun message -> problems.Enqueue message)
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.isGreaterThan result.Attempts 1 "retried"
            Expect.isNonEmpty problems "reported"
            for p in problems do Expect.isFalse (p.Contains secret) "no secret in a problem"
            Expect.isFalse (result.Message.Contains secret) "no secret in the result"
            Expect.isFalse (exporter.Destination.Contains secret) "no secret in the destination"
        }

        testTask "a garbage reply body is still a success, reported" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Garbage())
            use exporter = traces receiver OtlpProtocol.HttpProtobuf ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal result.Status OtlpExportStatus.Success "accepted"
            Expect.equal exporter.Statistics.Problems 1L "reported"
        }

        testTask "a partial success is surfaced and not retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.PartialSuccess(2L, "two spans too old"))
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..5 -> sample Generators.span ])
            Expect.equal (result.Status, result.Rejected, result.Attempts) (OtlpExportStatus.PartialSuccess, 2L, 1) "partial"
            Expect.stringContains result.Message "too old" "message"
            Expect.equal exporter.Statistics.RejectedByServer 2L "counted"
            Expect.equal exporter.Statistics.Exported 3L "the rest exported"
        }

        testTask "a 404 explains the URL and how it was built" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpUrl(Signal.Traces).ToString())
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            let! (result: OtlpExportResult) = exporter.ExportAsync(sample Generators.traceRequest)
            Expect.equal result.Status OtlpExportStatus.Failure "not found"
            Expect.stringContains result.Message "v1/traces/v1/traces" "the doubled path"
            Expect.stringContains result.Message "signal endpoint" "the advice"
        }

        testTask "a burst beyond the queue drops exactly what did not fit, and everything else arrives" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Delay(TimeSpan.FromMilliseconds 300.0))
            use exporter =
                traces receiver OtlpProtocol.HttpProtobuf (fun o ->
                    o.MaxQueueSize <- Nullable 200
                    o.MaxExportBatchSize <- Nullable 50)
            let scope = InstrumentationScope.create "burst" "1.0"
            let span = sample Generators.span
            let accepted = [ for _ in 1..5000 -> exporter.Offer(span, scope) ] |> List.filter id |> List.length
            let! flushed = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
            Expect.isTrue flushed "flushed"
            Expect.equal receiver.Spans.Count accepted "every accepted span arrived"
            Expect.equal exporter.Statistics.DroppedQueueFull (int64 (5000 - accepted)) "every other span counted"
            Expect.equal exporter.Statistics.Exported (int64 accepted) "exported count"
        }

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"with two exports at a time over {protocol}, a second batch is sent while the first waits for its answer" {
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                let answerAfter = TimeSpan.FromSeconds 4.0
                receiver.Enqueue(Reply.Delay answerAfter, Reply.Delay answerAfter)
                use exporter =
                    traces receiver protocol (fun o ->
                        o.MaxExportBatchSize <- Nullable 10
                        o.ScheduledDelay <- Nullable(TimeSpan.FromMinutes 10.0)
                        o.MaxConcurrentExports <- Nullable 2)
                let scope = InstrumentationScope.create "concurrent" "1.0"
                for _ in 1..20 do exporter.Offer(sample Generators.span, scope) |> ignore
                // One at a time, the second request could not arrive before the first answer, 4 seconds on.
                let! _, took = elapsed (fun () -> receiver.WaitForRequestsAsync(2, TimeSpan.FromSeconds 20.0))
                Expect.isLessThan took (TimeSpan.FromSeconds 3.0) "both requests in flight at once"
                let! flushed = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
                Expect.isTrue flushed "flushed"
                Expect.equal receiver.Spans.Count 20 "every span arrived once"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (20L, 0L) "counted as exported"
            }

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"encoding ahead (the default over gRPC) over {protocol}: while a request waits for its answer, the next batch leaves the queue but is sent only after that answer" {
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                let answerAfter = TimeSpan.FromSeconds 2.0
                receiver.Enqueue(Reply.Delay answerAfter)
                use exporter =
                    traces receiver protocol (fun o ->
                        o.MaxQueueSize <- Nullable 20
                        o.MaxExportBatchSize <- Nullable 10
                        o.EncodeAhead <- Nullable true
                        o.ScheduledDelay <- Nullable(TimeSpan.FromMinutes 10.0))
                let scope = InstrumentationScope.create "ahead" "1.0"
                let offer count = [ for _ in 1..count -> exporter.Offer(sample Generators.span, scope) ] |> List.filter id |> List.length
                Expect.equal (offer 10) 10 "the first batch"
                let! _ = receiver.WaitForRequestsAsync(1, TimeSpan.FromSeconds 20.0)
                Expect.equal (offer 10) 10 "the second batch, encoded while the first is on the wire"
                do! Task.Delay 300
                // The queue is empty again: the second batch is out of it, waiting for its turn to send.
                Expect.equal (offer 21) 20 "a full queue more; the last one refused"
                Expect.equal exporter.Statistics.DroppedQueueFull 1L "the refusal counted"
                Expect.equal receiver.Requests.Count 1 "one request on the wire at a time"
                let! flushed = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
                Expect.isTrue flushed "flushed"
                let requests = List.ofSeq receiver.Requests
                Expect.equal (requests |> List.map _.ItemCount) [ 10; 10; 10; 10 ] "four batches"
                Expect.isGreaterThanOrEqual
                    (requests[1].ReceivedAt - requests[0].ReceivedAt)
                    (answerAfter - TimeSpan.FromMilliseconds 100.0)
                    "the second request came after the first answer"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (40L, 1L) "counted"
            }

        testTask "encoding ahead: at shutdown's deadline the batch waiting for its turn is never sent, and both batches count as dropped" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0))
            use exporter =
                traces receiver OtlpProtocol.HttpProtobuf (fun o ->
                    o.MaxExportBatchSize <- Nullable 10
                    o.EncodeAhead <- Nullable true
                    o.ScheduledDelay <- Nullable(TimeSpan.FromMinutes 10.0))
            let scope = InstrumentationScope.create "turn" "1.0"
            for _ in 1..10 do exporter.Offer(sample Generators.span, scope) |> ignore
            let! _ = receiver.WaitForRequestsAsync(1, TimeSpan.FromSeconds 20.0)
            // Encoded while the first is on the wire, then waiting for its turn.
            for _ in 1..10 do exporter.Offer(sample Generators.span, scope) |> ignore
            do! Task.Delay 300
            let! stopped, took = elapsed (fun () -> exporter.ShutdownAsync(TimeSpan.FromMilliseconds 500.0))
            Expect.isFalse stopped "not finished in time"
            Expect.isLessThan took (TimeSpan.FromSeconds 5.0) "returned at its deadline and grace"
            do! Task.Delay 300
            Expect.equal receiver.Requests.Count 1 "the waiting batch sent nothing"
            Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (0L, 20L) "both batches dropped, none exported"
        }

        testTask "with one export at a time (the default), the second batch waits for the first answer" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let answerAfter = TimeSpan.FromSeconds 2.0
            receiver.Enqueue(Reply.Delay answerAfter)
            use exporter = tenSpanBatches receiver
            let scope = InstrumentationScope.create "sequential" "1.0"
            for _ in 1..20 do exporter.Offer(sample Generators.span, scope) |> ignore
            let! _ = receiver.WaitForRequestsAsync(1, TimeSpan.FromSeconds 20.0)
            let! _, took = elapsed (fun () -> receiver.WaitForRequestsAsync(2, TimeSpan.FromSeconds 20.0))
            Expect.isGreaterThan took (TimeSpan.FromSeconds 1.5) "the second request came after the first answer"
            let! flushed = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
            Expect.isTrue flushed "flushed"
            Expect.equal receiver.Spans.Count 20 "every span arrived once"
        }

        testTask "shutdown with data pending flushes it within the deadline" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let scope = InstrumentationScope.create "shutdown" "1.0"
            for _ in 1..1000 do exporter.Offer(sample Generators.span, scope) |> ignore
            let! stopped = exporter.ShutdownAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue stopped "stopped in time"
            Expect.equal receiver.Spans.Count 1000 "all delivered"
            Expect.isFalse (exporter.Offer(sample Generators.span, scope)) "refused after shutdown"
        }

        testTask "a receiver started after the first attempt gets the data through retries" {
            let port =
                let listener = new Net.Sockets.TcpListener(Net.IPAddress.Loopback, 0)
                listener.Start()
                let port = (listener.LocalEndpoint :?> Net.IPEndPoint).Port
                listener.Stop()
                port
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint($"http://127.0.0.1:{port}")
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            let export = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ sample Generators.span ])
            do! Task.Delay 300
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync(LoopbackReceiverOptions().WithPorts(0, port))
            use _receiver = receiver
            let! (result: OtlpExportResult) = export
            Expect.equal result.Status OtlpExportStatus.Success "delivered once the receiver was up"
            Expect.isGreaterThan result.Attempts 1 "after failed attempts"
            Expect.equal receiver.Spans.Count 1 "arrived"
        }

        testTask "a success whose body is over 4 MiB delivered over HTTP (the body unread, said); over gRPC the call fails" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            receiver.Enqueue(Reply.Oversized(), Reply.Oversized())
            use http = traces receiver OtlpProtocol.HttpProtobuf ignore
            use grpc = traces receiver OtlpProtocol.Grpc ignore
            let problems = System.Collections.Concurrent.ConcurrentQueue<string>()
            http.Statistics.add_Problem(fun m -> problems.Enqueue m)
            let! (first: OtlpExportResult) = http.ExportAsync(sample Generators.traceRequest)
            let! (second: OtlpExportResult) = grpc.ExportAsync(sample Generators.traceRequest)
            Expect.equal (first.Status, first.Attempts) (OtlpExportStatus.Success, 1) "HTTP: the status decides"
            Expect.exists problems (fun p -> p.Contains "was not read") "HTTP: the unread body said"
            // Grpc.Net.Client fails a call whose answer is over its receive limit with RESOURCE_EXHAUSTED, which
            // cannot be told from a server's own refusal.
            Expect.equal (second.Status, second.Attempts) (OtlpExportStatus.Failure, 1) "gRPC"
        }

        testTask "a request over the size limit is split, and only a span too large alone is dropped" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.MaxRequestBytes <- Nullable 4096)
            let small i = { Span.Empty with TraceId = { High = 1UL; Low = uint64 i }; SpanId = { Value = uint64 i }; Name = String('s', 200) }
            let huge = { small 999 with Name = String('h', 10_000) }
            let spans = [ for i in 1..40 -> small i ] @ [ huge ]
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty spans)
            Expect.equal result.Status OtlpExportStatus.PartialSuccess "one span dropped"
            Expect.equal result.Rejected 1L "the huge one"
            Expect.isGreaterThan receiver.Requests.Count 1 "split into several requests"
            for request in receiver.Requests do
                Expect.isLessThanOrEqual request.Payload.Length 4096 "each within the limit"
            Expect.equal (receiver.Spans |> Seq.map (fun s -> s.SpanId.Value) |> List.ofSeq) [ 1UL .. 40UL ] "every other span, in order"
            Expect.equal exporter.Statistics.DroppedTooLarge 1L "counted"
        }

        testTask "a metric whose points together exceed the size limit goes in several requests, none of its points dropped" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = OtlpExporter.ForMetrics().Configure(fun o -> configure receiver OtlpProtocol.HttpProtobuf o; o.MaxRequestBytes <- Nullable 4096).Build()
            let point i =
                { Attributes = [| KeyValue.string "series" $"s{i}" |]; StartTimeUnixNano = 1UL; TimeUnixNano = 2UL
                  Value = NumberValue.AsInt(int64 i); Exemplars = [||]; Flags = 0u }
            let sum = { DataPoints = [| for i in 1..300 -> point i |]; AggregationTemporality = AggregationTemporality.Cumulative; IsMonotonic = true }
            let metric = { Name = "requests"; Description = ""; Unit = "1"; Data = MetricData.Sum sum; Metadata = [||] }
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ])
            Expect.equal result.Status OtlpExportStatus.Success "delivered"
            Expect.isGreaterThan receiver.Requests.Count 1 "in several requests"
            for request in receiver.Requests do
                Expect.isLessThanOrEqual request.Payload.Length 4096 "each within the limit"
            let points = receiver.Metrics |> Seq.sumBy (fun m -> match m.Data with MetricData.Sum s -> s.DataPoints.Length | _ -> 0)
            Expect.equal (points, exporter.Statistics.DroppedTooLarge) (300, 0L) "every point, none dropped"
        }

        testTask "with compression at the smallest size limit, small spans are still sent" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            for compression in [ OtlpCompression.Gzip; OtlpCompression.Zstd ] do
                receiver.Clear()
                use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.MaxRequestBytes <- Nullable 1024; o.Compression <- Nullable compression)
                let small i = { Span.Empty with TraceId = { High = 1UL; Low = uint64 i }; SpanId = { Value = uint64 i }; Name = $"small {i}" }
                let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ small 1; small 2 ])
                Expect.equal (result.Status, receiver.Spans.Count, exporter.Statistics.DroppedTooLarge) (OtlpExportStatus.Success, 2, 0L) $"{compression}: sent"
        }

        test "the size kept before compression leaves room for what gzip and zstd add to data that does not compress" {
            let random = Random(7)
            for limit in [ 1024; 1500; 4096; 65_536; 200_000; 4 * 1024 * 1024 ] do
                for compression in [ Compression.Gzip; Compression.Zstd ] do
                    // Uniform random bytes, and random bytes of 144 to 255, which fixed Huffman codes write in 9 bits.
                    for lowest in [ 0; 144 ] do
                        let payload = Array.init (OtlpTraceExporter.PayloadLimitFor(limit, compression)) (fun _ -> byte (random.Next(lowest, 256)))
                        let compressed = Otlp.Transport.PayloadCompression.CompressPooled(ReadOnlySpan payload, compression)
                        Expect.isLessThanOrEqual compressed.Count limit $"{compression} of {payload.Length} random bytes from {lowest} within {limit}"
        }

        testTask "a batched span too large alone is counted once, dropped, also when its batch is retried" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            // The first answer asks for a retry: each attempt finds the huge span again, and it is counted once.
            receiver.Enqueue(Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromMilliseconds 50.0))
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.MaxRequestBytes <- Nullable 4096)
            let small i = { Span.Empty with TraceId = { High = 1UL; Low = uint64 i }; SpanId = { Value = uint64 i }; Name = String('s', 200) }
            let huge = { small 999 with Name = String('h', 10_000) }
            let scope = InstrumentationScope.create "big" "1.0"
            Expect.isTrue (exporter.Offer(huge, scope)) "offered"
            for i in 1..40 do Expect.isTrue (exporter.Offer(small i, scope)) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            Expect.equal (receiver.Spans |> Seq.map (fun s -> s.SpanId.Value) |> Seq.distinct |> Seq.sort |> List.ofSeq) [ 1UL .. 40UL ] "every other span arrived"
            let statistics = exporter.Statistics
            Expect.equal (statistics.Exported, statistics.DroppedTooLarge, statistics.Dropped) (40L, 1L, 1L) "each offered span counted once"
        }

        testTask "a batch of activities over the size limit is split like spans, every one arriving once" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                receiver.Clear()
                use exporter = traces receiver protocol (fun o -> o.MaxRequestBytes <- Nullable 4096)
                let name = $"Test.Split.{Guid.NewGuid():N}"
                let source = new System.Diagnostics.ActivitySource(name)
                let tracer = Otlp.Tracing.OtlpTracer.Start(exporter, name)
                for i in 1..40 do
                    let activity = source.StartActivity($"work {i}")
                    activity.SetTag("payload", String('p', 200)).Stop()
                let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                tracer.Dispose()
                source.Dispose()
                Expect.isTrue flushed "flushed"
                Expect.equal tracer.Offered 40L "offered"
                Expect.isGreaterThan receiver.Requests.Count 1 "split into several requests"
                for request in receiver.Requests do
                    Expect.isLessThanOrEqual request.Payload.Length 4096 "each within the limit"
                Expect.equal
                    (receiver.Spans |> Seq.map (fun s -> s.Name) |> Seq.sort |> List.ofSeq)
                    ([ for i in 1..40 -> $"work {i}" ] |> List.sort)
                    "every span once"
        }

        testTask "a tracer listening to every source records the application's requests but not the exporter's own" {
            // The application's requests go to a receiver of their own, so that the exporter's connections (whose
            // activities are named after the address) can be told apart by port.
            let! (elsewhere: LoopbackReceiver) = startReceiver ()
            use _elsewhere = elsewhere
            for protocol, container in [ OtlpProtocol.HttpProtobuf, false; OtlpProtocol.Grpc, false; OtlpProtocol.HttpProtobuf, true ] do
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                // The exporter as built, or from AddOtlpExporters, sending through the container's HTTP client.
                let services = Microsoft.Extensions.DependencyInjection.ServiceCollection()
                Microsoft.Extensions.DependencyInjection.OtlpServiceCollectionExtensions.AddOtlpExporters(services, fun o -> configure receiver protocol o)
                |> ignore
                use provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider services
                use built = traces receiver protocol ignore
                let exporter =
                    if container then Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<OtlpTraceExporter> provider
                    else built
                let protocol = if container then $"{protocol} through the container's client" else string protocol
                let source = new ActivitySource($"Test.Self.{Guid.NewGuid():N}")
                let tracer = Otlp.Tracing.OtlpTracer.Start(exporter, "*")
                let application = new Net.Http.HttpClient()
                try
                    for round in 1..3 do
                        source.StartActivity($"work {round}").Stop()
                        let! (response: Net.Http.HttpResponseMessage) = application.GetAsync(Uri(elsewhere.HttpEndpoint, "/application"))
                        response.Dispose()
                        let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                        Expect.isTrue flushed "flushed"
                finally
                    application.Dispose()
                    tracer.Dispose()
                    source.Dispose()

                let exportPort = $":{(if protocol = string OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).Port}"
                let names = receiver.Spans |> Seq.map (fun s -> s.Name) |> List.ofSeq
                Expect.equal (names |> List.filter (fun n -> n.StartsWith "work")) [ "work 1"; "work 2"; "work 3" ] $"{protocol}: the spans"
                Expect.equal (names |> List.filter ((=) "GET")).Length 3 $"{protocol}: the application's requests"
                Expect.exists names (fun n -> n.StartsWith "socket connect" && n.EndsWith $":{elsewhere.HttpEndpoint.Port}") $"{protocol}: the application's connection: {names}"
                let exporters = names |> List.filter (fun n -> n = "POST" || n.StartsWith "Grpc" || n.EndsWith exportPort)
                Expect.isEmpty exporters $"{protocol}: no activity of the exporter's requests or connections"
        }

        testTask "batched exports do not run in the context of the code that offered the first item" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let ambient = System.Threading.AsyncLocal<string>()
            let seen = System.Collections.Concurrent.ConcurrentQueue<string>()
            let provider (_: System.Threading.CancellationToken) =
                seen.Enqueue(if isNull ambient.Value then "none" else ambient.Value)
                ValueTask<IEnumerable<KeyValuePair<string, string>>>(Seq.empty)
            use exporter = traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.HeaderProvider <- Func<_, _>(provider))
            // The first offer starts the export loop, inside a flow with a value of its own, as a request's would.
            ambient.Value <- "request-42"
            Expect.isTrue (exporter.Offer(sample Generators.span, InstrumentationScope.Empty)) "offered"
            ambient.Value <- null
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            Expect.equal (List.ofSeq seen) [ "none" ] "the export did not see the offering flow's value"
        }

        testTask "gRPC calls carry the exporter timeout as their deadline (grpc-timeout)" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = traces receiver OtlpProtocol.Grpc (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 7.0))
            let! (result: OtlpExportResult) = exporter.ExportAsync(nonEmpty (sample Generators.traceRequest))
            Expect.equal result.Status OtlpExportStatus.Success "delivered"
            let seconds = grpcTimeoutSeconds receiver.Requests[0]
            Expect.isTrue (seconds > 6.0 && seconds <= 7.0) $"about the 7 s timeout: {seconds} s"
        }

        testTask "a gRPC retry's deadline is what is left of the time: the timeout's on the direct path, the batch's in the loop" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let slowDown () =
                receiver.Enqueue(Reply.GrpcStatus(Grpc.Core.StatusCode.ResourceExhausted, "slow down").WithRetryAfter(TimeSpan.FromSeconds 1.5))
            // A direct export's attempts share the exporter timeout; a queued batch's share the batch export timeout,
            // each attempt within the exporter timeout.
            use exporter =
                traces receiver OtlpProtocol.Grpc (fun o ->
                    o.Timeout <- Nullable(TimeSpan.FromSeconds 7.0)
                    o.BatchExportTimeout <- Nullable(TimeSpan.FromSeconds 5.0))
            slowDown ()
            let! (result: OtlpExportResult) = exporter.ExportAsync(nonEmpty (sample Generators.traceRequest))
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 2) "delivered by the retry"
            slowDown ()
            Expect.isTrue (exporter.Offer(sample Generators.span, InstrumentationScope.Empty)) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "the batch delivered by its retry"
            let deadlines = receiver.Requests |> Seq.map grpcTimeoutSeconds |> List.ofSeq
            Expect.equal deadlines.Length 4 $"two attempts on each path ({deadlines})"
            Expect.isTrue (deadlines[0] > 6.0 && deadlines[0] <= 7.0) $"the direct export's first attempt has the 7 s timeout ({deadlines})"
            Expect.isTrue (deadlines[1] > 4.5 && deadlines[1] <= 5.5) $"its retry 1.5 s later has what is left ({deadlines})"
            Expect.isTrue (deadlines[2] > 4.0 && deadlines[2] <= 5.0) $"the batch's first attempt has the 5 s batch timeout ({deadlines})"
            Expect.isTrue (deadlines[3] > 2.5 && deadlines[3] <= 3.5) $"its retry 1.5 s later has what is left ({deadlines})"
        }

        testTask "a gRPC endpoint without a scheme, with insecure set, is reached over plain text" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let environment =
                dict [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
                       "OTEL_EXPORTER_OTLP_ENDPOINT", $"127.0.0.1:{receiver.GrpcEndpoint.Port}"
                       "OTEL_EXPORTER_OTLP_INSECURE", "true" ]
            use exporter = OtlpExporter.ForTraces().Configure(fun o -> o.Environment <- Dictionary(environment)).Build()
            Expect.isEmpty exporter.ConfigurationWarnings "a valid configuration"
            let! (result: OtlpExportResult) = exporter.ExportAsync(nonEmpty (sample Generators.traceRequest))
            Expect.equal result.Status OtlpExportStatus.Success $"delivered: {result.Message}"
            Expect.equal receiver.Requests.Count 1 "arrived over h2c"
        }

        testTask "a direct export inside an application's span does not carry its trace context" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let source = new ActivitySource($"Test.Context.{Guid.NewGuid():N}")
            let listener =
                new ActivityListener(
                    ShouldListenTo = (fun s -> s = source),
                    Sample = (fun _ -> ActivitySamplingResult.AllDataAndRecorded))

            ActivitySource.AddActivityListener listener
            try
                for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                    use exporter = traces receiver protocol ignore
                    let activity = source.StartActivity "application work"
                    let! (result: OtlpExportResult) = exporter.ExportAsync(nonEmpty (sample Generators.traceRequest))
                    Expect.equal Activity.Current activity $"{protocol}: the application's span is current again"
                    activity.Stop()
                    Expect.equal result.Status OtlpExportStatus.Success $"{protocol}: sent"
            finally
                listener.Dispose()
                source.Dispose()

            Expect.equal receiver.Requests.Count 2 "both requests"
            for request in receiver.Requests do
                Expect.isNull (request.Header "traceparent") "no trace context"
        }

        testTask "captured protobuf requests parse with the independent oracle" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter = traces receiver OtlpProtocol.Grpc ignore
            let request = nonEmpty (sample Generators.traceRequest)
            let! _ = exporter.ExportAsync request
            let parsed = Otlp.Core.Tests.Oracle.TraceRequest.Parser.ParseFrom(receiver.Requests[0].Payload)
            Expect.equal parsed (Otlp.Core.Tests.Oracle.ofTraceRequest request) "oracle message"
        }
    ]

let private endpointsWithAQuery =
    testList "an endpoint with a query" [
        for protocol in protocols do
            testTask $"delivers over {protocol}" {
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                let set (o: OtlpExporterOptions) =
                    configure receiver protocol o
                    o.BaseEndpoint <- o.BaseEndpoint.TrimEnd('/') + "/?tenant=t1"
                let request = nonEmpty (sample Generators.traceRequest)
                let exporter = OtlpExporter.ForTraces().Configure(set).Build()
                Expect.isFalse (exporter.Destination.Contains "t1") $"the query's value is not shown: {exporter.Destination}"
                let! (result: OtlpExportResult) = exportOnce exporter request
                Expect.equal result.Status OtlpExportStatus.Success $"traces: {result.Message}"
                Expect.equal receiver.Requests.Count 1 "arrived"
                if protocol <> OtlpProtocol.Grpc then
                    Expect.equal receiver.Requests[0].Path "/v1/traces" "the signal path before the query"
            }
    ]

let private unsendableHeaders =
    testList "headers that cannot be sent" [
        testTask "configured headers that are not gRPC metadata are skipped with a warning, and the export goes through" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            let exporter =
                OtlpExporter.ForTraces().Configure(fun o ->
                    configure receiver OtlpProtocol.Grpc o
                    o.Headers["x-token-bin"] <- "text"
                    o.Headers["x!bang"] <- "v").Build()
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "'x-token-bin'") "the -bin name said"
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "'x!bang'") "the bad key said"
            let! (result: OtlpExportResult) = exportOnce exporter (nonEmpty (sample Generators.traceRequest))
            Expect.equal result.Status OtlpExportStatus.Success $"exported: {result.Message}"
            Expect.equal (receiver.Requests[0].Header "api-key") secret "the good header sent"
        }

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"a header provider's headers that cannot be sent are skipped and reported over {protocol}" {
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                let provided =
                    [ KeyValuePair("bad name", "v"); KeyValuePair("x-line", "a\nb"); KeyValuePair("x-tenant", "t1") ]
                let exporter =
                    OtlpExporter.ForTraces().Configure(fun o ->
                        configure receiver protocol o
                        o.HeaderProvider <- fun _ -> ValueTask<IEnumerable<KeyValuePair<string, string>>>(provided :> IEnumerable<_>)).Build()
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (result: OtlpExportResult) = exportOnce exporter (nonEmpty (sample Generators.traceRequest))
                Expect.equal result.Status OtlpExportStatus.Success $"exported: {result.Message}"
                Expect.equal (receiver.Requests[0].Header "x-tenant") "t1" "the good provided header sent"
                Expect.exists problems (fun p -> p.Contains "'bad'") "the bad name reported, cut at its space"
                Expect.exists problems (fun p -> p.Contains "'x-line'") "the bad value reported"
                Expect.isFalse (problems |> Seq.exists (fun p -> p.Contains "a\nb")) "never the value"
            }

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"a header provider that throws fails the attempt, which is retried, over {protocol}" {
                let! (receiver: LoopbackReceiver) = startReceiver ()
                use _receiver = receiver
                let calls = ref 0
                let provider (_: System.Threading.CancellationToken) =
                    match System.Threading.Interlocked.Increment(&calls.contents) with
                    | 1 -> raise (InvalidOperationException "the token service is down")
                    | 2 -> ValueTask<IEnumerable<KeyValuePair<string, string>>>(Task.FromException<IEnumerable<KeyValuePair<string, string>>>(TimeoutException "token fetch"))
                    | 3 -> ValueTask<IEnumerable<KeyValuePair<string, string>>>(null: IEnumerable<KeyValuePair<string, string>>)
                    | _ -> ValueTask<IEnumerable<KeyValuePair<string, string>>>([ KeyValuePair("x-token", "t") ] :> IEnumerable<_>)
                let exporter =
                    OtlpExporter.ForTraces().Configure(fun o ->
                        configure receiver protocol o
                        o.HeaderProvider <- Func<_, _>(provider)).Build()
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (result: OtlpExportResult) = exportOnce exporter (nonEmpty (sample Generators.traceRequest))
                Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 4) $"delivered by the fourth attempt: {result.Message}"
                Expect.equal receiver.Requests.Count 1 "nothing sent while the provider failed"
                Expect.equal (receiver.Requests[0].Header "x-token") "t" "the provider's header, once it gave it"
                Expect.exists problems (fun p -> p.Contains "header provider threw InvalidOperationException: the token service is down") "the thrown exception said"
                Expect.exists problems (fun p -> p.Contains "header provider threw TimeoutException") "the faulted task said"
                Expect.exists problems (fun p -> p.Contains "header provider gave no headers") "the null said"
            }
    ]

let private serviceNames =
    let sentServiceName (environment: (string * string) list) =
        task {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _receiver = receiver
            use exporter =
                traces receiver OtlpProtocol.HttpProtobuf (fun o -> o.Environment <- Dictionary(dict environment))
            Expect.isTrue (exporter.Offer(sample Generators.span, InstrumentationScope.Empty)) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            return
                receiver.Requests[0].TraceRequest.ResourceSpans[0].Resource.Attributes
                |> Array.filter (fun kv -> kv.Key = "service.name")
                |> Array.map (fun kv -> kv.Value)
        }
    testList "service.name" [
        testTask "without one configured, the fallback names the process" {
            let! names = sentServiceName []
            let processName = System.Diagnostics.Process.GetCurrentProcess().ProcessName
            Expect.equal names [| AnyValue.String("unknown_service:" + processName) |] "the process's fallback"
        }

        testTask "one configured as unknown_service is sent as configured" {
            let! names = sentServiceName [ "OTEL_SERVICE_NAME", "unknown_service" ]
            Expect.equal names [| AnyValue.String "unknown_service" |] "as configured"
        }
    ]

[<Tests>]
let tests = testSequenced (testList "Integration" [ matrix; faults; endpointsWithAQuery; unsendableHeaders; serviceNames ])

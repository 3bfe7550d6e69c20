namespace Otlp.Testing

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.IO.Compression
open System.Net
open System.Runtime.InteropServices
open System.Threading
open System.Threading.Tasks
open Grpc.AspNetCore.Server.Model
open Grpc.Core
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.AspNetCore.Http
open Microsoft.AspNetCore.Server.Kestrel.Core
open Microsoft.AspNetCore.Server.Kestrel.Https
open Microsoft.Extensions.DependencyInjection
open Otlp.Core

/// What the handlers share: the requests, the scripts, and a signal pulsed on every change for the waits.
[<Sealed>]
type internal ReceiverState() =
    let gate = obj ()
    let requests = ResizeArray<ReceivedRequest>()
    let shared = Queue<Reply>()
    let perSignal = Dictionary<Signal, Queue<Reply>>()
    let mutable changed = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    let stopping = new CancellationTokenSource()

    // Called under the lock.
    let pulse () =
        let previous = changed
        changed <- TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
        previous.TrySetResult() |> ignore

    member _.Stopping = stopping.Token

    member _.Stop() = stopping.Cancel()

    member _.Enqueue(signal: Signal voption, replies: Reply array) =
        lock gate (fun () ->
            let queue =
                match signal with
                | ValueNone -> shared
                | ValueSome s ->
                    match perSignal.TryGetValue s with
                    | true, q -> q
                    | _ ->
                        let q = Queue<Reply>()
                        perSignal[s] <- q
                        q

            for reply in replies do
                queue.Enqueue reply)

    member _.Dequeue(signal: Signal) =
        lock gate (fun () ->
            match perSignal.TryGetValue signal with
            | true, q when q.Count > 0 -> q.Dequeue()
            | _ -> if shared.Count > 0 then shared.Dequeue() else Reply.Ok)

    member _.PendingReplies =
        lock gate (fun () -> shared.Count + (perSignal.Values |> Seq.sumBy _.Count))

    /// Records a request built with its arrival index.
    member _.Record(create: int -> ReceivedRequest) =
        lock gate (fun () ->
            let request = create requests.Count
            requests.Add request
            pulse ()
            request)

    member _.Accept(request: ReceivedRequest) =
        lock gate (fun () ->
            request.SetAccepted()
            pulse ())

    member _.Clear() =
        lock gate (fun () ->
            requests.Clear()
            shared.Clear()
            perSignal.Clear()
            pulse ())

    /// The requests, and a task that completes at the next change.
    member _.Snapshot() =
        lock gate (fun () -> requests.ToArray(), changed.Task)

/// The type Grpc.AspNetCore activates for the OTLP services; the methods are bound by `OtlpMethods`.
[<Sealed>]
type internal OtlpGrpcService() =
    class
    end

module internal Handlers =
    let rawBodyKey = obj ()

    let headersOf (request: HttpRequest) : IReadOnlyDictionary<string, string> =
        let headers = Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)

        for header in request.Headers do
            headers[header.Key] <- String.Join(", ", header.Value.ToArray())

        headers

    let readBody (request: HttpRequest) (cancellationToken: CancellationToken) =
        task {
            use buffer = new MemoryStream()
            do! request.Body.CopyToAsync(buffer, cancellationToken)
            return buffer.ToArray()
        }

    /// The whole body of a gRPC request, or None when the message is over `limit` and the call has been answered
    /// RESOURCE_EXHAUSTED, as gRPC servers answer a message larger than they accept (rather than HTTP 413).
    let readGrpcBody (context: HttpContext) (limit: int64) =
        task {
            // The limit is gRPC's, on the message: the 5-byte prefix does not count.
            let size = context.Features.Get<Features.IHttpMaxRequestBodySizeFeature>()

            if not (isNull size) && not size.IsReadOnly then
                size.MaxRequestBodySize <- Nullable(if limit > Int64.MaxValue - 5L then limit else limit + 5L)

            try
                let! raw = readBody context.Request context.RequestAborted
                return ValueSome raw
            with :? Microsoft.AspNetCore.Http.BadHttpRequestException as e when e.StatusCode = 413 ->
                // Trailers-Only: the status in the one HEADERS frame that ends the stream.
                let response = context.Response
                let header (name: string) (value: string) = response.Headers[name] <- Microsoft.Extensions.Primitives.StringValues value
                response.StatusCode <- 200
                response.ContentType <- "application/grpc"
                header "grpc-status" (string (int StatusCode.ResourceExhausted))
                header "grpc-message" $"The message is larger than {limit} bytes."
                return ValueNone
        }

    /// Waits out a reply's delay; false when the client or the receiver gave up first.
    let waitDelay (reply: Reply) (aborted: CancellationToken) (stopping: CancellationToken) =
        task {
            if reply.ReplyDelay <= TimeSpan.Zero then
                return true
            else
                use linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping)

                try
                    do! Task.Delay(reply.ReplyDelay, linked.Token)
                    return true
                with :? OperationCanceledException ->
                    return false
        }

    let isSuccess (reply: Reply) =
        match reply.Kind with
        | ReplyKind.Ok
        | ReplyKind.PartialSuccess
        | ReplyKind.Garbage
        | ReplyKind.Oversized -> true
        | ReplyKind.HttpStatus -> reply.StatusCode >= 200 && reply.StatusCode < 300
        | ReplyKind.GrpcStatus -> reply.GrpcCode = StatusCode.OK
        | _ -> false

    let private successBody (signal: Signal) (json: bool) (reply: Reply) =
        if not (isNull reply.Body) then
            reply.Body
        else
            match reply.Kind with
            | ReplyKind.PartialSuccess ->
                Wire.response signal json { Rejected = reply.Rejected; ErrorMessage = reply.Message }
            | ReplyKind.Garbage -> Wire.garbage reply.Size
            | ReplyKind.Oversized -> Wire.oversized json reply.Size
            | _ -> Wire.response signal json PartialSuccess.Empty

    let private write (context: HttpContext) (status: int) (contentType: string) (body: byte array) =
        task {
            let response = context.Response
            response.StatusCode <- status

            // 204, 205 and 304 replies never have content (RFC 9110 sections 15.3.5, 15.3.6, 15.4.5).
            if status <> 204 && status <> 205 && status <> 304 then
                response.ContentType <- contentType
                response.ContentLength <- Nullable body.LongLength
                do! response.Body.WriteAsync(ReadOnlyMemory body, context.RequestAborted)
        }

    /// Another method than POST on a signal's path: 405 with the `Allow` header that RFC 9110 section 15.5.6
    /// requires. Not an OTLP request, so not recorded.
    let refuseMethod (context: HttpContext) : Task =
        context.Response.Headers.Allow <- Microsoft.Extensions.Primitives.StringValues "POST"
        let message = Wire.utf8 $"Method {context.Request.Method} is not allowed: OTLP/HTTP requests are POSTs."
        write context 405 "text/plain; charset=utf-8" message

    /// A request that is not gRPC on the gRPC endpoint: 415, which gRPC over HTTP/2 says a server should answer
    /// to a content type that does not begin with "application/grpc". Not recorded.
    let refuseNonGrpc (context: HttpContext) : Task =
        let message = Wire.utf8 "This is the OTLP/gRPC endpoint: send OTLP/HTTP requests to the HTTP endpoint."
        write context 415 "text/plain; charset=utf-8" message

    /// A path that is a signal's only in another letter case or with a trailing slash: 404, as a collector
    /// answers (its paths are exact). Not recorded.
    let refuseUnknownPath (context: HttpContext) : Task =
        let message = Wire.utf8 $"No OTLP signal at '{context.Request.Path.Value}': the paths are /v1/traces, /v1/metrics and /v1/logs."
        write context 404 "text/plain; charset=utf-8" message

    /// A gRPC call on the HTTP endpoint: 404, as an OTLP/HTTP server has no such path; gRPC clients report it
    /// as UNIMPLEMENTED. Not recorded.
    let refuseGrpc (context: HttpContext) : Task =
        let message = Wire.utf8 "This is the OTLP/HTTP endpoint: make gRPC calls to the gRPC endpoint."
        write context 404 "text/plain; charset=utf-8" message

    /// Sends a reply to an OTLP/HTTP request.
    let sendHttp (context: HttpContext) (signal: Signal) (json: bool) (reply: Reply) : Task =
        task {
            let contentType = if json then "application/json" else "application/x-protobuf"

            let bodyContentType =
                if isNull reply.Body then contentType else reply.BodyContentType

            match reply.Kind with
            | ReplyKind.Reset -> context.Abort()
            | _ when isSuccess reply ->
                let status = if reply.Kind = ReplyKind.HttpStatus then reply.StatusCode else 200
                do! write context status bodyContentType (successBody signal json reply)
            | _ ->
                let status, code, message =
                    if reply.Kind = ReplyKind.GrpcStatus then
                        Wire.httpStatusOfGrpc reply.GrpcCode, reply.GrpcCode, reply.Message
                    else
                        reply.StatusCode, Wire.grpcCodeOfHttp reply.StatusCode, $"HTTP {reply.StatusCode}"

                match Wire.retryAfterHeader reply with
                | ValueSome value -> context.Response.Headers.RetryAfter <- Microsoft.Extensions.Primitives.StringValues value
                | ValueNone -> ()

                let body =
                    if not (isNull reply.Body) then
                        reply.Body
                    else
                        let delay = Wire.retryDelay reply DateTimeOffset.UtcNow

                        if json then
                            Wire.statusJson (int code) message delay
                        else
                            Wire.statusProto (int code) message delay

                do! write context status bodyContentType body
        }
        :> Task

    /// The body of `POST /v1/{signal}`, read whole: decompress, decode, record, then reply as scripted.
    let private handleHttpBody (state: ReceiverState) (limit: int64) (signal: Signal) (context: HttpContext) (body: byte array) : Task =
        task {
            let request = context.Request
            let contentType = if isNull request.ContentType then "" else request.ContentType
            let encoding = request.Headers.ContentEncoding.ToString()
            let media = Wire.mediaType contentType

            let json = media = "application/json"
            let transport = if json then Transport.HttpJson else Transport.HttpProtobuf
            let known = json || media = "application/x-protobuf"

            let decompressed = if known then Wire.decompress encoding limit body else Ok body

            let payload =
                match decompressed with
                | Ok bytes -> bytes
                | Error _ -> [||]

            let outcome =
                if not known then
                    Error(415, $"Content-Type '{contentType}' is not supported: use application/x-protobuf or application/json.")
                else
                    match decompressed with
                    | Error refusal -> Error refusal
                    | Ok bytes -> Wire.decode signal json bytes |> Result.mapError (fun message -> 400, message)

            let create index =
                ReceivedRequest(
                    index,
                    signal,
                    transport,
                    request.Path.ToString(),
                    contentType,
                    encoding,
                    headersOf request,
                    body,
                    payload,
                    context.Connection.ClientCertificate,
                    DateTimeOffset.UtcNow
                )

            match outcome with
            | Error(status, message) ->
                let reply =
                    if status = 415 then
                        Reply.HttpStatus(status).WithBody(Wire.utf8 message, "text/plain; charset=utf-8")
                    else
                        let code =
                            int (if status = 413 then StatusCode.ResourceExhausted else StatusCode.InvalidArgument)

                        let error =
                            if json then Wire.statusJson code message ValueNone
                            else Wire.statusProto code message ValueNone

                        Reply.HttpStatus(status).WithBody(error, (if json then "application/json" else "application/x-protobuf"))

                state.Record(fun index ->
                    let received = create index
                    received.SetError message
                    received.SetReply reply
                    received)
                |> ignore

                do! sendHttp context signal json reply
            | Ok(decoded, count) ->
                let reply = state.Dequeue signal

                let received =
                    state.Record(fun index ->
                        let received = create index
                        received.SetDecoded(decoded, count)
                        received.SetReply reply
                        received)

                let! proceed = waitDelay reply context.RequestAborted state.Stopping

                if not proceed then
                    context.Abort()
                else
                    // Accepted before the reply leaves, so a client that got its answer sees the data.
                    if isSuccess reply then
                        state.Accept received

                    do! sendHttp context signal json reply
        }
        :> Task

    /// `POST /v1/{signal}` whose body is over the size limit before decompression: 413 with a `google.rpc.Status`
    /// saying RESOURCE_EXHAUSTED in the request's encoding, as the OTLP/HTTP spec asks of every refusal. Not
    /// recorded: its body was not read.
    let private refuseTooLarge (context: HttpContext) (limit: int64) : Task =
        let json = Wire.mediaType (if isNull context.Request.ContentType then "" else context.Request.ContentType) = "application/json"
        let message = $"The body is larger than {limit} bytes."
        let code = int StatusCode.ResourceExhausted
        let error = if json then Wire.statusJson code message ValueNone else Wire.statusProto code message ValueNone
        write context 413 (if json then "application/json" else "application/x-protobuf") error

    /// `POST /v1/{signal}`: read, decompress, decode, record, then reply as scripted.
    let handleHttp (state: ReceiverState) (limit: int64) (signal: Signal) (context: HttpContext) : Task =
        task {
            let! read =
                task {
                    try
                        let! body = readBody context.Request context.RequestAborted
                        return ValueSome body
                    with :? Microsoft.AspNetCore.Http.BadHttpRequestException as e when e.StatusCode = 413 ->
                        return ValueNone
                }

            match read with
            | ValueSome body -> do! handleHttpBody state limit signal context body
            | ValueNone -> do! refuseTooLarge context limit
        }
        :> Task

    /// `*Service/Export`: Grpc.AspNetCore has unframed and decompressed the message; decode, record, reply.
    let handleGrpc (state: ReceiverState) (signal: Signal) (payload: byte array) (call: ServerCallContext) =
        task {
            let context = call.GetHttpContext()
            let request = context.Request

            let body =
                match context.Items.TryGetValue rawBodyKey with
                | true, (:? (byte array) as raw) -> raw
                | _ -> payload

            let create index =
                ReceivedRequest(
                    index,
                    signal,
                    Transport.Grpc,
                    request.Path.ToString(),
                    (if isNull request.ContentType then "" else request.ContentType),
                    request.Headers["grpc-encoding"].ToString(),
                    headersOf request,
                    body,
                    payload,
                    context.Connection.ClientCertificate,
                    DateTimeOffset.UtcNow
                )

            match Wire.decode signal false payload with
            | Error message ->
                let reply = Reply.GrpcStatus(StatusCode.InvalidArgument, message)

                state.Record(fun index ->
                    let received = create index
                    received.SetError message
                    received.SetReply reply
                    received)
                |> ignore

                return raise (RpcException(Status(StatusCode.InvalidArgument, message)))
            | Ok(decoded, count) ->
                let reply = state.Dequeue signal

                let received =
                    state.Record(fun index ->
                        let received = create index
                        received.SetDecoded(decoded, count)
                        received.SetReply reply
                        received)

                let! proceed = waitDelay reply call.CancellationToken state.Stopping

                if not proceed then
                    context.Abort()
                    return raise (RpcException(Status(StatusCode.Cancelled, "The client or the receiver gave up.")))
                elif reply.Kind = ReplyKind.Reset then
                    context.Abort()
                    return raise (RpcException(Status(StatusCode.Cancelled, "Reset by the script.")))
                elif isSuccess reply then
                    state.Accept received
                    return successBody signal false reply
                else
                    let code, message =
                        if reply.Kind = ReplyKind.GrpcStatus then
                            reply.GrpcCode, reply.Message
                        else
                            Wire.grpcCodeOfHttp reply.StatusCode, $"HTTP {reply.StatusCode}"

                    // Thrown before any message is written, so Grpc.AspNetCore answers Trailers-Only: status,
                    // message and details all in the one HEADERS frame that ends the stream.
                    let trailers = Metadata()

                    match Wire.retryDelay reply DateTimeOffset.UtcNow with
                    | ValueSome delay ->
                        trailers.Add("grpc-status-details-bin", Wire.statusProto (int code) message (ValueSome delay))
                    | ValueNone -> ()

                    return raise (RpcException(Status(code, message), trailers))
        }

/// Binds `Export` of the three OTLP services to the handlers, with a marshaller over raw bytes.
[<Sealed>]
type internal OtlpMethods(state: ReceiverState) =
    static let bytes = Marshallers.Create<byte array>((fun b -> b), (fun b -> b))

    interface IServiceMethodProvider<OtlpGrpcService> with
        member _.OnServiceMethodDiscovery(context) =
            for signal, service in
                [ Traces, "opentelemetry.proto.collector.trace.v1.TraceService"
                  Metrics, "opentelemetry.proto.collector.metrics.v1.MetricsService"
                  Logs, "opentelemetry.proto.collector.logs.v1.LogsService" ] do
                let method = Method<byte array, byte array>(MethodType.Unary, service, "Export", bytes, bytes)

                context.AddUnaryMethod(
                    method,
                    List<obj>(),
                    UnaryServerMethod<OtlpGrpcService, byte array, byte array>(fun _ request call ->
                        Handlers.handleGrpc state signal request call)
                )

[<Sealed>]
type LoopbackReceiver
    private (app: WebApplication, state: ReceiverState, options: LoopbackReceiverOptions, grpc: Uri, http: Uri) =
    let mutable disposed = 0

    let accepted () =
        let requests, _ = state.Snapshot()
        requests |> Array.filter _.Accepted

    let spans () =
        accepted () |> Array.filter (fun r -> r.Signal = Traces) |> Seq.collect (fun r -> Wire.spans r.TraceRequest)
        |> Array.ofSeq

    let metrics () =
        accepted () |> Array.filter (fun r -> r.Signal = Metrics) |> Seq.collect (fun r -> Wire.metrics r.MetricsRequest)
        |> Array.ofSeq

    let logRecords () =
        accepted () |> Array.filter (fun r -> r.Signal = Logs) |> Seq.collect (fun r -> Wire.logRecords r.LogsRequest)
        |> Array.ofSeq

    let describe (requests: ReceivedRequest array) =
        if requests.Length = 0 then
            $"no request arrived at {grpc} (gRPC) or {http} (HTTP)."
        else
            let shown = requests |> Seq.truncate 20 |> Seq.map (fun r -> "  " + string r)
            let more = if requests.Length > 20 then [ $"  ... and {requests.Length - 20} more" ] else []
            String.Join(Environment.NewLine, Seq.append (Seq.append [ $"{requests.Length} requests arrived:" ] shown) more)

    let waitAsync (what: string) (count: int) (measure: unit -> int * 'T) (timeout: TimeSpan) (cancellationToken: CancellationToken) =
        task {
            if count < 0 then
                raise (ArgumentOutOfRangeException(nameof count, count, "The count cannot be negative."))

            let clock = Stopwatch.StartNew()
            let mutable result = ValueNone

            while result.IsNone do
                let requests, changed = state.Snapshot()
                let have, value = measure ()

                if have >= count then
                    result <- ValueSome value
                else
                    cancellationToken.ThrowIfCancellationRequested()

                    let remaining =
                        if timeout = Timeout.InfiniteTimeSpan then Timeout.InfiniteTimeSpan else timeout - clock.Elapsed

                    if remaining <> Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero then
                        raise (
                            TimeoutException(
                                $"Waited {timeout.TotalSeconds:F1} s for {count} {what} but got {have}; "
                                + describe requests
                            )
                        )

                    try
                        do! changed.WaitAsync(remaining, cancellationToken)
                    with :? TimeoutException ->
                        ()

            return result.Value
        }

    static member StartAsync() = LoopbackReceiver.StartAsync(LoopbackReceiverOptions())

    static member StartAsync(options: LoopbackReceiverOptions) : Task<LoopbackReceiver> =
        ArgumentNullException.ThrowIfNull options

        if not (isNull options.ClientCertificateValidation) && isNull options.ServerCertificate then
            invalidArg (nameof options) "Client certificates need TLS: set a server certificate too."

        task {
            let state = ReceiverState()
            let mutable grpcListener: ListenOptions = null
            let mutable httpListener: ListenOptions = null
            let tls = not (isNull options.ServerCertificate)

            let secure (listener: ListenOptions) =
                if tls then
                    listener.UseHttps(fun (https: HttpsConnectionAdapterOptions) ->
                        https.ServerCertificate <- options.ServerCertificate

                        if not (isNull options.ClientCertificateValidation) then
                            https.ClientCertificateMode <- ClientCertificateMode.RequireCertificate
                            https.ClientCertificateValidation <- options.ClientCertificateValidation)
                    |> ignore

            // No configuration, no logging providers: environment variables cannot move the listeners, and
            // nothing is ever printed (header values may be credentials).
            let builder = WebApplication.CreateEmptyBuilder(WebApplicationOptions())
            builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration() |> ignore

            builder.WebHost.ConfigureKestrel(fun kestrel ->
                kestrel.AddServerHeader <- false
                kestrel.Limits.MaxRequestBodySize <- Nullable options.MaxRequestBodySize

                // Port 0 (the default): the system picks free ports, read back from the listen options once bound.
                kestrel.Listen(
                    IPAddress.Loopback,
                    options.GrpcPort,
                    fun listener ->
                        listener.Protocols <- HttpProtocols.Http2
                        secure listener
                        grpcListener <- listener
                )

                kestrel.Listen(
                    IPAddress.Loopback,
                    options.HttpPort,
                    fun listener ->
                        listener.Protocols <- HttpProtocols.Http1AndHttp2
                        secure listener
                        httpListener <- listener
                ))
            |> ignore

            // The receiver's requests are not the application's: a tracer in the same process listening to every
            // source (or to ASP.NET Core's) would record a server span for each export it receives, and export those
            // too. The host starts its request activities from the ActivitySource and DiagnosticListener it finds
            // here; a closed source has no listeners, and a listener of the receiver's own has no subscribers.
            let quietSource = new ActivitySource("Otlp.Testing.LoopbackReceiver")
            quietSource.Dispose()
            builder.Services.AddSingleton<ActivitySource>(quietSource) |> ignore
            builder.Services.AddSingleton<DiagnosticListener>(fun _ -> new DiagnosticListener("Otlp.Testing.LoopbackReceiver"))
            |> ignore

            builder.Services.AddRouting() |> ignore

            builder.Services.AddGrpc(fun grpcOptions ->
                grpcOptions.MaxReceiveMessageSize <- Nullable(int (min options.MaxRequestBodySize (int64 Int32.MaxValue)))
                grpcOptions.CompressionProviders.Clear()
                grpcOptions.CompressionProviders.Add(Grpc.Net.Compression.GzipCompressionProvider(CompressionLevel.Fastest))
                grpcOptions.CompressionProviders.Add(Wire.ZstdCompressionProvider()))
            |> ignore

            builder.Services.AddSingleton<OtlpGrpcService>() |> ignore

            builder.Services.AddSingleton<IServiceMethodProvider<OtlpGrpcService>>(OtlpMethods state)
            |> ignore

            let app = builder.Build()

            // One application serves both listeners, but each endpoint speaks only its own protocol, as a
            // collector's two servers do: a test that sends to the wrong one must fail here as it would there.
            // Then the gRPC body is kept as it came off the wire, for ReceivedRequest.Body; gRPC reads the copy.
            app.Use(
                Func<HttpContext, RequestDelegate, Task>(fun context next ->
                    task {
                        let contentType = context.Request.ContentType

                        let grpcRequest =
                            not (isNull contentType) && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)

                        let onGrpcEndpoint = context.Connection.LocalPort = grpcListener.IPEndPoint.Port

                        if onGrpcEndpoint && not grpcRequest then
                            do! Handlers.refuseNonGrpc context
                        elif grpcRequest && not onGrpcEndpoint then
                            do! Handlers.refuseGrpc context
                        elif grpcRequest then
                            match! Handlers.readGrpcBody context options.MaxRequestBodySize with
                            | ValueSome raw ->
                                context.Items[Handlers.rawBodyKey] <- raw
                                context.Request.Body <- new MemoryStream(raw, false)
                                do! next.Invoke context
                            | ValueNone -> ()
                        else
                            do! next.Invoke context
                    }
                    :> Task)
            )
            |> ignore

            app.MapGrpcService<OtlpGrpcService>() |> ignore

            // Every method is routed here, so that another one than POST gets 405 rather than 404. Routing also
            // matches other letter cases and a trailing slash, which a collector answers with 404: so do we, or an
            // exporter with a wrong path would pass here and fail there.
            for signal, path in [ Traces, "/v1/traces"; Metrics, "/v1/metrics"; Logs, "/v1/logs" ] do
                app.Map(
                    path,
                    RequestDelegate(fun context ->
                        if not (String.Equals(context.Request.Path.Value, path, StringComparison.Ordinal)) then
                            Handlers.refuseUnknownPath context
                        elif HttpMethods.IsPost context.Request.Method then
                            Handlers.handleHttp state options.MaxRequestBodySize signal context
                        else
                            Handlers.refuseMethod context)
                )
                |> ignore

            do! app.StartAsync()

            let scheme = if tls then "https" else "http"
            let uri (listener: ListenOptions) = Uri($"{scheme}://127.0.0.1:{listener.IPEndPoint.Port}/")
            return new LoopbackReceiver(app, state, options, uri grpcListener, uri httpListener)
        }

    member _.Options = options
    member _.GrpcEndpoint = grpc
    member _.HttpEndpoint = http

    member _.HttpUrl(signal: Signal) =
        match signal with
        | Traces -> Uri(http, "v1/traces")
        | Metrics -> Uri(http, "v1/metrics")
        | Logs -> Uri(http, "v1/logs")

    member _.Enqueue([<ParamArray>] replies: Reply array) =
        ArgumentNullException.ThrowIfNull replies
        state.Enqueue(ValueNone, replies)

    member _.Enqueue(signal: Signal, [<ParamArray>] replies: Reply array) =
        ArgumentNullException.ThrowIfNull replies
        state.Enqueue(ValueSome signal, replies)

    member _.PendingReplies = state.PendingReplies

    member _.Requests: IReadOnlyList<ReceivedRequest> = fst (state.Snapshot()) :> IReadOnlyList<_>
    member _.Spans: IReadOnlyList<Span> = spans ()
    member _.Metrics: IReadOnlyList<Metric> = metrics ()
    member _.MetricDataPointCount = metrics () |> Array.sumBy Wire.dataPointCount
    member _.LogRecords: IReadOnlyList<LogRecord> = logRecords ()
    member _.Clear() = state.Clear()

    member this.WaitForRequestsAsync(count: int) =
        this.WaitForRequestsAsync(count, options.DefaultTimeout, CancellationToken.None)

    member _.WaitForRequestsAsync(count: int, timeout: TimeSpan, [<Optional>] cancellationToken: CancellationToken) =
        waitAsync
            "requests"
            count
            (fun () ->
                let requests, _ = state.Snapshot()
                requests.Length, (requests :> IReadOnlyList<_>))
            timeout
            cancellationToken

    member this.WaitForSpansAsync(count: int) =
        this.WaitForSpansAsync(count, options.DefaultTimeout, CancellationToken.None)

    member _.WaitForSpansAsync(count: int, timeout: TimeSpan, [<Optional>] cancellationToken: CancellationToken) =
        waitAsync
            "spans"
            count
            (fun () ->
                let all = spans ()
                all.Length, (all :> IReadOnlyList<_>))
            timeout
            cancellationToken

    member this.WaitForMetricDataPointsAsync(count: int) =
        this.WaitForMetricDataPointsAsync(count, options.DefaultTimeout, CancellationToken.None)

    member _.WaitForMetricDataPointsAsync
        (count: int, timeout: TimeSpan, [<Optional>] cancellationToken: CancellationToken)
        =
        waitAsync
            "metric data points"
            count
            (fun () ->
                let all = metrics ()
                Array.sumBy Wire.dataPointCount all, (all :> IReadOnlyList<_>))
            timeout
            cancellationToken

    member this.WaitForLogRecordsAsync(count: int) =
        this.WaitForLogRecordsAsync(count, options.DefaultTimeout, CancellationToken.None)

    member _.WaitForLogRecordsAsync(count: int, timeout: TimeSpan, [<Optional>] cancellationToken: CancellationToken) =
        waitAsync
            "log records"
            count
            (fun () ->
                let all = logRecords ()
                all.Length, (all :> IReadOnlyList<_>))
            timeout
            cancellationToken

    member _.DisposeAsync() =
        if Interlocked.Exchange(&disposed, 1) = 0 then
            // Ends scripted delays first, so that stopping does not wait for them.
            state.Stop()

            ValueTask(
                task {
                    use timeout = new CancellationTokenSource(TimeSpan.FromSeconds 5.0)
                    do! app.StopAsync(timeout.Token)
                    do! app.DisposeAsync()
                }
            )
        else
            ValueTask.CompletedTask

    interface IAsyncDisposable with
        member this.DisposeAsync() = this.DisposeAsync()

    interface IDisposable with
        member this.Dispose() =
            this.DisposeAsync().AsTask().GetAwaiter().GetResult()

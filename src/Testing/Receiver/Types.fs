namespace Otlp.Testing

open System
open System.Collections.Generic
open System.Net.Security
open System.Security.Cryptography.X509Certificates
open Otlp.Core

type Transport =
    | Grpc = 0
    | HttpProtobuf = 1
    | HttpJson = 2

type ReplyKind =
    | Ok = 0
    | HttpStatus = 1
    | GrpcStatus = 2
    | PartialSuccess = 3
    | Garbage = 4
    | Oversized = 5
    | Reset = 6

type private ReplyData =
    { Kind: ReplyKind
      StatusCode: int
      GrpcCode: Grpc.Core.StatusCode
      Message: string
      Rejected: int64
      Size: int
      Delay: TimeSpan
      RetryAfter: Nullable<TimeSpan>
      RetryAfterDate: Nullable<DateTimeOffset>
      Body: byte array
      BodyContentType: string }

[<Sealed>]
type Reply private (data: ReplyData) =
    static let ok =
        { Kind = ReplyKind.Ok
          StatusCode = 0
          GrpcCode = Grpc.Core.StatusCode.OK
          Message = ""
          Rejected = 0L
          Size = 0
          Delay = TimeSpan.Zero
          RetryAfter = Nullable()
          RetryAfterDate = Nullable()
          Body = null
          BodyContentType = null }

    static member Ok = Reply ok

    static member HttpStatus(statusCode: int) =
        // A 1xx status is informational and never ends an exchange (RFC 9110 section 15.2), so it cannot be a reply.
        if statusCode < 200 || statusCode > 599 then
            raise (ArgumentOutOfRangeException(nameof statusCode, statusCode, "An HTTP reply status is 200 to 599."))

        Reply { ok with Kind = ReplyKind.HttpStatus; StatusCode = statusCode }

    static member GrpcStatus(code: Grpc.Core.StatusCode, message: string) =
        Reply { ok with Kind = ReplyKind.GrpcStatus; GrpcCode = code; Message = (if isNull message then "" else message) }

    static member PartialSuccess(rejected: int64, message: string) =
        Reply
            { ok with
                Kind = ReplyKind.PartialSuccess
                Rejected = rejected
                Message = (if isNull message then "" else message) }

    static member Garbage
        ([<System.Runtime.InteropServices.Optional; System.Runtime.InteropServices.DefaultParameterValue(64)>] length: int)
        =
        if length < 1 then
            raise (ArgumentOutOfRangeException(nameof length, length, "Garbage is at least one byte."))

        Reply { ok with Kind = ReplyKind.Garbage; Size = length }

    static member Oversized
        ([<System.Runtime.InteropServices.Optional; System.Runtime.InteropServices.DefaultParameterValue(8388608)>] size: int)
        =
        if size < 1 then
            raise (ArgumentOutOfRangeException(nameof size, size, "The size must be positive."))

        Reply { ok with Kind = ReplyKind.Oversized; Size = size }

    static member Reset = Reply { ok with Kind = ReplyKind.Reset }

    static member Delay(delay: TimeSpan) = Reply.Ok.WithDelay delay

    member _.Kind = data.Kind
    member _.StatusCode = data.StatusCode
    member _.GrpcCode = data.GrpcCode
    member _.Message = data.Message
    member _.Rejected = data.Rejected
    member internal _.Size = data.Size
    member _.ReplyDelay = data.Delay
    member _.RetryAfter = data.RetryAfter
    member _.RetryAfterDate = data.RetryAfterDate
    member _.Body = data.Body
    member _.BodyContentType = data.BodyContentType

    member _.WithDelay(delay: TimeSpan) =
        if delay < TimeSpan.Zero then
            raise (ArgumentOutOfRangeException(nameof delay, delay, "A delay cannot be negative."))

        Reply { data with Delay = delay }

    member _.WithRetryAfter(delay: TimeSpan) =
        if delay < TimeSpan.Zero then
            raise (ArgumentOutOfRangeException(nameof delay, delay, "A retry delay cannot be negative."))

        Reply { data with RetryAfter = Nullable delay; RetryAfterDate = Nullable() }

    member _.WithRetryAfter(date: DateTimeOffset) =
        Reply { data with RetryAfterDate = Nullable date; RetryAfter = Nullable() }

    member _.WithBody(body: byte array, contentType: string) =
        ArgumentNullException.ThrowIfNull body
        Reply { data with Body = body; BodyContentType = (if isNull contentType then "" else contentType) }

    override _.ToString() =
        let main =
            match data.Kind with
            | ReplyKind.HttpStatus -> $"HttpStatus {data.StatusCode}"
            | ReplyKind.GrpcStatus -> $"GrpcStatus {data.GrpcCode} \"{data.Message}\""
            | ReplyKind.PartialSuccess -> $"PartialSuccess {data.Rejected} \"{data.Message}\""
            | ReplyKind.Garbage -> $"Garbage {data.Size} bytes"
            | ReplyKind.Oversized -> $"Oversized {data.Size} bytes"
            | kind -> string kind

        let retry =
            if data.RetryAfter.HasValue then $" (retry after {data.RetryAfter.Value})"
            elif data.RetryAfterDate.HasValue then $" (retry after {data.RetryAfterDate.Value:R})"
            else ""

        let delay = if data.Delay > TimeSpan.Zero then $" after {data.Delay}" else ""
        main + retry + delay

[<Sealed>]
type ReceivedRequest
    internal
    (
        index: int,
        signal: Signal,
        transport: Transport,
        path: string,
        contentType: string,
        contentEncoding: string,
        headers: IReadOnlyDictionary<string, string>,
        body: byte array,
        payload: byte array,
        clientCertificate: X509Certificate2,
        receivedAt: DateTimeOffset
    ) =
    // Written once by the request's handler before the reply is sent, read by tests afterwards; the receiver
    // publishes the request under its lock after each change, which orders these writes.
    let mutable decodedValue: obj = null
    let mutable items = 0
    let mutable error: string = null
    let mutable given = Reply.Ok
    let mutable accepted = false

    member _.Index = index
    member _.Signal = signal
    member _.Transport = transport
    member _.Path = path
    member _.ContentType = contentType
    member _.ContentEncoding = contentEncoding
    member _.Headers = headers

    member _.Header(name: string) =
        match headers.TryGetValue name with
        | true, value -> value
        | _ -> null

    member _.Body = body
    member _.Payload = payload
    member _.ClientCertificate = clientCertificate
    member _.ReceivedAt = receivedAt

    member _.TraceRequest =
        match decodedValue with
        | :? ExportTraceServiceRequest as r -> r
        | _ -> Unchecked.defaultof<_>

    member _.MetricsRequest =
        match decodedValue with
        | :? ExportMetricsServiceRequest as r -> r
        | _ -> Unchecked.defaultof<_>

    member _.LogsRequest =
        match decodedValue with
        | :? ExportLogsServiceRequest as r -> r
        | _ -> Unchecked.defaultof<_>

    member _.Error = error
    member _.ItemCount = items
    member _.Reply = given
    member _.Accepted = accepted

    member internal _.SetDecoded(decoded: obj, itemCount: int) =
        decodedValue <- decoded
        items <- itemCount

    member internal _.SetError(message: string) = error <- message
    member internal _.SetReply(reply: Reply) = given <- reply
    member internal _.SetAccepted() = accepted <- true

    override _.ToString() =
        let encoding = if String.IsNullOrEmpty contentEncoding then "" else " " + contentEncoding
        let outcome = if isNull error then $"{items} items" else $"refused: {error}"
        $"#{index} {signal} {transport}{encoding} {path}: {outcome} -> {given}"

[<Sealed>]
type LoopbackReceiverOptions
    private
    (
        serverCertificate: X509Certificate2,
        clientCertificateValidation: Func<X509Certificate2, X509Chain, SslPolicyErrors, bool>,
        defaultTimeout: TimeSpan,
        maxRequestBodySize: int64,
        grpcPort: int,
        httpPort: int
    ) =
    new() = LoopbackReceiverOptions(null, null, TimeSpan.FromSeconds 10.0, 64L * 1024L * 1024L, 0, 0)

    member _.ServerCertificate = serverCertificate
    member _.ClientCertificateValidation = clientCertificateValidation
    member _.DefaultTimeout = defaultTimeout
    member _.MaxRequestBodySize = maxRequestBodySize
    member _.GrpcPort = grpcPort
    member _.HttpPort = httpPort

    member _.WithServerCertificate(certificate: X509Certificate2) =
        ArgumentNullException.ThrowIfNull certificate

        if not certificate.HasPrivateKey then
            invalidArg (nameof certificate) "A server certificate needs its private key."

        LoopbackReceiverOptions(certificate, clientCertificateValidation, defaultTimeout, maxRequestBodySize, grpcPort, httpPort)

    member _.WithClientCertificateValidation(validation: Func<X509Certificate2, X509Chain, SslPolicyErrors, bool>) =
        ArgumentNullException.ThrowIfNull validation
        LoopbackReceiverOptions(serverCertificate, validation, defaultTimeout, maxRequestBodySize, grpcPort, httpPort)

    member _.WithDefaultTimeout(timeout: TimeSpan) =
        if timeout <= TimeSpan.Zero && timeout <> Threading.Timeout.InfiniteTimeSpan then
            raise (ArgumentOutOfRangeException(nameof timeout, timeout, "A timeout must be positive or infinite."))

        LoopbackReceiverOptions(serverCertificate, clientCertificateValidation, timeout, maxRequestBodySize, grpcPort, httpPort)

    member _.WithMaxRequestBodySize(bytes: int64) =
        if bytes < 1L then
            raise (ArgumentOutOfRangeException(nameof bytes, bytes, "The limit must be positive."))

        LoopbackReceiverOptions(serverCertificate, clientCertificateValidation, defaultTimeout, bytes, grpcPort, httpPort)

    member _.WithPorts(grpc: int, http: int) =
        if grpc < 0 || grpc > 65535 || http < 0 || http > 65535 then
            raise (ArgumentOutOfRangeException(nameof grpc, "Ports are 0 (any free port) to 65535."))

        LoopbackReceiverOptions(serverCertificate, clientCertificateValidation, defaultTimeout, maxRequestBodySize, grpc, http)

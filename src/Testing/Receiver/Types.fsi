namespace Otlp.Testing

open System
open System.Collections.Generic
open System.Net.Security
open System.Security.Cryptography.X509Certificates
open Otlp.Core

/// How a request reached the loopback receiver.
type Transport =
    /// OTLP/gRPC: `opentelemetry.proto.collector.*.v1.*Service/Export` over HTTP/2.
    | Grpc = 0
    /// OTLP/HTTP with an `application/x-protobuf` body.
    | HttpProtobuf = 1
    /// OTLP/HTTP with an `application/json` body.
    | HttpJson = 2

/// What a scripted reply does, as reported by `Reply.Kind`.
type ReplyKind =
    /// Success: an empty export response (gRPC status OK, HTTP 200).
    | Ok = 0
    /// An HTTP status code (on gRPC, the gRPC status that code maps to).
    | HttpStatus = 1
    /// A gRPC status (on HTTP, the HTTP status it maps to, with a `google.rpc.Status` body).
    | GrpcStatus = 2
    /// Success with a partial success: some items rejected, or a warning.
    | PartialSuccess = 3
    /// Success with a body that is not a valid response.
    | Garbage = 4
    /// Success with a valid response padded to a large size.
    | Oversized = 5
    /// The connection (HTTP/1.1) or stream (HTTP/2) is aborted without a reply.
    | Reset = 6

/// One reply of the receiver's script. Build one with the static members, then refine it with the `With*`
/// methods, which return a new reply: `Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds 2.)`.
///
/// A reply fits both transports. On gRPC an HTTP status is sent as the gRPC status that the gRPC
/// specification maps it to (429, 502, 503, 504: UNAVAILABLE; 401: UNAUTHENTICATED; 403: PERMISSION_DENIED;
/// 404: UNIMPLEMENTED; 400: INTERNAL; other errors: UNKNOWN). On HTTP a gRPC status is sent as the HTTP status
/// that grpc-gateway maps it to (UNAVAILABLE: 503, RESOURCE_EXHAUSTED: 429, INVALID_ARGUMENT: 400, ...).
[<Sealed>]
type Reply =
    /// Success with an empty response.
    static member Ok: Reply

    /// An HTTP status code from 200 to 599, such as 503 or 429 (a 1xx status is never a final reply). Its body
    /// is a `google.rpc.Status` in the request's content type (as OTLP/HTTP requires for errors) unless
    /// `WithBody` gives another. A 2xx status is a success: the request is accepted and the body is an empty
    /// export response (no body at all for 204 and 205).
    static member HttpStatus: statusCode: int -> Reply

    /// A gRPC status with a message. Sent as a Trailers-Only response: the status, the message and, with
    /// `WithRetryAfter`, a `google.rpc.RetryInfo` in the `grpc-status-details-bin` trailer, in the response
    /// headers, with no message.
    static member GrpcStatus: code: Grpc.Core.StatusCode * message: string -> Reply

    /// Success with a partial success: `rejected` items refused (spans, data points or log records) and a
    /// message. A message with 0 rejected is a warning.
    static member PartialSuccess: rejected: int64 * message: string -> Reply

    /// Success (HTTP 200, gRPC OK) with `length` pseudo-random bytes as the response body or message. The first
    /// byte is 0, which no protobuf message and no JSON text can start with, so the body never decodes.
    static member Garbage: [<System.Runtime.InteropServices.Optional;
                              System.Runtime.InteropServices.DefaultParameterValue(64)>] length: int -> Reply

    /// Success with a valid empty response padded with an unknown field to at least `size` bytes (8 MiB by
    /// default, more than gRPC clients accept by default). A client that bounds what it reads must give up.
    static member Oversized: [<System.Runtime.InteropServices.Optional;
                                System.Runtime.InteropServices.DefaultParameterValue(8388608)>] size: int -> Reply

    /// No reply: the stream (HTTP/2) or connection (HTTP/1.1) is aborted, which clients see as a reset.
    static member Reset: Reply

    /// Success, after waiting `delay`. Equivalent to `Reply.Ok.WithDelay(delay)`.
    static member Delay: delay: TimeSpan -> Reply

    /// What this reply does.
    member Kind: ReplyKind

    /// The HTTP status of an `HttpStatus` reply; 0 for other kinds.
    member StatusCode: int

    /// The gRPC status of a `GrpcStatus` reply; `OK` for other kinds.
    member GrpcCode: Grpc.Core.StatusCode

    /// The message of a `GrpcStatus` or `PartialSuccess` reply; empty for other kinds.
    member Message: string

    /// The rejected count of a `PartialSuccess` reply; 0 for other kinds.
    member Rejected: int64

    /// The wait before replying; zero for none.
    member ReplyDelay: TimeSpan

    /// The length of a `Garbage` body or the size of an `Oversized` one.
    member internal Size: int

    /// The retry delay given with `WithRetryAfter(TimeSpan)`, or null.
    member RetryAfter: Nullable<TimeSpan>

    /// The retry date given with `WithRetryAfter(DateTimeOffset)`, or null.
    member RetryAfterDate: Nullable<DateTimeOffset>

    /// The same reply sent after waiting `delay`. The wait ends early, without a reply, if the client gives
    /// up (cancels or disconnects).
    member WithDelay: delay: TimeSpan -> Reply

    /// The same reply with a retry delay: on HTTP a `Retry-After` header in whole seconds (rounded up); on gRPC
    /// a `google.rpc.RetryInfo` detail in the `grpc-status-details-bin` trailer. Only error replies carry it.
    member WithRetryAfter: delay: TimeSpan -> Reply

    /// The same reply with a `Retry-After` header holding an HTTP-date (HTTP only: gRPC has no dates; there
    /// it becomes a RetryInfo of the time left until `date`, measured when the reply is sent).
    member WithRetryAfter: date: DateTimeOffset -> Reply

    /// The same reply with this body and content type instead of the default one on HTTP; on gRPC the body is
    /// the response message of a successful reply (error statuses have no message).
    member WithBody: body: byte array * contentType: string -> Reply

    /// The body given with `WithBody`, or null.
    member Body: byte array

    /// The content type given with `WithBody`, or null.
    member BodyContentType: string

    /// A short description, such as `HttpStatus 503 (Retry-After 2s)`.
    override ToString: unit -> string

/// A request as the loopback receiver saw it, with the reply it was given.
[<Sealed>]
type ReceivedRequest =
    internal new:
        index: int *
        signal: Signal *
        transport: Transport *
        path: string *
        contentType: string *
        contentEncoding: string *
        headers: IReadOnlyDictionary<string, string> *
        body: byte array *
        payload: byte array *
        clientCertificate: X509Certificate2 *
        receivedAt: DateTimeOffset ->
            ReceivedRequest

    /// Position of the request in arrival order, from 0 (restarting after `Clear`).
    member Index: int

    /// The signal of the endpoint or service called.
    member Signal: Signal

    /// gRPC, HTTP with protobuf, or HTTP with JSON.
    member Transport: Transport

    /// The request path, such as `/v1/traces` or `/opentelemetry.proto.collector.trace.v1.TraceService/Export`.
    member Path: string

    /// The `Content-Type` header as sent (`application/grpc` on gRPC); empty when absent.
    member ContentType: string

    /// `Content-Encoding` (HTTP) or `grpc-encoding` (gRPC) as sent, such as `gzip`; empty when absent.
    member ContentEncoding: string

    /// Every request header, by case-insensitive name; repeated headers are joined with ", ". The receiver never
    /// prints them: they may hold credentials.
    member Headers: IReadOnlyDictionary<string, string>

    /// The value of a header, or null when it was not sent.
    member Header: name: string -> string

    /// The request body exactly as received. For gRPC this is the whole HTTP/2 body: the 5-byte gRPC message
    /// prefix (compressed flag, big-endian length) and the message, compressed when `ContentEncoding` says so.
    member Body: byte array

    /// The OTLP message after decompression and, for gRPC, without the message prefix: protobuf or JSON.
    /// Empty when the body could not be decompressed.
    member Payload: byte array

    /// The client certificate of a TLS connection, or null.
    member ClientCertificate: X509Certificate2

    /// When the request arrived.
    member ReceivedAt: DateTimeOffset

    /// The decoded request when `Signal` is traces and the payload decoded; otherwise null.
    member TraceRequest: ExportTraceServiceRequest

    /// The decoded request when `Signal` is metrics and the payload decoded; otherwise null.
    member MetricsRequest: ExportMetricsServiceRequest

    /// The decoded request when `Signal` is logs and the payload decoded; otherwise null.
    member LogsRequest: ExportLogsServiceRequest

    /// Why the request was refused (unsupported content type or encoding, undecodable body), or null.
    member Error: string

    /// Spans, metric data points or log records in the decoded request.
    member ItemCount: int

    /// The reply given: the scripted one, `Reply.Ok` when the script was empty, or the 400/415 error of an
    /// invalid request.
    member Reply: Reply

    /// True once a successful reply (OK, partial success, garbage, oversized) has been sent: the data was
    /// delivered as far as the client can tell. Only accepted requests feed `Spans`, `Metrics` and `LogRecords`.
    member Accepted: bool

    member internal SetDecoded: decoded: obj * itemCount: int -> unit
    member internal SetError: message: string -> unit
    member internal SetReply: reply: Reply -> unit
    member internal SetAccepted: unit -> unit

    /// A one-line summary without header values, such as `#0 Traces Grpc gzip 2 items -> Ok`.
    override ToString: unit -> string

/// Settings of a `LoopbackReceiver`, immutable: each `With*` method returns a new copy.
[<Sealed>]
type LoopbackReceiverOptions =
    /// Plain-text listeners (h2c for gRPC), a 10 s default wait timeout.
    new: unit -> LoopbackReceiverOptions

    /// The TLS server certificate (with its private key), or null for plain text.
    member ServerCertificate: X509Certificate2

    /// The check of client certificates; when set, the TLS handshake requires a client certificate and
    /// accepts it only when this returns true. Null: no client certificate asked for.
    member ClientCertificateValidation: Func<X509Certificate2, X509Chain, SslPolicyErrors, bool>

    /// The timeout of the `WaitFor*Async` overloads that take none.
    member DefaultTimeout: TimeSpan

    /// The largest request body accepted, in bytes (64 MiB by default), compressed or decompressed; on gRPC, the
    /// largest message. A larger one is refused (HTTP 413; gRPC RESOURCE_EXHAUSTED, as gRPC servers answer) and
    /// not recorded, except an HTTP body that only decompresses to more, which is recorded as refused.
    member MaxRequestBodySize: int64

    /// Serve both listeners over TLS with this certificate, which must have its private key. Endpoints become
    /// `https`. Give the certificate a subject alternative name for 127.0.0.1 if clients check names.
    member WithServerCertificate: certificate: X509Certificate2 -> LoopbackReceiverOptions

    /// Require a client certificate (mutual TLS) and accept it only when `validation` returns true. Needs a
    /// server certificate.
    member WithClientCertificateValidation:
        validation: Func<X509Certificate2, X509Chain, SslPolicyErrors, bool> -> LoopbackReceiverOptions

    /// The timeout of the `WaitFor*Async` overloads that take none.
    member WithDefaultTimeout: timeout: TimeSpan -> LoopbackReceiverOptions

    /// The largest request body accepted, in bytes.
    member WithMaxRequestBodySize: bytes: int64 -> LoopbackReceiverOptions

    /// The port of the gRPC listener (0: any free port, the default).
    member GrpcPort: int

    /// The port of the HTTP listener (0: any free port, the default).
    member HttpPort: int

    /// Listens on these ports instead of free ones picked by the system (0 keeps that choice), for example to
    /// start a receiver where an exporter has been sending before it existed.
    member WithPorts: grpc: int * http: int -> LoopbackReceiverOptions

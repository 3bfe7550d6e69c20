namespace Otlp.Testing

open System
open System.Collections.Generic
open System.Runtime.InteropServices
open System.Threading
open System.Threading.Tasks
open Otlp.Core

/// A real OTLP receiver on 127.0.0.1, for tests of code that exports telemetry.
///
/// It listens on two ports picked by the system: `GrpcEndpoint` serves OTLP/gRPC (HTTP/2 only; cleartext is
/// h2c with prior knowledge) and `HttpEndpoint` serves OTLP/HTTP (`POST /v1/traces`, `/v1/metrics`,
/// `/v1/logs`; HTTP/1.1 and, over TLS, HTTP/2) with `application/x-protobuf` or `application/json` bodies,
/// plain or compressed with gzip or zstd. Each endpoint speaks only its own protocol, as a collector's two ports
/// do: OTLP/HTTP sent to the gRPC endpoint gets 415, a gRPC call to the HTTP endpoint 404 (UNIMPLEMENTED), and
/// neither is recorded. It answers in the request's format, with 405 for another method than POST, 415 for
/// another content type and 400 (gRPC: INVALID_ARGUMENT) with a message for a body it cannot decompress or
/// decode.
///
/// Every OTLP request is kept, valid or not (`Requests`), with its headers, raw and decompressed bytes, decoded
/// model and the reply it got; only the refusals said above not to be recorded are left out. `Spans`, `Metrics`
/// and `LogRecords` flatten the requests that were accepted.
/// The `WaitFor*Async` methods complete as soon as enough has arrived.
///
/// Replies are scripted: `Enqueue` adds replies (errors, delays, partial successes, garbage, resets) that
/// valid requests consume one each, those of the request's signal first, then those for any signal; with
/// none left the receiver replies OK. Invalid requests are refused without consuming a reply.
///
/// Nothing is logged or printed, header values included.
///
/// ```fsharp
/// use! receiver = LoopbackReceiver.StartAsync()
/// receiver.Enqueue(Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds 1.0))
/// // ... export to receiver.HttpEndpoint ...
/// let! spans = receiver.WaitForSpansAsync 3
/// ```
[<Sealed>]
type LoopbackReceiver =
    interface IAsyncDisposable
    interface IDisposable

    /// Starts a receiver with plain-text listeners.
    static member StartAsync: unit -> Task<LoopbackReceiver>

    /// Starts a receiver with these options (TLS, client certificates, timeouts).
    static member StartAsync: options: LoopbackReceiverOptions -> Task<LoopbackReceiver>

    /// The options the receiver was started with.
    member Options: LoopbackReceiverOptions

    /// The OTLP/gRPC endpoint, such as `http://127.0.0.1:41234/` (`https` with a server certificate).
    member GrpcEndpoint: Uri

    /// The base of the OTLP/HTTP endpoint, such as `http://127.0.0.1:41235/`, as `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// takes it.
    member HttpEndpoint: Uri

    /// The full OTLP/HTTP URL of a signal: `HttpEndpoint` + `v1/traces`, `v1/metrics` or `v1/logs`.
    member HttpUrl: signal: Signal -> Uri

    /// Appends replies to the script shared by all signals.
    member Enqueue: [<ParamArray>] replies: Reply array -> unit

    /// Appends replies to the script of one signal, which its requests consume before the shared one.
    member Enqueue: signal: Signal * [<ParamArray>] replies: Reply array -> unit

    /// Replies still in the scripts (all signals).
    member PendingReplies: int

    /// Every OTLP request received so far, in arrival order, refused and faulted ones included (a snapshot); a
    /// request to the wrong endpoint, with another method than POST or over the size limit is not recorded.
    member Requests: IReadOnlyList<ReceivedRequest>

    /// The spans of the accepted requests, in arrival order (a snapshot).
    member Spans: IReadOnlyList<Span>

    /// The metrics of the accepted requests, in arrival order (a snapshot).
    member Metrics: IReadOnlyList<Metric>

    /// The number of data points in `Metrics`, of every metric type.
    member MetricDataPointCount: int

    /// The log records of the accepted requests, in arrival order (a snapshot).
    member LogRecords: IReadOnlyList<LogRecord>

    /// Forgets the requests received and the replies still scripted.
    member Clear: unit -> unit

    /// Waits until at least `count` requests have arrived (accepted or not: this counts attempts), then returns
    /// them. Throws a TimeoutException listing what did arrive after the default timeout.
    member WaitForRequestsAsync: count: int -> Task<IReadOnlyList<ReceivedRequest>>

    /// Waits until at least `count` requests have arrived; throws a TimeoutException listing what did arrive
    /// after `timeout`, and OperationCanceledException when `cancellationToken` is cancelled.
    member WaitForRequestsAsync:
        count: int * timeout: TimeSpan * [<Optional>] cancellationToken: CancellationToken ->
            Task<IReadOnlyList<ReceivedRequest>>

    /// Waits until at least `count` spans have been accepted, then returns all of them.
    member WaitForSpansAsync: count: int -> Task<IReadOnlyList<Span>>

    /// Waits until at least `count` spans have been accepted, with a timeout and a cancellation token.
    member WaitForSpansAsync:
        count: int * timeout: TimeSpan * [<Optional>] cancellationToken: CancellationToken ->
            Task<IReadOnlyList<Span>>

    /// Waits until at least `count` metric data points have been accepted, then returns all metrics.
    member WaitForMetricDataPointsAsync: count: int -> Task<IReadOnlyList<Metric>>

    /// Waits until at least `count` metric data points have been accepted, with a timeout and a cancellation
    /// token.
    member WaitForMetricDataPointsAsync:
        count: int * timeout: TimeSpan * [<Optional>] cancellationToken: CancellationToken ->
            Task<IReadOnlyList<Metric>>

    /// Waits until at least `count` log records have been accepted, then returns all of them.
    member WaitForLogRecordsAsync: count: int -> Task<IReadOnlyList<LogRecord>>

    /// Waits until at least `count` log records have been accepted, with a timeout and a cancellation token.
    member WaitForLogRecordsAsync:
        count: int * timeout: TimeSpan * [<Optional>] cancellationToken: CancellationToken ->
            Task<IReadOnlyList<LogRecord>>

    /// Stops the listeners, ending open connections.
    member DisposeAsync: unit -> ValueTask

/// The retry policy of an OTLP export: which failures are retried, how long the server asks the client to
/// wait, and when the next attempt may start. Pure functions: the current time and the random number used for
/// jitter are arguments, so every decision can be replayed and property-tested.
///
/// Every time is in milliseconds. `nowMs` and `deadlineMs` are points on the caller's monotonic timeline
/// (for example `Stopwatch` ticks converted to milliseconds); delays are durations on that timeline.
///
/// ```
///   attempt n fails ──classify──> Success ─────────────────────────────> Done
///                                 Permanent ───────────────────────────> GiveUp (Permanent)
///                                 Retryable (server delay?)
///                                    │ n >= MaxAttempts ───────────────> GiveUp AttemptsExhausted
///                                    │ now + delay >= deadline ────────> GiveUp DeadlineExceeded
///                                    └─────────────────────────────────> RetryAfter delay, then attempt n+1
/// ```
///
/// Sources: the OTLP specification (opentelemetry-proto `docs/specification.md`), sections "Failures" of
/// OTLP/gRPC (the table of retryable gRPC codes, and RESOURCE_EXHAUSTED "retryable only if the server signals
/// that the recovery from resource exhaustion is possible ... by returning a status containing RetryInfo"),
/// "OTLP/gRPC Throttling", "Retryable Response Codes" of OTLP/HTTP ("429, 502, 503, 504 SHOULD be retried. All
/// other 4xx or 5xx response status codes MUST NOT be retried"), "OTLP/HTTP Throttling" ("The client SHOULD
/// honour the waiting interval specified in the Retry-After header") and "OTLP/HTTP Connection" ("the client
/// SHOULD retry the connection using an exponential backoff strategy ... with a random jitter").
[<RequireQualifiedAccess>]
module Otlp.Core.Retry

open System

/// What one export attempt's result means for retrying: the closed three-case classification.
[<RequireQualifiedAccess>]
type Classification =
    /// The server accepted the request (gRPC OK, HTTP 2xx). A partial success is a success here: the OTLP
    /// specification says the client MUST NOT retry it.
    | Success
    /// A transient failure: the same data may be sent again, after the server's delay when it gave one
    /// (Retry-After header or gRPC RetryInfo), in milliseconds.
    | Retryable of serverDelayMs: int64 option
    /// A failure that sending the same data again cannot fix; the data MUST be dropped. The text names the
    /// status, for diagnostics.
    | Permanent of reason: string

/// The gRPC status codes (grpc/doc/statuscodes.md), as the integers carried in the `grpc-status` trailer.
[<RequireQualifiedAccess>]
module GrpcCode =
    /// 0, success.
    [<Literal>]
    val Ok: int = 0
    /// 1, the operation was cancelled (retryable).
    [<Literal>]
    val Cancelled: int = 1
    /// 2, unknown error (permanent).
    [<Literal>]
    val Unknown: int = 2
    /// 3, the request is invalid (permanent).
    [<Literal>]
    val InvalidArgument: int = 3
    /// 4, the deadline expired before the operation completed (retryable).
    [<Literal>]
    val DeadlineExceeded: int = 4
    /// 5, not found (permanent).
    [<Literal>]
    val NotFound: int = 5
    /// 6, already exists (permanent).
    [<Literal>]
    val AlreadyExists: int = 6
    /// 7, permission denied (permanent).
    [<Literal>]
    val PermissionDenied: int = 7
    /// 8, resource exhausted (retryable only with RetryInfo).
    [<Literal>]
    val ResourceExhausted: int = 8
    /// 9, failed precondition (permanent).
    [<Literal>]
    val FailedPrecondition: int = 9
    /// 10, aborted (retryable).
    [<Literal>]
    val Aborted: int = 10
    /// 11, out of range (retryable).
    [<Literal>]
    val OutOfRange: int = 11
    /// 12, unimplemented (permanent).
    [<Literal>]
    val Unimplemented: int = 12
    /// 13, internal error (permanent).
    [<Literal>]
    val Internal: int = 13
    /// 14, the service is unavailable (retryable).
    [<Literal>]
    val Unavailable: int = 14
    /// 15, unrecoverable data loss (retryable).
    [<Literal>]
    val DataLoss: int = 15
    /// 16, unauthenticated (permanent).
    [<Literal>]
    val Unauthenticated: int = 16

/// Classifies a gRPC status code. `retryInfoDelayMs` is the delay of the RetryInfo detail found in the
/// `grpc-status-details-bin` trailer (see `tryParseRetryInfo`), None when the server sent none.
/// CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retryable;
/// RESOURCE_EXHAUSTED is retryable only when RetryInfo is present; every other non-OK code is permanent.
val classifyGrpc: statusCode: int -> retryInfoDelayMs: int64 option -> Classification

/// Classifies an HTTP response status. `retryAfterMs` is the parsed `Retry-After` header (see
/// `tryParseRetryAfter`). 2xx is success; 429, 502, 503 and 504 are retryable; everything else (400, 401,
/// 403, 404, 413, 500, and also 1xx and 3xx, which an OTLP client does not expect) is permanent.
val classifyHttp: statusCode: int -> retryAfterMs: int64 option -> Classification

/// The classification of a failure to connect or a connection lost before a response: retryable, with no
/// server delay ("If the server disconnects without returning a response, the client SHOULD retry").
val connectionFailure: Classification

/// Parses an HTTP `Retry-After` header value (RFC 9110 section 10.2.3) into a delay in milliseconds:
/// either delay-seconds (digits only, surrounding spaces allowed; huge values saturate) or an HTTP-date in
/// the IMF-fixdate, RFC 850 or asctime form, measured from `now` (the wall-clock time the response was
/// received); a date in the past means a delay of 0. None for a null, empty or malformed value. Never throws.
val tryParseRetryAfter: now: DateTimeOffset -> headerValue: string -> int64 option

/// Reads the retry delay, in milliseconds (nanoseconds rounded up; negative delays read as 0), from the bytes
/// of a serialized `google.rpc.Status` (the `grpc-status-details-bin` trailer): the first detail `Any` whose
/// type_url is `type.googleapis.com/google.rpc.RetryInfo`. Unknown fields are skipped. None when there is no
/// such detail or the bytes are null or malformed. Never throws.
val tryParseRetryInfo: statusDetails: byte array -> int64 option

/// As `tryParseRetryInfo`, from the base64 text form of the trailer (gRPC binary metadata; the padding may
/// be omitted). None for text that is not base64. Never throws.
val tryParseRetryInfoBase64: statusDetails: string -> int64 option

/// The exponential backoff settings. Defaults (`Policy.Default`) are those of the other OpenTelemetry OTLP
/// exporters (Java, .NET, Go): 1 s initial backoff, multiplier 1.5, 5 s maximum backoff, 5 attempts.
type Policy =
    {
        /// The cap of the first retry's delay, in milliseconds (>= 0).
        InitialBackoffMs: int64
        /// The growth of the cap from one retry to the next (>= 1).
        Multiplier: float
        /// The largest cap, in milliseconds (>= InitialBackoffMs).
        MaxBackoffMs: int64
        /// The most attempts of one export, the first one included (>= 1).
        MaxAttempts: int
    }

    /// InitialBackoffMs 1000, Multiplier 1.5, MaxBackoffMs 5000, MaxAttempts 5.
    static member Default: Policy

/// Why an export is not retried.
[<RequireQualifiedAccess>]
type GiveUpReason =
    /// The failure was classified permanent; the text names it.
    | Permanent of reason: string
    /// The attempt that failed was the policy's last one.
    | AttemptsExhausted
    /// The next attempt would not start before the export's deadline.
    | DeadlineExceeded

/// What to do after an attempt.
[<RequireQualifiedAccess>]
type Decision =
    /// The attempt succeeded; nothing more to do.
    | Done
    /// Start the next attempt after this many milliseconds, with the same deadline.
    | RetryAfter of delayMs: int64
    /// Stop and drop the data.
    | GiveUp of GiveUpReason

/// The cap of the delay before retry number `retry` (1 for the delay after the first attempt):
/// `min(MaxBackoffMs, InitialBackoffMs * Multiplier^(retry-1))`, never negative. Non-decreasing in `retry`.
val backoffCap: policy: Policy -> retry: int -> int64

/// The "full jitter" delay before retry number `retry`: `floor(random * (cap + 1))` clamped to [0, cap],
/// where `random` is a uniform number in [0, 1) supplied by the caller (NaN and out-of-range values are
/// clamped into it).
val jitteredBackoff: policy: Policy -> retry: int -> random: float -> int64

/// Decides what follows attempt number `attempt` (1-based) whose result is `classification`, at `nowMs`,
/// for an export that must be over by `deadlineMs`. A positive server delay replaces the computed backoff; a
/// zero (or negative) one counts as none, so the backoff applies (OTLP/gRPC "Throttling" allows a server to
/// send a RetryInfo of 0, and `Retry-After: 0` or a past date reads as 0: retrying at once would spend every
/// attempt within milliseconds). A retry is
/// scheduled only when it starts strictly before the deadline, so the export (every attempt and wait) never
/// outlives its deadline; permanent failures are never retried; no more than `MaxAttempts` attempts.
val decide:
    policy: Policy ->
    attempt: int ->
    classification: Classification ->
    nowMs: int64 ->
    deadlineMs: int64 ->
    random: float ->
        Decision

[<RequireQualifiedAccess>]
module Otlp.Core.Retry

open System
open System.Globalization
open Google.Protobuf

[<RequireQualifiedAccess>]
type Classification =
    | Success
    | Retryable of serverDelayMs: int64 option
    | Permanent of reason: string

[<RequireQualifiedAccess>]
module GrpcCode =
    [<Literal>]
    let Ok = 0

    [<Literal>]
    let Cancelled = 1

    [<Literal>]
    let Unknown = 2

    [<Literal>]
    let InvalidArgument = 3

    [<Literal>]
    let DeadlineExceeded = 4

    [<Literal>]
    let NotFound = 5

    [<Literal>]
    let AlreadyExists = 6

    [<Literal>]
    let PermissionDenied = 7

    [<Literal>]
    let ResourceExhausted = 8

    [<Literal>]
    let FailedPrecondition = 9

    [<Literal>]
    let Aborted = 10

    [<Literal>]
    let OutOfRange = 11

    [<Literal>]
    let Unimplemented = 12

    [<Literal>]
    let Internal = 13

    [<Literal>]
    let Unavailable = 14

    [<Literal>]
    let DataLoss = 15

    [<Literal>]
    let Unauthenticated = 16

let private grpcName code =
    match code with
    | GrpcCode.Ok -> "OK"
    | GrpcCode.Cancelled -> "CANCELLED"
    | GrpcCode.Unknown -> "UNKNOWN"
    | GrpcCode.InvalidArgument -> "INVALID_ARGUMENT"
    | GrpcCode.DeadlineExceeded -> "DEADLINE_EXCEEDED"
    | GrpcCode.NotFound -> "NOT_FOUND"
    | GrpcCode.AlreadyExists -> "ALREADY_EXISTS"
    | GrpcCode.PermissionDenied -> "PERMISSION_DENIED"
    | GrpcCode.ResourceExhausted -> "RESOURCE_EXHAUSTED"
    | GrpcCode.FailedPrecondition -> "FAILED_PRECONDITION"
    | GrpcCode.Aborted -> "ABORTED"
    | GrpcCode.OutOfRange -> "OUT_OF_RANGE"
    | GrpcCode.Unimplemented -> "UNIMPLEMENTED"
    | GrpcCode.Internal -> "INTERNAL"
    | GrpcCode.Unavailable -> "UNAVAILABLE"
    | GrpcCode.DataLoss -> "DATA_LOSS"
    | GrpcCode.Unauthenticated -> "UNAUTHENTICATED"
    | _ -> "status"

let classifyGrpc (statusCode: int) (retryInfoDelayMs: int64 option) =
    match statusCode with
    | GrpcCode.Ok -> Classification.Success
    | GrpcCode.Cancelled
    | GrpcCode.DeadlineExceeded
    | GrpcCode.Aborted
    | GrpcCode.OutOfRange
    | GrpcCode.Unavailable
    | GrpcCode.DataLoss -> Classification.Retryable retryInfoDelayMs
    // RetryInfo is how the server says it can recover from the exhaustion (OTLP/gRPC "Failures").
    | GrpcCode.ResourceExhausted when retryInfoDelayMs.IsSome -> Classification.Retryable retryInfoDelayMs
    | code -> Classification.Permanent $"gRPC {grpcName code} ({code})"

let classifyHttp (statusCode: int) (retryAfterMs: int64 option) =
    match statusCode with
    | code when code >= 200 && code <= 299 -> Classification.Success
    | 429
    | 502
    | 503
    | 504 -> Classification.Retryable retryAfterMs
    | code -> Classification.Permanent $"HTTP {code}"

let connectionFailure = Classification.Retryable None

// Saturating at a bound far beyond any useful delay keeps every later addition to a time overflow-free.
let private maxDelayMs = Int64.MaxValue / 4L

let private httpDateFormats =
    [| "r" // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
       "dddd, dd-MMM-yy HH:mm:ss 'GMT'" // obsolete RFC 850
       "ddd MMM d HH:mm:ss yyyy" // obsolete asctime, single-digit day padded with a space
       "ddd MMM dd HH:mm:ss yyyy" |]

let private tryParseDeltaSeconds (text: string) =
    if text.Length = 0 then
        None
    else
        let mutable ms = 0L
        let mutable valid = true

        for c in text do
            if c >= '0' && c <= '9' then
                if ms >= maxDelayMs / 10L then
                    ms <- maxDelayMs
                else
                    ms <- min maxDelayMs (ms * 10L + int64 (int c - int '0') * 1000L)
            else
                valid <- false

        // ms accumulates seconds * 1000 digit by digit: (s * 10 + d) * 1000 = s * 1000 * 10 + d * 1000.
        if valid then Some ms else None

let private tryParseHttpDate (now: DateTimeOffset) (text: string) =
    let normalized = text.Replace("  ", " ")
    let styles = DateTimeStyles.AdjustToUniversal ||| DateTimeStyles.AssumeUniversal

    match DateTime.TryParseExact(normalized, httpDateFormats, CultureInfo.InvariantCulture, styles) with
    | true, date ->
        let at = DateTimeOffset(DateTime.SpecifyKind(date, DateTimeKind.Utc))
        let delta = (at - now).Ticks / TimeSpan.TicksPerMillisecond
        Some(max 0L delta)
    | _ -> None

let tryParseRetryAfter (now: DateTimeOffset) (headerValue: string) =
    if isNull headerValue then
        None
    else
        let text = headerValue.Trim()

        match tryParseDeltaSeconds text with
        | Some ms -> Some ms
        | None when text.Length > 0 && Char.IsLetter text[0] -> tryParseHttpDate now text
        | None -> None

// google.protobuf.Any { string type_url = 1; bytes value = 2 }
[<Literal>]
let private Any_TypeUrl = 1

[<Literal>]
let private Any_Value = 2

// google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1 }
[<Literal>]
let private RetryInfo_RetryDelay = 1

// google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2 }
[<Literal>]
let private Duration_Seconds = 1

[<Literal>]
let private Duration_Nanos = 2

let private retryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo"

let private durationMs (bytes: ByteString) =
    let struct (seconds, nanos) =
        RpcStatus.foldFields bytes (struct (0L, 0)) (fun input field wire (struct (seconds, nanos)) ->
            match field, wire with
            | Duration_Seconds, WireFormat.WireType.Varint -> ValueSome(struct (input.ReadInt64(), nanos))
            | Duration_Nanos, WireFormat.WireType.Varint -> ValueSome(struct (seconds, input.ReadInt32()))
            | _ -> ValueNone)

    // Rounding nanoseconds up never retries earlier than the server asked.
    if seconds < 0L || (seconds = 0L && nanos <= 0) then 0L
    elif seconds >= maxDelayMs / 1000L then maxDelayMs
    else seconds * 1000L + (int64 (max 0 nanos) + 999_999L) / 1_000_000L

let private retryInfoMs (bytes: ByteString) =
    RpcStatus.foldFields bytes 0L (fun input field wire _ ->
        match field, wire with
        | RetryInfo_RetryDelay, WireFormat.WireType.LengthDelimited -> ValueSome(durationMs (input.ReadBytes()))
        | _ -> ValueNone)

let private anyRetryInfoMs (bytes: ByteString) =
    let struct (typeUrl, value) =
        RpcStatus.foldFields bytes (struct ("", ByteString.Empty)) (fun input field wire (struct (typeUrl, value)) ->
            match field, wire with
            | Any_TypeUrl, WireFormat.WireType.LengthDelimited -> ValueSome(struct (input.ReadString(), value))
            | Any_Value, WireFormat.WireType.LengthDelimited -> ValueSome(struct (typeUrl, input.ReadBytes()))
            | _ -> ValueNone)

    // Any's fields may come in either order, so the value is decoded only once the type is known.
    if typeUrl = retryInfoTypeUrl then Some(retryInfoMs value) else None

let tryParseRetryInfo (statusDetails: byte array) =
    if isNull statusDetails then
        None
    else
        try
            RpcStatus.foldFields (ByteString.CopyFrom statusDetails) None (fun input field wire found ->
                match field, wire with
                | RpcStatus.Details, WireFormat.WireType.LengthDelimited ->
                    let detail = input.ReadBytes()
                    ValueSome(if Option.isSome found then found else anyRetryInfoMs detail)
                | _ -> ValueNone)
        with :? InvalidProtocolBufferException ->
            // Trailer bytes come from the network: malformed ones mean "no usable RetryInfo", not a crash.
            None

let tryParseRetryInfoBase64 (statusDetails: string) =
    if isNull statusDetails then
        None
    else
        let text = statusDetails.Trim()
        let padded = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=')
        let buffer = Array.zeroCreate<byte> (padded.Length * 3 / 4)

        match Convert.TryFromBase64String(padded, Span buffer) with
        | true, written -> tryParseRetryInfo (Array.sub buffer 0 written)
        | _ -> None

type Policy =
    { InitialBackoffMs: int64
      Multiplier: float
      MaxBackoffMs: int64
      MaxAttempts: int }

    static member Default =
        { InitialBackoffMs = 1000L
          Multiplier = 1.5
          MaxBackoffMs = 5000L
          MaxAttempts = 5 }

[<RequireQualifiedAccess>]
type GiveUpReason =
    | Permanent of reason: string
    | AttemptsExhausted
    | DeadlineExceeded

[<RequireQualifiedAccess>]
type Decision =
    | Done
    | RetryAfter of delayMs: int64
    | GiveUp of GiveUpReason

let backoffCap (policy: Policy) (retry: int) =
    let initial = max 0L policy.InitialBackoffMs
    let ceiling = max initial policy.MaxBackoffMs
    let multiplier = if Double.IsNaN policy.Multiplier then 1.0 else max 1.0 policy.Multiplier
    // Computed in floating point and compared before converting back, so large retry numbers cannot overflow.
    let raw = float initial * Math.Pow(multiplier, float (max 0 (retry - 1)))
    if raw >= float ceiling then ceiling else int64 raw

let jitteredBackoff (policy: Policy) (retry: int) (random: float) =
    let cap = backoffCap policy retry
    let unit = if Double.IsNaN random then 0.0 else Math.Clamp(random, 0.0, 1.0)
    let delay = unit * float (cap + 1L)
    if delay >= float cap then cap else int64 delay

let decide (policy: Policy) (attempt: int) (classification: Classification) (nowMs: int64) (deadlineMs: int64) random =
    match classification with
    | Classification.Success -> Decision.Done
    | Classification.Permanent reason -> Decision.GiveUp(GiveUpReason.Permanent reason)
    | Classification.Retryable _ when attempt >= policy.MaxAttempts -> Decision.GiveUp GiveUpReason.AttemptsExhausted
    | Classification.Retryable serverDelay ->
        let delay =
            match serverDelay with
            // A zero delay (allowed: the server "MAY supply ... 0 value of RetryDelay", and Retry-After: 0) says
            // nothing about when to retry; taken as it is, it would spend every attempt at once.
            | Some ms when ms > 0L -> min ms maxDelayMs
            | _ -> jitteredBackoff policy attempt random

        // Written as a subtraction so a far deadline cannot overflow the comparison.
        if deadlineMs - nowMs > delay then
            Decision.RetryAfter delay
        else
            Decision.GiveUp GiveUpReason.DeadlineExceeded

module Otlp.Core.Tests.RetryTests

// The retry policy against the OTLP specification (opentelemetry-proto docs/specification.md): the gRPC
// "Failures" table, "Retryable Response Codes" and "OTLP/HTTP Throttling" for HTTP, and RetryInfo as sent in
// the grpc-status-details-bin trailer.

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Google.Protobuf
open Google.Protobuf.WellKnownTypes
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 500 }

let private policies =
    gen {
        let! initial = Gen.choose (0, 10_000)
        let! extra = Gen.choose (0, 60_000)
        let! multiplierTenths = Gen.choose (10, 40)
        let! attempts = Gen.choose (1, 10)

        let policy: Retry.Policy =
            { InitialBackoffMs = int64 initial
              Multiplier = float multiplierTenths / 10.0
              MaxBackoffMs = int64 (initial + extra)
              MaxAttempts = attempts }

        return policy
    }

let private units = Gen.choose (0, 999_999) |> Gen.map (fun n -> float n / 1_000_000.0)

/// A serialized google.rpc.Status written with Google.Protobuf's own Any and Duration types, independent of
/// the reader under test. `before` details (other types) precede the RetryInfo one.
let private statusBytes (code: int) (message: string) (before: (string * byte array) list) (retry: (int64 * int) option) =
    let retryInfo (seconds, nanos) =
        let duration = Duration(Seconds = seconds, Nanos = nanos)
        use buffer = new IO.MemoryStream()
        let output = new CodedOutputStream(buffer)
        output.WriteTag(1, WireFormat.WireType.LengthDelimited)
        output.WriteMessage duration
        output.Flush()
        Any(TypeUrl = "type.googleapis.com/google.rpc.RetryInfo", Value = ByteString.CopyFrom(buffer.ToArray()))

    let details =
        [ for typeUrl, value in before -> Any(TypeUrl = typeUrl, Value = ByteString.CopyFrom value)
          match retry with
          | Some delay -> yield retryInfo delay
          | None -> () ]

    use buffer = new IO.MemoryStream()
    let output = new CodedOutputStream(buffer)
    output.WriteTag(1, WireFormat.WireType.Varint)
    output.WriteInt32 code
    output.WriteTag(2, WireFormat.WireType.LengthDelimited)
    output.WriteString message
    // An unknown field between the known ones: readers must skip it.
    output.WriteTag(9, WireFormat.WireType.Fixed64)
    output.WriteFixed64 42UL

    for detail in details do
        output.WriteTag(3, WireFormat.WireType.LengthDelimited)
        output.WriteMessage detail

    output.Flush()
    buffer.ToArray()

let private otherDetails =
    Gen.listOfLength 2 (Gen.elements [ "type.googleapis.com/google.rpc.DebugInfo"; "type.googleapis.com/google.rpc.BadRequest"; "" ])
    |> Gen.bind (fun urls ->
        Gen.listOfLength urls.Length (Gen.arrayOf (Gen.choose (0, 255) |> Gen.map byte))
        |> Gen.map (List.zip urls))
    |> Gen.bind (fun pairs -> Gen.choose (0, pairs.Length) |> Gen.map (fun n -> List.take n pairs))

let private delays =
    gen {
        let! seconds = Gen.choose (0, 1_000_000)
        let! nanos = Gen.choose (0, 999_999_999)
        return int64 seconds, nanos
    }

let private expectedMs (seconds: int64, nanos: int) =
    seconds * 1000L + int64 ((nanos + 999_999) / 1_000_000)

let private baseTime = DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)

/// Runs one export through `Retry.decide` as a driver would: each attempt lasts `durations[i]` (cut at the
/// deadline, as the transport is given the deadline), fails with `failure`, and waits as told.
let private runExport policy (deadlineMs: int64) (durations: int64 list) (randoms: float list) failure =
    let rec loop attempt now (durations: int64 list) (randoms: float list) log =
        let took = min (List.head durations) (deadlineMs - now)
        let finished = now + took

        match Retry.decide policy attempt failure finished deadlineMs (List.head randoms) with
        | Retry.Decision.RetryAfter delay ->
            loop (attempt + 1) (finished + delay) (List.tail durations) (List.tail randoms) ((attempt, finished, delay) :: log)
        | decision -> attempt, finished, decision, List.rev log

    loop 1 0L durations randoms []

[<Tests>]
let properties =
    testList "Retry properties" [
        testPropertyWithConfig config "jittered delays stay within [0, cap] and the cap within [0, max backoff]"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 policies (Gen.choose (-3, 60)) (Gen.oneof [ units; Gen.elements [ -1.0; 1.0; 2.0; nan; infinity ] ])))
            (fun (policy, retry, random) ->
                let cap = Retry.backoffCap policy retry
                let delay = Retry.jitteredBackoff policy retry random
                0L <= delay && delay <= cap && 0L <= cap && cap <= policy.MaxBackoffMs)

        testPropertyWithConfig config "caps never decrease from one retry to the next"
        <| Prop.forAll (Arb.fromGen (Gen.zip policies (Gen.choose (0, 80))))
            (fun (policy, retry) -> Retry.backoffCap policy retry <= Retry.backoffCap policy (retry + 1))

        testPropertyWithConfig config "a server delay replaces the computed backoff when it fits before the deadline"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 policies (Gen.choose (1, 100_000)) (Gen.choose (0, 100_000))))
            (fun (policy, delay, slack) ->
                let now = 1_000L
                let deadline = now + int64 delay + int64 slack + 1L
                let decision = Retry.decide policy 1 (Retry.Classification.Retryable(Some(int64 delay))) now deadline 0.5

                if policy.MaxAttempts > 1 then decision = Retry.Decision.RetryAfter(int64 delay)
                else decision = Retry.Decision.GiveUp Retry.GiveUpReason.AttemptsExhausted)

        testPropertyWithConfig config "a zero or negative server delay counts as none: the waits follow the backoff schedule"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 policies (Gen.choose (1, 10)) (Gen.zip units (Gen.elements [ 0L; -1L; Int64.MinValue ]))))
            (fun (policy, attempt, (random, serverDelay)) ->
                let deadline = Int64.MaxValue / 2L
                let withZero = Retry.decide policy attempt (Retry.Classification.Retryable(Some serverDelay)) 0L deadline random
                let withNone = Retry.decide policy attempt (Retry.Classification.Retryable None) 0L deadline random
                let atLeastSchedule =
                    match withZero with
                    | Retry.Decision.RetryAfter wait -> wait = Retry.jitteredBackoff policy attempt random && wait >= 0L
                    | _ -> true
                withZero = withNone && atLeastSchedule)

        testCase "RetryInfo of 0 over five attempts waits the backoff, not five retries at once" <| fun () ->
            let policy = Retry.Policy.Default
            let waits =
                [ for attempt in 1..4 ->
                    match Retry.decide policy attempt (Retry.Classification.Retryable(Some 0L)) 0L 60_000L 0.99999999 with
                    | Retry.Decision.RetryAfter wait -> wait
                    | other -> failtest $"attempt {attempt}: {other}" ]
            Expect.equal waits [ for retry in 1..4 -> Retry.backoffCap policy retry ] "the schedule's caps (random near 1)"

        testPropertyWithConfig config "permanent errors are never retried"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 policies (Gen.choose (1, 20)) units))
            (fun (policy, attempt, random) ->
                Retry.decide policy attempt (Retry.Classification.Permanent "HTTP 400") 0L Int64.MaxValue random
                    = Retry.Decision.GiveUp(Retry.GiveUpReason.Permanent "HTTP 400"))

        testPropertyWithConfig config "an export with all its waits and attempts never outlives its deadline"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 policies (Gen.choose (1, 40_000)) (Gen.zip (Gen.listOfLength 12 (Gen.choose (0, 8_000))) (Gen.listOfLength 12 units))))
            (fun (policy, deadline, (durations, randoms)) ->
                let serverDelay = if durations.Head % 3 = 0 then Some(int64 durations.Head) else None
                let _, finished, decision, log =
                    runExport policy (int64 deadline) (List.map int64 durations) randoms (Retry.Classification.Retryable serverDelay)

                let waitsFit = log |> List.forall (fun (_, at, delay) -> at + delay < int64 deadline)
                let endedWell = decision <> Retry.Decision.Done
                waitsFit && endedWell && finished <= int64 deadline)

        testPropertyWithConfig config "attempts never exceed the policy's maximum"
        <| Prop.forAll (Arb.fromGen (Gen.zip policies (Gen.listOfLength 12 units)))
            (fun (policy, randoms) ->
                let attempts, _, decision, _ =
                    runExport policy Int64.MaxValue (List.replicate 12 10L) randoms Retry.connectionFailure

                attempts = policy.MaxAttempts && decision = Retry.Decision.GiveUp Retry.GiveUpReason.AttemptsExhausted)

        testPropertyWithConfig config "Retry-After parsing never throws on any text"
        <| fun (text: string) (seconds: int) ->
            let now = baseTime.AddSeconds(float seconds)
            Retry.tryParseRetryAfter now text |> ignore
            Retry.tryParseRetryAfter now (text + " GMT") |> ignore
            true

        testPropertyWithConfig config "Retry-After delay-seconds round-trip to milliseconds"
        <| fun (NonNegativeInt seconds) (NonNegativeInt spaces) ->
            let padding = String(' ', spaces % 3)
            Retry.tryParseRetryAfter baseTime (padding + string seconds + padding) = Some(int64 seconds * 1000L)

        testPropertyWithConfig config "Retry-After HTTP-dates round-trip to the time left, or 0 once past"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.choose (-400_000_000, 400_000_000)) (Gen.choose (0, 86_400_000)) (Gen.elements [ 0; 1; 2 ])))
            (fun (offsetSeconds, nowMs, form) ->
                let date = baseTime.AddSeconds(float offsetSeconds)
                let now = baseTime.AddMilliseconds(float nowMs)
                let culture = Globalization.CultureInfo.InvariantCulture

                let text =
                    match form with
                    | 0 -> date.ToString("r", culture)
                    | 1 when date.Year >= 2000 && date.Year < 2050 -> date.UtcDateTime.ToString("dddd, dd-MMM-yy HH:mm:ss 'GMT'", culture)
                    | _ -> date.UtcDateTime.ToString("ddd MMM d HH:mm:ss yyyy", culture).Replace(" " + string date.Day + " ", (if date.Day < 10 then "  " else " ") + string date.Day + " ")

                Retry.tryParseRetryAfter now text = Some(max 0L ((date - now).Ticks / TimeSpan.TicksPerMillisecond)))

        testPropertyWithConfig config "RetryInfo parsing never throws on arbitrary bytes or text, and never gives a negative delay"
        <| fun (bytes: byte array) (text: string) ->
            let nonNegative = Option.forall (fun (ms: int64) -> ms >= 0L)
            nonNegative (Retry.tryParseRetryInfo bytes) && nonNegative (Retry.tryParseRetryInfoBase64 text)

        testPropertyWithConfig config "RetryInfo parsing never throws on damaged valid statuses"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 delays (Gen.choose (0, 1000)) (Gen.choose (0, 255))))
            (fun (delay, position, value) ->
                let bytes = statusBytes 14 "unavailable" [] (Some delay)
                let at = position % bytes.Length
                let damaged = Array.copy bytes
                damaged[at] <- byte value
                let nonNegative = Option.forall (fun (ms: int64) -> ms >= 0L)
                nonNegative (Retry.tryParseRetryInfo damaged) && nonNegative (Retry.tryParseRetryInfo (Array.take at bytes)))

        testPropertyWithConfig config "RetryInfo round-trips generated delays among other details and unknown fields"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 delays otherDetails (Gen.elements [ 8; 14 ])))
            (fun (delay, before, code) ->
                let bytes = statusBytes code "slow down" before (Some delay)
                let base64 = Convert.ToBase64String bytes
                let expected = Some(expectedMs delay)

                Retry.tryParseRetryInfo bytes = expected
                && Retry.tryParseRetryInfoBase64 base64 = expected
                && Retry.tryParseRetryInfoBase64 (base64.TrimEnd '=') = expected)

        testPropertyWithConfig config "RetryInfo with nanoseconds out of their range never asks for less than its seconds"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 1_000_000)) (Gen.oneof [ Gen.choose (1_000_000_000, Int32.MaxValue); Gen.choose (Int32.MaxValue - 999_998, Int32.MaxValue) ])))
            (fun (seconds, nanos) ->
                // The range is [0, 999_999_999]; rounding a larger count up once overflowed 32 bits.
                match Retry.tryParseRetryInfo (statusBytes 14 "unavailable" [] (Some(int64 seconds, nanos))) with
                | Some ms -> ms >= int64 seconds * 1000L
                | None -> false)

        testPropertyWithConfig config "a status without RetryInfo reads as no delay"
        <| Prop.forAll (Arb.fromGen otherDetails) (fun before ->
            Retry.tryParseRetryInfo (statusBytes 8 "exhausted" before None) = None)

        testPropertyWithConfig config "gRPC codes outside the spec's retryable set are permanent"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.oneof [ Gen.choose (-2, 20); ArbMap.defaults |> ArbMap.generate<int> ]) (ArbMap.defaults |> ArbMap.generate<int64 option>)))
            (fun (code, delay) ->
            let retryable = set [ 1; 4; 10; 11; 14; 15 ]

            match Retry.classifyGrpc code delay with
            | Retry.Classification.Success -> code = 0
            | Retry.Classification.Retryable d -> d = delay && (retryable.Contains code || (code = 8 && delay.IsSome))
            | Retry.Classification.Permanent _ -> code <> 0 && not (retryable.Contains code) && not (code = 8 && delay.IsSome))

        testPropertyWithConfig config "HTTP statuses outside 2xx, 429, 502, 503 and 504 are permanent"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.oneof [ Gen.choose (100, 599); ArbMap.defaults |> ArbMap.generate<int> ]) (ArbMap.defaults |> ArbMap.generate<int64 option>)))
            (fun (status, delay) ->
            match Retry.classifyHttp status delay with
            | Retry.Classification.Success -> status >= 200 && status <= 299
            | Retry.Classification.Retryable d -> d = delay && List.contains status [ 429; 502; 503; 504 ]
            | Retry.Classification.Permanent _ -> (status < 200 || status > 299) && not (List.contains status [ 429; 502; 503; 504 ]))
    ]

[<Tests>]
let examples =
    testList "Retry examples" [
        test "the gRPC codes of the OTLP spec table are classified as it says" {
            let retryable = [ Retry.GrpcCode.Cancelled; Retry.GrpcCode.DeadlineExceeded; Retry.GrpcCode.Aborted; Retry.GrpcCode.OutOfRange; Retry.GrpcCode.Unavailable; Retry.GrpcCode.DataLoss ]
            let permanent = [ Retry.GrpcCode.Unknown; Retry.GrpcCode.InvalidArgument; Retry.GrpcCode.NotFound; Retry.GrpcCode.AlreadyExists; Retry.GrpcCode.PermissionDenied; Retry.GrpcCode.Unauthenticated; Retry.GrpcCode.FailedPrecondition; Retry.GrpcCode.Unimplemented; Retry.GrpcCode.Internal ]

            for code in retryable do
                Expect.equal (Retry.classifyGrpc code None) (Retry.Classification.Retryable None) $"code {code}"

            for code in permanent do
                Expect.isTrue (Retry.classifyGrpc code (Some 5L)).IsPermanent $"code {code}"

            Expect.equal (Retry.classifyGrpc Retry.GrpcCode.Ok None) Retry.Classification.Success "OK"
            Expect.equal (Retry.classifyGrpc Retry.GrpcCode.InvalidArgument None) (Retry.Classification.Permanent "gRPC INVALID_ARGUMENT (3)") "reason names the code"
        }

        test "RESOURCE_EXHAUSTED is retryable only when the server sent RetryInfo" {
            Expect.equal (Retry.classifyGrpc Retry.GrpcCode.ResourceExhausted (Some 30_000L)) (Retry.Classification.Retryable(Some 30_000L)) "with RetryInfo"
            Expect.equal (Retry.classifyGrpc Retry.GrpcCode.ResourceExhausted None) (Retry.Classification.Permanent "gRPC RESOURCE_EXHAUSTED (8)") "without"
        }

        test "HTTP 429, 502, 503, 504 and connection failures are retried; 400, 401, 403, 404, 413 and 500 are not" {
            for status in [ 429; 502; 503; 504 ] do
                Expect.equal (Retry.classifyHttp status (Some 2000L)) (Retry.Classification.Retryable(Some 2000L)) $"HTTP {status}"

            for status in [ 400; 401; 403; 404; 413; 500; 501; 302 ] do
                Expect.equal (Retry.classifyHttp status None) (Retry.Classification.Permanent $"HTTP {status}") $"HTTP {status}"

            Expect.equal (Retry.classifyHttp 200 None) Retry.Classification.Success "200"
            Expect.equal Retry.connectionFailure (Retry.Classification.Retryable None) "connection"
        }

        test "Retry-After reads delay-seconds and all three HTTP-date forms" {
            let now = DateTimeOffset(2015, 10, 21, 7, 27, 0, TimeSpan.Zero)
            Expect.equal (Retry.tryParseRetryAfter now "120") (Some 120_000L) "seconds"
            Expect.equal (Retry.tryParseRetryAfter now " 0 ") (Some 0L) "zero with spaces"
            Expect.equal (Retry.tryParseRetryAfter now "Wed, 21 Oct 2015 07:28:00 GMT") (Some 60_000L) "IMF-fixdate"
            Expect.equal (Retry.tryParseRetryAfter now "Wednesday, 21-Oct-15 07:28:00 GMT") (Some 60_000L) "RFC 850"
            Expect.equal (Retry.tryParseRetryAfter now "Wed Oct 21 07:28:00 2015") (Some 60_000L) "asctime"
            Expect.equal (Retry.tryParseRetryAfter now "Sun Nov  6 08:49:37 1994") (Some 0L) "asctime, padded day, in the past"
            Expect.equal (Retry.tryParseRetryAfter now "99999999999999999999999") (Retry.tryParseRetryAfter now "99999999999999999999999999") "huge values saturate"
        }

        test "Retry-After refuses what is neither seconds nor a date" {
            for text in [ null; ""; " "; "-5"; "1.5"; "+3"; "soon"; "Wed, 32 Oct 2015 07:28:00 GMT"; "0x10" ] do
                Expect.equal (Retry.tryParseRetryAfter DateTimeOffset.UnixEpoch text) None $"'{text}'"
        }

        test "RetryInfo of 1.5 s is read as 1500 ms; nanoseconds round up; a negative delay reads as 0" {
            Expect.equal (Retry.tryParseRetryInfo (statusBytes 14 "" [] (Some(1L, 500_000_000)))) (Some 1500L) "1.5 s"
            Expect.equal (Retry.tryParseRetryInfo (statusBytes 14 "" [] (Some(0L, 1)))) (Some 1L) "1 ns"
            Expect.equal (Retry.tryParseRetryInfo (statusBytes 14 "" [] (Some(-3L, 0)))) (Some 0L) "negative"
            Expect.equal (Retry.tryParseRetryInfo (statusBytes 14 "" [] (Some(0L, 0)))) (Some 0L) "zero is still RetryInfo"
        }

        test "malformed trailers read as no RetryInfo" {
            Expect.equal (Retry.tryParseRetryInfo null) None "null"
            Expect.equal (Retry.tryParseRetryInfo [||]) None "empty"
            Expect.equal (Retry.tryParseRetryInfo [| 0x1Auy; 0x7Fuy; 0x01uy |]) None "truncated detail"
            Expect.equal (Retry.tryParseRetryInfo [| 0xFFuy; 0xFFuy; 0xFFuy; 0xFFuy; 0xFFuy; 0xFFuy |]) None "bad tag"
            Expect.equal (Retry.tryParseRetryInfoBase64 "not base64!") None "bad text"
        }

        test "the default policy is 1 s, x1.5, at most 5 s, 5 attempts, giving caps 1000, 1500, 2250, 3375, 5000 ms" {
            let policy = Retry.Policy.Default
            Expect.equal [ for retry in 1..5 -> Retry.backoffCap policy retry ] [ 1000L; 1500L; 2250L; 3375L; 5000L ] "caps"
            Expect.equal (Retry.jitteredBackoff policy 1 0.0) 0L "full jitter starts at 0"
            Expect.equal (Retry.jitteredBackoff policy 1 0.9999999) 1000L "and reaches the cap"
        }

        test "decide gives up on the last attempt, past the deadline, and on success reports done" {
            let policy = Retry.Policy.Default
            Expect.equal (Retry.decide policy 5 Retry.connectionFailure 0L 60_000L 0.5) (Retry.Decision.GiveUp Retry.GiveUpReason.AttemptsExhausted) "attempt 5 of 5"
            Expect.equal (Retry.decide policy 1 (Retry.Classification.Retryable(Some 10_000L)) 0L 10_000L 0.5) (Retry.Decision.GiveUp Retry.GiveUpReason.DeadlineExceeded) "the retry would start at the deadline"
            Expect.equal (Retry.decide policy 1 Retry.connectionFailure 0L 60_000L 0.5) (Retry.Decision.RetryAfter 500L) "half of the 1 s cap"
            Expect.equal (Retry.decide policy 3 Retry.Classification.Success 0L 0L 0.5) Retry.Decision.Done "success"
        }
    ]

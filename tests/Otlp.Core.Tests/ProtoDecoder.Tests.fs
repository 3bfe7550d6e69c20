/// The laws of the protobuf decoder: it agrees with Google.Protobuf on every valid payload and on the golden
/// vectors, follows protobuf's parsing rules (unknown fields, packed and unpacked scalars, merging), and turns
/// every malformed input into an error, never an exception or an unbounded allocation.
module Otlp.Core.Tests.ProtoDecoderTests

open System
open System.Buffers.Binary
open System.IO
open System.Text
open Expecto
open Google.Protobuf
open Google.Protobuf.Reflection
open Otlp.Core
open Otlp.Core.Tests.Common

module F = Otlp.Core.Protobuf.Fields

// ------------------------------------------------------------------------------------------ writing by hand

/// A minimal protobuf writer, for payloads no encoder would produce.
module private Wire =
    let varint (value: uint64) =
        let out = ResizeArray<byte>()
        let mutable v = value

        while v >= 0x80UL do
            out.Add(byte (v &&& 0x7FUL) ||| 0x80uy)
            v <- v >>> 7

        out.Add(byte v)
        out.ToArray()

    let tag (field: int) (wire: int) = varint ((uint64 field <<< 3) ||| uint64 wire)
    let uvarint field (value: uint64) = Array.append (tag field 0) (varint value)

    let fixed64 field (value: uint64) =
        let bytes = Array.zeroCreate 8
        BinaryPrimitives.WriteUInt64LittleEndian(Span bytes, value)
        Array.append (tag field 1) bytes

    let fixed32 field (value: uint32) =
        let bytes = Array.zeroCreate 4
        BinaryPrimitives.WriteUInt32LittleEndian(Span bytes, value)
        Array.append (tag field 5) bytes

    let double field (value: float) = fixed64 field (uint64 (BitConverter.DoubleToInt64Bits value))
    let bytes field (content: byte array) = Array.concat [ tag field 2; varint (uint64 content.Length); content ]
    let message field (parts: byte array list) = bytes field (Array.concat parts)
    let string field (text: string) = bytes field (Encoding.UTF8.GetBytes text)

/// A trace request holding one span made of `fields`; the span's content starts at byte 6.
let private traceWithSpan (fields: byte array list) =
    Wire.message
        F.ExportTraceServiceRequest_Resource_Spans
        [ Wire.message F.ResourceSpans_Scope_Spans [ Wire.message F.ScopeSpans_Spans fields ] ]

/// A metrics request holding one metric made of `fields`; the metric's content starts at byte 6.
let private metricsWithMetric (fields: byte array list) =
    Wire.message
        F.ExportMetricsServiceRequest_Resource_Metrics
        [ Wire.message F.ResourceMetrics_Scope_Metrics [ Wire.message F.ScopeMetrics_Metrics fields ] ]

/// A metrics request holding one histogram point made of `fields`.
let private metricsWithHistogramPoint (fields: byte array list) =
    metricsWithMetric [ Wire.message F.Metric_Histogram [ Wire.message F.Histogram_Data_Points fields ] ]

/// A logs request holding one log record made of `fields`; the record's content starts at byte 6.
let private logsWithRecord (fields: byte array list) =
    Wire.message
        F.ExportLogsServiceRequest_Resource_Logs
        [ Wire.message F.ResourceLogs_Scope_Logs [ Wire.message F.ScopeLogs_Log_Records fields ] ]

/// Memory with no array the decoder could read in place, as native or pooled memory may be.
type private WithoutArray(bytes: byte array) =
    inherit System.Buffers.MemoryManager<byte>()
    override _.GetSpan() = Span bytes
    override _.Pin(_) = failwith "not pinnable"
    override _.Unpin() = ()
    override _.Dispose(_: bool) = ()

let private decodeTrace (bytes: byte array) = ProtoDecoder.traceRequest (ReadOnlyMemory bytes)
let private decodeMetrics (bytes: byte array) = ProtoDecoder.metricsRequest (ReadOnlyMemory bytes)
let private decodeLogs (bytes: byte array) = ProtoDecoder.logsRequest (ReadOnlyMemory bytes)

let private traceOnly bytes = decodeTrace bytes |> Result.map ignore
let private metricsOnly bytes = decodeMetrics bytes |> Result.map ignore
let private logsOnly bytes = decodeLogs bytes |> Result.map ignore

let private ok (result: Result<'T, DecodeError>) =
    match result with
    | Ok value -> value
    | Error e -> failtestf "expected a value, got the error %O" e

let private firstSpan bytes = (ok (decodeTrace bytes)).ResourceSpans[0].ScopeSpans[0].Spans[0]
let private firstMetric bytes = (ok (decodeMetrics bytes)).ResourceMetrics[0].ScopeMetrics[0].Metrics[0]
let private firstRecord bytes = (ok (decodeLogs bytes)).ResourceLogs[0].ScopeLogs[0].LogRecords[0]

let private firstHistogramPoint bytes =
    match (firstMetric bytes).Data with
    | MetricData.Histogram h -> h.DataPoints[0]
    | other -> failtestf "expected a histogram, got %A" other

let private expectError (result: Result<'T, DecodeError>) (fragment: string) (position: int64) =
    match result with
    | Ok _ -> failtestf "expected an error containing %A, got a value" fragment
    | Error e ->
        Expect.stringContains e.Message fragment "error message"
        Expect.equal e.Position position $"position of %A{e.Message}"

/// What Google.Protobuf makes of the same bytes, through the oracle bridge.
let private oracleTrace (bytes: byte array) = Oracle.toTraceRequest (Oracle.TraceRequest.Parser.ParseFrom bytes)
let private oracleMetrics (bytes: byte array) = Oracle.toMetricsRequest (Oracle.MetricsRequest.Parser.ParseFrom bytes)
let private oracleLogs (bytes: byte array) = Oracle.toLogsRequest (Oracle.LogsRequest.Parser.ParseFrom bytes)

/// `request` as Google.Protobuf's C# classes write it: they omit a double field without presence when it
/// `!= 0.0`, which drops -0.0 too (protobuf's C++ writer compares bits and keeps it). The generators make
/// -0.0 in those fields (summary sum and quantiles, zero threshold), so the oracle's bytes hold 0.0 there.
let private asWrittenByGoogleProtobuf (request: ExportMetricsServiceRequest) =
    let plusZero (x: float) = if x = 0.0 then 0.0 else x

    let data (d: MetricData) =
        match d with
        | MetricData.Summary points ->
            points
            |> Array.map (fun p ->
                { p with
                    Sum = plusZero p.Sum
                    QuantileValues =
                        p.QuantileValues |> Array.map (fun q -> { Quantile = plusZero q.Quantile; Value = plusZero q.Value }) })
            |> MetricData.Summary
        | MetricData.ExponentialHistogram h ->
            MetricData.ExponentialHistogram
                { h with DataPoints = h.DataPoints |> Array.map (fun p -> { p with ZeroThreshold = plusZero p.ZeroThreshold }) }
        | other -> other

    mapMetricData data request

/// AnyValue nested `levels` deep (arrays of one element around an int), built from the inside out so that
/// even 10 000 levels take linear time.
let private nestedAnyValue (levels: int) =
    let inner = Wire.uvarint F.AnyValue_Int_Value 7UL
    let prefixes = ResizeArray<byte array>()
    let mutable length = inner.Length

    for _ in 2..levels do
        let element = Array.append (Wire.tag F.ArrayValue_Values 2) (Wire.varint (uint64 length))
        let arrayLength = element.Length + length
        let prefix = Array.concat [ Wire.tag F.AnyValue_Array_Value 2; Wire.varint (uint64 arrayLength); element ]
        prefixes.Add prefix
        length <- length + prefix.Length

    prefixes.Reverse()
    Array.concat [ yield! prefixes; inner ]

let rec private nestedModel (levels: int) =
    if levels = 1 then AnyValue.Int 7L else AnyValue.Array [| nestedModel (levels - 1) |]

// ------------------------------------------------------------------------- rewriting valid payloads

/// One field of a message as found on the wire: for length-delimited fields the payload is the content
/// without its length; for the others, the bytes of the value.
type private RawField = { Number: int; Wire: int; Payload: byte array }

/// Splits a (well-formed) message into its fields.
let private parseFields (bytes: byte array) =
    let pos = ref 0

    let readVarint () =
        let mutable result = 0UL
        let mutable shift = 0
        let mutable fin = false

        while not fin do
            let b = bytes[pos.Value]
            pos.Value <- pos.Value + 1
            result <- result ||| (uint64 (b &&& 0x7Fuy) <<< shift)
            shift <- shift + 7
            fin <- b < 0x80uy

        result

    let take n =
        let payload = bytes[pos.Value .. pos.Value + n - 1]
        pos.Value <- pos.Value + n
        payload

    [ while pos.Value < bytes.Length do
          let tag = int (readVarint ())
          let wire = tag &&& 7

          let payload =
              match wire with
              | 0 ->
                  let start = pos.Value
                  readVarint () |> ignore
                  bytes[start .. pos.Value - 1]
              | 1 -> take 8
              | 2 -> take (int (readVarint ()))
              | 5 -> take 4
              | _ -> failwithf "unexpected wire type %d in a valid payload" wire

          { Number = tag >>> 3; Wire = wire; Payload = payload } ]

let private writeField (field: RawField) =
    if field.Wire = 2 then
        Wire.bytes field.Number field.Payload
    else
        Array.append (Wire.tag field.Number field.Wire) field.Payload

/// An unknown field of a random wire type (groups included) whose number `message` does not use.
let rec private unknownField (message: MessageDescriptor) (rnd: Random) (depth: int) =
    // 536870911 is the largest field number protobuf allows.
    let unused =
        [| 99; 1000; 17; 100; 4095; 536870911 |]
        |> Array.filter (fun n -> isNull (message.FindFieldByNumber n))

    let number = unused[rnd.Next unused.Length]
    let random n = Array.init n (fun _ -> byte (rnd.Next 256))

    match rnd.Next(if depth < 3 then 5 else 4) with
    | 0 -> Wire.uvarint number (uint64 (rnd.NextInt64()) * uint64 (rnd.Next 3))
    | 1 -> Array.append (Wire.tag number 1) (random 8)
    | 2 -> Wire.bytes number (random (rnd.Next 12))
    | 3 -> Array.append (Wire.tag number 5) (random 4)
    | _ ->
        Array.concat
            [ Wire.tag number 3
              yield! List.init (rnd.Next 3) (fun _ -> unknownField message rnd (depth + 1))
              Wire.tag number 4 ]

/// Rewrites a valid payload of `message`, walking into every sub-message: inserts unknown fields between
/// known ones (when `insert`), and writes packed repeated scalars unpacked, one tag per value (when `unpack`).
let rec private rewrite (message: MessageDescriptor) (rnd: Random) (insert: bool) (unpack: bool) (bytes: byte array) =
    let out = ResizeArray<byte array>()

    let maybeInsert () =
        if insert && rnd.Next 3 = 0 then
            out.Add(unknownField message rnd 0)

    maybeInsert ()

    for f in parseFields bytes do
        let descriptor = message.FindFieldByNumber f.Number

        if isNull descriptor || f.Wire <> 2 then
            out.Add(writeField f)
        elif descriptor.FieldType = FieldType.Message then
            out.Add(Wire.bytes f.Number (rewrite descriptor.MessageType rnd insert unpack f.Payload))
        elif unpack && descriptor.IsRepeated then
            match descriptor.FieldType with
            | FieldType.Fixed64
            | FieldType.Double ->
                for i in 0..8 .. f.Payload.Length - 1 do
                    out.Add(Array.append (Wire.tag f.Number 1) f.Payload[i .. i + 7])
            | FieldType.UInt64 ->
                // A packed varint run: split it after each byte without the continuation bit.
                let mutable start = 0

                for i in 0 .. f.Payload.Length - 1 do
                    if f.Payload[i] < 0x80uy then
                        out.Add(Array.append (Wire.tag f.Number 0) f.Payload[start..i])
                        start <- i + 1
            | _ -> out.Add(writeField f)
        else
            out.Add(writeField f)

        maybeInsert ()

    Array.concat out

// ------------------------------------------------------------------------------------------- hostile input

let private unexpected = "unexpected decoder failure"

/// Every decoder on `bytes`: none may fail other than by a DecodeError.
let private decodeAll (bytes: byte array) =
    let input = ReadOnlyMemory bytes

    let results =
        [ ProtoDecoder.traceRequest input |> Result.map ignore
          ProtoDecoder.metricsRequest input |> Result.map ignore
          ProtoDecoder.logsRequest input |> Result.map ignore
          ProtoDecoder.traceResponse input |> Result.map ignore
          ProtoDecoder.metricsResponse input |> Result.map ignore
          ProtoDecoder.logsResponse input |> Result.map ignore ]

    for result in results do
        match result with
        | Error e when e.Message.StartsWith unexpected -> failtestf "the decoder failed unexpectedly: %O" e
        | Error e when e.Position < 0L || e.Position > int64 bytes.Length ->
            failtestf "error position %d outside the %d-byte input: %O" e.Position bytes.Length e
        | _ -> ()

/// A few random edits: bit flips, inserted, deleted and overwritten bytes, truncation.
let private mutate (rnd: Random) (bytes: byte array) =
    let b = ResizeArray bytes
    let interesting = [| 0x00uy; 0x01uy; 0x7Fuy; 0x80uy; 0xFFuy |]

    for _ in 1 .. 1 + rnd.Next 3 do
        let at () = rnd.Next b.Count

        match rnd.Next 6 with
        | _ when b.Count = 0 -> b.Add(byte (rnd.Next 256))
        | 0 ->
            let i = at ()
            b[i] <- b[i] ^^^ (1uy <<< rnd.Next 8)
        | 1 -> b.Insert(rnd.Next(b.Count + 1), byte (rnd.Next 256))
        | 2 -> b.RemoveAt(at ())
        | 3 ->
            let i = at ()
            b.RemoveRange(i, min (1 + rnd.Next 4) (b.Count - i))
        | 4 ->
            let i = at ()
            b.InsertRange(rnd.Next(b.Count + 1), b.GetRange(i, min (1 + rnd.Next 8) (b.Count - i)))
        | _ -> b[at ()] <- interesting[rnd.Next interesting.Length]

    if rnd.Next 4 = 0 && b.Count > 0 then
        b.GetRange(0, rnd.Next b.Count).ToArray()
    else
        b.ToArray()

/// Decodes a mutated payload with ours and with Google.Protobuf: ours never throws, and whenever it accepts
/// the bytes, Google.Protobuf accepts them too and reads the same request.
let private agreesOnMutation decode (parse: byte array -> 'T) (bytes: byte array) (seed: int) =
    let rnd = Random seed
    let mutated = mutate rnd bytes
    decodeAll mutated

    match decode mutated with
    | Ok ours ->
        let theirs =
            try
                parse mutated
            with e ->
                failtestf "ours accepted bytes Google.Protobuf refuses (%s): %s" e.Message (Convert.ToHexString mutated)

        expectSame ours theirs "decoded by both"
    | Error _ -> ()

// ------------------------------------------------------------------------------------------------- tests

/// The OTLP generators with documents half as large as `config`'s at most. Generating a request and the deep
/// comparison take nearly all of a case's time (decoding takes a few percent), so the properties over the
/// slowest requests (trace, metrics) run fewer cases.
let private smaller (cases: int) = { configWith cases with endSize = 30 }

let private golden (name: string) decode parse =
    test $"{name}.pb decodes as Google.Protobuf reads it" {
        let bytes = File.ReadAllBytes(vector $"{name}.pb")
        expectSame (ok (decode bytes)) (parse bytes) name
    }

[<Tests>]
let tests =
    testList "ProtoDecoder" [
        testList "agrees with Google.Protobuf" [
            testPropertyWithConfig (smaller 500) "on trace requests"
            <| fun (request: ExportTraceServiceRequest) ->
                expectSame (decodeTrace ((Oracle.ofTraceRequest request).ToByteArray())) (Ok request) "decoded"

            testPropertyWithConfig (smaller 500) "on metrics requests"
            <| fun (request: ExportMetricsServiceRequest) ->
                expectSame
                    (decodeMetrics ((Oracle.ofMetricsRequest request).ToByteArray()))
                    (Ok(asWrittenByGoogleProtobuf request))
                    "decoded"

            testPropertyWithConfig (smaller 1000) "on logs requests"
            <| fun (request: ExportLogsServiceRequest) ->
                expectSame (decodeLogs ((Oracle.ofLogsRequest request).ToByteArray())) (Ok request) "decoded"

            testPropertyWithConfig config "on responses of the three services"
            <| fun (partialSuccess: PartialSuccess) ->
                let trace = { ExportTraceServiceResponse.PartialSuccess = partialSuccess }
                let metrics = { ExportMetricsServiceResponse.PartialSuccess = partialSuccess }
                let logs = { ExportLogsServiceResponse.PartialSuccess = partialSuccess }

                expectSame
                    (ProtoDecoder.traceResponse (ReadOnlyMemory((Oracle.ofTraceResponse trace).ToByteArray())))
                    (Ok trace)
                    "trace response"

                expectSame
                    (ProtoDecoder.metricsResponse (ReadOnlyMemory((Oracle.ofMetricsResponse metrics).ToByteArray())))
                    (Ok metrics)
                    "metrics response"

                expectSame
                    (ProtoDecoder.logsResponse (ReadOnlyMemory((Oracle.ofLogsResponse logs).ToByteArray())))
                    (Ok logs)
                    "logs response"

            golden "trace" decodeTrace oracleTrace
            golden "trace-rich" decodeTrace oracleTrace
            golden "events" decodeLogs oracleLogs
            golden "metrics" decodeMetrics oracleMetrics
            golden "metrics-rich" decodeMetrics oracleMetrics
            golden "logs" decodeLogs oracleLogs
            golden "logs-rich" decodeLogs oracleLogs

            test "a payload inside a larger buffer decodes the same, with positions counted from its start" {
                let bytes = File.ReadAllBytes(vector "trace-rich.pb")
                let padded = Array.concat [ Array.create 7 0xFFuy; bytes; Array.create 5 0xFFuy ]
                let slice = ReadOnlyMemory(padded, 7, bytes.Length)
                expectSame (ProtoDecoder.traceRequest slice) (decodeTrace bytes) "slice"
                let bad = ReadOnlyMemory(Array.concat [ [| 0xFFuy; 0x0Auy; 0x05uy |] ], 1, 2)
                expectError (ProtoDecoder.traceRequest bad) "length prefix 5 exceeds the 0 bytes left" 1L
            }

            test "memory without an array behind it decodes the same" {
                let bytes = File.ReadAllBytes(vector "trace-rich.pb")
                use manager = new WithoutArray(bytes)
                let memory: ReadOnlyMemory<byte> = Memory<byte>.op_Implicit manager.Memory
                expectSame (ProtoDecoder.traceRequest memory) (decodeTrace bytes) "decoded"
            }

            test "an empty payload is an empty request or response" {
                expectSame (decodeTrace [||]) (Ok { ResourceSpans = [||] }) "trace"
                expectSame (decodeMetrics [||]) (Ok { ResourceMetrics = [||] }) "metrics"
                expectSame (decodeLogs [||]) (Ok { ResourceLogs = [||] }) "logs"

                expectSame
                    (ProtoDecoder.traceResponse ReadOnlyMemory.Empty)
                    (Ok { ExportTraceServiceResponse.PartialSuccess = PartialSuccess.Empty })
                    "trace response"
            }
        ]

        testList "follows protobuf's parsing rules" [
            testPropertyWithConfig (smaller 200) "unknown fields of every wire type are skipped at every depth of trace requests"
            <| fun (request: ExportTraceServiceRequest) (seed: int) ->
                let bytes = (Oracle.ofTraceRequest request).ToByteArray()
                let noisy = rewrite Oracle.TraceRequest.Descriptor (Random seed) true false bytes
                expectSame (decodeTrace noisy) (decodeTrace bytes) "with unknown fields"
                expectSame (decodeTrace noisy) (Ok request) "the request"

            testPropertyWithConfig (smaller 200) "unknown fields of every wire type are skipped at every depth of metrics requests"
            <| fun (request: ExportMetricsServiceRequest) (seed: int) ->
                let bytes = (Oracle.ofMetricsRequest request).ToByteArray()
                let noisy = rewrite Oracle.MetricsRequest.Descriptor (Random seed) true false bytes
                expectSame (decodeMetrics noisy) (decodeMetrics bytes) "with unknown fields"
                expectSame (decodeMetrics noisy) (Ok(asWrittenByGoogleProtobuf request)) "the request"

            testPropertyWithConfig (smaller 200) "unknown fields of every wire type are skipped at every depth of logs requests"
            <| fun (request: ExportLogsServiceRequest) (seed: int) ->
                let bytes = (Oracle.ofLogsRequest request).ToByteArray()
                let noisy = rewrite Oracle.LogsRequest.Descriptor (Random seed) true false bytes
                expectSame (decodeLogs noisy) (decodeLogs bytes) "with unknown fields"
                expectSame (decodeLogs noisy) (Ok request) "the request"

            testPropertyWithConfig (smaller 200) "packed and unpacked repeated scalars decode the same"
            <| fun (request: ExportMetricsServiceRequest) ->
                let bytes = (Oracle.ofMetricsRequest request).ToByteArray()
                let unpacked = rewrite Oracle.MetricsRequest.Descriptor (Random 0) false true bytes
                expectSame (decodeMetrics unpacked) (decodeMetrics bytes) "unpacked"
                expectSame (decodeMetrics unpacked) (Ok(oracleMetrics unpacked)) "Google.Protobuf on the unpacked bytes"

            test "unknown fields of each wire type in a span and in its resource spans are skipped" {
                let span = [ Wire.string F.Span_Name "s"; Wire.fixed32 F.Span_Flags 1u ]

                let unknowns number =
                    [ Wire.uvarint number UInt64.MaxValue
                      Wire.fixed64 number 1UL
                      Wire.string number "x"
                      Wire.fixed32 number 2u
                      Array.concat [ Wire.tag number 3; Wire.uvarint 1 5UL; Wire.tag 2 3; Wire.tag 2 4; Wire.tag number 4 ] ]

                let plain = traceWithSpan span

                let noisy =
                    Wire.message
                        F.ExportTraceServiceRequest_Resource_Spans
                        [ yield! unknowns 1000
                          Wire.message
                              F.ResourceSpans_Scope_Spans
                              [ Wire.message F.ScopeSpans_Spans [ yield! unknowns 99; yield! span; yield! unknowns 99 ] ]
                          yield! unknowns 1000 ]

                expectSame (decodeTrace noisy) (decodeTrace plain) "with unknown fields"
                expectSame (decodeTrace noisy) (Ok(oracleTrace noisy)) "as Google.Protobuf reads it"
            }

            test "packed and unpacked runs of one repeated field are concatenated" {
                let packedCounts =
                    Wire.bytes F.HistogramDataPoint_Bucket_Counts (Array.concat [ for v in [ 1UL; 2UL ] -> BitConverter.GetBytes v ])

                let bytes =
                    metricsWithHistogramPoint
                        [ packedCounts
                          Wire.fixed64 F.HistogramDataPoint_Bucket_Counts 3UL
                          Wire.double F.HistogramDataPoint_Explicit_Bounds 0.5
                          Wire.bytes F.HistogramDataPoint_Explicit_Bounds (BitConverter.GetBytes 1.5) ]

                let point = firstHistogramPoint bytes
                Expect.equal point.BucketCounts [| 1UL; 2UL; 3UL |] "bucket counts"
                Expect.equal point.ExplicitBounds [| 0.5; 1.5 |] "explicit bounds"
                expectSame (decodeMetrics bytes) (Ok(oracleMetrics bytes)) "as Google.Protobuf reads it"

                let buckets =
                    [ Wire.uvarint F.Buckets_Bucket_Counts 300UL
                      Wire.bytes F.Buckets_Bucket_Counts (Array.append (Wire.varint 1UL) (Wire.varint UInt64.MaxValue)) ]

                let exponential =
                    metricsWithMetric
                        [ Wire.message
                              F.Metric_Exponential_Histogram
                              [ Wire.message
                                    F.ExponentialHistogram_Data_Points
                                    [ Wire.message F.ExponentialHistogramDataPoint_Positive buckets ] ] ]

                match (firstMetric exponential).Data with
                | MetricData.ExponentialHistogram h ->
                    Expect.equal h.DataPoints[0].Positive.BucketCounts [| 300UL; 1UL; UInt64.MaxValue |] "bucket counts"
                | other -> failtestf "expected an exponential histogram, got %A" other

                expectSame (decodeMetrics exponential) (Ok(oracleMetrics exponential)) "as Google.Protobuf reads it"
            }

            test "a later scalar replaces an earlier one" {
                let bytes = traceWithSpan [ Wire.string F.Span_Name "first"; Wire.string F.Span_Name "second" ]
                Expect.equal (firstSpan bytes).Name "second" "name"
                expectSame (decodeTrace bytes) (Ok(oracleTrace bytes)) "as Google.Protobuf reads it"
            }

            test "the last member of a oneof wins, and a message member seen again is merged" {
                let value parts =
                    logsWithRecord [ Wire.message F.LogRecord_Body parts ] |> firstRecord |> fun r -> r.Body

                Expect.equal
                    (value [ Wire.string F.AnyValue_String_Value "a"; Wire.uvarint F.AnyValue_Int_Value 5UL ])
                    (AnyValue.Int 5L)
                    "string then int"

                let arrayOf (items: byte array list) =
                    Wire.message F.AnyValue_Array_Value [ for i in items -> Wire.message F.ArrayValue_Values [ i ] ]

                let twoArrays =
                    logsWithRecord
                        [ Wire.message
                              F.LogRecord_Body
                              [ arrayOf [ Wire.uvarint F.AnyValue_Int_Value 1UL ]
                                arrayOf [ Wire.uvarint F.AnyValue_Bool_Value 1UL ] ] ]

                Expect.equal
                    (firstRecord twoArrays).Body
                    (AnyValue.Array [| AnyValue.Int 1L; AnyValue.Bool true |])
                    "two array values merge"

                expectSame (decodeLogs twoArrays) (Ok(oracleLogs twoArrays)) "as Google.Protobuf reads it"

                let number = [ Wire.double F.NumberDataPoint_As_Double 1.5; Wire.fixed64 F.NumberDataPoint_As_Int 9UL ]
                let sumOf points = Wire.message F.Metric_Sum [ for p in points -> Wire.message F.Sum_Data_Points p ]

                let metric =
                    metricsWithMetric
                        [ Wire.message F.Metric_Gauge [ Wire.message F.Gauge_Data_Points [] ]
                          sumOf [ number ]
                          sumOf [ [] ]
                          Wire.message F.Metric_Sum [ Wire.uvarint F.Sum_Is_Monotonic 1UL ] ]

                match (firstMetric metric).Data with
                | MetricData.Sum sum ->
                    Expect.equal sum.DataPoints.Length 2 "the points of both sums"
                    Expect.equal sum.DataPoints[0].Value (AsInt 9L) "as_double then as_int"
                    Expect.isTrue sum.IsMonotonic "is_monotonic of the last sum"
                | other -> failtestf "expected a sum, got %A" other

                expectSame (decodeMetrics metric) (Ok(oracleMetrics metric)) "as Google.Protobuf reads it"
            }

            test "a singular message seen twice is merged" {
                let bytes =
                    traceWithSpan
                        [ Wire.message F.Span_Status [ Wire.string F.Status_Message "m" ]
                          Wire.message F.Span_Status [ Wire.uvarint F.Status_Code 2UL ] ]

                Expect.equal (firstSpan bytes).Status { Message = "m"; Code = StatusCode.Error } "status"
                expectSame (decodeTrace bytes) (Ok(oracleTrace bytes)) "as Google.Protobuf reads it"

                let attribute key = Wire.message F.Resource_Attributes [ Wire.string F.KeyValue_Key key ]

                let resources =
                    Wire.message
                        F.ExportTraceServiceRequest_Resource_Spans
                        [ Wire.message F.ResourceSpans_Resource [ attribute "a"; Wire.uvarint F.Resource_Dropped_Attributes_Count 3UL ]
                          Wire.message F.ResourceSpans_Resource [ attribute "b" ] ]

                let resource = (ok (decodeTrace resources)).ResourceSpans[0].Resource
                Expect.equal (resource.Attributes |> Array.map _.Key) [| "a"; "b" |] "attributes of both"
                Expect.equal resource.DroppedAttributesCount 3u "dropped count of the first"
                expectSame (decodeTrace resources) (Ok(oracleTrace resources)) "as Google.Protobuf reads it"
            }

            test "enum values outside the known range are kept" {
                let span = firstSpan (traceWithSpan [ Wire.uvarint F.Span_Kind 42UL ])
                Expect.equal (int span.Kind) 42 "kind 42"
                let negative = firstSpan (traceWithSpan [ Wire.uvarint F.Span_Kind UInt64.MaxValue ])
                Expect.equal (int negative.Kind) -1 "kind -1, written on 10 bytes"
                let record = firstRecord (logsWithRecord [ Wire.uvarint F.LogRecord_Severity_Number 99UL ])
                Expect.equal (int record.SeverityNumber) 99 "severity 99"
            }

            test "empty and all-zero ids decode as the empty id" {
                let span =
                    firstSpan (
                        traceWithSpan
                            [ Wire.bytes F.Span_Trace_Id (Array.zeroCreate 16)
                              Wire.bytes F.Span_Span_Id (Array.zeroCreate 8)
                              Wire.bytes F.Span_Parent_Span_Id [||] ]
                    )

                Expect.equal span.TraceId TraceId.Empty "trace id"
                Expect.equal span.SpanId SpanId.Empty "span id"
                Expect.equal span.ParentSpanId SpanId.Empty "parent span id"
            }

            test "absent sub-messages decode as the empty values" {
                let span = firstSpan (traceWithSpan [])
                Expect.equal span.Status Status.Empty "status"
                let request = ok (decodeTrace (traceWithSpan []))
                Expect.equal request.ResourceSpans[0].Resource Resource.Empty "resource"
                Expect.equal request.ResourceSpans[0].ScopeSpans[0].Scope InstrumentationScope.Empty "scope"
                Expect.equal (firstRecord (logsWithRecord [])).Body AnyValue.Empty "body"

                let point =
                    metricsWithMetric
                        [ Wire.message
                              F.Metric_Exponential_Histogram
                              [ Wire.message F.ExponentialHistogram_Data_Points [] ] ]
                    |> firstMetric

                match point.Data with
                | MetricData.ExponentialHistogram h ->
                    Expect.equal h.DataPoints[0].Positive ExponentialBuckets.Empty "positive"
                    Expect.equal h.DataPoints[0].Negative ExponentialBuckets.Empty "negative"
                | other -> failtestf "expected an exponential histogram, got %A" other

                Expect.equal
                    (ProtoDecoder.logsResponse (ReadOnlyMemory(Wire.message F.ExportServiceResponse_Partial_Success [])))
                    (Ok { ExportLogsServiceResponse.PartialSuccess = PartialSuccess.Empty })
                    "partial success"
            }

            test "many occurrences of a singular message merge in linear time and memory" {
                let element = Wire.message F.AnyValue_Array_Value [ Wire.message F.ArrayValue_Values [ Wire.uvarint F.AnyValue_Int_Value 1UL ] ]
                let count = 100_000
                // The body seen `count` times, each holding an array of one element; and `count` resources.
                let body = Array.concat (List.replicate count (Wire.message F.LogRecord_Body [ element ]))
                let resource = Wire.message F.ResourceLogs_Resource [ Wire.message F.Resource_Attributes [ Wire.string F.KeyValue_Key "k" ] ]

                let bytes =
                    Wire.message
                        F.ExportLogsServiceRequest_Resource_Logs
                        [ yield! List.replicate count resource
                          Wire.message F.ResourceLogs_Scope_Logs [ Wire.bytes F.ScopeLogs_Log_Records body ] ]

                let watch = Diagnostics.Stopwatch.StartNew()
                let before = GC.GetAllocatedBytesForCurrentThread()
                let request = ok (decodeLogs bytes)
                let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                watch.Stop()

                match request.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Body with
                | AnyValue.Array items -> Expect.equal items.Length count "elements of the merged body"
                | other -> failtestf "expected an array, got %A" other

                Expect.equal request.ResourceLogs[0].Resource.Attributes.Length count "attributes of the merged resource"
                Expect.isLessThan allocated (int64 bytes.Length * 64L) "bytes allocated, against the input's size"
                Expect.isLessThan watch.Elapsed (TimeSpan.FromSeconds 5.0) "decoding time"
            }

            test "AnyValue nested 64 levels deep decodes" {
                let bytes = logsWithRecord [ Wire.bytes F.LogRecord_Body (nestedAnyValue 64) ]
                Expect.equal (firstRecord bytes).Body (nestedModel 64) "body"
            }
        ]

        testList "refuses malformed input with an error" [
            testPropertyWithConfig config "random bytes never make a decoder throw"
            <| fun (bytes: byte array) -> decodeAll bytes

            testPropertyWithConfig (smaller 500) "mutated trace requests: no exception, and what is accepted is what Google.Protobuf reads"
            <| fun (request: ExportTraceServiceRequest) (seed: int) ->
                agreesOnMutation decodeTrace oracleTrace ((Oracle.ofTraceRequest request).ToByteArray()) seed

            testPropertyWithConfig (smaller 500) "mutated metrics requests: no exception, and what is accepted is what Google.Protobuf reads"
            <| fun (request: ExportMetricsServiceRequest) (seed: int) ->
                agreesOnMutation decodeMetrics oracleMetrics ((Oracle.ofMetricsRequest request).ToByteArray()) seed

            testPropertyWithConfig (smaller 1000) "mutated logs requests: no exception, and what is accepted is what Google.Protobuf reads"
            <| fun (request: ExportLogsServiceRequest) (seed: int) ->
                agreesOnMutation decodeLogs oracleLogs ((Oracle.ofLogsRequest request).ToByteArray()) seed

            test "AnyValue nested 65 levels deep is refused" {
                let bytes = logsWithRecord [ Wire.bytes F.LogRecord_Body (nestedAnyValue 65) ]

                match decodeLogs bytes with
                | Error e -> Expect.stringContains e.Message "nesting deeper than 64" "message"
                | Ok _ -> failtest "65 levels accepted"
            }

            test "AnyValue nested 10 000 levels deep is refused without exhausting the stack" {
                let bytes = logsWithRecord [ Wire.bytes F.LogRecord_Body (nestedAnyValue 10_000) ]

                match decodeLogs bytes with
                | Error e -> Expect.stringContains e.Message "nesting deeper than 64" "message"
                | Ok _ -> failtest "10 000 levels accepted"
            }

            test "groups nested 10 000 levels deep are refused without exhausting the stack" {
                let bytes = Array.concat (List.replicate 10_000 (Wire.tag 5 3))

                match decodeTrace bytes with
                | Error e -> Expect.stringContains e.Message "nesting deeper than 64" "message"
                | Ok _ -> failtest "accepted"
            }

            test "a length prefix of 2^31-1 with few bytes left fails at once and allocates little" {
                let input = Array.concat [ Wire.tag F.ExportTraceServiceRequest_Resource_Spans 2; Wire.varint 2147483647UL ]
                let input = Array.append input (Array.zeroCreate (20 - input.Length))
                let nested = traceWithSpan [ Wire.tag F.Span_Name 2; Wire.varint 2147483647UL ]

                // Once to compile the code paths, then measured.
                decodeTrace input |> ignore
                decodeTrace nested |> ignore
                let before = GC.GetAllocatedBytesForCurrentThread()
                let result = decodeTrace input
                let nestedResult = decodeTrace nested
                let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                expectError result "length prefix 2147483647 exceeds the 14 bytes left" 1L
                expectError nestedResult "length prefix 2147483647 exceeds" 7L
                Expect.isLessThan allocated (64L * 1024L) "bytes allocated by two decodes"
            }

            // One case per kind of error: the input, the expected message (a part of it) and position.
            yield!
                [ "truncated tag", traceOnly [| 0x80uy |], "truncated varint", 0L
                  "truncated varint value", traceOnly (Array.append (Wire.tag 2 0) [| 0xFFuy; 0x80uy |]), "truncated varint", 1L
                  "varint of 11 bytes",
                  traceOnly (Array.append (Wire.tag 2 0) (Array.append (Array.create 10 0x80uy) [| 0x01uy |])),
                  "varint longer than 10 bytes",
                  1L
                  "tag beyond 32 bits", traceOnly (Wire.varint (1UL <<< 35)), "does not fit in 32 bits", 0L
                  "field number 0", traceOnly [| 0x00uy; 0x00uy |], "field number 0", 0L
                  "field number 0 inside a span",
                  traceOnly (traceWithSpan [ Wire.bytes 0 [||] ]),
                  "field number 0",
                  6L
                  "wire type 6", traceOnly (Wire.tag 1 6), "invalid wire type 6", 0L
                  "wire type 7", traceOnly (Wire.tag 3 7), "invalid wire type 7", 0L
                  "wrong wire type at the top",
                  traceOnly (Wire.uvarint F.ExportTraceServiceRequest_Resource_Spans 1UL),
                  "ExportTraceServiceRequest.resource_spans (field 1) has wire type 0, expected 2",
                  1L
                  "wrong wire type in a span",
                  traceOnly (traceWithSpan [ Wire.uvarint F.Span_Start_Time_Unix_Nano 1UL ]),
                  "Span.start_time_unix_nano (field 7) has wire type 0, expected 1",
                  7L
                  "wrong wire type for a packed field",
                  metricsOnly (metricsWithHistogramPoint [ Wire.fixed32 F.HistogramDataPoint_Bucket_Counts 1u ]),
                  "HistogramDataPoint.bucket_counts (field 6) has wire type 5, expected 1",
                  11L
                  "negative length",
                  traceOnly (Array.append (Wire.tag 1 2) (Wire.varint UInt64.MaxValue)),
                  "negative length prefix -1",
                  1L
                  "length beyond 32 bits",
                  traceOnly (Array.append (Wire.tag 1 2) (Wire.varint (1UL <<< 32))),
                  "length prefix 4294967296 is larger than 2^31-1",
                  1L
                  "length beyond the input", traceOnly [| 0x0Auy; 0x05uy; 0x00uy |], "length prefix 5 exceeds the 1 bytes left", 1L
                  "length beyond the enclosing message",
                  traceOnly (Array.append (Wire.message F.ExportTraceServiceRequest_Resource_Spans [ [| 0x1Auy; 0x03uy |] ]) [| 1uy; 2uy; 3uy |]),
                  "length prefix 3 exceeds the 0 bytes left",
                  3L
                  "truncated fixed64",
                  traceOnly (traceWithSpan [ Array.append (Wire.tag F.Span_Start_Time_Unix_Nano 1) [| 1uy; 2uy; 3uy |] ]),
                  "truncated fixed64: 8 bytes needed, 3 left",
                  7L
                  "truncated fixed32",
                  traceOnly (traceWithSpan [ Array.append (Wire.tag F.Span_Flags 5) [| 1uy |] ]),
                  "truncated fixed32: 4 bytes needed, 1 left",
                  8L
                  "packed fixed64 not a multiple of 8",
                  metricsOnly (metricsWithHistogramPoint [ Wire.bytes F.HistogramDataPoint_Explicit_Bounds (Array.zeroCreate 7) ]),
                  "packed HistogramDataPoint.explicit_bounds is 7 bytes long, not a multiple of 8",
                  11L
                  "invalid UTF-8",
                  traceOnly (traceWithSpan [ Wire.bytes F.Span_Name [| 0x61uy; 0xC3uy; 0x28uy |] ]),
                  "invalid UTF-8 in Span.name",
                  8L
                  "a lone surrogate encoded in UTF-8",
                  logsOnly (logsWithRecord [ Wire.bytes F.LogRecord_Severity_Text [| 0xEDuy; 0xA0uy; 0x80uy |] ]),
                  "invalid UTF-8 in LogRecord.severity_text",
                  8L
                  "trace id of 5 bytes",
                  traceOnly (traceWithSpan [ Wire.bytes F.Span_Trace_Id (Array.zeroCreate 5) ]),
                  "Span.trace_id must be 16 bytes or empty, got 5",
                  7L
                  "span id of 9 bytes",
                  traceOnly (traceWithSpan [ Wire.bytes F.Span_Parent_Span_Id (Array.zeroCreate 9) ]),
                  "Span.parent_span_id must be 8 bytes or empty, got 9",
                  7L
                  "link span id of 16 bytes",
                  traceOnly (traceWithSpan [ Wire.message F.Span_Links [ Wire.bytes F.Link_Span_Id (Array.zeroCreate 16) ] ]),
                  "Span.Link.span_id must be 8 bytes or empty, got 16",
                  9L
                  "log record trace id of 8 bytes",
                  logsOnly (logsWithRecord [ Wire.bytes F.LogRecord_Trace_Id (Array.zeroCreate 8) ]),
                  "LogRecord.trace_id must be 16 bytes or empty, got 8",
                  7L
                  "malformed content of a replaced oneof member (Metric.data)",
                  metricsOnly (
                      metricsWithMetric
                          [ Wire.bytes F.Metric_Histogram (Wire.tag 13 3)
                            Wire.message F.Metric_Sum [ Wire.uvarint F.Sum_Is_Monotonic 1UL ] ]
                  ),
                  "group of field 13 has no end-group tag",
                  9L
                  "malformed content of a replaced oneof member (AnyValue.value)",
                  logsOnly (
                      logsWithRecord
                          [ Wire.message
                                F.LogRecord_Body
                                [ Wire.bytes F.AnyValue_Kvlist_Value [| 0x0Auy; 0x09uy |]
                                  Wire.string F.AnyValue_String_Value "s" ] ]
                  ),
                  "length prefix 9 exceeds the 0 bytes left",
                  11L
                  "end-group without a start", traceOnly (Wire.tag 5 4), "end-group tag of field 5 without a start-group tag", 1L
                  "group without an end", traceOnly (Wire.tag 5 3), "group of field 5 has no end-group tag", 1L
                  "group closed by another field's end",
                  traceOnly (Array.append (Wire.tag 5 3) (Wire.tag 6 4)),
                  "end-group tag of field 6 inside the group of field 5",
                  2L ]
                |> List.map (fun (name, result, message, position) ->
                    test $"error: {name}" { expectError result message position })
        ]
    ]

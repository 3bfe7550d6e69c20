/// The OTLP/JSON codec: round trips, the oracle's JSON parser, the golden vectors, the lenient forms a
/// receiver must accept, hostile input, and one row per rule of `OtlpJson.fsi`.
module Otlp.Core.Tests.JsonTests

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open Expecto
open Google.Protobuf
open Otlp.Core
open Otlp.Core.Tests.Common

// ------------------------------------------------------------------------------------------------ helpers

let private utf8 (text: string) = ReadOnlyMemory(Encoding.UTF8.GetBytes text)

let private ok (result: Result<'T, DecodeError>) =
    match result with
    | Ok value -> value
    | Error e -> failtestf "expected Ok, got %O" e

/// Equality of JSON documents in which numbers compare by value (`1.0` = `1` = `1e0`) and key order does not
/// matter.
let rec private sameJson (a: JsonNode) (b: JsonNode) : bool =
    match a, b with
    | null, null -> true
    | null, _
    | _, null -> false
    | (:? JsonObject as x), (:? JsonObject as y) ->
        x.Count = y.Count
        && x |> Seq.forall (fun kv -> y.ContainsKey kv.Key && sameJson kv.Value y[kv.Key])
    | (:? JsonArray as x), (:? JsonArray as y) -> x.Count = y.Count && Seq.forall2 sameJson x y
    | (:? JsonValue as x), (:? JsonValue as y) ->
        match x.GetValueKind(), y.GetValueKind() with
        | Json.JsonValueKind.Number, Json.JsonValueKind.Number -> x.GetValue<float>() = y.GetValue<float>()
        | kx, ky when kx = ky -> x.ToJsonString() = y.ToJsonString()
        | _ -> false
    | _ -> false

let private expectSameJson (actual: string) (expected: string) (message: string) =
    if not (sameJson (JsonNode.Parse actual) (JsonNode.Parse expected)) then
        failtestf "%s\nexpected:\n%s\nactual:\n%s" message expected actual

/// proto3 JSON wants base64 for bytes, OTLP/JSON hex for ids: rewrite our ids so the oracle's parser reads them.
let rec private hexIdsToBase64 (node: JsonNode) =
    match node with
    | :? JsonObject as o ->
        for name in [ "traceId"; "spanId"; "parentSpanId" ] do
            match o[name] with
            | null -> ()
            | id -> o[name] <- JsonValue.Create(Convert.ToBase64String(Convert.FromHexString(id.GetValue<string>())))
        for kv in List.ofSeq o do
            hexIdsToBase64 kv.Value
    | :? JsonArray as a ->
        for item in a do
            hexIdsToBase64 item
    | _ -> ()

let private oracleParser = JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true))

let private parseWithOracle<'M when 'M :> IMessage and 'M: (new: unit -> 'M)> (json: byte array) : 'M =
    let node = JsonNode.Parse(ReadOnlySpan json)
    hexIdsToBase64 node
    oracleParser.Parse<'M>(node.ToJsonString())

let private expectOracleEqual (actual: 'M) (expected: 'M) =
    if not (actual.Equals expected) then
        failtestf "the oracle read a different message\nexpected:\n%O\nactual:\n%O" expected actual

let private readAll (json: ReadOnlyMemory<byte>) =
    [ OtlpJson.readTraceRequest json |> Result.map box
      OtlpJson.readMetricsRequest json |> Result.map box
      OtlpJson.readLogsRequest json |> Result.map box
      OtlpJson.readTraceResponse json |> Result.map box
      OtlpJson.readMetricsResponse json |> Result.map box
      OtlpJson.readLogsResponse json |> Result.map box ]

let private neverThrows (json: ReadOnlyMemory<byte>) =
    for result in readAll json do
        match result with
        | Ok _ -> ()
        | Error e -> if String.IsNullOrEmpty e.Message || e.Position < 0L then failtestf "unhelpful error %O" e

let private spanOf (json: string) =
    let request = ok (OtlpJson.readTraceRequest (utf8 $"""{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{json}]}}]}}]}}"""))
    request.ResourceSpans[0].ScopeSpans[0].Spans[0]

let private logOf (json: string) =
    let request = ok (OtlpJson.readLogsRequest (utf8 $"""{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{json}]}}]}}]}}"""))
    request.ResourceLogs[0].ScopeLogs[0].LogRecords[0]

let private metricOf (json: string) =
    let request = ok (OtlpJson.readMetricsRequest (utf8 $"""{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{json}]}}]}}]}}"""))
    request.ResourceMetrics[0].ScopeMetrics[0].Metrics[0]

let private attributeOf (json: string) = (spanOf $"""{{"attributes":[{json}]}}""").Attributes[0]

/// The first item of the array under `key`.
let private first (key: string) (node: JsonNode) : JsonNode = node[key].AsArray()[0]

let private spanJson (span: Span) =
    let json =
        OtlpJson.traceRequestToBytes (Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span ])
        |> Encoding.UTF8.GetString
    let node = JsonNode.Parse json |> first "resourceSpans" |> first "scopeSpans" |> first "spans"
    node.ToJsonString()

let private logJson (record: LogRecord) =
    let json =
        OtlpJson.logsRequestToBytes (Request.ofLogRecords Resource.Empty InstrumentationScope.Empty [ record ])
        |> Encoding.UTF8.GetString
    let node = JsonNode.Parse json |> first "resourceLogs" |> first "scopeLogs" |> first "logRecords"
    node.ToJsonString()

let private metricJson (metric: Metric) =
    let json =
        OtlpJson.metricsRequestToBytes (Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ])
        |> Encoding.UTF8.GetString
    let node = JsonNode.Parse json |> first "resourceMetrics" |> first "scopeMetrics" |> first "metrics"
    node.ToJsonString()

let private attributeJson (kv: KeyValue) =
    let node = JsonNode.Parse(spanJson { Span.Empty with Attributes = [| kv |] }) |> first "attributes"
    node.ToJsonString()

let private emptyMetric = { Name = "m"; Description = ""; Unit = ""; Data = MetricData.NoData; Metadata = [||] }

let private point value =
    { Attributes = [||]; StartTimeUnixNano = 0UL; TimeUnixNano = 0UL; Value = value; Exemplars = [||]; Flags = 0u }

let private histogramPoint =
    { Attributes = [||]
      StartTimeUnixNano = 0UL
      TimeUnixNano = 0UL
      Count = 0UL
      Sum = ValueNone
      BucketCounts = [||]
      ExplicitBounds = [||]
      Exemplars = [||]
      Flags = 0u
      Min = ValueNone
      Max = ValueNone }

let private traceId = { High = 0x0af7651916cd43ddUL; Low = 0x8448eb211c80319cUL }
let private spanId = { Value = 0xb7ad6b7169203331UL }

// ------------------------------------------------------------------------------------------------ golden vectors

let private golden
    (name: string)
    (source: string)
    (parse: byte array -> 'M)
    (read: ReadOnlyMemory<byte> -> Result<'M, DecodeError>)
    (toBytes: 'M -> byte array)
    =
    let expected = lazy (parse (File.ReadAllBytes(vector $"{name}.pb")))
    testList name [
        test $"{name}.canonical.json reads as {name}.pb" {
            let actual = ok (read (ReadOnlyMemory(File.ReadAllBytes(vector $"{name}.canonical.json"))))
            expectSame actual expected.Value "decoded canonical JSON"
        }
        test $"{source} reads as {name}.pb" {
            let actual = ok (read (ReadOnlyMemory(File.ReadAllBytes(vector source))))
            expectSame actual expected.Value "decoded source JSON"
        }
        test $"writing {name}.pb gives {name}.canonical.json" {
            let written = Encoding.UTF8.GetString(toBytes expected.Value)
            expectSameJson written (File.ReadAllText(vector $"{name}.canonical.json")) "written JSON"
        }
    ]

let private goldenTests =
    let trace (name: string) source =
        golden name source (Oracle.TraceRequest.Parser.ParseFrom >> Oracle.toTraceRequest) OtlpJson.readTraceRequest OtlpJson.traceRequestToBytes
    let metrics (name: string) source =
        golden name source (Oracle.MetricsRequest.Parser.ParseFrom >> Oracle.toMetricsRequest) OtlpJson.readMetricsRequest OtlpJson.metricsRequestToBytes
    let logs (name: string) source =
        golden name source (Oracle.LogsRequest.Parser.ParseFrom >> Oracle.toLogsRequest) OtlpJson.readLogsRequest OtlpJson.logsRequestToBytes
    testList "golden vectors" [
        trace "trace" "examples/trace.json"
        trace "trace-rich" "sources/trace-rich.json"
        logs "events" "examples/events.json"
        metrics "metrics" "examples/metrics.json"
        metrics "metrics-rich" "sources/metrics-rich.json"
        logs "logs" "examples/logs.json"
        logs "logs-rich" "sources/logs-rich.json"
    ]

// ------------------------------------------------------------------------------------------------ properties

// Case counts keep the whole list within its time budget: most of a case's time goes to generating the request
// and to the reflective comparison, not to the codec.
let private roundTrips = configWith 300
let private oracleChecks = configWith 100

let private properties =
    testList "properties" [
        testPropertyWithConfig roundTrips "a trace request reads back as written" <| fun (request: ExportTraceServiceRequest) ->
            expectSame (ok (OtlpJson.readTraceRequest (ReadOnlyMemory(OtlpJson.traceRequestToBytes request)))) request "round trip"

        testPropertyWithConfig roundTrips "a metrics request reads back as written" <| fun (request: ExportMetricsServiceRequest) ->
            expectSame (ok (OtlpJson.readMetricsRequest (ReadOnlyMemory(OtlpJson.metricsRequestToBytes request)))) request "round trip"

        testPropertyWithConfig roundTrips "data the protos call invalid (no value, unspecified temporality, a repeated key) reads back as written" <| fun (request: ExportMetricsServiceRequest) ->
            let loose = loosenMetrics request
            expectSame (ok (OtlpJson.readMetricsRequest (ReadOnlyMemory(OtlpJson.metricsRequestToBytes loose)))) loose "round trip"

        testPropertyWithConfig roundTrips "a logs request reads back as written" <| fun (request: ExportLogsServiceRequest) ->
            expectSame (ok (OtlpJson.readLogsRequest (ReadOnlyMemory(OtlpJson.logsRequestToBytes request)))) request "round trip"

        testPropertyWithConfig config "the three responses read back as written" <| fun (partial: PartialSuccess) ->
            let trace = { ExportTraceServiceResponse.PartialSuccess = partial }
            let metrics = { ExportMetricsServiceResponse.PartialSuccess = partial }
            let logs = { ExportLogsServiceResponse.PartialSuccess = partial }
            expectSame (ok (OtlpJson.readTraceResponse (ReadOnlyMemory(OtlpJson.traceResponseToBytes trace)))) trace "trace"
            expectSame (ok (OtlpJson.readMetricsResponse (ReadOnlyMemory(OtlpJson.metricsResponseToBytes metrics)))) metrics "metrics"
            expectSame (ok (OtlpJson.readLogsResponse (ReadOnlyMemory(OtlpJson.logsResponseToBytes logs)))) logs "logs"

        testPropertyWithConfig oracleChecks "the writer into a buffer writes the same bytes as ToBytes" <| fun (request: ExportLogsServiceRequest) ->
            let buffer = Buffers.ArrayBufferWriter<byte>()
            OtlpJson.writeLogsRequest request buffer
            Expect.equal (buffer.WrittenSpan.ToArray()) (OtlpJson.logsRequestToBytes request) "bytes"

        testPropertyWithConfig oracleChecks "Google.Protobuf's JSON parser reads our trace requests as the oracle's"
        <| fun (request: ExportTraceServiceRequest) ->
            expectOracleEqual (parseWithOracle<Oracle.TraceRequest> (OtlpJson.traceRequestToBytes request)) (Oracle.ofTraceRequest request)

        testPropertyWithConfig oracleChecks "Google.Protobuf's JSON parser reads our metrics requests as the oracle's"
        <| fun (request: ExportMetricsServiceRequest) ->
            expectOracleEqual (parseWithOracle<Oracle.MetricsRequest> (OtlpJson.metricsRequestToBytes request)) (Oracle.ofMetricsRequest request)

        testPropertyWithConfig oracleChecks "Google.Protobuf's JSON parser reads our logs requests as the oracle's"
        <| fun (request: ExportLogsServiceRequest) ->
            expectOracleEqual (parseWithOracle<Oracle.LogsRequest> (OtlpJson.logsRequestToBytes request)) (Oracle.ofLogsRequest request)

        testPropertyWithConfig config "Google.Protobuf's JSON parser reads our responses as the oracle's" <| fun (partial: PartialSuccess) ->
            let trace = { ExportTraceServiceResponse.PartialSuccess = partial }
            let metrics = { ExportMetricsServiceResponse.PartialSuccess = partial }
            let logs = { ExportLogsServiceResponse.PartialSuccess = partial }
            expectOracleEqual (parseWithOracle<Oracle.TraceResponse> (OtlpJson.traceResponseToBytes trace)) (Oracle.ofTraceResponse trace)
            expectOracleEqual (parseWithOracle<Oracle.MetricsResponse> (OtlpJson.metricsResponseToBytes metrics)) (Oracle.ofMetricsResponse metrics)
            expectOracleEqual (parseWithOracle<Oracle.LogsResponse> (OtlpJson.logsResponseToBytes logs)) (Oracle.ofLogsResponse logs)
    ]

// ------------------------------------------------------------------------------------------------ hostile input

let private validDocuments =
    lazy
        ([ "trace-rich"; "metrics-rich"; "logs-rich"; "events" ]
         |> List.map (fun name -> File.ReadAllBytes(vector $"{name}.canonical.json"))
         |> Array.ofList)

/// A valid document damaged at a few places chosen by `seeds`: bytes deleted, replaced, inserted or the rest
/// cut off. The damage is a pure function of its arguments, so a failure replays from FsCheck's seed.
let private mutate (document: byte array) (seeds: int list) =
    let interesting = Array.append "{}[]\":,0-9eE.\\ntfu_"B [| 0xffuy; 0xc3uy |]
    let mutable bytes = ResizeArray document
    for seed in seeds do
        let seed = seed &&& Int32.MaxValue
        if bytes.Count > 0 then
            let at = seed % bytes.Count
            let b = interesting[(seed / 7) % interesting.Length]
            match (seed / 3) % 4 with
            | 0 -> bytes.RemoveAt at
            | 1 -> bytes[at] <- b
            | 2 -> bytes.Insert(at, b)
            | _ -> bytes <- ResizeArray(Seq.truncate at bytes)
    bytes.ToArray()

let private hostile =
    testList "hostile input" [
        testPropertyWithConfig (configWith 500) "random text reads as Ok or Error, never an exception" <| fun (text: string) ->
            neverThrows (utf8 (if isNull text then "" else text))

        testPropertyWithConfig (configWith 500) "random bytes read as Ok or Error, never an exception" <| fun (bytes: byte array) ->
            neverThrows (ReadOnlyMemory(if isNull bytes then [||] else bytes))

        testPropertyWithConfig (configWith 500) "damaged valid documents read as Ok or Error, never an exception"
        <| fun (which: int) (seeds: int list) ->
            let documents = validDocuments.Value
            neverThrows (ReadOnlyMemory(mutate documents[(which &&& Int32.MaxValue) % documents.Length] seeds))

        test "every truncation of a valid document is an error, never an exception" {
            let document = File.ReadAllBytes(vector "trace-rich.canonical.json")
            for length in 0 .. document.Length - 2 do
                match OtlpJson.readTraceRequest (ReadOnlyMemory(document, 0, length)) with
                | Ok _ -> failtestf "a document cut at %d bytes was accepted" length
                | Error _ -> ()
        }

        test "nesting deeper than MaxDepth is an error" {
            let nested (levels: int) =
                let opening = String.replicate levels """{"kvlistValue":{"values":[{"key":"k","value":"""
                let closing = String.replicate levels "}]}}"
                $"""{{"key":"k","value":{opening}{{}}{closing}}}"""
            let deep = nested 70
            match OtlpJson.readTraceRequest (utf8 $"""{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{deep}]}}]}}]}}]}}""") with
            | Ok _ -> failtest "accepted"
            | Error e -> Expect.stringContains e.Message "depth" "message names the depth"
            // The same document nested a little leaves room enough.
            let shallow = nested 10
            ok (OtlpJson.readTraceRequest (utf8 $"""{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{shallow}]}}]}}]}}]}}"""))
            |> ignore
        }

        test "arrays nested deeper than MaxDepth in an unknown field are an error too" {
            let levels = OtlpJson.maxDepth
            let json = "{\"x\":" + String.replicate levels "[" + String.replicate levels "]" + "}"
            Expect.isError (OtlpJson.readTraceRequest (utf8 json)) "unknown deep field"
        }

        test "AnyValue maps 64 levels deep in an exemplar's attributes are read, as the protobuf decoder reads them" {
            let rec model levels =
                if levels = 1 then AnyValue.Int 7L else AnyValue.KvList [| { Key = "k"; Value = model (levels - 1) } |]
            let exemplar =
                { FilteredAttributes = [| { Key = "a"; Value = model 64 } |]
                  TimeUnixNano = 1UL
                  Value = NumberValue.AsDouble 1.0
                  SpanId = SpanId.Empty
                  TraceId = TraceId.Empty }
            let metric =
                { emptyMetric with
                    Data =
                        MetricData.Histogram
                            { DataPoints = [| { histogramPoint with Exemplars = [| exemplar |] } |]
                              AggregationTemporality = AggregationTemporality.Cumulative } }
            let request = Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ]
            let read = ok (OtlpJson.readMetricsRequest (ReadOnlyMemory(OtlpJson.metricsRequestToBytes request)))
            Expect.equal read request "read back whole"
        }
    ]

// ------------------------------------------------------------------------------------------------ rules

/// Encoding rows: the rule, a model, and the JSON it must be written as (compared as JSON).
let private encodingRows: (string * (unit -> string) * string) list =
    [ "64-bit integers are decimal strings",
      (fun () -> spanJson { Span.Empty with StartTimeUnixNano = UInt64.MaxValue }),
      """{"startTimeUnixNano":"18446744073709551615"}"""

      "ids are lowercase hex, absent ids are omitted",
      (fun () -> spanJson { Span.Empty with TraceId = traceId; SpanId = spanId }),
      """{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}"""

      "enums are integers", (fun () -> spanJson { Span.Empty with Kind = SpanKind.Server }), """{"kind":2}"""

      "defaults are omitted", (fun () -> spanJson Span.Empty), "{}"

      "the empty status is omitted, a set one is written",
      (fun () -> spanJson { Span.Empty with Status = { Message = ""; Code = StatusCode.Error } }),
      """{"status":{"code":2}}"""

      "a KeyValue's value is always written", (fun () -> attributeJson { Key = "k"; Value = AnyValue.Empty }), """{"key":"k","value":{}}"""

      "a null string value is written empty, as the protobuf encoder writes it (proto3 JSON has no null in a oneof)",
      (fun () -> attributeJson { Key = "k"; Value = AnyValue.String null }), """{"key":"k","value":{"stringValue":""}}"""

      "a null string in an array is written empty (proto3 JSON has no null in a list)",
      (fun () -> attributeJson { Key = "k"; Value = AnyValue.Array [| AnyValue.String null |] }),
      """{"key":"k","value":{"arrayValue":{"values":[{"stringValue":""}]}}}"""

      "a oneof member is written at its default: empty string",
      (fun () -> attributeJson (KeyValue.string "k" "")),
      """{"key":"k","value":{"stringValue":""}}"""

      "a oneof member is written at its default: zero int",
      (fun () -> attributeJson (KeyValue.int64 "k" 0L)),
      """{"key":"k","value":{"intValue":"0"}}"""

      "a oneof member is written at its default: false",
      (fun () -> attributeJson (KeyValue.bool "k" false)),
      """{"key":"k","value":{"boolValue":false}}"""

      "a oneof member is written at its default: empty array",
      (fun () -> attributeJson (KeyValue.array "k" [])),
      """{"key":"k","value":{"arrayValue":{}}}"""

      "a oneof member is written at its default: empty map",
      (fun () -> attributeJson (KeyValue.kvlist "k" [])),
      """{"key":"k","value":{"kvlistValue":{}}}"""

      "a oneof member is written at its default: zero double",
      (fun () -> metricJson { emptyMetric with Data = MetricData.Gauge [| point (AsDouble 0.0) |] }),
      """{"name":"m","gauge":{"dataPoints":[{"asDouble":0}]}}"""

      "a metric's data is written even without points",
      (fun () -> metricJson { emptyMetric with Data = MetricData.Gauge [||] }),
      """{"name":"m","gauge":{}}"""

      "bytes are padded standard base64",
      (fun () -> attributeJson (KeyValue.bytes "k" [| 0uy; 1uy; 2uy; 3uy; 4uy; 255uy; 0xfbuy |])),
      """{"key":"k","value":{"bytesValue":"AAECAwT/+w=="}}"""

      "NaN and the infinities are strings",
      (fun () -> attributeJson (KeyValue.array "k" [ AnyValue.Double nan; AnyValue.Double infinity; AnyValue.Double -infinity ])),
      """{"key":"k","value":{"arrayValue":{"values":[{"doubleValue":"NaN"},{"doubleValue":"Infinity"},{"doubleValue":"-Infinity"}]}}}"""

      "negative zero is not the default and is written",
      (fun () -> metricJson { emptyMetric with Data = MetricData.Summary [| { Attributes = [||]; StartTimeUnixNano = 0UL; TimeUnixNano = 0UL; Count = 0UL; Sum = -0.0; QuantileValues = [||]; Flags = 0u } |] }),
      """{"name":"m","summary":{"dataPoints":[{"sum":-0}]}}"""

      "optional doubles are written when present, even at zero",
      (fun () -> metricJson { emptyMetric with Data = MetricData.Histogram { DataPoints = [| { histogramPoint with Sum = ValueSome 0.0; Min = ValueSome 0.0 } |]; AggregationTemporality = AggregationTemporality.Delta } }),
      """{"name":"m","histogram":{"dataPoints":[{"sum":0,"min":0}],"aggregationTemporality":1}}"""

      "empty exponential buckets are omitted",
      (fun () ->
          metricJson
              { emptyMetric with
                  Data =
                      MetricData.ExponentialHistogram
                          { AggregationTemporality = AggregationTemporality.Cumulative
                            DataPoints =
                              [| { Attributes = [||]; StartTimeUnixNano = 0UL; TimeUnixNano = 0UL; Count = 0UL; Sum = ValueNone; Scale = 0; ZeroCount = 0UL
                                   Positive = ExponentialBuckets.Empty; Negative = { Offset = -1; BucketCounts = [||] }; Flags = 0u; Exemplars = [||]
                                   Min = ValueNone; Max = ValueNone; ZeroThreshold = 0.0 } |] } }),
      """{"name":"m","exponentialHistogram":{"dataPoints":[{"negative":{"offset":-1}}],"aggregationTemporality":2}}"""

      "the empty log body is omitted, a set one written",
      (fun () -> logJson { LogRecord.Empty with Body = AnyValue.String "" }),
      """{"body":{"stringValue":""}}"""

      "an unpaired surrogate is written as U+FFFD",
      (fun () -> spanJson { Span.Empty with Name = "a\ud800b" }),
      "{\"name\":\"a\uFFFDb\"}"

      "full success is the empty object",
      (fun () -> Encoding.UTF8.GetString(OtlpJson.traceResponseToBytes { PartialSuccess = PartialSuccess.Empty })),
      "{}"

      "partial success names its count after the signal",
      (fun () -> Encoding.UTF8.GetString(OtlpJson.metricsResponseToBytes { PartialSuccess = { Rejected = 3L; ErrorMessage = "bad" } })),
      """{"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"bad"}}"""

      "the empty request is the empty object",
      (fun () -> Encoding.UTF8.GetString(OtlpJson.logsRequestToBytes { ResourceLogs = [||] })),
      "{}" ]

/// Decoding rows: the rule, a document (a span, unless it starts with `log:`/`metric:`/`attr:`), and a check
/// of what it reads as.
let private decodingRows: (string * (unit -> unit)) list =
    [ "snake_case names are read",
      (fun () ->
          let span = spanOf """{"trace_id":"0af7651916cd43dd8448eb211c80319c","parent_span_id":"b7ad6b7169203331","start_time_unix_nano":"5","dropped_attributes_count":2}"""
          Expect.equal span.TraceId traceId "traceId"
          Expect.equal span.ParentSpanId spanId "parentSpanId"
          Expect.equal span.StartTimeUnixNano 5UL "time"
          Expect.equal span.DroppedAttributesCount 2u "count")

      "enum names are read", (fun () -> Expect.equal (spanOf """{"kind":"SPAN_KIND_SERVER"}""").Kind SpanKind.Server "kind")

      "enum names are read: severity",
      (fun () -> Expect.equal (logOf """{"severityNumber":"SEVERITY_NUMBER_WARN3"}""").SeverityNumber SeverityNumber.Warn3 "severity")

      "enum names are read: status and temporality",
      (fun () ->
          Expect.equal (spanOf """{"status":{"code":"STATUS_CODE_ERROR"}}""").Status.Code StatusCode.Error "status"
          match (metricOf """{"sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE"}}""").Data with
          | MetricData.Sum s -> Expect.equal s.AggregationTemporality AggregationTemporality.Cumulative "temporality"
          | other -> failtestf "read %A" other)

      "unknown enum numbers are kept", (fun () -> Expect.equal (int (spanOf """{"kind":9}""").Kind) 9 "kind")

      "64-bit integers are read from numbers",
      (fun () ->
          let span = spanOf """{"startTimeUnixNano":18446744073709551615}"""
          Expect.equal span.StartTimeUnixNano UInt64.MaxValue "time"
          Expect.equal (attributeOf """{"key":"k","value":{"intValue":-9223372036854775808}}""").Value (AnyValue.Int Int64.MinValue) "int")

      "32-bit integers are read from strings", (fun () -> Expect.equal (spanOf """{"droppedLinksCount":"7"}""").DroppedLinksCount 7u "count")

      "integers are read in exponent notation and with a zero fraction, as numbers and as strings",
      (fun () ->
          let span = spanOf """{"droppedLinksCount":1e2,"droppedEventsCount":"2.0","startTimeUnixNano":1.0e3,"endTimeUnixNano":"1.8446744073709551615e19","kind":2.0}"""
          Expect.equal span.DroppedLinksCount 100u "uint32 number"
          Expect.equal span.DroppedEventsCount 2u "uint32 string"
          Expect.equal span.StartTimeUnixNano 1000UL "uint64 number"
          Expect.equal span.EndTimeUnixNano UInt64.MaxValue "uint64 string"
          Expect.equal span.Kind SpanKind.Server "enum"
          Expect.equal (attributeOf """{"key":"k","value":{"intValue":"-9.223372036854775808e18"}}""").Value (AnyValue.Int Int64.MinValue) "int64 string"
          match (metricOf """{"exponentialHistogram":{"dataPoints":[{"scale":-2e0,"positive":{"offset":"-3.00"}}]}}""").Data with
          | MetricData.ExponentialHistogram h ->
              Expect.equal h.DataPoints[0].Scale -2 "int32 number"
              Expect.equal h.DataPoints[0].Positive.Offset -3 "int32 string"
          | other -> failtestf "read %A" other)

      "uppercase hex ids are read",
      (fun () ->
          let log = logOf """{"traceId":"0AF7651916CD43DD8448EB211C80319C","spanId":"B7AD6B7169203331"}"""
          Expect.equal log.TraceId traceId "traceId"
          Expect.equal log.SpanId spanId "spanId")

      "the empty id string is the absent id", (fun () -> Expect.equal (spanOf """{"traceId":""}""").TraceId TraceId.Empty "traceId")

      "unknown fields are ignored, scalars, objects and arrays alike",
      (fun () ->
          let span = spanOf """{"future":1,"name":"n","nested":{"a":[1,{"b":null}],"c":"d"},"list":[[],{}],"flag":true,"nothing":null}"""
          Expect.equal span.Name "n" "name")

      "null is the default", (fun () -> Expect.equal (spanOf """{"name":null,"status":null}""") Span.Empty "span")

      "doubles are read from strings and special names",
      (fun () ->
          let value = attributeOf """{"key":"k","value":{"arrayValue":{"values":[{"doubleValue":"NaN"},{"doubleValue":"-Infinity"},{"doubleValue":"2.5"},{"doubleValue":1e-300}]}}}"""
          expectSame value.Value (AnyValue.Array [| AnyValue.Double nan; AnyValue.Double -infinity; AnyValue.Double 2.5; AnyValue.Double 1e-300 |]) "values")

      "URL-safe and unpadded base64 are read",
      (fun () ->
          expectSame (attributeOf """{"key":"k","value":{"bytesValue":"AAECAwT_-w"}}""").Value (AnyValue.Bytes [| 0uy; 1uy; 2uy; 3uy; 4uy; 255uy; 0xfbuy |]) "bytes")

      "a byte order mark is skipped",
      (fun () -> Expect.isOk (OtlpJson.readTraceRequest (ReadOnlyMemory(Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] "{}"B))) "BOM")

      "an empty AnyValue reads as Empty", (fun () -> Expect.equal (attributeOf """{"key":"k","value":{}}""").Value AnyValue.Empty "value")

      "a missing value reads as Empty", (fun () -> Expect.equal (attributeOf """{"key":"k"}""").Value AnyValue.Empty "value") ]

/// Error rows: the rule, a span document that breaks it, and a word the message must contain.
let private errorRows: (string * string * string) list =
    [ "a trace id of the wrong length is an error", """{"traceId":"0af7"}""", "32 hex digits"
      "a span id with a non-hex digit is an error", """{"spanId":"b7ad6b716920333g"}""", "hex"
      "a base64 id (proto3's form, not OTLP's) is an error", """{"spanId":"t61rcWkgMzE="}""", "16 hex digits"
      "invalid base64 is an error", """{"attributes":[{"key":"k","value":{"bytesValue":"*&^"}}]}""", "base64"
      "a number too large for the field is an error", """{"droppedAttributesCount":4294967296}""", "2^32"
      "a 64-bit integer beyond its range is an error", """{"endTimeUnixNano":"18446744073709551616"}""", "2^64"
      "a double beyond its range is an error", """{"attributes":[{"key":"k","value":{"doubleValue":1e400}}]}""", "double"
      "a fractional integer is an error", """{"flags":1.5}""", "flags"
      "a fractional integer in exponent notation is an error", """{"startTimeUnixNano":"1e-3"}""", "startTimeUnixNano"
      "an integer whose exponent takes it out of range is an error", """{"droppedAttributesCount":1e10}""", "2^32"
      "a wrong type is an error", """{"name":42}""", "string"
      "a wrong container is an error", """{"attributes":{}}""", "array"
      "an unknown enum name is an error", """{"kind":"SPAN_KIND_SIDEWAYS"}""", "SPAN_KIND_SIDEWAYS"
      "two members of a oneof are an error", """{"attributes":[{"key":"k","value":{"stringValue":"a","intValue":"1"}}]}""", "oneof"
      "a lone surrogate is an error", """{"name":"\ud800"}""", "invalid"
      "comments are an error", """{"name":"n" /* c */}""", "invalid JSON"
      "trailing commas are an error", """{"name":"n",}""", "invalid JSON" ]

let private documentErrorRows: (string * string) list =
    [ "an empty input is an error", ""
      "a document that is not an object is an error", "[]"
      "null is not a document", "null"
      "content after the document is an error", "{} {}"
      "truncated input is an error", """{"resourceSpans":[{"""
      "text that is not JSON is an error", "resourceSpans" ]

let private rules =
    testList "rules" [
        testList "encoding" [
            for name, write, expected in encodingRows do
                test name { expectSameJson (write ()) expected name }
        ]
        testList "decoding" [
            for name, check in decodingRows do
                test name { check () }
        ]
        testList "errors" [
            for name, span, word in errorRows do
                test name {
                    let json = $"""{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{span}]}}]}}]}}"""
                    match OtlpJson.readTraceRequest (utf8 json) with
                    | Ok _ -> failtest "accepted"
                    | Error e ->
                        Expect.stringContains e.Message word "message"
                        Expect.isGreaterThan e.Position 0L "position inside the document"
                }
            for name, json in documentErrorRows do
                test name {
                    for result in readAll (utf8 json) do
                        Expect.isError result name
                }
        ]
        test "an error's position points at the offending token" {
            let json = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"nope"}]}]}]}"""
            match OtlpJson.readTraceRequest (utf8 json) with
            | Ok _ -> failtest "accepted"
            | Error e -> Expect.equal e.Position (int64 (json.IndexOf "\"nope\"")) "position"
        }
    ]

[<Tests>]
let tests = testList "Json" [ properties; goldenTests; rules; hostile ]

// The quickstart from F#, with the pure model of Otlp.Core: build a trace, some log records and a few metrics
// (aggregated by the pure metrics core) as immutable values, encode them as OTLP/protobuf and OTLP/JSON, decode the
// protobuf back and check nothing changed, then (when OTEL_EXPORTER_OTLP_ENDPOINT is set) export them there through
// the exporters, which take the protocol, headers, timeout and the rest from the OTEL_EXPORTER_OTLP_* variables.
//
// Build first, then run from the repository root:
//   dotnet fsi build.fsx build
//   dotnet fsi examples/quickstart.fsx
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc dotnet fsi examples/quickstart.fsx
//
// The quickstart application's build output holds Otlp.dll with every package it needs (gRPC, protobuf, zstd).
#I "Quickstart/bin/Release/net10.0"
#r "Otlp.Core.dll"
#r "Otlp.dll"

open System
open Otlp
open Otlp.Core

let now = uint64 (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100UL
let at (ms: int) = now + uint64 ms * 1_000_000UL
let traceId = TraceId.FromBytes(Guid.NewGuid().ToByteArray())
let rootId, childId = { Value = 0x1111UL }, { Value = 0x2222UL }

let span id parent name kind startMs endMs attributes =
    { Span.Empty with
        TraceId = traceId
        SpanId = id
        ParentSpanId = parent
        Flags = 1u
        Name = name
        Kind = kind
        StartTimeUnixNano = at startMs
        EndTimeUnixNano = at endMs
        Attributes = Array.ofList attributes }

let spans =
    [ { span childId rootId "charge card" SpanKind.Client 5 20 [ KeyValue.double "payment.amount" 42.5 ] with
          Events = [| { TimeUnixNano = at 10; Name = "retry"; Attributes = [||]; DroppedAttributesCount = 0u } |]
          Status = { Code = StatusCode.Error; Message = "card declined once" } }
      span rootId SpanId.Empty "POST /orders" SpanKind.Server 0 25 [ KeyValue.string "http.request.method" "POST"; KeyValue.int "http.response.status_code" 201 ] ]

let logRecords =
    [ { LogRecord.Empty with
          TimeUnixNano = at 1
          ObservedTimeUnixNano = at 1
          SeverityNumber = SeverityNumber.Info
          SeverityText = "Information"
          Body = AnyValue.String "Order 1042 received"
          Attributes = [| KeyValue.string "{OriginalFormat}" "Order {OrderId} received"; KeyValue.int64 "OrderId" 1042L |]
          TraceId = traceId
          SpanId = rootId }
      { LogRecord.Empty with
          TimeUnixNano = at 21
          SeverityNumber = SeverityNumber.Error
          SeverityText = "Error"
          Body = AnyValue.String "Payment failed"
          Attributes = [| KeyValue.string "exception.type" "InvalidOperationException"; KeyValue.string "exception.message" "card declined" |] } ]

let resource = Resource.ofServiceName "quickstart-fsx"
let scope = InstrumentationScope.create "Quickstart.FSharp" "1.0.0"
let traces = Request.ofSpans resource scope spans
let logs = Request.ofLogRecords resource scope logRecords

// Metrics through the pure core: measurements folded into aggregations, one collection per series, then the
// points grouped into a metric per instrument and a ScopeMetrics for the meter.
let region = [| KeyValue.string "region" "north" |]
let collected kind (empty: Aggregation.Aggregation) (measurements: Aggregation.Measurement list) =
    let since = measurements |> List.fold (fun agg m -> Aggregation.record m agg) empty
    let point, _ =
        Aggregation.collect
            (Aggregation.temporality TemporalityPreference.Cumulative kind)
            region
            (Aggregation.Input.Measured since)
            (Aggregation.newSeries empty (at 0))
            (at 30)
    point

let metric name unit kind empty measurements =
    let points = [| collected kind empty measurements |]
    (MetricStreams.toMetric name "" unit kind (Aggregation.temporality TemporalityPreference.Cumulative kind) points).Value

let metrics =
    MetricStreams.request
        resource
        [ scope, metric "orders.placed" "{order}" Aggregation.InstrumentKind.Counter (Aggregation.longSum true) [ Aggregation.Measurement.Long 1L; Aggregation.Measurement.Long 2L ]
          scope,
          metric "orders.duration" "ms" Aggregation.InstrumentKind.Histogram (Aggregation.explicitHistogram Aggregation.defaultBounds)
              [ for ms in [ 12.5; 48.0; 230.0 ] -> Aggregation.Measurement.Double ms ] ]

let traceBytes = ProtoEncoder.traceRequestToBytes traces
let logBytes = ProtoEncoder.logsRequestToBytes logs
let metricBytes = ProtoEncoder.metricsRequestToBytes metrics
printfn "protobuf: %d bytes of spans, %d of log records, %d of metrics; OTLP/JSON: %d, %d and %d bytes"
    traceBytes.Length logBytes.Length metricBytes.Length
    (OtlpJson.traceRequestToBytes traces).Length (OtlpJson.logsRequestToBytes logs).Length (OtlpJson.metricsRequestToBytes metrics).Length

let decodedTraces =
    match ProtoDecoder.traceRequest (ReadOnlyMemory traceBytes) with
    | Ok request -> request
    | Error error -> failwithf "the spans do not decode: %A" error

let decodedLogs =
    match ProtoDecoder.logsRequest (ReadOnlyMemory logBytes) with
    | Ok request -> request
    | Error error -> failwithf "the log records do not decode: %A" error

let decodedMetrics =
    match ProtoDecoder.metricsRequest (ReadOnlyMemory metricBytes) with
    | Ok request -> request
    | Error error -> failwithf "the metrics do not decode: %A" error

let show (value: AnyValue) =
    match value with
    | AnyValue.String s -> s
    | AnyValue.Int i -> string i
    | AnyValue.Double d -> d.ToString(Globalization.CultureInfo.InvariantCulture)
    | AnyValue.Bool b -> string b
    | other -> sprintf "%A" other

let attributes (kvs: KeyValue array) = kvs |> Array.map (fun kv -> $"{kv.Key}={show kv.Value}") |> String.concat ", "

printfn "\n%-14s %-8s %-7s %s" "span" "kind" "status" "attributes"
for s in decodedTraces.ResourceSpans[0].ScopeSpans[0].Spans do
    printfn "%-14s %-8O %-7O %s" s.Name s.Kind s.Status.Code (attributes s.Attributes)

printfn "\n%-12s %-22s %s" "severity" "body" "attributes"
for r in decodedLogs.ResourceLogs[0].ScopeLogs[0].LogRecords do
    printfn "%-12s %-22s %s" r.SeverityText (show r.Body) (attributes r.Attributes)

printfn "\n%-16s %s" "metric" "point"
for m in decodedMetrics.ResourceMetrics[0].ScopeMetrics[0].Metrics do
    match m.Data with
    | MetricData.Sum s -> printfn "%-16s %A (monotonic %b)" m.Name s.DataPoints[0].Value s.IsMonotonic
    | MetricData.Histogram h -> printfn "%-16s count %d, sum %A" m.Name h.DataPoints[0].Count h.DataPoints[0].Sum
    | other -> printfn "%-16s %A" m.Name other

let roundTrips = decodedTraces = traces && decodedLogs = logs && decodedMetrics = metrics
printfn "\nprotobuf round trip: %s" (if roundTrips then "identical" else "DIFFERENT")

// Each export says how it ended: Success, or what the server or the network answered (never a header's value).
let export (exporter: OtlpSignalExporter<'request, 'item>) (request: 'request) =
    use exporter = exporter
    // What the configuration resolution found questionable (a bad value and what was used instead, a port that
    // looks meant for the other protocol).
    for warning in exporter.ConfigurationWarnings do
        printfn "warning: %s" warning
    let result = exporter.ExportAsync(request).Result
    match result.Status, result.Message with
    | OtlpExportStatus.Success, _
    | _, null -> printfn "%s: %O" exporter.Destination result.Status
    | status, message -> printfn "%O: %s" status message // the message names the destination
    result.Status = OtlpExportStatus.Success

let exported =
    match Environment.GetEnvironmentVariable "OTEL_EXPORTER_OTLP_ENDPOINT" with
    | null
    | "" -> true
    | _ ->
        printfn ""
        // Not short-circuited: each signal is tried and reported.
        [ export (OtlpExporter.ForTraces().Build()) traces
          export (OtlpExporter.ForLogs().Build()) logs
          export (OtlpExporter.ForMetrics().Build()) metrics ]
        |> List.forall id

exit (if roundTrips && exported then 0 else 1)

module Otlp.Core.Tests.SplitTests

open Expecto
open FsCheck
open Otlp.Core
open Otlp.Core.Tests.Common

/// Every span with its resource and scope, in request order.
let private located (request: ExportTraceServiceRequest) =
    [ for rs in request.ResourceSpans do
          for ss in rs.ScopeSpans do
              for span in ss.Spans -> rs.Resource, ss.Scope, rs.SchemaUrl, ss.SchemaUrl, span ]

let private sizeOf request = (ProtoEncoder.traceRequestToBytes request).Length

let private spansOf (request: ExportTraceServiceRequest) = located request |> List.length

[<Tests>]
let tests =
    testList "Split" [
        testPropertyWithConfig (configWith 300) "every part fits, and parts plus drops hold every span exactly once, in order, in its resource and scope"
        <| fun (request: ExportTraceServiceRequest) (PositiveInt divisor) ->
            let limit = max 1 (sizeOf request / (divisor % 8 + 1))
            let fits r = sizeOf r <= limit
            let parts, dropped = Split.traceRequest fits request
            for part in parts do
                Expect.isTrue (fits part) "a part that does not fit"
            let kept = parts |> List.collect located
            let tooBig (resource, scope, resourceUrl, scopeUrl, span) =
                let alone =
                    { ResourceSpans =
                        [| { Resource = resource
                             SchemaUrl = resourceUrl
                             ScopeSpans = [| { Scope = scope; SchemaUrl = scopeUrl; Spans = [| span |] } |] } |] }
                not (fits alone)
            Expect.equal (List.length kept + dropped) (spansOf request) "conservation"
            expectSame kept (located request |> List.filter (tooBig >> not)) "order, resource and scope kept"

        testPropertyWithConfig (configWith 300) "a request that fits is not split"
        <| fun (request: ExportTraceServiceRequest) ->
            let parts, dropped = Split.traceRequest (fun _ -> true) request
            expectSame parts [ request ] "unchanged"
            Expect.equal dropped 0 "nothing dropped"

        testPropertyWithConfig (configWith 200) "log records and metric data points are conserved too"
        <| fun (logs: ExportLogsServiceRequest) (metrics: ExportMetricsServiceRequest) ->
            let logLimit = max 1 ((ProtoEncoder.logsRequestToBytes logs).Length / 3)
            let logParts, droppedLogs = Split.logsRequest (fun r -> (ProtoEncoder.logsRequestToBytes r).Length <= logLimit) logs
            let records (r: ExportLogsServiceRequest) = r.ResourceLogs |> Array.sumBy (fun x -> x.ScopeLogs |> Array.sumBy (fun s -> s.LogRecords.Length))
            Expect.equal ((logParts |> List.sumBy records) + droppedLogs) (records logs) "log records"
            let metricLimit = max 1 ((ProtoEncoder.metricsRequestToBytes metrics).Length / 3)
            let metricParts, droppedPoints =
                Split.metricsRequest (fun r -> (ProtoEncoder.metricsRequestToBytes r).Length <= metricLimit) metrics
            let points (r: ExportMetricsServiceRequest) =
                r.ResourceMetrics
                |> Array.sumBy (fun x ->
                    x.ScopeMetrics
                    |> Array.sumBy (fun s ->
                        s.Metrics
                        |> Array.sumBy (fun m ->
                            match m.Data with
                            | MetricData.NoData -> 0
                            | MetricData.Gauge p -> p.Length
                            | MetricData.Sum s -> s.DataPoints.Length
                            | MetricData.Histogram h -> h.DataPoints.Length
                            | MetricData.ExponentialHistogram h -> h.DataPoints.Length
                            | MetricData.Summary p -> p.Length)))
            Expect.equal ((metricParts |> List.sumBy points) + droppedPoints) (points metrics) "data points"

        test "a span larger than the limit alone is dropped and counted, the others sent" {
            let small = { Span.Empty with TraceId = { High = 1UL; Low = 1UL }; SpanId = { Value = 1UL }; Name = "small" }
            let big = { small with Name = System.String('x', 10_000) }
            let request = Request.ofSpans Resource.Empty InstrumentationScope.Empty [ small; big; small ]
            let parts, dropped = Split.traceRequest (fun r -> sizeOf r <= 1000) request
            Expect.equal dropped 1 "the big span"
            Expect.equal (parts |> List.sumBy spansOf) 2 "the small ones"
        }
    ]

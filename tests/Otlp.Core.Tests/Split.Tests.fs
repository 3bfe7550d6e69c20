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

        testPropertyWithConfig (configWith 200) "a metric too large for one request is divided by its points: every part fits, and only points too large alone are dropped"
        <| fun (metric: Metric) (PositiveInt divisor) ->
            let request = Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ]
            let sizeOfMetrics r = (ProtoEncoder.metricsRequestToBytes r).Length
            let limit = max 1 (sizeOfMetrics request / (divisor % 6 + 1))
            let fits r = sizeOfMetrics r <= limit
            let parts, dropped = Split.metricsRequest fits request
            let metricsOf (r: ExportMetricsServiceRequest) = [ for rm in r.ResourceMetrics do for sm in rm.ScopeMetrics do yield! sm.Metrics ]
            let pointsOf (m: Metric) =
                match m.Data with
                | MetricData.NoData -> []
                | MetricData.Gauge p -> [ for x in p -> box x ]
                | MetricData.Sum s -> [ for x in s.DataPoints -> box x ]
                | MetricData.Histogram h -> [ for x in h.DataPoints -> box x ]
                | MetricData.ExponentialHistogram h -> [ for x in h.DataPoints -> box x ]
                | MetricData.Summary p -> [ for x in p -> box x ]
            let alone (point: obj) =
                let only =
                    { metric with
                        Data =
                            match metric.Data, point with
                            | MetricData.Gauge _, (:? NumberDataPoint as p) -> MetricData.Gauge [| p |]
                            | MetricData.Sum s, (:? NumberDataPoint as p) -> MetricData.Sum { s with DataPoints = [| p |] }
                            | MetricData.Histogram h, (:? HistogramDataPoint as p) -> MetricData.Histogram { h with DataPoints = [| p |] }
                            | MetricData.ExponentialHistogram h, (:? ExponentialHistogramDataPoint as p) ->
                                MetricData.ExponentialHistogram { h with DataPoints = [| p |] }
                            | MetricData.Summary _, (:? SummaryDataPoint as p) -> MetricData.Summary [| p |]
                            | data, _ -> data }
                Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ only ]
            for part in parts do
                Expect.isTrue (fits part) "a part that does not fit"
                for m in metricsOf part do
                    Expect.equal { m with Data = MetricData.NoData } { metric with Data = MetricData.NoData } "the metric's name, unit and the rest kept"
            let kept = parts |> List.collect metricsOf |> List.collect pointsOf
            let expected = pointsOf metric |> List.filter (alone >> fits)
            expectSame kept expected "every point that fits alone, once, in order"
            Expect.equal (List.length kept + dropped) (List.length (pointsOf metric)) "conservation"

        test "a counter of 300 series over a 4 KiB limit goes in several requests, none of its points dropped" {
            let point i =
                { Attributes = [| KeyValue.string "series" $"s{i}" |]; StartTimeUnixNano = 1UL; TimeUnixNano = 2UL
                  Value = NumberValue.AsInt(int64 i); Exemplars = [||]; Flags = 0u }
            let sum = { DataPoints = [| for i in 1..300 -> point i |]; AggregationTemporality = AggregationTemporality.Cumulative; IsMonotonic = true }
            let metric = { Name = "requests"; Description = ""; Unit = "1"; Data = MetricData.Sum sum; Metadata = [||] }
            let request = Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ]
            let parts, dropped = Split.metricsRequest (fun r -> (ProtoEncoder.metricsRequestToBytes r).Length <= 4096) request
            Expect.equal dropped 0 "nothing dropped"
            Expect.isGreaterThan parts.Length 1 "several requests"
            let sums = [ for p in parts do for rm in p.ResourceMetrics do for sm in rm.ScopeMetrics do for m in sm.Metrics do match m.Data with MetricData.Sum s -> yield s | _ -> () ]
            Expect.equal (sums |> List.sumBy (fun s -> s.DataPoints.Length)) 300 "every point"
            Expect.all sums (fun s -> s.IsMonotonic && s.AggregationTemporality = AggregationTemporality.Cumulative) "the sum's kind kept"
        }

        test "a span larger than the limit alone is dropped and counted, the others sent" {
            let small = { Span.Empty with TraceId = { High = 1UL; Low = 1UL }; SpanId = { Value = 1UL }; Name = "small" }
            let big = { small with Name = System.String('x', 10_000) }
            let request = Request.ofSpans Resource.Empty InstrumentationScope.Empty [ small; big; small ]
            let parts, dropped = Split.traceRequest (fun r -> sizeOf r <= 1000) request
            Expect.equal dropped 1 "the big span"
            Expect.equal (parts |> List.sumBy spansOf) 2 "the small ones"
        }
    ]

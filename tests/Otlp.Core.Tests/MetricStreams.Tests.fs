module Otlp.Core.Tests.MetricStreamsTests

// Snapshots of recorders' accumulators (they must equal folding `record` over the same measurements) and the
// building of the OTLP model from collected points.

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 300 }

let private values =
    Gen.frequency [
        6, Gen.choose (-1000, 1000) |> Gen.map (fun i -> float i / 8.0)
        2, Gen.zip (Gen.choose (1, 999)) (Gen.choose (-30, 30)) |> Gen.map (fun (m, e) -> float m * Math.Pow(10.0, float e))
        1, Gen.elements [ 0.0; 5.0; 10.0; -0.0; 1e-300; 1e300 ]
    ]

let private recordAll empty measurements =
    Seq.fold (fun agg m -> Aggregation.record m agg) empty measurements

let private point agg = Aggregation.toPoint [||] 1UL 2UL agg

/// What a recorder holding mutable counts does: the bucket by `explicitBucketIndex`, count, sum, min, max.
let private accumulateExplicit (bounds: float array) (xs: float list) =
    let counts = Array.zeroCreate<uint64> (bounds.Length + 1)
    let mutable count, sum, low, high = 0UL, 0.0, Double.PositiveInfinity, Double.NegativeInfinity

    for x in xs do
        let i = Aggregation.explicitBucketIndex bounds x
        counts[i] <- counts[i] + 1UL
        count <- count + 1UL
        sum <- sum + x
        low <- min low x
        high <- max high x

    Aggregation.ofExplicitHistogram bounds counts count sum low high

let private boundsChoices =
    [ Aggregation.defaultBounds; [| 0.0 |]; [| -1.0; 0.0; 1.0 |]; [||]; [| 1e-5; 1e5 |] ]

let private number value : NumberDataPoint =
    { Attributes = [||]
      StartTimeUnixNano = 1UL
      TimeUnixNano = 2UL
      Value = value
      Exemplars = [||]
      Flags = 0u }

let private metricOf kind temporality points =
    (MetricStreams.toMetric "m" "d" "u" kind temporality points).Value

[<Tests>]
let tests =
    testList "Metric streams" [
        testPropertyWithConfig config "an explicit histogram snapshot of N recordings equals folding record over them"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.elements boundsChoices) (Gen.listOf values))) (fun (bounds, xs) ->
            let folded = recordAll (Aggregation.explicitHistogram bounds) (xs |> List.map Aggregation.Measurement.Double)
            Common.expectSame (point (accumulateExplicit bounds xs)) (point folded) "same point")

        testPropertyWithConfig config "explicitBucketIndex puts a value in (bounds[i-1], bounds[i]]"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.elements boundsChoices) values)) (fun (bounds, x) ->
            let i = Aggregation.explicitBucketIndex bounds x
            (i = 0 || bounds[i - 1] < x) && (i = bounds.Length || x <= bounds[i]))

        testPropertyWithConfig config "sum and last-value snapshots equal folding record"
        <| Prop.forAll (Arb.fromGen (Gen.nonEmptyListOf (Gen.choose (-1000, 1000)))) (fun ints ->
            let longs = ints |> List.map int64
            let measured = longs |> List.map Aggregation.Measurement.Long
            let nonNegative = longs |> List.filter (fun l -> l >= 0L) |> List.sum
            Common.expectSame (point (Aggregation.ofLongSum true nonNegative)) (point (recordAll (Aggregation.longSum true) measured)) "monotonic long"
            Common.expectSame (point (Aggregation.ofLongSum false (List.sum longs))) (point (recordAll (Aggregation.longSum false) measured)) "long"
            let doubles = longs |> List.map float
            let folded = recordAll (Aggregation.doubleSum false) (doubles |> List.map Aggregation.Measurement.Double)
            Common.expectSame (point (Aggregation.ofDoubleSum false (List.fold (+) 0.0 doubles))) (point folded) "double"
            Common.expectSame (point (Aggregation.ofLastValue (List.last measured))) (point (recordAll Aggregation.lastValue measured)) "last")

        testPropertyWithConfig config "an exponential snapshot of a histogram's own buckets gives back the same histogram"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.elements [ 4, 20; 160, 20; 20, 3 ]) (Gen.listOf values))) (fun ((size, scale), xs) ->
            let folded = recordAll (Aggregation.exponentialHistogram size scale) (xs |> List.map Aggregation.Measurement.Double)
            match point folded with
            | Aggregation.Point.Exponential p ->
                let snapshot =
                    Aggregation.ofExponentialHistogram size scale p.Scale p.ZeroCount p.Positive.Offset p.Positive.BucketCounts
                        p.Negative.Offset p.Negative.BucketCounts p.Count (ValueOption.defaultValue 0.0 p.Sum)
                        (ValueOption.defaultValue 0.0 p.Min) (ValueOption.defaultValue 0.0 p.Max)
                Common.expectSame (point snapshot) (point folded) "same point"
                // And it merges as the original does.
                Common.expectSame (point (Aggregation.merge snapshot folded)) (point (Aggregation.merge folded folded)) "merges alike"
            | other -> failtestf "%A" other)

        test "an exponential snapshot's zero counts at the edges are trimmed" {
            let snapshot = Aggregation.ofExponentialHistogram 160 20 0 0UL 5 [| 0UL; 2UL; 0UL |] 0 [| 0UL |] 2UL 12.0 6.0 6.0
            match point snapshot with
            | Aggregation.Point.Exponential p ->
                Expect.equal (p.Positive.Offset, p.Positive.BucketCounts) (6, [| 2UL |]) "trimmed"
                Expect.equal p.Negative.BucketCounts [||] "empty"
            | other -> failtestf "%A" other
        }

        test "snapshots refuse inconsistent shapes" {
            Expect.throwsT<ArgumentException> (fun () -> Aggregation.ofExplicitHistogram [| 1.0 |] [| 1UL |] 1UL 0.0 0.0 0.0 |> ignore) "counts"
            Expect.throwsT<ArgumentException> (fun () -> Aggregation.ofExponentialHistogram 160 10 11 0UL 0 [||] 0 [||] 0UL 0.0 0.0 0.0 |> ignore) "scale"
            Expect.throwsT<ArgumentException> (fun () -> Aggregation.ofExponentialHistogram 4 20 0 0UL 0 (Array.create 5 1UL) 0 [||] 5UL 0.0 0.0 0.0 |> ignore) "size"
        }

        test "counters make monotonic sums, up-down counters non-monotonic ones, gauges gauges" {
            let points = [| Aggregation.Point.Number(number (NumberValue.AsInt 3L)) |]
            for kind, monotonic in
                [ Aggregation.InstrumentKind.Counter, true
                  Aggregation.InstrumentKind.ObservableCounter, true
                  Aggregation.InstrumentKind.UpDownCounter, false
                  Aggregation.InstrumentKind.ObservableUpDownCounter, false ] do
                match (metricOf kind AggregationTemporality.Delta points).Data with
                | MetricData.Sum s ->
                    Expect.equal (s.IsMonotonic, s.AggregationTemporality) (monotonic, AggregationTemporality.Delta) $"{kind}"
                | other -> failtestf "%A" other
            for kind in [ Aggregation.InstrumentKind.Gauge; Aggregation.InstrumentKind.ObservableGauge ] do
                match (metricOf kind AggregationTemporality.Cumulative points).Data with
                | MetricData.Gauge g -> Expect.equal g.Length 1 "gauge"
                | other -> failtestf "%A" other
        }

        test "histogram points make histograms with the temporality; no points make no metric" {
            let h = point (Aggregation.explicitHistogram [| 1.0 |])
            match (metricOf Aggregation.InstrumentKind.Histogram AggregationTemporality.Cumulative [| h |]).Data with
            | MetricData.Histogram x -> Expect.equal x.AggregationTemporality AggregationTemporality.Cumulative "temporality"
            | other -> failtestf "%A" other
            let e = point Aggregation.defaultExponentialHistogram
            match (metricOf Aggregation.InstrumentKind.Histogram AggregationTemporality.Delta [| e |]).Data with
            | MetricData.ExponentialHistogram x -> Expect.equal x.AggregationTemporality AggregationTemporality.Delta "temporality"
            | other -> failtestf "%A" other
            Expect.isNone (MetricStreams.toMetric "m" "" "" Aggregation.InstrumentKind.Counter AggregationTemporality.Delta [||]) "none"
            let metric = metricOf Aggregation.InstrumentKind.Histogram AggregationTemporality.Delta [| e |]
            Expect.equal (metric.Name, metric.Description, metric.Unit) ("m", "d", "u") "names"
        }

        testPropertyWithConfig config "a request groups metrics by scope and schema URL in order of first appearance and loses none"
        <| Prop.forAll
            (Arb.fromGen (Gen.listOf (Gen.zip3 (Gen.elements [ "a"; "b"; "c" ]) (Gen.elements [ "1"; "" ]) (Gen.elements [ ""; "https://opentelemetry.io/schemas/1.26.0" ]))))
            (fun scopes ->
                let gauge = metricOf Aggregation.InstrumentKind.Gauge AggregationTemporality.Cumulative [| Aggregation.Point.Number(number (NumberValue.AsInt 1L)) |]
                let items =
                    scopes |> List.mapi (fun i (name, version, schemaUrl) -> MetricStreams.scope name version [||], schemaUrl, { gauge with Name = $"m{i}" })
                let request = MetricStreams.requestWithSchemaUrls (Resource.ofServiceName "svc") items
                let grouped = request.ResourceMetrics[0].ScopeMetrics
                let expectedGroups = items |> List.map (fun (scope, schemaUrl, _) -> scope, schemaUrl) |> List.distinct
                Expect.equal (grouped |> Array.map (fun s -> s.Scope, s.SchemaUrl) |> Array.toList) expectedGroups "scopes and schema URLs in order"
                for s in grouped do
                    Expect.equal
                        (s.Metrics |> Array.map _.Name |> Array.toList)
                        (items |> List.filter (fun (sc, url, _) -> sc = s.Scope && url = s.SchemaUrl) |> List.map (fun (_, _, m) -> m.Name))
                        "metrics of the scope")
    ]

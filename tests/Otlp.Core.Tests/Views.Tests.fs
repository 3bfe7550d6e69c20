module Otlp.Core.Tests.ViewsTests

// Views (metrics SDK specification, "View"): selection, the streams an instrument produces, and the rules
// for views that must be ignored.

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 500 }

let private instrument name kind : Instruments.Instrument =
    { MeterName = "Shop"
      MeterVersion = ""
      Name = name
      Unit = "ms"
      Description = "Time taken."
      Kind = kind
      Integers = false
      AdvisedBucketBoundaries = None }

let private histogram name = instrument name Aggregation.InstrumentKind.Histogram

let private streamsOf views instrument =
    Views.streams HistogramAggregation.ExplicitBucketHistogram Aggregation.defaultCardinalityLimit (Array.ofList views) instrument

let private pointOf (stream: Views.StreamConfig) =
    Aggregation.toPoint [||] 0UL 0UL (Aggregation.record (Aggregation.Measurement.Double 7.0) stream.Aggregation)

[<Tests>]
let tests =
    testList "Views" [
        test "wildcards: * any run, ? one character, without case" {
            for pattern, name, expected in
                [ "*", "anything", true
                  "http.*", "HTTP.server.duration", true
                  "http.*", "http", false
                  "*.duration", "http.server.duration", true
                  "a?c", "abc", true
                  "a?c", "ac", false
                  "a*b*c", "aXXbYYc", true
                  "a*b*c", "aXXbYY", false
                  "orders", "Orders", true
                  "orders", "orders2", false ] do
                Expect.equal (Views.wildcardMatch pattern name) expected $"{pattern} ~ {name}"
        }

        testPropertyWithConfig config "a name without wildcards matches itself and * matches every name"
        <| Prop.forAll (Arb.fromGen (Gen.elements [ "a"; "http.server.duration"; "X_1"; "" ])) (fun name ->
            Views.wildcardMatch name name && Views.wildcardMatch "*" name)

        test "no view selects it: one default stream named as the instrument" {
            let streams, warnings = streamsOf [ Views.select "other" ] (histogram "latency")
            Expect.isEmpty warnings "no warning"
            Expect.equal (streams |> Array.map (fun s -> s.Name, s.Description, s.Unit, s.CardinalityLimit)) [| "latency", "Time taken.", "ms", 2000 |] "default"
            match pointOf streams[0] with
            | Aggregation.Point.Histogram p -> Expect.equal p.ExplicitBounds Aggregation.defaultBounds "default bounds"
            | other -> failtestf "%A" other
        }

        test "the default histogram aggregation comes from configuration" {
            let streams, _ =
                Views.streams HistogramAggregation.Base2ExponentialBucketHistogram 2000 [||] (histogram "latency")
            match pointOf streams[0] with
            | Aggregation.Point.Exponential _ -> ()
            | other -> failtestf "%A" other
        }

        test "a stream keeps its aggregation's default exemplar reservoir, or the size a view gives; 0 keeps none" {
            let reservoirOf size = (fst (streamsOf [ { Views.select "latency" with ExemplarReservoirSize = size } ] (histogram "latency"))).[0].Exemplars
            let aggregation = (fst (streamsOf [] (histogram "latency"))).[0].Aggregation
            Expect.equal (reservoirOf None) (Some(Exemplars.reservoirOf (Aggregation.shape aggregation))) "the default"
            Expect.equal (reservoirOf None) (Some(Exemplars.Reservoir.Aligned [| 0.0; 5.0; 10.0; 25.0; 50.0; 75.0; 100.0; 250.0; 500.0; 750.0; 1000.0; 2500.0; 5000.0; 7500.0; 10000.0 |])) "a histogram's buckets"
            Expect.equal (reservoirOf (Some 3)) (Some(Exemplars.Reservoir.Simple 3)) "the view's size"
            Expect.equal (reservoirOf (Some 0)) None "none"
        }

        test "an exemplar reservoir size outside [0, 1000] is a problem: the view is ignored" {
            for size in [ -1; Views.maxExemplarReservoirSize + 1; Int32.MaxValue ] do
                let view = { Views.select "latency" with ExemplarReservoirSize = Some size; Name = "renamed" }
                Expect.isSome (Views.problem view) $"{size}"
                let streams, warnings = streamsOf [ view ] (histogram "latency")
                Expect.equal streams[0].Name "latency" "ignored: the instrument's default stream"
                Expect.isNonEmpty warnings "reported"
            for size in [ 0; 1; Views.maxExemplarReservoirSize ] do
                Expect.isNone (Views.problem { Views.select "latency" with ExemplarReservoirSize = Some size }) $"{size}"
        }

        test "a view's own reservoir is passed to its stream as it is; with a reservoir size too, the view is ignored" {
            let factory = obj ()
            let provided = { Views.select "latency" with ProvidedExemplarReservoir = Some factory; Name = "renamed" }
            Expect.isNone (Views.problem provided) "usable"
            let streams, warnings = streamsOf [ provided ] (histogram "latency")
            Expect.equal (streams[0].Name, warnings) ("renamed", []) "the view's stream"
            match streams[0].Exemplars with
            | Some(Exemplars.Reservoir.Provided given) -> Expect.isTrue (obj.ReferenceEquals(given, factory)) "the same object"
            | other -> failtestf "expected the provided reservoir, got %A" other
            Expect.equal (Exemplars.slots (Exemplars.Reservoir.Provided factory)) 0 "it keeps its own slots"
            for size in [ 0; 1 ] do
                let both = { provided with ExemplarReservoirSize = Some size }
                Expect.isSome (Views.problem both) $"{size}"
                let streams, warnings = streamsOf [ both ] (histogram "latency")
                Expect.equal streams[0].Name "latency" "ignored: the instrument's default stream"
                Expect.isNonEmpty warnings "reported"
        }

        test "a view renames, describes, sets bounds, keeps keys and limits cardinality" {
            let view =
                { Views.select "latency" with
                    Name = "shop.latency"
                    Description = "Latency."
                    Aggregation = Views.ViewAggregation.ExplicitBuckets [| 1.0; 10.0 |]
                    AttributeKeys = Some [| "route"; "method"; "route" |]
                    CardinalityLimit = Some 10 }
            let streams, warnings = streamsOf [ view ] (histogram "latency")
            Expect.isEmpty warnings "no warning"
            let s = streams[0]
            Expect.equal (s.Name, s.Description, s.AttributeKeys, s.CardinalityLimit) ("shop.latency", "Latency.", Some [| "method"; "route" |], 10) "config"
            match pointOf s with
            | Aggregation.Point.Histogram p -> Expect.equal p.ExplicitBounds [| 1.0; 10.0 |] "bounds"
            | other -> failtestf "%A" other
        }

        test "an exponential view gives an exponential histogram of its size and scale" {
            let view = { Views.select "latency" with Aggregation = Views.ViewAggregation.Exponential(20, 5) }
            let streams, _ = streamsOf [ view ] (histogram "latency")
            match pointOf streams[0] with
            | Aggregation.Point.Exponential p -> Expect.equal p.Scale 5 "starts at its max scale"
            | other -> failtestf "%A" other
        }

        test "an exponential view under the fewest buckets gets them, and says so; one at the fewest says nothing" {
            let asking size = { Views.select "latency" with Aggregation = Views.ViewAggregation.Exponential(size, 20) }
            let _, warnings = streamsOf [ asking 2 ] (histogram "latency")
            Expect.equal warnings.Length 1 $"one warning: %A{warnings}"
            Expect.stringContains warnings[0] "asks for 2 exponential buckets; 4" "says what was asked and what is used"
            let _, none = streamsOf [ asking Aggregation.minExponentialSize ] (histogram "latency")
            Expect.isEmpty none "at the fewest"
        }

        test "a drop view leaves no stream; a drop view beside another view leaves the other" {
            let drop = { Views.select "lat*" with Aggregation = Views.ViewAggregation.Drop }
            Expect.isEmpty (fst (streamsOf [ drop ] (histogram "latency"))) "dropped"
            let keep = { Views.select "latency" with Name = "kept" }
            Expect.equal (fst (streamsOf [ drop; keep ] (histogram "latency")) |> Array.map _.Name) [| "kept" |] "the other"
        }

        test "several selecting views make one stream each" {
            let a = { Views.select "latency" with Name = "a" }
            let b = { Views.select "latency" with Name = "b" }
            Expect.equal (fst (streamsOf [ a; b ] (histogram "latency")) |> Array.map _.Name) [| "a"; "b" |] "two streams"
        }

        test "selection by meter name and kind" {
            let byMeter = { Views.select "*" with MeterName = "Other"; Description = "changed" }
            let description views = (fst (streamsOf views (histogram "latency"))).[0].Description
            Expect.equal (description [ byMeter ]) "Time taken." "other meter: default"
            let byKind = { Views.select "*" with Kind = Some Aggregation.InstrumentKind.Counter; Description = "changed" }
            Expect.equal (description [ byKind ]) "Time taken." "other kind: default"
            let both = { byKind with Kind = Some Aggregation.InstrumentKind.Histogram; MeterName = "Shop" }
            Expect.equal (description [ both ]) "changed" "selected"
        }

        test "a view with a name and a wildcard selection is ignored with a warning" {
            let view = { Views.select "lat*" with Name = "renamed" }
            let streams, warnings = streamsOf [ view ] (histogram "latency")
            Expect.equal (streams |> Array.map _.Name) [| "latency" |] "default stream"
            Expect.equal warnings.Length 1 "one warning"
            Expect.isSome (Views.problem view) "a problem"
        }

        test "a histogram's advised bucket boundaries make its default stream's buckets; a view's bounds win over them" {
            // Metrics SDK specification, "Default Aggregation" and "Measurement processing": advisory parameters
            // MUST be honored, and a view that sets the same aspect takes precedence.
            let advised = { histogram "latency" with AdvisedBucketBoundaries = Some [| 0.1; 1.0; 10.0 |] }
            let boundsOf views instrument =
                let streams, _ = streamsOf views instrument
                match pointOf streams[0] with
                | Aggregation.Point.Histogram p -> p.ExplicitBounds
                | other -> failtestf "not a histogram: %A" other
            Expect.equal (boundsOf [] advised) [| 0.1; 1.0; 10.0 |] "no view: the advice"
            Expect.equal (boundsOf [ { Views.select "latency" with Name = "renamed" } ] advised) [| 0.1; 1.0; 10.0 |] "a view that sets no aggregation: the advice"
            let view = { Views.select "latency" with Aggregation = Views.ViewAggregation.ExplicitBuckets [| 5.0 |] }
            Expect.equal (boundsOf [ view ] advised) [| 5.0 |] "the view's bounds"
            let bad = { advised with AdvisedBucketBoundaries = Some [| 10.0; 1.0 |] }
            Expect.equal (boundsOf [] bad) (boundsOf [] (histogram "latency")) "advice that is not strictly increasing: the default bounds"
            let exponential, _ =
                Views.streams HistogramAggregation.Base2ExponentialBucketHistogram Aggregation.defaultCardinalityLimit [||] advised
            match pointOf exponential[0] with
            | Aggregation.Point.Exponential _ -> ()
            | other -> failtestf "exponential histograms by default: the advice does not apply, %A" other
        }

        test "a view with bad bounds is ignored with a warning" {
            let view = { Views.select "latency" with Aggregation = Views.ViewAggregation.ExplicitBuckets [| 5.0; 1.0 |] }
            let streams, warnings = streamsOf [ view ] (histogram "latency")
            Expect.equal streams.Length 1 "default stream"
            Expect.equal warnings.Length 1 "one warning"
        }

        test "a histogram aggregation asked of a gauge falls back to its default, with a warning" {
            let view = { Views.select "temp" with Aggregation = Views.ViewAggregation.ExplicitBuckets [| 1.0 |] }
            let streams, warnings = streamsOf [ view ] (instrument "temp" Aggregation.InstrumentKind.ObservableGauge)
            Expect.equal warnings.Length 1 "one warning"
            match pointOf streams[0] with
            | Aggregation.Point.Number _ -> ()
            | other -> failtestf "%A" other
        }

        test "keep applies the allow-list and keeps order" {
            let attributes = [| KeyValue.string "b" "1"; KeyValue.string "a" "2"; KeyValue.string "c" "3" |]
            Expect.equal (Views.keep None attributes) attributes "none: all"
            Expect.equal (Views.keep (Some [| "a"; "b" |]) attributes) attributes[0..1] "allowed ones"
        }
    ]

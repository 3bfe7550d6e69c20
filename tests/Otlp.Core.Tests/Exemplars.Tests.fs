module Otlp.Core.Tests.ExemplarsTests

// Exemplars (metrics SDK specification, "Exemplar"): the default reservoirs, and the sampling decisions of the
// simple and the aligned reservoir as exact laws over a uniform grid of random numbers.

open System
open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 500 }

/// `steps` random numbers evenly spread over [0, 1): each the middle of its own 1/steps-wide cell, so the share of
/// them for which a decision holds is the probability of that decision for a uniform random number (exactly, when
/// the decision's thresholds fall on cell edges).
let private grid steps = [ for j in 0 .. steps - 1 -> (float j + 0.5) / float steps ]

let private environment (pairs: (string * string) list) =
    Dictionary<string, string>(dict pairs) :> IReadOnlyDictionary<string, string>

let private exemplar value =
    { FilteredAttributes = [| KeyValue.string "user" "7" |]
      TimeUnixNano = 5UL
      Value = NumberValue.AsDouble value
      SpanId = SpanId.Empty
      TraceId = TraceId.Empty }

[<Tests>]
let tests =
    testList "Exemplars" [
        testList "defaults" [
            test "sums and last values keep one exemplar" {
                for shape in [ Aggregation.Shape.LongSum true; Aggregation.Shape.DoubleSum false; Aggregation.Shape.LastValue ] do
                    Expect.equal (Exemplars.reservoirOf shape) (Exemplars.Reservoir.Simple 1) $"{shape}"
            }

            test "an explicit-bucket histogram with more than one bucket keeps one per bucket; with one bucket, one" {
                let bounds = [| 0.0; 5.0; 10.0 |]
                let aligned = Exemplars.reservoirOf (Aggregation.Shape.ExplicitHistogram bounds)
                Expect.equal aligned (Exemplars.Reservoir.Aligned bounds) "aligned to its buckets"
                Expect.equal (Exemplars.slots aligned) 4 "bounds + 1 slots"
                Expect.equal (Exemplars.reservoirOf (Aggregation.Shape.ExplicitHistogram [||])) (Exemplars.Reservoir.Simple 1) "one bucket"
            }

            testProperty "an exponential histogram keeps min(20, max size)" <| fun (PositiveInt maxSize) ->
                Exemplars.reservoirOf (Aggregation.Shape.ExponentialHistogram(maxSize, 20)) = Exemplars.Reservoir.Simple(min 20 maxSize)
        ]

        testList "simple reservoir" [
            testPropertyWithConfig config "the first measurements fill the slots in order"
            <| fun (PositiveInt size) (NormalFloat random) ->
                let random = abs random % 1.0
                [ 0 .. min size 50 - 1 ] |> List.forall (fun seen -> Exemplars.simpleSlot (int64 seen) size random = seen)

            testPropertyWithConfig config "after that a measurement takes a slot of the reservoir or none"
            <| fun (PositiveInt size) (NonNegativeInt extra) (NormalFloat random) ->
                let slot = Exemplars.simpleSlot (int64 size + int64 extra) size (abs random % 1.0)
                slot >= -1 && slot < size

            testPropertyWithConfig { config with maxTest = 100 } "the n-th measurement is kept with probability size / n, each slot alike"
            <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (1, 8)) (Gen.choose (0, 40)))) (fun (size, extra) ->
                let n = size + extra + 1
                let steps = n * 64
                let slots = grid steps |> List.map (Exemplars.simpleSlot (int64 (n - 1)) size)
                let kept = slots |> List.filter (fun s -> s >= 0)
                // Exactly size/n of the grid keeps it, and each slot is taken by an equal share.
                kept.Length * n = steps * size
                && (kept |> List.countBy id |> List.forall (fun (_, c) -> c * n = steps)))

            test "over a stream, every measurement ends in a slot-1 reservoir with the same frequency" {
                // Algorithm R's law, checked by running it: 20000 streams of 10 measurements with a seeded generator
                // (deterministic), each measurement ending kept about 1/10 of the time.
                let random = Random 20261130
                let endedKept = Array.zeroCreate 10
                for _ in 1..20000 do
                    let mutable kept = -1
                    for i in 0..9 do
                        if Exemplars.simpleSlot (int64 i) 1 (random.NextDouble()) = 0 then kept <- i
                    endedKept[kept] <- endedKept[kept] + 1
                for i in 0..9 do
                    Expect.isTrue (abs (endedKept[i] - 2000) < 200) $"measurement {i} kept {endedKept[i]} times of 20000"
            }
        ]

        testList "aligned reservoir" [
            testPropertyWithConfig config "a bucket's first measurement is always kept"
            <| fun (NormalFloat random) -> Exemplars.alignedTakes 0L (abs random % 1.0)

            testPropertyWithConfig { config with maxTest = 100 } "the n-th measurement of a bucket replaces its exemplar with probability 1 / n"
            <| Prop.forAll (Arb.fromGen (Gen.choose (0, 200))) (fun seen ->
                let n = seen + 1
                let steps = n * 50
                let taken = grid steps |> List.filter (Exemplars.alignedTakes (int64 seen)) |> List.length
                taken * n = steps)

            testPropertyWithConfig config "a measurement's slot is the bucket whose bounds hold it: above the lower, at most the upper"
            <| fun (NormalFloat drawn) (NormalFloat a) (NormalFloat b) (NormalFloat c) (pick: int) ->
                let bounds = Array.distinct (Array.sort [| a; b; c |])
                // Often exactly on a bound, where the two sides of a bucket differ.
                let value = match abs (pick % 4) with 0 -> drawn | 1 -> a | 2 -> b | _ -> c
                let slot = Exemplars.alignedSlot bounds value
                slot >= 0
                && slot <= bounds.Length
                && (slot = 0 || bounds[slot - 1] < value)
                && (slot = bounds.Length || value <= bounds[slot])

            test "a measurement's slot at and around the bounds" {
                let bounds = [| -1.0; 0.0; 10.0 |]
                for value, slot in
                    [ -infinity, 0; -1.5, 0; -1.0, 0; -0.5, 1; -0.0, 1; 0.0, 1; 5.0, 2; 10.0, 2; 10.000001, 3; infinity, 3 ] do
                    Expect.equal (Exemplars.alignedSlot bounds value) slot $"{value}"
            }
        ]

        test "withExemplars puts the exemplars on every kind of point" {
            let exemplars = [| exemplar 1.5; exemplar 2.5 |]
            let points =
                [ Aggregation.toPoint [||] 1UL 2UL (Aggregation.ofLongSum true 3L)
                  Aggregation.toPoint [||] 1UL 2UL (Aggregation.ofExplicitHistogram [| 1.0 |] [| 1UL; 0UL |] 1UL 0.5 0.5 0.5)
                  Aggregation.toPoint [||] 1UL 2UL (Aggregation.record (Aggregation.Measurement.Double 3.0) (Aggregation.exponentialHistogram 8 20)) ]
            for point in points do
                let exemplarsOf =
                    match Exemplars.withExemplars exemplars point with
                    | Aggregation.Point.Number p -> p.Exemplars
                    | Aggregation.Point.Histogram p -> p.Exemplars
                    | Aggregation.Point.Exponential p -> p.Exemplars
                Expect.equal exemplarsOf exemplars $"{point}"
        }

        testList "OTEL_METRICS_EXEMPLAR_FILTER" [
            test "the default is trace_based" {
                let resolved = Config.resolveExemplarFilter (environment []) None
                Expect.equal (resolved.Value, resolved.Diagnostics.Length) (ExemplarFilter.TraceBased, 0) "default"
            }

            test "always_on, always_off and trace_based are read without case" {
                for raw, expected in [ "always_on", ExemplarFilter.AlwaysOn; "ALWAYS_OFF", ExemplarFilter.AlwaysOff; " Trace_Based ", ExemplarFilter.TraceBased ] do
                    let resolved = Config.resolveExemplarFilter (environment [ "OTEL_METRICS_EXEMPLAR_FILTER", raw ]) None
                    Expect.equal (resolved.Value, resolved.Diagnostics.Length) (expected, 0) raw
            }

            test "an unknown value is reported and the default used" {
                let resolved = Config.resolveExemplarFilter (environment [ "OTEL_METRICS_EXEMPLAR_FILTER", "sometimes" ]) None
                Expect.equal resolved.Value ExemplarFilter.TraceBased "default"
                Expect.equal resolved.Diagnostics.Length 1 "one diagnostic"
                Expect.stringContains resolved.Diagnostics[0].Message "OTEL_METRICS_EXEMPLAR_FILTER" "names the variable"
            }

            test "code wins over the variable" {
                let resolved = Config.resolveExemplarFilter (environment [ "OTEL_METRICS_EXEMPLAR_FILTER", "always_on" ]) (Some ExemplarFilter.AlwaysOff)
                Expect.equal resolved.Value ExemplarFilter.AlwaysOff "code"
            }
        ]
    ]

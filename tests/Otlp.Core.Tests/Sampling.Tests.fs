module Otlp.Core.Tests.SamplingTests

// The built-in samplers of the trace SDK spec ("Built-in samplers": AlwaysOn, AlwaysOff, TraceIdRatioBased,
// ParentBased) and the threshold rule of its probability sampling (trace/tracestate-probability-sampling.md).

open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Core.Tests.Common

let private traceId high low = { High = high; Low = low }

let private sampler kind ratio = { Kind = kind; Ratio = ratio }

let private parents = [ ParentSampling.Root; ParentSampling.Parent(true, false); ParentSampling.Parent(true, true); ParentSampling.Parent(false, false); ParentSampling.Parent(false, true) ]

let private kinds =
    [ SamplerKind.AlwaysOn; SamplerKind.AlwaysOff; SamplerKind.TraceIdRatio
      SamplerKind.ParentBasedAlwaysOn; SamplerKind.ParentBasedAlwaysOff; SamplerKind.ParentBasedTraceIdRatio ]

let private ratioGen = Gen.choose (0, 1000) |> Gen.map (fun n -> float n / 1000.0)

[<Tests>]
let tests =
    testList "Sampling" [
        testPropertyWithConfig config "always_on samples every span, whatever the parent" <| fun (high: uint64) (low: uint64) ->
            parents |> List.forall (fun p -> Sampling.shouldSample (sampler SamplerKind.AlwaysOn 1.0) p (traceId high low))

        testPropertyWithConfig config "always_off samples nothing, whatever the parent" <| fun (high: uint64) (low: uint64) ->
            parents |> List.forall (fun p -> not (Sampling.shouldSample (sampler SamplerKind.AlwaysOff 1.0) p (traceId high low)))

        testPropertyWithConfig config "traceidratio 1 keeps every trace and 0 none" <| fun (high: uint64) (low: uint64) ->
            Sampling.traceIdRatio 1.0 (traceId high low) && not (Sampling.traceIdRatio 0.0 (traceId high low))

        testPropertyWithConfig config "a trace kept at one ratio is kept at every larger ratio" <| fun (low: uint64) ->
            Prop.forAll (Arb.fromGen (Gen.zip ratioGen ratioGen)) (fun (a, b) ->
                let small, large = min a b, max a b
                not (Sampling.traceIdRatio small (traceId 0UL low)) || Sampling.traceIdRatio large (traceId 0UL low))

        testPropertyWithConfig config "only the rightmost 7 bytes of the trace id decide" <| fun (high: uint64) (low: uint64) (top: byte) ->
            Prop.forAll (Arb.fromGen ratioGen) (fun ratio ->
                let other = traceId (high ^^^ 0xFFFFUL) ((low &&& 0x00FF_FFFF_FFFF_FFFFUL) ||| (uint64 top <<< 56))
                Sampling.traceIdRatio ratio (traceId high low) = Sampling.traceIdRatio ratio other)

        testPropertyWithConfig config "parent-based samplers follow a parent's sampled flag, local or remote" <| fun (high: uint64) (low: uint64) (sampled: bool) (remote: bool) ->
            [ SamplerKind.ParentBasedAlwaysOn; SamplerKind.ParentBasedAlwaysOff; SamplerKind.ParentBasedTraceIdRatio ]
            |> List.forall (fun kind -> Sampling.shouldSample (sampler kind 0.5) (ParentSampling.Parent(sampled, remote)) (traceId high low) = sampled)

        testPropertyWithConfig config "parent-based samplers use their root sampler for roots" <| fun (high: uint64) (low: uint64) ->
            let id = traceId high low
            Sampling.shouldSample (sampler SamplerKind.ParentBasedAlwaysOn 1.0) ParentSampling.Root id
            && not (Sampling.shouldSample (sampler SamplerKind.ParentBasedAlwaysOff 1.0) ParentSampling.Root id)
            && Sampling.shouldSample (sampler SamplerKind.ParentBasedTraceIdRatio 0.25) ParentSampling.Root id = Sampling.traceIdRatio 0.25 id

        testPropertyWithConfig config "decide with the parent as plain values is shouldSample" <| fun (high: uint64) (low: uint64) (ratio: NormalFloat) ->
            let id = traceId high low
            kinds
            |> List.forall (fun kind ->
                let s = sampler kind (abs ratio.Get % 1.0)
                Sampling.decide s false false id = Sampling.shouldSample s ParentSampling.Root id
                && Sampling.decide s false true id = Sampling.shouldSample s ParentSampling.Root id
                && [ true; false ] |> List.forall (fun sampled ->
                    Sampling.decide s true sampled id = Sampling.shouldSample s (ParentSampling.Parent(sampled, false)) id))

        testPropertyWithConfig config "when a decision does not read the trace id, every trace id gets the same one" <| fun (high: uint64) (low: uint64) (sampled: bool) (hasParent: bool) ->
            kinds
            |> List.forall (fun kind ->
                let s = sampler kind 0.5
                Sampling.readsTraceId s hasParent
                || Sampling.decide s hasParent sampled (traceId high low) = Sampling.decide s hasParent sampled TraceId.Empty)

        test "only the ratio samplers read the trace id, and the parent-based one only for roots" {
            let reads = [ for kind in kinds -> kind, Sampling.readsTraceId (sampler kind 0.5) false, Sampling.readsTraceId (sampler kind 0.5) true ]
            Expect.equal reads [
                SamplerKind.AlwaysOn, false, false
                SamplerKind.AlwaysOff, false, false
                SamplerKind.TraceIdRatio, true, true
                SamplerKind.ParentBasedAlwaysOn, false, false
                SamplerKind.ParentBasedAlwaysOff, false, false
                SamplerKind.ParentBasedTraceIdRatio, true, false ] "by kind, root then child"
        }

        test "the kept share of evenly spread trace ids matches the ratio" {
            let ids = [ for i in 0UL .. 9999UL -> traceId 0UL (i * (0x00FF_FFFF_FFFF_FFFFUL / 10000UL)) ]
            for ratio in [ 0.1; 0.25; 0.5; 0.9 ] do
                let kept = ids |> List.filter (Sampling.traceIdRatio ratio) |> List.length
                Expect.isLessThanOrEqual (abs (float kept - ratio * 10000.0)) 2.0 $"ratio {ratio}: kept {kept} of 10000"
        }

        test "thresholds at the edges: NaN and negatives keep nothing, above 1 keeps everything" {
            Expect.equal (Sampling.threshold nan) (1UL <<< 56) "NaN"
            Expect.equal (Sampling.threshold -1.0) (1UL <<< 56) "negative"
            Expect.equal (Sampling.threshold 2.0) 0UL "above 1"
            Expect.equal (Sampling.threshold 0.5) (1UL <<< 55) "one half"
            Expect.isTrue (Sampling.traceIdRatio 0.5 (traceId 0UL (1UL <<< 55))) "the threshold itself is kept"
            Expect.isFalse (Sampling.traceIdRatio 0.5 (traceId 0UL ((1UL <<< 55) - 1UL))) "just below is dropped"
        }
    ]

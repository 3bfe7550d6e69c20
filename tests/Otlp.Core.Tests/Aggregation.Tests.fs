module Otlp.Core.Tests.AggregationTests

// The aggregation of metric measurements against the OpenTelemetry metrics SDK specification ("Aggregation",
// "Cardinality limits"), the data model ("Exponential Buckets") and the OTLP exporter's temporality table.

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 300 }

// ---------------------------------------------------------------------------------------------------------
// Generators

let private powerOfTwo = Gen.choose (-1074, 1023) |> Gen.map (fun k -> Math.Pow(2.0, float k))

let private signed (magnitudes: Gen<float>) =
    Gen.zip magnitudes (Gen.elements [ 1.0; -1.0 ]) |> Gen.map (fun (m, s) -> m * s)

/// Finite doubles of every magnitude, subnormals and the extremes included.
let private anyFinite =
    Gen.frequency [
        1, Gen.elements [ 0.0; -0.0 ]
        4, Gen.zip (Gen.choose (1, 999_999)) (Gen.choose (-300, 300)) |> Gen.map (fun (m, e) -> float m * Math.Pow(10.0, float e)) |> signed
        2, Gen.choose (-1000, 1000) |> Gen.map float
        2, signed powerOfTwo
        1, Gen.elements [ Double.Epsilon; 1e-310; 2.2250738585072014e-308; Double.MaxValue; 1.0; 0.5; 1024.0; 1.0000000000000002 ] |> signed
    ]

/// Finite doubles whose sums stay far from overflow, so sums can be compared up to rounding.
let private moderate =
    Gen.frequency [
        1, Gen.elements [ 0.0; -0.0 ]
        4, Gen.zip (Gen.choose (1, 999_999)) (Gen.choose (-100, 100)) |> Gen.map (fun (m, e) -> float m * Math.Pow(10.0, float e)) |> signed
        3, Gen.choose (-1000, 1000) |> Gen.map float
    ]

let private nonFinite = Gen.elements [ nan; infinity; -infinity ]

/// Measurements with an occasional NaN or infinity, which every aggregator ignores.
let private withNonFinite (values: Gen<float>) =
    Gen.frequency [ 12, values; 1, nonFinite ]

let private longs = Gen.choose (-1_000_000, 1_000_000) |> Gen.map int64

/// Splits a list into consecutive, possibly empty, chunks: the measurements of successive intervals.
let private splits (items: 'a list) =
    gen {
        let! cuts = Gen.listOfLength items.Length (Gen.choose (0, 3))

        let rec go (items: 'a list) (cuts: int list) current acc =
            match items, cuts with
            | x :: rest, c :: cs when c = 0 -> go rest cs [] (List.rev (x :: current) :: acc)
            | x :: rest, _ :: cs -> go rest cs (x :: current) acc
            | _ -> List.rev (List.rev current :: acc)

        let! empties = Gen.choose (0, 2)
        return go items cuts [] [] @ List.replicate empties []
    }


/// The empty aggregations with their names, for properties every kind must satisfy.
let private histogramKinds =
    [ "explicit-bucket histogram (default bounds)", Aggregation.explicitHistogram Aggregation.defaultBounds
      "explicit-bucket histogram (few bounds)", Aggregation.explicitHistogram [| -1.0; 0.0; 1e-5; 1e5 |]
      "exponential histogram (default)", Aggregation.defaultExponentialHistogram
      "exponential histogram (size 4)", Aggregation.exponentialHistogram 4 20
      "exponential histogram (size 20, scale 3)", Aggregation.exponentialHistogram 20 3 ]

// ---------------------------------------------------------------------------------------------------------
// Reading points

let private recordAll empty (measurements: Aggregation.Measurement list) =
    List.fold (fun agg m -> Aggregation.record m agg) empty measurements

let private point agg = Aggregation.toPoint [||] 1UL 2UL agg

let private numberOf point =
    match point with
    | Aggregation.Point.Number p -> p
    | other -> failtestf "not a number point: %A" other

let private doubleValue point =
    match (numberOf point).Value with
    | NumberValue.AsDouble d -> d
    | other -> failtestf "not a double: %A" other

let private longValue point =
    match (numberOf point).Value with
    | NumberValue.AsInt l -> l
    | other -> failtestf "not an integer: %A" other

/// Count, sum, min and max of a histogram point of either kind.
let private summary point =
    match point with
    | Aggregation.Point.Histogram p -> p.Count, p.Sum, p.Min, p.Max
    | Aggregation.Point.Exponential p -> p.Count, p.Sum, p.Min, p.Max
    | other -> failtestf "not a histogram point: %A" other

let private finiteOf (values: float list) = values |> List.filter Double.IsFinite

/// Sums of doubles agree up to rounding, relative to the sum of the magnitudes.
let private closeSums (expected: float) (actual: float) (values: float list) =
    let scale = values |> List.sumBy abs
    expected = actual || abs (expected - actual) <= 1e-9 * scale + 1e-300

let private expectCloseSum (actual: float) (values: float list) message =
    let expected = List.sum (finiteOf values)

    if not (closeSums expected actual (finiteOf values)) then
        failtestf "%s: sum %g, expected %g" message actual expected

/// A histogram point read back as (count, bucket counts without the zero bucket, zero count).
let private bucketTotal point =
    match point with
    | Aggregation.Point.Histogram p -> p.Count, Array.sum p.BucketCounts
    | Aggregation.Point.Exponential p ->
        p.Count, Array.sum p.Positive.BucketCounts + Array.sum p.Negative.BucketCounts + p.ZeroCount
    | other -> failtestf "not a histogram point: %A" other

/// Points are compared by their observable parts; double sums only up to rounding.
let private expectSamePoint (actual: Aggregation.Point) (expected: Aggregation.Point) (values: float list) message =
    match actual, expected with
    | Aggregation.Point.Number a, Aggregation.Point.Number e ->
        match a.Value, e.Value with
        | NumberValue.AsDouble x, NumberValue.AsDouble y when not (closeSums y x (finiteOf values)) ->
            failtestf "%s: %g, expected %g" message x y
        | NumberValue.AsDouble _, NumberValue.AsDouble _ -> ()
        | x, y -> Expect.equal x y message
    | Aggregation.Point.Histogram a, Aggregation.Point.Histogram e ->
        Common.expectSame { a with Sum = ValueNone } { e with Sum = ValueNone } message
        expectCloseSum (ValueOption.defaultValue 0.0 a.Sum) values message
    | Aggregation.Point.Exponential a, Aggregation.Point.Exponential e ->
        Common.expectSame { a with Sum = ValueNone } { e with Sum = ValueNone } message
        expectCloseSum (ValueOption.defaultValue 0.0 a.Sum) values message
    | _ -> failtestf "%s: points of different kinds %A and %A" message actual expected


// ---------------------------------------------------------------------------------------------------------
// Deltas of observed totals: one collection of the sets a callback observed, as a delta stream carries it out

/// The deltas of the sets observed in one collection, and the memory after it (unobserved sets age, and are
/// forgotten in the end).
let private observeCollection (memory: Map<string, Aggregation.ObservedTotal>) (observed: (string * Aggregation.Aggregation) list) =
    let deltas, seen =
        observed
        |> List.mapFold
            (fun (m: Map<string, Aggregation.ObservedTotal>) (key, total) ->
                let delta, remembered = Aggregation.observedDelta (Map.tryFind key m |> ValueOption.ofOption) total
                delta, Map.add key remembered m)
            memory

    let observedKeys = observed |> List.map fst |> Set.ofList

    let aged =
        seen
        |> Map.toList
        |> List.choose (fun (key, remembered) ->
            if observedKeys.Contains key then
                Some(key, remembered)
            else
                let missed = Aggregation.missedCollection remembered
                if Aggregation.isForgotten missed then None else Some(key, missed))
        |> Map.ofList

    deltas, aged

/// Collections of some of the sets a..d, each observed set's total grown by 0..5 since its last observation.
let private growingObservations (collections: int) =
    Gen.listOfLength collections (Gen.subListOf [ "a"; "b"; "c"; "d" ] |> Gen.bind (fun keys -> Gen.listOfLength keys.Length (Gen.choose (0, 5)) |> Gen.map (List.zip keys)))

// ---------------------------------------------------------------------------------------------------------
// Laws

let private allKinds =
    [ "double sum", Aggregation.doubleSum false
      "monotonic double sum", Aggregation.doubleSum true ]
    @ histogramKinds

[<Tests>]
let laws =
    testList "Aggregation laws" [
        testPropertyWithConfig config "counts and sums are conserved across any split of measurements into collection intervals"
        <| Prop.forAll (Arb.fromGen (Gen.listOf (withNonFinite moderate) |> Gen.bind (fun values -> splits values |> Gen.map (fun s -> values, s))))
            (fun (values, intervals) ->
                for name, empty in allKinds do
                    let all = recordAll empty (List.map Aggregation.Measurement.Double values)
                    let mutable state = Aggregation.newSeries empty 1UL
                    let mutable last = None

                    intervals
                    |> List.iteri (fun i chunk ->
                        let since = recordAll empty (List.map Aggregation.Measurement.Double chunk)
                        let p, next = Aggregation.collect AggregationTemporality.Cumulative [||] (Aggregation.Input.Measured since) state (uint64 (i + 2))
                        state <- next
                        last <- Some p)

                    let reported = (Option.get last)
                    let expected = Aggregation.toPoint [||] 1UL (uint64 (intervals.Length + 1)) all
                    let counted = if name.Contains "monotonic" then values |> List.filter (fun v -> v >= 0.0) else values
                    expectSamePoint reported expected counted name)

        testPropertyWithConfig config "integer sums are conserved exactly across any split into intervals"
        <| Prop.forAll (Arb.fromGen (Gen.listOf longs |> Gen.bind (fun values -> splits values |> Gen.map (fun s -> values, s))))
            (fun (values, intervals) ->
                for monotonic in [ false; true ] do
                    let empty = Aggregation.longSum monotonic
                    let merged =
                        intervals
                        |> List.map (fun chunk -> recordAll empty (List.map Aggregation.Measurement.Long chunk))
                        |> List.fold Aggregation.merge empty

                    let expected = values |> List.filter (fun v -> not monotonic || v >= 0L) |> List.sum
                    Expect.equal (longValue (point merged)) expected $"monotonic={monotonic}")

        testPropertyWithConfig config "delta points summed equal the cumulative point"
        <| Prop.forAll (Arb.fromGen (Gen.listOf moderate |> Gen.bind (fun values -> splits values |> Gen.map (fun s -> values, s))))
            (fun (values, intervals) ->
                for name, empty in allKinds do
                    let run temporality =
                        intervals
                        |> List.mapi (fun i chunk -> i, recordAll empty (List.map Aggregation.Measurement.Double chunk))
                        |> List.mapFold
                            (fun state (i, since) ->
                                Aggregation.collect temporality [||] (Aggregation.Input.Measured since) state (uint64 (10 * i + 20)))
                            (Aggregation.newSeries empty 10UL)
                        |> fst

                    let deltas = run AggregationTemporality.Delta
                    let cumulative = run AggregationTemporality.Cumulative |> List.last

                    // The delta points cover consecutive intervals from the series' start to the last collection.
                    let starts, ends =
                        deltas
                        |> List.map (fun p ->
                            match p with
                            | Aggregation.Point.Number n -> n.StartTimeUnixNano, n.TimeUnixNano
                            | Aggregation.Point.Histogram h -> h.StartTimeUnixNano, h.TimeUnixNano
                            | Aggregation.Point.Exponential e -> e.StartTimeUnixNano, e.TimeUnixNano)
                        |> List.unzip

                    Expect.equal starts (10UL :: List.take (ends.Length - 1) ends) $"{name}: delta starts are the previous collections"

                    let summed =
                        match empty |> point with
                        | Aggregation.Point.Number _ ->
                            let total = deltas |> List.sumBy doubleValue
                            let counted = if name.Contains "monotonic" then values |> List.filter (fun v -> v >= 0.0) else values
                            Expect.isTrue (closeSums total (doubleValue cumulative) counted) $"{name}: {total} vs {doubleValue cumulative}"
                            None
                        | _ -> Some(deltas |> List.map summary)

                    match summed with
                    | Some parts ->
                        let count, sum, min, max = summary cumulative
                        Expect.equal (parts |> List.sumBy (fun (c, _, _, _) -> c)) count $"{name}: counts"
                        expectCloseSum (parts |> List.sumBy (fun (_, s, _, _) -> ValueOption.defaultValue 0.0 s)) values $"{name}: sums"
                        expectCloseSum (ValueOption.defaultValue 0.0 sum) values $"{name}: cumulative sum"
                        let mins = parts |> List.choose (fun (_, _, m, _) -> ValueOption.toOption m)
                        let maxs = parts |> List.choose (fun (_, _, _, m) -> ValueOption.toOption m)
                        Expect.equal (ValueOption.toOption min) (if mins.IsEmpty then None else Some(List.min mins)) $"{name}: min"
                        Expect.equal (ValueOption.toOption max) (if maxs.IsEmpty then None else Some(List.max maxs)) $"{name}: max"
                    | None -> ())

        testPropertyWithConfig config "a histogram's bucket counts sum to its count, NaN and infinities ignored"
        <| Prop.forAll (Arb.fromGen (Gen.listOf (withNonFinite anyFinite)))
            (fun values ->
                for name, empty in histogramKinds do
                    let count, inBuckets = bucketTotal (point (recordAll empty (List.map Aggregation.Measurement.Double values)))
                    Expect.equal inBuckets count name
                    Expect.equal count (uint64 (finiteOf values).Length) $"{name}: only finite values count")

        testPropertyWithConfig config "min <= every value <= max, and both are recorded values"
        <| Prop.forAll (Arb.fromGen (Gen.listOf (withNonFinite anyFinite)))
            (fun values ->
                let finite = finiteOf values

                for name, empty in histogramKinds do
                    let _, _, min, max = summary (point (recordAll empty (List.map Aggregation.Measurement.Double values)))

                    match finite, min, max with
                    | [], ValueNone, ValueNone -> ()
                    | _ :: _, ValueSome lo, ValueSome hi ->
                        Expect.isTrue (finite |> List.forall (fun v -> lo <= v && v <= hi)) $"{name}: {lo} <= values <= {hi}"
                        Expect.contains finite lo $"{name}: min recorded"
                        Expect.contains finite hi $"{name}: max recorded"
                    | _ -> failtestf "%s: min %A and max %A for %A" name min max finite)

        testPropertyWithConfig config "the exponential histogram's buckets cover every recorded value at the reported scale"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.listOf (withNonFinite anyFinite)) (Gen.zip (Gen.choose (4, 200)) (Gen.choose (-10, 20)))))
            (fun (values, (maxSize, maxScale)) ->
                for empty, size in [ Aggregation.defaultExponentialHistogram, 160; Aggregation.exponentialHistogram maxSize maxScale, maxSize ] do
                    match point (recordAll empty (List.map Aggregation.Measurement.Double values)) with
                    | Aggregation.Point.Exponential p ->
                        let covered (buckets: ExponentialBuckets) (v: float) =
                            let i = Aggregation.exponentialIndex p.Scale (abs v)
                            buckets.Offset <= i && i < buckets.Offset + buckets.BucketCounts.Length

                        for v in finiteOf values do
                            if v > 0.0 then Expect.isTrue (covered p.Positive v) $"{v} in the positive buckets at scale {p.Scale}"
                            elif v < 0.0 then Expect.isTrue (covered p.Negative v) $"{v} in the negative buckets at scale {p.Scale}"

                        // Each value's own bucket is counted: recount the values per index and compare.
                        let expected (sign: float -> bool) (buckets: ExponentialBuckets) =
                            let counts = Array.zeroCreate buckets.BucketCounts.Length

                            for v in finiteOf values |> List.filter sign do
                                let i = Aggregation.exponentialIndex p.Scale (abs v) - buckets.Offset
                                counts[i] <- counts[i] + 1UL

                            counts

                        Expect.sequenceEqual p.Positive.BucketCounts (expected (fun v -> v > 0.0) p.Positive) "positive counts"
                        Expect.sequenceEqual p.Negative.BucketCounts (expected (fun v -> v < 0.0) p.Negative) "negative counts"
                        Expect.equal p.ZeroCount (uint64 (finiteOf values |> List.filter (fun v -> v = 0.0)).Length) "zero count"
                        Expect.equal p.Count (uint64 (finiteOf values).Length) "total count"
                        Expect.isLessThanOrEqual p.Positive.BucketCounts.Length size "positive size"
                        Expect.isLessThanOrEqual p.Negative.BucketCounts.Length size "negative size"
                        Expect.equal p.ZeroThreshold 0.0 "zero threshold"
                    | other -> failtestf "not an exponential point: %A" other)

        testPropertyWithConfig config "the exponential histogram never holds more buckets than its maximum size"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.listOf anyFinite) (Gen.choose (4, 40))))
            (fun (values, maxSize) ->
                // Recorded one by one, and merged from single values: the size bound holds for both paths.
                let empty = Aggregation.exponentialHistogram maxSize 20
                let recorded = recordAll empty (List.map Aggregation.Measurement.Double values)
                let merged = values |> List.map (fun v -> recordAll empty [ Aggregation.Measurement.Double v ]) |> List.fold Aggregation.merge empty

                for agg in [ recorded; merged ] do
                    match point agg with
                    | Aggregation.Point.Exponential p ->
                        Expect.isLessThanOrEqual p.Positive.BucketCounts.Length maxSize "positive size"
                        Expect.isLessThanOrEqual p.Negative.BucketCounts.Length maxSize "negative size"
                        Expect.isGreaterThanOrEqual p.Scale -10 "scale"
                    | other -> failtestf "not an exponential point: %A" other

                expectSamePoint (point merged) (point recorded) values "merged single values equal recording them")

        testPropertyWithConfig config "merging is associative for every kind"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.listOf anyFinite) (Gen.listOf anyFinite) (Gen.listOf anyFinite)))
            (fun (xs, ys, zs) ->
                let kinds = ("last value", Aggregation.lastValue) :: allKinds

                for name, empty in kinds do
                    let a, b, c = recordAll empty (List.map Aggregation.Measurement.Double xs), recordAll empty (List.map Aggregation.Measurement.Double ys), recordAll empty (List.map Aggregation.Measurement.Double zs)
                    let left = Aggregation.merge (Aggregation.merge a b) c
                    let right = Aggregation.merge a (Aggregation.merge b c)
                    // Sums of huge doubles may overflow in one grouping and not the other: compare the rest exactly.
                    match point left, point right with
                    | Aggregation.Point.Number l, Aggregation.Point.Number r when name = "last value" -> Common.expectSame l r name
                    | Aggregation.Point.Number _, Aggregation.Point.Number _ -> ()
                    | Aggregation.Point.Histogram l, Aggregation.Point.Histogram r -> Common.expectSame { l with Sum = ValueNone } { r with Sum = ValueNone } name
                    | Aggregation.Point.Exponential l, Aggregation.Point.Exponential r -> Common.expectSame { l with Sum = ValueNone } { r with Sum = ValueNone } name
                    | l, r -> failtestf "%s: %A vs %A" name l r

                for name, empty in allKinds do
                    let values = [ xs; ys; zs ] |> List.map (List.map (fun v -> Math.Clamp(v, -1e100, 1e100)))
                    let a, b, c = values |> List.map (fun vs -> recordAll empty (List.map Aggregation.Measurement.Double vs)) |> fun l -> l[0], l[1], l[2]
                    expectSamePoint (point (Aggregation.merge (Aggregation.merge a b) c)) (point (Aggregation.merge a (Aggregation.merge b c))) (List.concat values) name)

        testPropertyWithConfig config "merging is commutative for sums and histograms"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.listOf moderate) (Gen.listOf moderate)))
            (fun (xs, ys) ->
                for name, empty in allKinds do
                    let a, b = recordAll empty (List.map Aggregation.Measurement.Double xs), recordAll empty (List.map Aggregation.Measurement.Double ys)
                    expectSamePoint (point (Aggregation.merge a b)) (point (Aggregation.merge b a)) (xs @ ys) name)

        testPropertyWithConfig config "a last value merged with a later one is the later one, unless the later is empty"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.listOf anyFinite) (Gen.listOf anyFinite)))
            (fun (xs, ys) ->
                let a, b = recordAll Aggregation.lastValue (List.map Aggregation.Measurement.Double xs), recordAll Aggregation.lastValue (List.map Aggregation.Measurement.Double ys)
                let expected = if List.isEmpty ys then point a else point b
                Common.expectSame (point (Aggregation.merge a b)) expected "last value")

        testPropertyWithConfig config "limit attribute sets keep their own series, the overflow series comes on top and no measurement is lost"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 12)) (Gen.listOf (Gen.zip (Gen.subListOf [ "a"; "b"; "c"; "d" ]) (Gen.choose (0, 3))))))
            (fun (limit, measurements) ->
                let attributes (keys: string list, value) =
                    keys |> List.map (fun k -> { Key = k; Value = AnyValue.Int(int64 value) }) |> List.toArray

                let table =
                    measurements
                    |> List.fold (fun t m -> Aggregation.recordIn (attributes m) (Aggregation.Measurement.Long 1L) t) (Aggregation.emptyTable limit (Aggregation.longSum true))

                let all = Aggregation.series table
                let effectiveLimit = max 1 limit
                Expect.isLessThanOrEqual (Aggregation.seriesCount table) (effectiveLimit + 1) "series count: the limit and the overflow series"
                Expect.equal all.Length (Aggregation.seriesCount table) "series listed"
                let total = all |> Array.sumBy (fun (_, agg) -> longValue (point agg))
                Expect.equal total (int64 measurements.Length) "every measurement counted"

                let distinct = measurements |> List.map (attributes >> Aggregation.attributeSet) |> List.distinct
                let overflowSet = Aggregation.attributeSet Aggregation.overflowAttributes
                let hasOverflow = all |> Array.exists (fun (key, _) -> key = overflowSet)
                Expect.equal hasOverflow (distinct.Length > effectiveLimit) "overflow series exactly when the distinct sets exceed the limit"

                // The first `limit` attribute sets to arrive keep their own series (metrics SDK specification,
                // "Overflow attribute": no overflow while the distinct sets are at most the limit).
                for key in List.truncate effectiveLimit distinct do
                    Expect.isTrue (all |> Array.exists (fun (k, _) -> k = key)) $"{key} kept")

        testPropertyWithConfig config "the deltas of observed totals summed equal the last total of every set, whichever sets each collection misses"
        <| Prop.forAll (Arb.fromGen (Gen.choose (1, Aggregation.forgetObservedAfter) |> Gen.bind growingObservations))
            (fun collections ->
                let mutable memory = Map.empty
                let mutable totals = Map.empty
                let mutable reported = 0L

                for increments in collections do
                    let observed =
                        increments
                        |> List.map (fun (key, increment) ->
                            let total = (Map.tryFind key totals |> Option.defaultValue 0L) + int64 increment
                            totals <- Map.add key total totals
                            key, Aggregation.ofLongSum true total)

                    let deltas, next = observeCollection memory observed
                    memory <- next
                    reported <- reported + (deltas |> List.sumBy (point >> longValue))

                Expect.equal reported (totals |> Map.values |> Seq.sum) "every set's total reported once")

        testPropertyWithConfig config "the deltas of a monotonic sum are never negative, whatever the totals (resets, negative totals)"
        <| Prop.forAll (Arb.fromGen (Gen.listOf (Gen.zip (Gen.elements [ "a"; "b" ]) longs)))
            (fun observations ->
                observations
                |> List.fold
                    (fun memory (key, total) ->
                        let deltas, next = observeCollection memory [ key, Aggregation.ofLongSum true total ]
                        let doubles, _ = observeCollection Map.empty [ key, Aggregation.ofDoubleSum true (float total) ]
                        Expect.isGreaterThanOrEqual (longValue (point deltas.Head)) 0L $"{key}: {total}"
                        Expect.isGreaterThanOrEqual (doubleValue (point doubles.Head)) 0.0 $"{key}: {total} as a double"
                        next)
                    Map.empty
                |> ignore)

        testPropertyWithConfig config "the deltas of an up-down sum add up to its last total, going down included"
        <| Prop.forAll (Arb.fromGen (Gen.nonEmptyListOf longs))
            (fun totals ->
                let reported, _ =
                    totals
                    |> List.fold
                        (fun (sum, memory) total ->
                            let deltas, next = observeCollection memory [ "a", Aggregation.ofLongSum false total ]
                            sum + longValue (point deltas.Head), next)
                        (0L, Map.empty)

                Expect.equal reported (List.last totals) "the last total")

        testPropertyWithConfig config "attribute sets do not depend on the order of the attributes"
        <| Prop.forAll (Arb.fromGen (Gen.shuffle [| "x"; "y"; "z"; "w" |]))
            (fun keys ->
                let attrs (ks: string array) = ks |> Array.map (fun k -> { Key = k; Value = AnyValue.String(k + "!") })
                let a = Aggregation.attributeSet (attrs keys)
                let b = Aggregation.attributeSet (attrs [| "w"; "x"; "y"; "z" |])
                Expect.equal a b "same set"
                Expect.equal (a.GetHashCode()) (b.GetHashCode()) "same hash")

        test "attribute sets compare values as exported: arrays by their elements" {
            let set (value: AnyValue) = Aggregation.attributeSet [| { Key = "k"; Value = value } |]
            let array () = AnyValue.Array [| AnyValue.String "a"; AnyValue.Int 1L |]
            Expect.equal (set (array ())) (set (array ())) "two arrays of equal elements"
            Expect.equal ((set (array ())).GetHashCode()) ((set (array ())).GetHashCode()) "same hash"
            let table =
                [ array (); array () ]
                |> List.fold (fun t v -> Aggregation.recordIn [| { Key = "k"; Value = v } |] (Aggregation.Measurement.Long 1L) t) (Aggregation.emptyTable 10 (Aggregation.longSum true))
            Expect.equal (Aggregation.seriesCount table) 1 "one series"
        }

        testPropertyWithConfig config "the index at one scale lower is the index shifted right, and grows with the value"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (anyFinite |> Gen.map abs |> Gen.filter (fun v -> v > 0.0)) (anyFinite |> Gen.map abs |> Gen.filter (fun v -> v > 0.0)) (Gen.choose (-9, 20))))
            (fun (v, w, scale) ->
                Expect.equal (Aggregation.exponentialIndex (scale - 1) v) (Aggregation.exponentialIndex scale v >>> 1) "downscale"
                if v <= w then Expect.isLessThanOrEqual (Aggregation.exponentialIndex scale v) (Aggregation.exponentialIndex scale w) "monotonic")

        testPropertyWithConfig config "a value lies in (2^(i * 2^-scale), 2^((i+1) * 2^-scale)] of its index i"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.zip (Gen.choose (1, 999_999)) (Gen.choose (-300, 300))) (Gen.choose (-10, 20))))
            (fun ((mantissa, exponent), scale) ->
                let v = float mantissa * Math.Pow(10.0, float exponent)
                let i = Aggregation.exponentialIndex scale v
                // log2 of the boundaries, compared in the log domain with a margin for the rounding of Log2.
                let width = Math.Pow(2.0, float -scale)
                let log2v = Math.Log2 v
                let margin = 1e-12 * (abs log2v + 1.0)
                Expect.isTrue (float i * width < log2v + margin && log2v <= float (i + 1) * width + margin) $"{v} at scale {scale} in bucket {i}")
    ]

[<Tests>]
let examples =
    testList "Aggregation examples" [
        test "temporality follows the OTLP exporter's table" {
            let kinds =
                [ Aggregation.InstrumentKind.Counter
                  Aggregation.InstrumentKind.ObservableCounter
                  Aggregation.InstrumentKind.Histogram
                  Aggregation.InstrumentKind.UpDownCounter
                  Aggregation.InstrumentKind.ObservableUpDownCounter ]

            let c, d = AggregationTemporality.Cumulative, AggregationTemporality.Delta

            let table =
                [ TemporalityPreference.Cumulative, [ c; c; c; c; c ]
                  TemporalityPreference.Delta, [ d; d; d; c; c ]
                  TemporalityPreference.LowMemory, [ d; c; d; c; c ] ]

            for preference, expected in table do
                Expect.equal (kinds |> List.map (Aggregation.temporality preference)) expected $"{preference}"
        }

        test "the default aggregation of each instrument kind" {
            let kindOf agg =
                match point (Aggregation.record (Aggregation.Measurement.Long -2L) agg) with
                | Aggregation.Point.Number p when p.Value = NumberValue.AsInt 0L -> "monotonic long sum"
                | Aggregation.Point.Number p when p.Value = NumberValue.AsInt -2L -> "long sum or last value"
                | Aggregation.Point.Number p when p.Value = NumberValue.AsDouble 0.0 -> "monotonic double sum"
                | Aggregation.Point.Number p when p.Value = NumberValue.AsDouble -2.0 -> "double sum"
                | Aggregation.Point.Number _ -> "?"
                | Aggregation.Point.Histogram _ -> "explicit histogram"
                | Aggregation.Point.Exponential _ -> "exponential histogram"

            let explicitLongs = Aggregation.defaultAggregation HistogramAggregation.ExplicitBucketHistogram true
            let exponentialDoubles = Aggregation.defaultAggregation HistogramAggregation.Base2ExponentialBucketHistogram false
            Expect.equal (kindOf (explicitLongs Aggregation.InstrumentKind.Counter)) "monotonic long sum" "counter"
            Expect.equal (kindOf (explicitLongs Aggregation.InstrumentKind.ObservableUpDownCounter)) "long sum or last value" "up-down"
            Expect.equal (kindOf (explicitLongs Aggregation.InstrumentKind.Histogram)) "explicit histogram" "histogram"
            Expect.equal (kindOf (exponentialDoubles Aggregation.InstrumentKind.Histogram)) "exponential histogram" "exponential"
            Expect.equal (kindOf (exponentialDoubles Aggregation.InstrumentKind.ObservableCounter)) "monotonic double sum" "observable counter"
            Expect.equal (kindOf (exponentialDoubles Aggregation.InstrumentKind.UpDownCounter)) "double sum" "up-down counter"

            // A gauge keeps the measurement as given, even an integer one.
            match point (Aggregation.record (Aggregation.Measurement.Long -2L) (exponentialDoubles Aggregation.InstrumentKind.Gauge)) with
            | Aggregation.Point.Number p -> Expect.equal p.Value (NumberValue.AsInt -2L) "gauge"
            | other -> failtestf "%A" other
        }

        test "an explicit bucket holds values above the previous bound up to its own bound" {
            let agg = [ -1.0; 0.0; 0.5; 5.0; 5.0000001; 10000.0; 10000.5 ] |> List.map Aggregation.Measurement.Double |> recordAll (Aggregation.explicitHistogram Aggregation.defaultBounds)

            match point agg with
            | Aggregation.Point.Histogram p ->
                Expect.sequenceEqual p.ExplicitBounds Aggregation.defaultBounds "default bounds"
                Expect.equal p.BucketCounts.Length 16 "one more bucket than bounds"
                Expect.sequenceEqual p.BucketCounts [| 2UL; 2UL; 1UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 0UL; 1UL; 1UL |] "buckets"
                Expect.equal p.Min (ValueSome -1.0) "min"
                Expect.equal p.Max (ValueSome 10000.5) "max"
            | other -> failtestf "%A" other
        }

        test "explicit bounds must be finite and strictly increasing" {
            Expect.throwsT<ArgumentException> (fun () -> Aggregation.explicitHistogram [| 1.0; 1.0 |] |> ignore) "equal bounds"
            Expect.throwsT<ArgumentException> (fun () -> Aggregation.explicitHistogram [| 1.0; nan |] |> ignore) "NaN bound"
        }

        test "powers of two fall at the top of their bucket, exactly" {
            for scale in -10 .. 20 do
                for k in [ -1074; -1022; -1; 0; 1; 52; 1023 ] do
                    let expected = if scale >= 0 then (k <<< scale) - 1 else (k - 1) >>> -scale
                    Expect.equal (Aggregation.exponentialIndex scale (Math.Pow(2.0, float k))) expected $"2^{k} at scale {scale}"

            Expect.equal (Aggregation.exponentialIndex 0 3.0) 1 "3 in (2, 4]"
            Expect.equal (Aggregation.exponentialIndex 1 3.0) 3 "3 in (2^1.5, 2^2] at scale 1"
            Expect.equal (Aggregation.exponentialIndex 1 2.5) 2 "2.5 in (2, 2^1.5]"
            Expect.equal (Aggregation.exponentialIndex 0 Double.MaxValue) 1023 "largest double"
            Expect.equal (Aggregation.exponentialIndex 0 (3.0 * Double.Epsilon)) -1073 "subnormal 3 * 2^-1074 in (2^-1073, 2^-1072]"
        }

        test "an exponential histogram rescales down when the range grows" {
            let agg = [ 1.5; 1.5; 1e6; -2.0; 0.0 ] |> List.map Aggregation.Measurement.Double |> recordAll (Aggregation.exponentialHistogram 4 20)

            match point agg with
            | Aggregation.Point.Exponential p ->
                Expect.isLessThan p.Scale 20 "scale went down"
                Expect.equal p.ZeroCount 1UL "zero"
                Expect.equal (Array.sum p.Positive.BucketCounts) 3UL "positives"
                Expect.equal (Array.sum p.Negative.BucketCounts) 1UL "negatives"
                Expect.equal p.Sum (ValueSome(1.5 + 1.5 + 1e6 - 2.0)) "sum"
            | other -> failtestf "%A" other
        }

        test "NaN and infinities are ignored by every aggregator" {
            for name, empty in ("long sum", Aggregation.longSum false) :: ("last value", Aggregation.lastValue) :: allKinds do
                let agg = [ nan; infinity; -infinity ] |> List.map Aggregation.Measurement.Double |> recordAll empty
                Expect.isTrue (Aggregation.isEmpty agg) name
        }

        test "a monotonic sum ignores negative measurements" {
            let agg = [ Aggregation.Measurement.Long 5L; Aggregation.Measurement.Long -3L; Aggregation.Measurement.Double 2.9 ] |> recordAll (Aggregation.longSum true)
            Expect.equal (longValue (point agg)) 7L "5 + 2 (2.9 truncated), -3 ignored"
        }

        test "observed totals become deltas, and cumulative points keep the series' start" {
            let observe total = Aggregation.Input.Observed(recordAll (Aggregation.longSum true) [ Aggregation.Measurement.Long total ])

            let run temporality =
                [ 5L; 8L; 12L ]
                |> List.mapi (fun i total -> i, total)
                |> List.mapFold
                    (fun state (i, total) ->
                        let p, next = Aggregation.collect temporality [||] (observe total) state (uint64 (100 * (i + 2)))
                        let n = numberOf p
                        (n.StartTimeUnixNano, n.TimeUnixNano, longValue p), next)
                    (Aggregation.newSeries (Aggregation.longSum true) 100UL)
                |> fst

            Expect.equal (run AggregationTemporality.Delta) [ 100UL, 200UL, 5L; 200UL, 300UL, 3L; 300UL, 400UL, 4L ] "delta"
            Expect.equal (run AggregationTemporality.Cumulative) [ 100UL, 200UL, 5L; 100UL, 300UL, 8L; 100UL, 400UL, 12L ] "cumulative"
        }

        test "an observed set's delta: its whole total first, its change after, its new total after a reset" {
            let delta previous total =
                let d, remembered = Aggregation.observedDelta previous (Aggregation.ofLongSum true total)
                longValue (point d), ValueSome remembered

            let first, afterFirst = delta ValueNone 100L
            let grown, afterGrown = delta afterFirst 130L
            let reset, _ = delta afterGrown 20L
            Expect.equal (first, grown, reset) (100L, 30L, 20L) "whole, change, reset"
        }

        test "an unobserved set is remembered for forgetObservedAfter collections, then forgotten" {
            let _, remembered = Aggregation.observedDelta ValueNone (Aggregation.ofLongSum true 100L)
            let ages = List.scan (fun m _ -> Aggregation.missedCollection m) remembered [ 1 .. Aggregation.forgetObservedAfter ]
            Expect.equal (ages |> List.map Aggregation.isForgotten) (List.replicate Aggregation.forgetObservedAfter false @ [ true ]) "forgotten at the last"
            let back, _ = Aggregation.observedDelta (ValueSome ages[Aggregation.forgetObservedAfter - 1]) (Aggregation.ofLongSum true 150L)
            Expect.equal (longValue (point back)) 50L "back before it was forgotten: only its change"
            let _, observedAgain = Aggregation.observedDelta (ValueSome ages[3]) (Aggregation.ofLongSum true 150L)
            Expect.equal observedAgain.Missed 0 "observed again, it has missed none"
        }

        test "an empty last value reports no value, flagged" {
            let p = numberOf (point Aggregation.lastValue)
            Expect.equal p.Value NumberValue.NoValue "no value"
            Expect.equal p.Flags DataPointFlags.NoRecordedValueMask "flag"
        }

        test "the overflow series carries the single attribute otel.metric.overflow=true" {
            let table =
                [ "a"; "b"; "c" ]
                |> List.fold
                    (fun t v -> Aggregation.recordIn [| { Key = "k"; Value = AnyValue.String v } |] (Aggregation.Measurement.Long 1L) t)
                    (Aggregation.emptyTable 2 (Aggregation.longSum true))

            let keys = Aggregation.series table |> Array.map (fun (k, _) -> k.Attributes) |> Array.sortBy (fun a -> a[0].Key)
            Expect.equal keys.Length 3 "two attribute sets under the limit of 2, and the overflow series"
            Common.expectSame keys[2] [| { Key = "otel.metric.overflow"; Value = AnyValue.Bool true } |] "overflow"
            Expect.equal Aggregation.defaultCardinalityLimit 2000 "default limit"
        }

        test "an ignored measurement takes no series" {
            let table =
                Aggregation.emptyTable 2 (Aggregation.doubleSum false)
                |> Aggregation.recordIn [| { Key = "k"; Value = AnyValue.Int 1L } |] (Aggregation.Measurement.Double nan)
                |> Aggregation.recordIn [| { Key = "k"; Value = AnyValue.Int 2L } |] (Aggregation.Measurement.Double 1.0)

            let keys = Aggregation.series table |> Array.map (fun (k, _) -> k.Attributes)
            Common.expectSame keys [| [| { Key = "k"; Value = AnyValue.Int 2L } |] |] "only the finite measurement's series"
        }
    ]

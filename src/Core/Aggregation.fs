[<RequireQualifiedAccess>]
module Otlp.Core.Aggregation

open System
open System.Collections.Immutable
open System.Numerics

[<RequireQualifiedAccess>]
type InstrumentKind =
    | Counter
    | UpDownCounter
    | Histogram
    | ObservableCounter
    | ObservableUpDownCounter
    | ObservableGauge
    | Gauge

// The table of the OTLP exporter specification, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE".
let temporality (preference: TemporalityPreference) (kind: InstrumentKind) =
    match preference, kind with
    | TemporalityPreference.Cumulative, _ -> AggregationTemporality.Cumulative
    | TemporalityPreference.Delta, (InstrumentKind.Counter | InstrumentKind.ObservableCounter | InstrumentKind.Histogram) ->
        AggregationTemporality.Delta
    | TemporalityPreference.LowMemory, (InstrumentKind.Counter | InstrumentKind.Histogram) -> AggregationTemporality.Delta
    | TemporalityPreference.Delta, _
    | TemporalityPreference.LowMemory, _ -> AggregationTemporality.Cumulative

[<RequireQualifiedAccess>]
type Measurement =
    | Long of int64
    | Double of float

[<RequireQualifiedAccess>]
type Point =
    | Number of NumberDataPoint
    | Histogram of HistogramDataPoint
    | Exponential of ExponentialHistogramDataPoint

type internal Buckets = { Offset: int; Counts: uint64 array }

type internal ExplicitState =
    { Bounds: float array
      Counts: uint64 array
      Count: uint64
      Sum: float
      Min: float
      Max: float }

type internal ExponentialState =
    { MaxSize: int
      MaxScale: int
      Scale: int
      Count: uint64
      Sum: float
      Min: float
      Max: float
      ZeroCount: uint64
      Positive: Buckets
      Negative: Buckets }

[<NoEquality; NoComparison>]
type internal State =
    | LongSum of monotonic: bool * total: int64
    | DoubleSum of monotonic: bool * total: float
    | LastValue of Measurement voption
    | Explicit of ExplicitState
    | Exponential of ExponentialState

[<Sealed>]
type Aggregation private (state: State) =
    member internal _.State = state
    static member internal Of(state: State) = Aggregation state
    override _.ToString() = sprintf "%A" state

let private ofState state = Aggregation.Of state

let defaultBounds = [| 0.0; 5.0; 10.0; 25.0; 50.0; 75.0; 100.0; 250.0; 500.0; 750.0; 1000.0; 2500.0; 5000.0; 7500.0; 10000.0 |]

let defaultMaxSize = 160

let defaultMaxScale = 20

[<Literal>]
let private MinScale = -10

[<Literal>]
let private TopScale = 20

let longSum monotonic = ofState (LongSum(monotonic, 0L))

let doubleSum monotonic = ofState (DoubleSum(monotonic, 0.0))

let lastValue = ofState (LastValue ValueNone)

let explicitHistogram (bounds: float array) =
    if isNull bounds then
        nullArg (nameof bounds)

    for i in 0 .. bounds.Length - 1 do
        if not (Double.IsFinite bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]) then
            invalidArg (nameof bounds) "Histogram bounds must be finite and strictly increasing."

    ofState (
        Explicit
            { Bounds = Array.copy bounds
              Counts = Array.zeroCreate (bounds.Length + 1)
              Count = 0UL
              Sum = 0.0
              Min = Double.PositiveInfinity
              Max = Double.NegativeInfinity }
    )

let private noBuckets = { Offset = 0; Counts = [||] }

// At scale -10 every double fits in 3 buckets, so 4 buckets always leave room to rescale into.
let minExponentialSize = 4

let exponentialHistogram maxSize maxScale =
    let scale = Math.Clamp(maxScale, MinScale, TopScale)

    ofState (
        Exponential
            { MaxSize = max minExponentialSize maxSize
              MaxScale = scale
              Scale = scale
              Count = 0UL
              Sum = 0.0
              Min = Double.PositiveInfinity
              Max = Double.NegativeInfinity
              ZeroCount = 0UL
              Positive = noBuckets
              Negative = noBuckets }
    )

let defaultExponentialHistogram = exponentialHistogram defaultMaxSize defaultMaxScale

let defaultAggregation (histograms: HistogramAggregation) integers (kind: InstrumentKind) =
    let sum monotonic =
        if integers then longSum monotonic else doubleSum monotonic

    match kind with
    | InstrumentKind.Counter
    | InstrumentKind.ObservableCounter -> sum true
    | InstrumentKind.UpDownCounter
    | InstrumentKind.ObservableUpDownCounter -> sum false
    | InstrumentKind.Gauge
    | InstrumentKind.ObservableGauge -> lastValue
    | InstrumentKind.Histogram ->
        match histograms with
        | HistogramAggregation.ExplicitBucketHistogram -> explicitHistogram defaultBounds
        | HistogramAggregation.Base2ExponentialBucketHistogram -> defaultExponentialHistogram

// The index at scale 20 from the bits of the double: the exponent gives the power of two exactly, and only the
// position within [2^e, 2^(e+1)) needs a logarithm, of a number in (1, 2), clamped to that power's buckets so
// rounding can never cross a power of two. Lower scales shift this index, which is exact: floor(i / 2^k) is
// the index at scale 20 - k of every value of bucket i (data model, "Exponential Buckets", "Producer
// expectations").
let private indexAtTopScale (value: float) =
    let bits = BitConverter.DoubleToInt64Bits value
    let biased = int ((bits >>> 52) &&& 0x7FFL)
    let fraction = bits &&& 0xFFFFFFFFFFFFFL

    let exponent, significand =
        if biased = 0 then
            // Subnormal: value = fraction * 2^-1074; normalize so the leading bit becomes the implicit one.
            let top = 63 - BitOperations.LeadingZeroCount(uint64 fraction)
            top - 1074, (fraction <<< (52 - top)) &&& 0xFFFFFFFFFFFFFL
        else
            biased - 1023, fraction

    if significand = 0L then
        (exponent <<< TopScale) - 1
    else
        let mantissa = BitConverter.Int64BitsToDouble(0x3FF0000000000000L ||| significand)
        let within = int (Math.Floor(Math.Log2 mantissa * float (1 <<< TopScale)))
        (exponent <<< TopScale) + Math.Clamp(within, 0, (1 <<< TopScale) - 1)

let exponentialIndex scale (value: float) =
    if not (Double.IsFinite value) || value <= 0.0 then
        invalidArg (nameof value) "The index is defined for positive finite values."

    if scale < MinScale || scale > TopScale then
        invalidArg (nameof scale) "The scale is in [-10, 20]."

    indexAtTopScale value >>> (TopScale - scale)

let private lastIndex (b: Buckets) = b.Offset + b.Counts.Length - 1

// The number of halvings after which [low, high] fits in maxSize buckets. In int64: at scale 20 the indexes
// of the smallest and largest doubles are more than 2^31 apart.
let private halvingsToFit maxSize (low: int) (high: int) =
    let mutable k = 0

    while int64 (high >>> k) - int64 (low >>> k) + 1L > int64 maxSize do
        k <- k + 1

    k

let private downscale k (b: Buckets) =
    if k = 0 || b.Counts.Length = 0 then
        b
    else
        let low = b.Offset >>> k
        let counts = Array.zeroCreate ((lastIndex b >>> k) - low + 1)

        for i in 0 .. b.Counts.Length - 1 do
            let j = ((b.Offset + i) >>> k) - low
            counts[j] <- counts[j] + b.Counts[i]

        { Offset = low; Counts = counts }

// Bucket-wise sum of two bucket ranges at the same scale.
let private addBuckets (a: Buckets) (b: Buckets) =
    if a.Counts.Length = 0 then
        b
    elif b.Counts.Length = 0 then
        a
    else
        let low = min a.Offset b.Offset
        let counts = Array.zeroCreate (max (lastIndex a) (lastIndex b) - low + 1)

        for i in 0 .. a.Counts.Length - 1 do
            counts[a.Offset - low + i] <- counts[a.Offset - low + i] + a.Counts[i]

        for i in 0 .. b.Counts.Length - 1 do
            counts[b.Offset - low + i] <- counts[b.Offset - low + i] + b.Counts[i]

        { Offset = low; Counts = counts }

// The halvings needed for the union of two bucket ranges (at the same scale) to fit.
let private halvingsForUnion maxSize (a: Buckets) (b: Buckets) =
    match a.Counts.Length, b.Counts.Length with
    | 0, 0 -> 0
    | 0, _ -> halvingsToFit maxSize b.Offset (lastIndex b)
    | _, 0 -> halvingsToFit maxSize a.Offset (lastIndex a)
    | _ -> halvingsToFit maxSize (min a.Offset b.Offset) (max (lastIndex a) (lastIndex b))

let private mergeExponential (a: ExponentialState) (b: ExponentialState) =
    if a.MaxSize <> b.MaxSize || a.MaxScale <> b.MaxScale then
        invalidArg (nameof b) "Exponential histograms of different settings cannot be merged."

    let scale = min a.Scale b.Scale
    let aPos, aNeg = downscale (a.Scale - scale) a.Positive, downscale (a.Scale - scale) a.Negative
    let bPos, bNeg = downscale (b.Scale - scale) b.Positive, downscale (b.Scale - scale) b.Negative
    // Both signs share the scale, so the sign needing more halvings decides.
    let k = max (halvingsForUnion a.MaxSize aPos bPos) (halvingsForUnion a.MaxSize aNeg bNeg)

    { a with
        Scale = scale - k
        Count = a.Count + b.Count
        Sum = a.Sum + b.Sum
        Min = min a.Min b.Min
        Max = max a.Max b.Max
        ZeroCount = a.ZeroCount + b.ZeroCount
        Positive = addBuckets (downscale k aPos) (downscale k bPos)
        Negative = addBuckets (downscale k aNeg) (downscale k bNeg) }

let private recordExponential (value: float) (s: ExponentialState) =
    let counted =
        { s with
            Count = s.Count + 1UL
            Sum = s.Sum + value
            Min = min s.Min value
            Max = max s.Max value }

    if value = 0.0 then
        { counted with ZeroCount = s.ZeroCount + 1UL }
    else
        let index = exponentialIndex s.Scale (abs value)
        let single = { Offset = index; Counts = [| 1UL |] }
        let target = if value > 0.0 then s.Positive else s.Negative
        let k = halvingsForUnion s.MaxSize target single

        let added =
            addBuckets (downscale k target) { single with Offset = index >>> k }

        if value > 0.0 then
            { counted with
                Scale = s.Scale - k
                Positive = added
                Negative = downscale k s.Negative }
        else
            { counted with
                Scale = s.Scale - k
                Positive = downscale k s.Positive
                Negative = added }

// Bucket i holds (bounds[i-1], bounds[i]]: the first bound >= value.
let private bucketOf (bounds: float array) (value: float) =
    let mutable low = 0
    let mutable high = bounds.Length

    while low < high do
        let mid = (low + high) / 2

        if value <= bounds[mid] then high <- mid else low <- mid + 1

    low

let private recordExplicit (value: float) (s: ExplicitState) =
    let counts = Array.copy s.Counts
    let i = bucketOf s.Bounds value
    counts[i] <- counts[i] + 1UL

    { s with
        Counts = counts
        Count = s.Count + 1UL
        Sum = s.Sum + value
        Min = min s.Min value
        Max = max s.Max value }

[<RequireQualifiedAccess>]
type Shape =
    | LongSum of monotonic: bool
    | DoubleSum of monotonic: bool
    | LastValue
    | ExplicitHistogram of bounds: float array
    | ExponentialHistogram of maxSize: int * maxScale: int

let shape (aggregation: Aggregation) =
    match aggregation.State with
    | LongSum(monotonic, _) -> Shape.LongSum monotonic
    | DoubleSum(monotonic, _) -> Shape.DoubleSum monotonic
    | LastValue _ -> Shape.LastValue
    | Explicit s -> Shape.ExplicitHistogram(Array.copy s.Bounds)
    | Exponential s -> Shape.ExponentialHistogram(s.MaxSize, s.MaxScale)

let explicitBucketIndex (bounds: float array) (value: float) = bucketOf bounds value

let ofLongSum monotonic total = ofState (LongSum(monotonic, total))

let ofDoubleSum monotonic total = ofState (DoubleSum(monotonic, total))

let ofLastValue (measurement: Measurement) = ofState (LastValue(ValueSome measurement))

let ofExplicitHistogram (bounds: float array) (counts: uint64 array) count sum min max =
    if isNull counts then
        nullArg (nameof counts)

    match (explicitHistogram bounds).State with
    | Explicit empty ->
        if counts.Length <> empty.Counts.Length then
            invalidArg (nameof counts) "An explicit histogram has one count more than it has bounds."

        ofState (
            Explicit
                { empty with
                    Counts = Array.copy counts
                    Count = count
                    Sum = (if count = 0UL then 0.0 else sum)
                    Min = (if count = 0UL then Double.PositiveInfinity else min)
                    Max = (if count = 0UL then Double.NegativeInfinity else max) }
        )
    | _ -> invalidOp "explicitHistogram makes an explicit histogram."

// Leading and trailing zero counts are trimmed, so a snapshot equals the histogram `record` would have built.
let private trimmed offset (counts: uint64 array) =
    let first = Array.tryFindIndex (fun c -> c <> 0UL) counts
    let last = Array.tryFindIndexBack (fun c -> c <> 0UL) counts

    match first, last with
    | Some f, Some l -> { Offset = offset + f; Counts = counts[f..l] }
    | _ -> noBuckets

let ofExponentialHistogram maxSize maxScale scale zeroCount positiveOffset positiveCounts negativeOffset negativeCounts count sum min max =
    if isNull positiveCounts then
        nullArg (nameof positiveCounts)

    if isNull negativeCounts then
        nullArg (nameof negativeCounts)

    match (exponentialHistogram maxSize maxScale).State with
    | Exponential empty ->
        if scale < MinScale || scale > empty.MaxScale then
            invalidArg (nameof scale) "The scale is in [-10, maxScale]."

        let positive = trimmed positiveOffset positiveCounts
        let negative = trimmed negativeOffset negativeCounts

        if positive.Counts.Length > empty.MaxSize || negative.Counts.Length > empty.MaxSize then
            invalidArg (nameof positiveCounts) "Each sign holds at most maxSize buckets."

        ofState (
            Exponential
                { empty with
                    Scale = scale
                    Count = count
                    Sum = (if count = 0UL then 0.0 else sum)
                    Min = (if count = 0UL then Double.PositiveInfinity else min)
                    Max = (if count = 0UL then Double.NegativeInfinity else max)
                    ZeroCount = zeroCount
                    Positive = positive
                    Negative = negative }
        )
    | _ -> invalidOp "exponentialHistogram makes an exponential histogram."

let private asDouble measurement =
    match measurement with
    | Measurement.Long l -> float l
    | Measurement.Double d -> d

let record (measurement: Measurement) (aggregation: Aggregation) =
    let value = asDouble measurement

    if not (Double.IsFinite value) then
        aggregation
    else
        match aggregation.State with
        | LongSum(monotonic, _) when monotonic && value < 0.0 -> aggregation
        | DoubleSum(monotonic, _) when monotonic && value < 0.0 -> aggregation
        | LongSum(monotonic, total) ->
            match measurement with
            | Measurement.Long l -> ofState (LongSum(monotonic, total + l))
            // 2^63 itself is out of range, hence the strict bound.
            | Measurement.Double d when d > -9.2233720368547758e18 && d < 9.2233720368547758e18 ->
                ofState (LongSum(monotonic, total + int64 d))
            | Measurement.Double _ -> aggregation
        | DoubleSum(monotonic, total) -> ofState (DoubleSum(monotonic, total + value))
        | LastValue _ -> ofState (LastValue(ValueSome measurement))
        | Explicit s -> ofState (Explicit(recordExplicit value s))
        | Exponential s -> ofState (Exponential(recordExponential value s))

let merge (earlier: Aggregation) (later: Aggregation) =
    match earlier.State, later.State with
    | LongSum(m1, a), LongSum(m2, b) when m1 = m2 -> ofState (LongSum(m1, a + b))
    | DoubleSum(m1, a), DoubleSum(m2, b) when m1 = m2 -> ofState (DoubleSum(m1, a + b))
    | LastValue _, LastValue ValueNone -> earlier
    | LastValue _, LastValue _ -> later
    | Explicit a, Explicit b when a.Bounds.AsSpan().SequenceEqual(b.Bounds) ->
        ofState (
            Explicit
                { a with
                    Counts = Array.map2 (+) a.Counts b.Counts
                    Count = a.Count + b.Count
                    Sum = a.Sum + b.Sum
                    Min = min a.Min b.Min
                    Max = max a.Max b.Max }
        )
    | Exponential a, Exponential b -> ofState (Exponential(mergeExponential a b))
    | _ -> invalidArg (nameof later) "Only aggregations of the same kind and settings can be merged."

let subtract (later: Aggregation) (earlier: Aggregation) =
    match later.State, earlier.State with
    | LongSum(m, a), LongSum(_, b) -> ofState (LongSum(m, a - b))
    | DoubleSum(m, a), DoubleSum(_, b) -> ofState (DoubleSum(m, a - b))
    | _ -> later

let isEmpty (aggregation: Aggregation) =
    match aggregation.State with
    | LongSum(_, total) -> total = 0L
    | DoubleSum(_, total) -> total = 0.0
    | LastValue value -> value.IsNone
    | Explicit s -> s.Count = 0UL
    | Exponential s -> s.Count = 0UL

let private known (count: uint64) (value: float) =
    if count = 0UL then ValueNone else ValueSome value

let private toModelBuckets (b: Buckets) : ExponentialBuckets =
    { Offset = b.Offset
      BucketCounts = Array.copy b.Counts }

let toPoint (attributes: KeyValue array) startUnixNano timeUnixNano (aggregation: Aggregation) =
    let number value flags =
        Point.Number
            { Attributes = attributes
              StartTimeUnixNano = startUnixNano
              TimeUnixNano = timeUnixNano
              Value = value
              Exemplars = [||]
              Flags = flags }

    match aggregation.State with
    | LongSum(_, total) -> number (NumberValue.AsInt total) 0u
    | DoubleSum(_, total) -> number (NumberValue.AsDouble total) 0u
    | LastValue(ValueSome(Measurement.Long l)) -> number (NumberValue.AsInt l) 0u
    | LastValue(ValueSome(Measurement.Double d)) -> number (NumberValue.AsDouble d) 0u
    | LastValue ValueNone -> number NumberValue.NoValue DataPointFlags.NoRecordedValueMask
    | Explicit s ->
        Point.Histogram
            { Attributes = attributes
              StartTimeUnixNano = startUnixNano
              TimeUnixNano = timeUnixNano
              Count = s.Count
              Sum = known s.Count s.Sum
              BucketCounts = Array.copy s.Counts
              ExplicitBounds = Array.copy s.Bounds
              Exemplars = [||]
              Flags = 0u
              Min = known s.Count s.Min
              Max = known s.Count s.Max }
    | Exponential s ->
        Point.Exponential
            { Attributes = attributes
              StartTimeUnixNano = startUnixNano
              TimeUnixNano = timeUnixNano
              Count = s.Count
              Sum = known s.Count s.Sum
              Scale = s.Scale
              ZeroCount = s.ZeroCount
              Positive = toModelBuckets s.Positive
              Negative = toModelBuckets s.Negative
              Flags = 0u
              Exemplars = [||]
              Min = known s.Count s.Min
              Max = known s.Count s.Max
              ZeroThreshold = 0.0 }

// ---------------------------------------------------------------------------------------------------------
// Collection of one series

[<RequireQualifiedAccess>]
type Input =
    | Measured of Aggregation
    | Observed of Aggregation

type SeriesState =
    { StartUnixNano: uint64
      LastCollectionUnixNano: uint64
      Reported: Aggregation }

let newSeries empty startUnixNano =
    { StartUnixNano = startUnixNano
      LastCollectionUnixNano = startUnixNano
      Reported = empty }

let collect (temporality: AggregationTemporality) attributes (input: Input) (state: SeriesState) nowUnixNano =
    let cumulative = temporality <> AggregationTemporality.Delta

    let reported, next =
        match input, cumulative with
        | Input.Measured since, true ->
            let total = merge state.Reported since
            total, total
        // A synchronous delta series forgets its measurements once reported: the low-memory case.
        | Input.Measured since, false -> since, state.Reported
        | Input.Observed total, true -> total, total
        | Input.Observed total, false -> subtract total state.Reported, total

    let start = if cumulative then state.StartUnixNano else state.LastCollectionUnixNano

    toPoint attributes start nowUnixNano reported,
    { state with
        LastCollectionUnixNano = nowUnixNano
        Reported = next }

// ---------------------------------------------------------------------------------------------------------
// Deltas of observed totals, per attribute set

type ObservedTotal = { Total: Aggregation; Missed: int }

let forgetObservedAfter = 10

// A monotonic sum that goes down was reset (its source restarted counting): it counted its new total since. A
// negative total of a counter counts as nothing, so that a monotonic delta is never negative.
let inline private monotonicDelta later earlier =
    if later >= earlier then later - earlier else max later LanguagePrimitives.GenericZero

let private deltaOf (later: Aggregation) (earlier: Aggregation) =
    match later.State, earlier.State with
    | LongSum(true, a), LongSum(_, b) -> ofState (LongSum(true, monotonicDelta a b))
    | DoubleSum(true, a), DoubleSum(_, b) -> ofState (DoubleSum(true, monotonicDelta a b))
    | _ -> subtract later earlier

let private firstDelta (total: Aggregation) =
    match total.State with
    | LongSum(true, a) when a < 0L -> ofState (LongSum(true, 0L))
    | DoubleSum(true, a) when a < 0.0 -> ofState (DoubleSum(true, 0.0))
    | _ -> total

let observedDelta (previous: ObservedTotal voption) (total: Aggregation) =
    let delta =
        match previous with
        | ValueNone -> firstDelta total
        | ValueSome memory -> deltaOf total memory.Total

    delta, { Total = total; Missed = 0 }

let missedCollection (memory: ObservedTotal) = { memory with Missed = memory.Missed + 1 }

let isForgotten (memory: ObservedTotal) = memory.Missed >= forgetObservedAfter

// ---------------------------------------------------------------------------------------------------------
// Series table with a cardinality limit

let private keyValueHash (kv: KeyValue) =
    HashCode.Combine(StringComparer.Ordinal.GetHashCode kv.Key, kv.Value.GetHashCode())

[<Sealed; AllowNullLiteral>]
type AttributeSet(sorted: KeyValue array) =
    let hash = sorted |> Array.fold (fun h kv -> HashCode.Combine(h, keyValueHash kv)) 17

    member _.Attributes = sorted

    override _.GetHashCode() = hash

    override this.Equals(other: obj) =
        match other with
        | :? AttributeSet as that -> (this :> IEquatable<AttributeSet>).Equals that
        | _ -> false

    interface IEquatable<AttributeSet> with
        member _.Equals(that: AttributeSet) =
            not (isNull that)
            && hash = that.GetHashCode()
            && sorted.Length = that.Attributes.Length
            && Array.forall2
                (fun (a: KeyValue) (b: KeyValue) -> String.Equals(a.Key, b.Key, StringComparison.Ordinal) && AnyValue.AreEqual(a.Value, b.Value))
                sorted
                that.Attributes

    override _.ToString() = sprintf "%A" sorted

let attributeSet (attributes: KeyValue array) =
    // The last occurrence of a key wins: keep the last of each key, then sort by key (a stable sort is not
    // needed as keys are unique by then).
    let lastOfEach =
        attributes
        |> Array.rev
        |> Array.distinctBy (fun kv -> kv.Key)
        |> Array.sortWith (fun a b -> String.CompareOrdinal(a.Key, b.Key))

    AttributeSet lastOfEach

let overflowAttributes =
    [| { Key = "otel.metric.overflow"
         Value = AnyValue.Bool true } |]

let private overflowSet = attributeSet overflowAttributes

let defaultCardinalityLimit = 2000

[<Sealed>]
type SeriesTable internal (limit: int, empty: Aggregation, series: ImmutableDictionary<AttributeSet, Aggregation>) =
    member internal _.Limit = limit
    member internal _.Empty = empty
    member internal _.Series = series

let private recordFinite attributes measurement (table: SeriesTable) =
    let key = attributeSet attributes

    // `limit` distinct attribute sets keep their own series; the overflow series comes on top (metrics SDK
    // specification, "Overflow attribute": no overflow while the distinct sets are at most the limit).
    let distinct =
        if table.Series.ContainsKey overflowSet then
            table.Series.Count - 1
        else
            table.Series.Count

    let target =
        if table.Series.ContainsKey key || distinct < table.Limit then
            key
        else
            overflowSet

    let current =
        match table.Series.TryGetValue target with
        | true, aggregation -> aggregation
        | false, _ -> table.Empty

    SeriesTable(table.Limit, table.Empty, table.Series.SetItem(target, record measurement current))

let emptyTable limit empty =
    SeriesTable(max 1 limit, empty, ImmutableDictionary<AttributeSet, Aggregation>.Empty)

let recordIn attributes measurement (table: SeriesTable) =
    match measurement with
    // An ignored measurement must not take one of the limited series.
    | Measurement.Double d when not (Double.IsFinite d) -> table
    | _ -> recordFinite attributes measurement table

let series (table: SeriesTable) =
    table.Series |> Seq.map (fun pair -> pair.Key, pair.Value) |> Seq.toArray

let seriesCount (table: SeriesTable) = table.Series.Count

let cleared (table: SeriesTable) =
    SeriesTable(table.Limit, table.Empty, ImmutableDictionary<AttributeSet, Aggregation>.Empty)

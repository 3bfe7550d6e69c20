[<RequireQualifiedAccess>]
module Otlp.Core.Exemplars

[<RequireQualifiedAccess>]
type Reservoir =
    | Simple of size: int
    | Aligned of bounds: float array
    | Provided of factory: obj

// "A reservoir equal to the smaller of the maximum number of buckets configured on the aggregation or twenty."
let private exponentialSize = 20

let reservoirOf (shape: Aggregation.Shape) =
    match shape with
    | Aggregation.Shape.ExplicitHistogram bounds when bounds.Length > 0 -> Reservoir.Aligned bounds
    | Aggregation.Shape.ExponentialHistogram(maxSize, _) -> Reservoir.Simple(max 1 (min exponentialSize maxSize))
    | _ -> Reservoir.Simple 1

let slots (reservoir: Reservoir) =
    match reservoir with
    | Reservoir.Simple size -> size
    | Reservoir.Aligned bounds -> bounds.Length + 1
    | Reservoir.Provided _ -> 0

// A uniform integer in [0, n) from a uniform float in [0, 1); the clamp keeps a random of exactly 1.0 (which the
// caller should not give) inside.
let private uniformBelow (n: int64) (random: float) = min (n - 1L) (int64 (random * float n))

let simpleSlot (seen: int64) (size: int) (random: float) =
    if seen < int64 size then
        int seen
    else
        // Algorithm R: the (seen + 1)-th measurement replaces a slot when a uniform draw in [0, seen] lands in one.
        let draw = uniformBelow (seen + 1L) random
        if draw < int64 size then int draw else -1

let alignedTakes (seenInBucket: int64) (random: float) = uniformBelow (seenInBucket + 1L) random = 0L

let alignedSlot (bounds: float array) (value: float) = Aggregation.explicitBucketIndex bounds value

let withExemplars (exemplars: Exemplar array) (point: Aggregation.Point) =
    match point with
    | Aggregation.Point.Number p -> Aggregation.Point.Number { p with Exemplars = exemplars }
    | Aggregation.Point.Histogram p -> Aggregation.Point.Histogram { p with Exemplars = exemplars }
    | Aggregation.Point.Exponential p -> Aggregation.Point.Exponential { p with Exemplars = exemplars }

/// Exemplars (OpenTelemetry metrics SDK specification, "Exemplar"): which measurements are eligible (the filter),
/// how many a series keeps and which of them (the reservoirs), as pure decisions. The recorder holds the slots and
/// gives the counts and a uniform random number in [0, 1); these functions say which slot a measurement takes.
///
/// ```
///   measurement ──filter──> eligible ──reservoir (seen, random)──> slot, or none
///   collection: the slots' exemplars join the series' point; the counts start again
/// ```
[<RequireQualifiedAccess>]
module Otlp.Core.Exemplars

/// How a series' exemplars are kept.
[<RequireQualifiedAccess>]
type Reservoir =
    /// `SimpleFixedSizeExemplarReservoir`: `size` slots filled by uniform reservoir sampling over the
    /// measurements seen since the last collection.
    | Simple of size: int
    /// `AlignedHistogramBucketExemplarReservoir`: one slot per bucket of these bounds (bounds + 1 slots), each
    /// filled by uniform sampling over the measurements its bucket has seen.
    | Aligned of bounds: float array
    /// A reservoir the application provides through a view (`Views.View.ProvidedExemplarReservoir`): `factory` is
    /// the recorder's to understand (in the .NET facade, a function making one reservoir per series); the core
    /// neither sizes nor fills it.
    | Provided of factory: obj

/// The default reservoir of an aggregation (specification, "Exemplar defaults"): explicit-bucket histograms with
/// more than one bucket align to their buckets; exponential histograms sample min(20, max size); every other
/// aggregation keeps one.
val reservoirOf: shape: Aggregation.Shape -> Reservoir

/// The number of slots of a reservoir (0 for a provided one, which keeps its own).
val slots: reservoir: Reservoir -> int

/// The slot a measurement takes in a simple reservoir of `size` slots that has seen `seen` measurements before it
/// (since the last collection), given `random` uniform in [0, 1); -1 when it is not kept. The first `size`
/// measurements fill the slots in order; after that the n-th measurement (n = seen + 1) is kept with probability
/// size / n, in a uniformly chosen slot: every measurement seen is kept with the same probability.
val simpleSlot: seen: int64 -> size: int -> random: float -> int

/// True when a measurement replaces its bucket's exemplar in an aligned reservoir, its bucket having seen
/// `seenInBucket` measurements before it, given `random` uniform in [0, 1): with probability 1 / (seenInBucket + 1),
/// so each measurement of the bucket is kept with the same probability.
val alignedTakes: seenInBucket: int64 -> random: float -> bool

/// The slot of `value` in an aligned reservoir of `bounds`: its bucket (`Aggregation.explicitBucketIndex`).
val alignedSlot: bounds: float array -> value: float -> int

/// `point` with `exemplars` (replacing any it had).
val withExemplars: exemplars: Exemplar array -> point: Aggregation.Point -> Aggregation.Point

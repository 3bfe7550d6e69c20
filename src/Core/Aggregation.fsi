/// The pure aggregation of metric measurements (OpenTelemetry metrics SDK specification, "Aggregation",
/// "Temporality" and "Cardinality limits"; OTLP exporter specification, "Temporality preference"): aggregators
/// as immutable values, the choice of temporality per instrument kind, the collection of one series, and a
/// series table with a cardinality limit. No clock, no threads, no I/O: every time is an argument, in
/// nanoseconds since the Unix epoch.
///
/// ```
///   measurement ──record──> Aggregation ──merge──> Aggregation ──toPoint──> Point (the model's data point)
///   since last collection + SeriesState ──collect (temporality, now)──> Point * SeriesState
/// ```
///
/// NaN and infinite measurements are ignored by every aggregator: they change neither counts nor sums.
[<RequireQualifiedAccess>]
module Otlp.Core.Aggregation

/// The kinds of instrument of the metrics API.
[<RequireQualifiedAccess>]
type InstrumentKind =
    /// A synchronous monotonic counter.
    | Counter
    /// A synchronous counter that may go down.
    | UpDownCounter
    /// A synchronous histogram.
    | Histogram
    /// An asynchronous monotonic counter (its callback observes totals).
    | ObservableCounter
    /// An asynchronous counter that may go down (its callback observes totals).
    | ObservableUpDownCounter
    /// An asynchronous gauge.
    | ObservableGauge
    /// A synchronous gauge.
    | Gauge

/// The temporality the exporter asks for an instrument kind, as in the table of the OTLP exporter
/// specification: `Cumulative` is cumulative for all; `Delta` is delta for Counter, ObservableCounter and
/// Histogram and cumulative for the up-down counters; `LowMemory` is delta for Counter and Histogram and
/// cumulative for ObservableCounter and the up-down counters. Gauges carry no temporality on the wire; they
/// get `Cumulative`, which here only means their points keep the series' start time.
val temporality: preference: TemporalityPreference -> kind: InstrumentKind -> AggregationTemporality

/// One measurement: instruments are of integers or of doubles.
[<RequireQualifiedAccess>]
type Measurement =
    /// An integer measurement.
    | Long of int64
    /// A double measurement; NaN and infinities are ignored.
    | Double of float

/// A data point of the model, of whichever kind the aggregation produces.
[<RequireQualifiedAccess>]
type Point =
    /// A sum's or a gauge's point.
    | Number of NumberDataPoint
    /// An explicit-bucket histogram's point.
    | Histogram of HistogramDataPoint
    /// A base-2 exponential histogram's point.
    | Exponential of ExponentialHistogramDataPoint

/// The aggregation of the measurements of one series: an immutable value. Only the constructors below make
/// one; `record` and `merge` return new values.
[<Sealed>]
type Aggregation

/// The specification's default boundaries of explicit-bucket histograms:
/// `[0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]`.
val defaultBounds: float array

/// The maximum number of buckets of each sign of an exponential histogram by default: 160.
val defaultMaxSize: int

/// The maximum (and starting) scale of an exponential histogram by default: 20.
val defaultMaxScale: int

/// An empty sum of integer measurements. A monotonic sum ignores negative measurements (a counter cannot
/// go down); the total wraps around on int64 overflow. Double measurements are truncated toward zero, and
/// ignored when outside the int64 range.
val longSum: monotonic: bool -> Aggregation

/// An empty sum of double measurements. A monotonic sum ignores negative measurements. Integer
/// measurements are converted to doubles.
val doubleSum: monotonic: bool -> Aggregation

/// An empty last-value (gauge) aggregation: it keeps the latest measurement, as given.
val lastValue: Aggregation

/// An empty explicit-bucket histogram with the given upper bounds, which must be finite and strictly
/// increasing (throws ArgumentException otherwise). Bucket i holds the values in (bounds[i-1], bounds[i]];
/// the last bucket holds those above the last bound. Keeps count, sum, min and max.
val explicitHistogram: bounds: float array -> Aggregation

/// The fewest buckets of each sign an exponential histogram holds: at scale -10 every double fits in 3, so 4
/// always leave room to rescale into.
val minExponentialSize: int

/// An empty base-2 exponential histogram holding at most `maxSize` buckets of each sign (at least 4; smaller
/// values are raised to 4) and starting at `maxScale` (brought into [-10, 20]). When a measurement or a
/// merge would need more buckets, the scale goes down until the range fits. Zero goes to the zero bucket
/// (zero threshold 0); negative values go to the negative buckets, indexed by their absolute value.
val exponentialHistogram: maxSize: int -> maxScale: int -> Aggregation

/// The exponential histogram with `defaultMaxSize` and `defaultMaxScale`.
val defaultExponentialHistogram: Aggregation

/// The default aggregation of an instrument kind (metrics SDK specification, "Default Aggregation"): a sum for
/// the counters (monotonic for Counter and ObservableCounter), the last value for gauges, and for histograms
/// the explicit-bucket histogram with `defaultBounds` or the default exponential histogram, as configured.
/// `integers` chooses the long sum for instruments of integers.
val defaultAggregation: histograms: HistogramAggregation -> integers: bool -> kind: InstrumentKind -> Aggregation

/// The bucket index of a positive finite value at a scale in [-10, 20]: ceil(log2(value) * 2^scale) - 1, so
/// bucket i holds (2^(i * 2^-scale), 2^((i+1) * 2^-scale)]. Exact for powers of two (and subnormals), as the
/// data model's "Exponential Buckets" mapping asks; the index at a lower scale is always the index at a
/// higher scale shifted right, so downscaling never moves a value out of its bucket.
val exponentialIndex: scale: int -> value: float -> int

/// What an aggregation is, with its settings: what a recorder needs to know to keep a mutable accumulator of
/// the same kind.
[<RequireQualifiedAccess>]
type Shape =
    /// A sum of integers.
    | LongSum of monotonic: bool
    /// A sum of doubles.
    | DoubleSum of monotonic: bool
    /// A last value.
    | LastValue
    /// An explicit-bucket histogram with these bounds.
    | ExplicitHistogram of bounds: float array
    /// An exponential histogram of at most `maxSize` buckets per sign starting at `maxScale`.
    | ExponentialHistogram of maxSize: int * maxScale: int

/// The shape of an aggregation.
val shape: aggregation: Aggregation -> Shape

/// The bucket of an explicit-bucket histogram a value goes to: the index of the first bound >= value, or
/// `bounds.Length` for values above the last bound (bucket i holds (bounds[i-1], bounds[i]]). The one place
/// the rule lives: recorders that keep their own bucket counts call it.
val explicitBucketIndex: bounds: float array -> value: float -> int

/// A long sum holding `total`, as a recorder accumulated it (snapshot of its measurements).
val ofLongSum: monotonic: bool -> total: int64 -> Aggregation

/// A double sum holding `total`.
val ofDoubleSum: monotonic: bool -> total: float -> Aggregation

/// A last value holding `measurement`.
val ofLastValue: measurement: Measurement -> Aggregation

/// An explicit-bucket histogram holding counts accumulated elsewhere: `counts` has `bounds.Length + 1` entries
/// (throws ArgumentException otherwise, or for bounds `explicitHistogram` refuses); `min` and `max` are
/// ignored when `count` is 0. The arrays are copied.
val ofExplicitHistogram:
    bounds: float array -> counts: uint64 array -> count: uint64 -> sum: float -> min: float -> max: float -> Aggregation

/// An exponential histogram of the given settings holding buckets accumulated elsewhere, at `scale`: the
/// positive buckets start at index `positiveOffset`, the negative ones (by absolute value) at
/// `negativeOffset`. The scale must be in [-10, maxScale] and each sign's counts at most `maxSize` long
/// (ArgumentException otherwise); trailing and leading zero counts are fine. The arrays are copied.
val ofExponentialHistogram:
    maxSize: int ->
    maxScale: int ->
    scale: int ->
    zeroCount: uint64 ->
    positiveOffset: int ->
    positiveCounts: uint64 array ->
    negativeOffset: int ->
    negativeCounts: uint64 array ->
    count: uint64 ->
    sum: float ->
    min: float ->
    max: float ->
        Aggregation

/// Adds one measurement.
val record: measurement: Measurement -> aggregation: Aggregation -> Aggregation

/// Combines two aggregations of the same series (same kind and settings; throws ArgumentException
/// otherwise). Associative for every kind; commutative except for last value, where the right one wins
/// when it holds a value. Double sums are associative up to floating-point rounding.
val merge: earlier: Aggregation -> later: Aggregation -> Aggregation

/// The difference of two totals of the same sum (`later - earlier`), used to turn the totals observed by
/// asynchronous counters into deltas. For other kinds, `later`.
val subtract: later: Aggregation -> earlier: Aggregation -> Aggregation

/// True when nothing was recorded; for sums, when the total is zero (a sum keeps no count).
val isEmpty: aggregation: Aggregation -> bool

/// The data point of an aggregation. An empty last value gives a point without value, flagged
/// `DataPointFlags.NoRecordedValueMask`; an empty histogram has no min, max or sum.
val toPoint:
    attributes: KeyValue array -> startUnixNano: uint64 -> timeUnixNano: uint64 -> aggregation: Aggregation -> Point

/// What a collection of one series is given.
[<RequireQualifiedAccess>]
type Input =
    /// The measurements of a synchronous instrument since the last collection.
    | Measured of Aggregation
    /// The value observed by an asynchronous instrument's callback: a total for the observable counters, the
    /// current value for gauges.
    | Observed of Aggregation

/// What a series remembers between collections.
type SeriesState =
    {
        /// When the series started: the start time of its cumulative points.
        StartUnixNano: uint64
        /// When it was last collected (its start time until then): the start time of its next delta point.
        LastCollectionUnixNano: uint64
        /// The cumulative total reported last (cumulative temporality), or the last observed total
        /// (asynchronous instruments); empty for synchronous delta series, which need no memory.
        Reported: Aggregation
    }

/// A series started at `startUnixNano`, with nothing reported yet; `empty` is the empty aggregation of its
/// instrument.
val newSeries: empty: Aggregation -> startUnixNano: uint64 -> SeriesState

/// Collects one series at `nowUnixNano`: the point to report and the new state.
/// - Cumulative: measurements are merged into the reported total, observations replace it; the point starts
///   at the series' start.
/// - Delta: measurements are reported as they are, observed totals minus the previous observation; the point
///   starts at the previous collection.
val collect:
    temporality: AggregationTemporality ->
    attributes: KeyValue array ->
    input: Input ->
    state: SeriesState ->
    nowUnixNano: uint64 ->
        Point * SeriesState

/// What a delta stream of an asynchronous sum remembers of one attribute set as its callbacks observed it (all
/// its attributes, before a view's allow-list or the cardinality limit make several sets share a series). Each
/// set's delta is taken against its own previous total, then the deltas of the sets sharing a series are added
/// up: a series whose membership changes never reports a set's total twice or a set's departure as a negative
/// delta (metrics SDK specification, "Measurement processing": every measurement in exactly one aggregator).
type ObservedTotal =
    {
        /// The total the set's callback observed last.
        Total: Aggregation
        /// The collections since then that did not observe the set.
        Missed: int
    }

/// How many collections in a row an attribute set may go unobserved before its memory is forgotten: 10. Observed
/// again later, it is new again and contributes its whole total once.
val forgetObservedAfter: int

/// The delta an attribute set contributes with the total observed now, and what to remember of it.
/// - Seen for the first time (or forgotten since): its whole total.
/// - Seen before, even collections ago: the change since its last observation, so a set that misses
///   collections (or whose callback failed) contributes nothing meanwhile and only its change when it is back.
/// - A monotonic sum lower than remembered was reset (its source restarted): its new total is its delta. A
///   negative total of a monotonic sum contributes nothing, so that monotonic deltas are never negative.
/// - Any other sum: the difference, which may be negative. Other aggregations: `total`, as `subtract`.
val observedDelta: previous: ObservedTotal voption -> total: Aggregation -> Aggregation * ObservedTotal

/// The memory of a set a collection did not observe: it contributes nothing, and has missed one more.
val missedCollection: memory: ObservedTotal -> ObservedTotal

/// True when the set has missed `forgetObservedAfter` collections in a row: its memory is to be dropped, so
/// that memory holds only the sets of recent collections.
val isForgotten: memory: ObservedTotal -> bool

/// A set of attributes that identifies a series: keys are compared ordinally and their order does not
/// matter; when a key repeats, its last value counts. Values compare as on the wire (doubles by their bits).
[<Sealed>]
type AttributeSet =
    interface System.IEquatable<AttributeSet>

    /// The attributes, sorted by key, each key once.
    member Attributes: KeyValue array

/// The attribute set of a list of attributes.
val attributeSet: attributes: KeyValue array -> AttributeSet

/// The attributes of the overflow series: the single attribute `otel.metric.overflow=true`.
val overflowAttributes: KeyValue array

/// The default cardinality limit of a metric: 2000 series.
val defaultCardinalityLimit: int

/// The series of one metric, keyed by attribute set: the first `limit` distinct attribute sets keep their own
/// series; once `limit` exist, measurements of new attribute sets go to the overflow series, which comes on top
/// (so at most `limit + 1` series; metrics SDK specification, "Overflow attribute": no overflow while the
/// distinct sets are at most the limit). Measurements of existing series always reach them.
[<Sealed>]
type SeriesTable

/// An empty table with a cardinality limit (at least 1; smaller values are raised to 1) whose new series
/// start as `empty`.
val emptyTable: limit: int -> empty: Aggregation -> SeriesTable

/// Records a measurement in the series of `attributes`, or in the overflow series. A NaN or infinite
/// measurement is ignored and creates no series.
val recordIn: attributes: KeyValue array -> measurement: Measurement -> table: SeriesTable -> SeriesTable

/// The series of the table, with their aggregations, in no particular order.
val series: table: SeriesTable -> (AttributeSet * Aggregation) array

/// The number of series, the overflow series included.
val seriesCount: table: SeriesTable -> int

/// The table with the same limit and no series: what is left after a delta collection.
val cleared: table: SeriesTable -> SeriesTable

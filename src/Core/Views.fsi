/// Views (metrics SDK specification, "View"): which instruments a view selects, and the metric streams an
/// instrument produces once every view is applied. Pure: the recorder asks once per published instrument.
///
/// ```
///   instrument + views ──streams──> [] (dropped) | one StreamConfig per matching view | the default stream
/// ```
[<RequireQualifiedAccess>]
module Otlp.Core.Views

/// The aggregation a view asks for.
[<RequireQualifiedAccess>]
type ViewAggregation =
    /// The instrument kind's default (`Aggregation.defaultAggregation` with the configured histograms).
    | Default
    /// No stream: the measurements are not recorded at all.
    | Drop
    /// An explicit-bucket histogram with these bounds (finite, strictly increasing).
    | ExplicitBuckets of bounds: float array
    /// A base-2 exponential histogram of at most `maxSize` buckets per sign, starting at `maxScale`.
    | Exponential of maxSize: int * maxScale: int

/// A view: selection criteria (all given ones must match) and the configuration of the stream it makes.
type View =
    {
        /// The instrument name to select, compared without case; `*` matches any run of characters and `?`
        /// one character. Required.
        InstrumentName: string
        /// The meter name to select, exactly; null or empty selects every meter.
        MeterName: string
        /// The instrument kind to select; None selects every kind.
        Kind: Aggregation.InstrumentKind option
        /// The stream's name; null or empty keeps the instrument's. A view with a name must select at most one
        /// instrument, so it is ignored (with a warning) when `InstrumentName` has a wildcard.
        Name: string
        /// The stream's description; null keeps the instrument's.
        Description: string
        /// The aggregation.
        Aggregation: ViewAggregation
        /// The attribute keys to keep; None keeps all of them.
        AttributeKeys: string array option
        /// The stream's cardinality limit; None for the default limit `streams` is given.
        CardinalityLimit: int option
        /// The most exemplars a series of the stream keeps, chosen by uniform sampling
        /// (`SimpleFixedSizeExemplarReservoir`), in [0, `maxExemplarReservoirSize`]; `Some 0` keeps none; None keeps
        /// the aggregation's default reservoir (`Exemplars.reservoirOf`).
        ExemplarReservoirSize: int option
        /// The application's own exemplar reservoir (`Exemplars.Reservoir.Provided`): opaque here, the recorder's to
        /// understand; None keeps the reservoir `ExemplarReservoirSize` says. A view may not set both.
        ProvidedExemplarReservoir: obj option
    }

/// A view selecting `instrumentName` (wildcards allowed) that changes nothing yet.
val select: instrumentName: string -> View

/// One metric stream of an instrument.
type StreamConfig =
    {
        /// The metric's name.
        Name: string
        /// The metric's description.
        Description: string
        /// The metric's unit (the instrument's).
        Unit: string
        /// The empty aggregation every series of the stream starts from.
        Aggregation: Aggregation.Aggregation
        /// The attribute keys kept, sorted ordinally; None keeps all.
        AttributeKeys: string array option
        /// The most distinct attribute sets with a series of their own (at least 1); the overflow series comes on top.
        CardinalityLimit: int
        /// How each series keeps exemplars; None when it keeps none.
        Exemplars: Exemplars.Reservoir option
    }

/// True when `pattern` (wildcards `*` and `?`) matches `name`, without case.
val wildcardMatch: pattern: string -> name: string -> bool

/// True when the view selects the instrument.
val selects: view: View -> instrument: Instruments.Instrument -> bool

/// The largest exemplar reservoir a view may ask for: each series of the stream holds that many slots.
val maxExemplarReservoirSize: int

/// The problem of a view that must be ignored (a name with a wildcard selection, bad bounds, an empty
/// instrument name, an exemplar reservoir size out of range, both a reservoir size and a provided reservoir), or None
/// when it is usable.
val problem: view: View -> string option

/// The streams of a published instrument, and warnings. Views with a problem are skipped (with their
/// warning). No usable view selects it: the default stream (instrument name, description, unit, default
/// aggregation). Otherwise one stream per selecting view, except `Drop` views; so an instrument whose only
/// selecting views drop it has no stream and is not recorded. A histogram aggregation asked of a gauge or an
/// up-down counter is not meaningful there: the default aggregation is used instead, with a warning. Streams
/// whose view sets no cardinality limit get `defaultLimit` (usually `Aggregation.defaultCardinalityLimit`).
val streams:
    histograms: HistogramAggregation ->
    defaultLimit: int ->
    views: View array ->
    instrument: Instruments.Instrument ->
        StreamConfig array * string list

/// The attributes kept by a stream's allow-list (all of them for None), in their order.
val keep: allowed: string array option -> attributes: KeyValue array -> KeyValue array

/// Instruments as the metrics SDK sees them when they are published (OpenTelemetry metrics API specification,
/// "Instrument name syntax", "Instrument unit"; metrics SDK specification, "Duplicate instrument
/// registration"): validation of names and units, and the identity that decides whether two instruments
/// feed one metric stream, or conflict.
///
/// ```
///   published instrument ──validate──> Error (ignored, with a warning) | Ok
///                          ──register (Registry)──> New stream | Joins an identical stream | New, conflicting
///   its streams (one per view) ──registerStreams──> the same, one per view, never two views on one stream
/// ```
[<RequireQualifiedAccess>]
module Otlp.Core.Instruments

/// What the SDK knows of an instrument when it is published.
type Instrument =
    {
        /// The meter's name: the instrumentation scope's name.
        MeterName: string
        /// The meter's version; empty when none.
        MeterVersion: string
        /// The instrument's name.
        Name: string
        /// The unit (UCUM); empty when none.
        Unit: string
        /// The description; empty when none.
        Description: string
        /// The kind of instrument.
        Kind: Aggregation.InstrumentKind
        /// True for instruments of integers (byte, short, int, long), false for floating-point ones.
        Integers: bool
        /// The bucket boundaries the instrument advises for its histogram (`InstrumentAdvice<T>`,
        /// metrics API specification, "Instrument advisory parameters"); None when it advises none.
        AdvisedBucketBoundaries: float array option
    }

/// True when `name` follows the API's syntax: `^[A-Za-z][A-Za-z0-9_./-]{0,254}$` (ASCII letters only).
val isValidName: name: string -> bool

/// True when `unit` is null, empty, or at most 63 ASCII characters.
val isValidUnit: unit: string -> bool

/// Ok for a valid instrument, or the warning to write when it is ignored (its name or unit is invalid, as
/// the .NET SDK does rather than exporting it unchecked).
val validate: instrument: Instrument -> Result<unit, string>

/// The identity of a metric stream within a meter: its name compared without case, the instrument kind and
/// number type, unit and description (metrics SDK specification, "Duplicate instrument registration").
[<Sealed>]
type StreamIdentity =
    interface System.IEquatable<StreamIdentity>

    /// The meter name the stream belongs to.
    member MeterName: string
    /// The meter version.
    member MeterVersion: string
    /// The stream's name as first registered.
    member Name: string
    /// The kind of instrument.
    member Kind: Aggregation.InstrumentKind
    /// The unit.
    member Unit: string
    /// The description.
    member Description: string
    /// True for a stream of integers.
    member Integers: bool

/// The identity of a stream of `instrument` named `name` described by `description` (a view may change both).
val identity: instrument: Instrument -> name: string -> description: string -> StreamIdentity

/// What registering a stream identity found.
[<RequireQualifiedAccess>]
type Registration =
    /// No stream of this name in this meter yet: a new stream, numbered `id`.
    | New of id: int
    /// An identical stream exists (same name without case, kind, number type, unit, description): the
    /// instrument feeds stream `id`, so both aggregate into one metric.
    | Identical of id: int
    /// A stream of the same name (without case) but another kind, unit or description exists: a new stream
    /// `id` is made anyway and both are exported, with the warning to write.
    | Conflicting of id: int * warning: string
    /// An identical stream exists, made for an instrument of another name (a view renamed one onto the other's
    /// name): the instrument feeds stream `id`, as for `Identical`, with the warning to write.
    | Renamed of id: int * warning: string

/// The streams registered so far: an immutable value.
[<Sealed>]
type Registry

/// No streams.
val emptyRegistry: Registry

/// Registers a stream identity: the registration and the registry that knows it.
val register: identity: StreamIdentity -> registry: Registry -> Registration * Registry

/// Registers the streams one instrument makes (one identity per selecting view, in order): each view makes its
/// own stream (metrics SDK specification, "Measurement processing"), so the streams of one instrument never
/// share one. The nth of its identities equal to one another joins the nth identical stream registered before
/// (a duplicate instrument feeds the first one's streams in order): `Identical`, or `Renamed` when that stream
/// was made for an instrument of another name. Past those a new stream is made: `New`, or `Conflicting` with
/// a warning when the instrument already makes an identical one (views that end up alike are kept, both
/// exported) or a stream of the same name but another identity exists.
val registerStreams:
    instrument: Instrument -> identities: StreamIdentity array -> registry: Registry -> Registration array * Registry

/// The number of distinct streams registered.
val streamCount: registry: Registry -> int

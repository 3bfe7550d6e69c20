namespace Otlp.Core

// The OTLP data model of opentelemetry-proto v1 (common, resource, trace, metrics, logs and the three
// collector services), as immutable F# values.
//
// Conventions shared by every type here:
// - proto3 scalars are plain values whose default (0, "", false, empty array) means "not set", exactly as on
//   the wire; strings are never null and repeated fields are arrays, never null, once built by these types'
//   `Empty` values or the builders in `Otlp.Core.Otlp`.
// - Arrays are used for speed; treat them as immutable once a value is built.
// - Singular sub-messages whose every field is default (resource, scope, status, exponential buckets,
//   partial success) are written as absent, which is how the reference implementations write them too.
// This file holds types only; a signature file would repeat it verbatim, so the docs live here.

open System
open System.Buffers.Binary

/// A 16-byte trace id, held as two big-endian halves. The all-zero id is the spec's "absent/invalid" value
/// and is never written to the wire.
[<Struct; CustomEquality; CustomComparison>]
type TraceId =
    {
        /// The first 8 bytes of the id, big-endian.
        High: uint64
        /// The last 8 bytes of the id, big-endian.
        Low: uint64
    }

    /// The all-zero (absent) trace id.
    static member Empty = { High = 0UL; Low = 0UL }

    /// True for the all-zero id, which OTLP treats as absent.
    member this.IsEmpty = this.High = 0UL && this.Low = 0UL

    /// Reads an id from exactly 16 bytes; throws ArgumentException for any other length.
    static member FromBytes(bytes: ReadOnlySpan<byte>) =
        if bytes.Length <> 16 then
            invalidArg (nameof bytes) $"A trace id is 16 bytes, got {bytes.Length}."

        { High = BinaryPrimitives.ReadUInt64BigEndian(bytes)
          Low = BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice 8) }

    /// Reads an id from exactly 16 bytes; throws ArgumentException for any other length.
    static member FromBytes(bytes: byte array) = TraceId.FromBytes(ReadOnlySpan bytes)

    /// Writes the 16 bytes of the id into the start of `destination`.
    member this.WriteBytes(destination: Span<byte>) =
        BinaryPrimitives.WriteUInt64BigEndian(destination, this.High)
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice 8, this.Low)

    /// The 16 bytes of the id as a new array.
    member this.ToByteArray() =
        let bytes = Array.zeroCreate 16
        this.WriteBytes(Span bytes)
        bytes

    /// The id as 32 lowercase hex digits, the form OTLP/JSON and W3C trace context use.
    member this.ToHex() =
        this.High.ToString("x16") + this.Low.ToString("x16")

    /// Parses 32 hex digits (either case); None for anything else.
    static member TryParseHex(text: string) =
        if isNull text || text.Length <> 32 then
            ValueNone
        else
            let mutable high = 0UL
            let mutable low = 0UL
            let styles = Globalization.NumberStyles.AllowHexSpecifier
            let culture = Globalization.CultureInfo.InvariantCulture

            if UInt64.TryParse(text.AsSpan(0, 16), styles, culture, &high)
               && UInt64.TryParse(text.AsSpan(16, 16), styles, culture, &low) then
                ValueSome { High = high; Low = low }
            else
                ValueNone

    override this.ToString() = this.ToHex()

    override this.Equals(other: obj) =
        match other with
        | :? TraceId as id -> id.High = this.High && id.Low = this.Low
        | _ -> false

    override this.GetHashCode() = HashCode.Combine(this.High, this.Low)

    interface IEquatable<TraceId> with
        member this.Equals(other: TraceId) =
            other.High = this.High && other.Low = this.Low

    interface IComparable with
        member this.CompareTo(other: obj) =
            match other with
            | :? TraceId as id ->
                let c = compare this.High id.High
                if c <> 0 then c else compare this.Low id.Low
            | _ -> invalidArg (nameof other) "Not a TraceId."

/// An 8-byte span id, held as one big-endian integer. Zero is the spec's "absent/invalid" value and is never
/// written to the wire.
[<Struct>]
type SpanId =
    {
        /// The 8 bytes of the id, big-endian.
        Value: uint64
    }

    /// The all-zero (absent) span id.
    static member Empty = { Value = 0UL }

    /// True for the all-zero id, which OTLP treats as absent.
    member this.IsEmpty = this.Value = 0UL

    /// Reads an id from exactly 8 bytes; throws ArgumentException for any other length.
    static member FromBytes(bytes: ReadOnlySpan<byte>) =
        if bytes.Length <> 8 then
            invalidArg (nameof bytes) $"A span id is 8 bytes, got {bytes.Length}."

        { Value = BinaryPrimitives.ReadUInt64BigEndian bytes }

    /// Reads an id from exactly 8 bytes; throws ArgumentException for any other length.
    static member FromBytes(bytes: byte array) = SpanId.FromBytes(ReadOnlySpan bytes)

    /// Writes the 8 bytes of the id into the start of `destination`.
    member this.WriteBytes(destination: Span<byte>) =
        BinaryPrimitives.WriteUInt64BigEndian(destination, this.Value)

    /// The 8 bytes of the id as a new array.
    member this.ToByteArray() =
        let bytes = Array.zeroCreate 8
        this.WriteBytes(Span bytes)
        bytes

    /// The id as 16 lowercase hex digits.
    member this.ToHex() = this.Value.ToString("x16")

    /// Parses 16 hex digits (either case); None for anything else.
    static member TryParseHex(text: string) =
        if isNull text || text.Length <> 16 then
            ValueNone
        else
            let mutable value = 0UL

            if
                UInt64.TryParse(
                    text.AsSpan(),
                    Globalization.NumberStyles.AllowHexSpecifier,
                    Globalization.CultureInfo.InvariantCulture,
                    &value
                )
            then
                ValueSome { Value = value }
            else
                ValueNone

    override this.ToString() = this.ToHex()

/// The three OTLP signals.
type Signal =
    /// Spans (`/v1/traces`, `TraceService`).
    | Traces
    /// Metrics (`/v1/metrics`, `MetricsService`).
    | Metrics
    /// Log records (`/v1/logs`, `LogsService`).
    | Logs

// ---------------------------------------------------------------------------------------------------------
// common/v1 and resource/v1

/// A value of an attribute, log body or nested structure (`opentelemetry.proto.common.v1.AnyValue`).
[<RequireQualifiedAccess; CustomEquality; NoComparison>]
type AnyValue =
    /// No value set: the oneof is empty. Valid, and distinct from an empty string.
    | Empty
    /// A UTF-8 string (field 1).
    | String of string
    /// A boolean (field 2).
    | Bool of bool
    /// A signed 64-bit integer (field 3).
    | Int of int64
    /// An IEEE 754 double, NaN and infinities included (field 4).
    | Double of float
    /// An array of values, possibly empty (field 5).
    | Array of AnyValue array
    /// A list of key-value pairs, possibly empty (field 6).
    | KvList of KeyValue array
    /// Raw bytes (field 7).
    | Bytes of byte array

    // Doubles compare by bit pattern, so NaN equals NaN and 0.0 differs from -0.0: this is equality of what is
    // on the wire, which is what round-trip laws need.
    override this.Equals(other: obj) =
        match other with
        | :? AnyValue as that -> AnyValue.AreEqual(this, that)
        | _ -> false

    override this.GetHashCode() =
        match this with
        | Empty -> 0
        | String s -> hash s
        | Bool b -> hash b
        | Int i -> hash i
        | Double d -> hash (BitConverter.DoubleToInt64Bits d)
        | Array a -> 31 * a.Length + 5
        | KvList kvs -> 37 * kvs.Length + 6
        | Bytes b -> 41 * b.Length + 7

    /// Structural equality in which doubles are compared by their bits.
    static member AreEqual(a: AnyValue, b: AnyValue) : bool =
        match a, b with
        | Empty, Empty -> true
        | String x, String y -> String.Equals(x, y, StringComparison.Ordinal)
        | Bool x, Bool y -> x = y
        | Int x, Int y -> x = y
        | Double x, Double y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y
        | Bytes x, Bytes y -> ReadOnlySpan<byte>(x).SequenceEqual(ReadOnlySpan<byte>(y))
        | Array x, Array y -> x.Length = y.Length && Array.forall2 (fun p q -> AnyValue.AreEqual(p, q)) x y
        | KvList x, KvList y -> x.Length = y.Length && Array.forall2 (fun (p: KeyValue) q -> p.Equals q) x y
        | _ -> false

/// A key and its value (`opentelemetry.proto.common.v1.KeyValue`).
and [<Struct>] KeyValue =
    {
        /// The attribute name; keys should be unique within one list.
        Key: string
        /// The value; `AnyValue.Empty` when not set.
        Value: AnyValue
    }

/// The instrumentation scope (library) that produced the telemetry.
type InstrumentationScope =
    {
        /// Name of the scope; empty means unknown.
        Name: string
        /// Version of the scope; empty means unknown.
        Version: string
        /// Additional attributes of the scope.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
    }

    /// A scope with every field at its default.
    static member Empty =
        { Name = ""
          Version = ""
          Attributes = [||]
          DroppedAttributesCount = 0u }

    /// A scope with a name and a version (for C#; F# code can use `InstrumentationScope.create`).
    static member Create(name: string, version: string) =
        { InstrumentationScope.Empty with Name = name; Version = version }

/// A reference from a resource to an entity (`opentelemetry.proto.common.v1.EntityRef`, development status).
type EntityRef =
    {
        /// Schema URL of the entity's attributes, if known.
        SchemaUrl: string
        /// Type of the entity, such as "service" or "host".
        Type: string
        /// Resource attribute keys that identify the entity.
        IdKeys: string array
        /// Resource attribute keys that describe the entity.
        DescriptionKeys: string array
    }

/// The entity that produced the telemetry (`opentelemetry.proto.resource.v1.Resource`).
type Resource =
    {
        /// The attributes describing the resource, such as `service.name`.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
        /// References to the entities this resource is made of (field 3, development status).
        EntityRefs: EntityRef array
    }

    /// A resource with no attributes.
    static member Empty =
        { Attributes = [||]
          DroppedAttributesCount = 0u
          EntityRefs = [||] }

// ---------------------------------------------------------------------------------------------------------
// trace/v1

/// The kind of a span (`Span.SpanKind`).
type SpanKind =
    /// Not specified; receivers treat it as Internal.
    | Unspecified = 0
    /// An internal operation.
    | Internal = 1
    /// The server side of a synchronous remote call.
    | Server = 2
    /// The client side of a synchronous remote call.
    | Client = 3
    /// The initiator of an asynchronous message.
    | Producer = 4
    /// The receiver of an asynchronous message.
    | Consumer = 5

/// The status code of a span (`Status.StatusCode`).
type StatusCode =
    /// The default: the status was not set.
    | Unset = 0
    /// Explicitly marked successful.
    | Ok = 1
    /// The operation failed.
    | Error = 2

/// Bit masks of `Span.flags` and `Link.flags` (`opentelemetry.proto.trace.v1.SpanFlags`).
[<RequireQualifiedAccess>]
module SpanFlags =
    /// The low 8 bits hold the W3C trace flags (bit 0: sampled).
    [<Literal>]
    let TraceFlagsMask = 0xFFu

    /// Set when the producer knew whether the parent (or linked) context was remote.
    [<Literal>]
    let ContextHasIsRemoteMask = 0x100u

    /// Set when the parent (or linked) context was remote; meaningful only with `ContextHasIsRemoteMask`.
    [<Literal>]
    let ContextIsRemoteMask = 0x200u

/// The status of a span (`opentelemetry.proto.trace.v1.Status`).
type Status =
    {
        /// Developer-facing message, usually set only for errors.
        Message: string
        /// The status code.
        Code: StatusCode
    }

    /// The unset status.
    static member Empty = { Message = ""; Code = StatusCode.Unset }

/// A timestamped event during a span (`Span.Event`).
type SpanEvent =
    {
        /// Time of the event, in nanoseconds since the Unix epoch.
        TimeUnixNano: uint64
        /// Name of the event.
        Name: string
        /// Attributes of the event.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
    }

/// A link from a span to another span (`Span.Link`).
type SpanLink =
    {
        /// Trace of the linked span.
        TraceId: TraceId
        /// The linked span.
        SpanId: SpanId
        /// W3C trace state of the linked context.
        TraceState: string
        /// Attributes of the link.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
        /// W3C trace flags and the is-remote bits (see `SpanFlags`).
        Flags: uint32
    }

/// A span (`opentelemetry.proto.trace.v1.Span`).
type Span =
    {
        /// The trace the span belongs to; required by receivers.
        TraceId: TraceId
        /// The span's own id; required by receivers.
        SpanId: SpanId
        /// W3C trace state.
        TraceState: string
        /// The parent span, or `SpanId.Empty` for a root span.
        ParentSpanId: SpanId
        /// W3C trace flags and the parent's is-remote bits (see `SpanFlags`).
        Flags: uint32
        /// The operation name.
        Name: string
        /// The span kind.
        Kind: SpanKind
        /// Start time, in nanoseconds since the Unix epoch.
        StartTimeUnixNano: uint64
        /// End time, in nanoseconds since the Unix epoch.
        EndTimeUnixNano: uint64
        /// Attributes of the span.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
        /// Events of the span.
        Events: SpanEvent array
        /// Events dropped because of limits.
        DroppedEventsCount: uint32
        /// Links of the span.
        Links: SpanLink array
        /// Links dropped because of limits.
        DroppedLinksCount: uint32
        /// The span's status.
        Status: Status
    }

    /// A span with every field at its default (and so not yet valid: set the ids, name and times).
    static member Empty =
        { TraceId = TraceId.Empty
          SpanId = SpanId.Empty
          TraceState = ""
          ParentSpanId = SpanId.Empty
          Flags = 0u
          Name = ""
          Kind = SpanKind.Unspecified
          StartTimeUnixNano = 0UL
          EndTimeUnixNano = 0UL
          Attributes = [||]
          DroppedAttributesCount = 0u
          Events = [||]
          DroppedEventsCount = 0u
          Links = [||]
          DroppedLinksCount = 0u
          Status = Status.Empty }

/// The spans of one instrumentation scope.
type ScopeSpans =
    {
        /// The scope that produced the spans.
        Scope: InstrumentationScope
        /// The spans.
        Spans: Span array
        /// Schema URL of the span and event data.
        SchemaUrl: string
    }

/// The spans of one resource.
type ResourceSpans =
    {
        /// The resource that produced the spans.
        Resource: Resource
        /// The spans, grouped by scope.
        ScopeSpans: ScopeSpans array
        /// Schema URL of the resource data.
        SchemaUrl: string
    }

// ---------------------------------------------------------------------------------------------------------
// metrics/v1

/// How a sum or histogram aggregates over time (`AggregationTemporality`).
type AggregationTemporality =
    /// Not set; receivers reject it for sums and histograms.
    | Unspecified = 0
    /// Each point covers only the interval since the previous report.
    | Delta = 1
    /// Each point covers the whole time since a fixed start.
    | Cumulative = 2

/// Bit masks of data point flags (`DataPointFlags`).
[<RequireQualifiedAccess>]
module DataPointFlags =
    /// The point has no recorded value (a staleness marker); its value fields are to be ignored.
    [<Literal>]
    let NoRecordedValueMask = 1u

/// The value of a number data point or exemplar: the `value` oneof of `as_double` and `as_int`.
[<Struct; CustomEquality; NoComparison>]
type NumberValue =
    /// Neither field set.
    | NoValue
    /// A double value (`as_double`).
    | AsDouble of doubleValue: float
    /// An integer value (`as_int`, sfixed64).
    | AsInt of intValue: int64

    // Bitwise for doubles, as in AnyValue.
    override this.Equals(other: obj) =
        match other with
        | :? NumberValue as that ->
            match this, that with
            | NoValue, NoValue -> true
            | AsDouble x, AsDouble y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y
            | AsInt x, AsInt y -> x = y
            | _ -> false
        | _ -> false

    override this.GetHashCode() =
        match this with
        | NoValue -> 0
        | AsDouble d -> hash (BitConverter.DoubleToInt64Bits d)
        | AsInt i -> hash i

/// A sampled measurement with its context (`Exemplar`).
type Exemplar =
    {
        /// Attributes of the measurement that the aggregation dropped.
        FilteredAttributes: KeyValue array
        /// Time of the measurement, in nanoseconds since the Unix epoch.
        TimeUnixNano: uint64
        /// The measured value.
        Value: NumberValue
        /// The span active during the measurement, if any.
        SpanId: SpanId
        /// The trace active during the measurement, if any.
        TraceId: TraceId
    }

/// A point of a gauge or sum (`NumberDataPoint`).
type NumberDataPoint =
    {
        /// The attributes identifying the series.
        Attributes: KeyValue array
        /// Start of the aggregation interval, in Unix nanoseconds (0 when unknown, as for gauges).
        StartTimeUnixNano: uint64
        /// Time of the point, in Unix nanoseconds.
        TimeUnixNano: uint64
        /// The value.
        Value: NumberValue
        /// Exemplars of the point.
        Exemplars: Exemplar array
        /// See `DataPointFlags`.
        Flags: uint32
    }

/// A point of an explicit-bucket histogram (`HistogramDataPoint`).
type HistogramDataPoint =
    {
        /// The attributes identifying the series.
        Attributes: KeyValue array
        /// Start of the aggregation interval, in Unix nanoseconds.
        StartTimeUnixNano: uint64
        /// Time of the point, in Unix nanoseconds.
        TimeUnixNano: uint64
        /// Number of measurements; equals the sum of `BucketCounts` when buckets are present.
        Count: uint64
        /// Sum of the measurements, when known (`optional double sum`).
        Sum: float voption
        /// Count per bucket; one more than `ExplicitBounds`, or none at all.
        BucketCounts: uint64 array
        /// Upper bounds of the buckets, strictly increasing.
        ExplicitBounds: float array
        /// Exemplars of the point.
        Exemplars: Exemplar array
        /// See `DataPointFlags`.
        Flags: uint32
        /// Smallest measurement, when known.
        Min: float voption
        /// Largest measurement, when known.
        Max: float voption
    }

/// The buckets of one sign of an exponential histogram (`ExponentialHistogramDataPoint.Buckets`).
type ExponentialBuckets =
    {
        /// Index of the first bucket (may be negative).
        Offset: int
        /// Counts of consecutive buckets from `Offset`.
        BucketCounts: uint64 array
    }

    /// No buckets.
    static member Empty = { Offset = 0; BucketCounts = [||] }

/// A point of a base-2 exponential histogram (`ExponentialHistogramDataPoint`).
type ExponentialHistogramDataPoint =
    {
        /// The attributes identifying the series.
        Attributes: KeyValue array
        /// Start of the aggregation interval, in Unix nanoseconds.
        StartTimeUnixNano: uint64
        /// Time of the point, in Unix nanoseconds.
        TimeUnixNano: uint64
        /// Number of measurements, the zero bucket included.
        Count: uint64
        /// Sum of the measurements, when known.
        Sum: float voption
        /// Resolution: bucket boundaries are powers of 2^(2^-scale).
        Scale: int
        /// Measurements in the zero bucket.
        ZeroCount: uint64
        /// Buckets of positive measurements.
        Positive: ExponentialBuckets
        /// Buckets of negative measurements (indexed by absolute value).
        Negative: ExponentialBuckets
        /// See `DataPointFlags`.
        Flags: uint32
        /// Exemplars of the point.
        Exemplars: Exemplar array
        /// Smallest measurement, when known.
        Min: float voption
        /// Largest measurement, when known.
        Max: float voption
        /// Width of the zero bucket; 0 means exact zeros only.
        ZeroThreshold: float
    }

/// A quantile of a summary point (`SummaryDataPoint.ValueAtQuantile`).
[<Struct; CustomEquality; NoComparison>]
type ValueAtQuantile =
    {
        /// The quantile, in [0, 1].
        Quantile: float
        /// The value at that quantile.
        Value: float
    }

    // Bitwise, as in AnyValue: F#'s generated equality of struct records inside arrays calls NaN unequal.
    override this.Equals(other: obj) =
        match other with
        | :? ValueAtQuantile as that ->
            BitConverter.DoubleToInt64Bits this.Quantile = BitConverter.DoubleToInt64Bits that.Quantile
            && BitConverter.DoubleToInt64Bits this.Value = BitConverter.DoubleToInt64Bits that.Value
        | _ -> false

    override this.GetHashCode() =
        HashCode.Combine(BitConverter.DoubleToInt64Bits this.Quantile, BitConverter.DoubleToInt64Bits this.Value)

/// A point of a summary (`SummaryDataPoint`, kept for compatibility with Prometheus and OpenMetrics).
type SummaryDataPoint =
    {
        /// The attributes identifying the series.
        Attributes: KeyValue array
        /// Start of the aggregation interval, in Unix nanoseconds.
        StartTimeUnixNano: uint64
        /// Time of the point, in Unix nanoseconds.
        TimeUnixNano: uint64
        /// Number of measurements.
        Count: uint64
        /// Sum of the measurements.
        Sum: float
        /// Values at given quantiles.
        QuantileValues: ValueAtQuantile array
        /// See `DataPointFlags`.
        Flags: uint32
    }

/// A sum (`Sum`).
type Sum =
    {
        /// The points.
        DataPoints: NumberDataPoint array
        /// Delta or cumulative.
        AggregationTemporality: AggregationTemporality
        /// True when the sum only ever grows (a counter).
        IsMonotonic: bool
    }

/// An explicit-bucket histogram (`Histogram`).
type Histogram =
    {
        /// The points.
        DataPoints: HistogramDataPoint array
        /// Delta or cumulative.
        AggregationTemporality: AggregationTemporality
    }

/// A base-2 exponential histogram (`ExponentialHistogram`).
type ExponentialHistogram =
    {
        /// The points.
        DataPoints: ExponentialHistogramDataPoint array
        /// Delta or cumulative.
        AggregationTemporality: AggregationTemporality
    }

/// The data of a metric: the `data` oneof of `Metric`.
[<RequireQualifiedAccess>]
type MetricData =
    /// No data set (invalid for receivers, but representable on the wire).
    | NoData
    /// A gauge: last values (field 5; `Gauge` wraps only its points).
    | Gauge of NumberDataPoint array
    /// A sum (field 7).
    | Sum of Sum
    /// An explicit-bucket histogram (field 9).
    | Histogram of Histogram
    /// An exponential histogram (field 10).
    | ExponentialHistogram of ExponentialHistogram
    /// A summary (field 11; `Summary` wraps only its points).
    | Summary of SummaryDataPoint array

/// A metric: name, description, unit and its points (`opentelemetry.proto.metrics.v1.Metric`).
type Metric =
    {
        /// The instrument's name.
        Name: string
        /// The instrument's description.
        Description: string
        /// The unit, in UCUM form.
        Unit: string
        /// The points.
        Data: MetricData
        /// Additional metadata (field 12), such as Prometheus metadata; not attributes of the series.
        Metadata: KeyValue array
    }

/// The metrics of one instrumentation scope.
type ScopeMetrics =
    {
        /// The scope (meter) that produced the metrics.
        Scope: InstrumentationScope
        /// The metrics.
        Metrics: Metric array
        /// Schema URL of the metric data.
        SchemaUrl: string
    }

/// The metrics of one resource.
type ResourceMetrics =
    {
        /// The resource that produced the metrics.
        Resource: Resource
        /// The metrics, grouped by scope.
        ScopeMetrics: ScopeMetrics array
        /// Schema URL of the resource data.
        SchemaUrl: string
    }

// ---------------------------------------------------------------------------------------------------------
// logs/v1

/// Severity of a log record (`SeverityNumber`): four steps in each of six ranges.
type SeverityNumber =
    /// Not specified.
    | Unspecified = 0
    /// TRACE.
    | Trace = 1
    /// TRACE2.
    | Trace2 = 2
    /// TRACE3.
    | Trace3 = 3
    /// TRACE4.
    | Trace4 = 4
    /// DEBUG.
    | Debug = 5
    /// DEBUG2.
    | Debug2 = 6
    /// DEBUG3.
    | Debug3 = 7
    /// DEBUG4.
    | Debug4 = 8
    /// INFO.
    | Info = 9
    /// INFO2.
    | Info2 = 10
    /// INFO3.
    | Info3 = 11
    /// INFO4.
    | Info4 = 12
    /// WARN.
    | Warn = 13
    /// WARN2.
    | Warn2 = 14
    /// WARN3.
    | Warn3 = 15
    /// WARN4.
    | Warn4 = 16
    /// ERROR.
    | Error = 17
    /// ERROR2.
    | Error2 = 18
    /// ERROR3.
    | Error3 = 19
    /// ERROR4.
    | Error4 = 20
    /// FATAL.
    | Fatal = 21
    /// FATAL2.
    | Fatal2 = 22
    /// FATAL3.
    | Fatal3 = 23
    /// FATAL4.
    | Fatal4 = 24

/// Bit masks of `LogRecord.flags` (`LogRecordFlags`).
[<RequireQualifiedAccess>]
module LogRecordFlags =
    /// The low 8 bits hold the W3C trace flags.
    [<Literal>]
    let TraceFlagsMask = 0xFFu

/// A log record (`opentelemetry.proto.logs.v1.LogRecord`).
type LogRecord =
    {
        /// When the event occurred, in Unix nanoseconds; 0 when unknown.
        TimeUnixNano: uint64
        /// When the event was observed by the collection system, in Unix nanoseconds.
        ObservedTimeUnixNano: uint64
        /// Normalized severity.
        SeverityNumber: SeverityNumber
        /// Severity as the source named it ("Information", "WARN", ...).
        SeverityText: string
        /// The body: usually a string message, possibly structured.
        Body: AnyValue
        /// Attributes of the record.
        Attributes: KeyValue array
        /// Attributes dropped because of limits.
        DroppedAttributesCount: uint32
        /// W3C trace flags (see `LogRecordFlags`).
        Flags: uint32
        /// The trace active when the record was made, if any.
        TraceId: TraceId
        /// The span active when the record was made, if any.
        SpanId: SpanId
        /// Name of the event, when the record is an event.
        EventName: string
    }

    /// A log record with every field at its default.
    static member Empty =
        { TimeUnixNano = 0UL
          ObservedTimeUnixNano = 0UL
          SeverityNumber = SeverityNumber.Unspecified
          SeverityText = ""
          Body = AnyValue.Empty
          Attributes = [||]
          DroppedAttributesCount = 0u
          Flags = 0u
          TraceId = TraceId.Empty
          SpanId = SpanId.Empty
          EventName = "" }

/// The log records of one instrumentation scope.
type ScopeLogs =
    {
        /// The scope (logger category) that produced the records.
        Scope: InstrumentationScope
        /// The records.
        LogRecords: LogRecord array
        /// Schema URL of the log data.
        SchemaUrl: string
    }

/// The log records of one resource.
type ResourceLogs =
    {
        /// The resource that produced the records.
        Resource: Resource
        /// The records, grouped by scope.
        ScopeLogs: ScopeLogs array
        /// Schema URL of the resource data.
        SchemaUrl: string
    }

// ---------------------------------------------------------------------------------------------------------
// collector/*/v1: the service requests and responses

/// The body of `TraceService/Export` and of `POST /v1/traces`.
type ExportTraceServiceRequest =
    {
        /// The spans, grouped by resource.
        ResourceSpans: ResourceSpans array
    }

/// The body of `MetricsService/Export` and of `POST /v1/metrics`.
type ExportMetricsServiceRequest =
    {
        /// The metrics, grouped by resource.
        ResourceMetrics: ResourceMetrics array
    }

/// The body of `LogsService/Export` and of `POST /v1/logs`.
type ExportLogsServiceRequest =
    {
        /// The log records, grouped by resource.
        ResourceLogs: ResourceLogs array
    }

/// A server's report that it accepted only part of a request (`Export*PartialSuccess`). The three services
/// differ only in the name of the count (`rejected_spans`, `rejected_data_points`, `rejected_log_records`).
type PartialSuccess =
    {
        /// Items the server rejected; 0 with a message is a warning.
        Rejected: int64
        /// Human-readable reason, possibly empty.
        ErrorMessage: string
    }

    /// Nothing rejected and no message: the same as no partial success at all.
    static member Empty = { Rejected = 0L; ErrorMessage = "" }

/// The response of `TraceService/Export`.
type ExportTraceServiceResponse =
    {
        /// Set when some spans were rejected or the server has a warning.
        PartialSuccess: PartialSuccess
    }

/// The response of `MetricsService/Export`.
type ExportMetricsServiceResponse =
    {
        /// Set when some data points were rejected or the server has a warning.
        PartialSuccess: PartialSuccess
    }

/// The response of `LogsService/Export`.
type ExportLogsServiceResponse =
    {
        /// Set when some log records were rejected or the server has a warning.
        PartialSuccess: PartialSuccess
    }

// ---------------------------------------------------------------------------------------------------------
// Shorthands for F# code and scripts

/// Builders of attributes: `KeyValue.string "http.method" "GET"`.
[<RequireQualifiedAccess>]
module KeyValue =
    /// A string attribute.
    let string key (value: string) = { Key = key; Value = AnyValue.String value }
    /// A boolean attribute.
    let bool key value = { Key = key; Value = AnyValue.Bool value }
    /// A 64-bit integer attribute.
    let int64 key value = { Key = key; Value = AnyValue.Int value }
    /// An integer attribute (widened to 64 bits, as OTLP stores it).
    let int key (value: int) = { Key = key; Value = AnyValue.Int(Operators.int64 value) }
    /// A double attribute.
    let double key value = { Key = key; Value = AnyValue.Double value }
    /// A bytes attribute.
    let bytes key value = { Key = key; Value = AnyValue.Bytes value }
    /// An array attribute.
    let array key values = { Key = key; Value = AnyValue.Array(Array.ofSeq values) }
    /// A nested key-value list attribute.
    let kvlist key values = { Key = key; Value = AnyValue.KvList(Array.ofSeq values) }

/// Builders of resources.
[<RequireQualifiedAccess>]
module Resource =
    /// A resource with the given attributes.
    let ofAttributes attributes = { Resource.Empty with Attributes = Array.ofSeq attributes }
    /// A resource with only `service.name` set.
    let ofServiceName name = ofAttributes [ KeyValue.string "service.name" name ]

/// Builders of instrumentation scopes.
[<RequireQualifiedAccess>]
module InstrumentationScope =
    /// A scope with a name and version.
    let create name version = { InstrumentationScope.Empty with Name = name; Version = version }

/// Builders of export requests, grouping items under one resource and scope.
[<RequireQualifiedAccess>]
module Request =
    /// A trace request holding `spans` under one resource and scope.
    let ofSpans resource scope spans =
        { ResourceSpans =
            [| { Resource = resource
                 ScopeSpans = [| { Scope = scope; Spans = Array.ofSeq spans; SchemaUrl = "" } |]
                 SchemaUrl = "" } |] }

    /// A metrics request holding `metrics` under one resource and scope.
    let ofMetrics resource scope metrics =
        { ResourceMetrics =
            [| { Resource = resource
                 ScopeMetrics = [| { Scope = scope; Metrics = Array.ofSeq metrics; SchemaUrl = "" } |]
                 SchemaUrl = "" } |] }

    /// A logs request holding `records` under one resource and scope.
    let ofLogRecords resource scope records =
        { ResourceLogs =
            [| { Resource = resource
                 ScopeLogs = [| { Scope = scope; LogRecords = Array.ofSeq records; SchemaUrl = "" } |]
                 SchemaUrl = "" } |] }

namespace Otlp.Testing

open FsCheck
open Otlp.Core

/// FsCheck generators of valid OTLP data, covering the whole space a codec or receiver must handle: empty and
/// very long strings, text outside the Basic Multilingual Plane, every AnyValue kind nested a few levels deep,
/// NaN, infinities and signed zeros, 64-bit extremes, empty and absent lists, every metric type.
///
/// "Valid" means what a conforming exporter may send: ids of the right length (never all-zero where the spec
/// requires an id), enum values in range (never an unspecified aggregation temporality), unique keys within
/// each attribute list and key-value list, a value in every number data point and exemplar, histogram counts
/// that add up (and a zero sum when the count is zero), summary quantiles in [0, 1], strictly increasing, with
/// non-negative values, and strings that are well-formed UTF-16.
/// Sizes follow FsCheck's size parameter, so shrinking the size gives smaller documents; the one exception is
/// text, which now and then is 1,000 to 20,000 characters long at any size, so that huge strings stay in the mix.
///
/// Use the generators directly (`Gen.sample`, `Prop.forAll (Arb.fromGen Generators.span)`), or register
/// `OtlpArbitraries` with FsCheck (`Config.Default.WithArbitrary [ typeof<OtlpArbitraries> ]`) so that
/// properties can take model values as arguments.
[<RequireQualifiedAccess>]
module Generators =
    /// Well-formed text: mostly short ASCII, sometimes empty, unicode (accents, CJK, emoji as surrogate pairs),
    /// control characters, of middle length (41 to 400 characters), or long (thousands of characters).
    [<CompiledName("Text")>]
    val text: Gen<string>

    /// A short identifier-like text such as an attribute key; sometimes empty or unicode.
    [<CompiledName("Key")>]
    val key: Gen<string>

    /// Any double, with NaN, both infinities, both zeros, epsilon and the extremes well represented.
    [<CompiledName("Double")>]
    val double: Gen<float>

    /// Any int64, with 0, ±1, Int64.MinValue and Int64.MaxValue well represented.
    [<CompiledName("Int64")>]
    val int64: Gen<int64>

    /// Any uint64, with 0 and UInt64.MaxValue well represented.
    [<CompiledName("Uint64")>]
    val uint64: Gen<uint64>

    /// A timestamp in Unix nanoseconds: 0, realistic present-day values or the extremes.
    [<CompiledName("TimeUnixNano")>]
    val timeUnixNano: Gen<uint64>

    /// A trace id that is never all-zero.
    [<CompiledName("TraceId")>]
    val traceId: Gen<TraceId>

    /// A span id that is never all-zero.
    [<CompiledName("SpanId")>]
    val spanId: Gen<SpanId>

    /// A trace id that is absent (all-zero) about a third of the time.
    [<CompiledName("OptionalTraceId")>]
    val optionalTraceId: Gen<TraceId>

    /// A span id that is absent (all-zero) about a third of the time.
    [<CompiledName("OptionalSpanId")>]
    val optionalSpanId: Gen<SpanId>

    /// Byte arrays, empty included.
    [<CompiledName("Bytes")>]
    val bytes: Gen<byte array>

    /// Any AnyValue: every kind, arrays and key-value lists nested up to a few levels, empty ones included.
    [<CompiledName("AnyValue")>]
    val anyValue: Gen<AnyValue>

    /// A key with any value.
    [<CompiledName("KeyValue")>]
    val keyValue: Gen<KeyValue>

    /// A list of attributes with unique keys, often empty.
    [<CompiledName("Attributes")>]
    val attributes: Gen<KeyValue array>

    /// An instrumentation scope, often with only a name.
    [<CompiledName("Scope")>]
    val scope: Gen<InstrumentationScope>

    /// A resource, sometimes empty, sometimes with entity references.
    [<CompiledName("Resource")>]
    val resource: Gen<Resource>

    /// A span with valid ids and any other field.
    [<CompiledName("Span")>]
    val span: Gen<Span>

    /// A metric of any of the five types (or, rarely, without data).
    [<CompiledName("Metric")>]
    val metric: Gen<Metric>

    /// A log record with any body, often with trace context.
    [<CompiledName("LogRecord")>]
    val logRecord: Gen<LogRecord>

    /// A trace export request: resources, scopes and spans, any of them possibly empty.
    [<CompiledName("TraceRequest")>]
    val traceRequest: Gen<ExportTraceServiceRequest>

    /// A metrics export request.
    [<CompiledName("MetricsRequest")>]
    val metricsRequest: Gen<ExportMetricsServiceRequest>

    /// A logs export request.
    [<CompiledName("LogsRequest")>]
    val logsRequest: Gen<ExportLogsServiceRequest>

    /// A partial success (a non-negative rejected count and a message), empty about half of the time.
    [<CompiledName("PartialSuccess")>]
    val partialSuccess: Gen<PartialSuccess>

    /// Candidates smaller than a trace request: fewer resources, scopes or spans, simpler spans.
    [<CompiledName("ShrinkTraceRequest")>]
    val shrinkTraceRequest: ExportTraceServiceRequest -> seq<ExportTraceServiceRequest>

    /// Candidates smaller than a metrics request.
    [<CompiledName("ShrinkMetricsRequest")>]
    val shrinkMetricsRequest: ExportMetricsServiceRequest -> seq<ExportMetricsServiceRequest>

    /// Candidates smaller than a logs request.
    [<CompiledName("ShrinkLogsRequest")>]
    val shrinkLogsRequest: ExportLogsServiceRequest -> seq<ExportLogsServiceRequest>

/// FsCheck arbitraries of the OTLP model, to register with `Config.WithArbitrary [ typeof<OtlpArbitraries> ]`.
/// Requests shrink by dropping resources, scopes and items, so a failing case is reported small.
[<Sealed; AbstractClass>]
type OtlpArbitraries =
    /// Any AnyValue.
    static member AnyValue: unit -> Arbitrary<AnyValue>
    /// A key-value pair.
    static member KeyValue: unit -> Arbitrary<KeyValue>
    /// A non-zero trace id.
    static member TraceId: unit -> Arbitrary<TraceId>
    /// A non-zero span id.
    static member SpanId: unit -> Arbitrary<SpanId>
    /// A resource.
    static member Resource: unit -> Arbitrary<Resource>
    /// A span.
    static member Span: unit -> Arbitrary<Span>
    /// A metric.
    static member Metric: unit -> Arbitrary<Metric>
    /// A log record.
    static member LogRecord: unit -> Arbitrary<LogRecord>
    /// A trace export request, shrinking by dropping parts.
    static member TraceRequest: unit -> Arbitrary<ExportTraceServiceRequest>
    /// A metrics export request, shrinking by dropping parts.
    static member MetricsRequest: unit -> Arbitrary<ExportMetricsServiceRequest>
    /// A logs export request, shrinking by dropping parts.
    static member LogsRequest: unit -> Arbitrary<ExportLogsServiceRequest>
    /// A partial success value.
    static member PartialSuccess: unit -> Arbitrary<PartialSuccess>

/// Writes the OTLP model as OTLP/JSON straight into a `Utf8JsonWriter`, with no intermediate document. The
/// rules (what is written, what is omitted, how each type is spelled) are listed in `OtlpJson.fsi`.
module internal Otlp.Core.Json.JsonWriter

open System
open System.Buffers.Text
open System.Text.Json
open Otlp.Core

module N = JsonNames

/// The writer and a scratch buffer for numbers and ids, so that formatting them allocates nothing.
[<Sealed>]
type Out(writer: Utf8JsonWriter) =
    let scratch: byte array = Array.zeroCreate 32
    member _.Writer = writer
    member _.Scratch = scratch

let private hexDigits = "0123456789abcdef"B

let private hex (destination: byte array) (start: int) (value: uint64) =
    for i in 0..15 do
        destination[start + i] <- hexDigits[int ((value >>> (60 - 4 * i)) &&& 0xFUL)]

// ------------------------------------------------------------------------------------------------ scalars

// proto3 JSON: 64-bit integers are decimal strings (JavaScript numbers cannot hold them exactly).
let private uint64Value (out: Out) (value: uint64) =
    let mutable written = 0
    Utf8Formatter.TryFormat(value, Span out.Scratch, &written) |> ignore
    out.Writer.WriteStringValue(ReadOnlySpan(out.Scratch, 0, written))

let private int64Value (out: Out) (value: int64) =
    let mutable written = 0
    Utf8Formatter.TryFormat(value, Span out.Scratch, &written) |> ignore
    out.Writer.WriteStringValue(ReadOnlySpan(out.Scratch, 0, written))

// proto3 JSON: doubles are numbers, except the three values JSON numbers cannot spell.
let private doubleValue (out: Out) (value: float) =
    if Double.IsFinite value then out.Writer.WriteNumberValue value
    elif Double.IsNaN value then out.Writer.WriteStringValue "NaN"
    elif value > 0.0 then out.Writer.WriteStringValue "Infinity"
    else out.Writer.WriteStringValue "-Infinity"

// proto3 omits fields at their default. A double is at its default only when its bits are zero: -0.0 is
// written, as Google.Protobuf's bitwise comparison of doubles would also tell it apart.
let private double (out: Out) (name: JsonEncodedText) (value: float) =
    if BitConverter.DoubleToInt64Bits value <> 0L then
        out.Writer.WritePropertyName name
        doubleValue out value

let private optionalDouble (out: Out) (name: JsonEncodedText) (value: float voption) =
    match value with
    | ValueSome v ->
        out.Writer.WritePropertyName name
        doubleValue out v
    | ValueNone -> ()

let private fixed64 (out: Out) (name: JsonEncodedText) (value: uint64) =
    if value <> 0UL then
        out.Writer.WritePropertyName name
        uint64Value out value

let private int64 (out: Out) (name: JsonEncodedText) (value: int64) =
    if value <> 0L then
        out.Writer.WritePropertyName name
        int64Value out value

let private uint32 (out: Out) (name: JsonEncodedText) (value: uint32) =
    if value <> 0u then out.Writer.WriteNumber(name, value)

let private int32 (out: Out) (name: JsonEncodedText) (value: int) =
    if value <> 0 then out.Writer.WriteNumber(name, value)

// OTLP/JSON: enums are integers, never names.
let private enumValue (out: Out) (name: JsonEncodedText) (value: int) = int32 out name value

let private string (out: Out) (name: JsonEncodedText) (value: string) =
    if not (String.IsNullOrEmpty value) then out.Writer.WriteString(name, value)

let private bool (out: Out) (name: JsonEncodedText) (value: bool) =
    if value then out.Writer.WriteBoolean(name, true)

// OTLP/JSON: trace and span ids are lowercase hex, not base64; the all-zero id is the empty bytes default.
let private traceId (out: Out) (name: JsonEncodedText) (id: TraceId) =
    if not id.IsEmpty then
        hex out.Scratch 0 id.High
        hex out.Scratch 16 id.Low
        out.Writer.WriteString(name, ReadOnlySpan(out.Scratch, 0, 32))

let private spanId (out: Out) (name: JsonEncodedText) (id: SpanId) =
    if not id.IsEmpty then
        hex out.Scratch 0 id.Value
        out.Writer.WriteString(name, ReadOnlySpan(out.Scratch, 0, 16))

let private uint64s (out: Out) (name: JsonEncodedText) (values: uint64 array) =
    if values.Length > 0 then
        out.Writer.WriteStartArray name
        for v in values do
            uint64Value out v
        out.Writer.WriteEndArray()

let private doubles (out: Out) (name: JsonEncodedText) (values: float array) =
    if values.Length > 0 then
        out.Writer.WriteStartArray name
        for v in values do
            doubleValue out v
        out.Writer.WriteEndArray()

let private strings (out: Out) (name: JsonEncodedText) (values: string array) =
    if values.Length > 0 then
        out.Writer.WriteStartArray name
        for v in values do
            // A null string (the model says none, but F# and C# can make one) is written as the protobuf encoder
            // writes it, empty: the writer would write `null`, which proto3 JSON does not allow in a list.
            out.Writer.WriteStringValue(if isNull v then "" else v)
        out.Writer.WriteEndArray()

/// Writes `name: [ ... ]` unless the array is empty (proto3 omits empty repeated fields).
let inline private messages (out: Out) (name: JsonEncodedText) (items: 'T array) ([<InlineIfLambda>] write: Out -> 'T -> unit) =
    if items.Length > 0 then
        out.Writer.WriteStartArray name
        for item in items do
            write out item
        out.Writer.WriteEndArray()

// ------------------------------------------------------------------------------------------------ common

// A member of a oneof is written even at its default value: being set is what it says.
let rec private anyValueBody (out: Out) (value: AnyValue) =
    let w = out.Writer
    match value with
    | AnyValue.Empty -> ()
    | AnyValue.String s -> w.WriteString(N.stringValue, (if isNull s then "" else s))
    | AnyValue.Bool b -> w.WriteBoolean(N.boolValue, b)
    | AnyValue.Int i ->
        w.WritePropertyName N.intValue
        int64Value out i
    | AnyValue.Double d ->
        w.WritePropertyName N.doubleValue
        doubleValue out d
    | AnyValue.Bytes b -> w.WriteBase64String(N.bytesValue, ReadOnlySpan b)
    | AnyValue.Array values ->
        w.WriteStartObject N.arrayValue
        if values.Length > 0 then
            w.WriteStartArray N.values
            for v in values do
                anyValue out v
            w.WriteEndArray()
        w.WriteEndObject()
    | AnyValue.KvList kvs ->
        w.WriteStartObject N.kvlistValue
        messages out N.values kvs keyValue
        w.WriteEndObject()

and private anyValue (out: Out) (value: AnyValue) =
    out.Writer.WriteStartObject()
    anyValueBody out value
    out.Writer.WriteEndObject()

// The value of a KeyValue is always written, `{}` when empty, as the model and the reference SDKs do.
and private keyValue (out: Out) (kv: KeyValue) =
    out.Writer.WriteStartObject()
    string out N.key kv.Key
    out.Writer.WriteStartObject N.value
    anyValueBody out kv.Value
    out.Writer.WriteEndObject()
    out.Writer.WriteEndObject()

let private attributes (out: Out) (name: JsonEncodedText) (kvs: KeyValue array) = messages out name kvs keyValue

let private scope (out: Out) (s: InstrumentationScope) =
    if s.Name.Length > 0 || s.Version.Length > 0 || s.Attributes.Length > 0 || s.DroppedAttributesCount <> 0u then
        out.Writer.WriteStartObject N.scope
        string out N.name' s.Name
        string out N.version s.Version
        attributes out N.attributes s.Attributes
        uint32 out N.droppedAttributesCount s.DroppedAttributesCount
        out.Writer.WriteEndObject()

let private entityRef (out: Out) (e: EntityRef) =
    out.Writer.WriteStartObject()
    string out N.schemaUrl e.SchemaUrl
    string out N.``type`` e.Type
    strings out N.idKeys e.IdKeys
    strings out N.descriptionKeys e.DescriptionKeys
    out.Writer.WriteEndObject()

let private resource (out: Out) (r: Resource) =
    if r.Attributes.Length > 0 || r.DroppedAttributesCount <> 0u || r.EntityRefs.Length > 0 then
        out.Writer.WriteStartObject N.resource
        attributes out N.attributes r.Attributes
        uint32 out N.droppedAttributesCount r.DroppedAttributesCount
        messages out N.entityRefs r.EntityRefs entityRef
        out.Writer.WriteEndObject()

// ------------------------------------------------------------------------------------------------ trace

let private event (out: Out) (e: SpanEvent) =
    out.Writer.WriteStartObject()
    fixed64 out N.timeUnixNano e.TimeUnixNano
    string out N.name' e.Name
    attributes out N.attributes e.Attributes
    uint32 out N.droppedAttributesCount e.DroppedAttributesCount
    out.Writer.WriteEndObject()

let private link (out: Out) (l: SpanLink) =
    out.Writer.WriteStartObject()
    traceId out N.traceId l.TraceId
    spanId out N.spanId l.SpanId
    string out N.traceState l.TraceState
    attributes out N.attributes l.Attributes
    uint32 out N.droppedAttributesCount l.DroppedAttributesCount
    uint32 out N.flags l.Flags
    out.Writer.WriteEndObject()

let private span (out: Out) (s: Span) =
    out.Writer.WriteStartObject()
    traceId out N.traceId s.TraceId
    spanId out N.spanId s.SpanId
    string out N.traceState s.TraceState
    spanId out N.parentSpanId s.ParentSpanId
    string out N.name' s.Name
    enumValue out N.kind (int s.Kind)
    fixed64 out N.startTimeUnixNano s.StartTimeUnixNano
    fixed64 out N.endTimeUnixNano s.EndTimeUnixNano
    attributes out N.attributes s.Attributes
    uint32 out N.droppedAttributesCount s.DroppedAttributesCount
    messages out N.events s.Events event
    uint32 out N.droppedEventsCount s.DroppedEventsCount
    messages out N.links s.Links link
    uint32 out N.droppedLinksCount s.DroppedLinksCount
    if s.Status.Message.Length > 0 || s.Status.Code <> StatusCode.Unset then
        out.Writer.WriteStartObject N.status
        string out N.message s.Status.Message
        enumValue out N.code (int s.Status.Code)
        out.Writer.WriteEndObject()
    uint32 out N.flags s.Flags
    out.Writer.WriteEndObject()

let private scopeSpans (out: Out) (ss: ScopeSpans) =
    out.Writer.WriteStartObject()
    scope out ss.Scope
    messages out N.spans ss.Spans span
    string out N.schemaUrl ss.SchemaUrl
    out.Writer.WriteEndObject()

let private resourceSpans (out: Out) (rs: ResourceSpans) =
    out.Writer.WriteStartObject()
    resource out rs.Resource
    messages out N.scopeSpans rs.ScopeSpans scopeSpans
    string out N.schemaUrl rs.SchemaUrl
    out.Writer.WriteEndObject()

// ------------------------------------------------------------------------------------------------ metrics

let private numberValue (out: Out) (value: NumberValue) =
    match value with
    | NoValue -> ()
    | AsDouble d ->
        out.Writer.WritePropertyName N.asDouble
        doubleValue out d
    | AsInt i ->
        out.Writer.WritePropertyName N.asInt
        int64Value out i

let private exemplar (out: Out) (e: Exemplar) =
    out.Writer.WriteStartObject()
    fixed64 out N.timeUnixNano e.TimeUnixNano
    numberValue out e.Value
    spanId out N.spanId e.SpanId
    traceId out N.traceId e.TraceId
    attributes out N.filteredAttributes e.FilteredAttributes
    out.Writer.WriteEndObject()

let private numberPoint (out: Out) (p: NumberDataPoint) =
    out.Writer.WriteStartObject()
    fixed64 out N.startTimeUnixNano p.StartTimeUnixNano
    fixed64 out N.timeUnixNano p.TimeUnixNano
    numberValue out p.Value
    messages out N.exemplars p.Exemplars exemplar
    attributes out N.attributes p.Attributes
    uint32 out N.flags p.Flags
    out.Writer.WriteEndObject()

let private histogramPoint (out: Out) (p: HistogramDataPoint) =
    out.Writer.WriteStartObject()
    fixed64 out N.startTimeUnixNano p.StartTimeUnixNano
    fixed64 out N.timeUnixNano p.TimeUnixNano
    fixed64 out N.count p.Count
    optionalDouble out N.sum p.Sum
    uint64s out N.bucketCounts p.BucketCounts
    doubles out N.explicitBounds p.ExplicitBounds
    messages out N.exemplars p.Exemplars exemplar
    attributes out N.attributes p.Attributes
    uint32 out N.flags p.Flags
    optionalDouble out N.min p.Min
    optionalDouble out N.max p.Max
    out.Writer.WriteEndObject()

let private buckets (out: Out) (name: JsonEncodedText) (b: ExponentialBuckets) =
    if b.Offset <> 0 || b.BucketCounts.Length > 0 then
        out.Writer.WriteStartObject name
        int32 out N.offset b.Offset
        uint64s out N.bucketCounts b.BucketCounts
        out.Writer.WriteEndObject()

let private exponentialPoint (out: Out) (p: ExponentialHistogramDataPoint) =
    out.Writer.WriteStartObject()
    attributes out N.attributes p.Attributes
    fixed64 out N.startTimeUnixNano p.StartTimeUnixNano
    fixed64 out N.timeUnixNano p.TimeUnixNano
    fixed64 out N.count p.Count
    optionalDouble out N.sum p.Sum
    int32 out N.scale p.Scale
    fixed64 out N.zeroCount p.ZeroCount
    buckets out N.positive p.Positive
    buckets out N.negative p.Negative
    uint32 out N.flags p.Flags
    messages out N.exemplars p.Exemplars exemplar
    optionalDouble out N.min p.Min
    optionalDouble out N.max p.Max
    double out N.zeroThreshold p.ZeroThreshold
    out.Writer.WriteEndObject()

let private quantile (out: Out) (q: ValueAtQuantile) =
    out.Writer.WriteStartObject()
    double out N.quantile q.Quantile
    double out N.value q.Value
    out.Writer.WriteEndObject()

let private summaryPoint (out: Out) (p: SummaryDataPoint) =
    out.Writer.WriteStartObject()
    fixed64 out N.startTimeUnixNano p.StartTimeUnixNano
    fixed64 out N.timeUnixNano p.TimeUnixNano
    fixed64 out N.count p.Count
    double out N.sum p.Sum
    messages out N.quantileValues p.QuantileValues quantile
    attributes out N.attributes p.Attributes
    uint32 out N.flags p.Flags
    out.Writer.WriteEndObject()

let private metric (out: Out) (m: Metric) =
    let w = out.Writer
    w.WriteStartObject()
    string out N.name' m.Name
    string out N.description m.Description
    string out N.unit m.Unit
    // The data oneof: its member is written even when it holds nothing (`"gauge": {}`).
    match m.Data with
    | MetricData.NoData -> ()
    | MetricData.Gauge points ->
        w.WriteStartObject N.gauge
        messages out N.dataPoints points numberPoint
        w.WriteEndObject()
    | MetricData.Sum s ->
        w.WriteStartObject N.sum
        messages out N.dataPoints s.DataPoints numberPoint
        enumValue out N.aggregationTemporality (int s.AggregationTemporality)
        bool out N.isMonotonic s.IsMonotonic
        w.WriteEndObject()
    | MetricData.Histogram h ->
        w.WriteStartObject N.histogram
        messages out N.dataPoints h.DataPoints histogramPoint
        enumValue out N.aggregationTemporality (int h.AggregationTemporality)
        w.WriteEndObject()
    | MetricData.ExponentialHistogram h ->
        w.WriteStartObject N.exponentialHistogram
        messages out N.dataPoints h.DataPoints exponentialPoint
        enumValue out N.aggregationTemporality (int h.AggregationTemporality)
        w.WriteEndObject()
    | MetricData.Summary points ->
        w.WriteStartObject N.summary
        messages out N.dataPoints points summaryPoint
        w.WriteEndObject()
    attributes out N.metadata m.Metadata
    w.WriteEndObject()

let private scopeMetrics (out: Out) (sm: ScopeMetrics) =
    out.Writer.WriteStartObject()
    scope out sm.Scope
    messages out N.metrics sm.Metrics metric
    string out N.schemaUrl sm.SchemaUrl
    out.Writer.WriteEndObject()

let private resourceMetrics (out: Out) (rm: ResourceMetrics) =
    out.Writer.WriteStartObject()
    resource out rm.Resource
    messages out N.scopeMetrics rm.ScopeMetrics scopeMetrics
    string out N.schemaUrl rm.SchemaUrl
    out.Writer.WriteEndObject()

// ------------------------------------------------------------------------------------------------ logs

let private logRecord (out: Out) (r: LogRecord) =
    out.Writer.WriteStartObject()
    fixed64 out N.timeUnixNano r.TimeUnixNano
    enumValue out N.severityNumber (int r.SeverityNumber)
    string out N.severityText r.SeverityText
    // The body is a singular message: absent when empty, as the model's presence convention says.
    match r.Body with
    | AnyValue.Empty -> ()
    | body ->
        out.Writer.WritePropertyName N.body
        anyValue out body
    attributes out N.attributes r.Attributes
    uint32 out N.droppedAttributesCount r.DroppedAttributesCount
    uint32 out N.flags r.Flags
    traceId out N.traceId r.TraceId
    spanId out N.spanId r.SpanId
    fixed64 out N.observedTimeUnixNano r.ObservedTimeUnixNano
    string out N.eventName r.EventName
    out.Writer.WriteEndObject()

let private scopeLogs (out: Out) (sl: ScopeLogs) =
    out.Writer.WriteStartObject()
    scope out sl.Scope
    messages out N.logRecords sl.LogRecords logRecord
    string out N.schemaUrl sl.SchemaUrl
    out.Writer.WriteEndObject()

let private resourceLogs (out: Out) (rl: ResourceLogs) =
    out.Writer.WriteStartObject()
    resource out rl.Resource
    messages out N.scopeLogs rl.ScopeLogs scopeLogs
    string out N.schemaUrl rl.SchemaUrl
    out.Writer.WriteEndObject()

// ------------------------------------------------------------------------------------------------ requests

let traceRequest (out: Out) (request: ExportTraceServiceRequest) =
    out.Writer.WriteStartObject()
    messages out N.resourceSpans request.ResourceSpans resourceSpans
    out.Writer.WriteEndObject()

let metricsRequest (out: Out) (request: ExportMetricsServiceRequest) =
    out.Writer.WriteStartObject()
    messages out N.resourceMetrics request.ResourceMetrics resourceMetrics
    out.Writer.WriteEndObject()

let logsRequest (out: Out) (request: ExportLogsServiceRequest) =
    out.Writer.WriteStartObject()
    messages out N.resourceLogs request.ResourceLogs resourceLogs
    out.Writer.WriteEndObject()

/// A response: `{}` for full success, else the partial success under the signal's name for the count.
let response (out: Out) (rejectedName: JsonEncodedText) (partial: PartialSuccess) =
    out.Writer.WriteStartObject()
    if partial.Rejected <> 0L || not (String.IsNullOrEmpty partial.ErrorMessage) then
        out.Writer.WriteStartObject N.partialSuccess
        int64 out rejectedName partial.Rejected
        string out N.errorMessage partial.ErrorMessage
        out.Writer.WriteEndObject()
    out.Writer.WriteEndObject()

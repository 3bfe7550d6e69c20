namespace Otlp.Core.Protobuf

// The OTLP field rules, written once on the single-pass `ProtoWriter` and shared by every source: the model
// encoder (`ProtoEncoder`) and the encoders that write straight from .NET objects (an Activity, a log entry).
//
// Rules (proto3, as Google.Protobuf writes them, so the bytes are identical to the reference's):
// - fields in field-number order; scalars at their default (0, "", false, empty) are not written; a plain
//   double equal to zero of either sign is not written; oneof members and `optional` fields are written
//   whenever set, even when zero;
// - length prefixes and varints are minimal; negative int32/enum values are sign-extended to 10 bytes;
// - repeated scalars are packed; ids are written only when not all-zero;
// - a KeyValue's value is always written (an empty AnyValue is an empty message); resource, scope, status,
//   exponential buckets, log body and partial success are written only when not empty.
// Null strings and arrays (possible when the model is built from C#) are treated as empty.

open System
open Otlp.Core

/// Length-prefix guesses per kind of nested message: the number of bytes its length usually takes. A wrong
/// guess costs one move of the message's content, never a wrong byte.
module internal Guess =
    /// KeyValue, AnyValue, events, links, status, scope, data points: usually under 128 bytes.
    [<Literal>]
    let Small = 1

    /// Spans, log records with long messages, resources, metrics: usually 128 bytes to 16 KiB.
    [<Literal>]
    let Item = 2

    /// ResourceSpans, ScopeSpans and the like, holding a batch: usually 16 KiB to 2 MiB.
    [<Literal>]
    let Batch = 3

/// Scalar fields with the proto3 default-omission rule.
module internal Scalar =
    let inline isEmptyText (text: string) = isNull text || text.Length = 0
    let inline count (items: 'a array) = if isNull items then 0 else items.Length

    let inline string (w: ProtoWriter) field (text: string) =
        if not (isEmptyText text) then w.StringField(field, text.AsSpan())

    let inline uint32 (w: ProtoWriter) field (value: uint32) =
        if value <> 0u then
            w.Tag(field, Fields.WireVarint)
            w.Varint32 value

    let inline enum (w: ProtoWriter) field (value: int) =
        if value <> 0 then
            w.Tag(field, Fields.WireVarint)
            w.Varint64(uint64 (int64 value))

    let inline fixed64 (w: ProtoWriter) field (value: uint64) =
        if value <> 0UL then
            w.Tag(field, Fields.WireFixed64)
            w.Fixed64 value

    let inline fixed32 (w: ProtoWriter) field (value: uint32) =
        if value <> 0u then
            w.Tag(field, Fields.WireFixed32)
            w.Fixed32 value

    let inline double (w: ProtoWriter) field (value: float) =
        if value <> 0.0 then
            w.Tag(field, Fields.WireFixed64)
            w.Double value

    let inline optionalDouble (w: ProtoWriter) field (value: float voption) =
        match value with
        | ValueSome v ->
            w.Tag(field, Fields.WireFixed64)
            w.Double v
        | ValueNone -> ()

    let inline bool (w: ProtoWriter) field (value: bool) =
        if value then
            w.Tag(field, Fields.WireVarint)
            w.Varint32 1u

    let inline traceId (w: ProtoWriter) field (id: TraceId) =
        if not id.IsEmpty then w.TraceIdField(field, id.High, id.Low)

    let inline spanId (w: ProtoWriter) field (id: SpanId) =
        if not id.IsEmpty then w.SpanIdField(field, id.Value)

    let inline zigZag32 (value: int) = Operators.uint32 ((value <<< 1) ^^^ (value >>> 31))

    let inline sint32 (w: ProtoWriter) field (value: int) =
        if value <> 0 then
            w.Tag(field, Fields.WireVarint)
            w.Varint32(zigZag32 value)

    /// Repeated strings are never packed; each element is written, the empty string included.
    let strings (w: ProtoWriter) field (items: string array) =
        for i in 0 .. count items - 1 do
            w.StringField(field, (if isNull items[i] then String.Empty else items[i]).AsSpan())

/// common/v1: AnyValue, KeyValue, InstrumentationScope, Resource. The primitive writers (`attributeString`,
/// `beginArrayAttribute` ...) let a source that holds CLR values write attributes without building AnyValues.
module internal CommonFields =
    open Scalar

    /// The content of an AnyValue (its oneof member, or nothing for the empty value).
    let rec anyValue (w: ProtoWriter) (value: AnyValue) : unit =
        match value with
        | AnyValue.Empty -> ()
        | AnyValue.String s -> w.StringField(Fields.AnyValue_String_Value, s.AsSpan())
        | AnyValue.Bool b ->
            w.Tag(Fields.AnyValue_Bool_Value, Fields.WireVarint)
            w.Varint32(if b then 1u else 0u)
        | AnyValue.Int i ->
            w.Tag(Fields.AnyValue_Int_Value, Fields.WireVarint)
            w.Varint64(Operators.uint64 i)
        | AnyValue.Double d ->
            w.Tag(Fields.AnyValue_Double_Value, Fields.WireFixed64)
            w.Double d
        | AnyValue.Bytes b -> w.BytesField(Fields.AnyValue_Bytes_Value, ReadOnlySpan b)
        | AnyValue.Array values ->
            let array = w.BeginMessage(Fields.AnyValue_Array_Value, Guess.Small)
            for i in 0 .. count values - 1 do
                let element = w.BeginMessage(Fields.ArrayValue_Values, Guess.Small)
                anyValue w values[i]
                w.EndMessage(element, Guess.Small)
            w.EndMessage(array, Guess.Small)
        | AnyValue.KvList kvs ->
            let list = w.BeginMessage(Fields.AnyValue_Kvlist_Value, Guess.Small)
            keyValues w Fields.KeyValueList_Values kvs
            w.EndMessage(list, Guess.Small)

    /// One KeyValue as the repeated `field`: the key unless empty, and the value always.
    and keyValue (w: ProtoWriter) field (kv: KeyValue) =
        let pair = w.BeginMessage(field, Guess.Small)
        if not (isEmptyText kv.Key) then w.KnownStringField(Fields.KeyValue_Key, kv.Key)
        let value = w.BeginMessage(Fields.KeyValue_Value, Guess.Small)
        anyValue w (if isNull (box kv.Value) then AnyValue.Empty else kv.Value)
        w.EndMessage(value, Guess.Small)
        w.EndMessage(pair, Guess.Small)

    /// A repeated KeyValue field.
    and keyValues (w: ProtoWriter) field (kvs: KeyValue array) =
        for i in 0 .. count kvs - 1 do
            keyValue w field kvs[i]

    /// Starts the KeyValue of an attribute and its value; the value's oneof member follows, then `endAttribute`.
    let beginAttribute (w: ProtoWriter) field (key: string) =
        let pair = w.BeginMessage(field, Guess.Small)
        if not (isEmptyText key) then w.KnownStringField(Fields.KeyValue_Key, key)
        struct (pair, w.BeginMessage(Fields.KeyValue_Value, Guess.Small))

    /// Ends an attribute begun with `beginAttribute`.
    let endAttribute (w: ProtoWriter) (struct (pair: int, value: int)) =
        w.EndMessage(value, Guess.Small)
        w.EndMessage(pair, Guess.Small)

    /// The string member of an AnyValue (in an attribute's value or an array element).
    let stringValue (w: ProtoWriter) (text: ReadOnlySpan<char>) = w.StringField(Fields.AnyValue_String_Value, text)

    /// The bool member of an AnyValue.
    let boolValue (w: ProtoWriter) (value: bool) =
        w.Tag(Fields.AnyValue_Bool_Value, Fields.WireVarint)
        w.Varint32(if value then 1u else 0u)

    /// The int member of an AnyValue.
    let intValue (w: ProtoWriter) (value: int64) =
        w.Tag(Fields.AnyValue_Int_Value, Fields.WireVarint)
        w.Varint64(Operators.uint64 value)

    /// The double member of an AnyValue.
    let doubleValue (w: ProtoWriter) (value: float) =
        w.Tag(Fields.AnyValue_Double_Value, Fields.WireFixed64)
        w.Double value

    /// The bytes member of an AnyValue.
    let bytesValue (w: ProtoWriter) (value: ReadOnlySpan<byte>) = w.BytesField(Fields.AnyValue_Bytes_Value, value)

    /// Starts the array member of an AnyValue; write elements with `beginElement`/`endElement`, then `endArray`.
    let beginArray (w: ProtoWriter) = w.BeginMessage(Fields.AnyValue_Array_Value, Guess.Small)

    /// Ends the array member begun with `beginArray`.
    let endArray (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Small)

    /// Starts one element (an AnyValue) of an array; an element with nothing written is the empty value.
    let beginElement (w: ProtoWriter) = w.BeginMessage(Fields.ArrayValue_Values, Guess.Small)

    /// Ends an element begun with `beginElement`.
    let endElement (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Small)

    let private isEmptyScope (s: InstrumentationScope) =
        isNull (box s)
        || (isEmptyText s.Name && isEmptyText s.Version && count s.Attributes = 0 && s.DroppedAttributesCount = 0u)

    /// An InstrumentationScope field, left out when the scope is empty.
    let scope (w: ProtoWriter) field (s: InstrumentationScope) =
        if not (isEmptyScope s) then
            let token = w.BeginMessage(field, Guess.Small)
            string w Fields.InstrumentationScope_Name s.Name
            string w Fields.InstrumentationScope_Version s.Version
            keyValues w Fields.InstrumentationScope_Attributes s.Attributes
            uint32 w Fields.InstrumentationScope_Dropped_Attributes_Count s.DroppedAttributesCount
            w.EndMessage(token, Guess.Small)

    let private isEmptyResource (r: Resource) =
        isNull (box r) || (count r.Attributes = 0 && r.DroppedAttributesCount = 0u && count r.EntityRefs = 0)

    /// A Resource field, left out when the resource is empty.
    let resource (w: ProtoWriter) field (r: Resource) =
        if not (isEmptyResource r) then
            let token = w.BeginMessage(field, Guess.Item)
            keyValues w Fields.Resource_Attributes r.Attributes
            uint32 w Fields.Resource_Dropped_Attributes_Count r.DroppedAttributesCount
            for i in 0 .. count r.EntityRefs - 1 do
                let e = r.EntityRefs[i]
                let entity = w.BeginMessage(Fields.Resource_Entity_Refs, Guess.Small)
                string w Fields.EntityRef_Schema_Url e.SchemaUrl
                string w Fields.EntityRef_Type e.Type
                strings w Fields.EntityRef_Id_Keys e.IdKeys
                strings w Fields.EntityRef_Description_Keys e.DescriptionKeys
                w.EndMessage(entity, Guess.Small)
            w.EndMessage(token, Guess.Item)

/// trace/v1: Span, Span.Event, Span.Link, Status. A span is written as its head (fields 1 to 8), its
/// attributes (9, 10), events (11, 12), links (13, 14) and tail (15, 16), in that order.
module internal TraceFields =
    open Scalar

    /// Span fields 1 to 8: ids, trace state, name, kind and times.
    let head
        (w: ProtoWriter)
        (traceId: TraceId)
        (spanId: SpanId)
        (traceState: string)
        (parentSpanId: SpanId)
        (name: string)
        (kind: SpanKind)
        (startTimeUnixNano: uint64)
        (endTimeUnixNano: uint64)
        =
        Scalar.traceId w Fields.Span_Trace_Id traceId
        Scalar.spanId w Fields.Span_Span_Id spanId
        string w Fields.Span_Trace_State traceState
        Scalar.spanId w Fields.Span_Parent_Span_Id parentSpanId
        string w Fields.Span_Name name
        enum w Fields.Span_Kind (int kind)
        fixed64 w Fields.Span_Start_Time_Unix_Nano startTimeUnixNano
        fixed64 w Fields.Span_End_Time_Unix_Nano endTimeUnixNano

    /// Span field 10, after the attributes.
    let droppedAttributes (w: ProtoWriter) (dropped: uint32) =
        uint32 w Fields.Span_Dropped_Attributes_Count dropped

    /// Starts an event (span field 11): its time and name; attributes (field `Fields.Event_Attributes`) follow,
    /// then `endEvent`.
    let beginEvent (w: ProtoWriter) (timeUnixNano: uint64) (name: string) =
        let token = w.BeginMessage(Fields.Span_Events, Guess.Small)
        fixed64 w Fields.Event_Time_Unix_Nano timeUnixNano
        if not (isEmptyText name) then w.KnownStringField(Fields.Event_Name, name)
        token

    /// Ends an event with its dropped attribute count.
    let endEvent (w: ProtoWriter) (token: int) (droppedAttributes: uint32) =
        uint32 w Fields.Event_Dropped_Attributes_Count droppedAttributes
        w.EndMessage(token, Guess.Small)

    /// Span field 12, after the events.
    let droppedEvents (w: ProtoWriter) (dropped: uint32) = uint32 w Fields.Span_Dropped_Events_Count dropped

    /// Starts a link (span field 13): ids and trace state; attributes (field `Fields.Link_Attributes`) follow,
    /// then `endLink`.
    let beginLink (w: ProtoWriter) (traceId: TraceId) (spanId: SpanId) (traceState: string) =
        let token = w.BeginMessage(Fields.Span_Links, Guess.Small)
        Scalar.traceId w Fields.Link_Trace_Id traceId
        Scalar.spanId w Fields.Link_Span_Id spanId
        string w Fields.Link_Trace_State traceState
        token

    /// Ends a link with its dropped attribute count and flags.
    let endLink (w: ProtoWriter) (token: int) (droppedAttributes: uint32) (flags: uint32) =
        uint32 w Fields.Link_Dropped_Attributes_Count droppedAttributes
        fixed32 w Fields.Link_Flags flags
        w.EndMessage(token, Guess.Small)

    /// Span field 14, after the links.
    let droppedLinks (w: ProtoWriter) (dropped: uint32) = uint32 w Fields.Span_Dropped_Links_Count dropped

    /// Span fields 15 (status, left out when unset with no message) and 16 (flags).
    let tail (w: ProtoWriter) (statusMessage: string) (statusCode: StatusCode) (flags: uint32) =
        if not (isEmptyText statusMessage && statusCode = StatusCode.Unset) then
            let token = w.BeginMessage(Fields.Span_Status, Guess.Small)
            string w Fields.Status_Message statusMessage
            enum w Fields.Status_Code (int statusCode)
            w.EndMessage(token, Guess.Small)
        fixed32 w Fields.Span_Flags flags

    /// A whole model span, without its enclosing tag.
    let span (w: ProtoWriter) (s: Span) =
        head w s.TraceId s.SpanId s.TraceState s.ParentSpanId s.Name s.Kind s.StartTimeUnixNano s.EndTimeUnixNano
        CommonFields.keyValues w Fields.Span_Attributes s.Attributes
        droppedAttributes w s.DroppedAttributesCount
        for i in 0 .. count s.Events - 1 do
            let e = s.Events[i]
            let token = beginEvent w e.TimeUnixNano e.Name
            CommonFields.keyValues w Fields.Event_Attributes e.Attributes
            endEvent w token e.DroppedAttributesCount
        droppedEvents w s.DroppedEventsCount
        for i in 0 .. count s.Links - 1 do
            let l = s.Links[i]
            let token = beginLink w l.TraceId l.SpanId l.TraceState
            CommonFields.keyValues w Fields.Link_Attributes l.Attributes
            endLink w token l.DroppedAttributesCount l.Flags
        droppedLinks w s.DroppedLinksCount
        if isNull (box s.Status) then
            tail w null StatusCode.Unset s.Flags
        else
            tail w s.Status.Message s.Status.Code s.Flags

    /// Starts a ResourceSpans (request field 1) with its resource; ScopeSpans follow, then `endResourceSpans`.
    let beginResourceSpans (w: ProtoWriter) (resource: Resource) =
        let token = w.BeginMessage(Fields.ExportTraceServiceRequest_Resource_Spans, Guess.Batch)
        CommonFields.resource w Fields.ResourceSpans_Resource resource
        token

    /// Ends a ResourceSpans with its schema URL.
    let endResourceSpans (w: ProtoWriter) (token: int) (schemaUrl: string) =
        string w Fields.ResourceSpans_Schema_Url schemaUrl
        w.EndMessage(token, Guess.Batch)

    /// Starts a ScopeSpans with its scope; spans follow (each between `beginSpan` and `endSpan`), then
    /// `endScopeSpans`.
    let beginScopeSpans (w: ProtoWriter) (scope: InstrumentationScope) =
        let token = w.BeginMessage(Fields.ResourceSpans_Scope_Spans, Guess.Batch)
        CommonFields.scope w Fields.ScopeSpans_Scope scope
        token

    /// Ends a ScopeSpans with its schema URL.
    let endScopeSpans (w: ProtoWriter) (token: int) (schemaUrl: string) =
        string w Fields.ScopeSpans_Schema_Url schemaUrl
        w.EndMessage(token, Guess.Batch)

    /// Starts a span inside a ScopeSpans.
    let beginSpan (w: ProtoWriter) = w.BeginMessage(Fields.ScopeSpans_Spans, Guess.Item)

    /// Ends a span begun with `beginSpan`.
    let endSpan (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Item)

/// logs/v1: LogRecord. A record is written as its head (fields 1 to 5), attributes (6, 7) and tail (8 to 12).
module internal LogFields =
    open Scalar

    /// LogRecord fields 1, 2, 3 and 5 (the body, left out when empty); fields 6 (attributes) follow.
    let head (w: ProtoWriter) (timeUnixNano: uint64) (severity: SeverityNumber) (severityText: string) (body: AnyValue) =
        fixed64 w Fields.LogRecord_Time_Unix_Nano timeUnixNano
        enum w Fields.LogRecord_Severity_Number (int severity)
        string w Fields.LogRecord_Severity_Text severityText
        match (if isNull (box body) then AnyValue.Empty else body) with
        | AnyValue.Empty -> ()
        | _ ->
            let token = w.BeginMessage(Fields.LogRecord_Body, Guess.Small)
            CommonFields.anyValue w body
            w.EndMessage(token, Guess.Small)

    /// LogRecord fields 1, 2, 3 and 5 with a string body (left out when null or empty), for sources whose body
    /// is a message.
    let headWithText (w: ProtoWriter) (timeUnixNano: uint64) (severity: SeverityNumber) (severityText: string) (body: string) =
        fixed64 w Fields.LogRecord_Time_Unix_Nano timeUnixNano
        enum w Fields.LogRecord_Severity_Number (int severity)
        string w Fields.LogRecord_Severity_Text severityText
        if not (isNull body) then
            let token = w.BeginMessage(Fields.LogRecord_Body, Guess.Small)
            CommonFields.stringValue w (body.AsSpan())
            w.EndMessage(token, Guess.Small)

    /// LogRecord fields 7 to 12: dropped attributes, flags, ids, observed time, event name.
    let tail
        (w: ProtoWriter)
        (droppedAttributes: uint32)
        (flags: uint32)
        (traceId: TraceId)
        (spanId: SpanId)
        (observedTimeUnixNano: uint64)
        (eventName: string)
        =
        uint32 w Fields.LogRecord_Dropped_Attributes_Count droppedAttributes
        fixed32 w Fields.LogRecord_Flags flags
        Scalar.traceId w Fields.LogRecord_Trace_Id traceId
        Scalar.spanId w Fields.LogRecord_Span_Id spanId
        fixed64 w Fields.LogRecord_Observed_Time_Unix_Nano observedTimeUnixNano
        string w Fields.LogRecord_Event_Name eventName

    /// A whole model log record, without its enclosing tag.
    let logRecord (w: ProtoWriter) (r: LogRecord) =
        head w r.TimeUnixNano r.SeverityNumber r.SeverityText r.Body
        CommonFields.keyValues w Fields.LogRecord_Attributes r.Attributes
        tail w r.DroppedAttributesCount r.Flags r.TraceId r.SpanId r.ObservedTimeUnixNano r.EventName

    /// Starts a ResourceLogs (request field 1) with its resource; ScopeLogs follow, then `endResourceLogs`.
    let beginResourceLogs (w: ProtoWriter) (resource: Resource) =
        let token = w.BeginMessage(Fields.ExportLogsServiceRequest_Resource_Logs, Guess.Batch)
        CommonFields.resource w Fields.ResourceLogs_Resource resource
        token

    /// Ends a ResourceLogs with its schema URL.
    let endResourceLogs (w: ProtoWriter) (token: int) (schemaUrl: string) =
        string w Fields.ResourceLogs_Schema_Url schemaUrl
        w.EndMessage(token, Guess.Batch)

    /// Starts a ScopeLogs with its scope; records follow (each between `beginLogRecord` and `endLogRecord`).
    let beginScopeLogs (w: ProtoWriter) (scope: InstrumentationScope) =
        let token = w.BeginMessage(Fields.ResourceLogs_Scope_Logs, Guess.Batch)
        CommonFields.scope w Fields.ScopeLogs_Scope scope
        token

    /// Ends a ScopeLogs with its schema URL.
    let endScopeLogs (w: ProtoWriter) (token: int) (schemaUrl: string) =
        string w Fields.ScopeLogs_Schema_Url schemaUrl
        w.EndMessage(token, Guess.Batch)

    /// Starts a log record inside a ScopeLogs.
    let beginLogRecord (w: ProtoWriter) = w.BeginMessage(Fields.ScopeLogs_Log_Records, Guess.Item)

    /// Ends a log record begun with `beginLogRecord`.
    let endLogRecord (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Item)

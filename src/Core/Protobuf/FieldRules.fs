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
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open Otlp.Core

/// Length-prefix guesses per kind of nested message: the number of bytes its length usually takes. A wrong
/// guess costs one move of the message's content, never a wrong byte.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
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

    /// The length bytes of a message expected to hold about `bytes` bytes (a metric's data, whose size goes with
    /// its number of points).
    let inline ofLength (bytes: int) = WireSize.varint32 (uint32 (max 0 bytes))

/// Scalar fields with the proto3 default-omission rule.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
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
[<System.Runtime.CompilerServices.SkipLocalsInit>]
module internal CommonFields =
    open Scalar

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

    /// An attribute with a string value: KeyValue { key, value { string_value } }.
    let attributeString (w: ProtoWriter) field (key: string) (text: ReadOnlySpan<char>) =
        if not (w.TryStringAttribute(field, key, text)) then
            let token = beginAttribute w field key
            stringValue w text
            endAttribute w token

    /// An attribute with an integer value.
    let attributeInt (w: ProtoWriter) field (key: string) (value: int64) =
        if not (w.TryIntAttribute(field, key, value)) then
            let token = beginAttribute w field key
            intValue w value
            endAttribute w token

    /// An integer attribute encoded beforehand, with `value` (the same bytes as `attributeInt` with its field and key).
    let attributeIntWith (w: ProtoWriter) (attribute: EncodedIntAttribute) (value: int64) =
        if not (w.TryIntAttributeWith(attribute, value)) then
            attributeInt w attribute.Field attribute.Key value

    /// An attribute with a double value.
    let attributeDouble (w: ProtoWriter) field (key: string) (value: float) =
        if not (w.TryDoubleAttribute(field, key, value)) then
            let token = beginAttribute w field key
            doubleValue w value
            endAttribute w token

    /// An attribute with a bool value.
    let attributeBool (w: ProtoWriter) field (key: string) (value: bool) =
        if not (w.TryBoolAttribute(field, key, value)) then
            let token = beginAttribute w field key
            boolValue w value
            endAttribute w token

    /// Starts one element (an AnyValue) of an array; an element with nothing written is the empty value.
    let beginElement (w: ProtoWriter) = w.BeginMessage(Fields.ArrayValue_Values, Guess.Small)

    /// Ends an element begun with `beginElement`.
    let endElement (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Small)

    /// One string element of an array.
    let stringElement (w: ProtoWriter) (text: ReadOnlySpan<char>) =
        if not (w.TryStringValueField(Fields.ArrayValue_Values, text)) then
            let element = beginElement w
            stringValue w text
            endElement w element

    /// The content of an AnyValue (its oneof member, or nothing for the empty value).
    let rec anyValue (w: ProtoWriter) (value: AnyValue) : unit =
        match value with
        | AnyValue.Empty -> ()
        | AnyValue.String s -> stringValue w (s.AsSpan())
        | AnyValue.Bool b -> boolValue w b
        | AnyValue.Int i -> intValue w i
        | AnyValue.Double d -> doubleValue w d
        | AnyValue.Bytes b -> w.BytesField(Fields.AnyValue_Bytes_Value, ReadOnlySpan b)
        | AnyValue.Array values ->
            let array = w.BeginMessage(Fields.AnyValue_Array_Value, Guess.Small)
            for i in 0 .. count values - 1 do
                match values[i] with
                | AnyValue.String s -> stringElement w (s.AsSpan())
                | value ->
                    let element = beginElement w
                    anyValue w value
                    endElement w element
            w.EndMessage(array, Guess.Small)
        | AnyValue.KvList kvs ->
            let list = w.BeginMessage(Fields.AnyValue_Kvlist_Value, Guess.Small)
            keyValues w Fields.KeyValueList_Values kvs
            w.EndMessage(list, Guess.Small)

    /// One KeyValue as the repeated `field`: the key unless empty, and the value always.
    and keyValue (w: ProtoWriter) field (kv: KeyValue) =
        match kv.Value with
        | value when isNull (box value) -> keyValueOfAny w field kv
        | AnyValue.String s -> attributeString w field kv.Key (s.AsSpan())
        | AnyValue.Int i -> attributeInt w field kv.Key i
        | AnyValue.Double d -> attributeDouble w field kv.Key d
        | AnyValue.Bool b -> attributeBool w field kv.Key b
        | _ -> keyValueOfAny w field kv

    and private keyValueOfAny (w: ProtoWriter) field (kv: KeyValue) =
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

    /// The bytes member of an AnyValue.
    let bytesValue (w: ProtoWriter) (value: ReadOnlySpan<byte>) = w.BytesField(Fields.AnyValue_Bytes_Value, value)

    /// Starts the array member of an AnyValue; write elements with `beginElement`/`endElement`, then `endArray`.
    let beginArray (w: ProtoWriter) = w.BeginMessage(Fields.AnyValue_Array_Value, Guess.Small)

    /// Ends the array member begun with `beginArray`.
    let endArray (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Small)

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

    /// Starts a request's group of one resource (ResourceSpans, ResourceMetrics, ResourceLogs as `field`) with the
    /// resource as `resourceField`; its scope groups follow, then `endGroup`.
    let beginResourceGroup (w: ProtoWriter) field resourceField (r: Resource) =
        let token = w.BeginMessage(field, Guess.Batch)
        resource w resourceField r
        token

    /// Starts a group of one scope (ScopeSpans, ScopeMetrics, ScopeLogs as `field`) with the scope as
    /// `scopeField`; its items follow, then `endGroup`.
    let beginScopeGroup (w: ProtoWriter) field scopeField (s: InstrumentationScope) =
        let token = w.BeginMessage(field, Guess.Batch)
        scope w scopeField s
        token

    /// Ends a resource or scope group with its schema URL (`schemaField`).
    let endGroup (w: ProtoWriter) (token: int) schemaField (schemaUrl: string) =
        string w schemaField schemaUrl
        w.EndMessage(token, Guess.Batch)

/// trace/v1: Span, Span.Event, Span.Link, Status. A span is written as its head (fields 1 to 8), its
/// attributes (9, 10), events (11, 12), links (13, 14) and tail (15, 16), in that order.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
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
        // The common case in one piece (no trace state, an ASCII name under 128 characters); field by field
        // otherwise, with nothing of the attempt committed.
        let nameUnits = if isNull name then 0 else name.Length
        let mutable i = -1
        if isEmptyText traceState && nameUnits < 128 then
            i <- w.Room(18 + 10 + 10 + 2 + nameUnits + 11 + 9 + 9)
            let b = &w.Base
            if traceId.High <> 0UL || traceId.Low <> 0UL then
                i <- Put.traceIdField &b i Fields.Span_Trace_Id traceId.High traceId.Low
            if spanId.Value <> 0UL then i <- Put.spanIdField &b i Fields.Span_Span_Id spanId.Value
            if parentSpanId.Value <> 0UL then i <- Put.spanIdField &b i Fields.Span_Parent_Span_Id parentSpanId.Value
            if nameUnits > 0 then i <- Put.asciiField &b i Fields.Span_Name (name.AsSpan())
            if i >= 0 then
                if int kind <> 0 then
                    i <- Put.varint &b (Put.tag &b i Fields.Span_Kind Fields.WireVarint) (uint64 (int64 (int kind)))
                if startTimeUnixNano <> 0UL then
                    i <- Put.fixed64 &b (Put.tag &b i Fields.Span_Start_Time_Unix_Nano Fields.WireFixed64) startTimeUnixNano
                if endTimeUnixNano <> 0UL then
                    i <- Put.fixed64 &b (Put.tag &b i Fields.Span_End_Time_Unix_Nano Fields.WireFixed64) endTimeUnixNano
                w.Commit i
        if i < 0 then
            w.TraceAndSpanIds(Fields.Span_Trace_Id, traceId.High, traceId.Low, Fields.Span_Span_Id, spanId.Value)
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
        // An exception event (the semantic conventions' name) carries a type, a message and usually a stack
        // trace: rarely under 128 bytes, so its length gets two bytes and is not moved on the way out.
        let guess = if String.Equals(name, "exception") then Guess.Item else Guess.Small
        let token = w.BeginMessage(Fields.Span_Events, guess)
        w.TimeAndName(Fields.Event_Time_Unix_Nano, timeUnixNano, Fields.Event_Name, name)
        struct (token, guess)

    /// Ends an event begun with `beginEvent`, with its dropped attribute count.
    let endEvent (w: ProtoWriter) (struct (token: int, guess: int)) (droppedAttributes: uint32) =
        uint32 w Fields.Event_Dropped_Attributes_Count droppedAttributes
        w.EndMessage(token, guess)

    /// Span field 12, after the events.
    let droppedEvents (w: ProtoWriter) (dropped: uint32) = uint32 w Fields.Span_Dropped_Events_Count dropped

    /// Starts a link (span field 13): ids and trace state; attributes (field `Fields.Link_Attributes`) follow,
    /// then `endLink`.
    let beginLink (w: ProtoWriter) (traceId: TraceId) (spanId: SpanId) (traceState: string) =
        let token = w.BeginMessage(Fields.Span_Links, Guess.Small)
        w.TraceAndSpanIds(Fields.Link_Trace_Id, traceId.High, traceId.Low, Fields.Link_Span_Id, spanId.Value)
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
        let messageUnits = if isNull statusMessage then 0 else statusMessage.Length
        let code = int statusCode
        let mutable i = -1
        // In one piece when the status fits in 127 bytes with a one-byte code and an ASCII message.
        if messageUnits < 124 && code >= 0 && code < 128 then
            i <- w.Room(2 + 2 + messageUnits + 2 + 6)
            let b = &w.Base
            if messageUnits > 0 || code <> 0 then
                let length = (if messageUnits > 0 then 2 + messageUnits else 0) + (if code <> 0 then 2 else 0)
                i <- Put.tag &b i Fields.Span_Status Fields.WireLengthDelimited
                Unsafe.Add(&b, i) <- byte length
                i <- i + 1
                if messageUnits > 0 then i <- Put.asciiField &b i Fields.Status_Message (statusMessage.AsSpan())
                if i >= 0 && code <> 0 then i <- Put.varint &b (Put.tag &b i Fields.Status_Code Fields.WireVarint) (uint64 code)
            if i >= 0 then
                if flags <> 0u then i <- Put.fixed32 &b (Put.tag2 &b i Fields.Span_Flags Fields.WireFixed32) flags
                w.Commit i
        if i < 0 then
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
        CommonFields.beginResourceGroup w Fields.ExportTraceServiceRequest_Resource_Spans Fields.ResourceSpans_Resource resource

    /// Ends a ResourceSpans with its schema URL.
    let endResourceSpans (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ResourceSpans_Schema_Url schemaUrl

    /// Starts a ScopeSpans with its scope; spans follow (each between `beginSpan` and `endSpan`), then
    /// `endScopeSpans`.
    let beginScopeSpans (w: ProtoWriter) (scope: InstrumentationScope) =
        CommonFields.beginScopeGroup w Fields.ResourceSpans_Scope_Spans Fields.ScopeSpans_Scope scope

    /// Ends a ScopeSpans with its schema URL.
    let endScopeSpans (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ScopeSpans_Schema_Url schemaUrl

    /// Starts a span inside a ScopeSpans.
    let beginSpan (w: ProtoWriter) = w.BeginMessage(Fields.ScopeSpans_Spans, Guess.Item)

    /// Ends a span begun with `beginSpan`.
    let endSpan (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Item)

/// logs/v1: LogRecord. A record is written as its head (fields 1 to 5), attributes (6, 7) and tail (8 to 12).
[<System.Runtime.CompilerServices.SkipLocalsInit>]
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

    /// LogRecord fields 2 and 3, a severity's number and text, encoded once for `headWithSeverity`.
    let severity (number: SeverityNumber) (text: string) =
        let w = ProtoWriter()
        w.Start(Array.zeroCreate 64, 0, 64)
        enum w Fields.LogRecord_Severity_Number (int number)
        string w Fields.LogRecord_Severity_Text text
        let bytes = w.Written.ToArray()
        w.Release()
        EncodedFields bytes

    /// LogRecord fields 1, 2, 3 and 5 with a string body (left out when null), for sources whose body is a
    /// message, the severity's fields encoded beforehand (`severity`) and copied.
    let headWithSeverity (w: ProtoWriter) (timeUnixNano: uint64) (severity: EncodedFields) (body: string) =
        let bodyUnits = if isNull body then 0 else body.Length
        let mutable i = -1
        // In one piece when the body's AnyValue is ASCII and under 128 bytes; field by field otherwise.
        if bodyUnits < 126 then
            // The severity is copied in 16-byte chunks: room for 32 bytes more than it has.
            i <- w.Room(9 + severity.Length + 32 + 4 + bodyUnits)
            let b = &w.Base
            if timeUnixNano <> 0UL then
                i <- Put.fixed64 &b (Put.tag &b i Fields.LogRecord_Time_Unix_Nano Fields.WireFixed64) timeUnixNano
            if severity.Length > 0 then i <- Put.chunks &b i &severity.Start severity.Length
            if not (isNull body) then
                // body { string_value } (an empty string is still a set string value).
                i <- Put.tag &b i Fields.LogRecord_Body Fields.WireLengthDelimited
                Unsafe.Add(&b, i) <- byte (2 + bodyUnits)
                i <- Put.asciiField &b (i + 1) Fields.AnyValue_String_Value (body.AsSpan())
            if i >= 0 then w.Commit i
        if i < 0 then
            fixed64 w Fields.LogRecord_Time_Unix_Nano timeUnixNano
            w.Raw severity.Bytes
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
        let nameUnits = if isNull eventName then 0 else eventName.Length
        let mutable i = -1
        // In one piece when the event name is ASCII and under 128 characters; field by field otherwise.
        if nameUnits < 128 then
            i <- w.Room(6 + 5 + 18 + 10 + 9 + 2 + nameUnits)
            let b = &w.Base
            if droppedAttributes <> 0u then
                i <- Put.varint &b (Put.tag &b i Fields.LogRecord_Dropped_Attributes_Count Fields.WireVarint) (uint64 droppedAttributes)
            if flags <> 0u then i <- Put.fixed32 &b (Put.tag &b i Fields.LogRecord_Flags Fields.WireFixed32) flags
            if traceId.High <> 0UL || traceId.Low <> 0UL then
                i <- Put.traceIdField &b i Fields.LogRecord_Trace_Id traceId.High traceId.Low
            if spanId.Value <> 0UL then i <- Put.spanIdField &b i Fields.LogRecord_Span_Id spanId.Value
            if observedTimeUnixNano <> 0UL then
                i <- Put.fixed64 &b (Put.tag &b i Fields.LogRecord_Observed_Time_Unix_Nano Fields.WireFixed64) observedTimeUnixNano
            if nameUnits > 0 then i <- Put.asciiField &b i Fields.LogRecord_Event_Name (eventName.AsSpan())
            if i >= 0 then w.Commit i
        if i < 0 then
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
        CommonFields.beginResourceGroup w Fields.ExportLogsServiceRequest_Resource_Logs Fields.ResourceLogs_Resource resource

    /// Ends a ResourceLogs with its schema URL.
    let endResourceLogs (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ResourceLogs_Schema_Url schemaUrl

    /// Starts a ScopeLogs with its scope; records follow (each between `beginLogRecord` and `endLogRecord`).
    let beginScopeLogs (w: ProtoWriter) (scope: InstrumentationScope) =
        CommonFields.beginScopeGroup w Fields.ResourceLogs_Scope_Logs Fields.ScopeLogs_Scope scope

    /// Ends a ScopeLogs with its schema URL.
    let endScopeLogs (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ScopeLogs_Schema_Url schemaUrl

    /// Starts a log record inside a ScopeLogs.
    let beginLogRecord (w: ProtoWriter) = w.BeginMessage(Fields.ScopeLogs_Log_Records, Guess.Item)

    /// Ends a log record begun with `beginLogRecord`.
    let endLogRecord (w: ProtoWriter) (token: int) = w.EndMessage(token, Guess.Item)

/// metrics/v1: ResourceMetrics, ScopeMetrics, Metric, its data (Gauge, Sum, Histogram, ExponentialHistogram,
/// Summary) and data points. A point is written as a head, the parts a source may hold (values, exemplars,
/// attributes) and an end, in field-number order; the primitives take plain values and spans, so a source that
/// keeps its own accumulators writes without building model points, and the model's writers below call the same
/// primitives.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
module internal MetricFields =
    open Scalar

    /// Starts a ResourceMetrics (request field 1) with its resource; ScopeMetrics follow, then `endResourceMetrics`.
    let beginResourceMetrics (w: ProtoWriter) (resource: Resource) =
        CommonFields.beginResourceGroup w Fields.ExportMetricsServiceRequest_Resource_Metrics Fields.ResourceMetrics_Resource resource

    /// Ends a ResourceMetrics with its schema URL.
    let endResourceMetrics (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ResourceMetrics_Schema_Url schemaUrl

    /// Starts a ScopeMetrics with its scope; metrics follow (each between `beginMetric` and `endMetric`).
    let beginScopeMetrics (w: ProtoWriter) (scope: InstrumentationScope) =
        CommonFields.beginScopeGroup w Fields.ResourceMetrics_Scope_Metrics Fields.ScopeMetrics_Scope scope

    /// Ends a ScopeMetrics with its schema URL.
    let endScopeMetrics (w: ProtoWriter) (token: int) (schemaUrl: string) =
        CommonFields.endGroup w token Fields.ScopeMetrics_Schema_Url schemaUrl

    // A metric and its data message are as long as their points: a metric of 50 histogram points outgrows the
    // 2 length bytes of `Guess.Item`, and a wrong guess moves the whole content once per level. So the caller
    // passes the guess (`Guess.ofLength` of the size it expects), the same to the begin and the end.

    /// Starts a metric inside a ScopeMetrics, reserving `guess` length bytes: its name, description and unit; its
    /// data (one of the `begin*` data messages below) follows, then metadata (field `Fields.Metric_Metadata`)
    /// and `endMetric`.
    let beginMetric (w: ProtoWriter) (name: string) (description: string) (unit: string) (guess: int) =
        let token = w.BeginMessage(Fields.ScopeMetrics_Metrics, guess)
        string w Fields.Metric_Name name
        string w Fields.Metric_Description description
        string w Fields.Metric_Unit unit
        token

    /// Ends a metric begun with `beginMetric` and the same guess.
    let endMetric (w: ProtoWriter) (token: int) (guess: int) = w.EndMessage(token, guess)

    /// Starts a Gauge, reserving `guess` length bytes; number points (field `Fields.Gauge_Data_Points`) follow,
    /// then `endGauge`.
    let beginGauge (w: ProtoWriter) (guess: int) = w.BeginMessage(Fields.Metric_Gauge, guess)

    /// Ends a Gauge.
    let endGauge (w: ProtoWriter) (token: int) (guess: int) = w.EndMessage(token, guess)

    /// Starts a Sum, reserving `guess` length bytes; number points (field `Fields.Sum_Data_Points`) follow, then
    /// `endSum`.
    let beginSum (w: ProtoWriter) (guess: int) = w.BeginMessage(Fields.Metric_Sum, guess)

    /// Ends a Sum with its temporality and monotonicity.
    let endSum (w: ProtoWriter) (token: int) (temporality: AggregationTemporality) (monotonic: bool) (guess: int) =
        enum w Fields.Sum_Aggregation_Temporality (int temporality)
        bool w Fields.Sum_Is_Monotonic monotonic
        w.EndMessage(token, guess)

    /// Starts a Histogram, reserving `guess` length bytes; histogram points (field
    /// `Fields.Histogram_Data_Points`) follow, then `endHistogram`.
    let beginHistogram (w: ProtoWriter) (guess: int) = w.BeginMessage(Fields.Metric_Histogram, guess)

    /// Ends a Histogram with its temporality.
    let endHistogram (w: ProtoWriter) (token: int) (temporality: AggregationTemporality) (guess: int) =
        enum w Fields.Histogram_Aggregation_Temporality (int temporality)
        w.EndMessage(token, guess)

    /// Starts an ExponentialHistogram, reserving `guess` length bytes; its points (field
    /// `Fields.ExponentialHistogram_Data_Points`) follow, then `endExponentialHistogram`.
    let beginExponentialHistogram (w: ProtoWriter) (guess: int) =
        w.BeginMessage(Fields.Metric_Exponential_Histogram, guess)

    /// Ends an ExponentialHistogram with its temporality.
    let endExponentialHistogram (w: ProtoWriter) (token: int) (temporality: AggregationTemporality) (guess: int) =
        enum w Fields.ExponentialHistogram_Aggregation_Temporality (int temporality)
        w.EndMessage(token, guess)

    /// The expected size of a metric's data of `points` points, each with `attributes` attributes and, for
    /// histograms, `buckets` buckets: a guess, not a measure (see `Guess.ofLength`).
    let expectedDataBytes (points: int) (attributes: int) (buckets: int) =
        points * (32 + 24 * attributes + 16 * buckets)

    /// An optional double (`optional` in the proto): written whenever present, zero included.
    let inline private presentDouble (w: ProtoWriter) field (present: bool) (value: float) =
        if present then
            w.Tag(field, Fields.WireFixed64)
            w.Double value

    /// Starts a NumberDataPoint as the repeated `field`: its start and time. Then, in this order: `asDouble`
    /// (a double value), exemplars (`exemplar`, field `Fields.NumberDataPoint_Exemplars`), `asInt` (an integer
    /// value), attributes (field `Fields.NumberDataPoint_Attributes`), `endNumberPoint`.
    let beginNumberPoint (w: ProtoWriter) field (startTimeUnixNano: uint64) (timeUnixNano: uint64) =
        let token = w.BeginMessage(field, Guess.Small)
        fixed64 w Fields.NumberDataPoint_Start_Time_Unix_Nano startTimeUnixNano
        fixed64 w Fields.NumberDataPoint_Time_Unix_Nano timeUnixNano
        token

    /// The double value of a number point (a oneof member: written even when zero).
    let asDouble (w: ProtoWriter) (value: float) =
        w.Tag(Fields.NumberDataPoint_As_Double, Fields.WireFixed64)
        w.Double value

    /// The integer value of a number point (a oneof member: written even when zero).
    let asInt (w: ProtoWriter) (value: int64) =
        w.Tag(Fields.NumberDataPoint_As_Int, Fields.WireFixed64)
        w.Fixed64(uint64 value)

    /// Ends a number point with its flags.
    let endNumberPoint (w: ProtoWriter) (token: int) (flags: uint32) =
        uint32 w Fields.NumberDataPoint_Flags flags
        w.EndMessage(token, Guess.Small)

    /// Starts a HistogramDataPoint as the repeated `field`: start, time, count, sum (when `hasSum`), the bucket
    /// counts and the explicit bounds (packed, left out when empty). Exemplars (field
    /// `Fields.HistogramDataPoint_Exemplars`) and attributes (`Fields.HistogramDataPoint_Attributes`) follow,
    /// then `endHistogramPoint`.
    let beginHistogramPoint
        (
            w: ProtoWriter,
            field: int,
            startTimeUnixNano: uint64,
            timeUnixNano: uint64,
            count: uint64,
            hasSum: bool,
            sum: float,
            bucketCounts: ReadOnlySpan<uint64>,
            explicitBounds: ReadOnlySpan<float>
        ) =
        let token = w.BeginMessage(field, Guess.Item)
        fixed64 w Fields.HistogramDataPoint_Start_Time_Unix_Nano startTimeUnixNano
        fixed64 w Fields.HistogramDataPoint_Time_Unix_Nano timeUnixNano
        fixed64 w Fields.HistogramDataPoint_Count count
        presentDouble w Fields.HistogramDataPoint_Sum hasSum sum
        // Packed fixed64 and double are the values' little-endian bytes: on a little-endian machine, one copy.
        if bucketCounts.Length > 0 then
            if BitConverter.IsLittleEndian then
                w.BytesField(Fields.HistogramDataPoint_Bucket_Counts, MemoryMarshal.AsBytes bucketCounts)
            else
                w.Tag(Fields.HistogramDataPoint_Bucket_Counts, Fields.WireLengthDelimited)
                w.Varint32(Operators.uint32 (8 * bucketCounts.Length))
                for i in 0 .. bucketCounts.Length - 1 do
                    w.Fixed64 bucketCounts[i]
        if explicitBounds.Length > 0 then
            if BitConverter.IsLittleEndian then
                w.BytesField(Fields.HistogramDataPoint_Explicit_Bounds, MemoryMarshal.AsBytes explicitBounds)
            else
                w.Tag(Fields.HistogramDataPoint_Explicit_Bounds, Fields.WireLengthDelimited)
                w.Varint32(Operators.uint32 (8 * explicitBounds.Length))
                for i in 0 .. explicitBounds.Length - 1 do
                    w.Double explicitBounds[i]
        token

    /// Ends a histogram point with its flags, min and max (each when present).
    let endHistogramPoint (w: ProtoWriter) (token: int) (flags: uint32) (hasMin: bool) (min: float) (hasMax: bool) (max: float) =
        uint32 w Fields.HistogramDataPoint_Flags flags
        presentDouble w Fields.HistogramDataPoint_Min hasMin min
        presentDouble w Fields.HistogramDataPoint_Max hasMax max
        w.EndMessage(token, Guess.Item)

    /// Starts an ExponentialHistogramDataPoint as the repeated `field`; its attributes (field
    /// `Fields.ExponentialHistogramDataPoint_Attributes`, the first field) follow, then `exponentialPointBody`.
    let beginExponentialPoint (w: ProtoWriter) field = w.BeginMessage(field, Guess.Item)

    /// Exponential point fields 2 to 7: start, time, count, sum (when `hasSum`), scale, zero count. The
    /// positive and negative buckets (`exponentialBuckets`) follow, then `exponentialPointFlags`.
    let exponentialPointBody
        (w: ProtoWriter)
        (startTimeUnixNano: uint64)
        (timeUnixNano: uint64)
        (count: uint64)
        (hasSum: bool)
        (sum: float)
        (scale: int)
        (zeroCount: uint64)
        =
        fixed64 w Fields.ExponentialHistogramDataPoint_Start_Time_Unix_Nano startTimeUnixNano
        fixed64 w Fields.ExponentialHistogramDataPoint_Time_Unix_Nano timeUnixNano
        fixed64 w Fields.ExponentialHistogramDataPoint_Count count
        presentDouble w Fields.ExponentialHistogramDataPoint_Sum hasSum sum
        sint32 w Fields.ExponentialHistogramDataPoint_Scale scale
        fixed64 w Fields.ExponentialHistogramDataPoint_Zero_Count zeroCount

    /// The positive (`Fields.ExponentialHistogramDataPoint_Positive`) or negative buckets of an exponential
    /// point: the offset and the packed counts, left out when both are empty.
    let exponentialBuckets (w: ProtoWriter, field: int, offset: int, counts: ReadOnlySpan<uint64>) =
        if not (offset = 0 && counts.Length = 0) then
            let token = w.BeginMessage(field, Guess.Small)
            sint32 w Fields.Buckets_Offset offset
            if counts.Length > 0 then
                let packed = w.BeginMessage(Fields.Buckets_Bucket_Counts, Guess.Small)
                for i in 0 .. counts.Length - 1 do
                    w.Varint64 counts[i]
                w.EndMessage(packed, Guess.Small)
            w.EndMessage(token, Guess.Small)

    /// Exponential point field 10, after the buckets; exemplars (field
    /// `Fields.ExponentialHistogramDataPoint_Exemplars`) follow, then `endExponentialPoint`.
    let exponentialPointFlags (w: ProtoWriter) (flags: uint32) =
        uint32 w Fields.ExponentialHistogramDataPoint_Flags flags

    /// Ends an exponential point with min and max (each when present) and the zero threshold.
    let endExponentialPoint (w: ProtoWriter) (token: int) (hasMin: bool) (min: float) (hasMax: bool) (max: float) (zeroThreshold: float) =
        presentDouble w Fields.ExponentialHistogramDataPoint_Min hasMin min
        presentDouble w Fields.ExponentialHistogramDataPoint_Max hasMax max
        double w Fields.ExponentialHistogramDataPoint_Zero_Threshold zeroThreshold
        w.EndMessage(token, Guess.Item)

    // ------------------------------------------------------------------------------------------- the model

    /// A model exemplar as the repeated `field`. Field order: time (2), as_double (3), span_id (4), trace_id (5),
    /// as_int (6), filtered_attributes (7).
    let exemplar (w: ProtoWriter) field (e: Exemplar) =
        let token = w.BeginMessage(field, Guess.Small)
        fixed64 w Fields.Exemplar_Time_Unix_Nano e.TimeUnixNano
        match e.Value with
        | AsDouble d ->
            w.Tag(Fields.Exemplar_As_Double, Fields.WireFixed64)
            w.Double d
        | _ -> ()
        spanId w Fields.Exemplar_Span_Id e.SpanId
        traceId w Fields.Exemplar_Trace_Id e.TraceId
        match e.Value with
        | AsInt i ->
            w.Tag(Fields.Exemplar_As_Int, Fields.WireFixed64)
            w.Fixed64(uint64 i)
        | _ -> ()
        CommonFields.keyValues w Fields.Exemplar_Filtered_Attributes e.FilteredAttributes
        w.EndMessage(token, Guess.Small)

    let private exemplars (w: ProtoWriter) field (items: Exemplar array) =
        for i in 0 .. count items - 1 do
            exemplar w field items[i]

    let inline private known (value: float voption) =
        match value with
        | ValueSome v -> struct (true, v)
        | ValueNone -> struct (false, 0.0)

    /// A model number point as the repeated `field`.
    let numberPoint (w: ProtoWriter) field (p: NumberDataPoint) =
        let token = beginNumberPoint w field p.StartTimeUnixNano p.TimeUnixNano
        match p.Value with
        | AsDouble d -> asDouble w d
        | _ -> ()
        exemplars w Fields.NumberDataPoint_Exemplars p.Exemplars
        match p.Value with
        | AsInt i -> asInt w i
        | _ -> ()
        CommonFields.keyValues w Fields.NumberDataPoint_Attributes p.Attributes
        endNumberPoint w token p.Flags

    /// A model histogram point as the repeated `field`.
    let histogramPoint (w: ProtoWriter) field (p: HistogramDataPoint) =
        let struct (hasSum, sum) = known p.Sum
        let token =
            beginHistogramPoint (
                w,
                field,
                p.StartTimeUnixNano,
                p.TimeUnixNano,
                p.Count,
                hasSum,
                sum,
                ReadOnlySpan p.BucketCounts,
                ReadOnlySpan p.ExplicitBounds
            )
        exemplars w Fields.HistogramDataPoint_Exemplars p.Exemplars
        CommonFields.keyValues w Fields.HistogramDataPoint_Attributes p.Attributes
        let struct (hasMin, min) = known p.Min
        let struct (hasMax, max) = known p.Max
        endHistogramPoint w token p.Flags hasMin min hasMax max

    let private modelBuckets (w: ProtoWriter) field (b: ExponentialBuckets) =
        if not (isNull (box b)) then
            exponentialBuckets (w, field, b.Offset, ReadOnlySpan b.BucketCounts)

    /// A model exponential histogram point as the repeated `field`.
    let exponentialPoint (w: ProtoWriter) field (p: ExponentialHistogramDataPoint) =
        let token = beginExponentialPoint w field
        CommonFields.keyValues w Fields.ExponentialHistogramDataPoint_Attributes p.Attributes
        let struct (hasSum, sum) = known p.Sum
        exponentialPointBody w p.StartTimeUnixNano p.TimeUnixNano p.Count hasSum sum p.Scale p.ZeroCount
        modelBuckets w Fields.ExponentialHistogramDataPoint_Positive p.Positive
        modelBuckets w Fields.ExponentialHistogramDataPoint_Negative p.Negative
        exponentialPointFlags w p.Flags
        exemplars w Fields.ExponentialHistogramDataPoint_Exemplars p.Exemplars
        let struct (hasMin, min) = known p.Min
        let struct (hasMax, max) = known p.Max
        endExponentialPoint w token hasMin min hasMax max p.ZeroThreshold

    let private summaryPoint (w: ProtoWriter) field (p: SummaryDataPoint) =
        let token = w.BeginMessage(field, Guess.Item)
        fixed64 w Fields.SummaryDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
        fixed64 w Fields.SummaryDataPoint_Time_Unix_Nano p.TimeUnixNano
        fixed64 w Fields.SummaryDataPoint_Count p.Count
        double w Fields.SummaryDataPoint_Sum p.Sum
        for i in 0 .. count p.QuantileValues - 1 do
            let q = p.QuantileValues[i]
            let quantile = w.BeginMessage(Fields.SummaryDataPoint_Quantile_Values, Guess.Small)
            double w Fields.ValueAtQuantile_Quantile q.Quantile
            double w Fields.ValueAtQuantile_Value q.Value
            w.EndMessage(quantile, Guess.Small)
        CommonFields.keyValues w Fields.SummaryDataPoint_Attributes p.Attributes
        uint32 w Fields.SummaryDataPoint_Flags p.Flags
        w.EndMessage(token, Guess.Item)

    /// The expected size of a model metric's data, from its first point.
    let private expectedBytes (data: MetricData) =
        match data with
        | MetricData.Gauge points when count points > 0 -> expectedDataBytes points.Length (count points[0].Attributes) 0
        | MetricData.Sum sum when count sum.DataPoints > 0 ->
            expectedDataBytes sum.DataPoints.Length (count sum.DataPoints[0].Attributes) 0
        | MetricData.Histogram h when count h.DataPoints > 0 ->
            let p = h.DataPoints[0]
            expectedDataBytes h.DataPoints.Length (count p.Attributes) (count p.BucketCounts)
        | MetricData.ExponentialHistogram h when count h.DataPoints > 0 ->
            let p = h.DataPoints[0]
            let buckets (b: ExponentialBuckets) = if isNull (box b) then 0 else count b.BucketCounts
            expectedDataBytes h.DataPoints.Length (count p.Attributes) ((buckets p.Positive + buckets p.Negative) / 2)
        | MetricData.Summary points when count points > 0 -> expectedDataBytes points.Length (count points[0].Attributes) 0
        | _ -> 0

    let private metricData (w: ProtoWriter) (data: MetricData) (guess: int) =
        match data with
        | MetricData.NoData -> ()
        | MetricData.Gauge points ->
            let token = beginGauge w guess
            for i in 0 .. count points - 1 do
                numberPoint w Fields.Gauge_Data_Points points[i]
            endGauge w token guess
        | MetricData.Sum sum ->
            let token = beginSum w guess
            for i in 0 .. count sum.DataPoints - 1 do
                numberPoint w Fields.Sum_Data_Points sum.DataPoints[i]
            endSum w token sum.AggregationTemporality sum.IsMonotonic guess
        | MetricData.Histogram h ->
            let token = beginHistogram w guess
            for i in 0 .. count h.DataPoints - 1 do
                histogramPoint w Fields.Histogram_Data_Points h.DataPoints[i]
            endHistogram w token h.AggregationTemporality guess
        | MetricData.ExponentialHistogram h ->
            let token = beginExponentialHistogram w guess
            for i in 0 .. count h.DataPoints - 1 do
                exponentialPoint w Fields.ExponentialHistogram_Data_Points h.DataPoints[i]
            endExponentialHistogram w token h.AggregationTemporality guess
        | MetricData.Summary points ->
            let token = w.BeginMessage(Fields.Metric_Summary, guess)
            for i in 0 .. count points - 1 do
                summaryPoint w Fields.Summary_Data_Points points[i]
            w.EndMessage(token, guess)

    /// A whole model metric inside a ScopeMetrics.
    let metric (w: ProtoWriter) (m: Metric) =
        let data = if isNull (box m.Data) then MetricData.NoData else m.Data
        let expected = expectedBytes data
        let token = beginMetric w m.Name m.Description m.Unit (Guess.ofLength (expected + 64))
        metricData w data (Guess.ofLength expected)
        CommonFields.keyValues w Fields.Metric_Metadata m.Metadata
        endMetric w token (Guess.ofLength (expected + 64))

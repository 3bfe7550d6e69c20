/// The two-pass encoder: a size pass records every nested message's length in a table, then a write pass writes
/// minimal length prefixes from it into an exactly sized output. Kept beside the single-pass `ProtoEncoder` so the
/// two methods can be compared on the same inputs (tests check they write identical bytes; `bench/` times them).
module internal Otlp.Core.SizePassEncoder

// Field rules (proto3, as Google.Protobuf writes them, so the bytes are identical to the reference's):
// - fields in field-number order; scalars at their default (0, "", false, empty) are not written; a plain
//   double equal to zero of either sign is not written; oneof members and `optional` fields are written
//   whenever set, even when zero;
// - length prefixes and varints are minimal; negative int32/enum values are sign-extended to 10 bytes;
// - repeated scalars are packed; ids are written only when not all-zero;
// - a KeyValue's value is always written (an empty AnyValue is an empty message); resource, scope, status,
//   exponential buckets, log body and partial success are written only when not empty.
// Null strings and arrays (possible when the model is built from C#) are treated as empty.

open System
open System.Buffers
open System.Runtime.InteropServices
open System.Buffers.Binary
open System.Text
open Otlp.Core
open Otlp.Core.Protobuf

/// The state of one encoding: the output array and the sizes of nested messages.
///
/// Encoding is two passes over the same values in the same order. The size pass computes every nested
/// message's size in pre-order and pushes it here; the write pass pops them in the same order to write minimal
/// length prefixes directly, so nothing is written twice or moved, and the output is sized exactly.
[<Sealed; AllowNullLiteral>]
type SizePassWriter() =
    let mutable sizes: int array = Array.zeroCreate 256
    let mutable reserved = 0
    let mutable consumed = 0
    let mutable buffer: byte array = Array.Empty()
    let mutable position = 0

    /// Starts a size pass.
    member _.ResetSizes() =
        reserved <- 0
        consumed <- 0

    /// Reserves the slot of a nested message entered in the size pass; set it with `SetSize` on the way out.
    member _.ReserveSize() =
        if reserved = sizes.Length then Array.Resize(&sizes, sizes.Length * 2)
        reserved <- reserved + 1
        reserved - 1

    /// Records the content size of the message that reserved `slot`.
    member _.SetSize(slot: int, size: int) = sizes[slot] <- size

    /// The content size of the next nested message, in the write pass.
    member _.NextSize() =
        consumed <- consumed + 1
        sizes[consumed - 1]

    /// True when the write pass used exactly the sizes the size pass recorded.
    member _.SizesBalanced = consumed = reserved

    /// Targets `target[offset..]` for the write pass.
    member _.Start(target: byte array, offset: int) =
        buffer <- target
        position <- offset
        consumed <- 0

    /// The position after the last byte written.
    member _.Position = position

    /// Drops the reference to the output array so a pooled writer does not keep it alive.
    member _.Release() = buffer <- Array.Empty()

    member _.Varint32(value: uint32) =
        let mutable v = value
        while v >= 0x80u do
            buffer[position] <- byte (v ||| 0x80u)
            position <- position + 1
            v <- v >>> 7
        buffer[position] <- byte v
        position <- position + 1

    member _.Varint64(value: uint64) =
        let mutable v = value
        while v >= 0x80UL do
            buffer[position] <- byte (v ||| 0x80UL)
            position <- position + 1
            v <- v >>> 7
        buffer[position] <- byte v
        position <- position + 1

    member this.Tag(field: int, wireType: int) = this.Varint32(uint32 ((field <<< 3) ||| wireType))

    member _.Fixed32(value: uint32) =
        BinaryPrimitives.WriteUInt32LittleEndian(Span(buffer, position, 4), value)
        position <- position + 4

    member _.Fixed64(value: uint64) =
        BinaryPrimitives.WriteUInt64LittleEndian(Span(buffer, position, 8), value)
        position <- position + 8

    member this.Double(value: float) = this.Fixed64(uint64 (BitConverter.DoubleToInt64Bits value))

    /// Writes the string's UTF-8 bytes, whose count the caller has already written as the length prefix.
    member _.Utf8(text: string, byteCount: int) =
        if byteCount > 0 then
            position <- position + Encoding.UTF8.GetBytes(text.AsSpan(), Span(buffer, position, byteCount))

    member _.Raw(bytes: ReadOnlySpan<byte>) =
        bytes.CopyTo(Span(buffer, position, bytes.Length))
        position <- position + bytes.Length

    /// Writes a trace id as a 16-byte length-delimited field.
    member this.TraceIdField(field: int, high: uint64, low: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        buffer[position] <- 16uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 1, 8), high)
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 9, 8), low)
        position <- position + 17

    /// Writes a span id as an 8-byte length-delimited field.
    member this.SpanIdField(field: int, value: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        buffer[position] <- 8uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 1, 8), value)
        position <- position + 9

type private W = SizePassWriter

let inline private isEmptyText (text: string) = isNull text || text.Length = 0
let inline private count (items: 'a array) = if isNull items then 0 else items.Length

// ---------------------------------------------------------------------------------------------------- scalars
// Each field has a size function (`s...`) used in the size pass and a write function (`w...`) used in the write
// pass; both apply the same default-omission rule.

let inline private sString field (text: string) =
    if isEmptyText text then 0 else WireSize.delimited field (WireSize.utf8 text)

let inline private wString (w: W) field (text: string) =
    if not (isEmptyText text) then
        let length = WireSize.utf8 text
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(uint32 length)
        w.Utf8(text, length)

let inline private sUInt32 field (value: uint32) =
    if value = 0u then 0 else WireSize.tag field + WireSize.varint32 value

let inline private wUInt32 (w: W) field (value: uint32) =
    if value <> 0u then
        w.Tag(field, Fields.WireVarint)
        w.Varint32 value

let inline private sEnum field (value: int) =
    if value = 0 then 0 else WireSize.tag field + WireSize.int32 value

let inline private wEnum (w: W) field (value: int) =
    if value <> 0 then
        w.Tag(field, Fields.WireVarint)
        w.Varint64(uint64 (int64 value))

let inline private sFixed64 field (value: uint64) = if value = 0UL then 0 else WireSize.tag field + 8

let inline private wFixed64 (w: W) field (value: uint64) =
    if value <> 0UL then
        w.Tag(field, Fields.WireFixed64)
        w.Fixed64 value

let inline private sFixed32 field (value: uint32) = if value = 0u then 0 else WireSize.tag field + 4

let inline private wFixed32 (w: W) field (value: uint32) =
    if value <> 0u then
        w.Tag(field, Fields.WireFixed32)
        w.Fixed32 value

let inline private sDouble field (value: float) = if value = 0.0 then 0 else WireSize.tag field + 8

let inline private wDouble (w: W) field (value: float) =
    if value <> 0.0 then
        w.Tag(field, Fields.WireFixed64)
        w.Double value

let inline private sOptionalDouble field (value: float voption) =
    if value.IsSome then WireSize.tag field + 8 else 0

let inline private wOptionalDouble (w: W) field (value: float voption) =
    match value with
    | ValueSome v ->
        w.Tag(field, Fields.WireFixed64)
        w.Double v
    | ValueNone -> ()

let inline private sBool field (value: bool) = if value then WireSize.tag field + 1 else 0

let inline private wBool (w: W) field (value: bool) =
    if value then
        w.Tag(field, Fields.WireVarint)
        w.Varint32 1u

let inline private sTraceId field (id: TraceId) = if id.IsEmpty then 0 else WireSize.tag field + 17

let inline private wTraceId (w: W) field (id: TraceId) =
    if not id.IsEmpty then w.TraceIdField(field, id.High, id.Low)

let inline private sSpanId field (id: SpanId) = if id.IsEmpty then 0 else WireSize.tag field + 9

let inline private wSpanId (w: W) field (id: SpanId) =
    if not id.IsEmpty then w.SpanIdField(field, id.Value)

let inline private zigZag32 (value: int) = uint32 ((value <<< 1) ^^^ (value >>> 31))

let inline private sSInt32 field (value: int) =
    if value = 0 then 0 else WireSize.tag field + WireSize.varint32 (zigZag32 value)

let inline private wSInt32 (w: W) field (value: int) =
    if value <> 0 then
        w.Tag(field, Fields.WireVarint)
        w.Varint32(zigZag32 value)

/// Starts a nested message in the write pass: tag and the length the size pass recorded for it.
let inline private wBegin (w: W) field =
    w.Tag(field, Fields.WireLengthDelimited)
    w.Varint32(uint32 (w.NextSize()))

/// Runs a size function for a nested message: reserves its slot first (pre-order), records its size after.
let inline private measure (w: W) ([<InlineIfLambda>] contentSize: unit -> int) =
    let slot = w.ReserveSize()
    let size = contentSize ()
    w.SetSize(slot, size)
    size

// ---------------------------------------------------------------------------------------------------- common/v1

let rec private sAnyValue (w: W) (value: AnyValue) : int =
    measure w (fun () ->
        match value with
        | AnyValue.Empty -> 0
        | AnyValue.String s -> WireSize.delimited Fields.AnyValue_String_Value (WireSize.utf8 s)
        | AnyValue.Bool _ -> WireSize.tag Fields.AnyValue_Bool_Value + 1
        | AnyValue.Int i -> WireSize.tag Fields.AnyValue_Int_Value + WireSize.varint64 (uint64 i)
        | AnyValue.Double _ -> WireSize.tag Fields.AnyValue_Double_Value + 8
        | AnyValue.Bytes b -> WireSize.delimited Fields.AnyValue_Bytes_Value (count b)
        | AnyValue.Array values ->
            // The ArrayValue and KeyValueList wrappers are messages of their own, with their own slots.
            WireSize.delimited
                Fields.AnyValue_Array_Value
                (measure w (fun () ->
                    let mutable n = 0
                    for i in 0 .. count values - 1 do
                        n <- n + WireSize.delimited Fields.ArrayValue_Values (sAnyValue w values[i])
                    n))
        | AnyValue.KvList kvs ->
            WireSize.delimited
                Fields.AnyValue_Kvlist_Value
                (measure w (fun () -> sKeyValues w Fields.KeyValueList_Values kvs)))

and private sKeyValue (w: W) (kv: KeyValue) : int =
    measure w (fun () ->
        sString Fields.KeyValue_Key kv.Key
        + WireSize.delimited Fields.KeyValue_Value (sAnyValue w (if isNull (box kv.Value) then AnyValue.Empty else kv.Value)))

/// Size of a repeated KeyValue field, tags and prefixes included.
and private sKeyValues (w: W) field (kvs: KeyValue array) : int =
    let mutable n = 0
    for i in 0 .. count kvs - 1 do
        n <- n + WireSize.delimited field (sKeyValue w kvs[i])
    n

let rec private wAnyValue (w: W) (value: AnyValue) : unit =
    match value with
    | AnyValue.Empty -> ()
    | AnyValue.String s ->
        let length = WireSize.utf8 s
        w.Tag(Fields.AnyValue_String_Value, Fields.WireLengthDelimited)
        w.Varint32(uint32 length)
        w.Utf8(s, length)
    | AnyValue.Bool b ->
        w.Tag(Fields.AnyValue_Bool_Value, Fields.WireVarint)
        w.Varint32(if b then 1u else 0u)
    | AnyValue.Int i ->
        w.Tag(Fields.AnyValue_Int_Value, Fields.WireVarint)
        w.Varint64(uint64 i)
    | AnyValue.Double d ->
        w.Tag(Fields.AnyValue_Double_Value, Fields.WireFixed64)
        w.Double d
    | AnyValue.Bytes b ->
        w.Tag(Fields.AnyValue_Bytes_Value, Fields.WireLengthDelimited)
        w.Varint32(uint32 (count b))
        if count b > 0 then w.Raw(ReadOnlySpan b)
    | AnyValue.Array values ->
        wBegin w Fields.AnyValue_Array_Value
        for i in 0 .. count values - 1 do
            wBegin w Fields.ArrayValue_Values
            wAnyValue w values[i]
    | AnyValue.KvList kvs ->
        wBegin w Fields.AnyValue_Kvlist_Value
        wKeyValues w Fields.KeyValueList_Values kvs

and private wKeyValue (w: W) (kv: KeyValue) =
    wString w Fields.KeyValue_Key kv.Key
    wBegin w Fields.KeyValue_Value
    wAnyValue w (if isNull (box kv.Value) then AnyValue.Empty else kv.Value)

and private wKeyValues (w: W) field (kvs: KeyValue array) =
    for i in 0 .. count kvs - 1 do
        wBegin w field
        wKeyValue w kvs[i]

let private sStrings field (items: string array) =
    // Repeated strings are never packed; each element is written, the empty string included.
    let mutable n = 0
    for i in 0 .. count items - 1 do
        n <- n + WireSize.delimited field (WireSize.utf8 items[i])
    n

let private wStrings (w: W) field (items: string array) =
    for i in 0 .. count items - 1 do
        let text = items[i]
        let length = WireSize.utf8 text
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(uint32 length)
        if length > 0 then w.Utf8(text, length)

let private isEmptyScope (s: InstrumentationScope) =
    isNull (box s)
    || (isEmptyText s.Name && isEmptyText s.Version && count s.Attributes = 0 && s.DroppedAttributesCount = 0u)

let private sScope (w: W) field (s: InstrumentationScope) =
    if isEmptyScope s then
        0
    else
        WireSize.delimited
            field
            (measure w (fun () ->
                sString Fields.InstrumentationScope_Name s.Name
                + sString Fields.InstrumentationScope_Version s.Version
                + sKeyValues w Fields.InstrumentationScope_Attributes s.Attributes
                + sUInt32 Fields.InstrumentationScope_Dropped_Attributes_Count s.DroppedAttributesCount))

let private wScope (w: W) field (s: InstrumentationScope) =
    if not (isEmptyScope s) then
        wBegin w field
        wString w Fields.InstrumentationScope_Name s.Name
        wString w Fields.InstrumentationScope_Version s.Version
        wKeyValues w Fields.InstrumentationScope_Attributes s.Attributes
        wUInt32 w Fields.InstrumentationScope_Dropped_Attributes_Count s.DroppedAttributesCount

let private isEmptyResource (r: Resource) =
    isNull (box r)
    || (count r.Attributes = 0 && r.DroppedAttributesCount = 0u && count r.EntityRefs = 0)

let private sResource (w: W) field (r: Resource) =
    if isEmptyResource r then
        0
    else
        WireSize.delimited
            field
            (measure w (fun () ->
                let mutable n =
                    sKeyValues w Fields.Resource_Attributes r.Attributes
                    + sUInt32 Fields.Resource_Dropped_Attributes_Count r.DroppedAttributesCount
                for i in 0 .. count r.EntityRefs - 1 do
                    let e = r.EntityRefs[i]
                    n <-
                        n
                        + WireSize.delimited
                            Fields.Resource_Entity_Refs
                            (measure w (fun () ->
                                sString Fields.EntityRef_Schema_Url e.SchemaUrl
                                + sString Fields.EntityRef_Type e.Type
                                + sStrings Fields.EntityRef_Id_Keys e.IdKeys
                                + sStrings Fields.EntityRef_Description_Keys e.DescriptionKeys))
                n))

let private wResource (w: W) field (r: Resource) =
    if not (isEmptyResource r) then
        wBegin w field
        wKeyValues w Fields.Resource_Attributes r.Attributes
        wUInt32 w Fields.Resource_Dropped_Attributes_Count r.DroppedAttributesCount
        for i in 0 .. count r.EntityRefs - 1 do
            let e = r.EntityRefs[i]
            wBegin w Fields.Resource_Entity_Refs
            wString w Fields.EntityRef_Schema_Url e.SchemaUrl
            wString w Fields.EntityRef_Type e.Type
            wStrings w Fields.EntityRef_Id_Keys e.IdKeys
            wStrings w Fields.EntityRef_Description_Keys e.DescriptionKeys

// ---------------------------------------------------------------------------------------------------- trace/v1

let private sEvent (w: W) (e: SpanEvent) =
    measure w (fun () ->
        sFixed64 Fields.Event_Time_Unix_Nano e.TimeUnixNano
        + sString Fields.Event_Name e.Name
        + sKeyValues w Fields.Event_Attributes e.Attributes
        + sUInt32 Fields.Event_Dropped_Attributes_Count e.DroppedAttributesCount)

let private wEvent (w: W) (e: SpanEvent) =
    wFixed64 w Fields.Event_Time_Unix_Nano e.TimeUnixNano
    wString w Fields.Event_Name e.Name
    wKeyValues w Fields.Event_Attributes e.Attributes
    wUInt32 w Fields.Event_Dropped_Attributes_Count e.DroppedAttributesCount

let private sLink (w: W) (l: SpanLink) =
    measure w (fun () ->
        sTraceId Fields.Link_Trace_Id l.TraceId
        + sSpanId Fields.Link_Span_Id l.SpanId
        + sString Fields.Link_Trace_State l.TraceState
        + sKeyValues w Fields.Link_Attributes l.Attributes
        + sUInt32 Fields.Link_Dropped_Attributes_Count l.DroppedAttributesCount
        + sFixed32 Fields.Link_Flags l.Flags)

let private wLink (w: W) (l: SpanLink) =
    wTraceId w Fields.Link_Trace_Id l.TraceId
    wSpanId w Fields.Link_Span_Id l.SpanId
    wString w Fields.Link_Trace_State l.TraceState
    wKeyValues w Fields.Link_Attributes l.Attributes
    wUInt32 w Fields.Link_Dropped_Attributes_Count l.DroppedAttributesCount
    wFixed32 w Fields.Link_Flags l.Flags

let private isEmptyStatus (s: Status) =
    isNull (box s) || (isEmptyText s.Message && s.Code = StatusCode.Unset)

let private sStatus (w: W) (s: Status) =
    if isEmptyStatus s then
        0
    else
        WireSize.delimited
            Fields.Span_Status
            (measure w (fun () -> sString Fields.Status_Message s.Message + sEnum Fields.Status_Code (int s.Code)))

let private wStatus (w: W) (s: Status) =
    if not (isEmptyStatus s) then
        wBegin w Fields.Span_Status
        wString w Fields.Status_Message s.Message
        wEnum w Fields.Status_Code (int s.Code)

let private sSpan (w: W) (s: Span) =
    measure w (fun () ->
        let mutable n =
            sTraceId Fields.Span_Trace_Id s.TraceId
            + sSpanId Fields.Span_Span_Id s.SpanId
            + sString Fields.Span_Trace_State s.TraceState
            + sSpanId Fields.Span_Parent_Span_Id s.ParentSpanId
            + sString Fields.Span_Name s.Name
            + sEnum Fields.Span_Kind (int s.Kind)
            + sFixed64 Fields.Span_Start_Time_Unix_Nano s.StartTimeUnixNano
            + sFixed64 Fields.Span_End_Time_Unix_Nano s.EndTimeUnixNano
            + sKeyValues w Fields.Span_Attributes s.Attributes
            + sUInt32 Fields.Span_Dropped_Attributes_Count s.DroppedAttributesCount
        for i in 0 .. count s.Events - 1 do
            n <- n + WireSize.delimited Fields.Span_Events (sEvent w s.Events[i])
        n <- n + sUInt32 Fields.Span_Dropped_Events_Count s.DroppedEventsCount
        for i in 0 .. count s.Links - 1 do
            n <- n + WireSize.delimited Fields.Span_Links (sLink w s.Links[i])
        n
        + sUInt32 Fields.Span_Dropped_Links_Count s.DroppedLinksCount
        + sStatus w s.Status
        + sFixed32 Fields.Span_Flags s.Flags)

let private wSpan (w: W) (s: Span) =
    wTraceId w Fields.Span_Trace_Id s.TraceId
    wSpanId w Fields.Span_Span_Id s.SpanId
    wString w Fields.Span_Trace_State s.TraceState
    wSpanId w Fields.Span_Parent_Span_Id s.ParentSpanId
    wString w Fields.Span_Name s.Name
    wEnum w Fields.Span_Kind (int s.Kind)
    wFixed64 w Fields.Span_Start_Time_Unix_Nano s.StartTimeUnixNano
    wFixed64 w Fields.Span_End_Time_Unix_Nano s.EndTimeUnixNano
    wKeyValues w Fields.Span_Attributes s.Attributes
    wUInt32 w Fields.Span_Dropped_Attributes_Count s.DroppedAttributesCount
    for i in 0 .. count s.Events - 1 do
        wBegin w Fields.Span_Events
        wEvent w s.Events[i]
    wUInt32 w Fields.Span_Dropped_Events_Count s.DroppedEventsCount
    for i in 0 .. count s.Links - 1 do
        wBegin w Fields.Span_Links
        wLink w s.Links[i]
    wUInt32 w Fields.Span_Dropped_Links_Count s.DroppedLinksCount
    wStatus w s.Status
    wFixed32 w Fields.Span_Flags s.Flags

let private sScopeSpans (w: W) (s: ScopeSpans) =
    measure w (fun () ->
        let mutable n = sScope w Fields.ScopeSpans_Scope s.Scope
        for i in 0 .. count s.Spans - 1 do
            n <- n + WireSize.delimited Fields.ScopeSpans_Spans (sSpan w s.Spans[i])
        n + sString Fields.ScopeSpans_Schema_Url s.SchemaUrl)

let private wScopeSpans (w: W) (s: ScopeSpans) =
    wScope w Fields.ScopeSpans_Scope s.Scope
    for i in 0 .. count s.Spans - 1 do
        wBegin w Fields.ScopeSpans_Spans
        wSpan w s.Spans[i]
    wString w Fields.ScopeSpans_Schema_Url s.SchemaUrl

let private sResourceSpans (w: W) (r: ResourceSpans) =
    measure w (fun () ->
        let mutable n = sResource w Fields.ResourceSpans_Resource r.Resource
        for i in 0 .. count r.ScopeSpans - 1 do
            n <- n + WireSize.delimited Fields.ResourceSpans_Scope_Spans (sScopeSpans w r.ScopeSpans[i])
        n + sString Fields.ResourceSpans_Schema_Url r.SchemaUrl)

let private wResourceSpans (w: W) (r: ResourceSpans) =
    wResource w Fields.ResourceSpans_Resource r.Resource
    for i in 0 .. count r.ScopeSpans - 1 do
        wBegin w Fields.ResourceSpans_Scope_Spans
        wScopeSpans w r.ScopeSpans[i]
    wString w Fields.ResourceSpans_Schema_Url r.SchemaUrl

// ---------------------------------------------------------------------------------------------------- metrics/v1

let private sNumberValue asDouble asInt (value: NumberValue) =
    match value with
    | NoValue -> 0
    | AsDouble _ -> WireSize.tag asDouble + 8
    | AsInt _ -> WireSize.tag asInt + 8

let private wNumberValue (w: W) asDouble asInt (value: NumberValue) =
    match value with
    | NoValue -> ()
    | AsDouble d ->
        w.Tag(asDouble, Fields.WireFixed64)
        w.Double d
    | AsInt i ->
        w.Tag(asInt, Fields.WireFixed64)
        w.Fixed64(uint64 i)

let private sExemplar (w: W) (e: Exemplar) =
    // Field order: time (2), as_double (3), span_id (4), trace_id (5), as_int (6), filtered_attributes (7).
    measure w (fun () ->
        sFixed64 Fields.Exemplar_Time_Unix_Nano e.TimeUnixNano
        + sNumberValue Fields.Exemplar_As_Double Fields.Exemplar_As_Int e.Value
        + sSpanId Fields.Exemplar_Span_Id e.SpanId
        + sTraceId Fields.Exemplar_Trace_Id e.TraceId
        + sKeyValues w Fields.Exemplar_Filtered_Attributes e.FilteredAttributes)

let private wExemplar (w: W) (e: Exemplar) =
    wFixed64 w Fields.Exemplar_Time_Unix_Nano e.TimeUnixNano
    match e.Value with
    | AsDouble _ -> wNumberValue w Fields.Exemplar_As_Double Fields.Exemplar_As_Int e.Value
    | _ -> ()
    wSpanId w Fields.Exemplar_Span_Id e.SpanId
    wTraceId w Fields.Exemplar_Trace_Id e.TraceId
    match e.Value with
    | AsInt _ -> wNumberValue w Fields.Exemplar_As_Double Fields.Exemplar_As_Int e.Value
    | _ -> ()
    wKeyValues w Fields.Exemplar_Filtered_Attributes e.FilteredAttributes

let private sExemplars (w: W) field (items: Exemplar array) =
    let mutable n = 0
    for i in 0 .. count items - 1 do
        n <- n + WireSize.delimited field (sExemplar w items[i])
    n

let private wExemplars (w: W) field (items: Exemplar array) =
    for i in 0 .. count items - 1 do
        wBegin w field
        wExemplar w items[i]

let private sNumberPoint (w: W) (p: NumberDataPoint) =
    // Field order: start (2), time (3), as_double (4), exemplars (5), as_int (6), attributes (7), flags (8).
    measure w (fun () ->
        sFixed64 Fields.NumberDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
        + sFixed64 Fields.NumberDataPoint_Time_Unix_Nano p.TimeUnixNano
        + sNumberValue Fields.NumberDataPoint_As_Double Fields.NumberDataPoint_As_Int p.Value
        + sExemplars w Fields.NumberDataPoint_Exemplars p.Exemplars
        + sKeyValues w Fields.NumberDataPoint_Attributes p.Attributes
        + sUInt32 Fields.NumberDataPoint_Flags p.Flags)

let private wNumberPoint (w: W) (p: NumberDataPoint) =
    wFixed64 w Fields.NumberDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    wFixed64 w Fields.NumberDataPoint_Time_Unix_Nano p.TimeUnixNano
    match p.Value with
    | AsDouble _ -> wNumberValue w Fields.NumberDataPoint_As_Double Fields.NumberDataPoint_As_Int p.Value
    | _ -> ()
    wExemplars w Fields.NumberDataPoint_Exemplars p.Exemplars
    match p.Value with
    | AsInt _ -> wNumberValue w Fields.NumberDataPoint_As_Double Fields.NumberDataPoint_As_Int p.Value
    | _ -> ()
    wKeyValues w Fields.NumberDataPoint_Attributes p.Attributes
    wUInt32 w Fields.NumberDataPoint_Flags p.Flags

let private sNumberPoints (w: W) field (points: NumberDataPoint array) =
    let mutable n = 0
    for i in 0 .. count points - 1 do
        n <- n + WireSize.delimited field (sNumberPoint w points[i])
    n

let private wNumberPoints (w: W) field (points: NumberDataPoint array) =
    for i in 0 .. count points - 1 do
        wBegin w field
        wNumberPoint w points[i]

let private sPackedFixed64 field (values: 'a array) =
    if count values = 0 then 0 else WireSize.delimited field (8 * values.Length)

let private wPackedUInt64Fixed (w: W) field (values: uint64 array) =
    if count values > 0 then
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(uint32 (8 * values.Length))
        for v in values do
            w.Fixed64 v

let private wPackedDouble (w: W) field (values: float array) =
    if count values > 0 then
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(uint32 (8 * values.Length))
        for v in values do
            w.Double v

let private sHistogramPoint (w: W) (p: HistogramDataPoint) =
    measure w (fun () ->
        sFixed64 Fields.HistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
        + sFixed64 Fields.HistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
        + sFixed64 Fields.HistogramDataPoint_Count p.Count
        + sOptionalDouble Fields.HistogramDataPoint_Sum p.Sum
        + sPackedFixed64 Fields.HistogramDataPoint_Bucket_Counts p.BucketCounts
        + sPackedFixed64 Fields.HistogramDataPoint_Explicit_Bounds p.ExplicitBounds
        + sExemplars w Fields.HistogramDataPoint_Exemplars p.Exemplars
        + sKeyValues w Fields.HistogramDataPoint_Attributes p.Attributes
        + sUInt32 Fields.HistogramDataPoint_Flags p.Flags
        + sOptionalDouble Fields.HistogramDataPoint_Min p.Min
        + sOptionalDouble Fields.HistogramDataPoint_Max p.Max)

let private wHistogramPoint (w: W) (p: HistogramDataPoint) =
    wFixed64 w Fields.HistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    wFixed64 w Fields.HistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
    wFixed64 w Fields.HistogramDataPoint_Count p.Count
    wOptionalDouble w Fields.HistogramDataPoint_Sum p.Sum
    wPackedUInt64Fixed w Fields.HistogramDataPoint_Bucket_Counts p.BucketCounts
    wPackedDouble w Fields.HistogramDataPoint_Explicit_Bounds p.ExplicitBounds
    wExemplars w Fields.HistogramDataPoint_Exemplars p.Exemplars
    wKeyValues w Fields.HistogramDataPoint_Attributes p.Attributes
    wUInt32 w Fields.HistogramDataPoint_Flags p.Flags
    wOptionalDouble w Fields.HistogramDataPoint_Min p.Min
    wOptionalDouble w Fields.HistogramDataPoint_Max p.Max

let private isEmptyBuckets (b: ExponentialBuckets) =
    isNull (box b) || (b.Offset = 0 && count b.BucketCounts = 0)

let private sBuckets (w: W) field (b: ExponentialBuckets) =
    if isEmptyBuckets b then
        0
    else
        WireSize.delimited
            field
            (measure w (fun () ->
                let mutable packed = 0
                for i in 0 .. count b.BucketCounts - 1 do
                    packed <- packed + WireSize.varint64 b.BucketCounts[i]
                sSInt32 Fields.Buckets_Offset b.Offset
                + (if packed = 0 then 0 else WireSize.delimited Fields.Buckets_Bucket_Counts packed)))

let private wBuckets (w: W) field (b: ExponentialBuckets) =
    if not (isEmptyBuckets b) then
        wBegin w field
        wSInt32 w Fields.Buckets_Offset b.Offset
        if count b.BucketCounts > 0 then
            let mutable packed = 0
            for i in 0 .. b.BucketCounts.Length - 1 do
                packed <- packed + WireSize.varint64 b.BucketCounts[i]
            w.Tag(Fields.Buckets_Bucket_Counts, Fields.WireLengthDelimited)
            w.Varint32(uint32 packed)
            for v in b.BucketCounts do
                w.Varint64 v

let private sExponentialPoint (w: W) (p: ExponentialHistogramDataPoint) =
    measure w (fun () ->
        sKeyValues w Fields.ExponentialHistogramDataPoint_Attributes p.Attributes
        + sFixed64 Fields.ExponentialHistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
        + sFixed64 Fields.ExponentialHistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
        + sFixed64 Fields.ExponentialHistogramDataPoint_Count p.Count
        + sOptionalDouble Fields.ExponentialHistogramDataPoint_Sum p.Sum
        + sSInt32 Fields.ExponentialHistogramDataPoint_Scale p.Scale
        + sFixed64 Fields.ExponentialHistogramDataPoint_Zero_Count p.ZeroCount
        + sBuckets w Fields.ExponentialHistogramDataPoint_Positive p.Positive
        + sBuckets w Fields.ExponentialHistogramDataPoint_Negative p.Negative
        + sUInt32 Fields.ExponentialHistogramDataPoint_Flags p.Flags
        + sExemplars w Fields.ExponentialHistogramDataPoint_Exemplars p.Exemplars
        + sOptionalDouble Fields.ExponentialHistogramDataPoint_Min p.Min
        + sOptionalDouble Fields.ExponentialHistogramDataPoint_Max p.Max
        + sDouble Fields.ExponentialHistogramDataPoint_Zero_Threshold p.ZeroThreshold)

let private wExponentialPoint (w: W) (p: ExponentialHistogramDataPoint) =
    wKeyValues w Fields.ExponentialHistogramDataPoint_Attributes p.Attributes
    wFixed64 w Fields.ExponentialHistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    wFixed64 w Fields.ExponentialHistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
    wFixed64 w Fields.ExponentialHistogramDataPoint_Count p.Count
    wOptionalDouble w Fields.ExponentialHistogramDataPoint_Sum p.Sum
    wSInt32 w Fields.ExponentialHistogramDataPoint_Scale p.Scale
    wFixed64 w Fields.ExponentialHistogramDataPoint_Zero_Count p.ZeroCount
    wBuckets w Fields.ExponentialHistogramDataPoint_Positive p.Positive
    wBuckets w Fields.ExponentialHistogramDataPoint_Negative p.Negative
    wUInt32 w Fields.ExponentialHistogramDataPoint_Flags p.Flags
    wExemplars w Fields.ExponentialHistogramDataPoint_Exemplars p.Exemplars
    wOptionalDouble w Fields.ExponentialHistogramDataPoint_Min p.Min
    wOptionalDouble w Fields.ExponentialHistogramDataPoint_Max p.Max
    wDouble w Fields.ExponentialHistogramDataPoint_Zero_Threshold p.ZeroThreshold

let private sQuantile (w: W) (q: ValueAtQuantile) =
    measure w (fun () -> sDouble Fields.ValueAtQuantile_Quantile q.Quantile + sDouble Fields.ValueAtQuantile_Value q.Value)

let private sSummaryPoint (w: W) (p: SummaryDataPoint) =
    measure w (fun () ->
        let mutable n =
            sFixed64 Fields.SummaryDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
            + sFixed64 Fields.SummaryDataPoint_Time_Unix_Nano p.TimeUnixNano
            + sFixed64 Fields.SummaryDataPoint_Count p.Count
            + sDouble Fields.SummaryDataPoint_Sum p.Sum
        for i in 0 .. count p.QuantileValues - 1 do
            n <- n + WireSize.delimited Fields.SummaryDataPoint_Quantile_Values (sQuantile w p.QuantileValues[i])
        n
        + sKeyValues w Fields.SummaryDataPoint_Attributes p.Attributes
        + sUInt32 Fields.SummaryDataPoint_Flags p.Flags)

let private wSummaryPoint (w: W) (p: SummaryDataPoint) =
    wFixed64 w Fields.SummaryDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    wFixed64 w Fields.SummaryDataPoint_Time_Unix_Nano p.TimeUnixNano
    wFixed64 w Fields.SummaryDataPoint_Count p.Count
    wDouble w Fields.SummaryDataPoint_Sum p.Sum
    for i in 0 .. count p.QuantileValues - 1 do
        let q = p.QuantileValues[i]
        wBegin w Fields.SummaryDataPoint_Quantile_Values
        wDouble w Fields.ValueAtQuantile_Quantile q.Quantile
        wDouble w Fields.ValueAtQuantile_Value q.Value
    wKeyValues w Fields.SummaryDataPoint_Attributes p.Attributes
    wUInt32 w Fields.SummaryDataPoint_Flags p.Flags

let private sMetricData (w: W) (data: MetricData) =
    match data with
    | MetricData.NoData -> 0
    | MetricData.Gauge points ->
        WireSize.delimited Fields.Metric_Gauge (measure w (fun () -> sNumberPoints w Fields.Gauge_Data_Points points))
    | MetricData.Sum sum ->
        WireSize.delimited
            Fields.Metric_Sum
            (measure w (fun () ->
                sNumberPoints w Fields.Sum_Data_Points sum.DataPoints
                + sEnum Fields.Sum_Aggregation_Temporality (int sum.AggregationTemporality)
                + sBool Fields.Sum_Is_Monotonic sum.IsMonotonic))
    | MetricData.Histogram h ->
        WireSize.delimited
            Fields.Metric_Histogram
            (measure w (fun () ->
                let mutable n = 0
                for i in 0 .. count h.DataPoints - 1 do
                    n <- n + WireSize.delimited Fields.Histogram_Data_Points (sHistogramPoint w h.DataPoints[i])
                n + sEnum Fields.Histogram_Aggregation_Temporality (int h.AggregationTemporality)))
    | MetricData.ExponentialHistogram h ->
        WireSize.delimited
            Fields.Metric_Exponential_Histogram
            (measure w (fun () ->
                let mutable n = 0
                for i in 0 .. count h.DataPoints - 1 do
                    n <-
                        n
                        + WireSize.delimited Fields.ExponentialHistogram_Data_Points (sExponentialPoint w h.DataPoints[i])
                n + sEnum Fields.ExponentialHistogram_Aggregation_Temporality (int h.AggregationTemporality)))
    | MetricData.Summary points ->
        WireSize.delimited
            Fields.Metric_Summary
            (measure w (fun () ->
                let mutable n = 0
                for i in 0 .. count points - 1 do
                    n <- n + WireSize.delimited Fields.Summary_Data_Points (sSummaryPoint w points[i])
                n))

let private wMetricData (w: W) (data: MetricData) =
    match data with
    | MetricData.NoData -> ()
    | MetricData.Gauge points ->
        wBegin w Fields.Metric_Gauge
        wNumberPoints w Fields.Gauge_Data_Points points
    | MetricData.Sum sum ->
        wBegin w Fields.Metric_Sum
        wNumberPoints w Fields.Sum_Data_Points sum.DataPoints
        wEnum w Fields.Sum_Aggregation_Temporality (int sum.AggregationTemporality)
        wBool w Fields.Sum_Is_Monotonic sum.IsMonotonic
    | MetricData.Histogram h ->
        wBegin w Fields.Metric_Histogram
        for i in 0 .. count h.DataPoints - 1 do
            wBegin w Fields.Histogram_Data_Points
            wHistogramPoint w h.DataPoints[i]
        wEnum w Fields.Histogram_Aggregation_Temporality (int h.AggregationTemporality)
    | MetricData.ExponentialHistogram h ->
        wBegin w Fields.Metric_Exponential_Histogram
        for i in 0 .. count h.DataPoints - 1 do
            wBegin w Fields.ExponentialHistogram_Data_Points
            wExponentialPoint w h.DataPoints[i]
        wEnum w Fields.ExponentialHistogram_Aggregation_Temporality (int h.AggregationTemporality)
    | MetricData.Summary points ->
        wBegin w Fields.Metric_Summary
        for i in 0 .. count points - 1 do
            wBegin w Fields.Summary_Data_Points
            wSummaryPoint w points[i]

let private sMetric (w: W) (m: Metric) =
    measure w (fun () ->
        sString Fields.Metric_Name m.Name
        + sString Fields.Metric_Description m.Description
        + sString Fields.Metric_Unit m.Unit
        + sMetricData w (if isNull (box m.Data) then MetricData.NoData else m.Data)
        + sKeyValues w Fields.Metric_Metadata m.Metadata)

let private wMetric (w: W) (m: Metric) =
    wString w Fields.Metric_Name m.Name
    wString w Fields.Metric_Description m.Description
    wString w Fields.Metric_Unit m.Unit
    wMetricData w (if isNull (box m.Data) then MetricData.NoData else m.Data)
    wKeyValues w Fields.Metric_Metadata m.Metadata

let private sScopeMetrics (w: W) (s: ScopeMetrics) =
    measure w (fun () ->
        let mutable n = sScope w Fields.ScopeMetrics_Scope s.Scope
        for i in 0 .. count s.Metrics - 1 do
            n <- n + WireSize.delimited Fields.ScopeMetrics_Metrics (sMetric w s.Metrics[i])
        n + sString Fields.ScopeMetrics_Schema_Url s.SchemaUrl)

let private wScopeMetrics (w: W) (s: ScopeMetrics) =
    wScope w Fields.ScopeMetrics_Scope s.Scope
    for i in 0 .. count s.Metrics - 1 do
        wBegin w Fields.ScopeMetrics_Metrics
        wMetric w s.Metrics[i]
    wString w Fields.ScopeMetrics_Schema_Url s.SchemaUrl

let private sResourceMetrics (w: W) (r: ResourceMetrics) =
    measure w (fun () ->
        let mutable n = sResource w Fields.ResourceMetrics_Resource r.Resource
        for i in 0 .. count r.ScopeMetrics - 1 do
            n <- n + WireSize.delimited Fields.ResourceMetrics_Scope_Metrics (sScopeMetrics w r.ScopeMetrics[i])
        n + sString Fields.ResourceMetrics_Schema_Url r.SchemaUrl)

let private wResourceMetrics (w: W) (r: ResourceMetrics) =
    wResource w Fields.ResourceMetrics_Resource r.Resource
    for i in 0 .. count r.ScopeMetrics - 1 do
        wBegin w Fields.ResourceMetrics_Scope_Metrics
        wScopeMetrics w r.ScopeMetrics[i]
    wString w Fields.ResourceMetrics_Schema_Url r.SchemaUrl

// ---------------------------------------------------------------------------------------------------- logs/v1

let private bodyOf (r: LogRecord) =
    if isNull (box r.Body) then AnyValue.Empty else r.Body

let private sLogRecord (w: W) (r: LogRecord) =
    measure w (fun () ->
        let body = bodyOf r
        sFixed64 Fields.LogRecord_Time_Unix_Nano r.TimeUnixNano
        + sEnum Fields.LogRecord_Severity_Number (int r.SeverityNumber)
        + sString Fields.LogRecord_Severity_Text r.SeverityText
        + (if body = AnyValue.Empty then 0 else WireSize.delimited Fields.LogRecord_Body (sAnyValue w body))
        + sKeyValues w Fields.LogRecord_Attributes r.Attributes
        + sUInt32 Fields.LogRecord_Dropped_Attributes_Count r.DroppedAttributesCount
        + sFixed32 Fields.LogRecord_Flags r.Flags
        + sTraceId Fields.LogRecord_Trace_Id r.TraceId
        + sSpanId Fields.LogRecord_Span_Id r.SpanId
        + sFixed64 Fields.LogRecord_Observed_Time_Unix_Nano r.ObservedTimeUnixNano
        + sString Fields.LogRecord_Event_Name r.EventName)

let private wLogRecord (w: W) (r: LogRecord) =
    let body = bodyOf r
    wFixed64 w Fields.LogRecord_Time_Unix_Nano r.TimeUnixNano
    wEnum w Fields.LogRecord_Severity_Number (int r.SeverityNumber)
    wString w Fields.LogRecord_Severity_Text r.SeverityText
    if body <> AnyValue.Empty then
        wBegin w Fields.LogRecord_Body
        wAnyValue w body
    wKeyValues w Fields.LogRecord_Attributes r.Attributes
    wUInt32 w Fields.LogRecord_Dropped_Attributes_Count r.DroppedAttributesCount
    wFixed32 w Fields.LogRecord_Flags r.Flags
    wTraceId w Fields.LogRecord_Trace_Id r.TraceId
    wSpanId w Fields.LogRecord_Span_Id r.SpanId
    wFixed64 w Fields.LogRecord_Observed_Time_Unix_Nano r.ObservedTimeUnixNano
    wString w Fields.LogRecord_Event_Name r.EventName

let private sScopeLogs (w: W) (s: ScopeLogs) =
    measure w (fun () ->
        let mutable n = sScope w Fields.ScopeLogs_Scope s.Scope
        for i in 0 .. count s.LogRecords - 1 do
            n <- n + WireSize.delimited Fields.ScopeLogs_Log_Records (sLogRecord w s.LogRecords[i])
        n + sString Fields.ScopeLogs_Schema_Url s.SchemaUrl)

let private wScopeLogs (w: W) (s: ScopeLogs) =
    wScope w Fields.ScopeLogs_Scope s.Scope
    for i in 0 .. count s.LogRecords - 1 do
        wBegin w Fields.ScopeLogs_Log_Records
        wLogRecord w s.LogRecords[i]
    wString w Fields.ScopeLogs_Schema_Url s.SchemaUrl

let private sResourceLogs (w: W) (r: ResourceLogs) =
    measure w (fun () ->
        let mutable n = sResource w Fields.ResourceLogs_Resource r.Resource
        for i in 0 .. count r.ScopeLogs - 1 do
            n <- n + WireSize.delimited Fields.ResourceLogs_Scope_Logs (sScopeLogs w r.ScopeLogs[i])
        n + sString Fields.ResourceLogs_Schema_Url r.SchemaUrl)

let private wResourceLogs (w: W) (r: ResourceLogs) =
    wResource w Fields.ResourceLogs_Resource r.Resource
    for i in 0 .. count r.ScopeLogs - 1 do
        wBegin w Fields.ResourceLogs_Scope_Logs
        wScopeLogs w r.ScopeLogs[i]
    wString w Fields.ResourceLogs_Schema_Url r.SchemaUrl

// ---------------------------------------------------------------------------------------------------- requests

let private sRepeated (w: W) field (sizeOf: W -> 'a -> int) (items: 'a array) =
    let mutable n = 0
    for i in 0 .. count items - 1 do
        n <- n + WireSize.delimited field (sizeOf w items[i])
    n

let private wRepeated (w: W) field (write: W -> 'a -> unit) (items: 'a array) =
    for i in 0 .. count items - 1 do
        wBegin w field
        write w items[i]

let private sPartialSuccess (w: W) (p: PartialSuccess) =
    if isNull (box p) || (p.Rejected = 0L && isEmptyText p.ErrorMessage) then
        0
    else
        WireSize.delimited
            Fields.ExportServiceResponse_Partial_Success
            (measure w (fun () ->
                (if p.Rejected = 0L then 0 else WireSize.tag Fields.PartialSuccess_Rejected + WireSize.varint64 (uint64 p.Rejected))
                + sString Fields.PartialSuccess_Error_Message p.ErrorMessage))

let private wPartialSuccess (w: W) (p: PartialSuccess) =
    if not (isNull (box p) || (p.Rejected = 0L && isEmptyText p.ErrorMessage)) then
        wBegin w Fields.ExportServiceResponse_Partial_Success
        if p.Rejected <> 0L then
            w.Tag(Fields.PartialSuccess_Rejected, Fields.WireVarint)
            w.Varint64(uint64 p.Rejected)
        wString w Fields.PartialSuccess_Error_Message p.ErrorMessage

// One writer per thread, reused: its size table grows to the largest request seen and stays.
[<Sealed; AbstractClass>]
type private Pool =
    [<ThreadStatic; DefaultValue>]
    static val mutable private cached: SizePassWriter

    static member Take() =
        let w = Pool.cached
        Pool.cached <- null
        if isNull w then SizePassWriter() else w

    static member Return(w: SizePassWriter) =
        w.Release()
        Pool.cached <- w

/// Runs the size pass, then writes exactly that many bytes into `output`.
let inline private encodeInto
    (output: IBufferWriter<byte>)
    ([<InlineIfLambda>] size: SizePassWriter -> int)
    ([<InlineIfLambda>] write: SizePassWriter -> unit)
    =
    if isNull output then nullArg (nameof output)
    let w = Pool.Take()
    try
        w.ResetSizes()
        let total = size w
        if total > 0 then
            let memory = output.GetMemory total
            let mutable segment = ArraySegment<byte>()
            if MemoryMarshal.TryGetArray<byte>(Memory.op_Implicit memory, &segment) then
                w.Start(segment.Array, segment.Offset)
                write w
            else
                let rented = ArrayPool<byte>.Shared.Rent total
                try
                    w.Start(rented, 0)
                    write w
                    ReadOnlySpan(rented, 0, total).CopyTo(memory.Span)
                finally
                    ArrayPool<byte>.Shared.Return rented
            if not w.SizesBalanced then
                invalidOp "Protobuf encoder: the write pass did not match the size pass."
            output.Advance total
        total
    finally
        Pool.Return w

let private toArray (encode: IBufferWriter<byte> -> int) =
    let output = ArrayBufferWriter<byte>()
    encode output |> ignore
    output.WrittenSpan.ToArray()

let writeTraceRequest (request: ExportTraceServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto
        output
        (fun w -> sRepeated w Fields.ExportTraceServiceRequest_Resource_Spans sResourceSpans request.ResourceSpans)
        (fun w -> wRepeated w Fields.ExportTraceServiceRequest_Resource_Spans wResourceSpans request.ResourceSpans)

let writeMetricsRequest (request: ExportMetricsServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto
        output
        (fun w -> sRepeated w Fields.ExportMetricsServiceRequest_Resource_Metrics sResourceMetrics request.ResourceMetrics)
        (fun w -> wRepeated w Fields.ExportMetricsServiceRequest_Resource_Metrics wResourceMetrics request.ResourceMetrics)

let writeLogsRequest (request: ExportLogsServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto
        output
        (fun w -> sRepeated w Fields.ExportLogsServiceRequest_Resource_Logs sResourceLogs request.ResourceLogs)
        (fun w -> wRepeated w Fields.ExportLogsServiceRequest_Resource_Logs wResourceLogs request.ResourceLogs)

let writeTraceResponse (response: ExportTraceServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> sPartialSuccess w response.PartialSuccess) (fun w -> wPartialSuccess w response.PartialSuccess)

let writeMetricsResponse (response: ExportMetricsServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> sPartialSuccess w response.PartialSuccess) (fun w -> wPartialSuccess w response.PartialSuccess)

let writeLogsResponse (response: ExportLogsServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> sPartialSuccess w response.PartialSuccess) (fun w -> wPartialSuccess w response.PartialSuccess)

let traceRequestToBytes request = toArray (writeTraceRequest request)
let metricsRequestToBytes request = toArray (writeMetricsRequest request)
let logsRequestToBytes request = toArray (writeLogsRequest request)
let traceResponseToBytes response = toArray (writeTraceResponse response)
let metricsResponseToBytes response = toArray (writeMetricsResponse response)
let logsResponseToBytes response = toArray (writeLogsResponse response)

[<RequireQualifiedAccess>]
module Otlp.Core.ProtoDecoder

// One reading function per OTLP message, each looping over the fields of its message until the reader's
// limit (the end of the message). Protobuf's merge rules, kept here:
// - a scalar field seen twice: the last value wins;
// - a member of a oneof: the last member seen wins (AnyValue's value, Metric's data, the value of number
//   points and exemplars), except that a message member seen again while it is the current member is merged;
//   a replaced member is still read, so that malformed content is an error wherever it is, as in protobuf;
// - a singular message field seen twice (Span.status, a ScopeSpans' scope, a KeyValue's value, ...): merged,
//   which protobuf defines as reading the occurrences' contents one after the other as a single message.
//   So singular message fields are not read where they occur: their occurrences are recorded
//   (`Occurrences`) and read together once the enclosing message has been read, which keeps merging linear.
// Repeated fields gather into a ResizeArray, created on the first item, and become an array at the end.

open System
open Otlp.Core.Protobuf

type private R = ProtoReader

let inline private field (tag: int) = R.FieldOf tag

/// Reads the embedded message that `tag` starts with `read`.
let inline private message (r: R) (tag: int) (name: string) ([<InlineIfLambda>] read: R -> 'T) : 'T =
    let outer = r.Enter(tag, name)
    let value = read r
    r.Leave outer
    value

let private ensure (acc: ResizeArray<'T>) =
    if isNull acc then ResizeArray<'T>() else acc

let private add (acc: ResizeArray<'T>) (item: 'T) =
    let acc = ensure acc
    acc.Add item
    acc

let private finish (acc: ResizeArray<'T>) =
    if isNull acc then Array.Empty() else acc.ToArray()

// ---------------------------------------------------------------------------------------------------------
// The envelope: a request holds resource levels, each of scope levels, each of the signal's items. The three
// signals' levels have one shape and the same field numbers, so one reader serves each kind of level.

/// A level's three fields (its resource or scope, the repeated level under it, its schema URL): numbers, and the
/// names errors give them.
type private LevelFields =
    { Head: int
      HeadName: string
      Children: int
      ChildrenName: string
      SchemaUrl: int
      SchemaUrlName: string }

/// The fields of the level `level` (a message name), each field's error name made from it.
let private levelFields
    (level: string)
    (head: int, headName: string)
    (children: int, childrenName: string)
    (schemaUrl: int)
    =
    { Head = head
      HeadName = level + "." + headName
      Children = children
      ChildrenName = level + "." + childrenName
      SchemaUrl = schemaUrl
      SchemaUrlName = level + ".schema_url" }

/// Reads a level: where its resource or scope stands (read by the caller, once the whole level is seen), its
/// children, its schema URL.
let inline private readLevel (r: R) (fields: LevelFields) ([<InlineIfLambda>] readChild: R -> 'Child) =
    let mutable headAt = Occurrences.None
    let mutable children = null
    let mutable schemaUrl = ""

    while r.HasMore do
        let tag = r.ReadTag()
        let number = field tag

        if number = fields.Head then
            headAt <- r.Defer(tag, fields.HeadName, headAt)
        elif number = fields.Children then
            children <- add children (message r tag fields.ChildrenName readChild)
        elif number = fields.SchemaUrl then
            schemaUrl <- r.String(tag, fields.SchemaUrlName)
        else
            r.Skip tag

    struct (headAt, finish children, schemaUrl)

/// Reads a request: its one repeated field of resource levels, numbered `number`.
let inline private readRequest (r: R) (number: int) (name: string) ([<InlineIfLambda>] readChild: R -> 'Child) =
    let mutable children = null

    while r.HasMore do
        let tag = r.ReadTag()

        if field tag = number then
            children <- add children (message r tag name readChild)
        else
            r.Skip tag

    finish children

// ---------------------------------------------------------------------------------------------------------
// common/v1 and resource/v1

// AnyValue is the one recursive message of OTLP. `depth` counts the AnyValues on the path from the attribute
// (or log body) down to the one being read, and is bounded so that hostile nesting fails instead of
// exhausting the stack.
let rec private readAnyValue (r: R) (depth: int) (at: Occurrences) : AnyValue =
    if depth > R.MaxDepth && at.Count > 0 then
        r.FailAt(at.Start, $"nesting deeper than {R.MaxDepth} levels of AnyValue")

    let outer = r.Suspend()
    let mutable value = AnyValue.Empty
    // The message members of the oneof. When another member replaces one, the replaced occurrences are still
    // read (and their value dropped): protobuf parses every byte, so malformed content there is an error too.
    let mutable arrayAt = Occurrences.None
    let mutable kvlistAt = Occurrences.None

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.AnyValue_Array_Value ->
                if kvlistAt.Count > 0 then
                    readKeyValueList r depth kvlistAt |> ignore
                    kvlistAt <- Occurrences.None

                arrayAt <- r.Defer(tag, "AnyValue.array_value", arrayAt)
            | Fields.AnyValue_Kvlist_Value ->
                if arrayAt.Count > 0 then
                    readArrayValue r depth arrayAt |> ignore
                    arrayAt <- Occurrences.None

                kvlistAt <- r.Defer(tag, "AnyValue.kvlist_value", kvlistAt)
            | Fields.AnyValue_String_Value
            | Fields.AnyValue_Bool_Value
            | Fields.AnyValue_Int_Value
            | Fields.AnyValue_Double_Value
            | Fields.AnyValue_Bytes_Value as member' ->
                if arrayAt.Count > 0 then
                    readArrayValue r depth arrayAt |> ignore
                    arrayAt <- Occurrences.None

                if kvlistAt.Count > 0 then
                    readKeyValueList r depth kvlistAt |> ignore
                    kvlistAt <- Occurrences.None

                value <-
                    match member' with
                    | Fields.AnyValue_String_Value -> AnyValue.String(r.String(tag, "AnyValue.string_value"))
                    | Fields.AnyValue_Bool_Value -> AnyValue.Bool(r.Bool(tag, "AnyValue.bool_value"))
                    | Fields.AnyValue_Int_Value -> AnyValue.Int(r.Int64(tag, "AnyValue.int_value"))
                    | Fields.AnyValue_Double_Value -> AnyValue.Double(r.Double(tag, "AnyValue.double_value"))
                    | _ -> AnyValue.Bytes(r.Bytes(tag, "AnyValue.bytes_value"))
            | _ -> r.Skip tag

    r.Resume outer

    if arrayAt.Count > 0 then AnyValue.Array(readArrayValue r depth arrayAt)
    elif kvlistAt.Count > 0 then AnyValue.KvList(readKeyValueList r depth kvlistAt)
    else value

and private readArrayValue (r: R) (depth: int) (at: Occurrences) : AnyValue array =
    let outer = r.Suspend()
    let mutable values = null

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.ArrayValue_Values ->
                let element = r.Defer(tag, "ArrayValue.values", Occurrences.None)
                values <- add values (readAnyValue r (depth + 1) element)
            | _ -> r.Skip tag

    r.Resume outer
    finish values

and private readKeyValueList (r: R) (depth: int) (at: Occurrences) : KeyValue array =
    let outer = r.Suspend()
    let mutable values = null

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.KeyValueList_Values ->
                let outer = r.Enter(tag, "KeyValueList.values")
                values <- add values (readKeyValue r (depth + 1))
                r.Leave outer
            | _ -> r.Skip tag

    r.Resume outer
    finish values

and private readKeyValue (r: R) (depth: int) : KeyValue =
    let mutable key = ""
    let mutable valueAt = Occurrences.None

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.KeyValue_Key -> key <- r.String(tag, "KeyValue.key")
        | Fields.KeyValue_Value -> valueAt <- r.Defer(tag, "KeyValue.value", valueAt)
        | _ -> r.Skip tag

    { Key = key; Value = readAnyValue r depth valueAt }

/// One attribute of a list of attributes (the top level of AnyValue nesting).
let private readAttribute (r: R) (tag: int) (name: string) =
    message r tag name (fun r -> readKeyValue r 1)

let private readScope (r: R) (at: Occurrences) : InstrumentationScope =
    let outer = r.Suspend()
    let mutable name = ""
    let mutable version = ""
    let mutable attributes = null
    let mutable dropped = 0u

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.InstrumentationScope_Name -> name <- r.String(tag, "InstrumentationScope.name")
            | Fields.InstrumentationScope_Version -> version <- r.String(tag, "InstrumentationScope.version")
            | Fields.InstrumentationScope_Attributes ->
                attributes <- add attributes (readAttribute r tag "InstrumentationScope.attributes")
            | Fields.InstrumentationScope_Dropped_Attributes_Count ->
                dropped <- r.UInt32(tag, "InstrumentationScope.dropped_attributes_count")
            | _ -> r.Skip tag

    r.Resume outer

    { Name = name
      Version = version
      Attributes = finish attributes
      DroppedAttributesCount = dropped }

let private readEntityRef (r: R) : EntityRef =
    let mutable schemaUrl = ""
    let mutable entityType = ""
    let mutable idKeys = null
    let mutable descriptionKeys = null

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.EntityRef_Schema_Url -> schemaUrl <- r.String(tag, "EntityRef.schema_url")
        | Fields.EntityRef_Type -> entityType <- r.String(tag, "EntityRef.type")
        | Fields.EntityRef_Id_Keys -> idKeys <- add idKeys (r.String(tag, "EntityRef.id_keys"))
        | Fields.EntityRef_Description_Keys ->
            descriptionKeys <- add descriptionKeys (r.String(tag, "EntityRef.description_keys"))
        | _ -> r.Skip tag

    { SchemaUrl = schemaUrl
      Type = entityType
      IdKeys = finish idKeys
      DescriptionKeys = finish descriptionKeys }

let private readResource (r: R) (at: Occurrences) : Resource =
    let outer = r.Suspend()
    let mutable attributes = null
    let mutable dropped = 0u
    let mutable entityRefs = null

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.Resource_Attributes -> attributes <- add attributes (readAttribute r tag "Resource.attributes")
            | Fields.Resource_Dropped_Attributes_Count -> dropped <- r.UInt32(tag, "Resource.dropped_attributes_count")
            | Fields.Resource_Entity_Refs ->
                entityRefs <- add entityRefs (message r tag "Resource.entity_refs" readEntityRef)
            | _ -> r.Skip tag

    r.Resume outer

    { Attributes = finish attributes
      DroppedAttributesCount = dropped
      EntityRefs = finish entityRefs }

// ---------------------------------------------------------------------------------------------------------
// trace/v1

let private readStatus (r: R) (at: Occurrences) : Status =
    let outer = r.Suspend()
    let mutable statusMessage = ""
    let mutable code = StatusCode.Unset

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.Status_Message -> statusMessage <- r.String(tag, "Status.message")
            | Fields.Status_Code -> code <- enum<StatusCode> (r.Int32(tag, "Status.code"))
            | _ -> r.Skip tag

    r.Resume outer
    { Message = statusMessage; Code = code }

let private readEvent (r: R) : SpanEvent =
    let mutable time = 0UL
    let mutable name = ""
    let mutable attributes = null
    let mutable dropped = 0u

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.Event_Time_Unix_Nano -> time <- r.Fixed64(tag, "Span.Event.time_unix_nano")
        | Fields.Event_Name -> name <- r.String(tag, "Span.Event.name")
        | Fields.Event_Attributes ->
            attributes <- add attributes (readAttribute r tag "Span.Event.attributes")
        | Fields.Event_Dropped_Attributes_Count -> dropped <- r.UInt32(tag, "Span.Event.dropped_attributes_count")
        | _ -> r.Skip tag

    { TimeUnixNano = time
      Name = name
      Attributes = finish attributes
      DroppedAttributesCount = dropped }

let private readLink (r: R) : SpanLink =
    let mutable traceId = TraceId.Empty
    let mutable spanId = SpanId.Empty
    let mutable traceState = ""
    let mutable attributes = null
    let mutable dropped = 0u
    let mutable flags = 0u

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.Link_Trace_Id -> traceId <- r.TraceId(tag, "Span.Link.trace_id")
        | Fields.Link_Span_Id -> spanId <- r.SpanId(tag, "Span.Link.span_id")
        | Fields.Link_Trace_State -> traceState <- r.String(tag, "Span.Link.trace_state")
        | Fields.Link_Attributes ->
            attributes <- add attributes (readAttribute r tag "Span.Link.attributes")
        | Fields.Link_Dropped_Attributes_Count -> dropped <- r.UInt32(tag, "Span.Link.dropped_attributes_count")
        | Fields.Link_Flags -> flags <- r.Fixed32(tag, "Span.Link.flags")
        | _ -> r.Skip tag

    { TraceId = traceId
      SpanId = spanId
      TraceState = traceState
      Attributes = finish attributes
      DroppedAttributesCount = dropped
      Flags = flags }

let private readSpan (r: R) : Span =
    let mutable traceId = TraceId.Empty
    let mutable spanId = SpanId.Empty
    let mutable traceState = ""
    let mutable parentSpanId = SpanId.Empty
    let mutable flags = 0u
    let mutable name = ""
    let mutable kind = SpanKind.Unspecified
    let mutable startTime = 0UL
    let mutable endTime = 0UL
    let mutable attributes = null
    let mutable droppedAttributes = 0u
    let mutable events = null
    let mutable droppedEvents = 0u
    let mutable links = null
    let mutable droppedLinks = 0u
    let mutable statusAt = Occurrences.None

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.Span_Trace_Id -> traceId <- r.TraceId(tag, "Span.trace_id")
        | Fields.Span_Span_Id -> spanId <- r.SpanId(tag, "Span.span_id")
        | Fields.Span_Trace_State -> traceState <- r.String(tag, "Span.trace_state")
        | Fields.Span_Parent_Span_Id -> parentSpanId <- r.SpanId(tag, "Span.parent_span_id")
        | Fields.Span_Name -> name <- r.String(tag, "Span.name")
        | Fields.Span_Kind -> kind <- enum<SpanKind> (r.Int32(tag, "Span.kind"))
        | Fields.Span_Start_Time_Unix_Nano -> startTime <- r.Fixed64(tag, "Span.start_time_unix_nano")
        | Fields.Span_End_Time_Unix_Nano -> endTime <- r.Fixed64(tag, "Span.end_time_unix_nano")
        | Fields.Span_Attributes -> attributes <- add attributes (readAttribute r tag "Span.attributes")
        | Fields.Span_Dropped_Attributes_Count -> droppedAttributes <- r.UInt32(tag, "Span.dropped_attributes_count")
        | Fields.Span_Events -> events <- add events (message r tag "Span.events" readEvent)
        | Fields.Span_Dropped_Events_Count -> droppedEvents <- r.UInt32(tag, "Span.dropped_events_count")
        | Fields.Span_Links -> links <- add links (message r tag "Span.links" readLink)
        | Fields.Span_Dropped_Links_Count -> droppedLinks <- r.UInt32(tag, "Span.dropped_links_count")
        | Fields.Span_Status -> statusAt <- r.Defer(tag, "Span.status", statusAt)
        | Fields.Span_Flags -> flags <- r.Fixed32(tag, "Span.flags")
        | _ -> r.Skip tag

    { TraceId = traceId
      SpanId = spanId
      TraceState = traceState
      ParentSpanId = parentSpanId
      Flags = flags
      Name = name
      Kind = kind
      StartTimeUnixNano = startTime
      EndTimeUnixNano = endTime
      Attributes = finish attributes
      DroppedAttributesCount = droppedAttributes
      Events = finish events
      DroppedEventsCount = droppedEvents
      Links = finish links
      DroppedLinksCount = droppedLinks
      Status = readStatus r statusAt }

let private scopeSpansFields =
    levelFields
        "ScopeSpans"
        (Fields.ScopeSpans_Scope, "scope")
        (Fields.ScopeSpans_Spans, "spans")
        Fields.ScopeSpans_Schema_Url

let private readScopeSpans (r: R) : ScopeSpans =
    let struct (scopeAt, spans, schemaUrl) = readLevel r scopeSpansFields readSpan

    { Scope = readScope r scopeAt
      Spans = spans
      SchemaUrl = schemaUrl }

let private resourceSpansFields =
    levelFields
        "ResourceSpans"
        (Fields.ResourceSpans_Resource, "resource")
        (Fields.ResourceSpans_Scope_Spans, "scope_spans")
        Fields.ResourceSpans_Schema_Url

let private readResourceSpans (r: R) : ResourceSpans =
    let struct (resourceAt, scopeSpans, schemaUrl) = readLevel r resourceSpansFields readScopeSpans

    { Resource = readResource r resourceAt
      ScopeSpans = scopeSpans
      SchemaUrl = schemaUrl }

let private readTraceRequest (r: R) : ExportTraceServiceRequest =
    { ResourceSpans =
        readRequest
            r
            Fields.ExportTraceServiceRequest_Resource_Spans
            "ExportTraceServiceRequest.resource_spans"
            readResourceSpans }

// ---------------------------------------------------------------------------------------------------------
// metrics/v1

let private readExemplar (r: R) : Exemplar =
    let mutable attributes = null
    let mutable time = 0UL
    let mutable value = NoValue
    let mutable spanId = SpanId.Empty
    let mutable traceId = TraceId.Empty

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.Exemplar_Filtered_Attributes ->
            attributes <- add attributes (readAttribute r tag "Exemplar.filtered_attributes")
        | Fields.Exemplar_Time_Unix_Nano -> time <- r.Fixed64(tag, "Exemplar.time_unix_nano")
        | Fields.Exemplar_As_Double -> value <- AsDouble(r.Double(tag, "Exemplar.as_double"))
        | Fields.Exemplar_As_Int -> value <- AsInt(r.SFixed64(tag, "Exemplar.as_int"))
        | Fields.Exemplar_Span_Id -> spanId <- r.SpanId(tag, "Exemplar.span_id")
        | Fields.Exemplar_Trace_Id -> traceId <- r.TraceId(tag, "Exemplar.trace_id")
        | _ -> r.Skip tag

    { FilteredAttributes = finish attributes
      TimeUnixNano = time
      Value = value
      SpanId = spanId
      TraceId = traceId }

let private readNumberPoint (r: R) : NumberDataPoint =
    let mutable attributes = null
    let mutable startTime = 0UL
    let mutable time = 0UL
    let mutable value = NoValue
    let mutable exemplars = null
    let mutable flags = 0u

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.NumberDataPoint_Attributes ->
            attributes <- add attributes (readAttribute r tag "NumberDataPoint.attributes")
        | Fields.NumberDataPoint_Start_Time_Unix_Nano ->
            startTime <- r.Fixed64(tag, "NumberDataPoint.start_time_unix_nano")
        | Fields.NumberDataPoint_Time_Unix_Nano -> time <- r.Fixed64(tag, "NumberDataPoint.time_unix_nano")
        | Fields.NumberDataPoint_As_Double -> value <- AsDouble(r.Double(tag, "NumberDataPoint.as_double"))
        | Fields.NumberDataPoint_As_Int -> value <- AsInt(r.SFixed64(tag, "NumberDataPoint.as_int"))
        | Fields.NumberDataPoint_Exemplars ->
            exemplars <- add exemplars (message r tag "NumberDataPoint.exemplars" readExemplar)
        | Fields.NumberDataPoint_Flags -> flags <- r.UInt32(tag, "NumberDataPoint.flags")
        | _ -> r.Skip tag

    { Attributes = finish attributes
      StartTimeUnixNano = startTime
      TimeUnixNano = time
      Value = value
      Exemplars = finish exemplars
      Flags = flags }

let private readHistogramPoint (r: R) : HistogramDataPoint =
    let mutable attributes = null
    let mutable startTime = 0UL
    let mutable time = 0UL
    let mutable count = 0UL
    let mutable sum = ValueNone
    let mutable bucketCounts = null
    let mutable explicitBounds = null
    let mutable exemplars = null
    let mutable flags = 0u
    let mutable min = ValueNone
    let mutable max = ValueNone

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.HistogramDataPoint_Attributes ->
            attributes <- add attributes (readAttribute r tag "HistogramDataPoint.attributes")
        | Fields.HistogramDataPoint_Start_Time_Unix_Nano ->
            startTime <- r.Fixed64(tag, "HistogramDataPoint.start_time_unix_nano")
        | Fields.HistogramDataPoint_Time_Unix_Nano -> time <- r.Fixed64(tag, "HistogramDataPoint.time_unix_nano")
        | Fields.HistogramDataPoint_Count -> count <- r.Fixed64(tag, "HistogramDataPoint.count")
        | Fields.HistogramDataPoint_Sum -> sum <- ValueSome(r.Double(tag, "HistogramDataPoint.sum"))
        | Fields.HistogramDataPoint_Bucket_Counts ->
            bucketCounts <- ensure bucketCounts
            r.RepeatedFixed64(tag, "HistogramDataPoint.bucket_counts", bucketCounts)
        | Fields.HistogramDataPoint_Explicit_Bounds ->
            explicitBounds <- ensure explicitBounds
            r.RepeatedDouble(tag, "HistogramDataPoint.explicit_bounds", explicitBounds)
        | Fields.HistogramDataPoint_Exemplars ->
            exemplars <- add exemplars (message r tag "HistogramDataPoint.exemplars" readExemplar)
        | Fields.HistogramDataPoint_Flags -> flags <- r.UInt32(tag, "HistogramDataPoint.flags")
        | Fields.HistogramDataPoint_Min -> min <- ValueSome(r.Double(tag, "HistogramDataPoint.min"))
        | Fields.HistogramDataPoint_Max -> max <- ValueSome(r.Double(tag, "HistogramDataPoint.max"))
        | _ -> r.Skip tag

    { Attributes = finish attributes
      StartTimeUnixNano = startTime
      TimeUnixNano = time
      Count = count
      Sum = sum
      BucketCounts = finish bucketCounts
      ExplicitBounds = finish explicitBounds
      Exemplars = finish exemplars
      Flags = flags
      Min = min
      Max = max }

let private readBuckets (r: R) (at: Occurrences) : ExponentialBuckets =
    let outer = r.Suspend()
    let mutable offset = 0
    let mutable bucketCounts = null

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.Buckets_Offset -> offset <- r.SInt32(tag, "ExponentialHistogramDataPoint.Buckets.offset")
            | Fields.Buckets_Bucket_Counts ->
                bucketCounts <- ensure bucketCounts
                r.RepeatedUInt64(tag, "ExponentialHistogramDataPoint.Buckets.bucket_counts", bucketCounts)
            | _ -> r.Skip tag

    r.Resume outer
    { Offset = offset; BucketCounts = finish bucketCounts }

let private readExponentialPoint (r: R) : ExponentialHistogramDataPoint =
    let mutable attributes = null
    let mutable startTime = 0UL
    let mutable time = 0UL
    let mutable count = 0UL
    let mutable sum = ValueNone
    let mutable scale = 0
    let mutable zeroCount = 0UL
    let mutable positiveAt = Occurrences.None
    let mutable negativeAt = Occurrences.None
    let mutable flags = 0u
    let mutable exemplars = null
    let mutable min = ValueNone
    let mutable max = ValueNone
    let mutable zeroThreshold = 0.0

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.ExponentialHistogramDataPoint_Attributes ->
            attributes <- add attributes (readAttribute r tag "ExponentialHistogramDataPoint.attributes")
        | Fields.ExponentialHistogramDataPoint_Start_Time_Unix_Nano ->
            startTime <- r.Fixed64(tag, "ExponentialHistogramDataPoint.start_time_unix_nano")
        | Fields.ExponentialHistogramDataPoint_Time_Unix_Nano ->
            time <- r.Fixed64(tag, "ExponentialHistogramDataPoint.time_unix_nano")
        | Fields.ExponentialHistogramDataPoint_Count -> count <- r.Fixed64(tag, "ExponentialHistogramDataPoint.count")
        | Fields.ExponentialHistogramDataPoint_Sum -> sum <- ValueSome(r.Double(tag, "ExponentialHistogramDataPoint.sum"))
        | Fields.ExponentialHistogramDataPoint_Scale -> scale <- r.SInt32(tag, "ExponentialHistogramDataPoint.scale")
        | Fields.ExponentialHistogramDataPoint_Zero_Count ->
            zeroCount <- r.Fixed64(tag, "ExponentialHistogramDataPoint.zero_count")
        | Fields.ExponentialHistogramDataPoint_Positive ->
            positiveAt <- r.Defer(tag, "ExponentialHistogramDataPoint.positive", positiveAt)
        | Fields.ExponentialHistogramDataPoint_Negative ->
            negativeAt <- r.Defer(tag, "ExponentialHistogramDataPoint.negative", negativeAt)
        | Fields.ExponentialHistogramDataPoint_Flags -> flags <- r.UInt32(tag, "ExponentialHistogramDataPoint.flags")
        | Fields.ExponentialHistogramDataPoint_Exemplars ->
            exemplars <-
                add exemplars (message r tag "ExponentialHistogramDataPoint.exemplars" readExemplar)
        | Fields.ExponentialHistogramDataPoint_Min -> min <- ValueSome(r.Double(tag, "ExponentialHistogramDataPoint.min"))
        | Fields.ExponentialHistogramDataPoint_Max -> max <- ValueSome(r.Double(tag, "ExponentialHistogramDataPoint.max"))
        | Fields.ExponentialHistogramDataPoint_Zero_Threshold ->
            zeroThreshold <- r.Double(tag, "ExponentialHistogramDataPoint.zero_threshold")
        | _ -> r.Skip tag

    { Attributes = finish attributes
      StartTimeUnixNano = startTime
      TimeUnixNano = time
      Count = count
      Sum = sum
      Scale = scale
      ZeroCount = zeroCount
      Positive = readBuckets r positiveAt
      Negative = readBuckets r negativeAt
      Flags = flags
      Exemplars = finish exemplars
      Min = min
      Max = max
      ZeroThreshold = zeroThreshold }

let private readQuantile (r: R) : ValueAtQuantile =
    let mutable quantile = 0.0
    let mutable value = 0.0

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.ValueAtQuantile_Quantile -> quantile <- r.Double(tag, "SummaryDataPoint.ValueAtQuantile.quantile")
        | Fields.ValueAtQuantile_Value -> value <- r.Double(tag, "SummaryDataPoint.ValueAtQuantile.value")
        | _ -> r.Skip tag

    { Quantile = quantile; Value = value }

let private readSummaryPoint (r: R) : SummaryDataPoint =
    let mutable attributes = null
    let mutable startTime = 0UL
    let mutable time = 0UL
    let mutable count = 0UL
    let mutable sum = 0.0
    let mutable quantiles = null
    let mutable flags = 0u

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.SummaryDataPoint_Attributes ->
            attributes <- add attributes (readAttribute r tag "SummaryDataPoint.attributes")
        | Fields.SummaryDataPoint_Start_Time_Unix_Nano ->
            startTime <- r.Fixed64(tag, "SummaryDataPoint.start_time_unix_nano")
        | Fields.SummaryDataPoint_Time_Unix_Nano -> time <- r.Fixed64(tag, "SummaryDataPoint.time_unix_nano")
        | Fields.SummaryDataPoint_Count -> count <- r.Fixed64(tag, "SummaryDataPoint.count")
        | Fields.SummaryDataPoint_Sum -> sum <- r.Double(tag, "SummaryDataPoint.sum")
        | Fields.SummaryDataPoint_Quantile_Values ->
            quantiles <- add quantiles (message r tag "SummaryDataPoint.quantile_values" readQuantile)
        | Fields.SummaryDataPoint_Flags -> flags <- r.UInt32(tag, "SummaryDataPoint.flags")
        | _ -> r.Skip tag

    { Attributes = finish attributes
      StartTimeUnixNano = startTime
      TimeUnixNano = time
      Count = count
      Sum = sum
      QuantileValues = finish quantiles
      Flags = flags }

/// The points of a Gauge or a Summary, whose messages hold only their points (field 1).
let inline private readPoints (r: R) (name: string) (at: Occurrences) ([<InlineIfLambda>] readPoint: R -> 'P) : 'P array =
    let outer = r.Suspend()
    let mutable points = null

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            // Gauge_Data_Points and Summary_Data_Points are both field 1.
            match field tag with
            | Fields.Gauge_Data_Points -> points <- add points (message r tag name readPoint)
            | _ -> r.Skip tag

    r.Resume outer
    finish points

let private readSum (r: R) (at: Occurrences) : Sum =
    let outer = r.Suspend()
    let mutable points = null
    let mutable temporality = AggregationTemporality.Unspecified
    let mutable monotonic = false

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.Sum_Data_Points -> points <- add points (message r tag "Sum.data_points" readNumberPoint)
            | Fields.Sum_Aggregation_Temporality ->
                temporality <- enum<AggregationTemporality> (r.Int32(tag, "Sum.aggregation_temporality"))
            | Fields.Sum_Is_Monotonic -> monotonic <- r.Bool(tag, "Sum.is_monotonic")
            | _ -> r.Skip tag

    r.Resume outer

    { DataPoints = finish points
      AggregationTemporality = temporality
      IsMonotonic = monotonic }

let private readHistogram (r: R) (at: Occurrences) : Histogram =
    let outer = r.Suspend()
    let mutable points = null
    let mutable temporality = AggregationTemporality.Unspecified

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.Histogram_Data_Points ->
                points <- add points (message r tag "Histogram.data_points" readHistogramPoint)
            | Fields.Histogram_Aggregation_Temporality ->
                temporality <- enum<AggregationTemporality> (r.Int32(tag, "Histogram.aggregation_temporality"))
            | _ -> r.Skip tag

    r.Resume outer

    { DataPoints = finish points
      AggregationTemporality = temporality }

let private readExponentialHistogram (r: R) (at: Occurrences) : ExponentialHistogram =
    let outer = r.Suspend()
    let mutable points = null
    let mutable temporality = AggregationTemporality.Unspecified

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.ExponentialHistogram_Data_Points ->
                points <- add points (message r tag "ExponentialHistogram.data_points" readExponentialPoint)
            | Fields.ExponentialHistogram_Aggregation_Temporality ->
                temporality <- enum<AggregationTemporality> (r.Int32(tag, "ExponentialHistogram.aggregation_temporality"))
            | _ -> r.Skip tag

    r.Resume outer

    { DataPoints = finish points
      AggregationTemporality = temporality }

/// The `data` oneof of a Metric, from the occurrences of its member `member'` (0 for none).
let private readMetricData (r: R) (member': int) (at: Occurrences) =
    match member' with
    | Fields.Metric_Gauge -> MetricData.Gauge(readPoints r "Gauge.data_points" at readNumberPoint)
    | Fields.Metric_Sum -> MetricData.Sum(readSum r at)
    | Fields.Metric_Histogram -> MetricData.Histogram(readHistogram r at)
    | Fields.Metric_Exponential_Histogram -> MetricData.ExponentialHistogram(readExponentialHistogram r at)
    | Fields.Metric_Summary -> MetricData.Summary(readPoints r "Summary.data_points" at readSummaryPoint)
    | _ -> MetricData.NoData

let private readMetric (r: R) : Metric =
    let mutable name = ""
    let mutable description = ""
    let mutable unit = ""
    // The `data` oneof: the field number of its last member seen (0 for none) and that member's occurrences.
    let mutable dataField = 0
    let mutable dataAt = Occurrences.None
    let mutable metadata = null

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.Metric_Name -> name <- r.String(tag, "Metric.name")
        | Fields.Metric_Description -> description <- r.String(tag, "Metric.description")
        | Fields.Metric_Unit -> unit <- r.String(tag, "Metric.unit")
        | Fields.Metric_Gauge
        | Fields.Metric_Sum
        | Fields.Metric_Histogram
        | Fields.Metric_Exponential_Histogram
        | Fields.Metric_Summary as member' ->
            let memberName =
                match member' with
                | Fields.Metric_Gauge -> "Metric.gauge"
                | Fields.Metric_Sum -> "Metric.sum"
                | Fields.Metric_Histogram -> "Metric.histogram"
                | Fields.Metric_Exponential_Histogram -> "Metric.exponential_histogram"
                | _ -> "Metric.summary"

            if member' <> dataField then
                // Replaced members are still read, as in AnyValue, so that their content is checked.
                readMetricData r dataField dataAt |> ignore
                dataAt <- Occurrences.None
                dataField <- member'

            dataAt <- r.Defer(tag, memberName, dataAt)
        | Fields.Metric_Metadata -> metadata <- add metadata (readAttribute r tag "Metric.metadata")
        | _ -> r.Skip tag

    { Name = name
      Description = description
      Unit = unit
      Data = readMetricData r dataField dataAt
      Metadata = finish metadata }

let private scopeMetricsFields =
    levelFields
        "ScopeMetrics"
        (Fields.ScopeMetrics_Scope, "scope")
        (Fields.ScopeMetrics_Metrics, "metrics")
        Fields.ScopeMetrics_Schema_Url

let private readScopeMetrics (r: R) : ScopeMetrics =
    let struct (scopeAt, metrics, schemaUrl) = readLevel r scopeMetricsFields readMetric

    { Scope = readScope r scopeAt
      Metrics = metrics
      SchemaUrl = schemaUrl }

let private resourceMetricsFields =
    levelFields
        "ResourceMetrics"
        (Fields.ResourceMetrics_Resource, "resource")
        (Fields.ResourceMetrics_Scope_Metrics, "scope_metrics")
        Fields.ResourceMetrics_Schema_Url

let private readResourceMetrics (r: R) : ResourceMetrics =
    let struct (resourceAt, scopeMetrics, schemaUrl) = readLevel r resourceMetricsFields readScopeMetrics

    { Resource = readResource r resourceAt
      ScopeMetrics = scopeMetrics
      SchemaUrl = schemaUrl }

let private readMetricsRequest (r: R) : ExportMetricsServiceRequest =
    { ResourceMetrics =
        readRequest
            r
            Fields.ExportMetricsServiceRequest_Resource_Metrics
            "ExportMetricsServiceRequest.resource_metrics"
            readResourceMetrics }

// ---------------------------------------------------------------------------------------------------------
// logs/v1

let private readLogRecord (r: R) : LogRecord =
    let mutable time = 0UL
    let mutable observedTime = 0UL
    let mutable severityNumber = SeverityNumber.Unspecified
    let mutable severityText = ""
    let mutable bodyAt = Occurrences.None
    let mutable attributes = null
    let mutable dropped = 0u
    let mutable flags = 0u
    let mutable traceId = TraceId.Empty
    let mutable spanId = SpanId.Empty
    let mutable eventName = ""

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.LogRecord_Time_Unix_Nano -> time <- r.Fixed64(tag, "LogRecord.time_unix_nano")
        | Fields.LogRecord_Observed_Time_Unix_Nano -> observedTime <- r.Fixed64(tag, "LogRecord.observed_time_unix_nano")
        | Fields.LogRecord_Severity_Number ->
            severityNumber <- enum<SeverityNumber> (r.Int32(tag, "LogRecord.severity_number"))
        | Fields.LogRecord_Severity_Text -> severityText <- r.String(tag, "LogRecord.severity_text")
        | Fields.LogRecord_Body -> bodyAt <- r.Defer(tag, "LogRecord.body", bodyAt)
        | Fields.LogRecord_Attributes ->
            attributes <- add attributes (readAttribute r tag "LogRecord.attributes")
        | Fields.LogRecord_Dropped_Attributes_Count -> dropped <- r.UInt32(tag, "LogRecord.dropped_attributes_count")
        | Fields.LogRecord_Flags -> flags <- r.Fixed32(tag, "LogRecord.flags")
        | Fields.LogRecord_Trace_Id -> traceId <- r.TraceId(tag, "LogRecord.trace_id")
        | Fields.LogRecord_Span_Id -> spanId <- r.SpanId(tag, "LogRecord.span_id")
        | Fields.LogRecord_Event_Name -> eventName <- r.String(tag, "LogRecord.event_name")
        | _ -> r.Skip tag

    { TimeUnixNano = time
      ObservedTimeUnixNano = observedTime
      SeverityNumber = severityNumber
      SeverityText = severityText
      Body = readAnyValue r 1 bodyAt
      Attributes = finish attributes
      DroppedAttributesCount = dropped
      Flags = flags
      TraceId = traceId
      SpanId = spanId
      EventName = eventName }

let private scopeLogsFields =
    levelFields
        "ScopeLogs"
        (Fields.ScopeLogs_Scope, "scope")
        (Fields.ScopeLogs_Log_Records, "log_records")
        Fields.ScopeLogs_Schema_Url

let private readScopeLogs (r: R) : ScopeLogs =
    let struct (scopeAt, records, schemaUrl) = readLevel r scopeLogsFields readLogRecord

    { Scope = readScope r scopeAt
      LogRecords = records
      SchemaUrl = schemaUrl }

let private resourceLogsFields =
    levelFields
        "ResourceLogs"
        (Fields.ResourceLogs_Resource, "resource")
        (Fields.ResourceLogs_Scope_Logs, "scope_logs")
        Fields.ResourceLogs_Schema_Url

let private readResourceLogs (r: R) : ResourceLogs =
    let struct (resourceAt, scopeLogs, schemaUrl) = readLevel r resourceLogsFields readScopeLogs

    { Resource = readResource r resourceAt
      ScopeLogs = scopeLogs
      SchemaUrl = schemaUrl }

let private readLogsRequest (r: R) : ExportLogsServiceRequest =
    { ResourceLogs =
        readRequest
            r
            Fields.ExportLogsServiceRequest_Resource_Logs
            "ExportLogsServiceRequest.resource_logs"
            readResourceLogs }

// ---------------------------------------------------------------------------------------------------------
// collector/*/v1 responses: the three differ only in the name of the rejected count.

/// The names of a service's response fields, for error messages.
[<Struct>]
type private ResponseNames =
    { PartialSuccess: string
      Rejected: string
      ErrorMessage: string }

let private traceNames =
    { PartialSuccess = "ExportTraceServiceResponse.partial_success"
      Rejected = "ExportTracePartialSuccess.rejected_spans"
      ErrorMessage = "ExportTracePartialSuccess.error_message" }

let private metricsNames =
    { PartialSuccess = "ExportMetricsServiceResponse.partial_success"
      Rejected = "ExportMetricsPartialSuccess.rejected_data_points"
      ErrorMessage = "ExportMetricsPartialSuccess.error_message" }

let private logsNames =
    { PartialSuccess = "ExportLogsServiceResponse.partial_success"
      Rejected = "ExportLogsPartialSuccess.rejected_log_records"
      ErrorMessage = "ExportLogsPartialSuccess.error_message" }

let private readPartialSuccess (r: R) (names: ResponseNames) (at: Occurrences) : PartialSuccess =
    let outer = r.Suspend()
    let mutable rejected = 0L
    let mutable errorMessage = ""

    for i in 0 .. at.Count - 1 do
        r.Focus(at, i)

        while r.HasMore do
            let tag = r.ReadTag()

            match field tag with
            | Fields.PartialSuccess_Rejected -> rejected <- r.Int64(tag, names.Rejected)
            | Fields.PartialSuccess_Error_Message -> errorMessage <- r.String(tag, names.ErrorMessage)
            | _ -> r.Skip tag

    r.Resume outer
    { Rejected = rejected; ErrorMessage = errorMessage }

let private readResponse (r: R) (names: ResponseNames) : PartialSuccess =
    let mutable partialSuccessAt = Occurrences.None

    while r.HasMore do
        let tag = r.ReadTag()

        match field tag with
        | Fields.ExportServiceResponse_Partial_Success ->
            partialSuccessAt <- r.Defer(tag, names.PartialSuccess, partialSuccessAt)
        | _ -> r.Skip tag

    if partialSuccessAt.Count = 0 then
        PartialSuccess.Empty
    else
        readPartialSuccess r names partialSuccessAt

// ---------------------------------------------------------------------------------------------------------
// Entry points

let private run (read: R -> 'T) (input: ReadOnlyMemory<byte>) : Result<'T, DecodeError> =
    let r = R.Create input

    try
        Ok(read r)
    with
    | :? DecodeFailure as failure -> Error failure.Error
    // Last resort, so that no input can make a decoder throw: every malformed input is meant to end in a
    // DecodeFailure above, and the tests check that this message never appears.
    | e -> Error { Message = $"unexpected decoder failure: {e.GetType().Name}: {e.Message}"; Position = r.Position }

[<CompiledName("DecodeTraceRequest")>]
let traceRequest input = run readTraceRequest input

[<CompiledName("DecodeMetricsRequest")>]
let metricsRequest input = run readMetricsRequest input

[<CompiledName("DecodeLogsRequest")>]
let logsRequest input = run readLogsRequest input

[<CompiledName("DecodeTraceResponse")>]
let traceResponse input =
    run (fun r -> { ExportTraceServiceResponse.PartialSuccess = readResponse r traceNames }) input

[<CompiledName("DecodeMetricsResponse")>]
let metricsResponse input =
    run (fun r -> { ExportMetricsServiceResponse.PartialSuccess = readResponse r metricsNames }) input

[<CompiledName("DecodeLogsResponse")>]
let logsResponse input =
    run (fun r -> { ExportLogsServiceResponse.PartialSuccess = readResponse r logsNames }) input

/// Reads the OTLP messages from OTLP/JSON, on top of the scalar readers of `JsonReader`. Each message reader
/// starts on the message's `{` and stops on its `}`; unknown fields are skipped, null fields keep their default.
module internal Otlp.Core.Json.JsonDecode

open System.Text.Json
open Otlp.Core
open Otlp.Core.Json.JsonReader

let private spanKinds =
    [| "SPAN_KIND_UNSPECIFIED"; "SPAN_KIND_INTERNAL"; "SPAN_KIND_SERVER"; "SPAN_KIND_CLIENT"; "SPAN_KIND_PRODUCER"
       "SPAN_KIND_CONSUMER" |]

let private statusCodes = [| "STATUS_CODE_UNSET"; "STATUS_CODE_OK"; "STATUS_CODE_ERROR" |]

let private temporalities =
    [| "AGGREGATION_TEMPORALITY_UNSPECIFIED"; "AGGREGATION_TEMPORALITY_DELTA"; "AGGREGATION_TEMPORALITY_CUMULATIVE" |]

let private severities =
    Array.append
        [| "SEVERITY_NUMBER_UNSPECIFIED" |]
        [| for level in [ "TRACE"; "DEBUG"; "INFO"; "WARN"; "ERROR"; "FATAL" ] do
               for step in [ ""; "2"; "3"; "4" ] do
                   $"SEVERITY_NUMBER_{level}{step}" |]

// A oneof holds at most one member: a second one is an error, as in protobuf's own JSON parsers.
let private oneofTwice (r: byref<Utf8JsonReader>) (oneof: string) : 'T =
    fail &r $"more than one member of the oneof '{oneof}' is set"

// ------------------------------------------------------------------------------------------------ common

let rec private anyValue (r: byref<Utf8JsonReader>) : AnyValue =
    startObject &r "AnyValue"
    let mutable result = AnyValue.Empty
    let mutable set = false
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            let v =
                match name with
                | "stringValue" -> ValueSome(AnyValue.String(string &r name))
                | "boolValue" -> ValueSome(AnyValue.Bool(bool &r name))
                | "intValue" -> ValueSome(AnyValue.Int(int64 &r name))
                | "doubleValue" -> ValueSome(AnyValue.Double(double &r name))
                | "bytesValue" -> ValueSome(AnyValue.Bytes(bytes &r name))
                | "arrayValue" ->
                    startObject &r name
                    let mutable values = [||]
                    while nextProperty &r do
                        let inner = propertyName &r
                        if value &r then
                            match inner with
                            | "values" -> values <- anyValues &r inner
                            | _ -> skip &r
                    ValueSome(AnyValue.Array values)
                | "kvlistValue" -> ValueSome(AnyValue.KvList(keyValueList &r name))
                | _ ->
                    skip &r
                    ValueNone
            match v with
            | ValueSome v ->
                if set then oneofTwice &r "value"
                result <- v
                set <- true
            | ValueNone -> ()
    result

and private keyValueList (r: byref<Utf8JsonReader>) (field: string) : KeyValue array =
    startObject &r field
    let mutable values = [||]
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "values" -> values <- keyValues &r name
            | _ -> skip &r
    values

and private keyValue (r: byref<Utf8JsonReader>) : KeyValue =
    startObject &r "KeyValue"
    let mutable key = ""
    let mutable v = AnyValue.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "key" -> key <- string &r name
            | "value" -> v <- anyValue &r
            | _ -> skip &r
    { Key = key; Value = v }

// The loops of `JsonReader.array`, spelled out: a delegate inside this recursive group would be a recursive
// value, checked at run time.
and private anyValues (r: byref<Utf8JsonReader>) (field: string) : AnyValue array =
    if r.TokenType <> JsonTokenType.StartArray then
        fail &r $"'{field}' must be an array"
    else
        let items = ResizeArray<AnyValue>()
        next &r
        while r.TokenType <> JsonTokenType.EndArray do
            items.Add(anyValue &r)
            next &r
        items.ToArray()

and private keyValues (r: byref<Utf8JsonReader>) (field: string) : KeyValue array =
    if r.TokenType <> JsonTokenType.StartArray then
        fail &r $"'{field}' must be an array"
    else
        let items = ResizeArray<KeyValue>()
        next &r
        while r.TokenType <> JsonTokenType.EndArray do
            items.Add(keyValue &r)
            next &r
        items.ToArray()

let private attributes (r: byref<Utf8JsonReader>) (field: string) = keyValues &r field

let private stringItem = ReadItem<string>(fun r -> string &r "string list")
let private uint64Item = ReadItem<uint64>(fun r -> uint64 &r "bucketCounts")
let private doubleItem = ReadItem<float>(fun r -> double &r "explicitBounds")

let private scope (r: byref<Utf8JsonReader>) : InstrumentationScope =
    startObject &r "scope"
    let mutable s = InstrumentationScope.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "name" -> s <- { s with Name = string &r name }
            | "version" -> s <- { s with Version = string &r name }
            | "attributes" -> s <- { s with Attributes = attributes &r name }
            | "droppedAttributesCount" -> s <- { s with DroppedAttributesCount = uint32 &r name }
            | _ -> skip &r
    s

let private entityRef (r: byref<Utf8JsonReader>) : EntityRef =
    startObject &r "EntityRef"
    let mutable e = { SchemaUrl = ""; Type = ""; IdKeys = [||]; DescriptionKeys = [||] }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "schemaUrl" -> e <- { e with SchemaUrl = string &r name }
            | "type" -> e <- { e with Type = string &r name }
            | "idKeys" -> e <- { e with IdKeys = array &r name stringItem }
            | "descriptionKeys" -> e <- { e with DescriptionKeys = array &r name stringItem }
            | _ -> skip &r
    e

let private entityRefItem = ReadItem<EntityRef>(fun r -> entityRef &r)

let private resource (r: byref<Utf8JsonReader>) : Resource =
    startObject &r "resource"
    let mutable res = Resource.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "attributes" -> res <- { res with Attributes = attributes &r name }
            | "droppedAttributesCount" -> res <- { res with DroppedAttributesCount = uint32 &r name }
            | "entityRefs" -> res <- { res with EntityRefs = array &r name entityRefItem }
            | _ -> skip &r
    res

let private scopeItem = ReadItem<InstrumentationScope>(fun r -> scope &r)
let private resourceItem = ReadItem<Resource>(fun r -> resource &r)

/// Reads an envelope level, the message `what` (ScopeSpans, ResourceLogs, ...): its head under `headField` (its scope
/// or resource; `emptyHead` when absent), its children under `childrenField`, its schema URL. The three signals'
/// levels have one shape, read here once.
let private level
    (r: byref<Utf8JsonReader>)
    (what: string)
    (headField: string, head: ReadItem<'Head>, emptyHead: 'Head)
    (childrenField: string, child: ReadItem<'Child>)
    : struct ('Head * 'Child array * string) =
    startObject &r what
    let mutable headValue = emptyHead
    let mutable children = [||]
    let mutable schemaUrl = ""
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            if name = headField then headValue <- head.Invoke(&r)
            elif name = childrenField then children <- array &r name child
            elif name = "schemaUrl" then schemaUrl <- string &r name
            else skip &r
    struct (headValue, children, schemaUrl)

/// A scope level: its scope, then its items under `itemsField`.
let private scopeLevel (r: byref<Utf8JsonReader>) (what: string) (itemsField: string) (item: ReadItem<'Item>) =
    level &r what ("scope", scopeItem, InstrumentationScope.Empty) (itemsField, item)

/// A resource level: its resource, then its scope levels under `scopesField`.
let private resourceLevel (r: byref<Utf8JsonReader>) (what: string) (scopesField: string) (scopes: ReadItem<'Scope>) =
    level &r what ("resource", resourceItem, Resource.Empty) (scopesField, scopes)

// ------------------------------------------------------------------------------------------------ trace

let private event (r: byref<Utf8JsonReader>) : SpanEvent =
    startObject &r "Event"
    let mutable e = { TimeUnixNano = 0UL; Name = ""; Attributes = [||]; DroppedAttributesCount = 0u }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "timeUnixNano" -> e <- { e with TimeUnixNano = uint64 &r name }
            | "name" -> e <- { e with Name = string &r name }
            | "attributes" -> e <- { e with Attributes = attributes &r name }
            | "droppedAttributesCount" -> e <- { e with DroppedAttributesCount = uint32 &r name }
            | _ -> skip &r
    e

let private link (r: byref<Utf8JsonReader>) : SpanLink =
    startObject &r "Link"
    let mutable l =
        { TraceId = TraceId.Empty
          SpanId = SpanId.Empty
          TraceState = ""
          Attributes = [||]
          DroppedAttributesCount = 0u
          Flags = 0u }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "traceId" -> l <- { l with TraceId = traceId &r name }
            | "spanId" -> l <- { l with SpanId = spanId &r name }
            | "traceState" -> l <- { l with TraceState = string &r name }
            | "attributes" -> l <- { l with Attributes = attributes &r name }
            | "droppedAttributesCount" -> l <- { l with DroppedAttributesCount = uint32 &r name }
            | "flags" -> l <- { l with Flags = uint32 &r name }
            | _ -> skip &r
    l

let private status (r: byref<Utf8JsonReader>) : Status =
    startObject &r "status"
    let mutable s = Status.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "message" -> s <- { s with Message = string &r name }
            | "code" -> s <- { s with Code = enum (enumValue &r name statusCodes) }
            | _ -> skip &r
    s

let private eventItem = ReadItem<SpanEvent>(fun r -> event &r)
let private linkItem = ReadItem<SpanLink>(fun r -> link &r)

let private span (r: byref<Utf8JsonReader>) : Span =
    startObject &r "Span"
    // Locals, not `{ s with ... }`: a copy of the record per field would be most of the decoder's garbage.
    let mutable traceIdV = TraceId.Empty
    let mutable spanIdV = SpanId.Empty
    let mutable traceState = ""
    let mutable parentSpanId = SpanId.Empty
    let mutable flags = 0u
    let mutable spanName = ""
    let mutable kind = SpanKind.Unspecified
    let mutable start = 0UL
    let mutable finish = 0UL
    let mutable attrs = [||]
    let mutable droppedAttributes = 0u
    let mutable events = [||]
    let mutable droppedEvents = 0u
    let mutable links = [||]
    let mutable droppedLinks = 0u
    let mutable spanStatus = Status.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "traceId" -> traceIdV <- traceId &r name
            | "spanId" -> spanIdV <- spanId &r name
            | "traceState" -> traceState <- string &r name
            | "parentSpanId" -> parentSpanId <- spanId &r name
            | "flags" -> flags <- uint32 &r name
            | "name" -> spanName <- string &r name
            | "kind" -> kind <- enum (enumValue &r name spanKinds)
            | "startTimeUnixNano" -> start <- uint64 &r name
            | "endTimeUnixNano" -> finish <- uint64 &r name
            | "attributes" -> attrs <- attributes &r name
            | "droppedAttributesCount" -> droppedAttributes <- uint32 &r name
            | "events" -> events <- array &r name eventItem
            | "droppedEventsCount" -> droppedEvents <- uint32 &r name
            | "links" -> links <- array &r name linkItem
            | "droppedLinksCount" -> droppedLinks <- uint32 &r name
            | "status" -> spanStatus <- status &r
            | _ -> skip &r
    { TraceId = traceIdV
      SpanId = spanIdV
      TraceState = traceState
      ParentSpanId = parentSpanId
      Flags = flags
      Name = spanName
      Kind = kind
      StartTimeUnixNano = start
      EndTimeUnixNano = finish
      Attributes = attrs
      DroppedAttributesCount = droppedAttributes
      Events = events
      DroppedEventsCount = droppedEvents
      Links = links
      DroppedLinksCount = droppedLinks
      Status = spanStatus }

let private spanItem = ReadItem<Span>(fun r -> span &r)

let private scopeSpans (r: byref<Utf8JsonReader>) : ScopeSpans =
    let struct (scope, spans, schemaUrl) = scopeLevel &r "ScopeSpans" "spans" spanItem
    { Scope = scope; Spans = spans; SchemaUrl = schemaUrl }

let private scopeSpansItem = ReadItem<ScopeSpans>(fun r -> scopeSpans &r)

let private resourceSpans (r: byref<Utf8JsonReader>) : ResourceSpans =
    let struct (resource, scopeSpans, schemaUrl) = resourceLevel &r "ResourceSpans" "scopeSpans" scopeSpansItem
    { Resource = resource; ScopeSpans = scopeSpans; SchemaUrl = schemaUrl }

let private resourceSpansItem = ReadItem<ResourceSpans>(fun r -> resourceSpans &r)

// ------------------------------------------------------------------------------------------------ metrics

/// The `value` oneof of number points and exemplars: `asDouble` or `asInt`.
let private numberValue (r: byref<Utf8JsonReader>) (name: string) (current: NumberValue) =
    let v = if name = "asDouble" then AsDouble(double &r name) else AsInt(int64 &r name)
    match current with
    | NoValue -> v
    | _ -> oneofTwice &r "value"

let private exemplar (r: byref<Utf8JsonReader>) : Exemplar =
    startObject &r "Exemplar"
    let mutable e =
        { FilteredAttributes = [||]
          TimeUnixNano = 0UL
          Value = NoValue
          SpanId = SpanId.Empty
          TraceId = TraceId.Empty }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "filteredAttributes" -> e <- { e with FilteredAttributes = attributes &r name }
            | "timeUnixNano" -> e <- { e with TimeUnixNano = uint64 &r name }
            | "asDouble"
            | "asInt" -> e <- { e with Value = numberValue &r name e.Value }
            | "spanId" -> e <- { e with SpanId = spanId &r name }
            | "traceId" -> e <- { e with TraceId = traceId &r name }
            | _ -> skip &r
    e

let private exemplarItem = ReadItem<Exemplar>(fun r -> exemplar &r)

let private numberPoint (r: byref<Utf8JsonReader>) : NumberDataPoint =
    startObject &r "NumberDataPoint"
    let mutable attrs = [||]
    let mutable start = 0UL
    let mutable time = 0UL
    let mutable number = NoValue
    let mutable exemplars = [||]
    let mutable flags = 0u
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "attributes" -> attrs <- attributes &r name
            | "startTimeUnixNano" -> start <- uint64 &r name
            | "timeUnixNano" -> time <- uint64 &r name
            | "asDouble"
            | "asInt" -> number <- numberValue &r name number
            | "exemplars" -> exemplars <- array &r name exemplarItem
            | "flags" -> flags <- uint32 &r name
            | _ -> skip &r
    { Attributes = attrs
      StartTimeUnixNano = start
      TimeUnixNano = time
      Value = number
      Exemplars = exemplars
      Flags = flags }

let private histogramPoint (r: byref<Utf8JsonReader>) : HistogramDataPoint =
    startObject &r "HistogramDataPoint"
    let mutable attrs = [||]
    let mutable start = 0UL
    let mutable time = 0UL
    let mutable count = 0UL
    let mutable sum = ValueNone
    let mutable bucketCounts = [||]
    let mutable bounds = [||]
    let mutable exemplars = [||]
    let mutable flags = 0u
    let mutable min = ValueNone
    let mutable max = ValueNone
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "attributes" -> attrs <- attributes &r name
            | "startTimeUnixNano" -> start <- uint64 &r name
            | "timeUnixNano" -> time <- uint64 &r name
            | "count" -> count <- uint64 &r name
            | "sum" -> sum <- ValueSome(double &r name)
            | "bucketCounts" -> bucketCounts <- array &r name uint64Item
            | "explicitBounds" -> bounds <- array &r name doubleItem
            | "exemplars" -> exemplars <- array &r name exemplarItem
            | "flags" -> flags <- uint32 &r name
            | "min" -> min <- ValueSome(double &r name)
            | "max" -> max <- ValueSome(double &r name)
            | _ -> skip &r
    { Attributes = attrs
      StartTimeUnixNano = start
      TimeUnixNano = time
      Count = count
      Sum = sum
      BucketCounts = bucketCounts
      ExplicitBounds = bounds
      Exemplars = exemplars
      Flags = flags
      Min = min
      Max = max }

let private buckets (r: byref<Utf8JsonReader>) (field: string) : ExponentialBuckets =
    startObject &r field
    let mutable b = ExponentialBuckets.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "offset" -> b <- { b with Offset = int32 &r name }
            | "bucketCounts" -> b <- { b with BucketCounts = array &r name uint64Item }
            | _ -> skip &r
    b

let private exponentialPoint (r: byref<Utf8JsonReader>) : ExponentialHistogramDataPoint =
    startObject &r "ExponentialHistogramDataPoint"
    let mutable attrs = [||]
    let mutable start = 0UL
    let mutable time = 0UL
    let mutable count = 0UL
    let mutable sum = ValueNone
    let mutable scale = 0
    let mutable zeroCount = 0UL
    let mutable positive = ExponentialBuckets.Empty
    let mutable negative = ExponentialBuckets.Empty
    let mutable flags = 0u
    let mutable exemplars = [||]
    let mutable min = ValueNone
    let mutable max = ValueNone
    let mutable zeroThreshold = 0.0
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "attributes" -> attrs <- attributes &r name
            | "startTimeUnixNano" -> start <- uint64 &r name
            | "timeUnixNano" -> time <- uint64 &r name
            | "count" -> count <- uint64 &r name
            | "sum" -> sum <- ValueSome(double &r name)
            | "scale" -> scale <- int32 &r name
            | "zeroCount" -> zeroCount <- uint64 &r name
            | "positive" -> positive <- buckets &r name
            | "negative" -> negative <- buckets &r name
            | "flags" -> flags <- uint32 &r name
            | "exemplars" -> exemplars <- array &r name exemplarItem
            | "min" -> min <- ValueSome(double &r name)
            | "max" -> max <- ValueSome(double &r name)
            | "zeroThreshold" -> zeroThreshold <- double &r name
            | _ -> skip &r
    { Attributes = attrs
      StartTimeUnixNano = start
      TimeUnixNano = time
      Count = count
      Sum = sum
      Scale = scale
      ZeroCount = zeroCount
      Positive = positive
      Negative = negative
      Flags = flags
      Exemplars = exemplars
      Min = min
      Max = max
      ZeroThreshold = zeroThreshold }

let private quantile (r: byref<Utf8JsonReader>) : ValueAtQuantile =
    startObject &r "ValueAtQuantile"
    let mutable q = { Quantile = 0.0; Value = 0.0 }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "quantile" -> q <- { q with Quantile = double &r name }
            | "value" -> q <- { q with Value = double &r name }
            | _ -> skip &r
    q

let private quantileItem = ReadItem<ValueAtQuantile>(fun r -> quantile &r)

let private summaryPoint (r: byref<Utf8JsonReader>) : SummaryDataPoint =
    startObject &r "SummaryDataPoint"
    let mutable p =
        { Attributes = [||]
          StartTimeUnixNano = 0UL
          TimeUnixNano = 0UL
          Count = 0UL
          Sum = 0.0
          QuantileValues = [||]
          Flags = 0u }
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "attributes" -> p <- { p with Attributes = attributes &r name }
            | "startTimeUnixNano" -> p <- { p with StartTimeUnixNano = uint64 &r name }
            | "timeUnixNano" -> p <- { p with TimeUnixNano = uint64 &r name }
            | "count" -> p <- { p with Count = uint64 &r name }
            | "sum" -> p <- { p with Sum = double &r name }
            | "quantileValues" -> p <- { p with QuantileValues = array &r name quantileItem }
            | "flags" -> p <- { p with Flags = uint32 &r name }
            | _ -> skip &r
    p

let private numberPointItem = ReadItem<NumberDataPoint>(fun r -> numberPoint &r)
let private histogramPointItem = ReadItem<HistogramDataPoint>(fun r -> histogramPoint &r)
let private exponentialPointItem = ReadItem<ExponentialHistogramDataPoint>(fun r -> exponentialPoint &r)
let private summaryPointItem = ReadItem<SummaryDataPoint>(fun r -> summaryPoint &r)

/// The body of Gauge, Sum, Histogram, ExponentialHistogram or Summary: points, temporality, monotonicity.
let private metricData (r: byref<Utf8JsonReader>) (field: string) (points: ReadItem<'P>) =
    startObject &r field
    let mutable dataPoints = [||]
    let mutable temporality = 0
    let mutable monotonic = false
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "dataPoints" -> dataPoints <- array &r name points
            | "aggregationTemporality" -> temporality <- enumValue &r name temporalities
            | "isMonotonic" -> monotonic <- bool &r name
            | _ -> skip &r
    struct (dataPoints, enum<AggregationTemporality> temporality, monotonic)

let private metric (r: byref<Utf8JsonReader>) : Metric =
    startObject &r "Metric"
    let mutable m = { Name = ""; Description = ""; Unit = ""; Data = MetricData.NoData; Metadata = [||] }
    let setData (current: MetricData) (data: MetricData) =
        match current with
        | MetricData.NoData -> ValueSome data
        | _ -> ValueNone
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            let data =
                match name with
                | "name" ->
                    m <- { m with Name = string &r name }
                    ValueNone
                | "description" ->
                    m <- { m with Description = string &r name }
                    ValueNone
                | "unit" ->
                    m <- { m with Unit = string &r name }
                    ValueNone
                | "metadata" ->
                    m <- { m with Metadata = attributes &r name }
                    ValueNone
                | "gauge" ->
                    let struct (points, _, _) = metricData &r name numberPointItem
                    ValueSome(MetricData.Gauge points)
                | "sum" ->
                    let struct (points, temporality, monotonic) = metricData &r name numberPointItem
                    ValueSome(
                        MetricData.Sum
                            { DataPoints = points
                              AggregationTemporality = temporality
                              IsMonotonic = monotonic }
                    )
                | "histogram" ->
                    let struct (points, temporality, _) = metricData &r name histogramPointItem
                    ValueSome(MetricData.Histogram { DataPoints = points; AggregationTemporality = temporality })
                | "exponentialHistogram" ->
                    let struct (points, temporality, _) = metricData &r name exponentialPointItem
                    ValueSome(MetricData.ExponentialHistogram { DataPoints = points; AggregationTemporality = temporality })
                | "summary" ->
                    let struct (points, _, _) = metricData &r name summaryPointItem
                    ValueSome(MetricData.Summary points)
                | _ ->
                    skip &r
                    ValueNone
            match data with
            | ValueSome d ->
                match setData m.Data d with
                | ValueSome d -> m <- { m with Data = d }
                | ValueNone -> oneofTwice &r "data"
            | ValueNone -> ()
    m

let private metricItem = ReadItem<Metric>(fun r -> metric &r)

let private scopeMetrics (r: byref<Utf8JsonReader>) : ScopeMetrics =
    let struct (scope, metrics, schemaUrl) = scopeLevel &r "ScopeMetrics" "metrics" metricItem
    { Scope = scope; Metrics = metrics; SchemaUrl = schemaUrl }

let private scopeMetricsItem = ReadItem<ScopeMetrics>(fun r -> scopeMetrics &r)

let private resourceMetrics (r: byref<Utf8JsonReader>) : ResourceMetrics =
    let struct (resource, scopeMetrics, schemaUrl) = resourceLevel &r "ResourceMetrics" "scopeMetrics" scopeMetricsItem
    { Resource = resource; ScopeMetrics = scopeMetrics; SchemaUrl = schemaUrl }

let private resourceMetricsItem = ReadItem<ResourceMetrics>(fun r -> resourceMetrics &r)

// ------------------------------------------------------------------------------------------------ logs

let private logRecord (r: byref<Utf8JsonReader>) : LogRecord =
    startObject &r "LogRecord"
    let mutable time = 0UL
    let mutable observed = 0UL
    let mutable severity = SeverityNumber.Unspecified
    let mutable severityText = ""
    let mutable body = AnyValue.Empty
    let mutable attrs = [||]
    let mutable droppedAttributes = 0u
    let mutable flags = 0u
    let mutable traceIdV = TraceId.Empty
    let mutable spanIdV = SpanId.Empty
    let mutable eventName = ""
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            match name with
            | "timeUnixNano" -> time <- uint64 &r name
            | "observedTimeUnixNano" -> observed <- uint64 &r name
            | "severityNumber" -> severity <- enum (enumValue &r name severities)
            | "severityText" -> severityText <- string &r name
            | "body" -> body <- anyValue &r
            | "attributes" -> attrs <- attributes &r name
            | "droppedAttributesCount" -> droppedAttributes <- uint32 &r name
            | "flags" -> flags <- uint32 &r name
            | "traceId" -> traceIdV <- traceId &r name
            | "spanId" -> spanIdV <- spanId &r name
            | "eventName" -> eventName <- string &r name
            | _ -> skip &r
    { TimeUnixNano = time
      ObservedTimeUnixNano = observed
      SeverityNumber = severity
      SeverityText = severityText
      Body = body
      Attributes = attrs
      DroppedAttributesCount = droppedAttributes
      Flags = flags
      TraceId = traceIdV
      SpanId = spanIdV
      EventName = eventName }

let private logRecordItem = ReadItem<LogRecord>(fun r -> logRecord &r)

let private scopeLogs (r: byref<Utf8JsonReader>) : ScopeLogs =
    let struct (scope, records, schemaUrl) = scopeLevel &r "ScopeLogs" "logRecords" logRecordItem
    { Scope = scope; LogRecords = records; SchemaUrl = schemaUrl }

let private scopeLogsItem = ReadItem<ScopeLogs>(fun r -> scopeLogs &r)

let private resourceLogs (r: byref<Utf8JsonReader>) : ResourceLogs =
    let struct (resource, scopeLogs, schemaUrl) = resourceLevel &r "ResourceLogs" "scopeLogs" scopeLogsItem
    { Resource = resource; ScopeLogs = scopeLogs; SchemaUrl = schemaUrl }

let private resourceLogsItem = ReadItem<ResourceLogs>(fun r -> resourceLogs &r)

// ------------------------------------------------------------------------------------------------ documents

/// A request: one repeated field of resources under `field`.
let private request (r: byref<Utf8JsonReader>) (what: string) (field: string) (item: ReadItem<'T>) : 'T array =
    startObject &r what
    let mutable items = [||]
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            if name = field then items <- array &r name item else skip &r
    items

let traceRequest (r: byref<Utf8JsonReader>) : ExportTraceServiceRequest =
    { ResourceSpans = request &r "ExportTraceServiceRequest" "resourceSpans" resourceSpansItem }

let metricsRequest (r: byref<Utf8JsonReader>) : ExportMetricsServiceRequest =
    { ResourceMetrics = request &r "ExportMetricsServiceRequest" "resourceMetrics" resourceMetricsItem }

let logsRequest (r: byref<Utf8JsonReader>) : ExportLogsServiceRequest =
    { ResourceLogs = request &r "ExportLogsServiceRequest" "resourceLogs" resourceLogsItem }

/// A response: its optional partial success, whose count is named `rejectedField`.
let response (r: byref<Utf8JsonReader>) (what: string) (rejectedField: string) : PartialSuccess =
    startObject &r what
    let mutable partial = PartialSuccess.Empty
    while nextProperty &r do
        let name = propertyName &r
        if value &r then
            if name = "partialSuccess" then
                startObject &r name
                while nextProperty &r do
                    let inner = propertyName &r
                    if value &r then
                        if inner = rejectedField then partial <- { partial with Rejected = int64 &r inner }
                        elif inner = "errorMessage" then partial <- { partial with ErrorMessage = string &r inner }
                        else skip &r
            else
                skip &r
    partial

/// Conversions between our model and the oracle: Google.Protobuf classes generated from proto/ (test-only).
/// Presence follows the model's conventions: a KeyValue's value is always present, while resource, scope,
/// status, exponential buckets, log body and partial success are present only when not empty.
module Otlp.Core.Tests.Oracle

open Google.Protobuf
open Otlp.Core

type private OAnyValue = Otlp.Oracle.Common.AnyValue
type private OKeyValue = Otlp.Oracle.Common.KeyValue
type private OScope = Otlp.Oracle.Common.InstrumentationScope
type private OEntityRef = Otlp.Oracle.Common.EntityRef
type private OResource = Otlp.Oracle.Resource.Resource
type private OSpan = Otlp.Oracle.Trace.Span
type private OEvent = Otlp.Oracle.Trace.Span.Types.Event
type private OLink = Otlp.Oracle.Trace.Span.Types.Link
type private OStatus = Otlp.Oracle.Trace.Status
type private OScopeSpans = Otlp.Oracle.Trace.ScopeSpans
type private OResourceSpans = Otlp.Oracle.Trace.ResourceSpans
type private OMetric = Otlp.Oracle.Metrics.Metric
type private ONumberPoint = Otlp.Oracle.Metrics.NumberDataPoint
type private OHistogramPoint = Otlp.Oracle.Metrics.HistogramDataPoint
type private OExpPoint = Otlp.Oracle.Metrics.ExponentialHistogramDataPoint
type private OBuckets = Otlp.Oracle.Metrics.ExponentialHistogramDataPoint.Types.Buckets
type private OSummaryPoint = Otlp.Oracle.Metrics.SummaryDataPoint
type private OQuantile = Otlp.Oracle.Metrics.SummaryDataPoint.Types.ValueAtQuantile
type private OExemplar = Otlp.Oracle.Metrics.Exemplar
type private OScopeMetrics = Otlp.Oracle.Metrics.ScopeMetrics
type private OResourceMetrics = Otlp.Oracle.Metrics.ResourceMetrics
type private OLogRecord = Otlp.Oracle.Logs.LogRecord
type private OScopeLogs = Otlp.Oracle.Logs.ScopeLogs
type private OResourceLogs = Otlp.Oracle.Logs.ResourceLogs

/// The oracle's trace request type.
type TraceRequest = Otlp.Oracle.Collector.Trace.ExportTraceServiceRequest
/// The oracle's metrics request type.
type MetricsRequest = Otlp.Oracle.Collector.Metrics.ExportMetricsServiceRequest
/// The oracle's logs request type.
type LogsRequest = Otlp.Oracle.Collector.Logs.ExportLogsServiceRequest
/// The oracle's trace response type.
type TraceResponse = Otlp.Oracle.Collector.Trace.ExportTraceServiceResponse
/// The oracle's metrics response type.
type MetricsResponse = Otlp.Oracle.Collector.Metrics.ExportMetricsServiceResponse
/// The oracle's logs response type.
type LogsResponse = Otlp.Oracle.Collector.Logs.ExportLogsServiceResponse

// ----------------------------------------------------------------------------------------------- model -> oracle

let private traceIdBytes (id: TraceId) =
    if id.IsEmpty then ByteString.Empty else ByteString.CopyFrom(id.ToByteArray())

let private spanIdBytes (id: SpanId) =
    if id.IsEmpty then ByteString.Empty else ByteString.CopyFrom(id.ToByteArray())

let rec private toAnyValue (value: AnyValue) : OAnyValue =
    let o = OAnyValue()
    match value with
    | AnyValue.Empty -> ()
    | AnyValue.String s -> o.StringValue <- s
    | AnyValue.Bool b -> o.BoolValue <- b
    | AnyValue.Int i -> o.IntValue <- i
    | AnyValue.Double d -> o.DoubleValue <- d
    | AnyValue.Bytes b -> o.BytesValue <- ByteString.CopyFrom b
    | AnyValue.Array values ->
        let a = Otlp.Oracle.Common.ArrayValue()
        a.Values.AddRange(values |> Array.map toAnyValue)
        o.ArrayValue <- a
    | AnyValue.KvList kvs ->
        let l = Otlp.Oracle.Common.KeyValueList()
        l.Values.AddRange(kvs |> Array.map toKeyValue)
        o.KvlistValue <- l
    o

and private toKeyValue (kv: KeyValue) : OKeyValue =
    OKeyValue(Key = kv.Key, Value = toAnyValue kv.Value)

let private toAttributes (kvs: KeyValue array) = kvs |> Array.map toKeyValue

let private toScope (s: InstrumentationScope) =
    if s = InstrumentationScope.Empty then
        null
    else
        let o = OScope(Name = s.Name, Version = s.Version, DroppedAttributesCount = s.DroppedAttributesCount)
        o.Attributes.AddRange(toAttributes s.Attributes)
        o

let private toResource (r: Resource) =
    if r = Resource.Empty then
        null
    else
        let o = OResource(DroppedAttributesCount = r.DroppedAttributesCount)
        o.Attributes.AddRange(toAttributes r.Attributes)
        for e in r.EntityRefs do
            let oe = OEntityRef(SchemaUrl = e.SchemaUrl, Type = e.Type)
            oe.IdKeys.AddRange e.IdKeys
            oe.DescriptionKeys.AddRange e.DescriptionKeys
            o.EntityRefs.Add oe
        o

let private toSpan (s: Span) =
    let o =
        OSpan(
            TraceId = traceIdBytes s.TraceId,
            SpanId = spanIdBytes s.SpanId,
            TraceState = s.TraceState,
            ParentSpanId = spanIdBytes s.ParentSpanId,
            Flags = s.Flags,
            Name = s.Name,
            Kind = enum (int s.Kind),
            StartTimeUnixNano = s.StartTimeUnixNano,
            EndTimeUnixNano = s.EndTimeUnixNano,
            DroppedAttributesCount = s.DroppedAttributesCount,
            DroppedEventsCount = s.DroppedEventsCount,
            DroppedLinksCount = s.DroppedLinksCount
        )
    o.Attributes.AddRange(toAttributes s.Attributes)
    for e in s.Events do
        let oe = OEvent(TimeUnixNano = e.TimeUnixNano, Name = e.Name, DroppedAttributesCount = e.DroppedAttributesCount)
        oe.Attributes.AddRange(toAttributes e.Attributes)
        o.Events.Add oe
    for l in s.Links do
        let ol =
            OLink(
                TraceId = traceIdBytes l.TraceId,
                SpanId = spanIdBytes l.SpanId,
                TraceState = l.TraceState,
                DroppedAttributesCount = l.DroppedAttributesCount,
                Flags = l.Flags
            )
        ol.Attributes.AddRange(toAttributes l.Attributes)
        o.Links.Add ol
    if s.Status <> Status.Empty then
        o.Status <- OStatus(Message = s.Status.Message, Code = enum (int s.Status.Code))
    o

let private toExemplar (e: Exemplar) =
    let o =
        OExemplar(TimeUnixNano = e.TimeUnixNano, SpanId = spanIdBytes e.SpanId, TraceId = traceIdBytes e.TraceId)
    o.FilteredAttributes.AddRange(toAttributes e.FilteredAttributes)
    match e.Value with
    | NoValue -> ()
    | AsDouble d -> o.AsDouble <- d
    | AsInt i -> o.AsInt <- i
    o

let private toNumberPoint (p: NumberDataPoint) =
    let o = ONumberPoint(StartTimeUnixNano = p.StartTimeUnixNano, TimeUnixNano = p.TimeUnixNano, Flags = p.Flags)
    o.Attributes.AddRange(toAttributes p.Attributes)
    match p.Value with
    | NoValue -> ()
    | AsDouble d -> o.AsDouble <- d
    | AsInt i -> o.AsInt <- i
    o.Exemplars.AddRange(p.Exemplars |> Array.map toExemplar)
    o

let private toHistogramPoint (p: HistogramDataPoint) =
    let o =
        OHistogramPoint(StartTimeUnixNano = p.StartTimeUnixNano, TimeUnixNano = p.TimeUnixNano, Count = p.Count, Flags = p.Flags)
    o.Attributes.AddRange(toAttributes p.Attributes)
    p.Sum |> ValueOption.iter (fun v -> o.Sum <- v)
    o.BucketCounts.AddRange p.BucketCounts
    o.ExplicitBounds.AddRange p.ExplicitBounds
    o.Exemplars.AddRange(p.Exemplars |> Array.map toExemplar)
    p.Min |> ValueOption.iter (fun v -> o.Min <- v)
    p.Max |> ValueOption.iter (fun v -> o.Max <- v)
    o

let private toBuckets (b: ExponentialBuckets) =
    if b = ExponentialBuckets.Empty then
        null
    else
        let o = OBuckets(Offset = b.Offset)
        o.BucketCounts.AddRange b.BucketCounts
        o

let private toExpPoint (p: ExponentialHistogramDataPoint) =
    let o =
        OExpPoint(
            StartTimeUnixNano = p.StartTimeUnixNano,
            TimeUnixNano = p.TimeUnixNano,
            Count = p.Count,
            Scale = p.Scale,
            ZeroCount = p.ZeroCount,
            Flags = p.Flags,
            ZeroThreshold = p.ZeroThreshold
        )
    o.Attributes.AddRange(toAttributes p.Attributes)
    p.Sum |> ValueOption.iter (fun v -> o.Sum <- v)
    o.Positive <- toBuckets p.Positive
    o.Negative <- toBuckets p.Negative
    o.Exemplars.AddRange(p.Exemplars |> Array.map toExemplar)
    p.Min |> ValueOption.iter (fun v -> o.Min <- v)
    p.Max |> ValueOption.iter (fun v -> o.Max <- v)
    o

let private toSummaryPoint (p: SummaryDataPoint) =
    let o =
        OSummaryPoint(StartTimeUnixNano = p.StartTimeUnixNano, TimeUnixNano = p.TimeUnixNano, Count = p.Count, Sum = p.Sum, Flags = p.Flags)
    o.Attributes.AddRange(toAttributes p.Attributes)
    o.QuantileValues.AddRange(p.QuantileValues |> Array.map (fun q -> OQuantile(Quantile = q.Quantile, Value = q.Value)))
    o

let private toMetric (m: Metric) =
    let o = OMetric(Name = m.Name, Description = m.Description, Unit = m.Unit)
    o.Metadata.AddRange(toAttributes m.Metadata)
    match m.Data with
    | MetricData.NoData -> ()
    | MetricData.Gauge points ->
        let g = Otlp.Oracle.Metrics.Gauge()
        g.DataPoints.AddRange(points |> Array.map toNumberPoint)
        o.Gauge <- g
    | MetricData.Sum sum ->
        let s =
            Otlp.Oracle.Metrics.Sum(AggregationTemporality = enum (int sum.AggregationTemporality), IsMonotonic = sum.IsMonotonic)
        s.DataPoints.AddRange(sum.DataPoints |> Array.map toNumberPoint)
        o.Sum <- s
    | MetricData.Histogram h ->
        let oh = Otlp.Oracle.Metrics.Histogram(AggregationTemporality = enum (int h.AggregationTemporality))
        oh.DataPoints.AddRange(h.DataPoints |> Array.map toHistogramPoint)
        o.Histogram <- oh
    | MetricData.ExponentialHistogram h ->
        let oh = Otlp.Oracle.Metrics.ExponentialHistogram(AggregationTemporality = enum (int h.AggregationTemporality))
        oh.DataPoints.AddRange(h.DataPoints |> Array.map toExpPoint)
        o.ExponentialHistogram <- oh
    | MetricData.Summary points ->
        let s = Otlp.Oracle.Metrics.Summary()
        s.DataPoints.AddRange(points |> Array.map toSummaryPoint)
        o.Summary <- s
    o

let private toLogRecord (r: LogRecord) =
    let o =
        OLogRecord(
            TimeUnixNano = r.TimeUnixNano,
            ObservedTimeUnixNano = r.ObservedTimeUnixNano,
            SeverityNumber = enum (int r.SeverityNumber),
            SeverityText = r.SeverityText,
            DroppedAttributesCount = r.DroppedAttributesCount,
            Flags = r.Flags,
            TraceId = traceIdBytes r.TraceId,
            SpanId = spanIdBytes r.SpanId,
            EventName = r.EventName
        )
    if r.Body <> AnyValue.Empty then o.Body <- toAnyValue r.Body
    o.Attributes.AddRange(toAttributes r.Attributes)
    o

/// The oracle message equal to a trace request.
let ofTraceRequest (request: ExportTraceServiceRequest) =
    let o = TraceRequest()
    for rs in request.ResourceSpans do
        let ors = OResourceSpans(Resource = toResource rs.Resource, SchemaUrl = rs.SchemaUrl)
        for ss in rs.ScopeSpans do
            let oss = OScopeSpans(Scope = toScope ss.Scope, SchemaUrl = ss.SchemaUrl)
            oss.Spans.AddRange(ss.Spans |> Array.map toSpan)
            ors.ScopeSpans.Add oss
        o.ResourceSpans.Add ors
    o

/// The oracle message equal to a metrics request.
let ofMetricsRequest (request: ExportMetricsServiceRequest) =
    let o = MetricsRequest()
    for rm in request.ResourceMetrics do
        let orm = OResourceMetrics(Resource = toResource rm.Resource, SchemaUrl = rm.SchemaUrl)
        for sm in rm.ScopeMetrics do
            let osm = OScopeMetrics(Scope = toScope sm.Scope, SchemaUrl = sm.SchemaUrl)
            osm.Metrics.AddRange(sm.Metrics |> Array.map toMetric)
            orm.ScopeMetrics.Add osm
        o.ResourceMetrics.Add orm
    o

/// The oracle message equal to a logs request.
let ofLogsRequest (request: ExportLogsServiceRequest) =
    let o = LogsRequest()
    for rl in request.ResourceLogs do
        let orl = OResourceLogs(Resource = toResource rl.Resource, SchemaUrl = rl.SchemaUrl)
        for sl in rl.ScopeLogs do
            let osl = OScopeLogs(Scope = toScope sl.Scope, SchemaUrl = sl.SchemaUrl)
            osl.LogRecords.AddRange(sl.LogRecords |> Array.map toLogRecord)
            orl.ScopeLogs.Add osl
        o.ResourceLogs.Add orl
    o

/// The oracle message equal to a trace response.
let ofTraceResponse (response: ExportTraceServiceResponse) =
    let o = TraceResponse()
    if response.PartialSuccess <> PartialSuccess.Empty then
        o.PartialSuccess <-
            Otlp.Oracle.Collector.Trace.ExportTracePartialSuccess(
                RejectedSpans = response.PartialSuccess.Rejected,
                ErrorMessage = response.PartialSuccess.ErrorMessage
            )
    o

/// The oracle message equal to a metrics response.
let ofMetricsResponse (response: ExportMetricsServiceResponse) =
    let o = MetricsResponse()
    if response.PartialSuccess <> PartialSuccess.Empty then
        o.PartialSuccess <-
            Otlp.Oracle.Collector.Metrics.ExportMetricsPartialSuccess(
                RejectedDataPoints = response.PartialSuccess.Rejected,
                ErrorMessage = response.PartialSuccess.ErrorMessage
            )
    o

/// The oracle message equal to a logs response.
let ofLogsResponse (response: ExportLogsServiceResponse) =
    let o = LogsResponse()
    if response.PartialSuccess <> PartialSuccess.Empty then
        o.PartialSuccess <-
            Otlp.Oracle.Collector.Logs.ExportLogsPartialSuccess(
                RejectedLogRecords = response.PartialSuccess.Rejected,
                ErrorMessage = response.PartialSuccess.ErrorMessage
            )
    o

// ----------------------------------------------------------------------------------------------- oracle -> model

let private traceIdOf (bytes: ByteString) =
    if bytes.Length = 16 then TraceId.FromBytes(bytes.Span) else TraceId.Empty

let private spanIdOf (bytes: ByteString) =
    if bytes.Length = 8 then SpanId.FromBytes(bytes.Span) else SpanId.Empty

let rec private ofAnyValue (o: OAnyValue) : AnyValue =
    if isNull o then
        AnyValue.Empty
    else
        match o.ValueCase with
        | OAnyValue.ValueOneofCase.StringValue -> AnyValue.String o.StringValue
        | OAnyValue.ValueOneofCase.BoolValue -> AnyValue.Bool o.BoolValue
        | OAnyValue.ValueOneofCase.IntValue -> AnyValue.Int o.IntValue
        | OAnyValue.ValueOneofCase.DoubleValue -> AnyValue.Double o.DoubleValue
        | OAnyValue.ValueOneofCase.BytesValue -> AnyValue.Bytes(o.BytesValue.ToByteArray())
        | OAnyValue.ValueOneofCase.ArrayValue -> AnyValue.Array(o.ArrayValue.Values |> Seq.map ofAnyValue |> Array.ofSeq)
        | OAnyValue.ValueOneofCase.KvlistValue -> AnyValue.KvList(o.KvlistValue.Values |> Seq.map ofKeyValue |> Array.ofSeq)
        | _ -> AnyValue.Empty

and private ofKeyValue (o: OKeyValue) = { Key = o.Key; Value = ofAnyValue o.Value }

let private ofAttributes (kvs: seq<OKeyValue>) = kvs |> Seq.map ofKeyValue |> Array.ofSeq

let private ofScope (o: OScope) =
    if isNull o then
        InstrumentationScope.Empty
    else
        { Name = o.Name
          Version = o.Version
          Attributes = ofAttributes o.Attributes
          DroppedAttributesCount = o.DroppedAttributesCount }

let private ofResource (o: OResource) =
    if isNull o then
        Resource.Empty
    else
        { Attributes = ofAttributes o.Attributes
          DroppedAttributesCount = o.DroppedAttributesCount
          EntityRefs =
            o.EntityRefs
            |> Seq.map (fun e ->
                { SchemaUrl = e.SchemaUrl
                  Type = e.Type
                  IdKeys = Array.ofSeq e.IdKeys
                  DescriptionKeys = Array.ofSeq e.DescriptionKeys })
            |> Array.ofSeq }

let private ofSpan (o: OSpan) : Span =
    { TraceId = traceIdOf o.TraceId
      SpanId = spanIdOf o.SpanId
      TraceState = o.TraceState
      ParentSpanId = spanIdOf o.ParentSpanId
      Flags = o.Flags
      Name = o.Name
      Kind = enum (int o.Kind)
      StartTimeUnixNano = o.StartTimeUnixNano
      EndTimeUnixNano = o.EndTimeUnixNano
      Attributes = ofAttributes o.Attributes
      DroppedAttributesCount = o.DroppedAttributesCount
      Events =
        o.Events
        |> Seq.map (fun e ->
            { TimeUnixNano = e.TimeUnixNano
              Name = e.Name
              Attributes = ofAttributes e.Attributes
              DroppedAttributesCount = e.DroppedAttributesCount })
        |> Array.ofSeq
      DroppedEventsCount = o.DroppedEventsCount
      Links =
        o.Links
        |> Seq.map (fun l ->
            { TraceId = traceIdOf l.TraceId
              SpanId = spanIdOf l.SpanId
              TraceState = l.TraceState
              Attributes = ofAttributes l.Attributes
              DroppedAttributesCount = l.DroppedAttributesCount
              Flags = l.Flags })
        |> Array.ofSeq
      DroppedLinksCount = o.DroppedLinksCount
      Status =
        if isNull o.Status then Status.Empty
        else { Message = o.Status.Message; Code = enum (int o.Status.Code) } }

let private ofExemplar (o: OExemplar) =
    { FilteredAttributes = ofAttributes o.FilteredAttributes
      TimeUnixNano = o.TimeUnixNano
      Value =
        match o.ValueCase with
        | OExemplar.ValueOneofCase.AsDouble -> AsDouble o.AsDouble
        | OExemplar.ValueOneofCase.AsInt -> AsInt o.AsInt
        | _ -> NoValue
      SpanId = spanIdOf o.SpanId
      TraceId = traceIdOf o.TraceId }

let private ofNumberPoint (o: ONumberPoint) =
    { Attributes = ofAttributes o.Attributes
      StartTimeUnixNano = o.StartTimeUnixNano
      TimeUnixNano = o.TimeUnixNano
      Value =
        match o.ValueCase with
        | ONumberPoint.ValueOneofCase.AsDouble -> AsDouble o.AsDouble
        | ONumberPoint.ValueOneofCase.AsInt -> AsInt o.AsInt
        | _ -> NoValue
      Exemplars = o.Exemplars |> Seq.map ofExemplar |> Array.ofSeq
      Flags = o.Flags }

let private optional has (value: float) = if has then ValueSome value else ValueNone

let private ofBuckets (o: OBuckets) =
    if isNull o then ExponentialBuckets.Empty
    else { Offset = o.Offset; BucketCounts = Array.ofSeq o.BucketCounts }

let private ofMetric (o: OMetric) : Metric =
    let data =
        match o.DataCase with
        | OMetric.DataOneofCase.Gauge -> MetricData.Gauge(o.Gauge.DataPoints |> Seq.map ofNumberPoint |> Array.ofSeq)
        | OMetric.DataOneofCase.Sum ->
            MetricData.Sum
                { DataPoints = o.Sum.DataPoints |> Seq.map ofNumberPoint |> Array.ofSeq
                  AggregationTemporality = enum (int o.Sum.AggregationTemporality)
                  IsMonotonic = o.Sum.IsMonotonic }
        | OMetric.DataOneofCase.Histogram ->
            MetricData.Histogram
                { AggregationTemporality = enum (int o.Histogram.AggregationTemporality)
                  DataPoints =
                    o.Histogram.DataPoints
                    |> Seq.map (fun p ->
                        { Attributes = ofAttributes p.Attributes
                          StartTimeUnixNano = p.StartTimeUnixNano
                          TimeUnixNano = p.TimeUnixNano
                          Count = p.Count
                          Sum = optional p.HasSum p.Sum
                          BucketCounts = Array.ofSeq p.BucketCounts
                          ExplicitBounds = Array.ofSeq p.ExplicitBounds
                          Exemplars = p.Exemplars |> Seq.map ofExemplar |> Array.ofSeq
                          Flags = p.Flags
                          Min = optional p.HasMin p.Min
                          Max = optional p.HasMax p.Max })
                    |> Array.ofSeq }
        | OMetric.DataOneofCase.ExponentialHistogram ->
            MetricData.ExponentialHistogram
                { AggregationTemporality = enum (int o.ExponentialHistogram.AggregationTemporality)
                  DataPoints =
                    o.ExponentialHistogram.DataPoints
                    |> Seq.map (fun p ->
                        { Attributes = ofAttributes p.Attributes
                          StartTimeUnixNano = p.StartTimeUnixNano
                          TimeUnixNano = p.TimeUnixNano
                          Count = p.Count
                          Sum = optional p.HasSum p.Sum
                          Scale = p.Scale
                          ZeroCount = p.ZeroCount
                          Positive = ofBuckets p.Positive
                          Negative = ofBuckets p.Negative
                          Flags = p.Flags
                          Exemplars = p.Exemplars |> Seq.map ofExemplar |> Array.ofSeq
                          Min = optional p.HasMin p.Min
                          Max = optional p.HasMax p.Max
                          ZeroThreshold = p.ZeroThreshold })
                    |> Array.ofSeq }
        | OMetric.DataOneofCase.Summary ->
            MetricData.Summary(
                o.Summary.DataPoints
                |> Seq.map (fun p ->
                    { Attributes = ofAttributes p.Attributes
                      StartTimeUnixNano = p.StartTimeUnixNano
                      TimeUnixNano = p.TimeUnixNano
                      Count = p.Count
                      Sum = p.Sum
                      QuantileValues =
                        p.QuantileValues |> Seq.map (fun q -> { Quantile = q.Quantile; Value = q.Value }) |> Array.ofSeq
                      Flags = p.Flags })
                |> Array.ofSeq
            )
        | _ -> MetricData.NoData
    { Name = o.Name
      Description = o.Description
      Unit = o.Unit
      Data = data
      Metadata = ofAttributes o.Metadata }

let private ofLogRecord (o: OLogRecord) : LogRecord =
    { TimeUnixNano = o.TimeUnixNano
      ObservedTimeUnixNano = o.ObservedTimeUnixNano
      SeverityNumber = enum (int o.SeverityNumber)
      SeverityText = o.SeverityText
      Body = ofAnyValue o.Body
      Attributes = ofAttributes o.Attributes
      DroppedAttributesCount = o.DroppedAttributesCount
      Flags = o.Flags
      TraceId = traceIdOf o.TraceId
      SpanId = spanIdOf o.SpanId
      EventName = o.EventName }

/// Our model of an oracle trace request.
let toTraceRequest (o: TraceRequest) : ExportTraceServiceRequest =
    { ResourceSpans =
        o.ResourceSpans
        |> Seq.map (fun rs ->
            { Resource = ofResource rs.Resource
              SchemaUrl = rs.SchemaUrl
              ScopeSpans =
                rs.ScopeSpans
                |> Seq.map (fun ss ->
                    { Scope = ofScope ss.Scope
                      Spans = ss.Spans |> Seq.map ofSpan |> Array.ofSeq
                      SchemaUrl = ss.SchemaUrl })
                |> Array.ofSeq })
        |> Array.ofSeq }

/// Our model of an oracle metrics request.
let toMetricsRequest (o: MetricsRequest) : ExportMetricsServiceRequest =
    { ResourceMetrics =
        o.ResourceMetrics
        |> Seq.map (fun rm ->
            { Resource = ofResource rm.Resource
              SchemaUrl = rm.SchemaUrl
              ScopeMetrics =
                rm.ScopeMetrics
                |> Seq.map (fun sm ->
                    { Scope = ofScope sm.Scope
                      Metrics = sm.Metrics |> Seq.map ofMetric |> Array.ofSeq
                      SchemaUrl = sm.SchemaUrl })
                |> Array.ofSeq })
        |> Array.ofSeq }

/// Our model of an oracle logs request.
let toLogsRequest (o: LogsRequest) : ExportLogsServiceRequest =
    { ResourceLogs =
        o.ResourceLogs
        |> Seq.map (fun rl ->
            { Resource = ofResource rl.Resource
              SchemaUrl = rl.SchemaUrl
              ScopeLogs =
                rl.ScopeLogs
                |> Seq.map (fun sl ->
                    { Scope = ofScope sl.Scope
                      LogRecords = sl.LogRecords |> Seq.map ofLogRecord |> Array.ofSeq
                      SchemaUrl = sl.SchemaUrl })
                |> Array.ofSeq })
        |> Array.ofSeq }

let private ofPartial (present: bool) rejected message =
    if present then { Rejected = rejected; ErrorMessage = message } else PartialSuccess.Empty

/// Our model of an oracle trace response.
let toTraceResponse (o: TraceResponse) : ExportTraceServiceResponse =
    let p = o.PartialSuccess
    { PartialSuccess = if isNull p then PartialSuccess.Empty else ofPartial true p.RejectedSpans p.ErrorMessage }

/// Our model of an oracle metrics response.
let toMetricsResponse (o: MetricsResponse) : ExportMetricsServiceResponse =
    let p = o.PartialSuccess
    { PartialSuccess = if isNull p then PartialSuccess.Empty else ofPartial true p.RejectedDataPoints p.ErrorMessage }

/// Our model of an oracle logs response.
let toLogsResponse (o: LogsResponse) : ExportLogsServiceResponse =
    let p = o.PartialSuccess
    { PartialSuccess = if isNull p then PartialSuccess.Empty else ofPartial true p.RejectedLogRecords p.ErrorMessage }

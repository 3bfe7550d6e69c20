module Otlp.Core.ProtoEncoder

// One pass: every nested message reserves a guessed number of length bytes and is closed with its minimal
// length, moving its content only when the guess was wrong (see ProtoWriter and docs/encoding.md). The field
// rules of spans, logs, resources, scopes and attributes live in Protobuf/FieldRules.fs, shared with the
// encoders of .NET sources; the metric rules, which only the model has, are here.

open System
open System.Buffers
open System.Runtime.InteropServices
open Otlp.Core
open Otlp.Core.Protobuf
open Otlp.Core.Protobuf.Scalar

type private W = ProtoWriter

// ---------------------------------------------------------------------------------------------------- metrics/v1

let private numberValue (w: W) asDouble asInt (value: NumberValue) =
    match value with
    | NoValue -> ()
    | AsDouble d ->
        w.Tag(asDouble, Fields.WireFixed64)
        w.Double d
    | AsInt i ->
        w.Tag(asInt, Fields.WireFixed64)
        w.Fixed64(uint64 i)

let private exemplar (w: W) field (e: Exemplar) =
    // Field order: time (2), as_double (3), span_id (4), trace_id (5), as_int (6), filtered_attributes (7).
    let token = w.BeginMessage(field, Guess.Small)
    fixed64 w Fields.Exemplar_Time_Unix_Nano e.TimeUnixNano
    match e.Value with
    | AsDouble _ -> numberValue w Fields.Exemplar_As_Double Fields.Exemplar_As_Int e.Value
    | _ -> ()
    spanId w Fields.Exemplar_Span_Id e.SpanId
    traceId w Fields.Exemplar_Trace_Id e.TraceId
    match e.Value with
    | AsInt _ -> numberValue w Fields.Exemplar_As_Double Fields.Exemplar_As_Int e.Value
    | _ -> ()
    CommonFields.keyValues w Fields.Exemplar_Filtered_Attributes e.FilteredAttributes
    w.EndMessage(token, Guess.Small)

let private exemplars (w: W) field (items: Exemplar array) =
    for i in 0 .. count items - 1 do
        exemplar w field items[i]

let private numberPoint (w: W) field (p: NumberDataPoint) =
    // Field order: start (2), time (3), as_double (4), exemplars (5), as_int (6), attributes (7), flags (8).
    let token = w.BeginMessage(field, Guess.Small)
    fixed64 w Fields.NumberDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    fixed64 w Fields.NumberDataPoint_Time_Unix_Nano p.TimeUnixNano
    match p.Value with
    | AsDouble _ -> numberValue w Fields.NumberDataPoint_As_Double Fields.NumberDataPoint_As_Int p.Value
    | _ -> ()
    exemplars w Fields.NumberDataPoint_Exemplars p.Exemplars
    match p.Value with
    | AsInt _ -> numberValue w Fields.NumberDataPoint_As_Double Fields.NumberDataPoint_As_Int p.Value
    | _ -> ()
    CommonFields.keyValues w Fields.NumberDataPoint_Attributes p.Attributes
    uint32 w Fields.NumberDataPoint_Flags p.Flags
    w.EndMessage(token, Guess.Small)

let private numberPoints (w: W) field (points: NumberDataPoint array) =
    for i in 0 .. count points - 1 do
        numberPoint w field points[i]

let private packedUInt64Fixed (w: W) field (values: uint64 array) =
    if count values > 0 then
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(Operators.uint32 (8 * values.Length))
        for v in values do
            w.Fixed64 v

let private packedDouble (w: W) field (values: float array) =
    if count values > 0 then
        w.Tag(field, Fields.WireLengthDelimited)
        w.Varint32(Operators.uint32 (8 * values.Length))
        for v in values do
            w.Double v

let private histogramPoint (w: W) field (p: HistogramDataPoint) =
    let token = w.BeginMessage(field, Guess.Item)
    fixed64 w Fields.HistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    fixed64 w Fields.HistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
    fixed64 w Fields.HistogramDataPoint_Count p.Count
    optionalDouble w Fields.HistogramDataPoint_Sum p.Sum
    packedUInt64Fixed w Fields.HistogramDataPoint_Bucket_Counts p.BucketCounts
    packedDouble w Fields.HistogramDataPoint_Explicit_Bounds p.ExplicitBounds
    exemplars w Fields.HistogramDataPoint_Exemplars p.Exemplars
    CommonFields.keyValues w Fields.HistogramDataPoint_Attributes p.Attributes
    uint32 w Fields.HistogramDataPoint_Flags p.Flags
    optionalDouble w Fields.HistogramDataPoint_Min p.Min
    optionalDouble w Fields.HistogramDataPoint_Max p.Max
    w.EndMessage(token, Guess.Item)

let private buckets (w: W) field (b: ExponentialBuckets) =
    if not (isNull (box b) || (b.Offset = 0 && count b.BucketCounts = 0)) then
        let token = w.BeginMessage(field, Guess.Small)
        sint32 w Fields.Buckets_Offset b.Offset
        if count b.BucketCounts > 0 then
            let packed = w.BeginMessage(Fields.Buckets_Bucket_Counts, Guess.Small)
            for v in b.BucketCounts do
                w.Varint64 v
            w.EndMessage(packed, Guess.Small)
        w.EndMessage(token, Guess.Small)

let private exponentialPoint (w: W) field (p: ExponentialHistogramDataPoint) =
    let token = w.BeginMessage(field, Guess.Item)
    CommonFields.keyValues w Fields.ExponentialHistogramDataPoint_Attributes p.Attributes
    fixed64 w Fields.ExponentialHistogramDataPoint_Start_Time_Unix_Nano p.StartTimeUnixNano
    fixed64 w Fields.ExponentialHistogramDataPoint_Time_Unix_Nano p.TimeUnixNano
    fixed64 w Fields.ExponentialHistogramDataPoint_Count p.Count
    optionalDouble w Fields.ExponentialHistogramDataPoint_Sum p.Sum
    sint32 w Fields.ExponentialHistogramDataPoint_Scale p.Scale
    fixed64 w Fields.ExponentialHistogramDataPoint_Zero_Count p.ZeroCount
    buckets w Fields.ExponentialHistogramDataPoint_Positive p.Positive
    buckets w Fields.ExponentialHistogramDataPoint_Negative p.Negative
    uint32 w Fields.ExponentialHistogramDataPoint_Flags p.Flags
    exemplars w Fields.ExponentialHistogramDataPoint_Exemplars p.Exemplars
    optionalDouble w Fields.ExponentialHistogramDataPoint_Min p.Min
    optionalDouble w Fields.ExponentialHistogramDataPoint_Max p.Max
    double w Fields.ExponentialHistogramDataPoint_Zero_Threshold p.ZeroThreshold
    w.EndMessage(token, Guess.Item)

let private summaryPoint (w: W) field (p: SummaryDataPoint) =
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

let private metricData (w: W) (data: MetricData) =
    match data with
    | MetricData.NoData -> ()
    | MetricData.Gauge points ->
        let token = w.BeginMessage(Fields.Metric_Gauge, Guess.Item)
        numberPoints w Fields.Gauge_Data_Points points
        w.EndMessage(token, Guess.Item)
    | MetricData.Sum sum ->
        let token = w.BeginMessage(Fields.Metric_Sum, Guess.Item)
        numberPoints w Fields.Sum_Data_Points sum.DataPoints
        enum w Fields.Sum_Aggregation_Temporality (int sum.AggregationTemporality)
        bool w Fields.Sum_Is_Monotonic sum.IsMonotonic
        w.EndMessage(token, Guess.Item)
    | MetricData.Histogram h ->
        let token = w.BeginMessage(Fields.Metric_Histogram, Guess.Item)
        for i in 0 .. count h.DataPoints - 1 do
            histogramPoint w Fields.Histogram_Data_Points h.DataPoints[i]
        enum w Fields.Histogram_Aggregation_Temporality (int h.AggregationTemporality)
        w.EndMessage(token, Guess.Item)
    | MetricData.ExponentialHistogram h ->
        let token = w.BeginMessage(Fields.Metric_Exponential_Histogram, Guess.Item)
        for i in 0 .. count h.DataPoints - 1 do
            exponentialPoint w Fields.ExponentialHistogram_Data_Points h.DataPoints[i]
        enum w Fields.ExponentialHistogram_Aggregation_Temporality (int h.AggregationTemporality)
        w.EndMessage(token, Guess.Item)
    | MetricData.Summary points ->
        let token = w.BeginMessage(Fields.Metric_Summary, Guess.Item)
        for i in 0 .. count points - 1 do
            summaryPoint w Fields.Summary_Data_Points points[i]
        w.EndMessage(token, Guess.Item)

let private metric (w: W) (m: Metric) =
    let token = w.BeginMessage(Fields.ScopeMetrics_Metrics, Guess.Item)
    string w Fields.Metric_Name m.Name
    string w Fields.Metric_Description m.Description
    string w Fields.Metric_Unit m.Unit
    metricData w (if isNull (box m.Data) then MetricData.NoData else m.Data)
    CommonFields.keyValues w Fields.Metric_Metadata m.Metadata
    w.EndMessage(token, Guess.Item)

let private resourceMetrics (w: W) (r: ResourceMetrics) =
    let token = w.BeginMessage(Fields.ExportMetricsServiceRequest_Resource_Metrics, Guess.Batch)
    CommonFields.resource w Fields.ResourceMetrics_Resource r.Resource
    for i in 0 .. count r.ScopeMetrics - 1 do
        let s = r.ScopeMetrics[i]
        let scope = w.BeginMessage(Fields.ResourceMetrics_Scope_Metrics, Guess.Batch)
        CommonFields.scope w Fields.ScopeMetrics_Scope s.Scope
        for j in 0 .. count s.Metrics - 1 do
            metric w s.Metrics[j]
        string w Fields.ScopeMetrics_Schema_Url s.SchemaUrl
        w.EndMessage(scope, Guess.Batch)
    string w Fields.ResourceMetrics_Schema_Url r.SchemaUrl
    w.EndMessage(token, Guess.Batch)

// ---------------------------------------------------------------------------------------------------- trace, logs

let private resourceSpans (w: W) (r: ResourceSpans) =
    let token = TraceFields.beginResourceSpans w r.Resource
    for i in 0 .. count r.ScopeSpans - 1 do
        let s = r.ScopeSpans[i]
        let scope = TraceFields.beginScopeSpans w s.Scope
        for j in 0 .. count s.Spans - 1 do
            let span = TraceFields.beginSpan w
            TraceFields.span w s.Spans[j]
            TraceFields.endSpan w span
        TraceFields.endScopeSpans w scope s.SchemaUrl
    TraceFields.endResourceSpans w token r.SchemaUrl

let private resourceLogs (w: W) (r: ResourceLogs) =
    let token = LogFields.beginResourceLogs w r.Resource
    for i in 0 .. count r.ScopeLogs - 1 do
        let s = r.ScopeLogs[i]
        let scope = LogFields.beginScopeLogs w s.Scope
        for j in 0 .. count s.LogRecords - 1 do
            let record = LogFields.beginLogRecord w
            LogFields.logRecord w s.LogRecords[j]
            LogFields.endLogRecord w record
        LogFields.endScopeLogs w scope s.SchemaUrl
    LogFields.endResourceLogs w token r.SchemaUrl

let private partialSuccess (w: W) (p: PartialSuccess) =
    if not (isNull (box p) || (p.Rejected = 0L && isEmptyText p.ErrorMessage)) then
        let token = w.BeginMessage(Fields.ExportServiceResponse_Partial_Success, Guess.Small)
        if p.Rejected <> 0L then
            w.Tag(Fields.PartialSuccess_Rejected, Fields.WireVarint)
            w.Varint64(uint64 p.Rejected)
        string w Fields.PartialSuccess_Error_Message p.ErrorMessage
        w.EndMessage(token, Guess.Small)

let private traceRequest (w: W) (request: ExportTraceServiceRequest) =
    let items = request.ResourceSpans
    for i in 0 .. count items - 1 do
        resourceSpans w items[i]

let private metricsRequest (w: W) (request: ExportMetricsServiceRequest) =
    let items = request.ResourceMetrics
    for i in 0 .. count items - 1 do
        resourceMetrics w items[i]

let private logsRequest (w: W) (request: ExportLogsServiceRequest) =
    let items = request.ResourceLogs
    for i in 0 .. count items - 1 do
        resourceLogs w items[i]

// ---------------------------------------------------------------------------------------------------- entry points

// One writer per thread, reused; it holds no array between calls.
[<Sealed; AbstractClass>]
type private Pool =
    [<ThreadStatic; DefaultValue>]
    static val mutable private cached: ProtoWriter

    static member Take() =
        let w = Pool.cached
        Pool.cached <- null
        if isNull w then ProtoWriter() else w

    static member Return(w: ProtoWriter) =
        w.Release()
        Pool.cached <- w

/// Writes into `output` in one pass: into the memory it offers without being asked for more and, only when that
/// is too small, into a pooled array copied into `output` at the end (asking `output` for exactly that much).
let inline private encodeInto (output: IBufferWriter<byte>) ([<InlineIfLambda>] write: ProtoWriter -> unit) =
    if isNull output then nullArg (nameof output)
    let w = Pool.Take()
    try
        w.StartInto output
        write w
        w.FinishInto output
    finally
        Pool.Return w

/// Writes into pooled memory and copies the result into an array of the exact size.
let inline private encodeToArray ([<InlineIfLambda>] write: ProtoWriter -> unit) =
    let w = Pool.Take()
    try
        w.Start(Array.Empty(), 0, 0)
        write w
        w.Written.ToArray()
    finally
        Pool.Return w

[<CompiledName("WriteTraceRequest")>]
let writeTraceRequest (request: ExportTraceServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> traceRequest w request)

[<CompiledName("WriteMetricsRequest")>]
let writeMetricsRequest (request: ExportMetricsServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> metricsRequest w request)

[<CompiledName("WriteLogsRequest")>]
let writeLogsRequest (request: ExportLogsServiceRequest) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> logsRequest w request)

[<CompiledName("WriteTraceResponse")>]
let writeTraceResponse (response: ExportTraceServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> partialSuccess w response.PartialSuccess)

[<CompiledName("WriteMetricsResponse")>]
let writeMetricsResponse (response: ExportMetricsServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> partialSuccess w response.PartialSuccess)

[<CompiledName("WriteLogsResponse")>]
let writeLogsResponse (response: ExportLogsServiceResponse) (output: IBufferWriter<byte>) =
    encodeInto output (fun w -> partialSuccess w response.PartialSuccess)

[<CompiledName("TraceRequestToBytes")>]
let traceRequestToBytes request = encodeToArray (fun w -> traceRequest w request)
[<CompiledName("MetricsRequestToBytes")>]
let metricsRequestToBytes request = encodeToArray (fun w -> metricsRequest w request)
[<CompiledName("LogsRequestToBytes")>]
let logsRequestToBytes request = encodeToArray (fun w -> logsRequest w request)
[<CompiledName("TraceResponseToBytes")>]
let traceResponseToBytes (response: ExportTraceServiceResponse) = encodeToArray (fun w -> partialSuccess w response.PartialSuccess)
[<CompiledName("MetricsResponseToBytes")>]
let metricsResponseToBytes (response: ExportMetricsServiceResponse) = encodeToArray (fun w -> partialSuccess w response.PartialSuccess)
[<CompiledName("LogsResponseToBytes")>]
let logsResponseToBytes (response: ExportLogsServiceResponse) = encodeToArray (fun w -> partialSuccess w response.PartialSuccess)

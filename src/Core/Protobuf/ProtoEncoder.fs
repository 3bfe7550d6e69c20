module Otlp.Core.ProtoEncoder

// One pass: every nested message reserves a guessed number of length bytes and is closed with its minimal
// length, moving its content only when the guess was wrong (see ProtoWriter and docs/encoding.md). The field
// rules of spans, logs, resources, scopes and attributes live in Protobuf/FieldRules.fs, shared with the
// encoders of .NET sources (metrics included: MetricFields).

open System
open System.Buffers
open System.Runtime.InteropServices
open Otlp.Core
open Otlp.Core.Protobuf
open Otlp.Core.Protobuf.Scalar

type private W = ProtoWriter

// ---------------------------------------------------------------------------------------------------- metrics/v1

let private resourceMetrics (w: W) (r: ResourceMetrics) =
    let token = MetricFields.beginResourceMetrics w r.Resource
    for i in 0 .. count r.ScopeMetrics - 1 do
        let s = r.ScopeMetrics[i]
        let scope = MetricFields.beginScopeMetrics w s.Scope
        for j in 0 .. count s.Metrics - 1 do
            MetricFields.metric w s.Metrics[j]
        MetricFields.endScopeMetrics w scope s.SchemaUrl
    MetricFields.endResourceMetrics w token r.SchemaUrl

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

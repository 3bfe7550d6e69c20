[<RequireQualifiedAccess>]
module Otlp.Core.OtlpJson

open System
open System.Buffers
open System.Text.Encodings.Web
open System.Text.Json
open Otlp.Core.Json

// As deep as the protobuf decoder takes AnyValue (64 levels; a map level is four JSON levels: kvlistValue,
// values, the pair, value) at the deepest place OTLP puts attributes (an exemplar's, 15 levels down), so that
// what arrives over one encoding is read over the other: 15 + 63 * 4 = 267.
[<CompiledName("MaxDepth")>]
let maxDepth = 272

// The relaxed encoder leaves non-ASCII text unescaped (smaller, readable); the body is JSON served as
// application/json, never embedded in HTML, so the HTML-sensitive characters need no escaping either.
// Validation is off: the structure comes from the code, and the tests parse every document written.
let private writerOptions =
    JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true)

let private readerOptions =
    JsonReaderOptions(MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false)

let inline private write (destination: IBufferWriter<byte>) ([<InlineIfLambda>] body: JsonWriter.Out -> unit) =
    ArgumentNullException.ThrowIfNull destination
    use writer = new Utf8JsonWriter(destination, writerOptions)
    body (JsonWriter.Out writer)
    writer.Flush()

let inline private toBytes ([<InlineIfLambda>] body: JsonWriter.Out -> unit) =
    let buffer = ArrayBufferWriter<byte>(1024)
    write buffer body
    buffer.WrittenSpan.ToArray()

let private notNull (value: 'T) (name: string) =
    if isNull (box value) then nullArg name

[<CompiledName("WriteTraceRequest")>]
let writeTraceRequest (request: ExportTraceServiceRequest) (destination: IBufferWriter<byte>) =
    notNull request (nameof request)
    write destination (fun out -> JsonWriter.traceRequest out request)

[<CompiledName("WriteMetricsRequest")>]
let writeMetricsRequest (request: ExportMetricsServiceRequest) (destination: IBufferWriter<byte>) =
    notNull request (nameof request)
    write destination (fun out -> JsonWriter.metricsRequest out request)

[<CompiledName("WriteLogsRequest")>]
let writeLogsRequest (request: ExportLogsServiceRequest) (destination: IBufferWriter<byte>) =
    notNull request (nameof request)
    write destination (fun out -> JsonWriter.logsRequest out request)

[<CompiledName("WriteTraceResponse")>]
let writeTraceResponse (response: ExportTraceServiceResponse) (destination: IBufferWriter<byte>) =
    notNull response (nameof response)
    write destination (fun out -> JsonWriter.response out JsonNames.rejectedSpans response.PartialSuccess)

[<CompiledName("WriteMetricsResponse")>]
let writeMetricsResponse (response: ExportMetricsServiceResponse) (destination: IBufferWriter<byte>) =
    notNull response (nameof response)
    write destination (fun out -> JsonWriter.response out JsonNames.rejectedDataPoints response.PartialSuccess)

[<CompiledName("WriteLogsResponse")>]
let writeLogsResponse (response: ExportLogsServiceResponse) (destination: IBufferWriter<byte>) =
    notNull response (nameof response)
    write destination (fun out -> JsonWriter.response out JsonNames.rejectedLogRecords response.PartialSuccess)

[<CompiledName("TraceRequestToBytes")>]
let traceRequestToBytes (request: ExportTraceServiceRequest) =
    notNull request (nameof request)
    toBytes (fun out -> JsonWriter.traceRequest out request)

[<CompiledName("MetricsRequestToBytes")>]
let metricsRequestToBytes (request: ExportMetricsServiceRequest) =
    notNull request (nameof request)
    toBytes (fun out -> JsonWriter.metricsRequest out request)

[<CompiledName("LogsRequestToBytes")>]
let logsRequestToBytes (request: ExportLogsServiceRequest) =
    notNull request (nameof request)
    toBytes (fun out -> JsonWriter.logsRequest out request)

[<CompiledName("TraceResponseToBytes")>]
let traceResponseToBytes (response: ExportTraceServiceResponse) =
    notNull response (nameof response)
    toBytes (fun out -> JsonWriter.response out JsonNames.rejectedSpans response.PartialSuccess)

[<CompiledName("MetricsResponseToBytes")>]
let metricsResponseToBytes (response: ExportMetricsServiceResponse) =
    notNull response (nameof response)
    toBytes (fun out -> JsonWriter.response out JsonNames.rejectedDataPoints response.PartialSuccess)

[<CompiledName("LogsResponseToBytes")>]
let logsResponseToBytes (response: ExportLogsServiceResponse) =
    notNull response (nameof response)
    toBytes (fun out -> JsonWriter.response out JsonNames.rejectedLogRecords response.PartialSuccess)

let private byteOrderMark = [| 0xEFuy; 0xBBuy; 0xBFuy |]

/// Runs a document reader over the whole input and turns every failure into a DecodeError.
let private read (json: ReadOnlyMemory<byte>) (document: JsonReader.ReadItem<'T>) : Result<'T, DecodeError> =
    let skipped = if json.Span.StartsWith(ReadOnlySpan byteOrderMark) then 3 else 0
    let mutable reader = Utf8JsonReader(json.Span.Slice skipped, readerOptions)
    try
        JsonReader.next &reader
        let value = document.Invoke(&reader)
        // Only whitespace may follow the document; the reader itself rejects anything else.
        if reader.Read() then
            JsonReader.fail &reader "unexpected content after the JSON document"
        Ok value
    with
    | JsonReader.JsonFailure(message, position) -> Error { Message = message; Position = position + int64 skipped }
    | :? JsonException as e ->
        // The reader's own messages name the problem and its line and column; BytesConsumed is where it stopped.
        Error { Message = $"invalid JSON: {e.Message}"; Position = reader.BytesConsumed + int64 skipped }
    | e ->
        // Text the reader accepts but cannot turn into a string (an escaped lone surrogate, say).
        Error { Message = $"invalid OTLP/JSON: {e.Message}"; Position = reader.TokenStartIndex + int64 skipped }

let private traceRequestDocument = JsonReader.ReadItem(fun r -> JsonDecode.traceRequest &r)
let private metricsRequestDocument = JsonReader.ReadItem(fun r -> JsonDecode.metricsRequest &r)
let private logsRequestDocument = JsonReader.ReadItem(fun r -> JsonDecode.logsRequest &r)

let private traceResponseDocument =
    JsonReader.ReadItem<ExportTraceServiceResponse>(fun r -> { PartialSuccess = JsonDecode.response &r "ExportTraceServiceResponse" "rejectedSpans" })

let private metricsResponseDocument =
    JsonReader.ReadItem<ExportMetricsServiceResponse>(fun r ->
        { PartialSuccess = JsonDecode.response &r "ExportMetricsServiceResponse" "rejectedDataPoints" })

let private logsResponseDocument =
    JsonReader.ReadItem<ExportLogsServiceResponse>(fun r -> { PartialSuccess = JsonDecode.response &r "ExportLogsServiceResponse" "rejectedLogRecords" })

[<CompiledName("ReadTraceRequest")>]
let readTraceRequest (json: ReadOnlyMemory<byte>) = read json traceRequestDocument

[<CompiledName("ReadMetricsRequest")>]
let readMetricsRequest (json: ReadOnlyMemory<byte>) = read json metricsRequestDocument

[<CompiledName("ReadLogsRequest")>]
let readLogsRequest (json: ReadOnlyMemory<byte>) = read json logsRequestDocument

[<CompiledName("ReadTraceResponse")>]
let readTraceResponse (json: ReadOnlyMemory<byte>) : Result<ExportTraceServiceResponse, DecodeError> =
    read json traceResponseDocument

[<CompiledName("ReadMetricsResponse")>]
let readMetricsResponse (json: ReadOnlyMemory<byte>) : Result<ExportMetricsServiceResponse, DecodeError> =
    read json metricsResponseDocument

[<CompiledName("ReadLogsResponse")>]
let readLogsResponse (json: ReadOnlyMemory<byte>) : Result<ExportLogsServiceResponse, DecodeError> =
    read json logsResponseDocument

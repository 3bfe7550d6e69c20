/// What the receiver puts on and takes off the wire, apart from Kestrel and gRPC: decompression, decoding,
/// responses, `google.rpc.Status` bodies and the mappings between HTTP and gRPC status codes.
module internal Otlp.Testing.Wire

open System
open System.IO
open System.IO.Compression
open System.Text
open System.Text.Json
open Google.Protobuf
open Otlp.Core

/// `grpc-encoding: zstd` for Grpc.AspNetCore, which ships only gzip and deflate.
[<Sealed>]
type ZstdCompressionProvider() =
    interface Grpc.Net.Compression.ICompressionProvider with
        member _.EncodingName = "zstd"

        member _.CreateCompressionStream(stream: Stream, _level: Nullable<CompressionLevel>) : Stream =
            new ZstdSharp.CompressionStream(stream, leaveOpen = true)

        member _.CreateDecompressionStream(stream: Stream) : Stream =
            new ZstdSharp.DecompressionStream(stream, leaveOpen = true)

/// The decompressed bytes, or None as soon as there are more than `limit` of them.
let private readAtMost (limit: int64) (source: Stream) =
    use output = new MemoryStream()
    let buffer = Array.zeroCreate<byte> 81920
    let mutable read = source.Read(buffer, 0, buffer.Length)

    while read > 0 && output.Length <= limit do
        output.Write(buffer, 0, read)
        read <- source.Read(buffer, 0, buffer.Length)

    if output.Length > limit then ValueNone else ValueSome(output.ToArray())

/// The body without its `Content-Encoding` (gzip and zstd are what OTLP exporters send), or the HTTP status
/// and reason of a refusal: 400 for an encoding that is unknown or does not decode, 413 for a body that
/// decompresses to more than `limit` bytes, the same limit the compressed body is held to.
let decompress (encoding: string) (limit: int64) (body: byte array) : Result<byte array, int * string> =
    let inflate (name: string) (open': Stream -> Stream) =
        try
            use stream = open' (new MemoryStream(body))

            match readAtMost limit stream with
            | ValueSome bytes -> Ok bytes
            | ValueNone -> Error(413, $"The {name} body decompresses to more than {limit} bytes.")
        with e ->
            Error(400, $"The {name} body could not be decompressed: {e.Message}")

    match encoding.Trim().ToLowerInvariant() with
    | ""
    | "identity" -> Ok body
    | "gzip" -> inflate "gzip" (fun s -> new GZipStream(s, CompressionMode.Decompress))
    | "zstd" -> inflate "zstd" (fun s -> new ZstdSharp.DecompressionStream(s))
    | other -> Error(400, $"Content-Encoding '{other}' is not supported (use gzip, zstd or none).")

let private numberPoints (data: MetricData) =
    match data with
    | MetricData.NoData -> 0
    | MetricData.Gauge points -> points.Length
    | MetricData.Sum sum -> sum.DataPoints.Length
    | MetricData.Histogram histogram -> histogram.DataPoints.Length
    | MetricData.ExponentialHistogram histogram -> histogram.DataPoints.Length
    | MetricData.Summary points -> points.Length

let spans (request: ExportTraceServiceRequest) =
    request.ResourceSpans |> Seq.collect _.ScopeSpans |> Seq.collect _.Spans

let metrics (request: ExportMetricsServiceRequest) =
    request.ResourceMetrics |> Seq.collect _.ScopeMetrics |> Seq.collect _.Metrics

let logRecords (request: ExportLogsServiceRequest) =
    request.ResourceLogs |> Seq.collect _.ScopeLogs |> Seq.collect _.LogRecords

/// Data points of a metric, whatever its type.
let dataPointCount (metric: Metric) = numberPoints metric.Data

/// The request decoded, with the number of spans, data points or log records it holds.
let decode (signal: Signal) (json: bool) (payload: byte array) : Result<obj * int, string> =
    let input = ReadOnlyMemory payload

    let describe (error: DecodeError) =
        let format = if json then "OTLP/JSON" else "protobuf"

        let message =
            match signal with
            | Traces -> "ExportTraceServiceRequest"
            | Metrics -> "ExportMetricsServiceRequest"
            | Logs -> "ExportLogsServiceRequest"

        $"The {format} body is not a valid {message}: {error}"

    match signal with
    | Traces ->
        (if json then OtlpJson.readTraceRequest input else ProtoDecoder.traceRequest input)
        |> Result.map (fun r -> box r, Seq.length (spans r))
        |> Result.mapError describe
    | Metrics ->
        (if json then OtlpJson.readMetricsRequest input else ProtoDecoder.metricsRequest input)
        |> Result.map (fun r -> box r, metrics r |> Seq.sumBy dataPointCount)
        |> Result.mapError describe
    | Logs ->
        (if json then OtlpJson.readLogsRequest input else ProtoDecoder.logsRequest input)
        |> Result.map (fun r -> box r, Seq.length (logRecords r))
        |> Result.mapError describe

/// The export response of the signal, with this partial success, in protobuf or OTLP/JSON.
let response (signal: Signal) (json: bool) (partial: PartialSuccess) : byte array =
    match signal, json with
    | Traces, false -> ProtoEncoder.traceResponseToBytes { PartialSuccess = partial }
    | Traces, true -> OtlpJson.traceResponseToBytes { PartialSuccess = partial }
    | Metrics, false -> ProtoEncoder.metricsResponseToBytes { PartialSuccess = partial }
    | Metrics, true -> OtlpJson.metricsResponseToBytes { PartialSuccess = partial }
    | Logs, false -> ProtoEncoder.logsResponseToBytes { PartialSuccess = partial }
    | Logs, true -> OtlpJson.logsResponseToBytes { PartialSuccess = partial }

/// Pseudo-random bytes from a fixed seed, starting with 0: field number 0 is invalid protobuf and NUL is
/// invalid JSON, so the body can never be read as a response.
let garbage (length: int) =
    let bytes = Array.zeroCreate length
    Random(length).NextBytes bytes
    bytes[0] <- 0uy
    bytes

/// An empty response padded to at least `size` bytes: protobuf with an unknown bytes field 15 (which
/// decoders skip), or JSON with an unknown "padding" member (which OTLP/JSON decoders ignore).
let oversized (json: bool) (size: int) =
    if json then
        let prefix = "{\"padding\":\""B
        let suffix = "\"}"B
        Array.concat [ prefix; Array.create size (byte 'a'); suffix ]
    else
        use stream = new MemoryStream()
        let output = new CodedOutputStream(stream)
        output.WriteTag(15, WireFormat.WireType.LengthDelimited)
        output.WriteBytes(ByteString.CopyFrom(Array.zeroCreate<byte> size))
        output.Flush()
        stream.ToArray()

let private message (write: CodedOutputStream -> unit) =
    use stream = new MemoryStream()
    let output = new CodedOutputStream(stream)
    write output
    output.Flush()
    stream.ToArray()

let private retryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo"

let private splitDuration (delay: TimeSpan) =
    let ticks = delay.Ticks
    ticks / TimeSpan.TicksPerSecond, int (ticks % TimeSpan.TicksPerSecond) * 100

/// `google.rpc.Status { code, message, details: [Any(RetryInfo { retry_delay })] }` in protobuf, written
/// field by field (google/rpc/status.proto, google/rpc/error_details.proto, google/protobuf/duration.proto).
let statusProto (code: int) (text: string) (retryDelay: TimeSpan voption) =
    let details =
        retryDelay
        |> ValueOption.map (fun delay ->
            let seconds, nanos = splitDuration delay

            let duration =
                message (fun o ->
                    if seconds <> 0L then
                        o.WriteTag(1, WireFormat.WireType.Varint)
                        o.WriteInt64 seconds

                    if nanos <> 0 then
                        o.WriteTag(2, WireFormat.WireType.Varint)
                        o.WriteInt32 nanos)

            let retryInfo =
                message (fun o ->
                    o.WriteTag(1, WireFormat.WireType.LengthDelimited)
                    o.WriteBytes(ByteString.CopyFrom duration))

            message (fun o ->
                o.WriteTag(1, WireFormat.WireType.LengthDelimited)
                o.WriteString retryInfoTypeUrl
                o.WriteTag(2, WireFormat.WireType.LengthDelimited)
                o.WriteBytes(ByteString.CopyFrom retryInfo)))

    message (fun o ->
        if code <> 0 then
            o.WriteTag(1, WireFormat.WireType.Varint)
            o.WriteInt32 code

        if not (String.IsNullOrEmpty text) then
            o.WriteTag(2, WireFormat.WireType.LengthDelimited)
            o.WriteString text

        match details with
        | ValueSome any ->
            o.WriteTag(3, WireFormat.WireType.LengthDelimited)
            o.WriteBytes(ByteString.CopyFrom any)
        | ValueNone -> ())

/// The same `google.rpc.Status` in the proto3 JSON mapping (Any with "@type", Duration as "1.5s").
let statusJson (code: int) (text: string) (retryDelay: TimeSpan voption) =
    use stream = new MemoryStream()

    do
        use writer = new Utf8JsonWriter(stream)
        writer.WriteStartObject()

        if code <> 0 then
            writer.WriteNumber("code", code)

        if not (String.IsNullOrEmpty text) then
            writer.WriteString("message", text)

        match retryDelay with
        | ValueSome delay ->
            let seconds, nanos = splitDuration delay

            let duration =
                if nanos = 0 then
                    $"{seconds}s"
                else
                    (string seconds) + "." + nanos.ToString("D9").TrimEnd('0') + "s"

            writer.WriteStartArray "details"
            writer.WriteStartObject()
            writer.WriteString("@type", retryInfoTypeUrl)
            writer.WriteString("retryDelay", duration)
            writer.WriteEndObject()
            writer.WriteEndArray()
        | ValueNone -> ()

        writer.WriteEndObject()

    stream.ToArray()

/// The gRPC status an HTTP status stands for (grpc/doc/http-grpc-status-mapping.md).
let grpcCodeOfHttp (status: int) =
    match status with
    | s when s >= 200 && s < 300 -> Grpc.Core.StatusCode.OK
    | 400 -> Grpc.Core.StatusCode.Internal
    | 401 -> Grpc.Core.StatusCode.Unauthenticated
    | 403 -> Grpc.Core.StatusCode.PermissionDenied
    | 404 -> Grpc.Core.StatusCode.Unimplemented
    | 429
    | 502
    | 503
    | 504 -> Grpc.Core.StatusCode.Unavailable
    | _ -> Grpc.Core.StatusCode.Unknown

/// The HTTP status of a gRPC status, as the OpenTelemetry Collector's OTLP receiver answers over HTTP: the codes
/// OTLP retries over gRPC become 503 (429 for RESOURCE_EXHAUSTED), so that they are retried over HTTP too; the
/// client's errors their 4xx; anything else 500.
let httpStatusOfGrpc (code: Grpc.Core.StatusCode) =
    match code with
    | Grpc.Core.StatusCode.OK -> 200
    | Grpc.Core.StatusCode.Cancelled
    | Grpc.Core.StatusCode.DeadlineExceeded
    | Grpc.Core.StatusCode.Aborted
    | Grpc.Core.StatusCode.OutOfRange
    | Grpc.Core.StatusCode.Unavailable
    | Grpc.Core.StatusCode.DataLoss -> 503
    | Grpc.Core.StatusCode.ResourceExhausted -> 429
    | Grpc.Core.StatusCode.InvalidArgument -> 400
    | Grpc.Core.StatusCode.Unauthenticated -> 401
    | Grpc.Core.StatusCode.PermissionDenied -> 403
    | Grpc.Core.StatusCode.Unimplemented -> 404
    | _ -> 500

/// The retry delay a reply asks for, if any; a date becomes the time left until it (never negative).
let retryDelay (reply: Reply) (now: DateTimeOffset) =
    if reply.RetryAfter.HasValue then
        ValueSome reply.RetryAfter.Value
    elif reply.RetryAfterDate.HasValue then
        ValueSome(max TimeSpan.Zero (reply.RetryAfterDate.Value - now))
    else
        ValueNone

/// `Retry-After` as delay-seconds (rounded up) or HTTP-date (RFC 9110 section 10.2.3).
let retryAfterHeader (reply: Reply) =
    if reply.RetryAfter.HasValue then
        let seconds = Math.Ceiling reply.RetryAfter.Value.TotalSeconds |> int64
        ValueSome(string seconds)
    elif reply.RetryAfterDate.HasValue then
        ValueSome(reply.RetryAfterDate.Value.ToUniversalTime().ToString("r", Globalization.CultureInfo.InvariantCulture))
    else
        ValueNone

/// Media type of a Content-Type header, lowercased, without parameters.
let mediaType (contentType: string) =
    if String.IsNullOrEmpty contentType then
        ""
    else
        let semicolon = contentType.IndexOf ';'
        let media = if semicolon >= 0 then contentType.Substring(0, semicolon) else contentType
        media.Trim().ToLowerInvariant()

let utf8 (text: string) = Encoding.UTF8.GetBytes text

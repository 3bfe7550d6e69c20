/// OTLP/JSON: the JSON encoding of the OTLP export requests and responses, as sent with
/// `Content-Type: application/json` over OTLP/HTTP.
///
/// The rules, and where they come from:
///
/// 1. The proto3 JSON mapping of protobuf, with the deviations below ("JSON Protobuf Encoding",
///    opentelemetry-proto `docs/specification.md`; the mapping itself: https://protobuf.dev/programming-guides/json/).
/// 2. `traceId`, `spanId` and `parentSpanId` (in spans, links, exemplars and log records) are hex strings, not
///    base64; decoders accept either case. We write lowercase (32 and 16 digits); the empty string, like an
///    absent field, is the all-zero (absent) id; any other length or a non-hex digit is an error (OTLP spec).
/// 3. Enum fields are written as integers; the spec forbids the names on the wire, but as proto3 JSON parsers
///    do, the decoder also accepts the value names (`"SPAN_KIND_SERVER"`). Unknown numbers are kept, since
///    proto3 enums are open; unknown names are an error (OTLP spec; proto3 JSON).
/// 4. Keys are the field names in lowerCamelCase. The spec says the original snake_case names are not valid
///    keys; the decoder accepts them anyway, as proto3 JSON parsers do, and never writes them (OTLP spec).
/// 5. Decoders ignore fields with unknown names, whatever their value: scalar, object or array (OTLP spec).
/// 6. 64-bit integers (`int64`, `uint64`, `fixed64`, `sfixed64`: timestamps, counts, `intValue`, `asInt`,
///    bucket counts, rejected counts) are written as decimal strings; numbers and strings are both read.
///    32-bit integers are written as numbers and also read from strings. Integers of every width are also
///    read in exponent notation or with a zero fraction (`1e3`, `"2.0"`); a non-zero fraction is an error
///    (proto3 JSON; OTLP spec's note).
/// 7. Doubles are written as numbers, the shortest text that reads back to the same bits; NaN and the
///    infinities as the strings "NaN", "Infinity" and "-Infinity". Numeric strings are read too; a number out
///    of the range of a double is an error (proto3 JSON).
/// 8. Bytes (`bytesValue`) are standard base64 with padding; the decoder also accepts the URL-safe alphabet
///    and missing padding (proto3 JSON).
/// 9. Fields at their proto3 default (0, "", false, empty array, absent message) are omitted; a double is at
///    its default only when its bits are zero, so -0.0 is written. `null` reads as the default (proto3 JSON).
/// 10. Presence, as the model defines it (`Model.fs`): a KeyValue's `value` is always written (`{}` when the
///    AnyValue is empty); the member of a oneof is written even at its default (`"intValue": "0"`,
///    `"stringValue": ""`, `"asDouble": 0`, `"arrayValue": {}`, `"gauge": {}`); the optional `sum`, `min` and
///    `max` of histograms are written whenever present; an empty resource, scope, status, exponential bucket
///    set, log body or partial success is omitted. Two members of one oneof in a document are an error.
/// 11. Strings are written as UTF-8, most text unescaped (characters outside the Basic Multilingual Plane and
///    control characters are written as `\u` escapes, which is the same JSON string). An unpaired surrogate,
///    which UTF-8 cannot hold, is written as U+FFFD, as .NET's UTF-8 encoder does. On reading, an escaped
///    unpaired surrogate (`"\ud800"`) is an error, since a protobuf string must be valid UTF-8.
/// 12. Input is strict JSON (RFC 8259): no comments, no trailing commas, one value; a leading UTF-8 byte order
///    mark is skipped. Nesting deeper than `MaxDepth` (272) is an error: enough for AnyValue lists and maps
///    64 levels deep anywhere in a request, as the protobuf decoder takes them.
///
/// The writers stream into a `Utf8JsonWriter` with no intermediate document; the readers make one pass with
/// a `Utf8JsonReader`. Readers never throw: any malformed, truncated or hostile input gives
/// `Error { Message; Position }`, the position being a byte offset into the input.
[<RequireQualifiedAccess>]
module Otlp.Core.OtlpJson

open System
open System.Buffers

/// The deepest JSON nesting the readers accept (objects and arrays together).
[<CompiledName("MaxDepth")>]
val maxDepth: int

/// Writes a trace export request as OTLP/JSON (UTF-8, no indentation) to `destination`.
[<CompiledName("WriteTraceRequest")>]
val writeTraceRequest: request: ExportTraceServiceRequest -> destination: IBufferWriter<byte> -> unit

/// Writes a metrics export request as OTLP/JSON to `destination`.
[<CompiledName("WriteMetricsRequest")>]
val writeMetricsRequest: request: ExportMetricsServiceRequest -> destination: IBufferWriter<byte> -> unit

/// Writes a logs export request as OTLP/JSON to `destination`.
[<CompiledName("WriteLogsRequest")>]
val writeLogsRequest: request: ExportLogsServiceRequest -> destination: IBufferWriter<byte> -> unit

/// Writes a trace export response as OTLP/JSON to `destination`: `{}` for full success.
[<CompiledName("WriteTraceResponse")>]
val writeTraceResponse: response: ExportTraceServiceResponse -> destination: IBufferWriter<byte> -> unit

/// Writes a metrics export response as OTLP/JSON to `destination`: `{}` for full success.
[<CompiledName("WriteMetricsResponse")>]
val writeMetricsResponse: response: ExportMetricsServiceResponse -> destination: IBufferWriter<byte> -> unit

/// Writes a logs export response as OTLP/JSON to `destination`: `{}` for full success.
[<CompiledName("WriteLogsResponse")>]
val writeLogsResponse: response: ExportLogsServiceResponse -> destination: IBufferWriter<byte> -> unit

/// A trace export request as OTLP/JSON bytes (UTF-8).
[<CompiledName("TraceRequestToBytes")>]
val traceRequestToBytes: request: ExportTraceServiceRequest -> byte array

/// A metrics export request as OTLP/JSON bytes (UTF-8).
[<CompiledName("MetricsRequestToBytes")>]
val metricsRequestToBytes: request: ExportMetricsServiceRequest -> byte array

/// A logs export request as OTLP/JSON bytes (UTF-8).
[<CompiledName("LogsRequestToBytes")>]
val logsRequestToBytes: request: ExportLogsServiceRequest -> byte array

/// A trace export response as OTLP/JSON bytes (UTF-8).
[<CompiledName("TraceResponseToBytes")>]
val traceResponseToBytes: response: ExportTraceServiceResponse -> byte array

/// A metrics export response as OTLP/JSON bytes (UTF-8).
[<CompiledName("MetricsResponseToBytes")>]
val metricsResponseToBytes: response: ExportMetricsServiceResponse -> byte array

/// A logs export response as OTLP/JSON bytes (UTF-8).
[<CompiledName("LogsResponseToBytes")>]
val logsResponseToBytes: response: ExportLogsServiceResponse -> byte array

/// Reads a trace export request from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadTraceRequest")>]
val readTraceRequest: json: ReadOnlyMemory<byte> -> Result<ExportTraceServiceRequest, DecodeError>

/// Reads a metrics export request from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadMetricsRequest")>]
val readMetricsRequest: json: ReadOnlyMemory<byte> -> Result<ExportMetricsServiceRequest, DecodeError>

/// Reads a logs export request from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadLogsRequest")>]
val readLogsRequest: json: ReadOnlyMemory<byte> -> Result<ExportLogsServiceRequest, DecodeError>

/// Reads a trace export response from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadTraceResponse")>]
val readTraceResponse: json: ReadOnlyMemory<byte> -> Result<ExportTraceServiceResponse, DecodeError>

/// Reads a metrics export response from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadMetricsResponse")>]
val readMetricsResponse: json: ReadOnlyMemory<byte> -> Result<ExportMetricsServiceResponse, DecodeError>

/// Reads a logs export response from OTLP/JSON (UTF-8); never throws.
[<CompiledName("ReadLogsResponse")>]
val readLogsResponse: json: ReadOnlyMemory<byte> -> Result<ExportLogsServiceResponse, DecodeError>

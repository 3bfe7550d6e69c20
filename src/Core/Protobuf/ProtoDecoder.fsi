/// Decoding of the OTLP protobuf messages (the bodies of OTLP/gRPC and of OTLP/HTTP with
/// `application/x-protobuf`) into the model.
///
/// The decoders follow protobuf's parsing rules: unknown fields of every wire type are skipped, repeated
/// scalars are accepted packed or not, a later occurrence of a scalar field (or of another member of a oneof)
/// replaces an earlier one, and repeated occurrences of a singular message field are merged. Absent
/// sub-messages decode to the model's empty values (`Resource.Empty`, `Status.Empty`, `AnyValue.Empty`, ...),
/// and enum values outside the known range are kept as their integer.
///
/// They never throw: malformed input (truncated or over-long varints, impossible length prefixes, wrong wire
/// types for known fields, field number 0, invalid UTF-8, ids that are neither empty nor of their fixed
/// length, AnyValue nested deeper than 64 levels) gives an `Error` naming the problem and its byte offset.
/// Memory use is bounded by a constant factor of the input's size.
[<RequireQualifiedAccess>]
module Otlp.Core.ProtoDecoder

open System

/// Decodes an `ExportTraceServiceRequest`.
[<CompiledName("DecodeTraceRequest")>]
val traceRequest: input: ReadOnlyMemory<byte> -> Result<ExportTraceServiceRequest, DecodeError>

/// Decodes an `ExportMetricsServiceRequest`.
[<CompiledName("DecodeMetricsRequest")>]
val metricsRequest: input: ReadOnlyMemory<byte> -> Result<ExportMetricsServiceRequest, DecodeError>

/// Decodes an `ExportLogsServiceRequest`.
[<CompiledName("DecodeLogsRequest")>]
val logsRequest: input: ReadOnlyMemory<byte> -> Result<ExportLogsServiceRequest, DecodeError>

/// Decodes an `ExportTraceServiceResponse`; an absent partial success gives `PartialSuccess.Empty`.
[<CompiledName("DecodeTraceResponse")>]
val traceResponse: input: ReadOnlyMemory<byte> -> Result<ExportTraceServiceResponse, DecodeError>

/// Decodes an `ExportMetricsServiceResponse`; an absent partial success gives `PartialSuccess.Empty`.
[<CompiledName("DecodeMetricsResponse")>]
val metricsResponse: input: ReadOnlyMemory<byte> -> Result<ExportMetricsServiceResponse, DecodeError>

/// Decodes an `ExportLogsServiceResponse`; an absent partial success gives `PartialSuccess.Empty`.
[<CompiledName("DecodeLogsResponse")>]
val logsResponse: input: ReadOnlyMemory<byte> -> Result<ExportLogsServiceResponse, DecodeError>

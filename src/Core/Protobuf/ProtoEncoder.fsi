/// The protobuf encoder of OTLP requests and responses.
///
/// It writes the model straight into the caller's buffer in one pass, without intermediate message objects:
/// each nested message reserves a guessed number of length bytes and gets its minimal varint length afterwards,
/// its content moved when the guess was wrong, so the output is byte-for-byte what Google.Protobuf writes for
/// the same message (fields in number order, proto3 defaults omitted, repeated scalars packed, minimal
/// varints). The only allocation per call is the output itself when the caller asks for an array; writing into
/// an `IBufferWriter` allocates nothing (see docs/encoding.md).
///
/// Presence rules: a KeyValue's value is always written (empty AnyValue as an empty message); resource, scope,
/// status, exponential buckets, log body and partial success are written only when not empty; ids only when
/// not all-zero; a plain double field equal to zero (either sign) is not written, as in Google.Protobuf.
module Otlp.Core.ProtoEncoder

open System.Buffers
open Otlp.Core

/// Writes a trace request into `output`; returns the number of bytes written.
[<CompiledName("WriteTraceRequest")>]
val writeTraceRequest: request: ExportTraceServiceRequest -> output: IBufferWriter<byte> -> int

/// Writes a metrics request into `output`; returns the number of bytes written.
[<CompiledName("WriteMetricsRequest")>]
val writeMetricsRequest: request: ExportMetricsServiceRequest -> output: IBufferWriter<byte> -> int

/// Writes a logs request into `output`; returns the number of bytes written.
[<CompiledName("WriteLogsRequest")>]
val writeLogsRequest: request: ExportLogsServiceRequest -> output: IBufferWriter<byte> -> int

/// Writes a trace response into `output`; returns the number of bytes written.
[<CompiledName("WriteTraceResponse")>]
val writeTraceResponse: response: ExportTraceServiceResponse -> output: IBufferWriter<byte> -> int

/// Writes a metrics response into `output`; returns the number of bytes written.
[<CompiledName("WriteMetricsResponse")>]
val writeMetricsResponse: response: ExportMetricsServiceResponse -> output: IBufferWriter<byte> -> int

/// Writes a logs response into `output`; returns the number of bytes written.
[<CompiledName("WriteLogsResponse")>]
val writeLogsResponse: response: ExportLogsServiceResponse -> output: IBufferWriter<byte> -> int

/// The encoding of a trace request as a new array.
[<CompiledName("TraceRequestToBytes")>]
val traceRequestToBytes: request: ExportTraceServiceRequest -> byte array

/// The encoding of a metrics request as a new array.
[<CompiledName("MetricsRequestToBytes")>]
val metricsRequestToBytes: request: ExportMetricsServiceRequest -> byte array

/// The encoding of a logs request as a new array.
[<CompiledName("LogsRequestToBytes")>]
val logsRequestToBytes: request: ExportLogsServiceRequest -> byte array

/// The encoding of a trace response as a new array.
[<CompiledName("TraceResponseToBytes")>]
val traceResponseToBytes: response: ExportTraceServiceResponse -> byte array

/// The encoding of a metrics response as a new array.
[<CompiledName("MetricsResponseToBytes")>]
val metricsResponseToBytes: response: ExportMetricsServiceResponse -> byte array

/// The encoding of a logs response as a new array.
[<CompiledName("LogsResponseToBytes")>]
val logsResponseToBytes: response: ExportLogsServiceResponse -> byte array

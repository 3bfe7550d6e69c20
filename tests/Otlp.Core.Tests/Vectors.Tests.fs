/// The laws of `../shared/vectors/README.md`, checked for every golden file with our own codecs only:
/// `decode(NAME.pb)` equals `decodeJson(NAME.canonical.json)` and `decodeJson` of the source document;
/// `encode(decode(NAME.pb))` is byte-identical to `NAME.pb`; `encodeJson(decode(NAME.pb))`, parsed as JSON,
/// equals `NAME.canonical.json` parsed as JSON.
module Otlp.Core.Tests.VectorsTests

open System
open System.IO
open System.Text.Json.Nodes
open Expecto
open Otlp.Core
open Otlp.Core.Tests.Common

/// One kind of request: its protobuf and JSON codecs.
type private Codec<'request> =
    { DecodeProto: ReadOnlyMemory<byte> -> Result<'request, DecodeError>
      EncodeProto: 'request -> byte array
      EncodeProtoSizePass: 'request -> byte array
      DecodeJson: ReadOnlyMemory<byte> -> Result<'request, DecodeError>
      EncodeJson: 'request -> byte array }

let private traces =
    { DecodeProto = ProtoDecoder.traceRequest
      EncodeProto = ProtoEncoder.traceRequestToBytes
      EncodeProtoSizePass = SizePassEncoder.traceRequestToBytes
      DecodeJson = OtlpJson.readTraceRequest
      EncodeJson = OtlpJson.traceRequestToBytes }

let private metrics =
    { DecodeProto = ProtoDecoder.metricsRequest
      EncodeProto = ProtoEncoder.metricsRequestToBytes
      EncodeProtoSizePass = SizePassEncoder.metricsRequestToBytes
      DecodeJson = OtlpJson.readMetricsRequest
      EncodeJson = OtlpJson.metricsRequestToBytes }

let private logs =
    { DecodeProto = ProtoDecoder.logsRequest
      EncodeProto = ProtoEncoder.logsRequestToBytes
      EncodeProtoSizePass = SizePassEncoder.logsRequestToBytes
      DecodeJson = OtlpJson.readLogsRequest
      EncodeJson = OtlpJson.logsRequestToBytes }

let private ok what (result: Result<'a, DecodeError>) =
    match result with
    | Ok value -> value
    | Error e -> failtestf "%s did not decode: %O" what e

let private laws (codec: Codec<'request>) (name: string) (source: string) =
    let pb = lazy File.ReadAllBytes(vector $"{name}.pb")
    let canonical = lazy File.ReadAllBytes(vector $"{name}.canonical.json")
    let decoded = lazy (codec.DecodeProto(ReadOnlyMemory pb.Value) |> ok $"{name}.pb")

    testList name [
        test "decoding the protobuf equals decoding the canonical JSON" {
            let fromJson = codec.DecodeJson(ReadOnlyMemory canonical.Value) |> ok $"{name}.canonical.json"
            expectSame fromJson decoded.Value "decoded models"
        }

        test $"decoding the protobuf equals decoding {source}" {
            let fromSource = codec.DecodeJson(ReadOnlyMemory(File.ReadAllBytes(vector source))) |> ok source
            expectSame fromSource decoded.Value "decoded models"
        }

        test "re-encoding the decoded protobuf gives the same bytes" {
            let bytes = codec.EncodeProto decoded.Value
            Expect.equal bytes.Length pb.Value.Length "length"
            Expect.equal bytes pb.Value "bytes"
        }

        test "the size-pass encoder gives the same bytes too" {
            Expect.equal (codec.EncodeProtoSizePass decoded.Value) pb.Value "bytes"
        }

        test "encoding the decoded model as JSON gives the canonical JSON" {
            let ours = JsonNode.Parse(ReadOnlySpan(codec.EncodeJson decoded.Value))
            let expected = JsonNode.Parse(ReadOnlySpan canonical.Value)
            if not (JsonNode.DeepEquals(ours, expected)) then
                failtestf "JSON differs\nexpected: %s\nactual:   %s" (expected.ToJsonString()) (ours.ToJsonString())
        }
    ]

[<Tests>]
let tests =
    testList "Vectors" [
        laws traces "trace" "examples/trace.json"
        laws traces "trace-rich" "sources/trace-rich.json"
        laws metrics "metrics" "examples/metrics.json"
        laws metrics "metrics-rich" "sources/metrics-rich.json"
        laws logs "logs" "examples/logs.json"
        laws logs "logs-rich" "sources/logs-rich.json"
        laws logs "events" "examples/events.json"
    ]

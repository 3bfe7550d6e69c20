/// Checks of the test oracle itself, so that the codec laws built on it rest on something sound.
module Otlp.Core.Tests.OracleTests

open System.IO
open Expecto
open Google.Protobuf
open Otlp.Core
open Otlp.Core.Tests.Common

let private reencodes (parser: MessageParser<'m>) (name: string) =
    test $"the oracle re-encodes {name}.pb to the same bytes" {
        let bytes = File.ReadAllBytes(vector $"{name}.pb")
        let message = parser.ParseFrom bytes
        Expect.equal (message.ToByteArray()) bytes "re-encoded bytes"
    }

[<Tests>]
let tests =
    testList "Oracle" [
        reencodes Oracle.TraceRequest.Parser "trace"
        reencodes Oracle.TraceRequest.Parser "trace-rich"
        reencodes Oracle.LogsRequest.Parser "events"
        reencodes Oracle.MetricsRequest.Parser "metrics"
        reencodes Oracle.MetricsRequest.Parser "metrics-rich"
        reencodes Oracle.LogsRequest.Parser "logs"
        reencodes Oracle.LogsRequest.Parser "logs-rich"

        testPropertyWithConfig config "the oracle bridge maps trace requests there and back unchanged"
        <| fun (request: ExportTraceServiceRequest) ->
            expectSame (Oracle.toTraceRequest (Oracle.ofTraceRequest request)) request "round trip"

        testPropertyWithConfig config "the oracle bridge maps metrics requests there and back unchanged"
        <| fun (request: ExportMetricsServiceRequest) ->
            expectSame (Oracle.toMetricsRequest (Oracle.ofMetricsRequest request)) request "round trip"

        testPropertyWithConfig config "the oracle bridge maps logs requests there and back unchanged"
        <| fun (request: ExportLogsServiceRequest) ->
            expectSame (Oracle.toLogsRequest (Oracle.ofLogsRequest request)) request "round trip"
    ]

/// The quickstart's main logic, run as `dotnet run --project examples/Quickstart` runs it, over every protocol.
/// Sequenced: every run listens to the same activity source, so parallel runs would see each other's spans.
module Otlp.Tests.QuickstartTests

open System.Collections.Generic
open System.IO
open Expecto
open Otlp.Examples
open Otlp.Testing

let private run (environment: (string * string) list) =
    task {
        use output = new StringWriter()
        let variables = Dictionary<string, string>(dict environment) :> IReadOnlyDictionary<string, string>
        let! code = QuickstartApp.RunAsync(output, variables)
        return code, output.ToString()
    }

[<Tests>]
let tests =
    testSequenced <| testList "Bridge quickstart" [
        for protocol in [ "grpc"; "http/protobuf"; "http/json" ] do
            testTask $"with its own receiver over {protocol}, everything sent arrives and it exits 0" {
                let! code, text = run [ "OTEL_EXPORTER_OTLP_PROTOCOL", protocol ]
                Expect.equal code 0 text
                Expect.stringContains text "OK: everything sent arrived." "verdict"
                Expect.stringContains text "POST /orders" "a decoded span name"
                Expect.stringContains text "exception.type=" "a decoded log attribute"
                Expect.stringContains text "orders.placed" "the counter's metric"
                Expect.stringContains text "3 region=north" "the counter's total"
                Expect.stringContains text "orders.duration" "the histogram's metric"
                Expect.stringContains text "count=3 sum=290.5" "the histogram's point"
                Expect.stringContains text "2 sku=sku-7" "the observable gauge's point"
                // Recorded inside the order's span: each histogram bucket measured keeps one exemplar pointing at it.
                Expect.isMatch text @"12\.5 \([0-9a-f]{16}\); 48 \([0-9a-f]{16}\); 230 \([0-9a-f]{16}\)" "the histogram's exemplars, with the span"
            }

        testTask "with OTEL_EXPORTER_OTLP_ENDPOINT it sends there, starts nothing, and exits 0 when every export succeeded" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let! code, text = run [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ]
            Expect.equal code 0 text
            Expect.isFalse (text.Contains "Started a loopback") "no receiver of its own"
            Expect.isGreaterThan receiver.Spans.Count 0 "spans arrived at the given endpoint"
            Expect.isGreaterThan receiver.LogRecords.Count 0 "log records arrived at the given endpoint"
            Expect.equal receiver.MetricDataPointCount 3 "the counter, histogram and gauge points arrived at the given endpoint"
        }

        testTask "with an endpoint nobody listens on it exits 1 and says, once per signal, what the exporters met" {
            let! code, text =
                run [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/"; "OTEL_EXPORTER_OTLP_TIMEOUT", "200"; "OTEL_BSP_EXPORT_TIMEOUT", "500"; "OTEL_BLRP_EXPORT_TIMEOUT", "500" ]
            Expect.equal code 1 text
            for signal in [ "traces"; "metrics"; "logs" ] do
                let told = text.Split('\n') |> Array.filter (fun line -> line.Contains $"Could not reach http://127.0.0.1:9/v1/{signal}")
                Expect.equal told.Length 1 $"one line for the {signal} exporter's problems: {text}"
        }
    ]

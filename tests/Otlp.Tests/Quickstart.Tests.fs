/// The quickstart's main logic, run as `dotnet run --project examples/Quickstart` runs it, over every protocol; and
/// the F# script `examples/quickstart.fsx`, run by `dotnet fsi` as its users run it.
/// Sequenced: every run listens to the same activity source, so parallel runs would see each other's spans.
module Otlp.Tests.QuickstartTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Threading
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

/// `dotnet fsi examples/quickstart.fsx` with only the given OTEL_* variables: its exit code and all it printed.
let private runScript (environment: (string * string) list) =
    task {
        let root = Otlp.Core.Tests.Common.checkoutRoot ()
        let info =
            ProcessStartInfo(
                "dotnet",
                [ "fsi"; Path.Combine(root, "examples", "quickstart.fsx") ],
                WorkingDirectory = root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false)
        for name in List.ofSeq info.Environment.Keys do
            if name.StartsWith("OTEL_", StringComparison.Ordinal) then info.Environment.Remove name |> ignore
        for name, value in environment do
            info.Environment[name] <- value
        use script = Process.Start info
        let output = script.StandardOutput.ReadToEndAsync()
        let errors = script.StandardError.ReadToEndAsync()
        use limit = new CancellationTokenSource(TimeSpan.FromMinutes 3.0)
        try
            do! script.WaitForExitAsync limit.Token
        with :? OperationCanceledException ->
            script.Kill true
            failtest "the script did not end within 3 minutes"
        let! output = output
        let! errors = errors
        return script.ExitCode, output + errors
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
    
        testTask "the F# script, without an endpoint, builds, encodes and decodes the model unchanged and exits 0" {
            let! code, text = runScript []
            Expect.equal code 0 text
            Expect.stringContains text "protobuf round trip: identical" "the round trip"
            Expect.stringContains text "orders.duration  count 3, sum ValueSome 290.5" "the histogram the pure core aggregated"
            Expect.isFalse (text.Contains "Success") $"nothing exported: {text}"
        }

        testTask "the F# script exports through the exporters to OTEL_EXPORTER_OTLP_ENDPOINT, over gRPC as the variables say" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let! code, text =
                runScript [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.GrpcEndpoint.ToString(); "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc" ]
            Expect.equal code 0 text
            let lines = text.Split('\n') |> Array.map _.TrimEnd()
            for service in [ "TraceService"; "LogsService"; "MetricsService" ] do
                let told = lines |> Array.filter (fun line -> line.StartsWith "gRPC " && line.Contains $"{service}/Export" && line.EndsWith ": Success")
                Expect.equal told.Length 1 $"one line for the {service} export, over gRPC, successful: {text}"
            Expect.equal (receiver.Spans |> Seq.map _.Name |> Seq.sort |> List.ofSeq) [ "POST /orders"; "charge card" ] "the spans"
            Expect.equal receiver.LogRecords.Count 2 "the log records"
            Expect.equal receiver.MetricDataPointCount 2 "the counter's and the histogram's points"
        }

        testTask "the F# script exits 1 and says what each exporter met when the endpoint does not answer" {
            let! code, text = runScript [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/"; "OTEL_EXPORTER_OTLP_TIMEOUT", "300" ]
            Expect.equal code 1 text
            let lines = text.Split('\n') |> Array.map _.TrimEnd()
            for signal in [ "traces"; "logs"; "metrics" ] do
                // The refused connection, said as the failure itself or, when a busy machine let the deadline pass
                // during a retry, as the cause of the attempt that was cut short.
                let told = lines |> Array.filter (fun line -> line.StartsWith "Failure: " && line.Contains $"http://127.0.0.1:9/v1/{signal}")
                Expect.equal told.Length 1 $"one failure for {signal}: {text}"
                Expect.stringContains told[0] $"Could not reach http://127.0.0.1:9/v1/{signal}" $"the {signal} exporter's problem"
        }

        testTask "the F# script prints the exporters' configuration warnings" {
            // gRPC's default port with the default protocol (http/protobuf), nobody listening: warned, then failed.
            let! code, text = runScript [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"; "OTEL_EXPORTER_OTLP_TIMEOUT", "300"; "OTEL_BSP_SCHEDULE_DELAY", "soon" ]
            Expect.equal code 1 text
            Expect.stringContains text "warning: OTEL_EXPORTER_OTLP_ENDPOINT='http://127.0.0.1:4317/v1/traces' may be meant for the other protocol" "the port warning"
            Expect.stringContains text "warning: OTEL_BSP_SCHEDULE_DELAY='soon'" "a bad value's warning"
        }
    ]

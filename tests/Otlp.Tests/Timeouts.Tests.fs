/// Timeouts configured as 0, which the environment variable specification reads as "no limit", and timeouts given
/// in code, which follow the same rules as the variables: end to end, through the processors and the periodic reader.
module Otlp.Tests.TimeoutsTests

open System
open System.Diagnostics.Metrics
open System.Threading.Tasks
open Expecto
open Otlp
open Otlp.Core
open Otlp.Metrics
open Otlp.Testing
open Otlp.Tests.Support

let private environment (pairs: (string * string) list) =
    dict pairs |> System.Collections.Generic.Dictionary :> System.Collections.Generic.IReadOnlyDictionary<string, string>

let private span name =
    { Span.Empty with TraceId = { High = 7UL; Low = 8UL }; SpanId = { Value = 9UL }; Name = name }

let private logRecord body =
    { LogRecord.Empty with Body = AnyValue.String body; SeverityNumber = SeverityNumber.Info }

let private scope = InstrumentationScope.create "timeouts" "1"

let private flushed (flush: Task<bool>) =
    task {
        // A processor whose loop died never answers; the test must say so rather than hang.
        let! first = Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds 20.0))
        Expect.isTrue (obj.ReferenceEquals(first, flush)) "the flush returned"
        return! flush
    }

[<Tests>]
let tests =
    testList "Timeouts" [
        testTask "OTEL_BSP_EXPORT_TIMEOUT=0 exports spans with no limit on the batch" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment [ "OTEL_BSP_EXPORT_TIMEOUT", "0" ]).Build()
            Expect.isTrue (exporter.Offer(span "unlimited", scope)) "offered"
            let! (ok: bool) = flushed (exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0))
            Expect.isTrue ok "flushed in time"
            Expect.equal (receiver.Spans |> Seq.map _.Name |> List.ofSeq) [ "unlimited" ] "delivered"
            do! exporter.DisposeAsync()
        }

        testTask "OTEL_BLRP_EXPORT_TIMEOUT=0 exports log records with no limit on the batch" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment [ "OTEL_BLRP_EXPORT_TIMEOUT", "0" ]).Build()
            Expect.isTrue (exporter.Offer(logRecord "unlimited", scope)) "offered"
            let! (ok: bool) = flushed (exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0))
            Expect.isTrue ok "flushed in time"
            Expect.equal receiver.LogRecords.Count 1 "delivered"
            do! exporter.DisposeAsync()
        }

        testTask "a batch export timeout of zero given in code is no limit too" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment []).Configure(fun o -> o.BatchExportTimeout <- TimeSpan.Zero).Build()
            Expect.isTrue (exporter.Offer(span "from code", scope)) "offered"
            let! (ok: bool) = flushed (exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0))
            Expect.isTrue ok "flushed in time"
            Expect.equal receiver.Spans.Count 1 "delivered"
        }

        testTask "OTEL_METRIC_EXPORT_TIMEOUT=0 runs the periodic export with no limit" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = $"Test.Timeouts.{Guid.NewGuid():N}"
            let meter = new Meter(name)
            use _meter = disposing meter
            use exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment [ "OTEL_METRIC_EXPORT_TIMEOUT", "0"; "OTEL_METRIC_EXPORT_INTERVAL", "100" ]).Build()
            use metrics = OtlpMetrics.Start(exporter, name)
            Expect.equal metrics.ExportTimeout Threading.Timeout.InfiniteTimeSpan "no limit"
            meter.CreateCounter<int64>("ticks").Add 1L
            // The timed exports run on a timer: one must arrive (a timer callback that threw would end the process).
            let deadline = DateTime.UtcNow.AddSeconds 20.0
            while receiver.Metrics.Count = 0 && DateTime.UtcNow < deadline do
                do! Task.Delay 50
            Expect.isGreaterThan receiver.Metrics.Count 0 "a timed export arrived"
            let! (ok: bool) = flushed (metrics.ForceFlushAsync(TimeSpan.FromSeconds 10.0))
            Expect.isTrue ok "flushed"
            do! metrics.DisposeAsync()
        }

        testTask "OtlpMetricsOptions' timeout and interval follow the variables' rules" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = $"Test.Timeouts.{Guid.NewGuid():N}"
            let meter = new Meter(name)
            use _meter = disposing meter
            use exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment []).Build()
            let options = OtlpMetricsOptions()
            options.Meters.Add name
            options.ExportTimeout <- Nullable TimeSpan.Zero
            options.ExportInterval <- Nullable(TimeSpan.FromSeconds -5.0)
            use metrics = OtlpMetrics.Start(exporter, options)
            Expect.equal metrics.ExportTimeout Threading.Timeout.InfiniteTimeSpan "a zero timeout is no limit"
            Expect.equal metrics.ExportInterval (TimeSpan.FromSeconds 60.0) "a negative interval is not used: the default"
            Expect.exists metrics.Warnings (fun w -> w.Contains "OtlpMetricsOptions.ExportInterval") "the bad interval reported"
            meter.CreateCounter<int64>("ticks").Add 1L
            let! (ok: bool) = flushed (metrics.ForceFlushAsync(TimeSpan.FromSeconds 10.0))
            Expect.isTrue ok "flushed"
            Expect.equal (receiver.Metrics |> Seq.map _.Name |> List.ofSeq) [ "ticks" ] "exported without a deadline"
        }
    ]

/// The one-line set-ups: OtlpPipeline.Create without a container and services.AddOtlp with one.
module Otlp.Tests.PipelineTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open Expecto
open Microsoft.Extensions.Configuration
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Testing
open Otlp.Tests.Support

let private uniqueName () = $"Test.Bridge.{Guid.NewGuid():N}"

[<Tests>]
let tests =
    testSequenced <| testList "Bridge pipeline" [
        testTask "OtlpPipeline.Create sends the activities of its sources and the log entries of its provider" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let! (spans: IReadOnlyList<Otlp.Core.Span>), (records: IReadOnlyList<Otlp.Core.LogRecord>) =
                task {
                    use pipeline =
                        OtlpPipeline.Create(fun o ->
                            o.Sources.Add(name + "*")
                            o.Environment <- environment [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ])
                    let source = new ActivitySource(name + ".Orders")
                    use _source = disposing source
                    let factory = LoggerFactory.Create(fun b -> b.AddProvider(pipeline.LoggerProvider) |> ignore)
                    use _factory = disposing factory
                    do
                        use _activity = source.StartActivity("order")
                        factory.CreateLogger("Orders").LogInformation("placed {Id}", 7)
                    let! (flushed: bool) = pipeline.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                    Expect.isTrue flushed "flushed"
                    return receiver.Spans, receiver.LogRecords
                }
            Expect.equal (spans.Count, records.Count) (1, 1) "one span, one record"
            Expect.equal records[0].SpanId spans[0].SpanId "the record is correlated with the span"
        }

        testCase "a configuration callback that throws reaches the caller before any exporter or listener is built" <| fun () ->
            let name = uniqueName ()
            let mutable clientsMade = 0
            let failure = InvalidOperationException "bad metrics options"
            let thrown =
                Expect.throwsC
                    (fun () ->
                        OtlpPipeline.Create(fun o ->
                            o.Sources.Add name
                            o.ConfigureExporters <-
                                Action<OtlpExporterOptions>(fun e ->
                                    e.Protocol <- OtlpProtocol.HttpProtobuf
                                    e.HttpClientFactory <-
                                        Func<Net.Http.HttpClient>(fun () ->
                                            clientsMade <- clientsMade + 1
                                            new Net.Http.HttpClient()))
                            o.ConfigureMetrics <- Action<Otlp.Metrics.OtlpMetricsOptions>(fun _ -> raise failure))
                        |> ignore)
                    id
            Expect.isTrue (obj.ReferenceEquals(thrown, failure)) "the callback's own exception"
            // An exporter makes its client when it is built: none was.
            Expect.equal clientsMade 0 "no exporter built"
            use source = new ActivitySource(name)
            Expect.isFalse (source.HasListeners()) "no tracer listening"

        testCase "ConfigureExporters runs once for each of the three exporters, and the clock it sets reaches the metrics" <| fun () ->
            let mutable calls = 0
            let clock = { new TimeProvider() with member _.ToString() = "the application's clock" }
            use pipeline =
                OtlpPipeline.Create(fun o ->
                    o.Environment <- environment []
                    o.ConfigureExporters <-
                        Action<OtlpExporterOptions>(fun e ->
                            calls <- calls + 1
                            e.TimeProvider <- clock))
            Expect.equal calls 3 "traces, metrics, logs: a callback that makes a client or channel makes one per exporter"
            let metricsClock =
                typeof<Otlp.Metrics.OtlpMetrics>.GetField("time", Reflection.BindingFlags.Instance ||| Reflection.BindingFlags.NonPublic).GetValue(pipeline.Metrics)
            Expect.isTrue (obj.ReferenceEquals(metricsClock, clock)) "the metrics' clock is the exporters'"

        testTask "the pipeline's IncludeEventId reaches its logger provider" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let! (records: IReadOnlyList<Otlp.Core.LogRecord>) =
                task {
                    use pipeline =
                        OtlpPipeline.Create(fun o ->
                            o.IncludeEventId <- false
                            o.Environment <- environment [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ])
                    let factory = LoggerFactory.Create(fun b -> b.AddProvider(pipeline.LoggerProvider) |> ignore)
                    use _factory = disposing factory
                    factory.CreateLogger("Orders").LogInformation(EventId(42, "OrderPlaced"), "placed")
                    let! (flushed: bool) = pipeline.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                    Expect.isTrue flushed "flushed"
                    return receiver.LogRecords
                }
            Expect.equal records.Count 1 "one record"
            Expect.isFalse (records[0].Attributes |> Array.exists (fun a -> a.Key = "logrecord.event.id")) "no event id"
            Expect.equal records[0].EventName "OrderPlaced" "the name kept"
        }

        testTask "with OTEL_SDK_DISABLED the pipeline creates no activities and logs nothing" {
            let name = uniqueName ()
            use pipeline =
                OtlpPipeline.Create(fun o ->
                    o.Sources.Add name
                    o.Environment <- environment [ "OTEL_SDK_DISABLED", "true" ])
            Expect.isTrue pipeline.IsDisabled "disabled"
            let source = new ActivitySource(name)
            use _source = disposing source
            Expect.isNull (source.StartActivity "op") "no activity"
            Expect.isFalse ((pipeline.LoggerProvider.CreateLogger "C").IsEnabled LogLevel.Critical) "no logging"
        }

        testTask "services.AddOtlp wires traces and logs from configuration and flushes when the host stops" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let configuration =
                ConfigurationBuilder()
                    .AddInMemoryCollection(
                        dict [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString()
                               "OTEL_BSP_SCHEDULE_DELAY", "60000"
                               "OTEL_BLRP_SCHEDULE_DELAY", "60000"
                               "Otlp:Sources:0", name ])
                    .Build()
            let services = ServiceCollection()
            services.AddSingleton<IConfiguration>(configuration).AddOtlp(fun o -> o.IncludeScopes <- true) |> ignore
            let provider = services.BuildServiceProvider()
            use _provider = provider
            let hosted = provider.GetServices<IHostedService>() |> List.ofSeq
            for h in hosted do do! h.StartAsync CancellationToken.None
            let source = new ActivitySource(name)
            use _source = disposing source
            do
                use _activity = source.StartActivity("job")
                let logger = provider.GetRequiredService<ILogger<OtlpPipeline>>()
                use _scope = logger.BeginScope(dict [ "Job", box "nightly" ])
                logger.LogWarning("job {Name} slow", "nightly")
            for h in hosted do do! h.StopAsync CancellationToken.None
            Expect.equal receiver.Spans.Count 1 "the span was flushed by StopAsync"
            Expect.equal receiver.LogRecords.Count 1 "the record was flushed by StopAsync"
            Expect.isTrue (receiver.LogRecords[0].Attributes |> Array.exists (fun a -> a.Key = "Job")) "scopes included as configured"
        }
    ]

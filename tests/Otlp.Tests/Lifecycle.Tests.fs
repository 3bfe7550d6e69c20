/// Lifecycle and concurrency of the facade as an application meets it: disposal twice or at once, offers during and
/// after shutdown, flushes racing shutdown, parts disposed in the wrong order, hosts stopping with a cancelled token.
module Otlp.Tests.LifecycleTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Expecto
open Microsoft.Extensions.Configuration
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Core
open Otlp.Metrics
open Otlp.Runtime
open Otlp.Testing
open Otlp.Tests.Support

let private span name =
    { Span.Empty with TraceId = { High = 7UL; Low = 8UL }; SpanId = { Value = 9UL }; Name = name }

let private scope = InstrumentationScope.create "lifecycle" "1"

let private uniqueName () = $"Test.Lifecycle.{Guid.NewGuid():N}"

let private traces (receiver: LoopbackReceiver) (pairs: (string * string) list) =
    OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment pairs).Build()

/// The task's result, failing the test when it does not finish within `seconds` (a hang must not hang the suite).
let private within (seconds: float) (what: string) (t: Task<'a>) =
    task {
        let! first = Task.WhenAny(t, Task.Delay(TimeSpan.FromSeconds seconds))
        Expect.isTrue (obj.ReferenceEquals(first, t)) $"{what} returned in time"
        return! t
    }

/// A task that ends when `t` ends, whatever its outcome.
/// Services with `AddOtlp`, configured (IConfiguration) to export to `receiver` over HTTP.
let private otlpServicesSendingTo (receiver: LoopbackReceiver) =
    let configuration =
        ConfigurationBuilder().AddInMemoryCollection(dict [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ]).Build()
    let services = ServiceCollection()
    services.AddSingleton<IConfiguration>(configuration).AddOtlp() |> ignore
    services

/// An exporter over HTTP to `receiver` and metrics of a meter of their own, collected only when asked (the interval
/// is ten minutes): the exporter, the metrics and the meter.
let private metricsOnDemand (receiver: LoopbackReceiver) =
    let name = uniqueName ()
    let exporter =
        OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
    let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
    options.Meters.Add name
    exporter, OtlpMetrics.Start(exporter, options), new System.Diagnostics.Metrics.Meter(name)

let private ended (t: Task) = t.ContinueWith(Func<Task, unit>(fun _ -> ()))

/// The system clock, except that the first reading on one chosen thread waits until the test lets it go: it holds a
/// flush between its look at the processor's loop and the queueing of its request.
type private GatedClock() =
    inherit TimeProvider()
    let entered = new ManualResetEventSlim(false)
    let release = new ManualResetEventSlim(false)
    member val GatedThread = -1 with get, set
    member _.Entered = entered
    member _.Release = release
    override this.GetTimestamp() =
        if Thread.CurrentThread.ManagedThreadId = this.GatedThread && not entered.IsSet then
            entered.Set()
            release.Wait()
        base.GetTimestamp()

let private batchSettings =
    { Batching.Settings.Default with MaxQueueSize = 16; MaxExportBatchSize = 4; ScheduledDelayMs = 1L; ExportTimeoutMs = 5_000L }

[<Tests>]
let tests =
    testList "Lifecycle" [
        testTask "an offer after the shutdown of an exporter that was never offered anything is dropped and counted" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = traces receiver []
            let! (done': bool) = exporter.ShutdownAsync(TimeSpan.FromSeconds 1.0)
            Expect.isTrue done' "nothing to flush"
            Expect.isFalse (exporter.Offer(span "late", scope)) "refused"
            Expect.equal exporter.Statistics.DroppedShutDown 1L "counted"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 1.0)
            Expect.isFalse flushed "a flush after shutdown: nothing to flush into, as with a processor"
            let! (again: bool) = exporter.ShutdownAsync(TimeSpan.FromSeconds 1.0)
            Expect.isFalse again "a second shutdown: already shut down, as with a processor"
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "a batch export that cannot start never throws into the offering thread: said once, every item counted" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = traces receiver []
            let problems = System.Collections.Concurrent.ConcurrentQueue<string>()
            exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
            let starts = ref 0
            exporter.BeforeProcessorStarts <-
                fun () ->
                    starts.Value <- starts.Value + 1
                    raise (OutOfMemoryException "no room for the queue")
            Expect.isFalse (exporter.Offer(span "first", scope)) "refused"
            Expect.isFalse (exporter.Offer(span "second", scope)) "refused"
            Expect.equal exporter.Statistics.DroppedPermanentFailure 2L "both counted"
            Expect.equal starts.Value 1 "not tried again for every item"
            Expect.equal (List.ofSeq problems |> List.filter (fun p -> p.Contains "could not start")) [ "The batch export could not start (OutOfMemoryException: no room for the queue); every item offered is dropped and counted." ] "said once"
            let! (_: bool) = exporter.ShutdownAsync(TimeSpan.FromSeconds 1.0)
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "a log entry after the disposal of an exporter that had no entries before is dropped and counted" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            // The container's order: the provider exists first, its exporter is made and disposed without an entry.
            let exporter =
                OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let provider = new Otlp.Logging.OtlpLoggerProvider(exporter)
            use _provider = disposing provider
            let logger = provider.CreateLogger "late"
            do! exporter.DisposeAsync()
            logger.LogWarning "after disposal"
            Expect.equal exporter.Statistics.DroppedShutDown 1L "counted"
            do! exporter.DisposeAsync()
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "a flush whose request reaches the processor after its loop ended is answered" {
            let clock = GatedClock()
            let statistics = ExportStatistics()
            let export = Func<int[], int, ExportTurn, Task<Batching.ExportOutcome>>(fun _ _ _ -> Task.FromResult Batching.ExportOutcome.Succeeded)
            let p = new BatchExportProcessor<int>(batchSettings, export, TimeSpan.FromSeconds 5.0, clock, statistics)
            Expect.isTrue (p.Offer 1) "offered"
            let mutable flush = Task.FromResult true
            let flusher = Thread(fun () -> flush <- p.ForceFlushAsync(Timeout.InfiniteTimeSpan))
            clock.GatedThread <- flusher.ManagedThreadId
            flusher.Start()
            // The flush has seen the loop running; the loop now stops and ends before the flush queues its request.
            clock.Entered.Wait()
            let! (stopped: bool) = within 10.0 "shutdown" (p.ShutdownAsync(TimeSpan.FromSeconds 5.0))
            Expect.isTrue stopped "shut down"
            do! within 10.0 "disposal" (ended (p.DisposeAsync().AsTask()))
            clock.Release.Set()
            flusher.Join()
            let! (answered: bool) = within 5.0 "the flush" flush
            Expect.isFalse answered "a flush after shutdown does nothing"
            Expect.equal statistics.Exported 1L "the item was exported by the shutdown"
        }

        testTask "flushes and shutdowns racing each other all return" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            for round in 1..50 do
                let exporter = traces receiver []
                exporter.Offer(span "x", scope) |> ignore
                let call (f: unit -> Task<bool>) = Task.Run<bool>(Func<Task<bool>>(f))
                let calls =
                    [| call (fun () -> exporter.ShutdownAsync())
                       call (fun () -> exporter.ForceFlushAsync())
                       call (fun () -> exporter.ShutdownAsync())
                       call (fun () -> exporter.DisposeAsync().AsTask().ContinueWith(fun (_: Task) -> true)) |]
                let! (_: bool[]) = within 10.0 $"round {round}" (Task.WhenAll calls)
                let s = exporter.Statistics
                Expect.equal (s.Exported + s.Dropped) 1L "the item was exported or counted"
        }

        testTask "a shutdown with a receiver that never answers returns by its timeout, the batch counted dropped" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Reply.Ok.WithDelay(TimeSpan.FromSeconds 30.0))
            let exporter = traces receiver [ "OTEL_BSP_SCHEDULE_DELAY", "1" ]
            exporter.Offer(span "x", scope) |> ignore
            let! _ = receiver.WaitForRequestsAsync 1
            let watch = Stopwatch.StartNew()
            let! (inTime: bool) = within 5.0 "shutdown" (exporter.ShutdownAsync(TimeSpan.FromMilliseconds 200.0))
            Expect.isFalse inTime "not in time"
            Expect.isLessThan watch.ElapsedMilliseconds 2000L "within the timeout and the grace"
            Expect.equal exporter.Statistics.DroppedDeadlineExceeded 1L "counted"
            do! within 5.0 "disposal" (ended (exporter.DisposeAsync().AsTask()))
        }

        testTask "every item offered by many threads at a small queue is exported or counted dropped" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter = traces receiver [ "OTEL_BSP_MAX_QUEUE_SIZE", "64"; "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16" ]
            let offered = ref 0L
            let offering =
                [| for _ in 1..4 ->
                       Task.Run(fun () ->
                           for _ in 1..5000 do
                               exporter.Offer(span "x", scope) |> ignore
                               Interlocked.Increment(&offered.contents) |> ignore) |]
            // Shut down while the threads offer: offers before, during and after it.
            do! Task.Delay 5
            let! (_: bool) = exporter.ShutdownAsync(TimeSpan.FromSeconds 10.0)
            do! Task.WhenAll offering
            do! exporter.DisposeAsync()
            let s = exporter.Statistics
            Expect.equal (s.Exported + s.Dropped) offered.Value "exported + dropped = offered"
            Expect.equal (int64 receiver.Spans.Count) s.Exported "exported = received"
        }

        testTask "the host stopping with a cancelled token while an export is in flight stops without an error" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Reply.Ok.WithDelay(TimeSpan.FromMilliseconds 300.0))
            let builder = Host.CreateEmptyApplicationBuilder(HostApplicationBuilderSettings())
            builder.Configuration.AddInMemoryCollection(
                dict [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString(); "OTEL_BSP_SCHEDULE_DELAY", "1" ])
            |> ignore
            builder.Services.AddOtlp() |> ignore
            let host = builder.Build()
            use _host = disposing host
            do! host.StartAsync()
            let exporter = host.Services.GetRequiredService<OtlpTraceExporter>()
            exporter.Offer(span "in flight", scope) |> ignore
            exporter.Offer(span "queued", scope) |> ignore
            let! _ = receiver.WaitForRequestsAsync 1
            let cancelled = new CancellationTokenSource()
            use _cancelled = disposing cancelled
            cancelled.Cancel()
            // Before the fix the flush's cancellation escaped StopAsync, and the host's stop threw it.
            do! host.StopAsync(cancelled.Token)
            do! within 10.0 "disposal" (ended (Task.Run(fun () -> host.Dispose())))
            let s = exporter.Statistics
            Expect.equal (s.Exported + s.Dropped) 2L "both spans exported or counted"
        }

        testTask "metrics disposed after their exporter count their last collection as dropped" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter, metrics, meter = metricsOnDemand receiver
            use _meter = disposing meter
            meter.CreateCounter<int64>("c").Add 3L
            do! exporter.DisposeAsync()
            do! within 10.0 "disposal" (ended (metrics.DisposeAsync().AsTask()))
            Expect.equal exporter.Statistics.DroppedShutDown 1L "the point of the last collection is counted"
            Expect.isEmpty metrics.Warnings "no collection threw"
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "a metrics flush returns by its deadline while an observable callback is slow" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter, metrics, meter = metricsOnDemand receiver
            use _exporter = exporter
            use _meter = disposing meter
            let release = new ManualResetEventSlim(false)
            meter.CreateObservableGauge<int64>("slow", fun () ->
                release.Wait(TimeSpan.FromSeconds 10.0) |> ignore
                System.Diagnostics.Metrics.Measurement<int64>(1L)) |> ignore
            let watch = Stopwatch.StartNew()
            let flushing = metrics.ForceFlushAsync(Nullable(TimeSpan.FromMilliseconds 300.0))
            Expect.isLessThan watch.Elapsed.TotalSeconds 1.0 "the call returns at once (not after the callback's 10 s): the collection runs elsewhere"
            let! (flushed: bool) = flushing
            Expect.isFalse flushed "not finished in time"
            Expect.isLessThan watch.Elapsed.TotalSeconds 2.0 "answered at its deadline, not when the callback returns"
            release.Set()
            do! within 10.0 "disposal" (ended (metrics.DisposeAsync().AsTask()))
        }

        testTask "metrics disposal returns after its deadline while an observable callback never does" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            use exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0), ExportTimeout = Nullable(TimeSpan.FromMilliseconds 300.0))
            options.Meters.Add name
            let metrics = OtlpMetrics.Start(exporter, options)
            let meter = new System.Diagnostics.Metrics.Meter(name)
            use _meter = disposing meter
            let release = new ManualResetEventSlim(false)
            meter.CreateObservableGauge<int64>("stuck", fun () ->
                release.Wait() |> ignore
                System.Diagnostics.Metrics.Measurement<int64>(1L)) |> ignore
            try
                let flushing = metrics.ForceFlushAsync(Nullable(TimeSpan.FromMilliseconds 100.0))
                let! (_: bool) = flushing
                do! within 10.0 "disposal" (ended (metrics.DisposeAsync().AsTask()))
                Expect.exists metrics.Warnings (fun p -> p.Contains "still running") $"the run left behind is said: {List.ofSeq metrics.Warnings}"
            finally
                release.Set()
        }

        testTask "exporter disposal returns after its deadline while the application's handler ignores cancellation" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let never = TaskCompletionSource<Net.Http.HttpResponseMessage>()
            let sent = new ManualResetEventSlim(false)
            let handler =
                { new Net.Http.DelegatingHandler(new Net.Http.SocketsHttpHandler()) with
                    member _.SendAsync(_, _) =
                        sent.Set()
                        never.Task }
            let client = new Net.Http.HttpClient(handler)
            use _client = disposing client
            try
                let exporter =
                    OtlpExporter.ForTraces().WithHttp().WithHttpClient(client).WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                        .Configure(fun o ->
                            o.Environment <- Collections.Generic.Dictionary<string, string>()
                            o.Timeout <- Nullable(TimeSpan.FromMilliseconds 200.0)
                            o.BatchExportTimeout <- Nullable(TimeSpan.FromMilliseconds 400.0)
                            o.ScheduledDelay <- Nullable(TimeSpan.FromMilliseconds 1.0)).Build()
                let problems = System.Collections.Concurrent.ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
                exporter.Offer(span "stuck", scope) |> ignore
                Expect.isTrue (sent.Wait(TimeSpan.FromSeconds 10.0)) "the send started"
                do! within 10.0 "disposal" (ended (exporter.DisposeAsync().AsTask()))
                Expect.equal exporter.Statistics.Dropped 1L $"the span counted dropped: {List.ofSeq problems}"
                Expect.exists problems (fun p -> p.Contains "still running") $"the send left behind is said: {List.ofSeq problems}"
            finally
                never.TrySetResult(new Net.Http.HttpResponseMessage(Net.HttpStatusCode.OK)) |> ignore
        }

        testTask "a metrics flush without a deadline collects on the caller's thread, before the call returns" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter, metrics, meter = metricsOnDemand receiver
            use _exporter = exporter
            use _meter = disposing meter
            let threads = System.Collections.Concurrent.ConcurrentQueue<int>()
            // Open for the first flush; closed for the second, whose callback then waits until the test opens it.
            let gate = new ManualResetEventSlim(true)
            meter.CreateObservableGauge<int64>("observed", fun () ->
                threads.Enqueue Environment.CurrentManagedThreadId
                gate.Wait(TimeSpan.FromSeconds 10.0) |> ignore
                System.Diagnostics.Metrics.Measurement<int64>(1L)) |> ignore
            let caller = Environment.CurrentManagedThreadId
            let flushing = metrics.ForceFlushAsync()
            Expect.sequenceEqual threads [ caller ] "the callback ran on the caller's thread, before the call returned"
            let! (flushed: bool) = flushing
            Expect.isTrue flushed "flushed"
            // A token that can cancel the wait sends the collection elsewhere, as a deadline does (the test above):
            // the call returns while the callback still waits.
            gate.Reset()
            let cancel = new CancellationTokenSource()
            let watch = Stopwatch.StartNew()
            let flushingAgain = metrics.ForceFlushAsync(Nullable(), cancel.Token)
            Expect.isLessThan watch.Elapsed.TotalSeconds 5.0 "returned while the callback waits (10 s): the collection runs elsewhere"
            Expect.isFalse flushingAgain.IsCompleted "not done before the callback"
            gate.Set()
            let! (flushedAgain: bool) = flushingAgain
            cancel.Dispose()
            Expect.isTrue flushedAgain "flushed again"
            Expect.equal threads.Count 2 "collected again"
            Expect.equal receiver.Requests.Count 2 "two exports"
            do! within 10.0 "disposal" (ended (metrics.DisposeAsync().AsTask()))
        }

        testTask "a direct export after disposal fails without throwing, its items counted dropped" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter = traces receiver []
            do! exporter.DisposeAsync()
            let request =
                { ResourceSpans =
                    [| { Resource = exporter.Resource
                         ScopeSpans = [| { Scope = scope; Spans = [| span "late" |]; SchemaUrl = "" } |]
                         SchemaUrl = "" } |] }
            let! (result: OtlpExportResult) = exporter.ExportAsync request
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.equal result.Rejected 1L "the span"
            Expect.equal exporter.Statistics.DroppedShutDown 1L "counted"
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "spans ended after the exporter's disposal are refused and counted, and the tracer disposes twice" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter = traces receiver []
            let name = uniqueName ()
            let tracer = Otlp.Tracing.OtlpTracer.Start(exporter, name)
            let source = new ActivitySource(name)
            use _source = disposing source
            source.StartActivity("before").Dispose()
            do! exporter.DisposeAsync()
            source.StartActivity("after").Dispose()
            tracer.Dispose()
            tracer.Dispose()
            Expect.equal tracer.Refused 1L "refused"
            Expect.equal exporter.Statistics.DroppedShutDown 1L "counted"
            Expect.equal exporter.Statistics.Exported 1L "the span before disposal was flushed"
        }

        testTask "two containers built from one services.AddOtlp each export and stop on their own" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let services = otlpServicesSendingTo receiver
            for round in 1..2 do
                let provider = services.BuildServiceProvider()
                let hosted = provider.GetServices<IHostedService>() |> List.ofSeq
                for h in hosted do
                    do! h.StartAsync CancellationToken.None
                provider.GetRequiredService<ILogger<OtlpPipeline>>().LogWarning("round {Round}", round)
                for h in hosted do
                    do! h.StopAsync CancellationToken.None
                do! within 10.0 "disposal" (ended (provider.DisposeAsync().AsTask()))
                Expect.equal receiver.LogRecords.Count round "this container's entry was flushed"
        }

        testTask "a pipeline disposed twice at once, then again, and flushed after, neither throws nor hangs" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let pipeline =
                OtlpPipeline.Create(fun o ->
                    o.Environment <- environment [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ]
                    o.Sources.Add(uniqueName ())
                    o.Meters.Add(uniqueName ()))
            let first = pipeline.DisposeAsync().AsTask()
            let second = pipeline.DisposeAsync().AsTask()
            do! within 10.0 "both disposals" (ended (Task.WhenAll(first, second)))
            pipeline.Dispose()
            let! (flushed: bool) = within 5.0 "a flush" (pipeline.ForceFlushAsync(TimeSpan.FromSeconds 1.0))
            Expect.isFalse flushed "metrics shut down cannot flush"
        }

        testTask "a first log entry after the container's disposal is dropped, not thrown into the logging call" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let services = otlpServicesSendingTo receiver
            let provider = services.BuildServiceProvider()
            let logger = provider.GetRequiredService<ILogger<OtlpPipeline>>()
            do! provider.DisposeAsync()
            // A background thread still logging while the host goes away; its exporter was never needed before.
            let thrown =
                try
                    logger.LogWarning "late"
                    logger.LogWarning "later"
                    None
                with e ->
                    Some(string e)
            Expect.isNone thrown "the logging call did not throw"
            Expect.equal receiver.Requests.Count 0 "nothing sent"
        }

        testTask "a Problem handler that throws neither stops the exports nor fails the disposal" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Reply.HttpStatus 400)
            let exporter = traces receiver []
            let seen = ref 0
            exporter.Statistics.add_Problem(fun _ -> failwith "the application's handler")
            exporter.Statistics.add_Problem(fun _ -> Interlocked.Increment(&seen.contents) |> ignore)
            Expect.isTrue (exporter.Offer(span "rejected", scope)) "offered"
            let! (first: bool) = within 5.0 "the first flush" (exporter.ForceFlushAsync(TimeSpan.FromSeconds 5.0))
            Expect.isTrue (exporter.Offer(span "accepted", scope)) "offered"
            let! (second: bool) = within 5.0 "the second flush" (exporter.ForceFlushAsync(TimeSpan.FromSeconds 5.0))
            Expect.isTrue (first && second) "both flushes completed"
            Expect.equal exporter.Statistics.DroppedPermanentFailure 1L "the rejected span is counted"
            Expect.equal exporter.Statistics.Exported 1L "the next span is exported"
            Expect.isGreaterThanOrEqual seen.Value 1 "the next handler was called"
            do! exporter.DisposeAsync()
        }

        testTask "a metrics shutdown at its deadline ends the collection still sending, so disposal does not wait for it" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Reply.Ok.WithDelay(TimeSpan.FromSeconds 20.0))
            let name = uniqueName ()
            let exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment [ "OTEL_EXPORTER_OTLP_TIMEOUT", "0"; "OTEL_METRIC_EXPORT_TIMEOUT", "0" ]).Build()
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
            options.Meters.Add name
            let metrics = OtlpMetrics.Start(exporter, options)
            let meter = new System.Diagnostics.Metrics.Meter(name)
            use _meter = disposing meter
            meter.CreateCounter<int64>("c").Add 3L
            // A flush whose export has no time limit, to a receiver that answers after the test is over.
            let flush = metrics.ForceFlushAsync()
            let! _ = receiver.WaitForRequestsAsync 1
            let watch = Stopwatch.StartNew()
            let! (inTime: bool) = within 10.0 "shutdown" (metrics.ShutdownAsync(TimeSpan.FromMilliseconds 200.0))
            Expect.isFalse inTime "not in time"
            let! (_: bool) = within 5.0 "the flush" flush
            do! within 5.0 "disposal" (ended (metrics.DisposeAsync().AsTask()))
            Expect.isLessThan watch.ElapsedMilliseconds 3000L "disposal did not wait for the send"
            Expect.equal exporter.Statistics.DroppedDeadlineExceeded 1L "the point being sent is counted dropped"
            do! exporter.DisposeAsync()
        }

        testTask "delta counter adds racing flushes and a fast timer are each exported once" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let options =
                OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMilliseconds 2.0), TemporalityPreference = TemporalityPreference.Delta)
            options.Meters.Add name
            let metrics = OtlpMetrics.Start(exporter, options)
            let meter = new System.Diagnostics.Metrics.Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64> "c"
            let adds = 300_000
            let adding =
                Task.Run(fun () ->
                    for i in 1..adds do
                        counter.Add 1L
                        if i % 1000 = 0 then Thread.Yield() |> ignore)
            let flushUntilAdded () =
                task {
                    while not adding.IsCompleted do
                        let! (_: bool) = metrics.ForceFlushAsync()
                        ()
                }
            let flushing = [| for _ in 1..2 -> Task.Run<unit>(Func<Task<unit>>(flushUntilAdded)) |]
            do! adding
            do! Task.WhenAll flushing
            do! metrics.DisposeAsync()
            do! exporter.DisposeAsync()
            let pointSum (m: Metric) =
                match m.Data with
                | MetricData.Sum s -> s.DataPoints |> Array.sumBy (fun p -> match p.Value with NumberValue.AsInt v -> v | _ -> 0L)
                | _ -> 0L
            Expect.equal (receiver.Metrics |> Seq.sumBy pointSum) (int64 adds) "no delta lost or sent twice"
            Expect.equal exporter.Statistics.Dropped 0L "nothing dropped"
        }
    ]

/// A listener of the exporter's own meter is process-wide, so this test runs alone.
[<Tests>]
let ownMeterTests =
    testSequenced <| testList "Lifecycle, own meter" [
        testTask "an application's listener of the Otlp meter that throws neither fails offers nor stops the exports" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let listener = new System.Diagnostics.Metrics.MeterListener()
            use _listener = disposing listener
            listener.InstrumentPublished <-
                fun instrument l -> if instrument.Meter.Name = Otlp.Diagnostics.OtlpSelfTelemetry.Name then l.EnableMeasurementEvents instrument
            listener.SetMeasurementEventCallback<int64>(fun _ _ _ _ -> failwith "the application's listener")
            listener.SetMeasurementEventCallback<float>(fun _ _ _ _ -> failwith "the application's listener")
            listener.Start()
            let exporter = traces receiver [ "OTEL_BSP_MAX_QUEUE_SIZE", "1" ]
            let offers = [ for i in 1..3 -> try Ok(exporter.Offer(span $"s{i}", scope)) with e -> Error e.Message ]
            Expect.all offers Result.isOk "no offer threw"
            let! (flushed: bool) = within 5.0 "the flush" (exporter.ForceFlushAsync(TimeSpan.FromSeconds 5.0))
            Expect.isTrue flushed "flushed"
            Expect.equal (exporter.Statistics.Exported + exporter.Statistics.Dropped) 3L "every span exported or counted"
            do! exporter.DisposeAsync()
        }
    ]


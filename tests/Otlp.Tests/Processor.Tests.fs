/// The batching driver: the core's Batching machine carried out with real tasks and a real clock.
module Otlp.Tests.ProcessorTests

open System
open System.Collections.Concurrent
open System.Threading
open System.Threading.Tasks
open Expecto
open Otlp.Core
open Otlp.Runtime

let private settings queue batch =
    { Batching.Settings.Default with
        MaxQueueSize = queue
        MaxExportBatchSize = batch
        ScheduledDelayMs = 20L
        ExportTimeoutMs = 10_000L
        Retry = { Retry.Policy.Default with InitialBackoffMs = 10L; MaxBackoffMs = 20L } }

/// A processor whose exports record their items and answer with `outcome attempt`.
let private processor queue batch (outcome: int -> Batching.ExportOutcome) (gate: Task) =
    let exported = ConcurrentQueue<int>()
    let attempts = ref 0
    let statistics = ExportStatistics()
    let export =
        Func<int array, int, CancellationToken, Task<Batching.ExportOutcome>>(fun items attempt _ ->
            task {
                do! gate
                Interlocked.Increment(&attempts.contents) |> ignore
                let result = outcome attempt
                if result = Batching.ExportOutcome.Succeeded then
                    for i in items do exported.Enqueue i
                return result
            })
    let p = new BatchExportProcessor<int>(settings queue batch, export, TimeSpan.FromSeconds 5.0, TimeProvider.System, statistics)
    p, exported, statistics, attempts

[<Tests>]
let tests =
    testList "Processor" [
        testTask "a flush exports everything offered before it, in order" {
            let p, exported, statistics, _ = processor 2048 100 (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            for i in 1..1000 do Expect.isTrue (p.Offer i) "accepted"
            let! flushed = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed in time"
            Expect.equal (List.ofSeq exported) [ 1..1000 ] "all, in order"
            Expect.equal statistics.Exported 1000L "counted"
            do! p.DisposeAsync()
        }

        testTask "a burst beyond the queue drops exactly what did not fit, and loses nothing else" {
            let gate = TaskCompletionSource()
            let p, exported, statistics, _ = processor 100 10 (fun _ -> Batching.ExportOutcome.Succeeded) gate.Task
            let accepted = [ for i in 1..5000 -> p.Offer i ] |> List.filter id |> List.length
            gate.SetResult()
            let! _ = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isLessThanOrEqual accepted 110 "the queue bound holds (plus the batch in flight)"
            Expect.equal (int64 exported.Count) (int64 accepted) "every accepted item exported"
            Expect.equal statistics.DroppedQueueFull (5000L - int64 accepted) "every other item counted as dropped"
            do! p.DisposeAsync()
        }

        testTask "a retryable failure is retried and the batch exported once" {
            let outcome attempt = if attempt < 3 then Batching.ExportOutcome.RetryableFailure None else Batching.ExportOutcome.Succeeded
            let p, exported, statistics, attempts = processor 2048 512 outcome Task.CompletedTask
            for i in 1..10 do p.Offer i |> ignore
            let! _ = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.equal attempts.Value 3 "three attempts"
            Expect.equal (List.ofSeq exported) [ 1..10 ] "exported once"
            Expect.equal statistics.Dropped 0L "nothing dropped"
            do! p.DisposeAsync()
        }

        testTask "a permanent failure drops the batch and counts it" {
            let p, exported, statistics, attempts = processor 2048 512 (fun _ -> Batching.ExportOutcome.PermanentFailure) Task.CompletedTask
            for i in 1..10 do p.Offer i |> ignore
            let! _ = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.equal attempts.Value 1 "not retried"
            Expect.isEmpty exported "nothing exported"
            Expect.equal statistics.DroppedPermanentFailure 10L "counted"
            do! p.DisposeAsync()
        }

        testTask "shutdown flushes, then refuses new items and counts them" {
            let p, exported, statistics, _ = processor 2048 512 (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            for i in 1..10 do p.Offer i |> ignore
            let! stopped = p.ShutdownAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue stopped "stopped in time"
            Expect.equal exported.Count 10 "flushed"
            Expect.isFalse (p.Offer 11) "refused"
            Expect.equal statistics.DroppedShutDown 1L "counted"
            do! p.DisposeAsync()
        }

        testTask "shutdown with a stuck export completes at its deadline and counts what was pending" {
            let gate = TaskCompletionSource()
            let p, _, statistics, _ = processor 2048 512 (fun _ -> Batching.ExportOutcome.Succeeded) gate.Task
            for i in 1..10 do p.Offer i |> ignore
            let watch = Diagnostics.Stopwatch.StartNew()
            let! stopped = p.ShutdownAsync(TimeSpan.FromMilliseconds 300.0)
            Expect.isFalse stopped "timed out"
            Expect.isLessThan watch.ElapsedMilliseconds 5000L "bounded by the deadline"
            Expect.equal statistics.DroppedDeadlineExceeded 10L "the pending batch counted"
            gate.SetResult()
            do! p.DisposeAsync()
        }
    ]

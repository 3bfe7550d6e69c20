/// The batching driver: the core's Batching machine carried out with real tasks and a real clock.
module Otlp.Tests.ProcessorTests

open System
open System.Collections.Concurrent
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck
open Otlp.Core
open Otlp.Runtime

let private settings queue batch =
    { Batching.Settings.Default with
        MaxQueueSize = queue
        MaxExportBatchSize = batch
        ScheduledDelayMs = 20L
        ExportTimeoutMs = 10_000L
        Retry = { Retry.Policy.Default with InitialBackoffMs = 10L; MaxBackoffMs = 20L } }

/// A processor with `settings` whose exports record their items and end as the task `answer attempt` does.
let private processorAnswering (settings: Batching.Settings) (answer: int -> Task<Batching.ExportOutcome>) (gate: Task) =
    let exported = ConcurrentQueue<int>()
    let attempts = ref 0
    let statistics = ExportStatistics()
    let export =
        Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items attempt turn ->
            task {
                let! _ = turn.BeginSendAsync()
                do! gate
                Interlocked.Increment(&attempts.contents) |> ignore
                let! result = answer attempt
                if result = Batching.ExportOutcome.Succeeded then
                    for i in items do exported.Enqueue i
                return result
            })
    let p = new BatchExportProcessor<int>(settings, export, TimeSpan.FromSeconds 5.0, TimeProvider.System, statistics)
    p, exported, statistics, attempts

/// A processor with `settings` whose exports record their items and answer with `outcome attempt`.
let private processorWith (settings: Batching.Settings) (outcome: int -> Batching.ExportOutcome) (gate: Task) =
    processorAnswering settings (outcome >> Task.FromResult) gate

let private processor queue batch outcome gate = processorWith (settings queue batch) outcome gate

/// How many exports are at a stage now, and the most that ever were at once.
type private UnderWay() =
    let now = ref 0
    let most = ref 0

    member _.Enter() =
        let count = Interlocked.Increment(&now.contents)
        lock most (fun () -> most.Value <- max most.Value count)

    member _.Leave() = Interlocked.Decrement(&now.contents) |> ignore
    member _.Now = Volatile.Read(&now.contents)
    member _.Most = lock most (fun () -> most.Value)

/// A processor encoding ahead (batches of 5, the delay timer far away) exporting with `export`, each attempt given
/// `attemptTimeout`, with 1..10 offered: two full batches.
let private twoBatchesEncodingAhead export attemptTimeout =
    let statistics = ExportStatistics()
    let ahead = { settings 100 5 with EncodeAhead = true; ScheduledDelayMs = 600_000L }
    let p = new BatchExportProcessor<int>(ahead, export, attemptTimeout, TimeProvider.System, statistics)
    for i in 1..10 do Expect.isTrue (p.Offer i) "accepted"
    p, statistics

/// Waits (up to 10 s) until `count` items were exported.
let private waitForExported (exported: ConcurrentQueue<int>) (count: int64) =
    task {
        let deadline = DateTime.UtcNow.AddSeconds 10.0
        while int64 exported.Count < count && DateTime.UtcNow < deadline do
            do! Task.Delay 10
    }

/// With a processor of `queue` and `batch`: offers 1..`first`, then, a moment later, the rest up to `total` (each
/// must be accepted; short of a batch, so they leave at the delay, without a flush), and checks that all of them
/// were exported, in order, and counted.
let private trickleArrivesInOrder queue batch first total =
    task {
        let p, exported, statistics, _ = processor queue batch (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
        for i in 1..first do Expect.isTrue (p.Offer i) "accepted"
        do! Task.Delay 5
        for i in first + 1 .. total do Expect.isTrue (p.Offer i) "accepted"
        do! waitForExported exported (int64 total)
        Expect.equal (List.ofSeq exported) [ 1..total ] "all, in order, at the delay"
        Expect.equal statistics.Exported (int64 total) "counted"
        do! p.DisposeAsync()
    }

/// Runs a busy writer on a thread of its own: on the thread pool, writers that spin for a while would keep the
/// pool's few threads from the tests that run beside these.
let private onOwnThread (work: unit -> unit) =
    Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)

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

        testTask "a flush covers an offer that returned before it, also behind a writer preempted while storing its item" {
            // A writer claims its position in the ring with a compare-and-swap and stores its item just after; a
            // thread preempted in between holds up the items written after it. That moment is made here by claiming
            // a position through the ring's fields: 42 is then written behind it, its offer returns, and the flush
            // must wait for the claimed slot rather than complete without 42.
            let p, exported, _, _ = processorWith { settings 64 8 with ScheduledDelayMs = 600_000L } (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            let flags = Reflection.BindingFlags.NonPublic ||| Reflection.BindingFlags.Instance
            let ring = typeof<BatchExportProcessor<int>>.GetField("incoming", flags).GetValue p
            let positionsField = ring.GetType().GetField("positions", flags)
            while p.Sleeps < 1L do do! Task.Delay 5
            let mutable positions = positionsField.GetValue ring :?> RingPositions
            positions.Write <- positions.Write + 1L
            positionsField.SetValue(ring, box positions)
            Expect.isTrue (p.Offer 42) "offered behind the claimed slot"
            let flush = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            do! Task.Delay 100
            Expect.isFalse flush.IsCompleted "the flush waits for the claimed slot"
            Expect.isEmpty exported "nothing exported past the claimed slot"
            // The preempted writer resumes and stores 7.
            let slots = ring.GetType().GetField("slots", flags).GetValue ring :?> Array
            let slot = slots.GetValue 0
            slot.GetType().GetField("Item").SetValue(slot, box 7)
            slot.GetType().GetField("Sequence").SetValue(slot, box 1L)
            slots.SetValue(slot, 0)
            let! (flushed: bool) = flush
            Expect.isTrue flushed "flushed"
            Expect.equal (List.ofSeq exported) [ 7; 42 ] "both, in the ring's order"
            do! p.DisposeAsync()
        }

        testTask "a flush whose deadline is weeks away, and a server's retry delay of weeks, leave the loop running" {
            // A deadline of 30 days is a timer the runtime accepts (up to about 49 days), but more than one wait
            // on an event takes (about 24 days): the loop must wait in steps, not fail.
            let gate = TaskCompletionSource()
            let p, exported, statistics, _ = processor 64 8 (fun _ -> Batching.ExportOutcome.Succeeded) gate.Task
            Expect.isTrue (p.Offer 1) "offered"
            // The batch leaves at the delay and is held in its send, so the loop sleeps until the flush's deadline.
            do! Task.Delay 150
            let flush = p.ForceFlushAsync(TimeSpan.FromDays 30.0)
            do! Task.Delay 100
            gate.SetResult()
            let! (flushed: bool) = flush
            Expect.isTrue flushed "a flush with a far deadline completes"
            for i in 2..5 do Expect.isTrue (p.Offer i) "offered"
            let! (again: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue again "the loop is still running"
            Expect.equal (List.ofSeq exported, statistics.Exported) ([ 1..5 ], 5L) "exported"
            do! p.DisposeAsync()

            let noLimit = { settings 64 8 with ExportTimeoutMs = Int64.MaxValue }
            let retryInWeeks attempt =
                if attempt = 1 then Batching.ExportOutcome.RetryableFailure(Some(30L * 24L * 3600L * 1000L)) else Batching.ExportOutcome.Succeeded
            let p, _, statistics, attempts = processorWith noLimit retryInWeeks Task.CompletedTask
            Expect.isTrue (p.Offer 1) "offered"
            while attempts.Value = 0 do do! Task.Delay 5
            do! Task.Delay 100
            for i in 2..5 do Expect.isTrue (p.Offer i) "offered while the first batch waits for its retry"
            let! (shutDown: bool) = p.ShutdownAsync(TimeSpan.FromMilliseconds 300.0)
            Expect.isFalse shutDown "the retry is weeks away: shutdown ends at its deadline"
            Expect.equal (statistics.Exported, statistics.Dropped) (0L, 5L) "every item counted, dropped at the deadline"
            do! p.DisposeAsync()
        }

        testTask "a shutdown after the first has finished returns false, as the machine answers one it meets stopped" {
            let p, exported, _, _ = processor 64 8 (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            for i in 1..10 do p.Offer i |> ignore
            let! (first: bool) = p.ShutdownAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue first "the first shutdown finished in time"
            Expect.equal exported.Count 10 "what was offered went out"
            let! (second: bool) = p.ShutdownAsync(TimeSpan.FromSeconds 10.0)
            Expect.isFalse second "already shut down"
            let! (flushed: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isFalse flushed "nothing to flush into"
            do! p.DisposeAsync()
        }

        testTask "items short of a batch are exported at the delay, also those that arrive while the machine holds some" {
            // The loop leaves a partial chunk in the ring while the machine holds items (their delay timer is
            // armed); the timer's drain must take them along.
            do! trickleArrivesInOrder 2048 100 3 7
        }

        testTask "with a batch size too large for small arrays, a trickle of items is exported at the delay, in order" {
            // 40000 ints make a fill array of the large object heap: drains of a few items get arrays of their size.
            do! trickleArrivesInOrder 40_000 40_000 5 70
        }

        testTask "full batches go out at once while offers race with the loop's drains, without waiting for the delay" {
            // With a delay far longer than the test, only full batches may leave, and each must leave at once: the
            // loop drains what was offered before each drain, and must not sleep on a batch completed meanwhile.
            let batch = 64
            let p, exported, statistics, _ =
                processorWith { settings 1024 batch with ScheduledDelayMs = 600_000L } (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            let accepted = ref 0L
            do! onOwnThread (fun () ->
                for i in 1 .. batch * 500 do
                    if p.Offer i then Interlocked.Increment(&accepted.contents) |> ignore)
            let full = accepted.Value / int64 batch * int64 batch
            do! waitForExported exported full
            Expect.equal (int64 exported.Count) full "every full batch exported without the delay, the rest still waiting"
            Expect.equal (statistics.Exported + statistics.DroppedQueueFull) (int64 (batch * 500) - (accepted.Value - full)) "the rest queued, all else counted"
            do! p.DisposeAsync()
        }

        testTask "while batches fill quickly, a batch completed after a pause still leaves at once, and an idle loop sleeps" {
            // Batches that fill within milliseconds of each other make the loop wait for two at a time, which halves
            // the wakes the offering threads pay for; it must still wake by itself for a batch completed alone, and
            // once nothing more comes it must go back to sleeping until the delay instead of waking every few ms.
            let batch = 64
            let p, exported, _, _ =
                processorWith { settings 1024 batch with ScheduledDelayMs = 600_000L } (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            for i in 1 .. 2 * batch do Expect.isTrue (p.Offer i) "accepted"
            do! waitForExported exported (int64 (2 * batch))
            Expect.isTrue (p.Offer(2 * batch + 1)) "accepted"
            do! Task.Delay 50
            let sleepsBefore = p.Sleeps
            do! Task.Delay 200
            Expect.isLessThanOrEqual (p.Sleeps - sleepsBefore) 3L "an idle loop with a partial batch sleeps until the delay"
            for i in 2 * batch + 2 .. 3 * batch do Expect.isTrue (p.Offer i) "accepted"
            do! waitForExported exported (int64 (3 * batch))
            Expect.equal (List.ofSeq exported) [ 1 .. 3 * batch ] "the third batch left without the delay, all in order"
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

        testTask "an attempt whose task is cancelled is retried, not dropped for good" {
            let answer attempt =
                if attempt = 1 then Task.FromCanceled<Batching.ExportOutcome>(CancellationToken(true))
                else Task.FromResult Batching.ExportOutcome.Succeeded
            let p, exported, statistics, attempts = processorAnswering (settings 64 8) answer Task.CompletedTask
            for i in 1..3 do Expect.isTrue (p.Offer i) "accepted"
            let! (flushed: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (List.ofSeq exported, attempts.Value) ([ 1; 2; 3 ], 2) "exported by the second attempt"
            Expect.equal (statistics.Exported, statistics.DroppedPermanentFailure) (3L, 0L) "counted exported, not dropped"
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

        for concurrency in [ 1; 2 ] do
            testTask $"with {concurrency} export(s) at a time, a send that ends after the shutdown deadline is counted once, dropped" {
                let gate = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
                let settings = { settings 100 5 with MaxConcurrentExports = concurrency; ScheduledDelayMs = 600_000L }
                // The sends ignore their token, as a send stuck in a handler would: they end when the gate opens.
                let p, exported, statistics, _ = processorWith settings (fun _ -> Batching.ExportOutcome.Succeeded) gate.Task
                for i in 1..12 do Expect.isTrue (p.Offer i) "accepted"
                let! stopped = p.ShutdownAsync(TimeSpan.FromMilliseconds 200.0)
                Expect.isFalse stopped "timed out"
                let settled () = statistics.Exported + statistics.Dropped
                Expect.equal (settled ()) 12L "everything counted at the deadline"
                gate.SetResult()
                do! p.DisposeAsync()
                Expect.isGreaterThan exported.Count 0 "the abandoned sends did end"
                Expect.equal (statistics.Exported, statistics.DroppedDeadlineExceeded) (0L, 12L) "dropped at the deadline, never also exported"
                Expect.equal (settled ()) 12L "exported + dropped = offered"
            }

        testTask "each attempt is told its time: the exporter timeout, or what is left of the batch's deadline when that is nearer" {
            let limits = ConcurrentQueue<int * TimeSpan>()
            let run (batchTimeoutMs: int64) (attemptTimeout: TimeSpan) =
                task {
                    limits.Clear()
                    let export =
                        Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun _ attempt turn ->
                            limits.Enqueue((attempt, turn.Limit))
                            // The server asks for 100 ms between attempts, so each retry has less time left.
                            Task.FromResult(if attempt < 3 then Batching.ExportOutcome.RetryableFailure(Some 100L) else Batching.ExportOutcome.Succeeded))
                    let statistics = ExportStatistics()
                    let p =
                        new BatchExportProcessor<int>(
                            { settings 16 4 with ExportTimeoutMs = batchTimeoutMs }, export, attemptTimeout, TimeProvider.System, statistics)
                    for i in 1..4 do p.Offer i |> ignore
                    let! (flushed: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                    Expect.isTrue flushed "flushed"
                    do! p.DisposeAsync()
                    return List.ofSeq limits
                }
            let! byTimeout = run 60_000L (TimeSpan.FromSeconds 3.0)
            Expect.equal (List.map fst byTimeout) [ 1; 2; 3 ] "three attempts"
            for (attempt, limit) in byTimeout do
                Expect.equal limit (TimeSpan.FromSeconds 3.0) $"attempt {attempt}: the exporter timeout, the batch deadline being far"
            let! byDeadline = run 2_000L (TimeSpan.FromSeconds 30.0)
            Expect.equal (List.map fst byDeadline) [ 1; 2; 3 ] "three attempts"
            for (attempt, limit) in byDeadline do
                Expect.isTrue (limit > TimeSpan.FromSeconds 1.0 && limit <= TimeSpan.FromSeconds 2.0) $"attempt {attempt}: what is left of the 2 s batch deadline ({limit})"
            let later = byDeadline |> List.map snd
            Expect.isTrue (later[2] <= later[0] - TimeSpan.FromMilliseconds 200.0) $"the third attempt has 200 ms less left than the first ({later})"
            let! unlimited = run Int64.MaxValue Timeout.InfiniteTimeSpan
            Expect.equal (unlimited |> List.map snd |> List.distinct) [ Timeout.InfiniteTimeSpan ] "no deadline and no timeout: no limit"
        }

        testTask "an attempt's token: one whose time ran out is never handed on, one that ended in time is reset for the next" {
            let seen = ConcurrentQueue<int * int * CancellationToken * bool>()
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items attempt turn ->
                    task {
                        let! _ = turn.BeginSendAsync()
                        seen.Enqueue((items[0], attempt, turn.Token, turn.Token.IsCancellationRequested))
                        if items[0] = 1 && attempt = 1 then
                            // Hangs until its time is up.
                            try
                                do! Task.Delay(Timeout.Infinite, turn.Token)
                            with :? OperationCanceledException -> ()
                            return Batching.ExportOutcome.RetryableFailure None
                        else
                            return Batching.ExportOutcome.Succeeded
                    })
            let p = new BatchExportProcessor<int>(settings 16 2, export, TimeSpan.FromMilliseconds 200.0, TimeProvider.System, ExportStatistics())
            for i in 1..6 do Expect.isTrue (p.Offer i) "accepted"
            let! (flushed: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            do! p.DisposeAsync()
            let attempts = List.ofSeq seen
            Expect.equal (attempts |> List.map (fun (first, attempt, _, _) -> first, attempt) |> List.sort) [ 1, 1; 1, 2; 3, 1; 5, 1 ] "three batches, the first retried"
            Expect.isTrue (attempts |> List.forall (fun (_, _, _, cancelled) -> not cancelled)) "every attempt starts with a live token"
            let _, _, fired, _ = attempts |> List.find (fun (first, attempt, _, _) -> first = 1 && attempt = 1)
            Expect.isTrue fired.IsCancellationRequested "the hung attempt's token fired"
            let later = attempts |> List.filter (fun (first, attempt, _, _) -> not (first = 1 && attempt = 1)) |> List.map (fun (_, _, token, _) -> token)
            Expect.isFalse (later |> List.contains fired) "the fired source is not used again"
            // One export at a time: each attempt that ended in time hands its source, reset, to the next.
            Expect.equal (later |> List.distinct |> List.length) 1 "the attempts after it share one source"
        }

        testTask "encoding ahead: the next batch is prepared while one is sent, sends go one at a time and in order" {
            let preparing = UnderWay()
            let sending = UnderWay()
            let answers = ConcurrentQueue<TaskCompletionSource>()
            let sent = ConcurrentQueue<int>()
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items _ turn ->
                    task {
                        preparing.Enter()
                        let! began = turn.BeginSendAsync()
                        Expect.isTrue began "its turn came"
                        sending.Enter()
                        for i in items do sent.Enqueue i
                        let answer = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
                        answers.Enqueue answer
                        do! answer.Task
                        sending.Leave()
                        preparing.Leave()
                        return Batching.ExportOutcome.Succeeded
                    })
            let statistics = ExportStatistics()
            let ahead = { settings 100 10 with EncodeAhead = true; ScheduledDelayMs = 600_000L }
            let p = new BatchExportProcessor<int>(ahead, export, TimeSpan.FromSeconds 30.0, TimeProvider.System, statistics)
            for i in 1..40 do Expect.isTrue (p.Offer i) "accepted"
            for round in 1..4 do
                // Batch `round` is sent; the one after it (if any) is prepared behind it.
                let expected = min 2 (5 - round)
                let deadline = DateTime.UtcNow.AddSeconds 10.0
                while (answers.IsEmpty || preparing.Now < expected) && DateTime.UtcNow < deadline do
                    do! Task.Delay 10
                do! Task.Delay 50
                Expect.equal (answers.Count, sending.Now) (1, 1) $"round {round}: one request on the wire"
                Expect.equal preparing.Now expected $"round {round}: and the next batch prepared behind it"
                Expect.equal (List.ofSeq sent) [ 1 .. 10 * round ] $"round {round}: sent in order, the prepared batch not yet"
                match answers.TryDequeue() with
                | true, answer -> answer.SetResult()
                | _ -> failwith "an answer"
            let! flushed = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (sending.Most, preparing.Most) (1, 2) "one send at a time, one batch ahead"
            Expect.equal statistics.Exported 40L "counted"
            do! p.DisposeAsync()
        }

        testTask "encoding ahead: an attempt's time starts with its turn to send, not while it waits behind a slow send" {
            let turns = ConcurrentQueue<TimeSpan * bool>()
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items _ turn ->
                    task {
                        let! _ = turn.BeginSendAsync()
                        turns.Enqueue((turn.Limit, turn.Token.IsCancellationRequested))
                        // The first send outlasts the 300 ms attempt timeout (ignoring its token, as a stuck handler would).
                        if items[0] = 1 then do! Task.Delay 700
                        return Batching.ExportOutcome.Succeeded
                    })
            let p, statistics = twoBatchesEncodingAhead export (TimeSpan.FromMilliseconds 300.0)
            let! flushed = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            match List.ofSeq turns with
            | [ (first, _); (second, cancelledAtStart) ] ->
                Expect.equal first (TimeSpan.FromMilliseconds 300.0) "the exporter timeout"
                Expect.equal second (TimeSpan.FromMilliseconds 300.0) "the second attempt's full time, after 700 ms of waiting"
                Expect.isFalse cancelledAtStart "its time had not run out while it waited"
            | other -> failtest $"two attempts expected: {other}"
            Expect.equal statistics.Exported 10L "both batches exported"
            do! p.DisposeAsync()
        }

        testTask "encoding ahead: shutdown's deadline ends an attempt waiting for its turn, which sends nothing" {
            let gate = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
            let sent = ConcurrentQueue<int>()
            let refused = ref 0
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items _ turn ->
                    task {
                        let! began = turn.BeginSendAsync()
                        if not began then
                            Interlocked.Increment(&refused.contents) |> ignore
                            return Batching.ExportOutcome.RetryableFailure None
                        else
                            for i in items do sent.Enqueue i
                            do! gate.Task
                            return Batching.ExportOutcome.Succeeded
                    })
            let p, statistics = twoBatchesEncodingAhead export (TimeSpan.FromSeconds 30.0)
            let! stopped = p.ShutdownAsync(TimeSpan.FromMilliseconds 200.0)
            Expect.isFalse stopped "timed out"
            let deadline = DateTime.UtcNow.AddSeconds 10.0
            while refused.Value = 0 && DateTime.UtcNow < deadline do
                do! Task.Delay 10
            Expect.equal refused.Value 1 "the prepared batch gave up its turn"
            Expect.equal (List.ofSeq sent) [ 1..5 ] "only the first batch was sent"
            Expect.equal (statistics.Exported, statistics.DroppedDeadlineExceeded) (0L, 10L) "both counted dropped at the deadline"
            gate.SetResult()
            do! p.DisposeAsync()
        }

        testTask "with two exports at a time, two batches run at once, never three, and completions in any order settle them" {
            let running = UnderWay()
            let started = ConcurrentQueue<TaskCompletionSource>()
            let exported = ConcurrentQueue<int>()
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items _ turn ->
                    task {
                        let! _ = turn.BeginSendAsync()
                        running.Enter()
                        let answer = TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
                        started.Enqueue answer
                        do! answer.Task
                        for i in items do exported.Enqueue i
                        running.Leave()
                        return Batching.ExportOutcome.Succeeded
                    })
            let statistics = ExportStatistics()
            let twoAtATime = { settings 100 10 with MaxConcurrentExports = 2; ScheduledDelayMs = 600_000L }
            let p = new BatchExportProcessor<int>(twoAtATime, export, TimeSpan.FromSeconds 30.0, TimeProvider.System, statistics)
            for i in 1..40 do Expect.isTrue (p.Offer i) "accepted"
            // Four full batches: two start, and each pair is answered in reverse order.
            for round in 1..2 do
                let deadline = DateTime.UtcNow.AddSeconds 10.0
                while started.Count < 2 && DateTime.UtcNow < deadline do
                    do! Task.Delay 10
                do! Task.Delay 100
                Expect.equal started.Count 2 $"round {round}: two batches started, the next ones wait"
                let first = (match started.TryDequeue() with | true, a -> a | _ -> failwith "started")
                let second = (match started.TryDequeue() with | true, a -> a | _ -> failwith "started")
                second.SetResult()
                do! waitForExported exported (int64 (20 * round - 10))
                first.SetResult()
                do! waitForExported exported (int64 (20 * round))
            let! flushed = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal running.Most 2 "never more than two at once"
            Expect.equal (exported |> Seq.sort |> List.ofSeq) [ 1..40 ] "every item exported once"
            Expect.equal (List.ofSeq exported |> List.take 20) ([ 11..20 ] @ [ 1..10 ]) "the later batch's answer came first"
            Expect.equal statistics.Exported 40L "counted"
            do! p.DisposeAsync()
        }

        testTask "offers from many threads racing with exports are each exported or counted as dropped, exactly once" {
            let p, exported, statistics, _ = processor 256 32 (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
            let accepted = ref 0L
            let threads, each = 4, 20_000
            let offer thread =
                for i in 0 .. each - 1 do
                    if p.Offer(thread * each + i) then Interlocked.Increment(&accepted.contents) |> ignore
            do! Task.WhenAll [| for t in 0 .. threads - 1 -> onOwnThread (fun () -> offer t) |]
            let! flushed = p.ForceFlushAsync(TimeSpan.FromSeconds 30.0)
            Expect.isTrue flushed "flushed in time"
            let items = List.ofSeq exported
            Expect.equal (int64 items.Length) accepted.Value "every accepted item exported"
            Expect.equal (List.length (List.distinct items)) items.Length "none exported twice"
            Expect.equal statistics.DroppedQueueFull (int64 (threads * each) - accepted.Value) "every refused item counted"
            for t in 0 .. threads - 1 do
                let own = items |> List.filter (fun i -> i / each = t)
                Expect.equal own (List.sort own) "each thread's items in its order"
            do! p.DisposeAsync()
        }

        testTask "a batch's array is filled again only after its batch ended: retries see their items unchanged" {
            // Two batches in flight (one encoding ahead), every third batch failing once: each attempt checks that no
            // other batch holds its array and that a retry sees what the first attempt saw.
            let inUse = ConcurrentDictionary<obj, int>(HashIdentity.Reference)
            let firstSeen = ConcurrentDictionary<int, int list>()
            let arrays = ConcurrentDictionary<obj, unit>(HashIdentity.Reference)
            let exported = ConcurrentQueue<int>()
            let problems = ConcurrentQueue<string>()
            let export =
                Func<int array, int, ExportTurn, Task<Batching.ExportOutcome>>(fun items attempt turn ->
                    task {
                        let first = items[0]
                        let owner = inUse.GetOrAdd(box items, first)
                        if owner <> first then problems.Enqueue $"batch {first} got the array of batch {owner}, still in flight"
                        arrays.TryAdd(box items, ()) |> ignore
                        let seen = firstSeen.GetOrAdd(first, List.ofArray items)
                        if seen <> List.ofArray items then problems.Enqueue $"batch {first}: attempt {attempt} saw other items"
                        let! _ = turn.BeginSendAsync()
                        do! Task.Yield()
                        let fails = attempt = 1 && (first / 5) % 3 = 0
                        if not fails then for i in items do exported.Enqueue i
                        inUse.TryRemove(Collections.Generic.KeyValuePair(box items, first)) |> ignore
                        return if fails then Batching.ExportOutcome.RetryableFailure(Some 1L) else Batching.ExportOutcome.Succeeded
                    })
            let statistics = ExportStatistics()
            let ahead = { settings 100 5 with EncodeAhead = true; ScheduledDelayMs = 600_000L }
            let p = new BatchExportProcessor<int>(ahead, export, TimeSpan.FromSeconds 5.0, TimeProvider.System, statistics)
            for round in 0 .. 9 do
                for i in round * 50 .. round * 50 + 49 do Expect.isTrue (p.Offer i) "accepted"
                let! (flushed: bool) = p.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                Expect.isTrue flushed "flushed"
            do! p.DisposeAsync()
            Expect.isEmpty (List.ofSeq problems) "no array shared by two batches, no retry with changed items"
            Expect.equal (List.ofSeq exported |> List.sort) [ 0..499 ] "every item exported once"
            Expect.isLessThan arrays.Count 100 "arrays filled again (100 batches)"
        }

        testTask "offers racing with shutdown are each exported or counted as dropped, exactly once, and do not hold the processor up" {
            for _ in 1..20 do
                let p, exported, statistics, _ = processor 2048 64 (fun _ -> Batching.ExportOutcome.Succeeded) Task.CompletedTask
                let offered = ref 0L
                let stop = new CancellationTokenSource()
                let offer () =
                    while not stop.IsCancellationRequested do
                        p.Offer 1 |> ignore
                        Interlocked.Increment(&offered.contents) |> ignore
                let writers = [| for _ in 1..3 -> onOwnThread offer |]
                do! Task.Delay 5
                let! stopped = p.ShutdownAsync(TimeSpan.FromSeconds 30.0)
                // The loop counts the offers that raced with its end before it returns, and returns although
                // the writers go on offering.
                do! p.DisposeAsync()
                stop.Cancel()
                do! Task.WhenAll writers
                stop.Dispose()
                Expect.isTrue stopped "stopped in time"
                Expect.equal (int64 exported.Count + statistics.Dropped) offered.Value "exported + dropped = offered"
        }
    ]

/// An operation on a ring in the single-threaded model test.
type RingOp =
    | Write
    | Read
    /// Release all but this many of the items taken and not yet released.
    | Release of keep: byte

/// The processor's ring: writers on any thread, one reader.
[<Tests>]
let ringTests =
    // The write's outcome, and whether it must wake the reader.
    let write (ring: BoundedRing<'t>) (item: 't) : RingWrite * bool = ring.TryWrite item

    testList "BoundedRing" [
        testProperty "a FIFO queue that holds at most its limit, counting items taken until they are released" <| fun (limit: PositiveInt) (ops: RingOp list) ->
            let ring = BoundedRing<int>(min limit.Get 64)
            let model = Collections.Generic.Queue<int>()
            let mutable next = 0
            let mutable taken = 0L
            let mutable released = 0L
            for op in ops do
                match op with
                | Write ->
                    let held = int64 model.Count + taken - released
                    let result, wake = write ring next
                    Expect.equal result (if held < int64 ring.Limit then RingWrite.Written else RingWrite.Full) "a write gets in exactly while the ring holds less than its limit"
                    Expect.isFalse wake "no wake asked for"
                    if result = RingWrite.Written then model.Enqueue next
                    next <- next + 1
                | Read ->
                    let read, item = ring.TryRead()
                    Expect.equal read (model.Count > 0) "a read succeeds exactly when an item is there"
                    if read then
                        Expect.equal item (model.Dequeue()) "oldest first"
                        taken <- taken + 1L
                | Release keep ->
                    released <- max released (taken - int64 keep)
                    ring.ReleaseUpTo(taken - int64 keep)
                Expect.equal ring.Count (int64 model.Count) "count: written and not taken"
                Expect.equal ring.Taken taken "taken"
            Expect.equal ring.Limit (min limit.Get 64) "the limit asked"

        testProperty "the writer that brings the ring to the armed count, and only it, is told to wake the reader" <| fun (before: byte) (ahead: byte) (after: byte) ->
            let ring = BoundedRing<int>(1024)
            for i in 1 .. int before do write ring i |> ignore
            let target = int64 before + int64 ahead
            let armed = ring.ArmWake target
            Expect.equal armed (ahead > 0uy) "armed unless that many writes got in already"
            let wakes =
                [ for i in 1 .. int ahead + int after -> snd (write ring i) ]
            let expected = [ for i in 1 .. int ahead + int after -> armed && int64 before + int64 i = target ]
            Expect.equal wakes expected "the write reaching the count wakes, once"

        test "a disarmed ring wakes no one" {
            let ring = BoundedRing<int>(16)
            Expect.isTrue (ring.ArmWake 1L) "armed"
            ring.Disarm()
            Expect.isFalse (snd (write ring 1)) "no wake after disarming"
        }

        test "a closed ring refuses writes and says how many got in; the reader still takes those" {
            let ring = BoundedRing<int>(16)
            for i in 1 .. 3 do write ring i |> ignore
            ring.TryRead() |> ignore
            Expect.equal (ring.Close()) 3L "three writes got in"
            Expect.equal (fst (write ring 4)) RingWrite.Closed "refused once closed"
            Expect.equal (ring.Close()) 3L "closing again changes nothing"
            Expect.equal (ring.Written) 3L "written"
            let taken = [ while ring.Taken < 3L do match ring.TryRead() with | true, item -> yield item | _ -> () ]
            Expect.equal taken [ 2; 3 ] "the rest, in order"
        }

        testTask "items written by many threads while one reads are each read once, in each writer's order" {
            let ring = BoundedRing<int64>(64)
            let writers, each = 4, 50_000
            let refused = ref 0L
            let written = ref 0
            let writeAll (w: int) =
                for i in 0 .. each - 1 do
                    if fst (write ring (int64 w * 1_000_000L + int64 i)) <> RingWrite.Written then Interlocked.Increment(&refused.contents) |> ignore
                Interlocked.Increment(&written.contents) |> ignore
            let tasks = [| for w in 0 .. writers - 1 -> onOwnThread (fun () -> writeAll w) |]
            let read = Collections.Generic.List<int64>()
            let rec drain () =
                match ring.TryRead() with
                | true, item ->
                    read.Add item
                    drain ()
                | _ -> ring.ReleaseUpTo ring.Taken
            while Volatile.Read(&written.contents) < writers do
                drain ()
                Thread.SpinWait 10
            do! Task.WhenAll tasks
            drain ()
            Expect.equal (int64 read.Count + refused.Value) (int64 (writers * each)) "read + refused = written"
            Expect.equal (Seq.length (Seq.distinct read)) read.Count "none read twice"
            for w in 0 .. writers - 1 do
                let own = read |> Seq.filter (fun i -> i / 1_000_000L = int64 w) |> List.ofSeq
                Expect.equal own (List.sort own) "each writer's items in its order"
        }

        testTask "closing while many threads write: every write got in before the close, or was refused as closed" {
            let ring = BoundedRing<int64>(1024)
            let writers = 4
            let results = Collections.Concurrent.ConcurrentBag<RingWrite>()
            let go = new ManualResetEventSlim(false)
            let writeUntilClosed (w: int) =
                go.Wait()
                let mutable closed = false
                let mutable i = 0L
                while not closed do
                    let result = fst (write ring (int64 w * 1_000_000_000L + i))
                    results.Add result
                    closed <- result = RingWrite.Closed
                    i <- i + 1L
            let tasks = [| for w in 0 .. writers - 1 -> onOwnThread (fun () -> writeUntilClosed w) |]
            let mutable taken = 0L
            let takeWhat'sThere () =
                while (match ring.TryRead() with
                       | true, _ -> taken <- taken + 1L; true
                       | _ -> false) do ()
                ring.ReleaseUpTo ring.Taken
            go.Set()
            let running = Diagnostics.Stopwatch.StartNew()
            while running.ElapsedMilliseconds < 20L do
                takeWhat'sThere ()
            let closedAt = ring.Close()
            while ring.Taken < closedAt do
                takeWhat'sThere ()
            do! Task.WhenAll tasks
            Expect.isFalse (fst (ring.TryRead())) "nothing after the close's count"
            let gotIn = results |> Seq.filter ((=) RingWrite.Written) |> Seq.length
            Expect.isGreaterThan gotIn 0 "some writes got in"
            Expect.equal (int64 gotIn) closedAt "the close counts exactly the writes that got in"
            Expect.equal taken closedAt "the reader takes exactly those"
        }
    ]


/// Releases the one slot of `slots` twice: first to `waiter`, which must get it, then back to the free slots.
let private releasedToThenFreed (slots: SendSlots) (waiter: Task<bool>) what =
    slots.Release()
    Expect.isTrue waiter.Result what
    slots.Release()
    Expect.equal slots.Free 1 "and the slot is free again, none lost"

[<Tests>]
let sendSlotTests =
    testList "SendSlots" [
        test "a release hands the slot to the oldest waiter, whose code runs on the releasing thread before it returns" {
            let slots = SendSlots 1
            Expect.isTrue (slots.TryTake()) "the free slot"
            Expect.isFalse (slots.TryTake()) "none left"
            let ranOn = ref -1
            let first = slots.TakeAsync CancellationToken.None
            let resumed =
                task {
                    let! got = first
                    ranOn.Value <- Environment.CurrentManagedThreadId
                    return got
                }
            let second = slots.TakeAsync CancellationToken.None
            slots.Release()
            Expect.equal ranOn.Value Environment.CurrentManagedThreadId "the oldest waiter went on here, inside the release"
            Expect.isTrue resumed.Result "it holds the slot"
            Expect.isFalse second.IsCompleted "the next still waits"
            releasedToThenFreed slots second "then the next"
        }

        test "a waiter whose token fires gets no slot, and the slot goes to the one after it" {
            let slots = SendSlots 1
            Expect.isTrue (slots.TryTake()) "the free slot"
            use cancel = new CancellationTokenSource()
            let cancelled = slots.TakeAsync cancel.Token
            let next = slots.TakeAsync CancellationToken.None
            cancel.Cancel()
            Expect.isFalse cancelled.Result "refused, holding nothing"
            releasedToThenFreed slots next "the slot passed over the cancelled waiter"
        }

        test "an already fired token is refused at once, a slot free or not" {
            let slots = SendSlots 1
            let refused = slots.TakeAsync(CancellationToken(true))
            Expect.isTrue (refused.IsCompleted && not refused.Result) "refused with a slot free"
            Expect.equal slots.Free 1 "which it did not take"
            Expect.isTrue (slots.TryTake()) "the free slot"
            let refused = slots.TakeAsync(CancellationToken(true))
            Expect.isTrue (refused.IsCompleted && not refused.Result) "refused with none free"
            slots.Release()
            Expect.equal slots.Free 1 "the slot was not given to it"
        }

        testTask "threads taking, cancelling and releasing never hold more slots than there are, and lose none" {
            for count in 1..3 do
                let slots = SendSlots count
                let holding = UnderWay()
                let worker seed =
                    onOwnThread (fun () ->
                        let random = Random(seed)
                        for _ in 1..3000 do
                            let got =
                                match random.Next 3 with
                                | 0 -> slots.TryTake()
                                | 1 -> slots.TakeAsync(CancellationToken.None).Result
                                | _ ->
                                    use cancel = new CancellationTokenSource(TimeSpan.FromTicks(int64 (random.Next 2000)))
                                    slots.TakeAsync(cancel.Token).Result
                            if got then
                                holding.Enter()
                                Thread.SpinWait(random.Next 50)
                                holding.Leave()
                                slots.Release())
                do! Task.WhenAll [| for seed in 1..4 -> worker (seed * 7 + count) |]
                Expect.isLessThanOrEqual holding.Most count $"at most {count} held at once"
                Expect.equal slots.Free count "every slot back"
        }
    ]

/// The counts application threads add to at once (offers, queue-full drops).
[<Tests>]
let stripedCounterTests =
    testList "StripedCounter" [
        testProperty "its value is the sum of every add, in any order" <| fun (adds: int list) ->
            let counter = Otlp.Runtime.StripedCounter()
            for add in adds do counter.Add(int64 add)
            Expect.equal counter.Value (adds |> List.sumBy int64) "the sum"

        testTask "adds from threads at once are all counted, whichever processors they run on" {
            let counter = Otlp.Runtime.StripedCounter()
            let threads = 4
            let each = 200_000
            let start = new ManualResetEventSlim(false)
            let workers =
                [| for _ in 1..threads ->
                       Task.Factory.StartNew((fun () ->
                           start.Wait()
                           for i in 1..each do
                               if i % 2 = 0 then counter.Increment() else counter.Add 2L), TaskCreationOptions.LongRunning) |]
            start.Set()
            do! Task.WhenAll workers
            Expect.equal counter.Value (int64 threads * int64 each / 2L * 3L) "every add, none lost"
        }
    ]

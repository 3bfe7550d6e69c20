module Otlp.Core.Tests.BatchingTests

// The batch processor's laws, checked over random event sequences produced by a simulated driver that
// behaves as the C# runtime will: it starts the exports it is told to, reports each one by its deadline,
// fires the single timer at the armed time, and moves time forward monotonically. Items are distinct ints
// offered in increasing order, so loss, duplication and reordering are all visible.

open System
open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Core.Batching

type Action =
    | OfferOne
    | OfferSome of count: int
    /// The next `count` slots of the driver's fill array (a new one of `size` when they do not fit), as the runtime
    /// fills one array in several offers.
    | FillSlice of count: int * size: int
    | Advance of ms: int
    | FireTimer
    | Complete of pick: int * outcome: ExportOutcome * tookMs: int * random: float
    | Flush of deadlineInMs: int
    | ShutdownNow of deadlineInMs: int

/// One delivered event with the states around it and the commands it produced.
type Record =
    { Now: int64
      Event: Event<int>
      Before: State<int>
      After: State<int>
      Commands: Command<int> list
      /// True for the events of the final drain, when the driver settles everything left.
      Draining: bool }

type Trace =
    { Settings: Settings
      Steps: Record list
      Offered: int
      /// False when the drain did not settle: a timer kept re-arming or an export never ended.
      Quiesced: bool }

type private Driver =
    { mutable State: State<int>
      mutable Now: int64
      mutable Next: int
      mutable Armed: int64 option
      mutable WaiterId: int64
      mutable Draining: bool
      mutable Fill: int array
      mutable FillNext: int }

let simulate (settings: Settings) (actions: Action list) =
    let d =
        { State = init ()
          Now = 0L
          Next = 0
          Armed = None
          WaiterId = 0L
          Draining = false
          Fill = [||]
          FillNext = 0 }

    // Export attempts the driver is running: id -> (deadline, batch size).
    let running = Dictionary<int64, int64 * int>()
    let steps = ResizeArray<Record>()

    let deliver event =
        // A machine that keeps arming timers in the past would spin the driver forever.
        if steps.Count > 100_000 then
            failwith $"runaway: more than 100000 events, the last one {event}"

        let before = d.State
        let after, commands = step settings d.State event
        d.State <- after

        for command in commands do
            match command with
            | StartExport(id, items, _, deadline) -> running[id] <- (deadline, items.Length)
            | ArmTimer at -> d.Armed <- Some at
            | CompleteWaiter _
            | ReportDropped _
            | ReportExported _ -> ()

        steps.Add
            { Now = d.Now
              Event = event
              Before = before
              After = after
              Commands = commands
              Draining = d.Draining }

    // An export still running at its deadline is reported as a retryable failure then, as a transport whose
    // deadline expired would.
    let expire (id: int64) (deadline: int64) =
        d.Now <- max d.Now deadline
        running.Remove id |> ignore
        deliver (ExportCompleted(id, ExportOutcome.RetryableFailure None, d.Now, 0.5))

    let rec advanceTo target =
        let timer = d.Armed |> Option.filter (fun at -> at <= target)

        let overdue =
            running
            |> Seq.filter (fun entry -> fst entry.Value <= target)
            |> Seq.sortBy (fun entry -> fst entry.Value, entry.Key)
            |> Seq.tryHead

        match timer, overdue with
        | None, None -> d.Now <- max d.Now target
        | Some at, Some entry when fst entry.Value < at ->
            expire entry.Key (fst entry.Value)
            advanceTo target
        | Some at, _ ->
            d.Now <- max d.Now at
            d.Armed <- None
            deliver (TimerFired d.Now)
            advanceTo target
        | None, Some entry ->
            expire entry.Key (fst entry.Value)
            advanceTo target

    let completeOne pick outcome (took: int64) random =
        if running.Count > 0 then
            let ids = running.Keys |> Seq.sort |> Array.ofSeq
            let id = ids[pick % ids.Length]
            let deadline, size = running[id]
            advanceTo (min (d.Now + took) deadline)

            if running.ContainsKey id then
                running.Remove id |> ignore

                let outcome =
                    match outcome with
                    // Counts out of range too (-1 and size + 1): servers send them, and the machine must cope. Items
                    // too large to send alone, and items that could not be read, come with or without rejections, up
                    // to the whole batch and beyond.
                    | ExportOutcome.PartiallySucceeded _ ->
                        ExportOutcome.PartiallySucceeded(
                            pick % (size + 3) - 1,
                            (pick / 7) % (size + 3) - 1,
                            (pick / 53) % (size + 3) - 1
                        )
                    | other -> other

                deliver (ExportCompleted(id, outcome, d.Now, random))

    for action in actions do
        match action with
        | OfferOne ->
            deliver (Offer(d.Next, d.Now))
            d.Next <- d.Next + 1
        | OfferSome count ->
            deliver (OfferMany(Array.init count (fun i -> d.Next + i), d.Now))
            d.Next <- d.Next + count
        | FillSlice(count, size) ->
            if d.FillNext + count > d.Fill.Length then
                d.Fill <- Array.zeroCreate (max count size)
                d.FillNext <- 0

            for i in 0 .. count - 1 do
                d.Fill[d.FillNext + i] <- d.Next + i

            deliver (OfferSlice(d.Fill, d.FillNext, count, d.Now))
            d.FillNext <- d.FillNext + count
            d.Next <- d.Next + count
        | Advance ms -> advanceTo (d.Now + int64 ms)
        | FireTimer ->
            match d.Armed with
            | Some at -> advanceTo at
            | None -> ()
        | Complete(pick, outcome, took, random) -> completeOne pick outcome (int64 took) random
        | Flush deadlineIn ->
            d.WaiterId <- d.WaiterId + 1L
            deliver (ForceFlush(d.WaiterId, d.Now, d.Now + int64 deadlineIn))
        | ShutdownNow deadlineIn ->
            d.WaiterId <- d.WaiterId + 1L
            deliver (Shutdown(d.WaiterId, d.Now, d.Now + int64 deadlineIn))

    // Drain: every export succeeds and timers fire until nothing is left to do.
    d.Draining <- true
    let mutable rounds = 0

    while rounds < 100_000 && (running.Count > 0 || d.Armed.IsSome) do
        rounds <- rounds + 1

        match d.Armed with
        | _ when running.Count > 0 -> completeOne 0 ExportOutcome.Succeeded 1L 0.5
        | Some at -> advanceTo at
        | None -> ()

    { Settings = settings
      Steps = List.ofSeq steps
      Offered = d.Next
      Quiesced = running.Count = 0 && d.Armed.IsNone }

// ---- generators ----

let private settingsGen =
    gen {
        let! queue = Gen.frequency [ 9, Gen.choose (1, 40); 1, Gen.constant 2048 ]
        let! batch = Gen.choose (1, 12)
        let! delay = Gen.choose (0, 200)
        let! timeout = Gen.choose (1, 500)
        let! concurrency = Gen.choose (1, 3)
        let! encodeAhead = Gen.elements [ false; true ]
        let! initial = Gen.choose (0, 50)
        let! extra = Gen.choose (0, 150)
        let! multiplier = Gen.choose (10, 20)
        let! attempts = Gen.choose (1, 5)

        return
            { MaxQueueSize = queue
              ScheduledDelayMs = int64 delay
              MaxExportBatchSize = min batch queue
              ExportTimeoutMs = int64 timeout
              MaxConcurrentExports = concurrency
              EncodeAhead = encodeAhead
              Retry =
                { InitialBackoffMs = int64 initial
                  Multiplier = float multiplier / 10.0
                  MaxBackoffMs = int64 (initial + extra)
                  MaxAttempts = attempts } }
    }

let private outcomeGen =
    Gen.frequency
        [ 6, Gen.constant ExportOutcome.Succeeded
          1, Gen.constant (ExportOutcome.PartiallySucceeded(0, 0, 0))
          3, Gen.constant (ExportOutcome.RetryableFailure None)
          1, Gen.choose (0, 120) |> Gen.map (fun ms -> ExportOutcome.RetryableFailure(Some(int64 ms)))
          1, Gen.constant ExportOutcome.PermanentFailure ]

let private actionGen =
    Gen.frequency
        [ 30, Gen.constant OfferOne
          6, Gen.choose (0, 30) |> Gen.map OfferSome
          6, Gen.map2 (fun count size -> FillSlice(count, size)) (Gen.choose (0, 12)) (Gen.choose (1, 24))
          14, Gen.choose (0, 120) |> Gen.map Advance
          10, Gen.constant FireTimer
          25,
          Gen.map4
              (fun pick outcome took random -> Complete(pick, outcome, took, float random / 1000.0))
              (Gen.choose (0, 10))
              outcomeGen
              (Gen.choose (0, 150))
              (Gen.choose (0, 999))
          3, Gen.choose (0, 400) |> Gen.map Flush ]

// Shutdown ends the interesting part of a trace, so most traces get one, in their second half, and a few
// get a second one.
let private scenarios =
    gen {
        let! settings = settingsGen
        let! length = Gen.choose (150, 350)
        let! actions = Gen.listOfLength length actionGen
        let! shutdowns = Gen.frequency [ 3, Gen.constant 0; 6, Gen.constant 1; 1, Gen.constant 2 ]
        let! positions = Gen.listOfLength shutdowns (Gen.choose (length / 2, length))
        let! deadlines = Gen.listOfLength shutdowns (Gen.choose (0, 600))

        let actions =
            List.zip positions deadlines
            |> List.sortDescending
            |> List.fold (fun actions (at, deadline) -> List.insertAt at (ShutdownNow deadline) actions) actions

        return settings, actions
    }

let private config = { FsCheckConfig.defaultConfig with maxTest = 1000 }

/// A law over a whole trace; the label shows the settings and the failing step on failure.
let private law name (check: Trace -> Result<unit, string>) =
    testPropertyWithConfig config name
    <| Prop.forAll (Arb.fromGen scenarios) (fun (settings, actions) ->
        let result = check (simulate settings actions)
        let message = match result with Error message -> message | Ok() -> ""
        result = Ok() |> Prop.label $"{message}\nsettings: %A{settings}")

let private firstError (results: seq<Result<unit, string>>) =
    results |> Seq.tryPick (function Error e -> Some e | Ok() -> None) |> Option.map Error |> Option.defaultValue (Ok())

let private rest list =
    match list with
    | [] -> []
    | _ :: tail -> tail

let private offeredBy (event: Event<int>) =
    match event with
    | Offer(item, _) -> [| item |]
    | OfferMany(items, _) -> items
    | OfferSlice(items, offset, count, _) -> Array.sub items offset count
    | _ -> [||]

let private starts (record: Record) =
    record.Commands
    |> List.choose (function
        | StartExport(id, items, attempt, deadline) -> Some(id, items, attempt, deadline)
        | _ -> None)

let private drops (record: Record) =
    record.Commands
    |> List.choose (function
        | ReportDropped(count, reason) -> Some(count, reason)
        | _ -> None)

let private completions (record: Record) =
    record.Commands
    |> List.choose (function
        | CompleteWaiter(id, result) -> Some(id, result)
        | _ -> None)

let private reasons =
    [ DropReason.QueueFull
      DropReason.ShutDown
      DropReason.PermanentFailure
      DropReason.RetriesExhausted
      DropReason.DeadlineExceeded
      DropReason.RejectedByServer
      DropReason.TooLarge
      DropReason.Unreadable ]

/// The items of every batch, from its first StartExport.
let private batchItems (trace: Trace) =
    trace.Steps
    |> Seq.collect starts
    |> Seq.filter (fun (_, _, attempt, _) -> attempt = 1)
    |> Seq.map (fun (id, items, _, _) -> id, items)
    |> Map.ofSeq

let private conservation (trace: Trace) =
    let mutable offered = 0
    let mutable exported = 0L
    let reported = Dictionary<DropReason, int64>()
    let owner = Dictionary<int, int64>()
    let batches = batchItems trace
    let errors = ResizeArray<string>()
    let fail message = errors.Add message

    for record in trace.Steps do
        offered <- offered + (offeredBy record.Event).Length

        match record.Event with
        | ExportCompleted(id, outcome, _, _) when Batching.inFlightBatchIds record.Before |> List.contains id ->
            let size = batches[id].Length

            match outcome with
            | ExportOutcome.Succeeded -> exported <- exported + int64 size
            | ExportOutcome.PartiallySucceeded(rejected, tooLarge, unreadable) ->
                let tooLarge = tooLarge |> max 0 |> min size
                let unreadable = unreadable |> max 0 |> min (size - tooLarge)
                let left = size - tooLarge - unreadable
                exported <- exported + int64 (left - (rejected |> max 0 |> min left))
            | _ -> ()
        | _ -> ()

        for count, reason in drops record do
            reported[reason] <- (match reported.TryGetValue reason with | true, n -> n | _ -> 0L) + int64 count

        for id, items, _, _ in starts record do
            for item in items do
                match owner.TryGetValue item with
                | true, other when other <> id -> fail $"item {item} is in batches {other} and {id}"
                | _ -> owner[item] <- id

        let state = record.After
        let dropped = reasons |> List.sumBy (fun reason -> droppedCount reason state)

        for reason in reasons do
            let told = match reported.TryGetValue reason with | true, n -> n | _ -> 0L
            if told <> droppedCount reason state then fail $"{reason}: reported {told}, counted {droppedCount reason state}"

        if exported <> exportedCount state then
            fail $"acknowledged {exported}, counted {exportedCount state} at {record.Event}"

        let accounted = exportedCount state + dropped + int64 (inFlightItemCount state) + int64 (queuedCount state)

        if int64 offered <> accounted then
            fail $"offered {offered} <> exported + dropped + in flight + queued = {accounted} after {record.Event}"

        for item in queuedItems state do
            if owner.ContainsKey item then fail $"item {item} is queued and in batch {owner[item]}"
            if item < 0 || item >= offered then fail $"queued item {item} was never offered"

    if errors.Count > 0 then Error errors[0] else Ok()

let private orderPreserved (trace: Trace) =
    let exported =
        trace.Steps
        |> List.collect starts
        |> List.filter (fun (_, _, attempt, _) -> attempt = 1)
        |> List.collect (fun (_, items, _, _) -> List.ofArray items)

    let final = trace.Steps |> List.tryLast |> Option.map (fun r -> queuedItems r.After) |> Option.defaultValue []
    let sequence = exported @ final

    match sequence |> List.pairwise |> List.tryFind (fun (a, b) -> a >= b) with
    | Some(a, b) -> Error $"item {b} was exported after {a}"
    | None -> Ok()

let private batchesBounded (trace: Trace) =
    trace.Steps
    |> Seq.collect starts
    |> Seq.map (fun (id, items, _, _) ->
        if items.Length >= 1 && items.Length <= trace.Settings.MaxExportBatchSize then Ok()
        else Error $"batch {id} has {items.Length} items")
    |> firstError

let private queueBounded (trace: Trace) =
    trace.Steps
    |> Seq.map (fun record ->
        let queued = queuedCount record.After
        if queued <= trace.Settings.MaxQueueSize then Ok() else Error $"{queued} queued after {record.Event}")
    |> firstError

let private exportsStartForAReason (trace: Trace) =
    let mutable lastStart: int64 option = None
    let mutable nonEmptySince: int64 option = None
    let pending = HashSet<int64>()
    let mutable error = None

    for record in trace.Steps do
        match record.Event with
        | ForceFlush(id, _, _)
        | Shutdown(id, _, _) -> pending.Add id |> ignore
        | _ -> ()

        let asked = pending.Count > 0 || isShuttingDown record.Before

        for id, items, attempt, _ in starts record do
            if attempt = 1 then
                let full = items.Length = trace.Settings.MaxExportBatchSize

                let due =
                    match nonEmptySince with
                    | Some since ->
                        // The delay counts from the last start; an item queued after an empty spell longer than it
                        // waits a whole delay from then.
                        let delay = trace.Settings.ScheduledDelayMs
                        let dueAt =
                            match lastStart with
                            | Some last when last + delay > since -> last + delay
                            | _ -> since + delay
                        record.Now >= dueAt
                    | None -> false

                if not (full || asked || due) && error.IsNone then
                    error <- Some $"batch {id} of {items.Length} started at {record.Now} with no reason (last start {lastStart}, queue non-empty since {nonEmptySince})"

                lastStart <- Some record.Now

        for id, _ in completions record do
            pending.Remove id |> ignore

        nonEmptySince <-
            if queuedCount record.After = 0 then None
            elif nonEmptySince.IsNone then Some record.Now
            else nonEmptySince

    match error with
    | Some message -> Error message
    | None -> Ok()

let private concurrencyBounded (trace: Trace) =
    let running = HashSet<int64>()
    let settings = trace.Settings
    // With EncodeAhead the machine starts one batch more, which the driver encodes while the others are sent.
    let limit = settings.MaxConcurrentExports + (if settings.EncodeAhead then 1 else 0)

    trace.Steps
    |> Seq.map (fun record ->
        match record.Event with
        | ExportCompleted(id, _, _, _) -> running.Remove id |> ignore
        | _ -> ()

        let started = starts record

        for id, _, _, _ in started do
            running.Add id |> ignore

        // Batches abandoned at a shutdown deadline no longer count: the machine has written them off.
        let inFlight = inFlightBatchIds record.After
        running.IntersectWith inFlight
        let waitingForRetry = inFlight |> List.filter (running.Contains >> not)
        let newBatch = started |> List.exists (fun (_, _, attempt, _) -> attempt = 1)

        if inFlightCount record.After > limit then
            Error $"{inFlightCount record.After} batches in flight after {record.Event}"
        elif running.Count > limit then
            Error $"{running.Count} attempts running after {record.Event}"
        elif newBatch && inFlight.Length > settings.MaxConcurrentExports && not waitingForRetry.IsEmpty then
            Error $"a batch beyond MaxConcurrentExports started while {waitingForRetry} waited for a retry, after {record.Event}"
        else
            Ok())
    |> firstError

let private waiterRequests (trace: Trace) =
    trace.Steps
    |> List.choose (fun record ->
        match record.Event with
        | ForceFlush(id, now, deadline) -> Some(id, (false, now, deadline, record))
        | Shutdown(id, now, deadline) -> Some(id, (true, now, deadline, record))
        | _ -> None)
    |> Map.ofList

let private waiterCompletions (trace: Trace) =
    trace.Steps |> List.collect (fun record -> completions record |> List.map (fun (id, result) -> id, result, record))

let private flushCompletes (trace: Trace) =
    let requests = waiterRequests trace
    let batches = batchItems trace

    // Items offered before a request are those numbered below the count offered before it.
    let markOf (request: Record) =
        trace.Steps
        |> List.takeWhile (fun r -> not (obj.ReferenceEquals(r, request)))
        |> List.sumBy (fun r -> (offeredBy r.Event).Length)

    let perWaiter =
        requests
        |> Map.toSeq
        |> Seq.map (fun (id, (_, _, deadline, request)) ->
            match waiterCompletions trace |> List.filter (fun (w, _, _) -> w = id) with
            | [ _, WaiterResult.Completed, record ] ->
                let mark = markOf request
                let unsettledQueued = queuedItems record.After |> List.filter (fun item -> item < mark)

                let unsettledInFlight =
                    inFlightBatchIds record.After
                    |> List.collect (fun batch -> batches[batch] |> Array.filter (fun item -> item < mark) |> List.ofArray)

                if not (List.isEmpty unsettledQueued && List.isEmpty unsettledInFlight) then
                    Error $"waiter {id} completed with items {unsettledQueued @ unsettledInFlight} still pending"
                elif record.Now > deadline then
                    Error $"waiter {id} completed at {record.Now}, after its deadline {deadline}"
                else
                    Ok()
            | [ _, WaiterResult.TimedOut, record ] ->
                if record.Now >= deadline then Ok()
                else Error $"waiter {id} timed out at {record.Now}, before its deadline {deadline}"
            | [ _, WaiterResult.AlreadyShutDown, _ ] -> Ok()
            | many -> Error $"waiter {id} was completed {many.Length} times")

    firstError (Seq.append [ (if trace.Quiesced then Ok() else Error "the driver could not settle") ] perWaiter)

let private shutdownRefusesAndEnds (trace: Trace) =
    let requests = waiterRequests trace
    let shutdowns = requests |> Map.filter (fun _ (isShutdown, _, _, _) -> isShutdown)

    match shutdowns |> Map.toList |> List.sortBy fst with
    | [] -> Ok()
    | (firstId, (_, _, firstDeadline, _)) :: _ ->
        let after = trace.Steps |> List.skipWhile (fun r -> not (isShuttingDown r.After))

        let refusals =
            after
            |> rest
            |> List.map (fun record ->
                let offered = (offeredBy record.Event).Length

                match record.Event with
                | Offer _
                | OfferMany _
                | OfferSlice _ when offered > 0 ->
                    if drops record = [ offered, DropReason.ShutDown ] && queuedCount record.After = queuedCount record.Before then Ok()
                    else Error $"an offer of {offered} after shutdown produced {record.Commands}"
                | _ -> Ok())

        let ending =
            match waiterCompletions trace |> List.filter (fun (w, _, _) -> w = firstId) with
            | [ _, _, record ] when record.Now <= firstDeadline && isStopped record.After -> Ok()
            | [ _, result, record ] -> Error $"shutdown completed {result} at {record.Now}, deadline {firstDeadline}, stopped {isStopped record.After}"
            | many -> Error $"shutdown was completed {many.Length} times"

        let quiet =
            trace.Steps
            |> List.skipWhile (fun r -> not (isStopped r.After))
            |> rest
            |> List.map (fun record ->
                let busy =
                    record.Commands
                    |> List.exists (function
                        | StartExport _
                        | ArmTimer _ -> true
                        | _ -> false)

                if busy then Error $"after stopping, {record.Event} produced {record.Commands}" else Ok())

        firstError (Seq.concat [ refusals; [ ending ]; quiet ])

let private retriesFollowPolicy (trace: Trace) =
    let settings = trace.Settings
    // Batch id -> (items, attempt, deadline) of its latest StartExport.
    let latest = Dictionary<int64, int array * int * int64>()
    // Batch id -> (time, attempt) of the retry promised by Retry.decide.
    let promised = Dictionary<int64, int64 * int>()
    let mutable shutdownDeadlinePassed = false
    let errors = ResizeArray<string>()
    let fail message = errors.Add message

    for record in trace.Steps do
        match record.Event with
        | ExportCompleted(id, outcome, now, random) when inFlightBatchIds record.Before |> List.contains id ->
            let items, attempt, deadline = latest[id]
            let size = items.Length

            let expectDrop count reason =
                if not (drops record |> List.contains (count, reason)) then
                    fail $"batch {id} ({outcome}) should drop {count} as {reason}, got {record.Commands}"

            match outcome with
            | ExportOutcome.RetryableFailure delay ->
                match Retry.decide settings.Retry attempt (Retry.Classification.Retryable delay) now deadline random with
                | Retry.Decision.RetryAfter wait -> promised[id] <- (now + wait, attempt + 1)
                | Retry.Decision.GiveUp Retry.GiveUpReason.AttemptsExhausted -> expectDrop size DropReason.RetriesExhausted
                | Retry.Decision.GiveUp _ -> expectDrop size DropReason.DeadlineExceeded
                | Retry.Decision.Done -> fail "a failure cannot be done"
            | ExportOutcome.PermanentFailure -> expectDrop size DropReason.PermanentFailure
            | ExportOutcome.PartiallySucceeded(rejected, tooLarge, unreadable) ->
                let tooLarge = tooLarge |> max 0 |> min size
                let unreadable = unreadable |> max 0 |> min (size - tooLarge)

                if tooLarge > 0 then
                    expectDrop tooLarge DropReason.TooLarge

                if unreadable > 0 then
                    expectDrop unreadable DropReason.Unreadable

                if rejected > 0 && size > tooLarge + unreadable then
                    expectDrop (min rejected (size - tooLarge - unreadable)) DropReason.RejectedByServer
            | _ -> ()
        | _ -> ()

        for id, items, attempt, deadline in starts record do
            if attempt > 1 then
                match promised.TryGetValue id, latest.TryGetValue id with
                | (true, (at, expected)), (true, (before, _, firstDeadline)) ->
                    if at <> record.Now || attempt <> expected || items <> before || deadline <> firstDeadline then
                        fail $"batch {id} retried at {record.Now} as attempt {attempt}; promised {at}, attempt {expected}"

                    promised.Remove id |> ignore
                | _ -> fail $"batch {id} retried (attempt {attempt}) without a retryable failure"

            latest[id] <- (items, attempt, deadline)

        if record.Commands |> List.contains (ReportDropped(0, DropReason.DeadlineExceeded)) then
            fail "an empty drop was reported"

        if isStopped record.After && not (isStopped record.Before) then
            shutdownDeadlinePassed <- true

    // A promised retry may only be missing when shutdown ended (and abandoned it) first.
    if promised.Count > 0 && not shutdownDeadlinePassed then
        fail $"retries promised but never started: %A{List.ofSeq promised.Keys}"

    if errors.Count > 0 then Error errors[0] else Ok()

let private retriesNeverFollowPermanentFailures (trace: Trace) =
    let final = HashSet<int64>()

    trace.Steps
    |> Seq.map (fun record ->
        let restarted = starts record |> List.filter (fun (id, _, attempt, _) -> attempt > 1 && final.Contains id)

        match record.Event with
        | ExportCompleted(id, (ExportOutcome.PermanentFailure | ExportOutcome.PartiallySucceeded _ | ExportOutcome.Succeeded), _, _) ->
            final.Add id |> ignore
        | _ -> ()

        match restarted with
        | [] -> Ok()
        | (id, _, _, _) :: _ -> Error $"batch {id} was sent again after a final outcome")
    |> firstError

/// What a driver counts from the commands alone (ReportExported, ReportDropped), plus what the machine still holds,
/// equals what was offered after every step: late completions of abandoned batches count nothing.
let private countedOnce (trace: Trace) =
    let mutable offered = 0L
    let mutable exported = 0L
    let mutable dropped = 0L

    trace.Steps
    |> List.map (fun record ->
        offered <- offered + int64 (offeredBy record.Event).Length

        for command in record.Commands do
            match command with
            | ReportExported count -> exported <- exported + int64 count
            | ReportDropped(count, _) -> dropped <- dropped + int64 count
            | _ -> ()

        let held = int64 (queuedCount record.After + inFlightItemCount record.After)

        if exported + dropped + held <> offered then
            Error $"after {record.Event}: exported {exported} + dropped {dropped} + held {held} <> offered {offered}"
        elif exported <> exportedCount record.After then
            Error $"after {record.Event}: ReportExported counted {exported}, the state {exportedCount record.After}"
        else
            Ok())
    |> firstError

/// What the processor's loop does at saturation: fill batch-long arrays slice by slice, offered in turn, while
/// exports complete in between (so batches are taken while an array is half full). Every batch must then be one
/// of those arrays itself: a copy would be an allocation per batch and leave the array's items referenced.
let private wholeArraysGoOutWhole =
    let gen =
        gen {
            let! batch = Gen.choose (1, 12)
            let! concurrency = Gen.choose (1, 3)
            let! encodeAhead = Gen.elements [ false; true ]
            let! steps =
                Gen.listOf (Gen.frequency [ 3, Gen.choose (1, 12) |> Gen.map Choice1Of2; 1, Gen.choose (0, 5) |> Gen.map Choice2Of2 ])

            return batch, concurrency, encodeAhead, steps
        }

    testPropertyWithConfig config "batch-long arrays offered slice by slice go out whole, whenever batches are taken"
    <| Prop.forAll (Arb.fromGen gen) (fun (batch, concurrency, encodeAhead, steps) ->
        let settings =
            { Settings.Default with
                MaxQueueSize = batch * 4
                MaxExportBatchSize = batch
                ScheduledDelayMs = 1_000_000L
                MaxConcurrentExports = concurrency
                EncodeAhead = encodeAhead }

        let mutable state = init ()
        let mutable fill: int array = [||]
        let mutable fillNext = 0
        let mutable next = 0
        let filled = ResizeArray<int array>()
        let running = ResizeArray<int64>()
        let started = ResizeArray<int array>()

        let deliver event =
            let after, commands = step settings state event
            state <- after

            for command in commands do
                match command with
                | StartExport(id, items, _, _) ->
                    running.Add id
                    started.Add items
                | _ -> ()

        for s in steps do
            match s with
            | Choice1Of2 wanted ->
                if fillNext = fill.Length then
                    fill <- Array.zeroCreate batch
                    filled.Add fill
                    fillNext <- 0

                // As the loop: never more than the queue has room for, so nothing is dropped.
                let count = min wanted (min (fill.Length - fillNext) (settings.MaxQueueSize - queuedCount state))

                if count > 0 then
                    for i in 0 .. count - 1 do
                        fill[fillNext + i] <- next + i

                    deliver (OfferSlice(fill, fillNext, count, 0L))
                    fillNext <- fillNext + count
                    next <- next + count
            | Choice2Of2 pick ->
                if running.Count > 0 then
                    let id = running[pick % running.Count]
                    running.Remove id |> ignore
                    deliver (ExportCompleted(id, ExportOutcome.Succeeded, 0L, 0.0))

        let copies =
            started |> Seq.filter (fun items -> not (filled |> Seq.exists (fun a -> obj.ReferenceEquals(a, items)))) |> Seq.length

        let inOrder = started |> Seq.concat |> Seq.pairwise |> Seq.forall (fun (a, b) -> b = a + 1)
        (copies = 0 && inOrder) |> Prop.label $"{copies} of {started.Count} batches copied, in order: {inOrder}")

[<Tests>]
let properties =
    testList "Batching properties" [
        wholeArraysGoOutWhole
        law "conservation: every offered item is exported, dropped, in flight or queued, exactly once" conservation
        law "counted once: exported and dropped as the commands report them, plus what is held, equal what was offered" countedOnce
        law "order: items are exported in the order they were offered" orderPreserved
        law "no batch is empty or larger than the maximum export batch size" batchesBounded
        law "the queue never holds more than its maximum size" queueBounded
        law "an export starts only for a full batch, an elapsed scheduled delay, a flush or a shutdown" exportsStartForAReason
        law "batches in flight never exceed the concurrency limit (one more encoding ahead, never while one waits for a retry)" concurrencyBounded
        law "force flush completes once, only after everything offered before it is exported or dropped, or times out at its deadline" flushCompletes
        law "shutdown refuses later items, completes by its deadline and then stays quiet" shutdownRefusesAndEnds
        law "failed exports are retried as the retry policy decides, as the same batch, or dropped with the reason" retriesFollowPolicy
        law "a batch with a final outcome is never sent again" retriesNeverFollowPermanentFailures
    ]

// ---- examples ----

let private small =
    { Settings.Default with
        MaxQueueSize = 4
        MaxExportBatchSize = 2
        ScheduledDelayMs = 100L
        ExportTimeoutMs = 1000L }

let private run settings events =
    events
    |> List.fold
        (fun (state, log) event ->
            let next, commands = step settings state event
            next, log @ [ commands ])
        (init (), [])

[<Tests>]
let examples =
    testList "Batching examples" [
        test "the defaults are the specification's: queue 2048, delay 5000 ms, batch 512, timeout 30000 ms, one export at a time" {
            let settings = Settings.Default
            Expect.equal (settings.MaxQueueSize, settings.ScheduledDelayMs, settings.MaxExportBatchSize, settings.ExportTimeoutMs, settings.MaxConcurrentExports) (2048, 5000L, 512, 30000L, 1) "defaults"
            Expect.equal settings.Retry Retry.Policy.Default "retry"
        }

        test "a lone item waits for the scheduled delay, then is exported when the timer fires" {
            let state, log = run small [ Offer(7, 0L); TimerFired 100L ]
            Expect.equal log [ [ ArmTimer 100L ]; [ StartExport(1L, [| 7 |], 1, 1100L) ] ] "commands"
            Expect.equal (inFlightCount state) 1 "in flight"
        }

        test "an export timeout without limit gives exports no deadline, however late the clock (no wrap-around)" {
            let unlimited = { small with ExportTimeoutMs = Deadline.none }
            let _, log = run unlimited [ Offer(1, 5L); Offer(2, 4_000_000_000_000L) ]
            Expect.equal log[1] [ StartExport(1L, [| 1; 2 |], 1, Deadline.none) ] "no deadline"
        }

        testProperty "a deadline is never before now: the sum, or none when it does not fit" <| fun (now: int64) (timeout: int64) ->
            let now, timeout = abs (now % Int64.MaxValue), abs (timeout % Int64.MaxValue)
            let deadline = Deadline.after now timeout
            deadline >= now && (deadline = Deadline.none || deadline = now + timeout)
            && (Deadline.after now Deadline.none = Deadline.none)

        test "a full batch is exported at once, without waiting for the timer" {
            let _, log = run small [ Offer(1, 0L); Offer(2, 5L) ]
            Expect.equal log[1] [ StartExport(1L, [| 1; 2 |], 1, 1005L) ] "second offer fills the batch"
        }

        test "offers beyond the queue's size are dropped as queue full" {
            let state, log = run { small with MaxConcurrentExports = 1 } [ OfferMany([| 1..9 |], 0L) ]

            Expect.equal log[0] [ ReportDropped(5, DropReason.QueueFull); StartExport(1L, [| 1; 2 |], 1, 1000L) ] "commands"
            Expect.equal (queuedCount state) 2 "two left queued"
            Expect.equal (droppedCount DropReason.QueueFull state) 5L "counted"
        }

        test "force flush exports a partial batch at once and completes when it is acknowledged" {
            let _, log = run small [ Offer(1, 0L); ForceFlush(9L, 10L, 500L); ExportCompleted(1L, ExportOutcome.Succeeded, 20L, 0.5) ]
            Expect.equal log[1] [ StartExport(1L, [| 1 |], 1, 1010L); ArmTimer 500L ] "flush exports"
            Expect.equal log[2] [ ReportExported 1; CompleteWaiter(9L, WaiterResult.Completed) ] "completes"
        }

        test "force flush with nothing pending completes at once" {
            let _, log = run small [ ForceFlush(1L, 0L, 10L) ]
            Expect.equal log [ [ CompleteWaiter(1L, WaiterResult.Completed) ] ] "commands"
        }

        test "the scheduled delay is the interval between two consecutive exports, also after the queue ran empty" {
            let _, log =
                run small [ Offer(1, 0L); TimerFired 100L; ExportCompleted(1L, ExportOutcome.Succeeded, 110L, 0.5)
                            Offer(2, 150L); TimerFired 200L; ExportCompleted(2L, ExportOutcome.Succeeded, 210L, 0.5)
                            Offer(3, 500L) ]

            Expect.equal log[3] [ ArmTimer 200L ] "an item queued 50 ms after the last export waits what is left of the delay"
            Expect.equal log[4] [ StartExport(2L, [| 2 |], 1, 1200L) ] "exported one delay after the first"
            Expect.equal log[6] [ ArmTimer 600L ] "after an empty spell longer than the delay: a whole delay from the item"
        }

        test "force flush times out at its deadline when the export is still running" {
            let _, log = run small [ Offer(1, 0L); ForceFlush(9L, 0L, 50L); TimerFired 50L ]
            Expect.equal log[2] [ CompleteWaiter(9L, WaiterResult.TimedOut) ] "timed out"
        }

        test "a retryable failure is retried after the server's delay as the same batch, then succeeds" {
            let state, log =
                run small [ Offer(1, 0L); Offer(2, 0L); ExportCompleted(1L, ExportOutcome.RetryableFailure(Some 300L), 10L, 0.5); TimerFired 310L; ExportCompleted(1L, ExportOutcome.Succeeded, 320L, 0.5) ]

            Expect.equal log[2] [ ArmTimer 310L ] "wait for the server's delay"
            Expect.equal log[3] [ StartExport(1L, [| 1; 2 |], 2, 1000L) ] "attempt 2, same items and deadline"
            Expect.equal (exportedCount state) 2L "exported"
        }

        test "a retry that cannot start before the deadline drops the batch" {
            let state, log = run small [ Offer(1, 0L); Offer(2, 0L); ExportCompleted(1L, ExportOutcome.RetryableFailure(Some 5000L), 10L, 0.5) ]
            Expect.equal log[2] [ ReportDropped(2, DropReason.DeadlineExceeded) ] "dropped"
            Expect.equal (inFlightCount state) 0 "nothing in flight"
        }

        test "permanent failures and server rejections are dropped with their reasons" {
            let state, log =
                run small [ OfferMany([| 1; 2; 3; 4 |], 0L); ExportCompleted(1L, ExportOutcome.PermanentFailure, 1L, 0.5); ExportCompleted(2L, ExportOutcome.PartiallySucceeded(1, 0, 0), 2L, 0.5) ]

            Expect.equal log[1] [ ReportDropped(2, DropReason.PermanentFailure); StartExport(2L, [| 3; 4 |], 1, 1001L) ] "permanent"
            Expect.equal log[2] [ ReportExported 1; ReportDropped(1, DropReason.RejectedByServer) ] "partial success"
            Expect.equal (exportedCount state) 1L "one accepted"
        }

        test "items too large to send alone are dropped once, when their batch ends, however many attempts found them" {
            let state, log =
                run small [ OfferMany([| 1; 2 |], 0L)
                            ExportCompleted(1L, ExportOutcome.RetryableFailure(Some 100L), 10L, 0.5)
                            TimerFired 110L
                            ExportCompleted(1L, ExportOutcome.PartiallySucceeded(0, 1, 0), 120L, 0.5) ]

            Expect.equal log[1] [ ArmTimer 110L ] "the first attempt's items too large are not counted: it is retried"
            Expect.equal log[3] [ ReportExported 1; ReportDropped(1, DropReason.TooLarge) ] "counted once at the end"
            Expect.equal (exportedCount state, droppedCount DropReason.TooLarge state) (1L, 1L) "counts"
        }

        test "unreadable items are dropped once with their reason, beside rejections and items too large" {
            let state, log =
                run { small with MaxExportBatchSize = 4; ExportTimeoutMs = 10000L } [
                            OfferMany([| 1; 2; 3; 4 |], 0L)
                            ExportCompleted(1L, ExportOutcome.RetryableFailure None, 10L, 0.5)
                            TimerFired 2000L
                            ExportCompleted(1L, ExportOutcome.PartiallySucceeded(1, 1, 1), 2010L, 0.5) ]

            Expect.equal
                log[3]
                [ ReportExported 1
                  ReportDropped(1, DropReason.RejectedByServer)
                  ReportDropped(1, DropReason.TooLarge)
                  ReportDropped(1, DropReason.Unreadable) ]
                "each count once, at the end"
            Expect.equal (droppedCount DropReason.Unreadable state) 1L "counted"
        }

        test "shutdown flushes, refuses later items and completes once everything is exported" {
            let state, log =
                run small [ Offer(1, 0L); Shutdown(5L, 1L, 1000L); Offer(2, 2L); ExportCompleted(1L, ExportOutcome.Succeeded, 3L, 0.5); Shutdown(6L, 4L, 10L); ForceFlush(7L, 5L, 10L) ]

            Expect.equal log[1] [ StartExport(1L, [| 1 |], 1, 1000L); ArmTimer 1000L ] "flushes with the shutdown deadline"
            Expect.equal log[2] [ ReportDropped(1, DropReason.ShutDown) ] "refuses"
            Expect.equal log[3] [ ReportExported 1; CompleteWaiter(5L, WaiterResult.Completed) ] "completes"
            Expect.equal log[4] [ CompleteWaiter(6L, WaiterResult.AlreadyShutDown) ] "a second shutdown"
            Expect.equal log[5] [ CompleteWaiter(7L, WaiterResult.AlreadyShutDown) ] "a flush after it: nothing to flush into"
            Expect.isTrue (isStopped state) "stopped"
        }

        test "at the shutdown deadline whatever is left is dropped and a late completion is ignored" {
            let state, log =
                run { small with MaxQueueSize = 10 } [ OfferMany([| 1..5 |], 0L); Shutdown(5L, 1L, 50L); TimerFired 50L; ExportCompleted(1L, ExportOutcome.Succeeded, 60L, 0.5) ]

            Expect.equal log[2] [ ReportDropped(5, DropReason.DeadlineExceeded); CompleteWaiter(5L, WaiterResult.TimedOut) ] "dropped at the deadline"
            Expect.equal log[3] [] "late completion ignored"
            Expect.equal (exportedCount state, droppedCount DropReason.DeadlineExceeded state) (0L, 5L) "counts"
        }

        test "encoding ahead: with one export at a time a second full batch starts while the first is sent, and a third when one ends" {
            let settings = { small with MaxQueueSize = 10; EncodeAhead = true }
            let startedIn commands = commands |> List.choose (function StartExport(id, items, attempt, _) -> Some(id, items, attempt) | _ -> None)
            let state, log = run settings [ OfferMany([| 1..6 |], 0L) ]
            Expect.equal (log |> List.concat |> startedIn) [ 1L, [| 1; 2 |], 1; 2L, [| 3; 4 |], 1 ] "two batches: one sent, one encoded ahead"
            Expect.equal (queuedCount state) 2 "the third waits in the queue"
            let state, commands = step settings state (ExportCompleted(1L, ExportOutcome.Succeeded, 5L, 0.5))
            Expect.equal (startedIn commands) [ 3L, [| 5; 6 |], 1 ] "the third starts when the first ends"
            Expect.equal (inFlightCount state) 2 "two in flight"
            let withoutAhead, log = run { settings with EncodeAhead = false } [ OfferMany([| 1..6 |], 0L) ]
            Expect.equal (log |> List.concat |> startedIn |> List.length, inFlightCount withoutAhead) (1, 1) "without encoding ahead, one"
        }

        test "encoding ahead: while a batch waits for a retry, no batch starts beyond the concurrency limit" {
            let settings = { small with MaxQueueSize = 10; EncodeAhead = true }
            let startedIn commands = commands |> List.choose (function StartExport(id, _, attempt, _) -> Some(id, attempt) | _ -> None)
            let state, _ = run settings [ OfferMany([| 1..8 |], 0L) ]
            // The server asks the first batch to wait 50 ms; the batch encoded ahead is sent and succeeds meanwhile.
            let state, commands = step settings state (ExportCompleted(1L, ExportOutcome.RetryableFailure(Some 50L), 1L, 0.5))
            Expect.isEmpty (startedIn commands) "nothing more while the first waits"
            let state, commands = step settings state (ExportCompleted(2L, ExportOutcome.Succeeded, 2L, 0.5))
            Expect.isEmpty (startedIn commands) "the slot of the batch ahead is not used while the first waits"
            Expect.equal (inFlightCount state) 1 "only the waiting batch"
            let state, commands = step settings state (TimerFired 60L)
            Expect.equal (startedIn commands) [ 1L, 2; 3L, 1 ] "the retry is sent, and the next batch is encoded ahead again"
            let _, commands = step settings state (ExportCompleted(1L, ExportOutcome.Succeeded, 61L, 0.5))
            Expect.equal (startedIn commands) [ 4L, 1 ] "then the next"
        }

        test "a queue of 200 000 single offers keeps them all, oldest first" {
            let settings = { Settings.Default with MaxQueueSize = 1_000_000; MaxExportBatchSize = 1_000_000 }
            let mutable state = init ()

            for item in 1..200_000 do
                state <- fst (step settings state (Offer(item, 0L)))

            Expect.equal (queuedCount state) 200_000 "all queued"
            Expect.equal (queuedItems state |> List.take 3) [ 1; 2; 3 ] "oldest first"
        }

        test "an offered array that is exactly one batch is exported as it is, without a copy" {
            let settings = { small with MaxQueueSize = 10; MaxExportBatchSize = 3; MaxConcurrentExports = 2 }
            let first, second = [| 1; 2; 3 |], [| 4; 5; 6 |]
            let _, log = run settings [ OfferMany(first, 0L); OfferMany(second, 1L) ]

            let started = log |> List.concat |> List.choose (function StartExport(_, items, _, _) -> Some items | _ -> None)
            Expect.equal started [ first; second ] "two batches, one per array"
            Expect.isTrue (obj.ReferenceEquals(started[0], first) && obj.ReferenceEquals(started[1], second)) "the offered arrays themselves"
        }

        test "slices of one array offered in turn are joined, and a whole batch of them is that array, not a copy" {
            let settings = { small with MaxQueueSize = 10; MaxExportBatchSize = 4 }
            let filled = [| 1; 2; 3; 4 |]
            let state, log =
                run settings [ OfferSlice(filled, 0, 1, 0L); OfferSlice(filled, 1, 2, 1L); OfferSlice(filled, 3, 1, 2L) ]

            let started = log |> List.concat |> List.choose (function StartExport(_, items, _, _) -> Some items | _ -> None)
            Expect.equal started [ filled ] "one batch"
            Expect.isTrue (obj.ReferenceEquals(started[0], filled)) "the filled array itself"
            Expect.equal (queuedCount state) 0 "nothing left"
        }

        test "a slice that does not continue the newest chunk stays a chunk of its own, in offer order" {
            let settings = { small with MaxQueueSize = 10; MaxExportBatchSize = 4 }
            let shared = [| 1; 2; 3; 4; 5; 6 |]
            // The second slice skips a slot, the third starts another array: no join may reorder or lose items.
            let state, log =
                run settings [ OfferSlice(shared, 0, 2, 0L); OfferSlice(shared, 3, 1, 1L); OfferMany([| 7 |], 2L); OfferSlice(shared, 4, 2, 3L) ]

            let started = log |> List.concat |> List.choose (function StartExport(_, items, _, _) -> Some items | _ -> None)
            Expect.equal started [ [| 1; 2; 4; 7 |] ] "a copy, in offer order"
            Expect.equal (queuedItems state) [ 5; 6 ] "the rest"
        }

        test "a slice outside its array is refused" {
            for offset, count in [ -1, 1; 0, -1; 3, 2; 5, 0 ] do
                Expect.throwsT<System.ArgumentException>
                    (fun () -> step small (init ()) (OfferSlice([| 1; 2; 3; 4 |], offset, count, 0L)) |> ignore)
                    $"({offset}, {count})"
        }

        test "a batch is cut across offered chunks, and the rest of a cut chunk stays queued, oldest first" {
            let settings = { small with MaxQueueSize = 10; MaxExportBatchSize = 4 }
            let state, log = run settings [ OfferMany([| 1..3 |], 0L); OfferMany([| 4..6 |], 1L); OfferMany([| 7..9 |], 2L) ]

            let started = log |> List.concat |> List.choose (function StartExport(_, items, _, _) -> Some items | _ -> None)
            Expect.equal started [ [| 1; 2; 3; 4 |] ] "one batch, its last item from the second chunk"
            Expect.equal (queuedItems state) [ 5..9 ] "the rest, in order"
        }
    ]

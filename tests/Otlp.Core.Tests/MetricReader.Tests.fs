module Otlp.Core.Tests.MetricReaderTests

// The periodic metric reader's schedule, checked over random event sequences from a simulated driver that
// fires the timer at the armed time, reports each collection by its deadline and moves time forward.

open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Core.MetricReader

type Action =
    | Advance of ms: int
    | FireTimer
    | Complete of tookMs: int
    | Flush of deadlineInMs: int
    | ShutdownNow of deadlineInMs: int

type Record =
    { Now: int64
      Event: Event
      Before: State
      After: State
      Commands: Command list }

type Trace =
    { Settings: Settings
      StartMs: int64
      Steps: Record list }

type private Driver =
    { mutable State: State
      mutable Now: int64
      mutable Armed: int64 option
      mutable WaiterId: int64 }

let simulate (settings: Settings) (startMs: int64) (actions: Action list) =
    let struct (initial, commands) = start settings startMs
    let running = Dictionary<int64, int64>()

    let d =
        { State = initial
          Now = startMs
          Armed = None
          WaiterId = 0L }

    let carryOut commands =
        for command in commands do
            match command with
            | CollectAndExport(id, _, deadline) -> running[id] <- deadline
            | ArmTimer at -> d.Armed <- Some at
            | CompleteWaiter _ -> ()

    carryOut commands
    let steps = ResizeArray<Record>()

    let deliver event =
        // A machine that keeps arming timers in the past would spin the driver forever.
        if steps.Count > 100_000 then
            failwith $"runaway: more than 100000 events, the last one {event}"

        let before = d.State
        let struct (after, commands) = step settings d.State event
        d.State <- after
        carryOut commands

        steps.Add
            { Now = d.Now
              Event = event
              Before = before
              After = after
              Commands = commands }

    let finish (id: int64) =
        running.Remove id |> ignore
        deliver (ExportCompleted(id, d.Now))

    let rec advanceTo target =
        let timer = d.Armed |> Option.filter (fun at -> at <= target)

        let overdue =
            running |> Seq.filter (fun entry -> entry.Value <= target) |> Seq.sortBy (fun entry -> entry.Value, entry.Key) |> Seq.tryHead

        match timer, overdue with
        | None, None -> d.Now <- max d.Now target
        | Some at, Some entry when entry.Value < at ->
            d.Now <- max d.Now entry.Value
            finish entry.Key
            advanceTo target
        | Some at, _ ->
            d.Now <- max d.Now at
            d.Armed <- None
            deliver (TimerFired d.Now)
            advanceTo target
        | None, Some entry ->
            d.Now <- max d.Now entry.Value
            finish entry.Key
            advanceTo target

    for action in actions do
        match action with
        | Advance ms -> advanceTo (d.Now + int64 ms)
        | FireTimer ->
            match d.Armed with
            | Some at -> advanceTo at
            | None -> ()
        | Complete took ->
            match running.Keys |> Seq.sort |> Seq.tryHead with
            | Some id ->
                advanceTo (min (d.Now + int64 took) running[id])

                if running.ContainsKey id then
                    finish id
            | None -> ()
        | Flush deadlineIn ->
            d.WaiterId <- d.WaiterId + 1L
            deliver (ForceFlush(d.WaiterId, d.Now, d.Now + int64 deadlineIn))
        | ShutdownNow deadlineIn ->
            d.WaiterId <- d.WaiterId + 1L
            deliver (Shutdown(d.WaiterId, d.Now, d.Now + int64 deadlineIn))

    { Settings = settings
      StartMs = startMs
      Steps = List.ofSeq steps }

let private scenarios =
    gen {
        let! interval = Gen.choose (1, 200)
        let! timeout = Gen.choose (0, 300)
        let! startMs = Gen.choose (0, 1000)
        let! length = Gen.choose (100, 300)

        let! actions =
            Gen.listOfLength
                length
                (Gen.frequency
                    [ 10, Gen.choose (0, 150) |> Gen.map Advance
                      10, Gen.constant FireTimer
                      12, Gen.choose (0, 200) |> Gen.map Complete
                      3, Gen.choose (0, 300) |> Gen.map Flush
                      1, Gen.choose (0, 400) |> Gen.map ShutdownNow ])

        return
            { ExportIntervalMs = int64 interval
              ExportTimeoutMs = int64 timeout },
            int64 startMs,
            actions
    }

let private config = { FsCheckConfig.defaultConfig with maxTest = 1000 }

let private law name (check: Trace -> Result<unit, string>) =
    testPropertyWithConfig config name
    <| Prop.forAll (Arb.fromGen scenarios) (fun (settings, startMs, actions) ->
        let result = check (simulate settings startMs actions)
        let message = match result with Error message -> message | Ok() -> ""
        result = Ok() |> Prop.label $"{message}\nsettings: %A{settings}, start {startMs}")

let private firstError (results: seq<Result<unit, string>>) =
    results |> Seq.tryPick (function Error e -> Some e | Ok() -> None) |> Option.map Error |> Option.defaultValue (Ok())

let private rest list =
    match list with
    | [] -> []
    | _ :: tail -> tail

let private collections (record: Record) =
    record.Commands
    |> List.choose (function
        | CollectAndExport(id, trigger, deadline) -> Some(id, trigger, deadline)
        | _ -> None)

let private completions (record: Record) =
    record.Commands
    |> List.choose (function
        | CompleteWaiter(id, result) -> Some(id, result)
        | _ -> None)

let private onBoundaries (trace: Trace) =
    let interval = trace.Settings.ExportIntervalMs

    trace.Steps
    |> Seq.map (fun record ->
        let periodic = collections record |> List.filter (fun (_, trigger, _) -> trigger = Trigger.Interval)
        let offGrid = record.Now <= trace.StartMs || (record.Now - trace.StartMs) % interval <> 0L

        let dueWhileIdle =
            match nextCollectionMs record.Before with
            | Some due -> record.Now >= due && (running record.Before).IsNone
            | None -> false

        if not (List.isEmpty periodic) && offGrid then
            Error $"a periodic collection started at {record.Now}, off the grid"
        elif dueWhileIdle && List.isEmpty (collections record) then
            Error $"the boundary {nextCollectionMs record.Before} passed at {record.Now} while idle, with no collection"
        else
            match nextCollectionMs record.After with
            | Some next when next <> trace.StartMs + ((record.Now - trace.StartMs) / interval + 1L) * interval ->
                Error $"at {record.Now} the next collection is {next}, not the next boundary"
            | _ -> Ok())
    |> firstError

let private neverOverlap (trace: Trace) =
    let running = HashSet<int64>()

    trace.Steps
    |> Seq.map (fun record ->
        match record.Event with
        | ExportCompleted(id, _) -> running.Remove id |> ignore
        | _ -> ()

        if isStopped record.After then running.Clear()

        match collections record with
        | [] -> Ok()
        | [ id, _, _ ] when running.Count = 0 ->
            running.Add id |> ignore
            Ok()
        | started -> Error $"collections {List.map (fun (id, _, _) -> id) started} started at {record.Now} while {List.ofSeq running} ran")
    |> firstError

let private deadlines (trace: Trace) =
    let shutdownDeadlines = ResizeArray<int64>()

    trace.Steps
    |> Seq.map (fun record ->
        match record.Event with
        | Shutdown(_, _, deadline) when not (isStopped record.Before) -> shutdownDeadlines.Add deadline
        | _ -> ()

        let expected = Seq.fold min (record.Now + trace.Settings.ExportTimeoutMs) shutdownDeadlines

        match collections record |> List.tryFind (fun (_, _, deadline) -> deadline <> expected) with
        | Some(id, _, deadline) -> Error $"collection {id} at {record.Now} has deadline {deadline}, expected {expected}"
        | None -> Ok())
    |> firstError

/// For each waiter: the request step, and every completion with its step.
let private waiters (trace: Trace) =
    let requests =
        trace.Steps
        |> List.indexed
        |> List.choose (fun (index, record) ->
            match record.Event with
            | ForceFlush(id, _, deadline) -> Some(id, (false, deadline, index))
            | Shutdown(id, _, deadline) -> Some(id, (true, deadline, index))
            | _ -> None)

    let completed =
        trace.Steps |> List.indexed |> List.collect (fun (index, record) -> completions record |> List.map (fun (id, result) -> id, (result, index)))

    requests |> List.map (fun (id, request) -> id, request, completed |> List.filter (fun (w, _) -> w = id) |> List.map snd)

/// The index of the step that started collection `id`.
let private startOf (trace: Trace) (id: int64) =
    trace.Steps |> List.findIndex (fun record -> collections record |> List.exists (fun (c, _, _) -> c = id))

let private flushCollects (trace: Trace) =
    let steps = Array.ofList trace.Steps

    waiters trace
    |> Seq.filter (fun (_, (isShutdown, _, _), _) -> not isShutdown)
    |> Seq.map (fun (id, (_, deadline, requested), results) ->
        let request = steps[requested]
        let shuttingDown = (nextCollectionMs request.Before).IsNone && not (isStopped request.Before)
        let idle = (running request.Before).IsNone

        let immediate =
            if idle && not shuttingDown && not (isStopped request.Before) && List.isEmpty (collections request) then
                Error $"flush {id} at {request.Now} found the reader idle but started no collection"
            else
                Ok()

        let ending =
            match results with
            // Unanswered only while the trace never reached its deadline.
            | [] when steps |> Array.skip (requested + 1) |> Array.forall (fun r -> r.Now < deadline) -> Ok()
            | [ WaiterResult.Completed, index ] ->
                match steps[index].Event with
                | ExportCompleted(collection, now) when now <= deadline ->
                    let started = startOf trace collection

                    if started >= requested || shuttingDown then Ok()
                    else Error $"flush {id} completed by collection {collection}, started before the request"
                | event -> Error $"flush {id} completed on {event}, not on a collection's completion by its deadline {deadline}"
            | [ WaiterResult.TimedOut, index ] when steps[index].Now >= deadline -> Ok()
            | [ WaiterResult.AlreadyShutDown, index ] when isStopped steps[index].After -> Ok()
            | many -> Error $"flush {id} ended with {many}"

        firstError [ immediate; ending ])
    |> firstError

let private shutdownFinal (trace: Trace) =
    let steps = Array.ofList trace.Steps

    match waiters trace |> List.filter (fun (_, (isShutdown, _, _), _) -> isShutdown) with
    | [] -> Ok()
    | (id, (_, deadline, requested), results) :: _ ->
        let finals = trace.Steps |> List.collect collections |> List.filter (fun (_, trigger, _) -> trigger = Trigger.Shutdown)

        let ending =
            match results with
            | [ WaiterResult.Completed, index ] ->
                match steps[index].Event, finals with
                | ExportCompleted(collection, now), [ final, _, _ ] when collection = final && now <= deadline && startOf trace final >= requested -> Ok()
                | event, _ -> Error $"shutdown completed on {event} with final collections {finals}"
            | [ WaiterResult.TimedOut, index ] when steps[index].Now <= deadline && List.length finals <= 1 -> Ok()
            | [] when steps.Length - 1 = requested || steps |> Array.skip (requested + 1) |> Array.forall (fun r -> r.Now < deadline) -> Ok()
            | many -> Error $"shutdown {id} ended with {many}"

        let quiet =
            trace.Steps
            |> List.skipWhile (fun record -> not (isStopped record.After))
            |> rest
            |> List.map (fun record ->
                let busy =
                    record.Commands
                    |> List.exists (function
                        | CollectAndExport _
                        | ArmTimer _ -> true
                        | CompleteWaiter _ -> false)

                if busy then Error $"after stopping, {record.Event} produced {record.Commands}" else Ok())

        firstError (Seq.append [ ending ] quiet)

[<Tests>]
let properties =
    testList "MetricReader properties" [
        law "periodic collections start at every interval boundary reached while idle, and only at boundaries" onBoundaries
        law "collections never overlap" neverOverlap
        law "each collection's deadline is the export timeout, or the shutdown deadline when sooner" deadlines
        law "force flush collects at once when idle and completes only when a collection it asked for completes" flushCollects
        law "shutdown does one final collection, completes by its deadline, then arms no timer and collects nothing" shutdownFinal
    ]

let private settings = { ExportIntervalMs = 1000L; ExportTimeoutMs = 300L }

let private run events =
    let struct (initial, first) = start settings 0L

    events
    |> List.fold
        (fun (state, log) event ->
            let struct (next, commands) = step settings state event
            next, log @ [ commands ])
        (initial, [ first ])

[<Tests>]
let examples =
    testList "MetricReader examples" [
        test "the defaults are the specification's: every 60 s, with a 30 s timeout" {
            Expect.equal Settings.Default { ExportIntervalMs = 60000L; ExportTimeoutMs = 30000L } "defaults"
        }

        test "a started reader arms its timer one interval later and collects when it fires" {
            let state, log = run [ TimerFired 1000L; ExportCompleted(1L, 1100L) ]
            Expect.equal log [ [ ArmTimer 1000L ]; [ CollectAndExport(1L, Trigger.Interval, 1300L); ArmTimer 2000L ]; [] ] "commands"
            Expect.equal (collectionsStarted state) 1L "one collection"
        }

        test "a boundary reached while a collection runs is skipped, not made up later" {
            let slow = { ExportIntervalMs = 100L; ExportTimeoutMs = 250L }
            let struct (s0, _) = start slow 0L
            let struct (s1, c1) = step slow s0 (TimerFired 100L)
            let struct (s2, c2) = step slow s1 (TimerFired 200L)
            let struct (_, c3) = step slow s2 (ExportCompleted(1L, 250L))
            Expect.equal c1 [ CollectAndExport(1L, Trigger.Interval, 350L); ArmTimer 200L ] "first"
            Expect.equal c2 [ ArmTimer 300L ] "skipped"
            Expect.equal c3 [] "nothing made up"
        }

        test "force flush collects at once and completes when that export completes" {
            let _, log = run [ ForceFlush(7L, 10L, 500L); ExportCompleted(1L, 20L) ]
            Expect.equal log[1] [ CollectAndExport(1L, Trigger.Flush, 310L); ArmTimer 500L ] "collects"
            Expect.equal log[2] [ CompleteWaiter(7L, WaiterResult.Completed); ArmTimer 1000L ] "completes"
        }

        test "force flush during a collection waits for it, then collects again" {
            let _, log = run [ TimerFired 1000L; ForceFlush(7L, 1010L, 1500L); ExportCompleted(1L, 1020L); ExportCompleted(2L, 1030L) ]
            Expect.equal log[2] [ ArmTimer 1500L ] "waits"
            Expect.equal log[3] [ CollectAndExport(2L, Trigger.Flush, 1320L) ] "collects again"
            Expect.equal log[4] [ CompleteWaiter(7L, WaiterResult.Completed); ArmTimer 2000L ] "completes"
        }

        test "shutdown does a final collection bounded by its deadline, then stops" {
            let state, log = run [ Shutdown(9L, 10L, 200L); ExportCompleted(1L, 50L); ForceFlush(10L, 60L, 100L) ]
            Expect.equal log[1] [ CollectAndExport(1L, Trigger.Shutdown, 200L); ArmTimer 200L ] "final collection"
            Expect.equal log[2] [ CompleteWaiter(9L, WaiterResult.Completed) ] "completes without re-arming"
            Expect.equal log[3] [ CompleteWaiter(10L, WaiterResult.AlreadyShutDown) ] "later requests"
            Expect.isTrue (isStopped state) "stopped"
            Expect.equal (nextCollectionMs state) None "no next collection"
        }

        test "shutdown times out at its deadline and ignores the late completion" {
            let state, log = run [ Shutdown(9L, 10L, 100L); TimerFired 100L; ExportCompleted(1L, 150L) ]
            Expect.equal log[2] [ CompleteWaiter(9L, WaiterResult.TimedOut) ] "timed out"
            Expect.equal log[3] [] "late completion ignored"
            Expect.isTrue (isStopped state) "stopped"
        }

        test "a flush's two steps allocate only their events, the waiter and the commands: no state" {
            // The driver steps the machine twice for every flush; a quiet pipeline's flush should cost little more
            // than its request. The state is a struct and the walks over the waiters take no closures.
            let flushes = 2000

            let cycle (state: State) (i: int) =
                let struct (collecting, commands) = step settings state (ForceFlush(int64 i, 10L, Deadline.none))
                let exportId = match commands with CollectAndExport(id, _, _) :: _ -> id | other -> failwith $"%A{other}"
                let struct (idle, _) = step settings collecting (ExportCompleted(exportId, 20L))
                idle

            let struct (initial, _) = start settings 0L
            let warm = Seq.fold cycle initial (seq { 1..100 })
            let before = System.GC.GetAllocatedBytesForCurrentThread()
            let last = Seq.fold cycle warm (seq { 1..flushes })
            let perFlush = (System.GC.GetAllocatedBytesForCurrentThread() - before) / int64 flushes
            Expect.equal (collectionsStarted last) (int64 (flushes + 100)) "every flush collected"
            // Two events (72 bytes), a waiter in its list (56), a collect and a complete command in theirs (136),
            // the loop's enumerator: 400 bytes leave room for the runtime, not for a state per step (112 each).
            Expect.isLessThanOrEqual perFlush 400L "bytes allocated per flush"
        }
    ]

module Otlp.Core.MetricReader

type Settings =
    { ExportIntervalMs: int64
      ExportTimeoutMs: int64 }

    static member Default =
        { ExportIntervalMs = 60000L
          ExportTimeoutMs = 30000L }

[<RequireQualifiedAccess>]
type Trigger =
    | Interval
    | Flush
    | Shutdown

[<RequireQualifiedAccess>]
type WaiterResult =
    | Completed
    | TimedOut
    | AlreadyShutDown

type Event =
    | TimerFired of nowMs: int64
    | ExportCompleted of exportId: int64 * nowMs: int64
    | ForceFlush of waiterId: int64 * nowMs: int64 * deadlineMs: int64
    | Shutdown of waiterId: int64 * nowMs: int64 * deadlineMs: int64

type Command =
    | CollectAndExport of exportId: int64 * trigger: Trigger * deadlineMs: int64
    | ArmTimer of atMs: int64
    | CompleteWaiter of waiterId: int64 * result: WaiterResult

// A flush or shutdown request; a struct, so a list of them is one object per waiter.
[<Struct>]
type internal Waiter =
    { Id: int64
      DeadlineMs: int64
      // The id of the collection whose completion completes this waiter.
      Needs: int64
      IsShutdown: bool }

type internal Phase =
    | Running
    | ShuttingDown
    | Stopped

// A struct: a step allocates no state, only its commands and the waiters it adds (the driver steps the machine for
// every flush, and a flush of a quiet pipeline should cost little more than its request).
[<Struct; NoEquality; NoComparison>]
type State =
    internal
        { StartMs: int64
          NextTickMs: int64
          Running: struct (int64 * Trigger) voption
          // A collection asked for while another runs; started as soon as that one completes.
          Pending: Trigger voption
          NextId: int64
          Waiters: Waiter list
          Phase: Phase
          ArmedMs: int64 voption }

// The same settings when they need no clamping (every step normalizes them).
let private normalize (settings: Settings) =
    if settings.ExportIntervalMs >= 1L && settings.ExportTimeoutMs >= 0L then
        settings
    else
        { ExportIntervalMs = max 1L settings.ExportIntervalMs
          ExportTimeoutMs = max 0L settings.ExportTimeoutMs }

// Recursive walks rather than List.exists/partition with closures: a step then allocates nothing for them.
let rec private earliestDeadline (earliest: int64 voption) (waiters: Waiter list) =
    match waiters with
    | [] -> earliest
    | waiter :: rest ->
        let at =
            match earliest with
            | ValueSome at -> min at waiter.DeadlineMs
            | ValueNone -> waiter.DeadlineMs

        earliestDeadline (ValueSome at) rest

let rec private anyExpired (nowMs: int64) (waiters: Waiter list) =
    match waiters with
    | [] -> false
    | waiter :: rest -> waiter.DeadlineMs <= nowMs || anyExpired nowMs rest

let rec private anyShutdown (waiters: Waiter list) =
    match waiters with
    | [] -> false
    | waiter :: rest -> waiter.IsShutdown || anyShutdown rest

let rec private allNeedAtMost (exportId: int64) (waiters: Waiter list) =
    match waiters with
    | [] -> true
    | waiter :: rest -> waiter.Needs <= exportId && allNeedAtMost exportId rest

// The earliest shutdown deadline, or `fallback` when sooner or no shutdown waits.
let rec private shutdownDeadline (fallback: int64) (waiters: Waiter list) =
    match waiters with
    | [] -> fallback
    | waiter :: rest -> shutdownDeadline (if waiter.IsShutdown then min fallback waiter.DeadlineMs else fallback) rest

// The timer is armed for the earliest of the next tick (while running) and the waiters' deadlines.
let private armTimer (struct (state: State, commands: Command list)) =
    let earliest =
        earliestDeadline (if state.Phase = Running then ValueSome state.NextTickMs else ValueNone) state.Waiters

    match earliest with
    | ValueNone -> struct (state, commands)
    | ValueSome at when state.ArmedMs = ValueSome at -> struct (state, commands)
    | ValueSome at -> struct ({ state with ArmedMs = ValueSome at }, ArmTimer at :: commands)

// Commands are gathered newest first; most steps give none or one, which need no reversing.
let private inOrder (commands: Command list) =
    match commands with
    | []
    | [ _ ] -> commands
    | _ -> List.rev commands

let start (settings: Settings) (nowMs: int64) =
    let settings = normalize settings

    let state =
        { StartMs = nowMs
          NextTickMs = nowMs + settings.ExportIntervalMs
          Running = ValueNone
          Pending = ValueNone
          NextId = 1L
          Waiters = []
          Phase = Running
          ArmedMs = ValueNone }

    let struct (state, commands) = armTimer (struct (state, []))
    struct (state, inOrder commands)

// While shutting down, every request waits for the final collection: the one running with the Shutdown
// trigger, or else the next one to start.
let private shutdownCollection (state: State) =
    match state.Running with
    | ValueSome(struct (id, Trigger.Shutdown)) -> id
    | _ -> state.NextId

let private request (waiterId: int64) (nowMs: int64) (deadlineMs: int64) isShutdown (struct (state: State, commands)) =
    let waiter needs =
        { Id = waiterId
          DeadlineMs = max nowMs deadlineMs
          Needs = needs
          IsShutdown = isShutdown }

    match state.Phase with
    | Stopped -> struct (state, CompleteWaiter(waiterId, WaiterResult.AlreadyShutDown) :: commands)
    | ShuttingDown -> struct ({ state with Waiters = state.Waiters @ [ waiter (shutdownCollection state) ] }, commands)
    | Running ->
        let pending =
            if isShutdown then Trigger.Shutdown
            else
                match state.Pending with
                | ValueSome Trigger.Shutdown -> Trigger.Shutdown
                | _ -> Trigger.Flush

        let waiting =
            { state with
                Waiters = state.Waiters @ [ waiter state.NextId ]
                Pending = ValueSome pending
                Phase = (if isShutdown then ShuttingDown else Running) }

        struct (waiting, commands)

let private completed (exportId: int64) (struct (state: State, commands)) =
    match state.Running with
    | ValueSome(struct (id, _)) when id = exportId ->
        // Usually every waiter asked for this collection: no list is split then.
        let finished, waiting =
            if allNeedAtMost exportId state.Waiters then state.Waiters, []
            else state.Waiters |> List.partition (fun waiter -> waiter.Needs <= exportId)

        let commands =
            finished |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.Completed) :: commands) commands

        let stopped = state.Phase = ShuttingDown && not (anyShutdown waiting)

        let idle =
            { state with
                Running = ValueNone
                Waiters = waiting
                Phase = (if stopped then Stopped else state.Phase)
                Pending = (if stopped then ValueNone else state.Pending) }

        struct (idle, commands)
    | _ -> struct (state, commands)

let private expire (nowMs: int64) (struct (state: State, commands)) =
    if not (anyExpired nowMs state.Waiters) then
        struct (state, commands)
    elif state.Waiters |> List.exists (fun waiter -> waiter.IsShutdown && waiter.DeadlineMs <= nowMs) then
        // Shutdown returns by its deadline: the running collection is abandoned (its late completion is
        // ignored) and every other waiter ends with it, since no collection will run any more.
        let result (waiter: Waiter) =
            if waiter.IsShutdown || waiter.DeadlineMs <= nowMs then WaiterResult.TimedOut
            else WaiterResult.AlreadyShutDown

        let commands =
            state.Waiters |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, result waiter) :: commands) commands

        struct ({ state with Running = ValueNone; Pending = ValueNone; Waiters = []; Phase = Stopped }, commands)
    else
        let expired, pending = state.Waiters |> List.partition (fun waiter -> waiter.DeadlineMs <= nowMs)

        let commands =
            expired |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.TimedOut) :: commands) commands

        struct ({ state with Waiters = pending }, commands)

let private tick (settings: Settings) (nowMs: int64) (struct (state: State, commands)) =
    if state.Phase = Running && nowMs >= state.NextTickMs then
        // Ticks stay on the start + k * interval grid; one missed while a collection ran is skipped, never
        // made up later, so collections never overlap or bunch up.
        let next =
            state.StartMs + ((nowMs - state.StartMs) / settings.ExportIntervalMs + 1L) * settings.ExportIntervalMs

        let pending =
            if state.Running.IsNone && state.Pending.IsNone then ValueSome Trigger.Interval else state.Pending

        struct ({ state with NextTickMs = next; Pending = pending }, commands)
    else
        struct (state, commands)

let private startPending (settings: Settings) (nowMs: int64) (struct (state: State, commands)) =
    match state.Running, state.Pending with
    | ValueNone, ValueSome trigger ->
        let deadline = shutdownDeadline (Deadline.after nowMs settings.ExportTimeoutMs) state.Waiters
        let id = state.NextId

        let collecting =
            { state with
                Running = ValueSome(struct (id, trigger))
                Pending = ValueNone
                NextId = id + 1L }

        struct (collecting, CollectAndExport(id, trigger, deadline) :: commands)
    | _ -> struct (state, commands)

let private timeOf event =
    match event with
    | TimerFired now
    | ExportCompleted(_, now)
    | ForceFlush(_, now, _)
    | Shutdown(_, now, _) -> now

let step (settings: Settings) (state: State) (event: Event) =
    let settings = normalize settings
    let nowMs = timeOf event

    let applied =
        match event with
        | TimerFired _ ->
            match state.ArmedMs with
            | ValueSome at when at <= nowMs -> struct ({ state with ArmedMs = ValueNone }, [])
            | _ -> struct (state, [])
        | ExportCompleted(exportId, _) -> completed exportId (struct (state, []))
        | ForceFlush(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs false (struct (state, []))
        | Shutdown(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs true (struct (state, []))

    let struct (state, commands) =
        applied
        |> expire nowMs
        |> tick settings nowMs
        |> startPending settings nowMs
        |> armTimer

    struct (state, inOrder commands)

let running (state: State) =
    match state.Running with
    | ValueSome(struct (id, _)) -> Some id
    | ValueNone -> None

let nextCollectionMs (state: State) =
    if state.Phase = Running then Some state.NextTickMs else None

let collectionsStarted (state: State) = state.NextId - 1L

let isStopped (state: State) = state.Phase = Stopped

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

type Waiter =
    { Id: int64
      DeadlineMs: int64
      // The id of the collection whose completion completes this waiter.
      Needs: int64
      IsShutdown: bool }

type Phase =
    | Running
    | ShuttingDown
    | Stopped

[<Sealed>]
type State
    internal
    (
        startMs: int64,
        nextTickMs: int64,
        running: struct (int64 * Trigger) voption,
        pending: Trigger voption,
        nextId: int64,
        waiters: Waiter list,
        phase: Phase,
        armedMs: int64 voption
    ) =
    member _.StartMs = startMs
    member _.NextTickMs = nextTickMs
    member _.Running = running
    // A collection asked for while another runs; started as soon as that one completes.
    member _.Pending = pending
    member _.NextId = nextId
    member _.Waiters = waiters
    member _.Phase = phase
    member _.ArmedMs = armedMs

    // Struct optional arguments: a step allocates the new state and nothing for the arguments it changes.
    member internal this.With
        (
            [<Struct>] ?nextTickMs,
            [<Struct>] ?running,
            [<Struct>] ?pending,
            [<Struct>] ?nextId,
            [<Struct>] ?waiters,
            [<Struct>] ?phase,
            [<Struct>] ?armedMs
        ) =
        State(
            this.StartMs,
            defaultValueArg nextTickMs this.NextTickMs,
            defaultValueArg running this.Running,
            defaultValueArg pending this.Pending,
            defaultValueArg nextId this.NextId,
            defaultValueArg waiters this.Waiters,
            defaultValueArg phase this.Phase,
            defaultValueArg armedMs this.ArmedMs
        )

// The same settings when they need no clamping (every step normalizes them).
let private normalize (settings: Settings) =
    if settings.ExportIntervalMs >= 1L && settings.ExportTimeoutMs >= 0L then
        settings
    else
        { ExportIntervalMs = max 1L settings.ExportIntervalMs
          ExportTimeoutMs = max 0L settings.ExportTimeoutMs }

// The timer is armed for the earliest of the next tick (while running) and the waiters' deadlines.
let private armTimer (struct (state: State, commands: Command list)) =
    let earliest =
        state.Waiters
        |> List.fold
            (fun earliest waiter ->
                match earliest with
                | ValueSome at -> ValueSome(min at waiter.DeadlineMs)
                | ValueNone -> ValueSome waiter.DeadlineMs)
            (if state.Phase = Running then ValueSome state.NextTickMs else ValueNone)

    match earliest with
    | ValueNone -> struct (state, commands)
    | ValueSome at when state.ArmedMs = ValueSome at -> struct (state, commands)
    | ValueSome at -> struct (state.With(armedMs = ValueSome at), ArmTimer at :: commands)

let start (settings: Settings) (nowMs: int64) =
    let settings = normalize settings
    let state = State(nowMs, nowMs + settings.ExportIntervalMs, ValueNone, ValueNone, 1L, [], Running, ValueNone)
    let struct (state, commands) = armTimer (struct (state, []))
    state, List.rev commands

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
    | ShuttingDown -> struct (state.With(waiters = state.Waiters @ [ waiter (shutdownCollection state) ]), commands)
    | Running ->
        let pending =
            if isShutdown then Trigger.Shutdown
            else
                match state.Pending with
                | ValueSome Trigger.Shutdown -> Trigger.Shutdown
                | _ -> Trigger.Flush

        let waiting =
            state.With(
                waiters = state.Waiters @ [ waiter state.NextId ],
                pending = ValueSome pending,
                phase = (if isShutdown then ShuttingDown else Running)
            )

        struct (waiting, commands)

let private completed (exportId: int64) (struct (state: State, commands)) =
    match state.Running with
    | ValueSome(struct (id, _)) when id = exportId ->
        let finished, waiting = state.Waiters |> List.partition (fun waiter -> waiter.Needs <= exportId)

        let commands =
            finished |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.Completed) :: commands) commands

        let stopped = state.Phase = ShuttingDown && not (waiting |> List.exists _.IsShutdown)

        let idle =
            state.With(
                running = ValueNone,
                waiters = waiting,
                phase = (if stopped then Stopped else state.Phase),
                pending = (if stopped then ValueNone else state.Pending)
            )

        struct (idle, commands)
    | _ -> struct (state, commands)

let private expire (nowMs: int64) (struct (state: State, commands)) =
    let expired, pending =
        if List.isEmpty state.Waiters then [], []
        else state.Waiters |> List.partition (fun waiter -> waiter.DeadlineMs <= nowMs)

    if List.isEmpty expired then
        struct (state, commands)
    elif expired |> List.exists _.IsShutdown then
        // Shutdown returns by its deadline: the running collection is abandoned (its late completion is
        // ignored) and every other waiter ends with it, since no collection will run any more.
        let result (waiter: Waiter) =
            if waiter.IsShutdown || waiter.DeadlineMs <= nowMs then WaiterResult.TimedOut
            else WaiterResult.AlreadyShutDown

        let commands =
            state.Waiters |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, result waiter) :: commands) commands

        struct (state.With(running = ValueNone, pending = ValueNone, waiters = [], phase = Stopped), commands)
    else
        let commands =
            expired |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.TimedOut) :: commands) commands

        struct (state.With(waiters = pending), commands)

let private tick (settings: Settings) (nowMs: int64) (struct (state: State, commands)) =
    if state.Phase = Running && nowMs >= state.NextTickMs then
        // Ticks stay on the start + k * interval grid; one missed while a collection ran is skipped, never
        // made up later, so collections never overlap or bunch up.
        let next =
            state.StartMs + ((nowMs - state.StartMs) / settings.ExportIntervalMs + 1L) * settings.ExportIntervalMs

        let pending =
            if state.Running.IsNone && state.Pending.IsNone then ValueSome Trigger.Interval else state.Pending

        struct (state.With(nextTickMs = next, pending = pending), commands)
    else
        struct (state, commands)

let private startPending (settings: Settings) (nowMs: int64) (struct (state: State, commands)) =
    match state.Running, state.Pending with
    | ValueNone, ValueSome trigger ->
        let deadline =
            state.Waiters
            |> List.filter _.IsShutdown
            |> List.fold (fun deadline waiter -> min deadline waiter.DeadlineMs) (Deadline.after nowMs settings.ExportTimeoutMs)

        let id = state.NextId

        let collecting = state.With(running = ValueSome(struct (id, trigger)), pending = ValueNone, nextId = id + 1L)
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
            | ValueSome at when at <= nowMs -> struct (state.With(armedMs = ValueNone), [])
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

    state, List.rev commands

let running (state: State) =
    match state.Running with
    | ValueSome(struct (id, _)) -> Some id
    | ValueNone -> None

let nextCollectionMs (state: State) =
    if state.Phase = Running then Some state.NextTickMs else None

let collectionsStarted (state: State) = state.NextId - 1L

let isStopped (state: State) = state.Phase = Stopped

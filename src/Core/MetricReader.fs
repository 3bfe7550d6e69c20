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

    member internal this.With
        (
            ?nextTickMs,
            ?running,
            ?pending,
            ?nextId,
            ?waiters,
            ?phase,
            ?armedMs
        ) =
        State(
            this.StartMs,
            defaultArg nextTickMs this.NextTickMs,
            defaultArg running this.Running,
            defaultArg pending this.Pending,
            defaultArg nextId this.NextId,
            defaultArg waiters this.Waiters,
            defaultArg phase this.Phase,
            defaultArg armedMs this.ArmedMs
        )

// The same settings when they need no clamping (every step normalizes them).
let private normalize (settings: Settings) =
    if settings.ExportIntervalMs >= 1L && settings.ExportTimeoutMs >= 0L then
        settings
    else
        { ExportIntervalMs = max 1L settings.ExportIntervalMs
          ExportTimeoutMs = max 0L settings.ExportTimeoutMs }

// The timer is armed for the earliest of the next tick (while running) and the waiters' deadlines.
let private armTimer (state: State, commands: Command list) =
    let earliest =
        state.Waiters
        |> List.fold
            (fun earliest waiter ->
                match earliest with
                | ValueSome at -> ValueSome(min at waiter.DeadlineMs)
                | ValueNone -> ValueSome waiter.DeadlineMs)
            (if state.Phase = Running then ValueSome state.NextTickMs else ValueNone)

    match earliest with
    | ValueNone -> state, commands
    | ValueSome at when state.ArmedMs = ValueSome at -> state, commands
    | ValueSome at -> state.With(armedMs = ValueSome at), ArmTimer at :: commands

let start (settings: Settings) (nowMs: int64) =
    let settings = normalize settings
    let state = State(nowMs, nowMs + settings.ExportIntervalMs, ValueNone, ValueNone, 1L, [], Running, ValueNone)
    let state, commands = armTimer (state, [])
    state, List.rev commands

// While shutting down, every request waits for the final collection: the one running with the Shutdown
// trigger, or else the next one to start.
let private shutdownCollection (state: State) =
    match state.Running with
    | ValueSome(struct (id, Trigger.Shutdown)) -> id
    | _ -> state.NextId

let private request (waiterId: int64) (nowMs: int64) (deadlineMs: int64) isShutdown (state: State, commands) =
    let waiter needs =
        { Id = waiterId
          DeadlineMs = max nowMs deadlineMs
          Needs = needs
          IsShutdown = isShutdown }

    match state.Phase with
    | Stopped -> state, CompleteWaiter(waiterId, WaiterResult.AlreadyShutDown) :: commands
    | ShuttingDown -> state.With(waiters = state.Waiters @ [ waiter (shutdownCollection state) ]), commands
    | Running ->
        let pending =
            if isShutdown then Trigger.Shutdown
            else
                match state.Pending with
                | ValueSome Trigger.Shutdown -> Trigger.Shutdown
                | _ -> Trigger.Flush

        state.With(
            waiters = state.Waiters @ [ waiter state.NextId ],
            pending = ValueSome pending,
            phase = (if isShutdown then ShuttingDown else Running)
        ),
        commands

let private completed (exportId: int64) (state: State, commands) =
    match state.Running with
    | ValueSome(struct (id, _)) when id = exportId ->
        let finished, waiting = state.Waiters |> List.partition (fun waiter -> waiter.Needs <= exportId)

        let commands =
            finished |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.Completed) :: commands) commands

        let stopped = state.Phase = ShuttingDown && not (waiting |> List.exists _.IsShutdown)

        state.With(
            running = ValueNone,
            waiters = waiting,
            phase = (if stopped then Stopped else state.Phase),
            pending = (if stopped then ValueNone else state.Pending)
        ),
        commands
    | _ -> state, commands

let private expire (nowMs: int64) (state: State, commands) =
    let expired, pending =
        if List.isEmpty state.Waiters then [], []
        else state.Waiters |> List.partition (fun waiter -> waiter.DeadlineMs <= nowMs)

    if List.isEmpty expired then
        state, commands
    elif expired |> List.exists _.IsShutdown then
        // Shutdown returns by its deadline: the running collection is abandoned (its late completion is
        // ignored) and every other waiter ends with it, since no collection will run any more.
        let result (waiter: Waiter) =
            if waiter.IsShutdown || waiter.DeadlineMs <= nowMs then WaiterResult.TimedOut
            else WaiterResult.AlreadyShutDown

        let commands =
            state.Waiters |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, result waiter) :: commands) commands

        state.With(running = ValueNone, pending = ValueNone, waiters = [], phase = Stopped), commands
    else
        let commands =
            expired |> List.fold (fun commands waiter -> CompleteWaiter(waiter.Id, WaiterResult.TimedOut) :: commands) commands

        state.With(waiters = pending), commands

let private tick (settings: Settings) (nowMs: int64) (state: State, commands) =
    if state.Phase = Running && nowMs >= state.NextTickMs then
        // Ticks stay on the start + k * interval grid; one missed while a collection ran is skipped, never
        // made up later, so collections never overlap or bunch up.
        let next =
            state.StartMs + ((nowMs - state.StartMs) / settings.ExportIntervalMs + 1L) * settings.ExportIntervalMs

        let pending =
            if state.Running.IsNone && state.Pending.IsNone then ValueSome Trigger.Interval else state.Pending

        state.With(nextTickMs = next, pending = pending), commands
    else
        state, commands

let private startPending (settings: Settings) (nowMs: int64) (state: State, commands) =
    match state.Running, state.Pending with
    | ValueNone, ValueSome trigger ->
        let deadline =
            state.Waiters
            |> List.filter _.IsShutdown
            |> List.fold (fun deadline waiter -> min deadline waiter.DeadlineMs) (Deadline.after nowMs settings.ExportTimeoutMs)

        let id = state.NextId

        state.With(running = ValueSome(struct (id, trigger)), pending = ValueNone, nextId = id + 1L),
        CollectAndExport(id, trigger, deadline) :: commands
    | _ -> state, commands

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
            | ValueSome at when at <= nowMs -> state.With(armedMs = ValueNone), []
            | _ -> state, []
        | ExportCompleted(exportId, _) -> completed exportId (state, [])
        | ForceFlush(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs false (state, [])
        | Shutdown(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs true (state, [])

    let state, commands =
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

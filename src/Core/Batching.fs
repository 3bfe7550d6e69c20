module Otlp.Core.Batching

type Settings =
    { MaxQueueSize: int
      ScheduledDelayMs: int64
      MaxExportBatchSize: int
      ExportTimeoutMs: int64
      MaxConcurrentExports: int
      EncodeAhead: bool
      Retry: Retry.Policy }

    static member Default =
        { MaxQueueSize = 2048
          ScheduledDelayMs = 5000L
          MaxExportBatchSize = 512
          ExportTimeoutMs = 30000L
          MaxConcurrentExports = 1
          EncodeAhead = false
          Retry = Retry.Policy.Default }

[<RequireQualifiedAccess>]
type ExportOutcome =
    | Succeeded
    | PartiallySucceeded of rejected: int * tooLarge: int * unreadable: int
    | RetryableFailure of serverDelayMs: int64 option
    | PermanentFailure

let outcomeOf (classification: Retry.Classification) =
    match classification with
    | Retry.Classification.Success -> ExportOutcome.Succeeded
    | Retry.Classification.Retryable delay -> ExportOutcome.RetryableFailure delay
    | Retry.Classification.Permanent _ -> ExportOutcome.PermanentFailure

let partialOutcome (rejected: int64) (sent: int) =
    let rejected = rejected |> max 0L |> min (int64 (max 0 sent))
    if rejected = 0L then ExportOutcome.Succeeded else ExportOutcome.PartiallySucceeded(int rejected, 0, 0)

[<RequireQualifiedAccess>]
type DropReason =
    | QueueFull
    | ShutDown
    | PermanentFailure
    | RetriesExhausted
    | DeadlineExceeded
    | RejectedByServer
    | TooLarge
    | Unreadable

[<RequireQualifiedAccess>]
type WaiterResult =
    | Completed
    | TimedOut
    | AlreadyShutDown

type Event<'item> =
    | Offer of item: 'item * nowMs: int64
    | OfferMany of items: 'item array * nowMs: int64
    | OfferSlice of items: 'item array * offset: int * count: int * nowMs: int64
    | TimerFired of nowMs: int64
    | ExportCompleted of batchId: int64 * outcome: ExportOutcome * nowMs: int64 * random: float
    | ForceFlush of waiterId: int64 * nowMs: int64 * deadlineMs: int64
    | Shutdown of waiterId: int64 * nowMs: int64 * deadlineMs: int64

type Command<'item> =
    | StartExport of batchId: int64 * items: 'item array * attempt: int * deadlineMs: int64
    | ArmTimer of atMs: int64
    | CompleteWaiter of waiterId: int64 * result: WaiterResult
    | ReportDropped of count: int * reason: DropReason
    | ReportExported of count: int

// A persistent FIFO of chunks in two lists (Okasaki's batched queue): amortized O(1) to add a chunk, O(n) to take
// n items. A chunk is a slice of an offered array, which the queue shares rather than copies: events are values
// and the driver never changes a slice it has offered, so adding items costs no allocation per item.
// The newest chunk is kept apart (Open) so that a slice continuing it in the same array extends it, also after
// takes: an array the driver fills in several offers is one chunk again, and goes out whole when it is a batch.
// (Kept in the back list, it moved to the front list whenever a batch was taken before the array was full, and the
// rest of the array then made a second chunk: that batch was copied, and the array left behind still full.)
// The driver only ever steps the latest state, so no old version is re-used and the amortization holds.
type Queue<'item> =
    { Front: System.ArraySegment<'item> list
      Back: System.ArraySegment<'item> list
      // The newest chunk, after the back list's; an empty segment (no array) when the queue is empty.
      Open: System.ArraySegment<'item>
      Count: int }

module Queue =
    let empty<'item> : Queue<'item> =
        { Front = []
          Back = []
          Open = System.ArraySegment<'item>()
          Count = 0 }

    let private hasItems (chunk: System.ArraySegment<'item>) = chunk.Count > 0

    // The `count` items of `items` from `offset`.
    let enqueueSlice (items: 'item array) offset count queue =
        if count <= 0 then
            queue
        elif obj.ReferenceEquals(queue.Open.Array, items) && queue.Open.Offset + queue.Open.Count = offset then
            { queue with
                Open = System.ArraySegment(items, queue.Open.Offset, queue.Open.Count + count)
                Count = queue.Count + count }
        else
            { queue with
                Back = if hasItems queue.Open then queue.Open :: queue.Back else queue.Back
                Open = System.ArraySegment(items, offset, count)
                Count = queue.Count + count }

    // The chunk is all of an array of `count` items.
    let private isWhole count (chunk: System.ArraySegment<'item>) =
        count > 0 && chunk.Offset = 0 && chunk.Count = count && chunk.Array.Length = count

    let private takeCopy count queue =
        let items = Array.zeroCreate count
        let mutable front = queue.Front
        let mutable back = queue.Back
        let mutable openChunk = queue.Open
        let mutable filled = 0

        while filled < count do
            if List.isEmpty front && not (List.isEmpty back) then
                front <- List.rev back
                back <- []

            let chunk = if List.isEmpty front then openChunk else List.head front
            let n = min chunk.Count (count - filled)
            Array.blit chunk.Array chunk.Offset items filled n
            filled <- filled + n

            let rest =
                if n = chunk.Count then
                    System.ArraySegment<'item>()
                else
                    System.ArraySegment(chunk.Array, chunk.Offset + n, chunk.Count - n)

            if List.isEmpty front then
                // What is left of the open chunk stays open: its end is unchanged, so the next slice extends it.
                openChunk <- rest
            else
                front <- if hasItems rest then rest :: List.tail front else List.tail front

        items,
        { Front = front
          Back = back
          Open = openChunk
          Count = queue.Count - count }

    let take count queue =
        let count = min count queue.Count

        let queue =
            if List.isEmpty queue.Front && not (List.isEmpty queue.Back) then
                { queue with
                    Front = List.rev queue.Back
                    Back = [] }
            else
                queue

        // A batch that is exactly one whole offered array is handed on instead of copied (the driver treats offered
        // arrays as immutable, and so do exports).
        match queue.Front with
        | chunk :: rest when isWhole count chunk ->
            chunk.Array,
            { queue with
                Front = rest
                Count = queue.Count - count }
        | [] when isWhole count queue.Open ->
            queue.Open.Array,
            { queue with
                Open = System.ArraySegment<'item>()
                Count = queue.Count - count }
        | _ -> takeCopy count queue

    let toList queue =
        queue.Front @ List.rev queue.Back @ (if hasItems queue.Open then [ queue.Open ] else [])
        |> List.collect List.ofSeq

type Batch<'item> =
    { Id: int64
      Items: 'item array
      // The sequence number of the first item: flush waiters compare it with their mark.
      FirstSeq: int64
      Attempt: int
      DeadlineMs: int64
      // ValueSome while waiting for a retry; ValueNone while the driver runs the attempt.
      RetryAtMs: int64 voption }

type Waiter =
    { Id: int64
      // Everything with a sequence number below the mark must be settled first.
      Mark: int64
      DeadlineMs: int64
      IsShutdown: bool }

type Phase =
    | Running
    | ShuttingDown
    | Stopped

[<Sealed>]
type State<'item>
    internal
    (
        queue: Queue<'item>,
        accepted: int64,
        nextBatchId: int64,
        inFlight: Batch<'item> list,
        dueMs: int64 voption,
        armedMs: int64 voption,
        waiters: Waiter list,
        phase: Phase,
        exported: int64,
        dropped: Map<DropReason, int64>,
        lastStartMs: int64 voption
    ) =
    member _.Queue = queue
    // Items accepted into the queue so far; also the sequence number of the next one.
    member _.Accepted = accepted
    member _.NextBatchId = nextBatchId
    member _.InFlight = inFlight
    // When the queued items become exportable by time; set exactly while the queue is not empty.
    member _.DueMs = dueMs
    member _.ArmedMs = armedMs
    member _.Waiters = waiters
    member _.Phase = phase
    member _.Exported = exported
    member _.Dropped = dropped
    // When the last batch started (its first attempt): the scheduled delay counts from it.
    member _.LastStartMs = lastStartMs

// Steps thread this record through their stages; commands accumulate newest first.
type Work<'item> =
    { Queue: Queue<'item>
      Accepted: int64
      NextBatchId: int64
      InFlight: Batch<'item> list
      DueMs: int64 voption
      ArmedMs: int64 voption
      Waiters: Waiter list
      Phase: Phase
      Exported: int64
      Dropped: Map<DropReason, int64>
      LastStartMs: int64 voption
      Commands: Command<'item> list }

let init () =
    State(Queue.empty, 0L, 1L, [], ValueNone, ValueNone, [], Running, 0L, Map.empty, ValueNone)

let private open' (state: State<'item>) : Work<'item> =
    { Queue = state.Queue
      Accepted = state.Accepted
      NextBatchId = state.NextBatchId
      InFlight = state.InFlight
      DueMs = state.DueMs
      ArmedMs = state.ArmedMs
      Waiters = state.Waiters
      Phase = state.Phase
      Exported = state.Exported
      Dropped = state.Dropped
      LastStartMs = state.LastStartMs
      Commands = [] }

let private close (work: Work<'item>) =
    State(
        work.Queue,
        work.Accepted,
        work.NextBatchId,
        work.InFlight,
        work.DueMs,
        work.ArmedMs,
        work.Waiters,
        work.Phase,
        work.Exported,
        work.Dropped,
        work.LastStartMs
    ),
    List.rev work.Commands

// Steps run for every slice of items the driver hands over: they allocate nothing they do not need, such as a
// copy of settings that are already in range.
let private normalize (settings: Settings) =
    let queue = max 1 settings.MaxQueueSize

    if
        settings.MaxQueueSize >= 1
        && settings.ScheduledDelayMs >= 0L
        && settings.MaxExportBatchSize >= 1
        && settings.MaxExportBatchSize <= queue
        && settings.ExportTimeoutMs >= 0L
        && settings.MaxConcurrentExports >= 1
    then
        settings
    else
        { settings with
            MaxQueueSize = queue
            ScheduledDelayMs = max 0L settings.ScheduledDelayMs
            MaxExportBatchSize = settings.MaxExportBatchSize |> max 1 |> min queue
            ExportTimeoutMs = max 0L settings.ExportTimeoutMs
            MaxConcurrentExports = max 1 settings.MaxConcurrentExports }

let private emit command (work: Work<'item>) =
    { work with Commands = command :: work.Commands }

let private drop count reason (work: Work<'item>) =
    if count <= 0 then
        work
    else
        let total = work.Dropped |> Map.tryFind reason |> Option.defaultValue 0L

        { work with Dropped = Map.add reason (total + int64 count) work.Dropped }
        |> emit (ReportDropped(count, reason))

// `count` items of `items` from `offset`.
let private offer (settings: Settings) (items: 'item array) offset count (work: Work<'item>) =
    if work.Phase <> Running then
        drop count DropReason.ShutDown work
    else
        let room = max 0 (settings.MaxQueueSize - work.Queue.Count)
        let taken = min room count
        { work with
            Queue = Queue.enqueueSlice items offset taken work.Queue
            Accepted = work.Accepted + int64 taken }
        |> drop (count - taken) DropReason.QueueFull

let private export count (work: Work<'item>) =
    if count <= 0 then
        work
    else
        { work with Exported = work.Exported + int64 count }
        |> emit (ReportExported count)

let private removeBatch (batchId: int64) (work: Work<'item>) =
    { work with InFlight = work.InFlight |> List.filter (fun batch -> batch.Id <> batchId) }

let private complete (settings: Settings) batchId outcome nowMs random (work: Work<'item>) =
    match work.InFlight |> List.tryFind (fun batch -> batch.Id = batchId && batch.RetryAtMs.IsNone) with
    | None -> work
    | Some batch ->
        let size = batch.Items.Length
        let settled = removeBatch batchId work

        match outcome with
        | ExportOutcome.Succeeded -> export size settled
        | ExportOutcome.PartiallySucceeded(rejected, tooLarge, unreadable) ->
            // Counts outside the batch cannot be true: each is brought within what is left of it.
            let tooLarge = tooLarge |> max 0 |> min size
            let unreadable = unreadable |> max 0 |> min (size - tooLarge)
            let rejected = rejected |> max 0 |> min (size - tooLarge - unreadable)

            export (size - tooLarge - unreadable - rejected) settled
            |> drop rejected DropReason.RejectedByServer
            |> drop tooLarge DropReason.TooLarge
            |> drop unreadable DropReason.Unreadable
        | ExportOutcome.PermanentFailure -> drop size DropReason.PermanentFailure settled
        | ExportOutcome.RetryableFailure serverDelay ->
            let classification = Retry.Classification.Retryable serverDelay

            match Retry.decide settings.Retry batch.Attempt classification nowMs batch.DeadlineMs random with
            | Retry.Decision.RetryAfter delay ->
                let waiting = { batch with RetryAtMs = ValueSome(nowMs + delay) }

                { work with
                    InFlight = work.InFlight |> List.map (fun b -> if b.Id = batchId then waiting else b) }
            | Retry.Decision.GiveUp Retry.GiveUpReason.AttemptsExhausted -> drop size DropReason.RetriesExhausted settled
            | Retry.Decision.GiveUp Retry.GiveUpReason.DeadlineExceeded -> drop size DropReason.DeadlineExceeded settled
            | Retry.Decision.GiveUp(Retry.GiveUpReason.Permanent _) -> drop size DropReason.PermanentFailure settled
            | Retry.Decision.Done -> export size settled

let private request waiterId nowMs deadlineMs isShutdown (work: Work<'item>) =
    match work.Phase with
    | Stopped -> emit (CompleteWaiter(waiterId, WaiterResult.AlreadyShutDown)) work
    | Running
    | ShuttingDown ->
        let waiter =
            { Id = waiterId
              Mark = work.Accepted
              DeadlineMs = max nowMs deadlineMs
              IsShutdown = isShutdown }

        { work with
            Waiters = work.Waiters @ [ waiter ]
            Phase = if isShutdown then ShuttingDown else work.Phase }

// The oldest item not yet exported or dropped; every waiter whose mark is at or below it is done.
let private lowestUnsettled (work: Work<'item>) =
    let queued = work.Accepted - int64 work.Queue.Count
    work.InFlight |> List.fold (fun lowest batch -> min lowest batch.FirstSeq) queued

let private expireWaiters nowMs (work: Work<'item>) =
    if List.isEmpty work.Waiters then
        work
    else
        let expired, pending = work.Waiters |> List.partition (fun waiter -> waiter.DeadlineMs <= nowMs)

        if List.isEmpty expired then
            work
        else
            let afterShutdownDeadline =
                if expired |> List.exists _.IsShutdown then
                    // Shutdown must return by its deadline: what is left is dropped, and late completions of the
                    // abandoned batches are ignored because their ids are gone.
                    let left = work.Queue.Count + (work.InFlight |> List.sumBy _.Items.Length)

                    { work with
                        Queue = Queue.empty
                        InFlight = []
                        DueMs = ValueNone
                        Phase = Stopped }
                    |> drop left DropReason.DeadlineExceeded
                else
                    work

            expired
            |> List.fold
                (fun work waiter -> emit (CompleteWaiter(waiter.Id, WaiterResult.TimedOut)) work)
                { afterShutdownDeadline with Waiters = pending }

let private startRetries nowMs (work: Work<'item>) =
    let due (batch: Batch<'item>) =
        match batch.RetryAtMs with
        | ValueSome at -> at <= nowMs
        | ValueNone -> false

    if not (work.InFlight |> List.exists due) then
        work
    else
        work.InFlight
        |> List.fold
            (fun work batch ->
                if due batch then
                    let retried = { batch with Attempt = batch.Attempt + 1; RetryAtMs = ValueNone }

                    { work with InFlight = work.InFlight |> List.map (fun b -> if b.Id = batch.Id then retried else b) }
                    |> emit (StartExport(batch.Id, batch.Items, retried.Attempt, batch.DeadlineMs))
                else
                    work)
            work

// The most batches that may be in flight now: MaxConcurrentExports, and with EncodeAhead one more while no batch waits
// for a retry (a server asking to slow down then gets no more than the batch already prepared).
let private exportSlots (settings: Settings) (work: Work<'item>) =
    if settings.EncodeAhead && work.InFlight |> List.forall (fun batch -> batch.RetryAtMs.IsNone) then
        settings.MaxConcurrentExports + 1
    else
        settings.MaxConcurrentExports

let private startExports (settings: Settings) nowMs (work: Work<'item>) =
    let exportDeadline =
        work.Waiters
        |> List.filter _.IsShutdown
        |> List.fold (fun deadline waiter -> min deadline waiter.DeadlineMs) (Deadline.after nowMs settings.ExportTimeoutMs)

    let rec loop started (work: Work<'item>) =
        let queued = work.Queue.Count
        let head = work.Accepted - int64 queued
        let full = queued >= settings.MaxExportBatchSize

        // Any export restarts the scheduled delay, so the schedule starts at most one partial batch.
        let timeUp =
            match work.DueMs with
            | ValueSome due -> not started && due <= nowMs
            | ValueNone -> false

        let asked = work.Phase = ShuttingDown || work.Waiters |> List.exists (fun waiter -> waiter.Mark > head)

        if queued > 0 && List.length work.InFlight < exportSlots settings work && (full || timeUp || asked) then
            let items, rest = Queue.take settings.MaxExportBatchSize work.Queue

            let batch =
                { Id = work.NextBatchId
                  Items = items
                  FirstSeq = head
                  Attempt = 1
                  DeadlineMs = exportDeadline
                  RetryAtMs = ValueNone }

            { work with
                Queue = rest
                NextBatchId = work.NextBatchId + 1L
                InFlight = work.InFlight @ [ batch ]
                LastStartMs = ValueSome nowMs }
            |> emit (StartExport(batch.Id, items, 1, batch.DeadlineMs))
            |> loop true
        else
            started, work

    let started, work = loop false work

    // Spec: the delay is "the delay interval between two consecutive exports". It runs from the last export; the
    // first item queued after an empty spell waits for what is left of it (or a whole delay when none is left), so
    // two exports are never more than one delay apart while items wait, and no timer runs while none do.
    let dueMs =
        if work.Queue.Count = 0 then ValueNone
        elif started then ValueSome(nowMs + settings.ScheduledDelayMs)
        elif work.DueMs.IsNone then
            match work.LastStartMs with
            | ValueSome last when last + settings.ScheduledDelayMs > nowMs -> ValueSome(last + settings.ScheduledDelayMs)
            | _ -> ValueSome(nowMs + settings.ScheduledDelayMs)
        else work.DueMs

    if dueMs = work.DueMs then work else { work with DueMs = dueMs }

let private completeWaiters (work: Work<'item>) =
    let work =
        if List.isEmpty work.Waiters then
            work
        else
            let lowest = lowestUnsettled work
            let finished, pending = work.Waiters |> List.partition (fun waiter -> waiter.Mark <= lowest)

            finished
            |> List.fold
                (fun work waiter -> emit (CompleteWaiter(waiter.Id, WaiterResult.Completed)) work)
                { work with Waiters = pending }

    if work.Phase = ShuttingDown && work.Queue.Count = 0 && List.isEmpty work.InFlight then
        { work with Phase = Stopped }
    else
        work

// The earlier of two optional times.
let private earlier (a: int64 voption) (b: int64 voption) =
    match a, b with
    | ValueSome x, ValueSome y -> ValueSome(min x y)
    | ValueSome _, ValueNone -> a
    | ValueNone, _ -> b

let private armTimer (settings: Settings) (work: Work<'item>) =
    let due =
        if work.Queue.Count > 0 && List.length work.InFlight < exportSlots settings work then
            work.DueMs
        else
            ValueNone

    let due = work.InFlight |> List.fold (fun at batch -> earlier at batch.RetryAtMs) due
    let due = work.Waiters |> List.fold (fun at waiter -> earlier at (ValueSome waiter.DeadlineMs)) due

    match due with
    | ValueNone -> work
    | ValueSome at ->
        if work.ArmedMs = due then
            work
        else
            { work with ArmedMs = due } |> emit (ArmTimer at)

let private timeOf (event: Event<'item>) =
    match event with
    | Offer(_, now)
    | OfferMany(_, now)
    | OfferSlice(_, _, _, now)
    | TimerFired now
    | ExportCompleted(_, _, now, _)
    | ForceFlush(_, now, _)
    | Shutdown(_, now, _) -> now

let step (settings: Settings) (state: State<'item>) (event: Event<'item>) =
    let settings = normalize settings
    let nowMs = timeOf event
    let work = open' state

    let work =
        match event with
        | Offer(item, _) -> offer settings [| item |] 0 1 work
        | OfferMany(items, _) -> if isNull items then work else offer settings items 0 items.Length work
        | OfferSlice(items, offset, count, _) ->
            if isNull items || offset < 0 || count < 0 || offset > items.Length - count then
                invalidArg (nameof items) $"The slice ({offset}, {count}) is not within an array of {(if isNull items then 0 else items.Length)} items."

            offer settings items offset count work
        | TimerFired _ ->
            match work.ArmedMs with
            | ValueSome at when at <= nowMs -> { work with ArmedMs = ValueNone }
            | _ -> work
        | ExportCompleted(batchId, outcome, _, random) -> complete settings batchId outcome nowMs random work
        | ForceFlush(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs false work
        | Shutdown(waiterId, _, deadlineMs) -> request waiterId nowMs deadlineMs true work

    // Every event carries the time, so deadlines, retries and the schedule are checked on each one, not only
    // when the timer fires.
    work
    |> completeWaiters
    |> expireWaiters nowMs
    |> startRetries nowMs
    |> startExports settings nowMs
    |> completeWaiters
    |> armTimer settings
    |> close

let queuedCount (state: State<'item>) = state.Queue.Count

let queuedItems (state: State<'item>) = Queue.toList state.Queue

let inFlightCount (state: State<'item>) = List.length state.InFlight

let inFlightItemCount (state: State<'item>) =
    state.InFlight |> List.sumBy _.Items.Length

let inFlightBatchIds (state: State<'item>) = state.InFlight |> List.map _.Id

let exportedCount (state: State<'item>) = state.Exported

let droppedCount reason (state: State<'item>) =
    state.Dropped |> Map.tryFind reason |> Option.defaultValue 0L

let isShuttingDown (state: State<'item>) = state.Phase <> Running

let isStopped (state: State<'item>) = state.Phase = Stopped

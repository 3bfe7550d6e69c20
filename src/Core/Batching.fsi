/// The batch span / log record processor of the OpenTelemetry SDK specification (trace/sdk.md "Batching
/// processor", logs/sdk.md "Batching processor") as a pure state machine, generic over the item type.
///
/// A driver (the C# runtime) owns one `State`, feeds every `Event` to `step` on one thread, and carries out
/// the returned `Command`s in order: it starts exports, keeps a single timer, completes flush and shutdown
/// waiters, and counts drops. Every time is in milliseconds on the driver's monotonic timeline; events must
/// carry non-decreasing times. Commands are plain data, never closures, so they can be logged and compared.
///
/// ```
///        Offer / OfferMany / OfferSlice
///                     │ queue full or shutting down: ReportDropped (QueueFull | ShutDown)
///                     v
///   ┌──────── queue (<= MaxQueueSize) ────────┐
///   │ a full batch waits, or ScheduledDelayMs │  and fewer than MaxConcurrentExports batches in flight
///   │ passed, or a flush / shutdown waits     │  (one more with EncodeAhead, while none waits for a retry)
///   └────────────────────┬────────────────────┘
///                        v
///   StartExport(id, items, attempt 1, deadline = now + ExportTimeoutMs)
///                        │
///   ExportCompleted(id, Succeeded)           ──> ReportExported
///   ExportCompleted(id, PartiallySucceeded)  ──> ReportExported; the rejected ones ReportDropped RejectedByServer,
///                                                the ones left out ReportDropped TooLarge or Unreadable
///   ExportCompleted(id, PermanentFailure)    ──> ReportDropped PermanentFailure
///   ExportCompleted(id, RetryableFailure)    ──Retry.decide──┬──> ArmTimer (now + delay), then on TimerFired:
///                                                            │      StartExport(id, same items, attempt + 1,
///                                                            │                  same deadline)
///                                                            └──> ReportDropped RetriesExhausted | DeadlineExceeded
///
///   Phases:  Running ──Shutdown──> ShuttingDown ──everything exported or dropped──> Stopped
///                                       └──── deadline: the rest is dropped (DeadlineExceeded) ──┘
/// ```
///
/// Guarantees (each checked by a named FsCheck property in the tests): every offered item is exactly once
/// exported, dropped with a reason, in flight or queued, and the `ReportExported` and `ReportDropped` commands
/// count each item once, also when completions of abandoned batches arrive late; items are exported in offer order; no batch exceeds
/// MaxExportBatchSize; the queue never exceeds MaxQueueSize; exports start only for the reasons above and never
/// beyond the concurrency limit; a flush completes only once everything offered before it is exported or
/// dropped; shutdown refuses later items and completes by its deadline; failed exports are retried as
/// `Retry.decide` says, as the same batch (same id, same items) with the same deadline, or dropped.
module Otlp.Core.Batching

/// The processor's settings; the defaults are the specification's.
type Settings =
    {
        /// The most items waiting in the queue; more are dropped (QueueFull). Default 2048.
        MaxQueueSize: int
        /// The delay between two consecutive exports while items wait, in milliseconds: a partial batch is exported
        /// this long after the last export started, or, when the queue was empty longer than that, this long after
        /// it stopped being empty. Default 5000.
        ScheduledDelayMs: int64
        /// The most items in one export; at most MaxQueueSize. Default 512.
        MaxExportBatchSize: int
        /// How long one export may take, retries included, in milliseconds; `Deadline.none` for no limit. Default 30000.
        ExportTimeoutMs: int64
        /// The most batches in flight at once (a batch waiting to be retried counts), and so the most sent at once. Default 1.
        MaxConcurrentExports: int
        /// Whether one batch more may be started while no batch waits for a retry: the driver encodes it while the
        /// others are on the wire and sends it when one of them ends, so that encoding and sending overlap at
        /// saturation while no more than MaxConcurrentExports requests are ever sent at once. A server that asks to
        /// slow down (a retryable failure) gets at most the batch already prepared. Default false.
        EncodeAhead: bool
        /// How failed exports are retried.
        Retry: Retry.Policy
    }

    /// MaxQueueSize 2048, ScheduledDelayMs 5000, MaxExportBatchSize 512, ExportTimeoutMs 30000,
    /// MaxConcurrentExports 1, EncodeAhead false, Retry.Policy.Default.
    static member Default: Settings

/// How an export attempt ended, as the driver reports it.
[<RequireQualifiedAccess>]
type ExportOutcome =
    /// The server accepted every item.
    | Succeeded
    /// The request was accepted, but `rejected` of its items were refused by the server (OTLP partial success),
    /// `tooLarge` items were left out of it, each larger alone than one request may be, and `unreadable` items were
    /// left out because reading them threw (an application object that misbehaves). The driver finds the last two as
    /// it encodes, on every attempt: the machine counts them once, when the batch ends. Never retried.
    | PartiallySucceeded of rejected: int * tooLarge: int * unreadable: int
    /// A retryable failure (see `Retry.Classification.Retryable`), with the server's delay when it gave one.
    | RetryableFailure of serverDelayMs: int64 option
    /// A failure that is never retried.
    | PermanentFailure

/// The outcome of an export attempt whose result was classified by `Retry.classifyGrpc`,
/// `Retry.classifyHttp` or `Retry.connectionFailure`.
val outcomeOf: classification: Retry.Classification -> ExportOutcome

/// The outcome of an answer that accepted the request with a partial success rejecting `rejected` of the
/// `sent` items (OTLP "Partial Success"): `PartiallySucceeded` with the count brought into [0, `sent`] (none too large), or
/// `Succeeded` when that is 0 (a warning). A server's count outside that range cannot be true, and taken as it is
/// it would count negative items as exported or dropped; every consumer of a partial success uses this count.
val partialOutcome: rejected: int64 -> sent: int -> ExportOutcome

/// Why items were dropped.
[<RequireQualifiedAccess>]
type DropReason =
    /// Offered while the queue was full.
    | QueueFull
    /// Offered after shutdown was requested.
    | ShutDown
    /// Their export failed permanently.
    | PermanentFailure
    /// Their export failed on its last allowed attempt.
    | RetriesExhausted
    /// Their export could not be retried before its deadline, or shutdown's deadline passed first.
    | DeadlineExceeded
    /// The server rejected them in a partial success.
    | RejectedByServer
    /// Each was larger alone than one request may be (the exporter's request size limit): never sent.
    | TooLarge
    /// Reading each threw as it was encoded (an application object that misbehaves, such as a collection changed by
    /// another thread): left out, so that the rest of its batch is sent.
    | Unreadable

/// How a flush or shutdown waiter ends.
[<RequireQualifiedAccess>]
type WaiterResult =
    /// Everything offered before the request was exported or dropped.
    | Completed
    /// The request's deadline passed first.
    | TimedOut
    /// A flush or shutdown requested after the processor had already stopped (a flush then has nothing to flush
    /// into, as after shutdown a new item is refused).
    | AlreadyShutDown

/// What happened, as the driver reports it. Every event carries the current time.
type Event<'item> =
    /// One item was offered (OnEnd / OnEmit).
    | Offer of item: 'item * nowMs: int64
    /// Several items were offered at once, in order; treat the array as immutable.
    | OfferMany of items: 'item array * nowMs: int64
    /// The `count` items of `items` from `offset` were offered, in order. The machine reads only that range, and the
    /// driver must not change it afterwards; it may fill the slots after it and offer them later, as a slice that
    /// continues this one: the queue joins the two, so an array filled in several offers that makes a whole batch
    /// is exported as it is, without a copy. A range outside the array is an `ArgumentException`.
    | OfferSlice of items: 'item array * offset: int * count: int * nowMs: int64
    /// The timer armed by the last `ArmTimer` fired (a late or spurious firing is harmless).
    | TimerFired of nowMs: int64
    /// An export attempt started by `StartExport` ended; `random` is a uniform number in [0, 1) for the
    /// retry jitter. Completions of unknown batches (for example abandoned at a shutdown deadline) are ignored.
    | ExportCompleted of batchId: int64 * outcome: ExportOutcome * nowMs: int64 * random: float
    /// ForceFlush was called; the waiter completes once everything offered before it is exported or dropped,
    /// or with TimedOut at `deadlineMs`.
    | ForceFlush of waiterId: int64 * nowMs: int64 * deadlineMs: int64
    /// Shutdown was called: flush, then refuse new items; complete by `deadlineMs`, dropping what is left.
    | Shutdown of waiterId: int64 * nowMs: int64 * deadlineMs: int64

/// What the driver must do, in the order given.
type Command<'item> =
    /// Export these items (in this order) as batch `batchId`, attempt number `attempt` (1 for the first),
    /// giving up at `deadlineMs`; then report `ExportCompleted` with the same id, at the latest at the deadline.
    | StartExport of batchId: int64 * items: 'item array * attempt: int * deadlineMs: int64
    /// (Re)arm the single timer to fire at `atMs`, replacing any earlier arming.
    | ArmTimer of atMs: int64
    /// Complete the flush or shutdown waiter `waiterId`.
    | CompleteWaiter of waiterId: int64 * result: WaiterResult
    /// Count `count` items as dropped for `reason` (for the SDK's self-diagnostics).
    | ReportDropped of count: int * reason: DropReason
    /// Count `count` items as exported: the server accepted them in an attempt of a batch still in flight. The
    /// driver counts exports only from this command, never from an attempt's outcome: a completion the machine
    /// ignores (a batch abandoned at the shutdown deadline, already counted dropped) then counts nothing, and every
    /// offered item is counted exactly once, exported or dropped.
    | ReportExported of count: int

/// The machine's state: immutable; only `step` makes a new one.
[<Sealed>]
type State<'item>

/// The state of a new processor: empty, running, no timer armed.
val init: unit -> State<'item>

/// Applies one event: the new state and the commands to carry out. Settings out of range are brought into
/// range (sizes at least 1, the batch size at most the queue size, times at least 0); pass the same settings
/// on every call. Offers cost amortized O(1); starting an export costs O(batch size).
val step: settings: Settings -> state: State<'item> -> event: Event<'item> -> State<'item> * Command<'item> list

/// The number of items waiting in the queue.
val queuedCount: state: State<'item> -> int

/// The items waiting in the queue, oldest first (O(n), for diagnostics and tests).
val queuedItems: state: State<'item> -> 'item list

/// The number of batches in flight (running or waiting for a retry).
val inFlightCount: state: State<'item> -> int

/// The number of items in the batches in flight.
val inFlightItemCount: state: State<'item> -> int

/// The ids of the batches in flight, in the order they were first started.
val inFlightBatchIds: state: State<'item> -> int64 list

/// The total number of items the server acknowledged (a partial success counts the accepted ones).
val exportedCount: state: State<'item> -> int64

/// The total number of items dropped for `reason`.
val droppedCount: reason: DropReason -> state: State<'item> -> int64

/// True once shutdown was requested: later offers are dropped (ShutDown).
val isShuttingDown: state: State<'item> -> bool

/// True once shutdown has finished (completed or timed out): nothing is queued or in flight any more.
val isStopped: state: State<'item> -> bool

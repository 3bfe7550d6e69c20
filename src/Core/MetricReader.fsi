/// The schedule of the periodic exporting metric reader of the OpenTelemetry SDK specification
/// (metrics/sdk.md "Periodic exporting MetricReader"): collect and export every `ExportIntervalMs`, each
/// export bounded by `ExportTimeoutMs`, ForceFlush and Shutdown with deadlines. A pure state machine: the
/// driver feeds it events carrying the time (milliseconds on a monotonic timeline) and carries out its
/// commands; the collection itself (reading the instruments, encoding, sending) is the driver's.
///
/// ```
///   start(now) ──> Idle ──timer at start + k * interval──> Collecting(id) ──ExportCompleted(id)──> Idle
///                   │                                        │  a tick while collecting is skipped:
///                   │                                        │  collections never overlap
///                   │ ForceFlush: collect at once, or right after the running collection;
///                   │             the waiter completes when that collection's export completes
///                   │ Shutdown:   the same final collection, then Stopped (no more timers or collections);
///                   v             at its deadline the waiter gets TimedOut and the reader stops anyway
///                Stopped
/// ```
module Otlp.Core.MetricReader

/// The reader's settings; the defaults are the specification's.
type Settings =
    {
        /// The time between the starts of two periodic collections, in milliseconds (>= 1). Default 60000.
        ExportIntervalMs: int64
        /// How long one collect-and-export may take, in milliseconds (>= 0); `Deadline.none` for no limit. Default 30000.
        ExportTimeoutMs: int64
    }

    /// ExportIntervalMs 60000, ExportTimeoutMs 30000.
    static member Default: Settings

/// Why a collection was started.
[<RequireQualifiedAccess>]
type Trigger =
    /// The interval elapsed.
    | Interval
    /// ForceFlush asked for it.
    | Flush
    /// Shutdown asked for the final one.
    | Shutdown

/// How a flush or shutdown waiter ends.
[<RequireQualifiedAccess>]
type WaiterResult =
    /// The collection it asked for was collected and exported (successfully or not).
    | Completed
    /// The request's deadline passed first.
    | TimedOut
    /// The reader had already shut down, or stopped at a shutdown deadline before the flush's own deadline,
    /// so the collection it asked for will never run.
    | AlreadyShutDown

/// What happened, as the driver reports it. Every event carries the current time.
type Event =
    /// The timer armed by the last `ArmTimer` fired (a late or spurious firing is harmless).
    | TimerFired of nowMs: int64
    /// The collect-and-export `exportId` ended, successfully or not; unknown ids are ignored.
    | ExportCompleted of exportId: int64 * nowMs: int64
    /// ForceFlush was called.
    | ForceFlush of waiterId: int64 * nowMs: int64 * deadlineMs: int64
    /// Shutdown was called.
    | Shutdown of waiterId: int64 * nowMs: int64 * deadlineMs: int64

/// What the driver must do, in the order given.
type Command =
    /// Collect the metrics, then export them, giving up at `deadlineMs`; report `ExportCompleted` with the
    /// same id, at the latest at the deadline.
    | CollectAndExport of exportId: int64 * trigger: Trigger * deadlineMs: int64
    /// (Re)arm the single timer to fire at `atMs`, replacing any earlier arming.
    | ArmTimer of atMs: int64
    /// Complete the flush or shutdown waiter `waiterId`.
    | CompleteWaiter of waiterId: int64 * result: WaiterResult

/// A flush or shutdown request the reader has yet to answer (internal).
[<Struct>]
type internal Waiter =
    { Id: int64
      DeadlineMs: int64
      /// The id of the collection whose completion completes this waiter.
      Needs: int64
      IsShutdown: bool }

/// Whether the reader runs, shuts down or has stopped (internal).
type internal Phase =
    | Running
    | ShuttingDown
    | Stopped

/// The reader's state: an immutable struct, so a step allocates no state; only `start` and `step` make one
/// (its representation is internal).
[<Struct; NoEquality; NoComparison>]
type State =
    internal
        { StartMs: int64
          NextTickMs: int64
          Running: struct (int64 * Trigger) voption
          Pending: Trigger voption
          NextId: int64
          Waiters: Waiter list
          Phase: Phase
          ArmedMs: int64 voption }

/// A reader started at `nowMs`: its collections are due at `nowMs + k * ExportIntervalMs` (k >= 1), and
/// the first timer is armed.
val start: settings: Settings -> nowMs: int64 -> struct (State * Command list)

/// Applies one event: the new state and the commands to carry out. Pass the same settings on every call;
/// out-of-range values are brought into range.
val step: settings: Settings -> state: State -> event: Event -> struct (State * Command list)

/// The id of the collection running now, if any.
val running: state: State -> int64 option

/// When the next periodic collection is due, or None once shutdown was requested.
val nextCollectionMs: state: State -> int64 option

/// The number of collections started so far.
val collectionsStarted: state: State -> int64

/// True once shutdown has finished (completed or timed out).
val isStopped: state: State -> bool

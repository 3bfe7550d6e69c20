/// Deadlines as the state machines keep them: milliseconds on the caller's clock, where `Int64.MaxValue` means
/// none (a timeout configured as 0, "no limit").
module Otlp.Core.Deadline

/// No deadline.
val none: int64

/// The deadline `timeoutMs` after `nowMs`: `none` when the timeout is `none` or the sum would not fit, so that a
/// timeout without limit never wraps around into the past.
val after: nowMs: int64 -> timeoutMs: int64 -> int64

module Otlp.Core.Deadline

let none = System.Int64.MaxValue

let after (nowMs: int64) (timeoutMs: int64) =
    if timeoutMs >= none - max 0L nowMs then none else nowMs + timeoutMs

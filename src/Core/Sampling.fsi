namespace Otlp.Core

/// What a sampler knows of the parent of a span being started.
[<RequireQualifiedAccess>]
type ParentSampling =
    /// The span is a root: it has no (valid) parent context.
    | Root
    /// The parent context is valid; `sampled` is its W3C sampled flag, `remote` whether it came from another process.
    | Parent of sampled: bool * remote: bool

/// The sampling decisions of the SDK's built-in samplers (trace SDK spec, "Built-in samplers"), as pure functions.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Sampling =

    /// The randomness of a trace id: its rightmost 7 bytes (56 bits), which W3C Trace Context level 2 asks to be
    /// random and which the spec's probability sampling reads.
    [<CompiledName("Randomness")>]
    val randomness: traceId: TraceId -> uint64

    /// The rejection threshold of a ratio, out of 2^56: `round((1 - ratio) * 2^56)`. A trace is kept when its
    /// randomness is at least the threshold, so ratio 1 keeps all (threshold 0) and ratio 0 none (threshold
    /// 2^56). A NaN or negative ratio counts as 0, above 1 as 1.
    [<CompiledName("Threshold")>]
    val threshold: ratio: float -> uint64

    /// The TraceIdRatioBased decision: keep the trace when its randomness reaches the ratio's threshold. The same
    /// trace id always gets the same decision, and a smaller ratio keeps a subset of what a larger one keeps.
    [<CompiledName("TraceIdRatio")>]
    val traceIdRatio: ratio: float -> traceId: TraceId -> bool

    /// The decision of a configured sampler for a span of `traceId` with `parent`: true records and samples,
    /// false drops. The parent-based samplers follow a valid parent's sampled flag (local or remote alike, as
    /// with the spec's default delegates) and use their root sampler otherwise.
    [<CompiledName("ShouldSample")>]
    val shouldSample: sampler: SamplerConfig -> parent: ParentSampling -> traceId: TraceId -> bool

    /// `shouldSample` with the parent given as plain values, for the hot path of starting a span: `hasParent` is
    /// false for a root (then `parentSampled` is not read), otherwise `parentSampled` is the parent's sampled flag.
    /// Allocates nothing.
    [<CompiledName("Decide")>]
    val decide: sampler: SamplerConfig -> hasParent: bool -> parentSampled: bool -> traceId: TraceId -> bool

    /// True when `decide` reads the trace id for a span with or without a parent; when false any trace id (the
    /// empty one) gives the same decision, so a caller need not compute it.
    [<CompiledName("ReadsTraceId")>]
    val readsTraceId: sampler: SamplerConfig -> hasParent: bool -> bool

namespace Otlp.Core

[<RequireQualifiedAccess>]
type ParentSampling =
    | Root
    | Parent of sampled: bool * remote: bool

[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Sampling =

    [<Literal>]
    let private RandomMask = 0x00FF_FFFF_FFFF_FFFFUL

    // 2^56 as a float is exact, so `(1 - ratio) * 2^56` rounds only once.
    let private twoTo56 = 72057594037927936.0

    [<CompiledName("Randomness")>]
    let randomness (traceId: TraceId) = traceId.Low &&& RandomMask

    [<CompiledName("Threshold")>]
    let threshold (ratio: float) =
        if System.Double.IsNaN ratio || ratio <= 0.0 then 1UL <<< 56
        elif ratio >= 1.0 then 0UL
        else uint64 (System.Math.Round((1.0 - ratio) * twoTo56))

    [<CompiledName("TraceIdRatio")>]
    let traceIdRatio ratio traceId = randomness traceId >= threshold ratio

    let private root (sampler: SamplerConfig) traceId =
        match sampler.Kind with
        | SamplerKind.AlwaysOn
        | SamplerKind.ParentBasedAlwaysOn -> true
        | SamplerKind.AlwaysOff
        | SamplerKind.ParentBasedAlwaysOff -> false
        | SamplerKind.TraceIdRatio
        | SamplerKind.ParentBasedTraceIdRatio -> traceIdRatio sampler.Ratio traceId

    let private parentBased (sampler: SamplerConfig) =
        match sampler.Kind with
        | SamplerKind.ParentBasedAlwaysOn
        | SamplerKind.ParentBasedAlwaysOff
        | SamplerKind.ParentBasedTraceIdRatio -> true
        | SamplerKind.AlwaysOn
        | SamplerKind.AlwaysOff
        | SamplerKind.TraceIdRatio -> false

    [<CompiledName("Decide")>]
    let decide (sampler: SamplerConfig) hasParent parentSampled traceId =
        if hasParent && parentBased sampler then
            parentSampled
        else
            root sampler traceId

    [<CompiledName("ReadsTraceId")>]
    let readsTraceId (sampler: SamplerConfig) hasParent =
        not (hasParent && parentBased sampler)
        && (match sampler.Kind with
            | SamplerKind.TraceIdRatio
            | SamplerKind.ParentBasedTraceIdRatio -> true
            | SamplerKind.AlwaysOn
            | SamplerKind.AlwaysOff
            | SamplerKind.ParentBasedAlwaysOn
            | SamplerKind.ParentBasedAlwaysOff -> false)

    [<CompiledName("ShouldSample")>]
    let shouldSample (sampler: SamplerConfig) parent traceId =
        match parent with
        | ParentSampling.Parent(sampled, _) -> decide sampler true sampled traceId
        | ParentSampling.Root -> decide sampler false false traceId

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

    [<CompiledName("ShouldSample")>]
    let shouldSample (sampler: SamplerConfig) parent traceId =
        match sampler.Kind, parent with
        | (SamplerKind.ParentBasedAlwaysOn
          | SamplerKind.ParentBasedAlwaysOff
          | SamplerKind.ParentBasedTraceIdRatio),
          ParentSampling.Parent(sampled, _) -> sampled
        | _ -> root sampler traceId

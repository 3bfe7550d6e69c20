/// Helpers shared by the test modules: FsCheck settings, model comparison, and the golden vectors' location.
module Otlp.Core.Tests.Common

open System
open System.IO
open Expecto
open Otlp.Testing

/// FsCheck settings for the codec laws: the OTLP generators registered, `cases` runs per property.
let configWith (cases: int) =
    { FsCheckConfig.defaultConfig with
        maxTest = cases
        endSize = 60
        arbitrary = [ typeof<OtlpArbitraries> ] }

/// The default settings: a thousand cases per property.
let config = configWith 1000

/// Deep structural equality over the model, every double compared by its bits (the kit's `Equivalence`).
let sameValue (a: obj) (b: obj) : bool = Equivalence.same a b

/// Fails unless the two values are equal by `sameValue`, naming the first field where they differ.
let expectSame (actual: 'a) (expected: 'a) (message: string) =
    match Equivalence.firstDifference expected actual with
    | None -> ()
    | Some difference -> failtestf "%s\n%s" message difference

/// The checkout's root: the folder above the test program that holds `Otlp.sln`.
let checkoutRoot () =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then failwith "Otlp.sln not found above the test program"
        elif File.Exists(Path.Combine(dir.FullName, "Otlp.sln")) then dir.FullName
        else up dir.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// `../shared/vectors` beside the checkout (`checkoutRoot`). `OTLP_VECTORS` overrides it.
let vectorsDirectory =
    lazy
        (match Environment.GetEnvironmentVariable "OTLP_VECTORS" with
         | null
         | "" -> Path.GetFullPath(Path.Combine(checkoutRoot (), "..", "shared", "vectors"))
         | dir -> dir)

/// The full path of a file in the vectors folder.
let vector (name: string) = Path.Combine(vectorsDirectory.Value, name)

/// The request with `data` applied to every metric's data, all else kept.
let mapMetricData
    (data: Otlp.Core.MetricData -> Otlp.Core.MetricData)
    (request: Otlp.Core.ExportMetricsServiceRequest)
    : Otlp.Core.ExportMetricsServiceRequest =
    { request with
        ResourceMetrics =
            request.ResourceMetrics
            |> Array.map (fun rm ->
                { rm with
                    ScopeMetrics =
                        rm.ScopeMetrics
                        |> Array.map (fun sm -> { sm with Metrics = sm.Metrics |> Array.map (fun m -> { m with Data = data m.Data }) }) }) }

/// A metrics request made into what the protos call invalid but the wire still carries, and decoders meet from
/// other senders (the generators make only valid data): every other number point and exemplar without a value,
/// sums and histograms of unspecified temporality, and each point's first attribute key repeated.
let loosenMetrics (request: Otlp.Core.ExportMetricsServiceRequest) : Otlp.Core.ExportMetricsServiceRequest =
    let repeatFirstKey (attributes: Otlp.Core.KeyValue array) =
        if attributes.Length = 0 then attributes
        else Array.append attributes [| { attributes[0] with Value = Otlp.Core.AnyValue.String "again" } |]
    let exemplars (es: Otlp.Core.Exemplar array) =
        es |> Array.mapi (fun i e -> if i % 2 = 0 then { e with Value = Otlp.Core.NumberValue.NoValue } else e)
    let numbers (points: Otlp.Core.NumberDataPoint array) =
        points
        |> Array.mapi (fun i p ->
            { p with
                Value = (if i % 2 = 0 then Otlp.Core.NumberValue.NoValue else p.Value)
                Attributes = repeatFirstKey p.Attributes
                Exemplars = exemplars p.Exemplars })
    let data (d: Otlp.Core.MetricData) =
        match d with
        | Otlp.Core.MetricData.Gauge points -> Otlp.Core.MetricData.Gauge(numbers points)
        | Otlp.Core.MetricData.Sum s ->
            Otlp.Core.MetricData.Sum
                { s with DataPoints = numbers s.DataPoints; AggregationTemporality = Otlp.Core.AggregationTemporality.Unspecified }
        | Otlp.Core.MetricData.Histogram h ->
            Otlp.Core.MetricData.Histogram
                { h with
                    AggregationTemporality = Otlp.Core.AggregationTemporality.Unspecified
                    DataPoints = h.DataPoints |> Array.map (fun p -> { p with Attributes = repeatFirstKey p.Attributes }) }
        | other -> other
    mapMetricData data request

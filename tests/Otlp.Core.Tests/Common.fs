/// Helpers shared by the test modules: FsCheck settings, model comparison, and the golden vectors' location.
module Otlp.Core.Tests.Common

open System
open System.IO
open Expecto
open Microsoft.FSharp.Reflection
open Otlp.Testing

/// FsCheck settings for the codec laws: the OTLP generators registered, `cases` runs per property.
let configWith (cases: int) =
    { FsCheckConfig.defaultConfig with
        maxTest = cases
        endSize = 60
        arbitrary = [ typeof<OtlpArbitraries> ] }

/// The default settings: a thousand cases per property.
let config = configWith 1000

/// Deep structural equality over the model in which every double is compared by its bits, so NaN equals NaN
/// and 0.0 differs from -0.0. F#'s generated equality cannot be used for round-trip laws: inside arrays it
/// compares the doubles of nested records with `=`, for which NaN is unequal to itself.
let private recordReaders = Collections.Concurrent.ConcurrentDictionary<Type, obj -> objnull array>()
let private unionReaders = Collections.Concurrent.ConcurrentDictionary<Type, (obj -> int) * (int -> obj -> objnull array)>()

let private readRecord (t: Type) =
    recordReaders.GetOrAdd(t, Func<Type, obj -> objnull array>(fun t -> FSharpValue.PreComputeRecordReader(t, true)))

let private readUnion (t: Type) =
    unionReaders.GetOrAdd(
        t,
        Func<Type, (obj -> int) * (int -> obj -> objnull array)>(fun t ->
            let tagOf = FSharpValue.PreComputeUnionTagReader(t, true)
            let readers =
                FSharpType.GetUnionCases(t, true) |> Array.map (fun case -> FSharpValue.PreComputeUnionReader(case, true))
            tagOf, (fun tag value -> readers[tag] value))
    )

let rec sameValue (a: obj) (b: obj) : bool =
    match a, b with
    | null, null -> true
    | null, _
    | _, null -> false
    | _ when a.GetType() <> b.GetType() -> false
    | (:? float as x), (:? float as y) -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y
    | (:? string as x), (:? string as y) -> String.Equals(x, y, StringComparison.Ordinal)
    | (:? (byte array) as x), (:? (byte array) as y) -> x.AsSpan().SequenceEqual(y)
    | (:? (uint64 array) as x), (:? (uint64 array) as y) -> x.AsSpan().SequenceEqual(y)
    | (:? (float array) as x), (:? (float array) as y) ->
        x.Length = y.Length
        && Array.forall2 (fun (p: float) q -> BitConverter.DoubleToInt64Bits p = BitConverter.DoubleToInt64Bits q) x y
    | (:? Array as x), (:? Array as y) ->
        x.Length = y.Length
        && (let mutable same = true
            let mutable i = 0
            while same && i < x.Length do
                same <- sameValue (x.GetValue i) (y.GetValue i)
                i <- i + 1
            same)
    | _ ->
        let t = a.GetType()
        if t.IsPrimitive || t.IsEnum then
            a.Equals b
        elif FSharpType.IsRecord(t, true) then
            let read = readRecord t
            Array.forall2 sameValue (read a) (read b)
        elif FSharpType.IsUnion(t, true) then
            let tagOf, read = readUnion t
            let tag = tagOf a
            tag = tagOf b && Array.forall2 sameValue (read tag a) (read tag b)
        else
            a.Equals b

/// Fails unless the two values are equal by `sameValue`, showing where their printed forms first differ.
let expectSame (actual: 'a) (expected: 'a) (message: string) =
    if not (sameValue (box actual) (box expected)) then
        // Show where the printed forms first differ: whole documents are too long to read.
        let lines (value: 'a) = (sprintf "%A" value).Split('\n')
        let e, a = lines expected, lines actual
        let firstDiff =
            Seq.zip e a |> Seq.tryFindIndex (fun (x, y) -> x <> y) |> Option.defaultValue (min e.Length a.Length)
        let around (ls: string array) =
            ls[max 0 (firstDiff - 6) .. min (ls.Length - 1) (firstDiff + 3)]
            |> Array.map (fun l -> if l.Length > 200 then l.Substring(0, 200) + " ..." else l)
            |> String.concat "\n"
        failtestf "%s\nfirst difference at printed line %d\nexpected:\n%s\nactual:\n%s" message firstDiff (around e) (around a)

/// `../shared/vectors` beside the checkout: found by walking up from the test program to the folder that holds
/// `Otlp.sln`. `OTLP_VECTORS` overrides it.
let vectorsDirectory =
    lazy
        (match Environment.GetEnvironmentVariable "OTLP_VECTORS" with
         | null
         | "" ->
             let rec up (dir: DirectoryInfo) =
                 if isNull dir then
                     failwith "Otlp.sln not found above the test program"
                 elif File.Exists(Path.Combine(dir.FullName, "Otlp.sln")) then
                     Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "vectors"))
                 else
                     up dir.Parent
             up (DirectoryInfo AppContext.BaseDirectory)
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

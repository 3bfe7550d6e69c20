[<RequireQualifiedAccess>]
module Otlp.Core.MetricStreams

open System
open System.Collections.Generic

let isMonotonic (kind: Aggregation.InstrumentKind) =
    match kind with
    | Aggregation.InstrumentKind.Counter
    | Aggregation.InstrumentKind.ObservableCounter -> true
    | _ -> false

let private isGauge (kind: Aggregation.InstrumentKind) =
    match kind with
    | Aggregation.InstrumentKind.Gauge
    | Aggregation.InstrumentKind.ObservableGauge -> true
    | _ -> false

let private mixed () =
    invalidArg "points" "The points of one metric are all of one type."

let toMetric name description unit kind (temporality: AggregationTemporality) (points: Aggregation.Point array) =
    if points.Length = 0 then
        None
    else
        let data =
            match points[0] with
            | Aggregation.Point.Number _ ->
                let numbers = points |> Array.map (function Aggregation.Point.Number p -> p | _ -> mixed ())

                if isGauge kind then
                    MetricData.Gauge numbers
                else
                    MetricData.Sum
                        { DataPoints = numbers
                          AggregationTemporality = temporality
                          IsMonotonic = isMonotonic kind }
            | Aggregation.Point.Histogram _ ->
                MetricData.Histogram
                    { DataPoints = points |> Array.map (function Aggregation.Point.Histogram p -> p | _ -> mixed ())
                      AggregationTemporality = temporality }
            | Aggregation.Point.Exponential _ ->
                MetricData.ExponentialHistogram
                    { DataPoints = points |> Array.map (function Aggregation.Point.Exponential p -> p | _ -> mixed ())
                      AggregationTemporality = temporality }

        Some
            { Name = name
              Description = (if isNull description then "" else description)
              Unit = (if isNull unit then "" else unit)
              Data = data
              Metadata = [||] }

let scope (meterName: string) (meterVersion: string) (tags: KeyValue array) =
    { InstrumentationScope.Empty with
        Name = (if isNull meterName then "" else meterName)
        Version = (if isNull meterVersion then "" else meterVersion)
        Attributes = (if isNull tags then [||] else tags) }

let requestWithSchemaUrls (resource: Resource) (metrics: (InstrumentationScope * string * Metric) seq) =
    let order = List<InstrumentationScope * string>()
    let groups = Dictionary<InstrumentationScope * string, List<Metric>>(HashIdentity.Structural)

    for scope, schemaUrl, metric in metrics do
        let key = scope, schemaUrl

        match groups.TryGetValue key with
        | true, list -> list.Add metric
        | false, _ ->
            order.Add key
            groups[key] <- List [ metric ]

    let scopeMetrics =
        order
        |> Seq.map (fun (scope, schemaUrl) ->
            { Scope = scope
              Metrics = groups[(scope, schemaUrl)].ToArray()
              SchemaUrl = schemaUrl })
        |> Seq.toArray

    { ResourceMetrics =
        [| { Resource = resource
             ScopeMetrics = scopeMetrics
             SchemaUrl = "" } |] }

let request (resource: Resource) (metrics: (InstrumentationScope * Metric) seq) =
    requestWithSchemaUrls resource (metrics |> Seq.map (fun (scope, metric) -> scope, "", metric))

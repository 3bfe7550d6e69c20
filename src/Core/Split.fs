module Otlp.Core.Split

// Items are flattened with the index of their resource and scope, so any run of them can be rebuilt into a
// request that keeps the original grouping and order.

[<Struct>]
type private Located<'item> = { Resource: int; Scope: int; Item: 'item }

let private flatten (groups: ('scope * 'item array) array array) =
    [| for r in 0 .. groups.Length - 1 do
           for s in 0 .. groups[r].Length - 1 do
               for item in snd (groups[r][s]) do
                   { Resource = r; Scope = s; Item = item } |]

/// Rebuilds the runs of consecutive items sharing a resource and a scope.
let private regroup (items: Located<'item> array) =
    items
    |> Array.fold
        (fun (acc: (int * (int * 'item list) list) list) x ->
            match acc with
            | (r, (s, scopeItems) :: scopes) :: rest when r = x.Resource && s = x.Scope ->
                (r, (s, x.Item :: scopeItems) :: scopes) :: rest
            | (r, scopes) :: rest when r = x.Resource -> (r, (x.Scope, [ x.Item ]) :: scopes) :: rest
            | _ -> (x.Resource, [ x.Scope, [ x.Item ] ]) :: acc)
        []
    |> List.rev
    |> List.map (fun (r, scopes) -> r, scopes |> List.rev |> List.map (fun (s, items) -> s, items |> List.rev |> Array.ofList))

// An item that does not fit alone is divided in two when it can be (a metric, by its data points), else dropped.
let rec private halve (fits: Located<'item> array -> bool) (divide: 'item -> struct ('item * 'item) voption) (weight: 'item -> int) (items: Located<'item> array) =
    if items.Length = 0 || fits items then
        [ items ], 0
    elif items.Length = 1 then
        match divide items[0].Item with
        | ValueSome(struct (first, second)) -> halve fits divide weight [| { items[0] with Item = first }; { items[0] with Item = second } |]
        | ValueNone -> [], weight items[0].Item
    else
        let middle = items.Length / 2
        let left, droppedLeft = halve fits divide weight items[.. middle - 1]
        let right, droppedRight = halve fits divide weight items[middle..]
        left @ right, droppedLeft + droppedRight

let private split
    (fits: 'request -> bool)
    (request: 'request)
    (groupsOf: 'request -> ('scope * 'item array) array array)
    (build: (int * (int * 'item array) list) list -> 'request)
    (divide: 'item -> struct ('item * 'item) voption)
    (weight: 'item -> int)
    =
    if fits request then
        [ request ], 0
    else
        let items = flatten (groupsOf request)
        let rebuild part = build (regroup part)
        let parts, dropped = halve (rebuild >> fits) divide weight items
        parts |> List.filter (fun p -> p.Length > 0) |> List.map rebuild, dropped

let private indivisible _ = ValueNone

let traceRequest fits (request: ExportTraceServiceRequest) =
    let rs = request.ResourceSpans
    split
        fits
        request
        (fun r -> r.ResourceSpans |> Array.map (fun x -> x.ScopeSpans |> Array.map (fun s -> s.Scope, s.Spans)))
        (fun groups ->
            { ResourceSpans =
                [| for r, scopes in groups ->
                       { rs[r] with
                           ScopeSpans = [| for s, spans in scopes -> { rs[r].ScopeSpans[s] with Spans = spans } |] } |] })
        indivisible
        (fun _ -> 1)

let private pointCount (metric: Metric) =
    match metric.Data with
    | MetricData.NoData -> 0
    | MetricData.Gauge points -> points.Length
    | MetricData.Sum sum -> sum.DataPoints.Length
    | MetricData.Histogram h -> h.DataPoints.Length
    | MetricData.ExponentialHistogram h -> h.DataPoints.Length
    | MetricData.Summary points -> points.Length

/// A metric of two or more data points as two metrics with its first and second half of them (name, unit,
/// temporality and the rest kept), so that a metric too large for one request goes in several.
let private halvePoints (metric: Metric) =
    let halves (points: 'point array) (make: 'point array -> MetricData) =
        if points.Length < 2 then
            ValueNone
        else
            let middle = points.Length / 2
            ValueSome(struct ({ metric with Data = make points[.. middle - 1] }, { metric with Data = make points[middle..] }))

    match metric.Data with
    | MetricData.NoData -> ValueNone
    | MetricData.Gauge points -> halves points MetricData.Gauge
    | MetricData.Sum sum -> halves sum.DataPoints (fun points -> MetricData.Sum { sum with DataPoints = points })
    | MetricData.Histogram h -> halves h.DataPoints (fun points -> MetricData.Histogram { h with DataPoints = points })
    | MetricData.ExponentialHistogram h ->
        halves h.DataPoints (fun points -> MetricData.ExponentialHistogram { h with DataPoints = points })
    | MetricData.Summary points -> halves points MetricData.Summary

let metricsRequest fits (request: ExportMetricsServiceRequest) =
    let rm = request.ResourceMetrics
    split
        fits
        request
        (fun r -> r.ResourceMetrics |> Array.map (fun x -> x.ScopeMetrics |> Array.map (fun s -> s.Scope, s.Metrics)))
        (fun groups ->
            { ResourceMetrics =
                [| for r, scopes in groups ->
                       { rm[r] with
                           ScopeMetrics = [| for s, metrics in scopes -> { rm[r].ScopeMetrics[s] with Metrics = metrics } |] } |] })
        halvePoints
        pointCount

let logsRequest fits (request: ExportLogsServiceRequest) =
    let rl = request.ResourceLogs
    split
        fits
        request
        (fun r -> r.ResourceLogs |> Array.map (fun x -> x.ScopeLogs |> Array.map (fun s -> s.Scope, s.LogRecords)))
        (fun groups ->
            { ResourceLogs =
                [| for r, scopes in groups ->
                       { rl[r] with
                           ScopeLogs = [| for s, records in scopes -> { rl[r].ScopeLogs[s] with LogRecords = records } |] } |] })
        indivisible
        (fun _ -> 1)

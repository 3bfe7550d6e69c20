/// System.Diagnostics.Metrics to OTLP, end to end through the loopback receiver: every instrument type, both
/// temporalities, views, limits, ignored and duplicate instruments, the allocation-free hot path, flush and shutdown.
module Otlp.Tests.MetricsTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics.Metrics
open Expecto
open FsCheck
open FsCheck.FSharp
open Microsoft.Extensions.Configuration
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Otlp
open Otlp.Core
open Otlp.Metrics
open Otlp.Testing
open Otlp.Tests.Support

/// A network that accepts every request at once: for tests that only look at what is written, so that the
/// exporter's final export on disposal costs nothing (an unreachable endpoint would be retried until its deadline).
type private AcceptingHandler() =
    inherit System.Net.Http.HttpMessageHandler()

    override _.SendAsync(_: System.Net.Http.HttpRequestMessage, _: System.Threading.CancellationToken) =
        System.Threading.Tasks.Task.FromResult(new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.OK, Content = new System.Net.Http.ByteArrayContent([||])))

/// Answers 200 like `AcceptingHandler`, the first request only once `Gate` is opened.
type private GatedHandler() =
    inherit System.Net.Http.HttpMessageHandler()
    let mutable requests = 0
    member val Gate = System.Threading.Tasks.TaskCompletionSource(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously)

    override this.SendAsync(_: System.Net.Http.HttpRequestMessage, _: System.Threading.CancellationToken) =
        let answer () = new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.OK, Content = new System.Net.Http.ByteArrayContent([||]))
        if System.Threading.Interlocked.Increment(&requests) = 1 then
            task {
                do! this.Gate.Task
                return answer ()
            }
        else
            System.Threading.Tasks.Task.FromResult(answer ())

/// A metrics exporter over HTTP to `AcceptingHandler`.
let private acceptingExporter (configure: OtlpExporterBuilder<OtlpMetricExporter> -> OtlpExporterBuilder<OtlpMetricExporter>) =
    (OtlpExporter.ForMetrics().WithHttp().WithHttpClientFactory(fun () -> new System.Net.Http.HttpClient(new AcceptingHandler()))
     |> configure).Build()

/// A meter name no other test listens to.
let private uniqueName () = $"Test.Metrics.{Guid.NewGuid():N}"

let private tag (key: string) (value: obj) = KeyValuePair<string, obj>(key, value)

/// An exporter to the receiver and a listener of `meter` that only exports when flushed.
let private start (receiver: LoopbackReceiver) (meter: string) (configure: OtlpMetricsOptions -> unit) =
    let exporter =
        OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
    let options = OtlpMetricsOptions()
    options.Meters.Add meter
    options.ExportInterval <- Nullable(TimeSpan.FromMinutes 10.0)
    configure options
    exporter, OtlpMetrics.Start(exporter, options)

/// A receiver, an exporter to it and a listener of a meter of its own (see `start`), with that meter; disposing it
/// disposes them in the reverse order of their making.
type private Pipeline =
    { Receiver: LoopbackReceiver
      Exporter: OtlpMetricExporter
      Metrics: OtlpMetrics
      Meter: Meter }

    interface IAsyncDisposable with
        member this.DisposeAsync() =
            System.Threading.Tasks.ValueTask(
                task {
                    this.Meter.Dispose()
                    do! (this.Metrics :> IAsyncDisposable).DisposeAsync()
                    do! (this.Exporter :> IAsyncDisposable).DisposeAsync()
                    do! (this.Receiver :> IAsyncDisposable).DisposeAsync()
                })

/// A `Pipeline` on a new receiver and a meter with a name of its own, the listener configured by `configure`.
let private pipeline (configure: OtlpMetricsOptions -> unit) =
    task {
        let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
        let name = uniqueName ()
        let exporter, metrics = start receiver name configure
        return { Receiver = receiver; Exporter = exporter; Metrics = metrics; Meter = new Meter(name) }
    }

/// Flushes and returns the metrics that arrived with that flush.
let private flush (metrics: OtlpMetrics) (receiver: LoopbackReceiver) =
    task {
        let before = receiver.Metrics.Count
        let! (flushed: bool) = metrics.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
        Expect.isTrue flushed "flushed in time"
        return receiver.Metrics |> Seq.skip before |> Seq.toList
    }

let private named name (metrics: Metric list) =
    match metrics |> List.filter (fun m -> m.Name = name) with
    | [ m ] -> m
    | other -> failtestf "expected one metric %s, got %d: %A" name other.Length (metrics |> List.map _.Name)

let private sumOf (metric: Metric) =
    match metric.Data with
    | MetricData.Sum s -> s
    | other -> failtestf "%s is not a sum: %A" metric.Name other

let private gaugeOf (metric: Metric) =
    match metric.Data with
    | MetricData.Gauge g -> g
    | other -> failtestf "%s is not a gauge: %A" metric.Name other

let private histogramOf (metric: Metric) =
    match metric.Data with
    | MetricData.Histogram h -> h
    | other -> failtestf "%s is not a histogram: %A" metric.Name other

let private exponentialOf (metric: Metric) =
    match metric.Data with
    | MetricData.ExponentialHistogram h -> h
    | other -> failtestf "%s is not an exponential histogram: %A" metric.Name other

let private attribute key (attributes: KeyValue array) =
    attributes |> Array.tryFind (fun kv -> kv.Key = key) |> Option.map _.Value

let private pointWith key (value: AnyValue) (points: NumberDataPoint array) =
    points |> Array.find (fun p -> attribute key p.Attributes = Some value)

/// A started activity with W3C ids, recorded (sampled) unless `recorded` is false; current until disposed.
let private activityWith (recorded: bool) =
    let activity = new System.Diagnostics.Activity("work")
    activity.SetIdFormat(System.Diagnostics.ActivityIdFormat.W3C) |> ignore
    activity.ActivityTraceFlags <- if recorded then System.Diagnostics.ActivityTraceFlags.Recorded else System.Diagnostics.ActivityTraceFlags.None
    activity.Start()

let private sampledActivity () = activityWith true

let private spanOf (activity: System.Diagnostics.Activity) =
    Otlp.Tracing.ActivityConverter.ToTraceId activity.TraceId, Otlp.Tracing.ActivityConverter.ToSpanId activity.SpanId

/// A reservoir keeping the largest measurement offered since its last collection; every offer (its value as a double
/// and its histogram bucket) is remembered. Made by `In`, which adds it to a queue.
type private LargestKept() =
    inherit OtlpExemplarReservoir()
    let gate = obj ()
    let offers = ConcurrentQueue<float * int>()
    let mutable kept: (float * Exemplar) option = None

    static member In(made: ConcurrentQueue<LargestKept>) =
        let reservoir = LargestKept()
        made.Enqueue reservoir
        reservoir :> OtlpExemplarReservoir

    member _.Offers = offers

    override _.Offer(measurement: inref<OtlpExemplarMeasurement>) =
        offers.Enqueue((measurement.DoubleValue, measurement.HistogramBucket))
        let value = measurement.DoubleValue
        // Not `lock`: its closure could not hold the measurement, which lives on the stack.
        System.Threading.Monitor.Enter gate
        try
            match kept with
            | Some(largest, _) when largest >= value -> ()
            | _ -> kept <- Some(value, measurement.ToExemplar())
        finally
            System.Threading.Monitor.Exit gate

    override _.Collect() =
        lock gate (fun () ->
            let taken = kept |> Option.map snd |> Option.toArray
            kept <- None
            taken :> IReadOnlyList<Exemplar>)

/// A reservoir whose Offer and Collect throw as told.
type private Failing(offerThrows: bool, collectThrows: bool) =
    inherit OtlpExemplarReservoir()

    override _.Offer(measurement: inref<OtlpExemplarMeasurement>) =
        if offerThrows then invalidOp "offer refused"
        else ignore (measurement.ToExemplar())

    override _.Collect() =
        if collectThrows then invalidOp "collect refused" else null

/// A reservoir that returns 1500 exemplars at every collection (the last measurement offered, again and again).
type private Hoarding() =
    inherit OtlpExemplarReservoir()
    let mutable last: Exemplar option = None

    override _.Offer(measurement: inref<OtlpExemplarMeasurement>) = last <- Some(measurement.ToExemplar())

    override _.Collect() =
        match last with
        | Some e -> Array.replicate 1500 e :> IReadOnlyList<Exemplar>
        | None -> null

let private instruments =
    testList "instruments" [
        for json in [ false; true ] do
            testTask $"a meter's schema URL is its scope's schema_url, apart from a meter alike without one (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                let name = uniqueName ()
                let schema = "https://opentelemetry.io/schemas/1.26.0"
                use exporter =
                    OtlpExporter.ForMetrics().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
                options.Meters.Add name
                use metrics = OtlpMetrics.Start(exporter, options)
                let withSchema = new Meter(MeterOptions(name, Version = "1", TelemetrySchemaUrl = schema))
                use _withSchema = disposing withSchema
                let without = new Meter(name, "1")
                use _without = disposing without
                withSchema.CreateCounter<int64>("with").Add 1L
                without.CreateCounter<int64>("without").Add 1L
                let! (_: Metric list) = flush metrics receiver
                let scopes =
                    [ for r in receiver.Requests do
                          for rm in r.MetricsRequest.ResourceMetrics do
                              for sm in rm.ScopeMetrics -> sm.SchemaUrl, [ for m in sm.Metrics -> m.Name ] ]
                Expect.equal (List.sort scopes) [ "", [ "without" ]; schema, [ "with" ] ] "one scope each, with its meter's schema URL"
            }

        testTask "counters, up-down counters, histograms and gauges of every number type arrive with their values" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics = start receiver name ignore
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name, "2.0", [ tag "meter.tag" "m" ])
            use _meter = disposing meter
            meter.CreateCounter<int64>("c.long", "{item}", "Longs.").Add(5L, tag "k" "a")
            meter.CreateCounter<int>("c.int").Add(3)
            meter.CreateCounter<int16>("c.short").Add(2s)
            meter.CreateCounter<byte>("c.byte").Add(1uy)
            meter.CreateCounter<float>("c.double").Add(1.5)
            meter.CreateCounter<float32>("c.float").Add(0.5f)
            meter.CreateCounter<decimal>("c.decimal").Add(2.25m)
            let updown = meter.CreateUpDownCounter<int64>("updown")
            updown.Add(5L)
            updown.Add(-7L)
            let histogram = meter.CreateHistogram<float>("hist", "ms", "Latency.")
            for v in [ 1.0; 7.0; 20.0; 20000.0 ] do
                histogram.Record v
            let gauge = meter.CreateGauge<float>("gauge")
            gauge.Record(3.0)
            gauge.Record(4.5)
            let! arrived = flush metrics receiver
            let longSum = sumOf (named "c.long" arrived)
            Expect.isTrue longSum.IsMonotonic "a counter is monotonic"
            Expect.equal longSum.AggregationTemporality AggregationTemporality.Cumulative "cumulative by default"
            Expect.equal longSum.DataPoints[0].Value (NumberValue.AsInt 5L) "long"
            Expect.equal (attribute "k" longSum.DataPoints[0].Attributes) (Some(AnyValue.String "a")) "attribute"
            let m = named "c.long" arrived
            Expect.equal (m.Unit, m.Description) ("{item}", "Longs.") "unit and description"
            for metricName, value in [ "c.int", 3L; "c.short", 2L; "c.byte", 1L ] do
                Expect.equal (sumOf (named metricName arrived)).DataPoints[0].Value (NumberValue.AsInt value) metricName
            for metricName, value in [ "c.double", 1.5; "c.float", 0.5; "c.decimal", 2.25 ] do
                Expect.equal (sumOf (named metricName arrived)).DataPoints[0].Value (NumberValue.AsDouble value) metricName
            let updownSum = sumOf (named "updown" arrived)
            Expect.isFalse updownSum.IsMonotonic "an up-down counter is not monotonic"
            Expect.equal updownSum.DataPoints[0].Value (NumberValue.AsInt -2L) "goes down"
            let h = (histogramOf (named "hist" arrived)).DataPoints[0]
            Expect.equal (h.Count, h.Sum, h.Min, h.Max) (4UL, ValueSome 20028.0, ValueSome 1.0, ValueSome 20000.0) "count, sum, min, max"
            Expect.equal h.ExplicitBounds Aggregation.defaultBounds "default bounds"
            Expect.equal h.BucketCounts[1] 1UL "1 in (0, 5]"
            Expect.equal h.BucketCounts[2] 1UL "7 in (5, 10]"
            Expect.equal h.BucketCounts[3] 1UL "20 in (10, 25]"
            Expect.equal h.BucketCounts[15] 1UL "20000 above the last bound"
            Expect.equal (gaugeOf (named "gauge" arrived)).[0].Value (NumberValue.AsDouble 4.5) "the last value"
        }

        testTask "observable counters, up-down counters and gauges are observed at each collection" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let mutable total = 10L
            meter.CreateObservableCounter<int64>("o.counter", (fun () -> Measurement<int64>(total, tag "k" "v")), "{item}") |> ignore
            meter.CreateObservableUpDownCounter<float>("o.updown", fun () -> -2.5) |> ignore
            meter.CreateObservableGauge<float>("o.gauge", fun () -> [ Measurement<float>(21.5, tag "room" "a"); Measurement<float>(19.0, tag "room" "b") ] :> seq<_>) |> ignore
            let! first = flush metrics receiver
            let counter = sumOf (named "o.counter" first)
            Expect.isTrue counter.IsMonotonic "monotonic"
            Expect.equal counter.DataPoints[0].Value (NumberValue.AsInt 10L) "observed total"
            Expect.equal (sumOf (named "o.updown" first)).DataPoints[0].Value (NumberValue.AsDouble -2.5) "up-down"
            Expect.isFalse (sumOf (named "o.updown" first)).IsMonotonic "not monotonic"
            let rooms = gaugeOf (named "o.gauge" first)
            Expect.equal (pointWith "room" (AnyValue.String "a") rooms).Value (NumberValue.AsDouble 21.5) "room a"
            Expect.equal (pointWith "room" (AnyValue.String "b") rooms).Value (NumberValue.AsDouble 19.0) "room b"
            total <- 25L
            let! second = flush metrics receiver
            let again = (sumOf (named "o.counter" second)).DataPoints[0]
            Expect.equal again.Value (NumberValue.AsInt 25L) "cumulative: the new total"
            Expect.equal again.StartTimeUnixNano counter.DataPoints[0].StartTimeUnixNano "same start"
        }
    ]

let private temporality =
    testList "temporality" [
        testTask "cumulative: totals grow and keep the series' start time" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("requests")
            counter.Add 5L
            let! first = flush metrics receiver
            counter.Add 3L
            let! second = flush metrics receiver
            let! third = flush metrics receiver
            let p1, p2, p3 =
                (sumOf (named "requests" first)).DataPoints[0], (sumOf (named "requests" second)).DataPoints[0], (sumOf (named "requests" third)).DataPoints[0]
            Expect.equal (p1.Value, p2.Value, p3.Value) (NumberValue.AsInt 5L, NumberValue.AsInt 8L, NumberValue.AsInt 8L) "totals"
            Expect.equal (p2.StartTimeUnixNano, p3.StartTimeUnixNano) (p1.StartTimeUnixNano, p1.StartTimeUnixNano) "one start"
            Expect.isLessThan p1.StartTimeUnixNano p1.TimeUnixNano "start before time"
        }

        testTask "delta: each interval's measurements, starting at the previous collection; idle series are not sent" {
            let! (p: Pipeline) = pipeline (fun o -> o.TemporalityPreference <- TemporalityPreference.Delta)
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("requests")
            let histogram = meter.CreateHistogram<float>("latency")
            let updown = meter.CreateUpDownCounter<int64>("inflight")
            let mutable observed = 10L
            meter.CreateObservableCounter<int64>("cpu", fun () -> observed) |> ignore
            counter.Add 5L
            histogram.Record 3.0
            updown.Add 2L
            let! first = flush metrics receiver
            counter.Add 3L
            updown.Add 1L
            observed <- 25L
            let! second = flush metrics receiver
            let c1, c2 = sumOf (named "requests" first), sumOf (named "requests" second)
            Expect.equal c1.AggregationTemporality AggregationTemporality.Delta "delta"
            Expect.isTrue c1.IsMonotonic "still monotonic"
            Expect.equal (c1.DataPoints[0].Value, c2.DataPoints[0].Value) (NumberValue.AsInt 5L, NumberValue.AsInt 3L) "per interval"
            Expect.equal c2.DataPoints[0].StartTimeUnixNano c1.DataPoints[0].TimeUnixNano "starts where the last ended"
            Expect.equal (histogramOf (named "latency" first)).AggregationTemporality AggregationTemporality.Delta "histogram delta"
            Expect.isFalse (second |> List.exists (fun m -> m.Name = "latency")) "an idle delta series is not sent"
            let u2 = sumOf (named "inflight" second)
            Expect.equal (u2.AggregationTemporality, u2.DataPoints[0].Value) (AggregationTemporality.Cumulative, NumberValue.AsInt 3L) "up-down counters stay cumulative"
            let o1, o2 = sumOf (named "cpu" first), sumOf (named "cpu" second)
            Expect.equal (o1.AggregationTemporality, o1.DataPoints[0].Value, o2.DataPoints[0].Value) (AggregationTemporality.Delta, NumberValue.AsInt 10L, NumberValue.AsInt 15L) "observed totals become deltas"
        }
    ]

let private retirement =
    testList "delta series retirement" [
        testTask "a delta series idle for a whole interval is retired; its attributes later start a new series" {
            let! (p: Pipeline) = pipeline (fun o -> o.TemporalityPreference <- TemporalityPreference.Delta)
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("requests")
            let histogram = meter.CreateHistogram<float>("latency")
            counter.Add(1L, tag "route" "/a")
            histogram.Record(1.0, tag "route" "/a")
            let! first = flush metrics receiver
            Expect.equal metrics.SeriesCount 2 "two series reported"
            let! idle = flush metrics receiver
            Expect.isEmpty idle "nothing to report"
            Expect.equal metrics.SeriesCount 0 "both retired"
            counter.Add(2L, tag "route" "/a")
            let! third = flush metrics receiver
            let p1, p3 = (sumOf (named "requests" first)).DataPoints[0], (sumOf (named "requests" third)).DataPoints[0]
            Expect.equal p3.Value (NumberValue.AsInt 2L) "a new series with only the new measurement"
            Expect.isGreaterThan p3.StartTimeUnixNano p1.TimeUnixNano "starting at the previous collection"
            // The retired series are forgotten by the collection too: the new one is the only one held, and each
            // later interval reports it once.
            Expect.equal metrics.SeriesCount 1 "only the new series held"
            for value in [ 3L; 4L ] do
                counter.Add(value, tag "route" "/a")
                let! later = flush metrics receiver
                let points = (sumOf (named "requests" later)).DataPoints
                Expect.equal points.Length 1 "one point"
                Expect.equal points[0].Value (NumberValue.AsInt value) "the interval's measurement"
                Expect.equal metrics.SeriesCount 1 "still one series"
        }

        testTask "cumulative series are never retired" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            meter.CreateCounter<int64>("requests").Add(1L, tag "route" "/a")
            let! _ = flush metrics receiver
            let! again = flush metrics receiver
            Expect.equal (sumOf (named "requests" again)).DataPoints[0].Value (NumberValue.AsInt 1L) "reported again"
            Expect.equal metrics.SeriesCount 1 "kept"
        }

        testTask "writers racing with collections and retirements lose nothing" {
            let! (p: Pipeline) = pipeline (fun o -> o.TemporalityPreference <- TemporalityPreference.Delta)
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("c")
            let doubles = meter.CreateCounter<float>("d")
            let histogram = meter.CreateHistogram<float>("h")
            let tags = [| for i in 0..7 -> tag "shard" (box i) |]
            let threads = 4
            // The writers run until the collector has collected (and retired) several times while they wrote.
            let stop = ref 0
            let started = ref 0
            let written = Array.zeroCreate<int> threads
            let writers =
                [| for t in 0 .. threads - 1 ->
                       System.Threading.Tasks.Task.Run(fun () ->
                           let mutable i = 0
                           while System.Threading.Volatile.Read(&stop.contents) = 0 do
                               // Each phase of 5000 measurements uses two shards, so the others go idle and retire.
                               let shard = tags[((i / 5000) * 2 + (i + t) % 2) % tags.Length]
                               counter.Add(1L, shard)
                               doubles.Add(1.0, shard)
                               histogram.Record(1.0, shard)
                               i <- i + 1
                               if i = 1 then System.Threading.Interlocked.Increment(&started.contents) |> ignore
                           written[t] <- i) |]
            // A flush can be quicker than the start of a writer task: the collections begin once all write.
            while System.Threading.Volatile.Read(&started.contents) < threads do
                do! System.Threading.Tasks.Task.Delay 1
            let collected = List<Metric>()
            let mutable flushesWhileWriting = 0
            while flushesWhileWriting < 3 do
                let! arrived = flush metrics receiver
                collected.AddRange arrived
                flushesWhileWriting <- flushesWhileWriting + 1
            System.Threading.Volatile.Write(&stop.contents, 1)
            do! System.Threading.Tasks.Task.WhenAll writers
            let! last = flush metrics receiver
            collected.AddRange last
            let total metricName =
                collected
                |> Seq.filter (fun m -> m.Name = metricName)
                |> Seq.sumBy (fun m ->
                    match m.Data with
                    | MetricData.Sum s ->
                        s.DataPoints |> Array.sumBy (fun p -> match p.Value with NumberValue.AsInt l -> float l | NumberValue.AsDouble d -> d | _ -> 0.0)
                    | MetricData.Histogram h -> h.DataPoints |> Array.sumBy (fun p -> float p.Count)
                    | _ -> 0.0)
            let expected = float (Array.sum written)
            Expect.isGreaterThan expected 0.0 "the writers wrote"
            Expect.equal (total "c", total "d", total "h") (expected, expected, expected) "every measurement reported once"
        }
    ]

let private views =
    testList "views and limits" [
        testTask "a view renames and sets bounds, another drops, another keeps only some attribute keys" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics =
                start receiver name (fun o ->
                    o.Views.Add(OtlpView("latency", Name = "shop.latency", Description = "Renamed.", ExplicitBucketBoundaries = [| 1.0; 10.0 |]))
                    o.Views.Add(OtlpView("noise.*", Drop = true))
                    o.Views.Add(OtlpView("hits", AttributeKeys = [| "route" |])))
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            let latency = meter.CreateHistogram<float>("latency")
            latency.Record 5.0
            latency.Record 50.0
            let noise = meter.CreateCounter<int64>("noise.level")
            noise.Add 1L
            Expect.isFalse noise.Enabled "a dropped instrument is not even enabled"
            let hits = meter.CreateCounter<int64>("hits")
            hits.Add(1L, tag "route" "/a", tag "user" "1")
            hits.Add(1L, tag "user" "2", tag "route" "/a")
            let! arrived = flush metrics receiver
            let renamed = named "shop.latency" arrived
            Expect.equal renamed.Description "Renamed." "description"
            let point = (histogramOf renamed).DataPoints[0]
            Expect.equal (point.ExplicitBounds, point.BucketCounts) ([| 1.0; 10.0 |], [| 0UL; 1UL; 1UL |]) "bounds"
            Expect.isFalse (arrived |> List.exists (fun m -> m.Name.StartsWith "noise")) "dropped"
            let hitPoints = (sumOf (named "hits" arrived)).DataPoints
            Expect.equal hitPoints.Length 1 "one series once user is removed"
            Expect.equal (hitPoints[0].Attributes, hitPoints[0].Value) ([| KeyValue.string "route" "/a" |], NumberValue.AsInt 2L) "both measurements"
        }

        testTask "an exponential view (and the configured default) gives the core's exponential histogram" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics =
                start receiver name (fun o ->
                    o.Views.Add(OtlpView("small", ExponentialHistogramMaxSize = 8, ExponentialHistogramMaxScale = 20))
                    o.DefaultHistogramAggregation <- HistogramAggregation.Base2ExponentialBucketHistogram)
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            let small = meter.CreateHistogram<float>("small")
            let plain = meter.CreateHistogram<float>("plain")
            let values = [ 0.0; 1.0; 1.5; 2.0; 1e-3; 1e6; -4.0; -0.25; 3.0; 1e300; 7.0 ]
            for v in values do
                small.Record v
                plain.Record v
            let! arrived = flush metrics receiver
            let expected size scale =
                values
                |> List.fold (fun agg v -> Aggregation.record (Aggregation.Measurement.Double v) agg) (Aggregation.exponentialHistogram size scale)
                |> Aggregation.toPoint [||] 0UL 0UL
                |> function
                    | Aggregation.Point.Exponential p -> p
                    | other -> failtestf "%A" other
            for metricName, size in [ "small", 8; "plain", 160 ] do
                let actual = (exponentialOf (named metricName arrived)).DataPoints[0]
                let e = expected size 20
                Otlp.Core.Tests.Common.expectSame
                    { actual with StartTimeUnixNano = 0UL; TimeUnixNano = 0UL }
                    e
                    $"{metricName}: the recorder's buckets equal the core's"
        }

        testTask "past the cardinality limit new attribute sets go to the overflow series and nothing is lost" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics =
                start receiver name (fun o ->
                    o.Views.Add(OtlpView("limited", CardinalityLimit = 3))
                    o.CardinalityLimit <- 4)
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            let limited = meter.CreateCounter<int64>("limited")
            let other = meter.CreateCounter<int64>("other")
            for i in 1..6 do
                limited.Add(int64 i, tag "id" (box i))
                other.Add(1L, tag "id" (box i))
            let! arrived = flush metrics receiver
            let points = (sumOf (named "limited" arrived)).DataPoints
            Expect.equal points.Length 4 "limit series and the overflow series on top"
            let overflow = pointWith "otel.metric.overflow" (AnyValue.Bool true) points
            Expect.equal overflow.Value (NumberValue.AsInt(4L + 5L + 6L)) "the rest adds up in the overflow series"
            Expect.equal (sumOf (named "other" arrived)).DataPoints.Length 5 "the listener's limit elsewhere"
            Expect.exists metrics.Warnings (fun w -> w.Contains "cardinality limit") "a warning"
        }

        testTask "a cardinality limit of 1 keeps one attribute set and the overflow series" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics = start receiver name (fun o -> o.CardinalityLimit <- 1)
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64>("one")
            counter.Add(1L, tag "id" (box "a"))
            counter.Add(2L, tag "id" (box "b"))
            counter.Add(4L, tag "id" (box "a"))
            let! arrived = flush metrics receiver
            let points = (sumOf (named "one" arrived)).DataPoints
            Expect.equal points.Length 2 "the first set and the overflow series"
            Expect.equal (pointWith "id" (AnyValue.String "a") points).Value (NumberValue.AsInt 5L) "the first set"
            Expect.equal (pointWith "otel.metric.overflow" (AnyValue.Bool true) points).Value (NumberValue.AsInt 2L) "the second"
        }

        testTask "as many distinct attribute sets as the limit keep their own series, with no overflow" {
            let! (p: Pipeline) = pipeline (fun o ->
                o.Views.Add(OtlpView("exact*", CardinalityLimit = 3))
                o.Views.Add(OtlpView("observed.exact", CardinalityLimit = 3)))
            use _p = p
            let counter = p.Meter.CreateCounter<int64>("exact.counter")
            let gauge = p.Meter.CreateObservableGauge<int64>("observed.exact", fun () ->
                [ for i in 1..3 -> Measurement<int64>(int64 i, tag "id" (box i)) ] :> seq<_>)
            ignore gauge
            for i in 1..3 do
                counter.Add(int64 i, tag "id" (box i))
            let! arrived = flush p.Metrics p.Receiver
            let counted = (sumOf (named "exact.counter" arrived)).DataPoints
            let observed = gaugeOf (named "observed.exact" arrived)
            for points, what in [ counted, "counter"; observed, "observable gauge" ] do
                Expect.equal points.Length 3 $"{what}: one point per attribute set"
                Expect.isFalse
                    (points |> Array.exists (fun pt -> attribute "otel.metric.overflow" pt.Attributes |> Option.isSome))
                    $"{what}: no overflow at the limit"
            Expect.isFalse (p.Metrics.Warnings |> Seq.exists (fun w -> w.Contains "cardinality limit")) "no warning"
        }

        testTask "two views selecting one instrument without renaming make two streams, each counting a measurement once, with a warning" {
            let! (p: Pipeline) = pipeline (fun o ->
                o.Views.Add(OtlpView("hits", AttributeKeys = [| "a" |]))
                o.Views.Add(OtlpView("hit*", AttributeKeys = [| "b" |])))
            use _p = p
            p.Meter.CreateCounter<int64>("hits").Add(1L, tag "a" "x", tag "b" "y")
            let! arrived = flush p.Metrics p.Receiver
            let streams =
                arrived
                |> List.filter (fun m -> m.Name = "hits")
                |> List.map (fun m -> (sumOf m).DataPoints |> Array.map (fun pt -> pt.Attributes, pt.Value))
                |> List.sortBy (fun points -> points |> Array.map (fun (attributes, _) -> attributes |> Array.map _.Key))
            Expect.equal
                streams
                [ [| [| KeyValue.string "a" "x" |], NumberValue.AsInt 1L |]; [| [| KeyValue.string "b" "y" |], NumberValue.AsInt 1L |] ]
                "one stream per view (metrics SDK specification, \"Measurement processing\"), each with its own attribute keys"
            Expect.equal p.Metrics.StreamCount 2 "two streams"
            Expect.exists p.Metrics.Warnings (fun w -> w.Contains "Views make more than one stream" && w.Contains "'hits'") "the alike streams are warned of"
        }

        testTask "a bounds view and an attribute view of one histogram each count a measurement once, with their own configuration" {
            let! (p: Pipeline) = pipeline (fun o ->
                o.Views.Add(OtlpView("latency", ExplicitBucketBoundaries = [| 1.0; 10.0 |]))
                o.Views.Add(OtlpView("lat*", AttributeKeys = [||])))
            use _p = p
            p.Meter.CreateHistogram<float>("latency").Record(5.0, tag "route" "/a")
            let! arrived = flush p.Metrics p.Receiver
            let points =
                arrived
                |> List.filter (fun m -> m.Name = "latency")
                |> List.collect (fun m -> (histogramOf m).DataPoints |> Array.toList)
                |> List.sortBy (fun pt -> pt.ExplicitBounds.Length)
            match points with
            | [ bounded; unfiltered ] ->
                Expect.equal (bounded.ExplicitBounds, bounded.Count, bounded.Attributes) ([| 1.0; 10.0 |], 1UL, [| KeyValue.string "route" "/a" |]) "the bounds view"
                Expect.equal (unfiltered.ExplicitBounds, unfiltered.Count, unfiltered.Attributes) (Aggregation.defaultBounds, 1UL, [||]) "the attribute view"
            | other -> failtestf "expected two histogram points, got %A" other
        }

        testTask "identical instruments selected by two views feed the same two streams, in order" {
            let! (p: Pipeline) = pipeline (fun o ->
                o.Views.Add(OtlpView("hits", AttributeKeys = [| "a" |]))
                o.Views.Add(OtlpView("hit*", AttributeKeys = [| "b" |])))
            use _p = p
            let twin = new Meter(p.Meter.Name)
            use _twin = disposing twin
            p.Meter.CreateCounter<int64>("hits").Add(1L, tag "a" "x", tag "b" "y")
            twin.CreateCounter<int64>("hits").Add(2L, tag "a" "x", tag "b" "y")
            let! arrived = flush p.Metrics p.Receiver
            let values =
                arrived |> List.filter (fun m -> m.Name = "hits") |> List.map (fun m -> (sumOf m).DataPoints |> Array.map _.Value)
            Expect.equal values [ [| NumberValue.AsInt 3L |]; [| NumberValue.AsInt 3L |] ] "both instruments in each view's stream"
            Expect.equal p.Metrics.StreamCount 2 "the twin makes no stream of its own"
        }

        testTask "a view renaming an instrument onto another instrument's name is warned of; identical, their measurements add up" {
            let! (p: Pipeline) = pipeline (fun o -> o.Views.Add(OtlpView("old.hits", Name = "hits")))
            use _p = p
            p.Meter.CreateCounter<int64>("hits").Add 1L
            p.Meter.CreateCounter<int64>("old.hits").Add 2L
            let! arrived = flush p.Metrics p.Receiver
            Expect.equal (sumOf (named "hits" arrived)).DataPoints[0].Value (NumberValue.AsInt 3L) "one metric, as identical instruments"
            Expect.exists
                p.Metrics.Warnings
                (fun w -> w.Contains "'old.hits'" && w.Contains "a view gave one the other's name")
                "the renaming is warned of"
        }
    ]

let private registration =
    testList "registration and drops" [
        testTask "an instrument with an invalid name is ignored, counted and warned about" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, exporter, metrics, meter = p.Receiver, p.Exporter, p.Metrics, p.Meter
            let bad = meter.CreateCounter<int64>("bad name!")
            bad.Add 1L
            meter.CreateCounter<int64>("good").Add 1L
            let! arrived = flush metrics receiver
            Expect.equal (arrived |> List.map _.Name) [ "good" ] "only the valid one"
            Expect.isFalse bad.Enabled "not enabled"
            Expect.equal metrics.IgnoredInstruments 1L "counted"
            Expect.exists metrics.Warnings (fun w -> w.Contains "'bad name!'") "warned"
            Expect.isGreaterThan exporter.Statistics.Problems 0L "through the exporter's problem log"
        }

        testTask "identical instruments of two meters of one name feed one metric; conflicting ones are both kept" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics = start receiver name ignore
            use _exporter = exporter
            use _metrics = metrics
            let meter1 = new Meter(name)
            use _meter1 = disposing meter1
            let meter2 = new Meter(name)
            use _meter2 = disposing meter2
            meter1.CreateCounter<int64>("requests", "{request}").Add 2L
            meter2.CreateCounter<int64>("Requests", "{request}").Add 3L
            meter1.CreateCounter<int64>("size", "By").Add 1L
            meter2.CreateCounter<int64>("size", "KiBy").Add 1L
            let! arrived = flush metrics receiver
            let requests = arrived |> List.filter (fun m -> m.Name.Equals("requests", StringComparison.OrdinalIgnoreCase))
            Expect.equal requests.Length 1 "one metric"
            Expect.equal (sumOf requests[0]).DataPoints[0].Value (NumberValue.AsInt 5L) "aggregating both"
            Expect.equal (arrived |> List.filter (fun m -> m.Name = "size") |> List.map _.Unit |> List.sort) [ "By"; "KiBy" ] "both kept"
            Expect.exists metrics.Warnings (fun w -> w.Contains "Duplicate instrument registration") "warned"
        }

        testTask "observations that share a series add up: identical observable counters, and attribute sets a view makes equal" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics = start receiver name (fun o -> o.Views.Add(OtlpView("by.room", AttributeKeys = [| "room" |])))
            use _exporter = exporter
            use _metrics = metrics
            let meter1 = new Meter(name)
            use _meter1 = disposing meter1
            let meter2 = new Meter(name)
            use _meter2 = disposing meter2
            meter1.CreateObservableCounter<int64>("observed", fun () -> 2L) |> ignore
            meter2.CreateObservableCounter<int64>("observed", fun () -> 3L) |> ignore
            meter1.CreateObservableUpDownCounter<int64>(
                "by.room",
                fun () ->
                    [ Measurement<int64>(1L, tag "room" "a", tag "sensor" "1")
                      Measurement<int64>(4L, tag "room" "a", tag "sensor" "2")
                      Measurement<int64>(7L, tag "room" "b", tag "sensor" "1") ]
                    :> seq<_>)
            |> ignore
            let! arrived = flush metrics receiver
            Expect.equal (sumOf (named "observed" arrived)).DataPoints[0].Value (NumberValue.AsInt 5L) "both instruments' totals"
            let rooms = (sumOf (named "by.room" arrived)).DataPoints
            Expect.equal (pointWith "room" (AnyValue.String "a") rooms).Value (NumberValue.AsInt 5L) "room a's sensors add up"
            Expect.equal (pointWith "room" (AnyValue.String "b") rooms).Value (NumberValue.AsInt 7L) "room b"
        }

        testTask "NaN, infinities and negative counter values are dropped and counted, never thrown" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<float>("c")
            counter.Add nan
            counter.Add infinity
            counter.Add -1.0
            counter.Add 2.0
            let histogram = meter.CreateHistogram<float>("h")
            histogram.Record nan
            meter.CreateCounter<int64>("n").Add -5L
            let! arrived = flush metrics receiver
            Expect.equal (sumOf (named "c" arrived)).DataPoints[0].Value (NumberValue.AsDouble 2.0) "only the valid one"
            Expect.isFalse (arrived |> List.exists (fun m -> m.Name = "h" || m.Name = "n")) "no series for dropped measurements"
            Expect.equal metrics.DroppedMeasurements 5L "counted"
        }
    ]

/// Doubles of every magnitude and sign, zeros and subnormals included: what the accumulators must bucket as the core does.
let private anyValue =
    Gen.frequency [
        4, Gen.zip (Gen.choose (1, 999_999)) (Gen.choose (-300, 300)) |> Gen.map (fun (m, e) -> float m * Math.Pow(10.0, float e))
        3, Gen.choose (-1000, 1000) |> Gen.map float
        2, Gen.elements [ 0.0; -0.0; Double.Epsilon; 1e-310; Double.MaxValue; -Double.MaxValue; 1.0; 2.0; 0.5 ]
    ]

let private signedValue = Gen.zip anyValue (Gen.elements [ 1.0; -1.0 ]) |> Gen.map (fun (v, s) -> v * s)

let private coreFold (empty: Aggregation.Aggregation) (values: float list) =
    values |> List.fold (fun agg v -> Aggregation.record (Aggregation.Measurement.Double v) agg) empty

let private pointOf agg = Aggregation.toPoint [||] 0UL 0UL agg

let private accumulators =
    testList "accumulators" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "an exponential accumulator's snapshot equals folding record, however often it is reset"
        <| Prop.forAll
            (Arb.fromGen (Gen.zip3 (Gen.elements [ 4, 20; 8, 20; 160, 20; 20, 3; 5, -2 ]) (Gen.listOf signedValue) (Gen.listOf signedValue)))
            (fun ((size, scale), first, second) ->
                let series = ExponentialHistogramSeries(size, scale, [||], 0UL)
                for (intervalValues: float list) in [ first; second ] do
                    for v in intervalValues do
                        series.Record v |> ignore
                    let actual, expected =
                        pointOf (series.SnapshotAndReset()), pointOf (coreFold (Aggregation.exponentialHistogram size scale) intervalValues)
                    match actual, expected with
                    | Aggregation.Point.Exponential a, Aggregation.Point.Exponential e ->
                        let bits (v: float voption) = v |> ValueOption.map BitConverter.DoubleToInt64Bits
                        Expect.equal
                            (a.Scale, a.ZeroCount, a.Count, bits a.Sum, bits a.Min, bits a.Max)
                            (e.Scale, e.ZeroCount, e.Count, bits e.Sum, bits e.Min, bits e.Max)
                            $"scale, counts, sum, min, max of {intervalValues}"
                        Expect.equal (a.Positive.Offset, a.Positive.BucketCounts) (e.Positive.Offset, e.Positive.BucketCounts) "positive buckets"
                        Expect.equal (a.Negative.Offset, a.Negative.BucketCounts) (e.Negative.Offset, e.Negative.BucketCounts) "negative buckets"
                    | _ -> failtest "not exponential")

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "an explicit accumulator's snapshot equals folding record"
        <| Prop.forAll
            (Arb.fromGen (Gen.zip (Gen.elements [ Aggregation.defaultBounds; [| 0.0 |]; [||]; [| -1.0; 1e-3; 1e3 |] ]) (Gen.listOf signedValue)))
            (fun (bounds, values) ->
                let series = ExplicitHistogramSeries(bounds, [||], 0UL)
                for v in values do
                    series.Record v |> ignore
                Otlp.Core.Tests.Common.expectSame
                    (pointOf (series.SnapshotAndReset()))
                    (pointOf (coreFold (Aggregation.explicitHistogram bounds) values))
                    "same point")

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "sum and last-value accumulators equal folding record"
        <| Prop.forAll (Arb.fromGen (Gen.nonEmptyListOf (Gen.choose (-1000, 1000)))) (fun ints ->
            let longs = ints |> List.map int64
            // One of each retirable (writers counted) and not.
            let longSeries = LongSumSeries(false, [||], 0UL, true)
            let doubleSeries = DoubleSumSeries(false, [||], 0UL, false)
            let last = LastValueSeries([||], 0UL)
            for l in longs do
                longSeries.Record l |> ignore
                doubleSeries.Record(float l) |> ignore
                last.Record l |> ignore
            let measured = longs |> List.map Aggregation.Measurement.Long
            let fold empty = measured |> List.fold (fun agg m -> Aggregation.record m agg) empty
            Otlp.Core.Tests.Common.expectSame (pointOf (longSeries.SnapshotAndReset())) (pointOf (fold (Aggregation.longSum false))) "long sum"
            Otlp.Core.Tests.Common.expectSame (pointOf (doubleSeries.SnapshotAndReset())) (pointOf (fold (Aggregation.doubleSum false))) "double sum"
            Otlp.Core.Tests.Common.expectSame (pointOf (last.SnapshotAndReset())) (pointOf (fold Aggregation.lastValue)) "last value"
            Otlp.Core.Tests.Common.expectSame (pointOf (longSeries.SnapshotAndReset())) (pointOf (Aggregation.longSum false)) "reset")
    ]

/// The bytes this thread allocates while running `action` `times` times (outside any task state machine).
let private allocatedBy (times: int) (action: int -> unit) =
    let before = GC.GetAllocatedBytesForCurrentThread()
    for i in 0 .. times - 1 do
        action i
    GC.GetAllocatedBytesForCurrentThread() - before

/// A series' reported point over several collections equals the core's collection of the same snapshots.
let private reportsLikeTheCore (series: Series) (empty: Aggregation.Aggregation) (intervals: float list list) cumulative =
    let temporality = if cumulative then AggregationTemporality.Cumulative else AggregationTemporality.Delta
    let mutable state = Aggregation.newSeries empty 5UL
    intervals
    |> List.iteri (fun i values ->
        for v in values do
            series.Record v |> ignore
        let now = uint64 (10 * (i + 1))
        let previous = if i = 0 then 5UL else uint64 (10 * i)
        series.Take(cumulative, (if cumulative then 5UL else previous), now)
        let expected, next =
            Aggregation.collect temporality [||] (Aggregation.Input.Measured(coreFold empty values)) state now
        state <- next
        Otlp.Core.Tests.Common.expectSame (series.ToPoint()) expected $"collection {i + 1} of {intervals}")

let private reporting =
    testList "series reporting their own state" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 200 } "sums, last values and explicit histograms report what the core collects"
        <| Prop.forAll
            (Arb.fromGen (Gen.zip (Gen.listOfLength 3 (Gen.listOf signedValue)) (Gen.elements [ true; false ])))
            (fun (intervals, cumulative) ->
                let integral = intervals |> List.map (List.map (fun v -> Math.Round(Math.Clamp(v, -1e6, 1e6))))
                reportsLikeTheCore (LongSumSeries(false, [||], 5UL, not cumulative)) (Aggregation.longSum false) integral cumulative
                reportsLikeTheCore (DoubleSumSeries(false, [||], 5UL, not cumulative)) (Aggregation.doubleSum false) intervals cumulative
                reportsLikeTheCore (LastValueSeries([||], 5UL)) Aggregation.lastValue intervals cumulative
                let bounds = [| -1.0; 1e-3; 1e3 |]
                reportsLikeTheCore (ExplicitHistogramSeries(bounds, [||], 5UL)) (Aggregation.explicitHistogram bounds) intervals cumulative)
    ]

/// Records the same generated measurements on every kind of instrument, over three collections, and compares the
/// request written straight from the series with the model encoder's bytes of the same collection.
let private bothWays (preference: TemporalityPreference) (exemplars: bool) (intervals: (int * float) list list) =
    let name = uniqueName ()
    let exporter =
        acceptingExporter (fun b -> b.WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment []))
    use _exporter = { new IDisposable with member _.Dispose() = exporter.DisposeAsync().AsTask().Wait() }
    let options = OtlpMetricsOptions(TemporalityPreference = preference, ExportInterval = Nullable(TimeSpan.FromHours 1.0))
    options.Meters.Add(name + "*")
    options.Views.Add(OtlpView("exp*", ExponentialHistogramMaxSize = 8))
    if exemplars then
        // Every measurement offered, in a span; the doubles' series keep no attribute, so their exemplars keep it.
        options.ExemplarFilter <- ExemplarFilter.AlwaysOn
        options.Views.Add(OtlpView("doubles", AttributeKeys = [| "none" |]))
    use metrics = OtlpMetrics.Start(exporter, options)
    use _span = if exemplars then sampledActivity () :> IDisposable else { new IDisposable with member _.Dispose() = () }
    use meter = new Meter(name, "1.2")
    use other = new Meter(name + ".other")
    let longs = meter.CreateCounter<int64>("longs", "{item}", "Long counter.")
    let doubles = meter.CreateUpDownCounter<float>("doubles")
    let histogram = meter.CreateHistogram<float>("latency", "ms")
    let exponential = meter.CreateHistogram<float>("exp.latency")
    let gauge = other.CreateGauge<float>("level")
    let intGauge = other.CreateGauge<int64>("count")
    let mutable observed = 0L
    other.CreateObservableCounter<int64>("observed", fun () -> Measurement<int64>(observed, tag "k" (box "v"))) |> ignore
    let sameScope = new Meter(name, "1.2")
    let sameScopeCounter = sameScope.CreateCounter<int64>("again")
    [ for values in intervals do
        for (series, v) in values do
            let t = tag "series" (box (series % 4))
            longs.Add(int64 (abs v % 1e6), t)
            doubles.Add(v, t)
            histogram.Record(v, t)
            exponential.Record(v, t)
            gauge.Record(v, t)
            intGauge.Record(int64 (v % 1e6), t)
            sameScopeCounter.Add(1L, t)
            observed <- observed + int64 series
        let struct (direct, model) = metrics.CollectBothWays()
        yield direct, ProtoEncoder.metricsRequestToBytes model ]
    |> List.iteri (fun i (direct, expected) -> Expect.sequenceEqual direct expected $"collection {i + 1}: the same bytes both ways")
    sameScope.Dispose()

let private directEncoding =
    testList "direct encoding" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } "a collection written straight from the series equals the model encoder's bytes, cumulative"
        <| Prop.forAll
            (Arb.fromGen (Gen.listOfLength 3 (Gen.listOf (Gen.zip (Gen.choose (0, 9)) signedValue))))
            (fun intervals -> bothWays TemporalityPreference.Cumulative false intervals)

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 60 } "a collection written straight from the series equals the model encoder's bytes, delta"
        <| Prop.forAll
            (Arb.fromGen (Gen.listOfLength 3 (Gen.listOf (Gen.zip (Gen.choose (0, 9)) signedValue))))
            (fun intervals -> bothWays TemporalityPreference.Delta false intervals)

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "with exemplars (filtered attributes, span ids) too, both temporalities"
        <| Prop.forAll
            (Arb.fromGen (Gen.zip (Gen.listOfLength 3 (Gen.listOf (Gen.zip (Gen.choose (0, 9)) signedValue))) (Gen.elements [ TemporalityPreference.Cumulative; TemporalityPreference.Delta ])))
            (fun (intervals, preference) -> bothWays preference true intervals)

        test "collecting and writing 100 series allocates no more than 100 bytes per stream, whatever the series count" {
            let name = uniqueName ()
            let exporter =
                acceptingExporter (fun b -> b.WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment []))
            use _exporter = { new IDisposable with member _.Dispose() = exporter.DisposeAsync().AsTask().Wait() }
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromHours 1.0))
            options.Meters.Add name
            use metrics = OtlpMetrics.Start(exporter, options)
            use meter = new Meter(name)
            let counter = meter.CreateCounter<int64>("c")
            let histogram = meter.CreateHistogram<float>("h")
            let output = System.Buffers.ArrayBufferWriter<byte>(1 <<< 20)
            let collect (series: int) =
                for i in 0 .. series - 1 do
                    counter.Add(1L, tag "i" (box i))
                    histogram.Record(float i, tag "i" (box i))
                output.Clear()
                metrics.CollectInto output |> ignore
                // The fewest bytes any of ten collections allocated: what a collection allocates by itself shows in
                // every one of them, a one-off allocation of the runtime on this thread (a tier-up, a pool refill)
                // in one only, and made the average flaky.
                Seq.init 10 (fun _ ->
                    allocatedBy 1 (fun _ ->
                        output.Clear()
                        metrics.CollectInto output |> ignore))
                |> Seq.min
            let few, many = collect 50, collect 500
            Expect.isLessThanOrEqual few 200L "per collection of 2 streams"
            Expect.isLessThanOrEqual many few "nothing per series"
        }
    ]

let private exemplarTests =
    testList "exemplars" [
        testTask "trace based, the default: a measurement made in a sampled activity becomes an exemplar with its span" {
            let! (p: Pipeline) = pipeline ignore
            use _p = p
            Expect.equal p.Metrics.ExemplarFilter ExemplarFilter.TraceBased "the default filter"
            let counter = p.Meter.CreateCounter<int64>("c")
            counter.Add(1L, tag "k" "none")
            let before = uint64 (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) * 1_000_000UL
            let sampledSpan =
                use activity = sampledActivity ()
                counter.Add(5L, tag "k" "sampled")
                spanOf activity
            let after = uint64 (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1L) * 1_000_000UL
            do
                use _unsampled = activityWith false
                counter.Add(7L, tag "k" "unsampled")
            let! arrived = flush p.Metrics p.Receiver
            let points = (sumOf (named "c" arrived)).DataPoints
            Expect.isEmpty (pointWith "k" (AnyValue.String "none") points).Exemplars "no activity: none"
            Expect.isEmpty (pointWith "k" (AnyValue.String "unsampled") points).Exemplars "an unsampled activity: none"
            match (pointWith "k" (AnyValue.String "sampled") points).Exemplars with
            | [| (e: Exemplar) |] ->
                Expect.equal (e.Value, (e.TraceId, e.SpanId), e.FilteredAttributes) (NumberValue.AsInt 5L, sampledSpan, [||]) "value and span"
                Expect.isTrue (e.TimeUnixNano >= before && e.TimeUnixNano <= after) "the measurement's time"
            | other -> failtestf "expected one exemplar, got %A" other
        }

        testTask "always off: none, even in a sampled activity; always on: also without one, with no span" {
            let! (off: Pipeline) = pipeline (fun o -> o.ExemplarFilter <- ExemplarFilter.AlwaysOff)
            use _off = off
            let offCounter = off.Meter.CreateCounter<float>("c")
            do
                use _span = sampledActivity ()
                offCounter.Add 2.5
            let! offArrived = flush off.Metrics off.Receiver
            Expect.isEmpty (sumOf (named "c" offArrived)).DataPoints[0].Exemplars "off"
            let! (on: Pipeline) = pipeline (fun o -> o.ExemplarFilter <- ExemplarFilter.AlwaysOn)
            use _on = on
            let gauge = on.Meter.CreateGauge<float>("g")
            gauge.Record 2.5
            let! onArrived = flush on.Metrics on.Receiver
            match (gaugeOf (named "g" onArrived)).[0].Exemplars with
            | [| (e: Exemplar) |] -> Expect.equal (e.Value, e.TraceId, e.SpanId) (NumberValue.AsDouble 2.5, TraceId.Empty, SpanId.Empty) "no span"
            | other -> failtestf "expected one exemplar, got %A" other
        }

        testTask "a histogram keeps at most one exemplar per bucket, each a measurement of that bucket" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("h", ExplicitBucketBoundaries = [| 10.0; 100.0 |])))
            use _p = p
            let histogram = p.Meter.CreateHistogram<float>("h")
            let recorded = [ 1.0; 2.0; 3.0; 50.0; 500.0; 600.0; 700.0 ]
            for v in recorded do histogram.Record v
            let! arrived = flush p.Metrics p.Receiver
            let exemplars = (histogramOf (named "h" arrived)).DataPoints[0].Exemplars
            let values = exemplars |> Array.map (fun e -> match e.Value with NumberValue.AsDouble d -> d | other -> failtestf "%A" other)
            Expect.equal values.Length 3 "one per bucket measured"
            Expect.equal (values |> Array.map (Aggregation.explicitBucketIndex [| 10.0; 100.0 |])) [| 0; 1; 2 |] "in bucket order, one each"
            Expect.all values (fun v -> List.contains v recorded) "each a recorded value"
        }

        testTask "an exponential histogram keeps min(20, max size) exemplars of many measurements" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("e", ExponentialHistogramMaxSize = 8)))
            use _p = p
            let histogram = p.Meter.CreateHistogram<float>("e")
            for i in 1..100 do histogram.Record(float i)
            let! arrived = flush p.Metrics p.Receiver
            let exemplars = (exponentialOf (named "e" arrived)).DataPoints[0].Exemplars
            Expect.equal exemplars.Length 8 "the reservoir's size"
            Expect.equal (exemplars |> Array.distinct).Length 8 "distinct measurements"
        }

        testTask "a view sets how many exemplars its series keep: 3 of many measurements, or none" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("three", ExemplarReservoirSize = 3))
                    o.Views.Add(OtlpView("none", ExemplarReservoirSize = 0))
                    o.Views.Add(OtlpView("bad", ExemplarReservoirSize = -1)))
            use _p = p
            let three = p.Meter.CreateCounter<int64>("three")
            let none = p.Meter.CreateHistogram<float>("none")
            let bad = p.Meter.CreateCounter<int64>("bad")
            for i in 1..50 do
                three.Add(int64 i)
                none.Record(float i)
                bad.Add(int64 i)
            let! arrived = flush p.Metrics p.Receiver
            let threeExemplars = (sumOf (named "three" arrived)).DataPoints[0].Exemplars
            Expect.equal threeExemplars.Length 3 "three"
            Expect.equal (threeExemplars |> Array.distinct).Length 3 "three different measurements"
            Expect.isEmpty (histogramOf (named "none" arrived)).DataPoints[0].Exemplars "none"
            Expect.equal (sumOf (named "bad" arrived)).DataPoints[0].Exemplars.Length 1 "an invalid size: the view is ignored, the default kept"
            Expect.exists p.Metrics.Warnings (fun w -> w.Contains "exemplars per series") "the invalid view is reported"
        }

        testTask "a view's own exemplar reservoir is offered what the filter lets through, and its exemplars are sent" {
            let reservoirs = ConcurrentQueue<LargestKept>()
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.Views.Add(OtlpView("hits", AttributeKeys = [| "route" |], ExemplarReservoirFactory = (fun () -> LargestKept.In reservoirs)))
                    o.Views.Add(OtlpView("latency", ExplicitBucketBoundaries = [| 10.0; 100.0 |], ExemplarReservoirFactory = (fun () -> LargestKept.In reservoirs))))
            use _p = p
            let hits = p.Meter.CreateCounter<int64>("hits")
            let latency = p.Meter.CreateHistogram<float>("latency")
            // The default filter is trace based: only the measurements made in a sampled span are offered.
            for i in 1L .. 10L do hits.Add(i * 100L, tag "route" "/a", tag "user" "outside")
            let activity = sampledActivity ()
            for i in 1L .. 5L do hits.Add(i, tag "route" "/a", tag "user" $"u{i}")
            latency.Record(50.0, tag "route" "/a")
            latency.Record(7.0, tag "route" "/a")
            activity.Stop()
            let! first = flush p.Metrics p.Receiver
            let point = (sumOf (named "hits" first)).DataPoints[0]
            Expect.equal point.Value (NumberValue.AsInt(5500L + 15L)) "every measurement recorded"
            match point.Exemplars with
            | [| e |] ->
                Expect.equal e.Value (NumberValue.AsInt 5L) "the largest of those offered"
                Expect.equal e.FilteredAttributes [| KeyValue.string "user" "u5" |] "the tags its series drops"
                Expect.equal (e.TraceId, e.SpanId) (spanOf activity) "the span it was made in"
            | other -> failtestf "expected the reservoir's one exemplar, got %A" other
            let histogramPoint = (histogramOf (named "latency" first)).DataPoints[0]
            Expect.equal (histogramPoint.Exemplars |> Array.map _.Value) [| NumberValue.AsDouble 50.0 |] "the histogram's reservoir"
            let offers = reservoirs |> Seq.collect _.Offers |> Seq.toList |> List.sortBy fst
            Expect.equal offers [ (1.0, -1); (2.0, -1); (3.0, -1); (4.0, -1); (5.0, -1); (7.0, 0); (50.0, 1) ] "offered in spans only, with the bucket of a histogram's value"
            Expect.equal reservoirs.Count 2 "one reservoir per series"
            let! second = flush p.Metrics p.Receiver
            Expect.isEmpty (sumOf (named "hits" second)).DataPoints[0].Exemplars "collected afresh: nothing new"
            Expect.equal p.Metrics.ExemplarReservoirFailures 0L "no failures"
        }

        testTask "a reservoir or factory that throws or makes nothing loses only exemplars: counted, warned once, never thrown" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("offer", ExemplarReservoirFactory = (fun () -> Failing(true, false) :> OtlpExemplarReservoir)))
                    o.Views.Add(OtlpView("collect", ExemplarReservoirFactory = (fun () -> Failing(false, true) :> OtlpExemplarReservoir)))
                    o.Views.Add(OtlpView("factory", ExemplarReservoirFactory = (fun () -> failwith "no reservoir today")))
                    o.Views.Add(OtlpView("null", ExemplarReservoirFactory = (fun () -> null)))
                    o.Views.Add(OtlpView("both", ExemplarReservoirSize = 2, ExemplarReservoirFactory = (fun () -> Failing(true, true) :> OtlpExemplarReservoir))))
            use _p = p
            let counters = [ for name in [ "offer"; "collect"; "factory"; "null"; "both" ] -> name, p.Meter.CreateCounter<int64>(name) ]
            for _, counter in counters do
                for _ in 1..3 do counter.Add 2L
            let! arrived = flush p.Metrics p.Receiver
            for name, _ in counters do
                Expect.equal (sumOf (named name arrived)).DataPoints[0].Value (NumberValue.AsInt 6L) $"{name}: every measurement recorded"
            for name in [ "offer"; "collect"; "factory"; "null" ] do
                Expect.isEmpty (sumOf (named name arrived)).DataPoints[0].Exemplars $"{name}: no exemplars"
            Expect.equal (sumOf (named "both" arrived)).DataPoints[0].Exemplars.Length 1 "both set: the view is ignored, the default reservoir kept"
            // 3 offers that threw, 1 collection that threw, 1 factory that threw, 1 that made nothing.
            Expect.equal p.Metrics.ExemplarReservoirFailures 6L "each failure counted"
            for name in [ "offer"; "collect"; "factory"; "null" ] do
                let warned = p.Metrics.Warnings |> Seq.filter (fun w -> w.Contains $"'{name}'" && w.Contains "exemplar reservoir failed") |> Seq.length
                Expect.equal warned 1 $"{name}: warned once"
            Expect.exists p.Metrics.Warnings (fun w -> w.Contains "both an exemplar reservoir size and its own reservoir") "the view setting both is reported"
        }

        testTask "a reservoir returning more than 1000 exemplars for a point has the first 1000 sent, with a warning" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("hoarded", ExemplarReservoirFactory = (fun () -> Hoarding() :> OtlpExemplarReservoir))))
            use _p = p
            p.Meter.CreateCounter<int64>("hoarded").Add 4L
            let! arrived = flush p.Metrics p.Receiver
            let point = (sumOf (named "hoarded" arrived)).DataPoints[0]
            Expect.equal point.Exemplars.Length 1000 "the first 1000"
            Expect.equal point.Value (NumberValue.AsInt 4L) "the measurement"
            Expect.exists p.Metrics.Warnings (fun w -> w.Contains "'hoarded'" && w.Contains "returned 1500 exemplars") "warned"
            Expect.equal p.Metrics.ExemplarReservoirFailures 0L "not a failure"
        }

        testTask "an exemplar keeps the attributes its series drops; a collection's exemplars are not sent again" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("hits", AttributeKeys = [| "route" |])))
            use _p = p
            let hits = p.Meter.CreateCounter<int64>("hits")
            hits.Add(1L, tag "route" "/a", tag "user" "7")
            let! first = flush p.Metrics p.Receiver
            let point = (sumOf (named "hits" first)).DataPoints[0]
            Expect.equal point.Attributes [| KeyValue.string "route" "/a" |] "the series keeps the route"
            Expect.equal (point.Exemplars |> Array.map _.FilteredAttributes) [| [| KeyValue.string "user" "7" |] |] "the exemplar keeps the user"
            let! second = flush p.Metrics p.Receiver
            let again = (sumOf (named "hits" second)).DataPoints[0]
            Expect.equal (again.Value, again.Exemplars) (NumberValue.AsInt 1L, [||]) "the cumulative point again, without exemplars"
        }

        testTask "OTEL_METRICS_EXEMPLAR_FILTER is read from the exporter's environment; an unknown value is warned about" {
            let listenerWith (value: string) =
                let exporter = acceptingExporter (fun b -> b.WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment [ "OTEL_METRICS_EXEMPLAR_FILTER", value ]))
                let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromHours 1.0))
                options.Meters.Add(uniqueName ())
                exporter, OtlpMetrics.Start(exporter, options)
            let offExporter, off = listenerWith "always_off"
            use _offExporter = offExporter
            use _off = off
            Expect.equal off.ExemplarFilter ExemplarFilter.AlwaysOff "from the variable"
            let badExporter, bad = listenerWith "often"
            use _badExporter = badExporter
            use _bad = bad
            Expect.equal bad.ExemplarFilter ExemplarFilter.TraceBased "the default"
            Expect.exists bad.Warnings (fun w -> w.Contains "OTEL_METRICS_EXEMPLAR_FILTER") "warned"
        }

        testTask "writers in sampled spans racing with collections: each point's exemplars are recorded values, within the reservoir" {
            let! (p: Pipeline) =
                pipeline (fun o ->
                    o.TemporalityPreference <- TemporalityPreference.Delta
                    o.Views.Add(OtlpView("h", ExplicitBucketBoundaries = [| 100.0; 1000.0 |])))
            use _p = p
            let counter = p.Meter.CreateCounter<int64>("c")
            let histogram = p.Meter.CreateHistogram<float>("h")
            let threads = 4
            let stop = ref 0
            let started = ref 0
            // Threads of their own: busy writers on pool threads would starve the flushes' exports of one.
            let writers =
                [| for t in 0 .. threads - 1 ->
                       System.Threading.Tasks.Task.Factory.StartNew((fun () ->
                           let mutable i = 0
                           while System.Threading.Volatile.Read(&stop.contents) = 0 do
                               use _span = sampledActivity ()
                               // Values 1 to 2000, one thread's apart from another's: a value names its writer.
                               let value = 1 + (i % 500) * threads + t
                               counter.Add(int64 value, tag "k" "v")
                               histogram.Record(float value, tag "k" "v")
                               i <- i + 1
                               if i = 1 then System.Threading.Interlocked.Increment(&started.contents) |> ignore), System.Threading.Tasks.TaskCreationOptions.LongRunning) |]
            while System.Threading.Volatile.Read(&started.contents) < threads do
                do! System.Threading.Tasks.Task.Delay 1
            let collected = List<Metric>()
            for _ in 1..3 do
                let! arrived = flush p.Metrics p.Receiver
                collected.AddRange arrived
            System.Threading.Volatile.Write(&stop.contents, 1)
            do! System.Threading.Tasks.Task.WhenAll writers
            let exemplars =
                [ for m in collected do
                    match m.Data with
                    | MetricData.Sum s -> for point in s.DataPoints -> m.Name, 1, point.Exemplars
                    | MetricData.Histogram h -> for point in h.DataPoints -> m.Name, 3, point.Exemplars
                    | _ -> () ]
            Expect.isNonEmpty exemplars "points were collected while writing"
            Expect.exists exemplars (fun (_, _, points) -> points.Length > 0) "exemplars were sampled while writing"
            for name, slots, points in exemplars do
                Expect.isLessThanOrEqual points.Length slots $"{name}: within the reservoir"
                for e in points do
                    let value = match e.Value with NumberValue.AsInt n -> float n | NumberValue.AsDouble d -> d | NumberValue.NoValue -> nan
                    Expect.isTrue (value >= 1.0 && value <= 2000.0 && value = floor value) $"{name}: {value} was recorded"
                    Expect.isFalse e.SpanId.IsEmpty $"{name}: made in a span"
        }

        testTask "recording with exemplars off, or with no sampled span under trace based, allocates nothing" {
            for filter in [ ExemplarFilter.AlwaysOff; ExemplarFilter.TraceBased ] do
                let! (p: Pipeline) = pipeline (fun o -> o.ExemplarFilter <- filter)
                use _p = p
                let counter = p.Meter.CreateCounter<int64>("c")
                let histogram = p.Meter.CreateHistogram<float>("h")
                counter.Add(1L, tag "k" "v")
                histogram.Record(1.0, tag "k" "v")
                let allocated =
                    allocatedBy 1000 (fun i ->
                        counter.Add(int64 i, tag "k" "v")
                        histogram.Record(float i, tag "k" "v"))
                Expect.equal allocated 0L $"{filter}"
        }
    ]

let private hotPath =
    testList "hot path" [
        testTask "recording to existing series allocates nothing" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let exporter, metrics =
                start receiver name (fun o -> o.Views.Add(OtlpView("exp", ExponentialHistogramMaxSize = 160)))
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64>("hits")
            let doubles = meter.CreateCounter<float>("amount")
            let histogram = meter.CreateHistogram<float>("latency")
            let exponential = meter.CreateHistogram<float>("exp")
            let gauge = meter.CreateGauge<int>("level")
            let one = tag "route" (box "/orders")
            let three = [| tag "route" (box "/orders"); tag "method" (box "GET"); tag "status" (box 200) |]
            let reversed = Array.rev three
            let measurements: (string * (int -> unit)) list =
                [ "counter, one tag", (fun _ -> counter.Add(1L, one))
                  "counter, three tags", (fun _ -> counter.Add(1L, ReadOnlySpan three))
                  "counter, three tags in another order", (fun _ -> counter.Add(1L, ReadOnlySpan reversed))
                  "double counter", (fun _ -> doubles.Add(0.5, one))
                  "explicit histogram", (fun i -> histogram.Record(float (i % 300), one))
                  "exponential histogram", (fun i -> exponential.Record(1.0 + float (i % 100), ReadOnlySpan three))
                  "gauge", (fun i -> gauge.Record(i, one)) ]
            let windows = 5
            for what, record in measurements do
                // The first measurements create the series (and set the exponential range); the rest must not allocate.
                // The fewest bytes of five windows: an allocation per measurement shows in every one, while the
                // runtime now and then allocates on the thread on its own account (seen once in CI: 4 KB in 10,000).
                allocatedBy 1_000 record |> ignore
                let fewest = [ for _ in 1..windows -> allocatedBy 10_000 record ] |> List.min
                Expect.equal fewest 0L $"{what}: no allocation per measurement"
            let! arrived = flush metrics receiver
            Expect.equal (pointWith "method" (AnyValue.String "GET") (sumOf (named "hits" arrived)).DataPoints).Value (NumberValue.AsInt(int64 (2 * (1_000 + windows * 10_000)))) "tags in any order find one series"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300 } "a measurement's tags, in any order and as fresh strings, hash and compare equal to their series key"
        <| fun (pairs: (byte * byte * bool) list) (seed: int) ->
            // Keys from a small pool; values strings (as new instances each time, so identity caches cannot
            // decide), ints or null; duplicates and any order.
            let keys = [| "route"; "method"; "cloud.region"; "é" |]
            let fresh (text: string) = String(text.ToCharArray())
            let tagsOf () =
                pairs
                |> List.map (fun (k, v, isText) ->
                    KeyValuePair<string, obj>(fresh keys[int k % keys.Length], (if v = 0uy then null elif isText then box (fresh $"v{v % 7uy}") else box (int v % 7))))
                |> Array.ofList
            let comparer = SeriesKeyComparer(null)
            let tags = tagsOf ()
            let key = comparer.Create(ReadOnlySpan tags)
            // A repeated key keeps its last value, so only distinct keys may be reordered.
            let distinct = tags |> Array.distinctBy _.Key
            let shuffled = if distinct.Length = tags.Length then Array.sortBy (fun (t: KeyValuePair<string, obj>) -> hash (t.Key, seed)) (tagsOf ()) else tagsOf ()
            // With a repeated key the span's hash differs (by design: such a measurement takes the slow path,
            // which finds the series by its built key).
            if distinct.Length = tags.Length then
                Expect.equal (comparer.GetHashCode(ReadOnlySpan shuffled)) key.Hash "the hash of the tags is the key's"
                Expect.isTrue (comparer.Equals(ReadOnlySpan shuffled, key)) "the tags equal their key"
            Expect.isTrue (comparer.Equals(key, comparer.Create(ReadOnlySpan shuffled))) "keys built from either order are equal"

        testTask "equal tags as different string instances find one series; values swapped between keys are another" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("hits")
            let fresh (text: string) = box (String(text.ToCharArray()))
            for _ in 1 .. 10 do
                counter.Add(1L, ReadOnlySpan [| tag "from" (fresh "a"); tag "to" (fresh "b") |])
                counter.Add(1L, ReadOnlySpan [| tag "to" (fresh "b"); tag "from" (fresh "a") |])
            counter.Add(5L, ReadOnlySpan [| tag "from" (fresh "b"); tag "to" (fresh "a") |])
            let! arrived = flush metrics receiver
            let points = (sumOf (named "hits" arrived)).DataPoints
            Expect.equal points.Length 2 "two series"
            Expect.equal (pointWith "from" (AnyValue.String "a") points).Value (NumberValue.AsInt 20L) "one series for the same tags"
            Expect.equal (pointWith "from" (AnyValue.String "b") points).Value (NumberValue.AsInt 5L) "the swapped values are another series"
        }

        testTask "concurrent recording from many threads loses nothing" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<float>("c")
            let histogram = meter.CreateHistogram<int64>("h")
            System.Threading.Tasks.Parallel.For(0, 40_000, fun i ->
                counter.Add(0.5, tag "shard" (box (i % 4)))
                histogram.Record(int64 (i % 50), tag "shard" (box (i % 4))))
            |> ignore
            let! arrived = flush metrics receiver
            let total = (sumOf (named "c" arrived)).DataPoints |> Array.sumBy (fun p -> match p.Value with NumberValue.AsDouble d -> d | _ -> 0.0)
            Expect.equal total 20_000.0 "every addition"
            Expect.equal ((histogramOf (named "h" arrived)).DataPoints |> Array.sumBy _.Count) 40_000UL "every record"
        }
    ]

let private lifecycle =
    testList "flush and shutdown" [
        testTask "the export interval collects without a flush" {
            let! (p: Pipeline) = pipeline (fun o -> o.ExportInterval <- Nullable(TimeSpan.FromMilliseconds 50.0))
            use _pipeline = p
            let receiver, meter = p.Receiver, p.Meter
            meter.CreateCounter<int64>("ticks").Add 1L
            let! (arrived: IReadOnlyList<Metric>) = receiver.WaitForMetricDataPointsAsync(1).WaitAsync(TimeSpan.FromSeconds 10.0)
            Expect.equal arrived[0].Name "ticks" "exported on the timer"
        }

        testTask "timed exports do not run in the context of the code that started the listener" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            // The header provider runs inside each export: it sees the export's context.
            let ambient = System.Threading.AsyncLocal<string>()
            let seen = System.Collections.Concurrent.ConcurrentQueue<string>()
            let provider (_: System.Threading.CancellationToken) =
                seen.Enqueue(if isNull ambient.Value then "none" else ambient.Value)
                System.Threading.Tasks.ValueTask<IEnumerable<KeyValuePair<string, string>>>(Seq.empty)
            let options = OtlpMetricsOptions()
            options.Meters.Add name
            options.ExportInterval <- Nullable(TimeSpan.FromMilliseconds 50.0)
            // Started inside a flow that carries a value of its own, as a request's would.
            ambient.Value <- "request-42"
            let exporter =
                OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment [])
                    .Configure(fun o -> o.HeaderProvider <- System.Func<_, _>(provider)).Build()
            let metrics = OtlpMetrics.Start(exporter, options)
            ambient.Value <- null
            use _exporter = exporter
            use _metrics = disposing metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            meter.CreateCounter<int64>("ticks").Add 1L
            let! (_: IReadOnlyList<Metric>) = receiver.WaitForMetricDataPointsAsync(1).WaitAsync(TimeSpan.FromSeconds 10.0)
            Expect.isNonEmpty seen "exported on the timer"
            Expect.allEqual seen "none" "no export saw the starting flow's value"
        }

        testTask "shutdown stops listening also when its wait is cancelled" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let counter = p.Meter.CreateCounter<int64>("cancelled")
            Expect.isTrue counter.Enabled "listened to"
            counter.Add 1L
            // The last export waits for its answer, so shutdown is still waiting when the token fires.
            p.Receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 2.0))
            let cancelled = new System.Threading.CancellationTokenSource(TimeSpan.FromMilliseconds 100.0)
            use _cancelled = disposing cancelled
            let! (error: exn) =
                task {
                    try
                        let! (_: bool) = p.Metrics.ShutdownAsync(Nullable(TimeSpan.FromSeconds 10.0), cancelled.Token)
                        return null
                    with e -> return e
                }
            Expect.isTrue (error :? OperationCanceledException) $"the wait was cancelled ({error})"
            Expect.isFalse counter.Enabled "no longer listened to: shutdown went on without the wait"
        }

        testTask "shutdown exports a last time, then records and exports nothing; flush after it returns false" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            let counter = meter.CreateCounter<int64>("final")
            counter.Add 4L
            let! (finished: bool) = metrics.ShutdownAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue finished "shut down in time"
            Expect.equal (sumOf (named "final" (List.ofSeq receiver.Metrics))).DataPoints[0].Value (NumberValue.AsInt 4L) "the last export"
            let requests = receiver.Requests.Count
            counter.Add 1L
            Expect.isFalse counter.Enabled "no longer listened to"
            let! (flushed: bool) = metrics.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 1.0))
            Expect.isFalse flushed "nothing to flush into"
            Expect.equal receiver.Requests.Count requests "nothing more sent"
        }

        testTask "a flush whose export outlasts its deadline returns false in time; the next one succeeds" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            receiver.Enqueue(Signal.Metrics, Reply.Delay(TimeSpan.FromSeconds 2.0))
            let name = uniqueName ()
            let exporter, metrics = start receiver name ignore
            use _exporter = exporter
            use _metrics = metrics
            let meter = new Meter(name)
            use _meter = disposing meter
            meter.CreateCounter<int64>("slow").Add 1L
            let watch = Diagnostics.Stopwatch.StartNew()
            let! (flushed: bool) = metrics.ForceFlushAsync(Nullable(TimeSpan.FromMilliseconds 300.0))
            Expect.isFalse flushed "timed out"
            Expect.isLessThan watch.Elapsed (TimeSpan.FromSeconds 1.5) "at its deadline, not the server's"
            let! (again: bool) = metrics.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue again "the next flush runs once the slow export is over"
        }

        testTask "an observable callback that throws is reported; the other instruments are still exported" {
            let! (p: Pipeline) = pipeline ignore
            use _pipeline = p
            let receiver, metrics, meter = p.Receiver, p.Metrics, p.Meter
            meter.CreateObservableGauge<int64>("broken", (fun () -> (raise (InvalidOperationException "sensor offline"): int64))) |> ignore
            meter.CreateObservableGauge<int64>("working", fun () -> 1L) |> ignore
            meter.CreateCounter<int64>("sync").Add 1L
            let! arrived = flush metrics receiver
            Expect.isTrue (arrived |> List.exists (fun m -> m.Name = "sync")) "synchronous instruments exported"
            Expect.exists metrics.Warnings (fun w -> w.Contains "sensor offline") "reported"
        }

        testTask "a flush and a shutdown end exported; a flush after shutdown is told at once" {
            let name = uniqueName ()
            use exporter = acceptingExporter id
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
            options.Meters.Add name
            let metrics = OtlpMetrics.Start(exporter, options)
            let meter = new Meter(name)
            meter.CreateCounter<int64>("c").Add 1L
            // The collections run on the thread pool (they call the application's callbacks), answered when they end.
            let! (flushed: bool) = metrics.ForceFlushAsync()
            Expect.isTrue flushed "exported"
            let! (shut: bool) = metrics.ShutdownAsync()
            Expect.isTrue shut "shut down"
            // No collection to run: the machine answers on the call's own step.
            let late = metrics.ForceFlushAsync()
            Expect.isTrue (late.IsCompletedSuccessfully && not late.Result) "no flush after shutdown"
            meter.Dispose()
            do! metrics.DisposeAsync()
        }

        testTask "concurrent flushes, some answered by their own step and some by another thread's, all end exported" {
            // Exports alternate between answering at once and after a yield, so that a flush's answer comes now before
            // its task source exists and now after: every call must still get it.
            let name = uniqueName ()
            let sends = ref 0
            let handler =
                { new System.Net.Http.HttpMessageHandler() with
                    member _.SendAsync(_, _) =
                        let answer () = new System.Net.Http.HttpResponseMessage(System.Net.HttpStatusCode.OK, Content = new System.Net.Http.ByteArrayContent([||]))
                        if System.Threading.Interlocked.Increment(&sends.contents) % 2 = 0 then
                            System.Threading.Tasks.Task.FromResult(answer ())
                        else
                            task {
                                do! System.Threading.Tasks.Task.Yield()
                                return answer ()
                            } }
            use exporter = OtlpExporter.ForMetrics().WithHttp().WithHttpClientFactory(fun () -> new System.Net.Http.HttpClient(handler)).Build()
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
            options.Meters.Add name
            use metrics = OtlpMetrics.Start(exporter, options)
            let meter = new Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64>("c")
            let caller (_: int) =
                System.Threading.Tasks.Task.Run<bool array>(fun () ->
                    task {
                        let results = ResizeArray()
                        for _ in 1..40 do
                            counter.Add 1L
                            let! (flushed: bool) = metrics.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 30.0))
                            results.Add flushed
                        return results.ToArray()
                    })
            let! (all: bool array array) = System.Threading.Tasks.Task.WhenAll(Array.init 8 caller).WaitAsync(TimeSpan.FromSeconds 60.0)
            Expect.equal (all |> Array.concat |> Array.filter id |> Array.length) 320 "every flush exported in time"
            Expect.isGreaterThan sends.Value 0 "exports were sent"
        }

        testTask "flushes that wait for a running export are answered when it and their own collection end" {
            let name = uniqueName ()
            let handler = new GatedHandler()
            use exporter = OtlpExporter.ForMetrics().WithHttp().WithHttpClientFactory(fun () -> new System.Net.Http.HttpClient(handler)).Build()
            let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromMinutes 10.0))
            options.Meters.Add name
            use metrics = OtlpMetrics.Start(exporter, options)
            let meter = new Meter(name)
            use _meter = disposing meter
            meter.CreateCounter<int64>("c").Add 1L
            let first = metrics.ForceFlushAsync()
            let second = metrics.ForceFlushAsync()
            Expect.isFalse first.IsCompleted "the first export is held"
            Expect.isFalse second.IsCompleted "the second waits for a collection after the first"
            handler.Gate.SetResult()
            let! (results: bool array) = System.Threading.Tasks.Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds 10.0)
            Expect.equal results [| true; true |] "both answered"
        }

        testTask "a disabled exporter listens to nothing" {
            let name = uniqueName ()
            use exporter = OtlpExporter.ForMetrics().WithEnvironment(environment [ "OTEL_SDK_DISABLED", "true" ]).Build()
            use metrics = OtlpMetrics.Start(exporter, name)
            let meter = new Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64>("c")
            Expect.isFalse counter.Enabled "not enabled"
            Expect.isFalse (metrics.ListensTo name) "not listening"
            let! (flushed: bool) = metrics.ForceFlushAsync()
            Expect.isTrue flushed "nothing to do"
        }
    ]

let private wiring =
    testList "wiring" [
        testTask "OtlpPipeline.Create exports the instruments of its meters, with its views" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let! (arrived: IReadOnlyList<Metric>) =
                task {
                    use pipeline =
                        OtlpPipeline.Create(fun o ->
                            o.Meters.Add(name)
                            o.Views.Add(OtlpView("orders", Name = "orders.placed"))
                            o.Environment <- environment [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ])
                    let meter = new Meter(name)
                    use _meter = disposing meter
                    meter.CreateCounter<int64>("orders").Add 2L
                    let! (flushed: bool) = pipeline.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                    Expect.isTrue flushed "flushed"
                    return receiver.Metrics
                }
            Expect.equal (arrived |> Seq.map _.Name |> Seq.distinct |> List.ofSeq) [ "orders.placed" ] "renamed by the view"
        }

        testTask "OtlpPipeline.Create without meters listens to none" {
            use pipeline = OtlpPipeline.Create(fun o -> o.Environment <- environment [])
            Expect.isFalse (pipeline.Metrics.ListensTo "anything") "no meters"
        }

        testTask "services.AddOtlp reads meters from configuration and exports the metrics when the host stops" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let name = uniqueName ()
            let configuration =
                ConfigurationBuilder()
                    .AddInMemoryCollection(
                        dict [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString()
                               "OTEL_METRIC_EXPORT_INTERVAL", "600000"
                               "OTEL_METRICS_EXEMPLAR_FILTER", "always_on"
                               "Otlp:Meters:0", name ])
                    .Build()
            let services = ServiceCollection()
            services.AddSingleton<IConfiguration>(configuration).AddOtlp() |> ignore
            let provider = services.BuildServiceProvider()
            use _provider = provider
            let hosted = provider.GetServices<IHostedService>() |> List.ofSeq
            for h in hosted do
                do! h.StartAsync System.Threading.CancellationToken.None
            let meter = new Meter(name)
            use _meter = disposing meter
            meter.CreateHistogram<float>("latency").Record 3.0
            for h in hosted do
                do! h.StopAsync System.Threading.CancellationToken.None
            Expect.equal (receiver.Metrics |> Seq.map _.Name |> List.ofSeq) [ "latency" ] "exported when the host stopped"
            Expect.equal (provider.GetRequiredService<OtlpMetrics>().ExemplarFilter) ExemplarFilter.AlwaysOn "the configuration's OTEL_METRICS_EXEMPLAR_FILTER"
            Expect.equal (histogramOf receiver.Metrics[0]).DataPoints.[0].Exemplars.Length 1 "so the measurement made outside any span is an exemplar"
        }
    ]

/// A clock that moves on by a millisecond at every read, so that any point starting at a later read than its
/// collection's shows.
type private TickingClock() =
    inherit TimeProvider()
    let mutable ticks = DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks

    override _.GetUtcNow() =
        DateTimeOffset(System.Threading.Interlocked.Add(&ticks, TimeSpan.TicksPerMillisecond), TimeSpan.Zero)

/// (attributes, start, time) of every point of a metric.
let private pointTimes (metric: Metric) =
    match metric.Data with
    | MetricData.Gauge points -> points |> Array.map (fun p -> p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano)
    | MetricData.Sum s -> s.DataPoints |> Array.map (fun p -> p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano)
    | MetricData.Histogram h -> h.DataPoints |> Array.map (fun p -> p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano)
    | MetricData.ExponentialHistogram h -> h.DataPoints |> Array.map (fun p -> p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano)
    | MetricData.Summary points -> points |> Array.map (fun p -> p.Attributes, p.StartTimeUnixNano, p.TimeUnixNano)
    | MetricData.NoData -> [||]

let private metricsOf (request: ExportMetricsServiceRequest) =
    [ for r in request.ResourceMetrics do
          for s in r.ScopeMetrics do
              yield! s.Metrics ]

/// A listener of a meter of its own over the ticking clock, collected by hand (`Collect`), with the meter.
let private ticking (configure: OtlpMetricsOptions -> unit) =
    let name = uniqueName ()
    let exporter =
        acceptingExporter (fun b -> b.WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment []))
    let options = OtlpMetricsOptions(ExportInterval = Nullable(TimeSpan.FromHours 1.0), TimeProvider = TickingClock())
    options.Meters.Add name
    configure options
    let metrics = OtlpMetrics.Start(exporter, options)
    let meter = new Meter(name)
    let dispose () =
        meter.Dispose()
        metrics.Dispose()
        exporter.DisposeAsync().AsTask().Wait()
    metrics, meter, { new IDisposable with member _.Dispose() = dispose () }

let private observations =
    testList "start times and observations" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "every point starts no later than its time, for every instrument kind and temporality"
        <| Prop.forAll
            (Arb.fromGen (
                Gen.zip3
                    (Gen.elements [ TemporalityPreference.Cumulative; TemporalityPreference.Delta; TemporalityPreference.LowMemory ])
                    (Gen.elements [ 2; 3; 10 ])
                    (Gen.listOfLength 4 (Gen.zip (Gen.shuffle [| "a"; "b"; "c"; "d" |] |> Gen.bind (fun s -> Gen.choose (0, 4) |> Gen.map (fun n -> Array.truncate n s))) (Gen.subListOf [ "a"; "b"; "c"; "d" ])))))
            (fun (preference, limit, collections) ->
                let metrics, meter, lifetime = ticking (fun o ->
                    o.TemporalityPreference <- preference
                    o.CardinalityLimit <- limit
                    o.Views.Add(OtlpView("exp*", ExponentialHistogramMaxSize = 8)))
                use _lifetime = lifetime
                let mutable current: string array = [||]
                let mutable round = 0L
                let observe () =
                    current |> Array.map (fun k -> Measurement<int64>(round, tag "k" (box k))) :> seq<_>
                meter.CreateObservableCounter<int64>("o.counter", observe) |> ignore
                meter.CreateObservableUpDownCounter<int64>("o.updown", observe) |> ignore
                meter.CreateObservableGauge<int64>("o.gauge", observe) |> ignore
                let counter = meter.CreateCounter<int64>("counter")
                let updown = meter.CreateUpDownCounter<float>("updown")
                let histogram = meter.CreateHistogram<float>("histogram")
                let exponential = meter.CreateHistogram<float>("exp.histogram")
                let gauge = meter.CreateGauge<float>("gauge")
                for observed, measured in collections do
                    round <- round + 1L
                    current <- observed
                    for k in measured do
                        let t = tag "k" (box k)
                        counter.Add(1L, t)
                        updown.Add(-1.5, t)
                        histogram.Record(2.0, t)
                        exponential.Record(2.0, t)
                        gauge.Record(3.0, t)
                    for metric in metricsOf (metrics.Collect()) do
                        for attributes, start, time in pointTimes metric do
                            Expect.isLessThanOrEqual start time $"{metric.Name} {attributes} ({preference}): start <= time")

        test "an observable series starts at the instrument's creation, or at the collection before the one that first observed it" {
            let metrics, meter, lifetime = ticking ignore
            use _lifetime = lifetime
            let mutable current = [| "a" |]
            meter.CreateObservableGauge<int64>("o.gauge", fun () -> current |> Array.map (fun k -> Measurement<int64>(1L, tag "k" (box k))) :> seq<_>) |> ignore
            meter.CreateObservableCounter<int64>("o.counter", fun () -> current |> Array.map (fun k -> Measurement<int64>(1L, tag "k" (box k))) :> seq<_>) |> ignore
            let collect () =
                metricsOf (metrics.Collect())
                |> List.collect (fun m -> pointTimes m |> Array.map (fun (a, s, t) -> m.Name, a, s, t) |> Array.toList)
            let key (a: KeyValue array) = match a with [| { Value = AnyValue.String k } |] -> k | other -> failtestf "%A" other
            let first = collect ()
            for name, _, start, time in first do
                Expect.isLessThan start time $"{name}: starts before the first collection (at the instrument's creation)"
            let firstTime = first |> List.map (fun (_, _, _, t) -> t) |> List.distinct |> List.exactlyOne
            current <- [| "a"; "b" |]
            let second = collect ()
            for name, a, start, _ in second do
                match key a with
                | "a" -> Expect.equal start (first |> List.find (fun (n, _, _, _) -> n = name) |> fun (_, _, s, _) -> s) $"{name}: a keeps its start"
                | _ -> Expect.equal start firstTime $"{name}: b, first observed in the second collection, starts at the first"
        }

        test "an observable series not observed in a collection is forgotten: attribute sets that come and go never overflow" {
            let metrics, meter, lifetime = ticking (fun o -> o.CardinalityLimit <- 3)
            use _lifetime = lifetime
            let mutable k = 0
            meter.CreateObservableGauge<int64>("conn", fun () -> Measurement<int64>(int64 k, tag "conn" (box k))) |> ignore
            let mutable previousTime = 0UL
            for round in 1..10 do
                k <- round
                match metricsOf (metrics.Collect()) with
                | [ metric ] ->
                    match pointTimes metric with
                    | [| attributes, start, time |] ->
                        Expect.equal attributes [| { Key = "conn"; Value = AnyValue.Int(int64 round) } |] $"collection {round}: only conn={round}"
                        if round > 1 then
                            Expect.equal start previousTime $"collection {round}: a new series starts at the previous collection"
                        previousTime <- time
                    | other -> failtestf "collection %d: %A" round other
                | other -> failtestf "collection %d: %A" round other
            Expect.isFalse (metrics.Warnings |> Seq.exists (fun w -> w.Contains "cardinality limit")) "never past the limit"
        }

        test "past the limit of an observable instrument, the attribute sets observed first keep their series" {
            let metrics, meter, lifetime = ticking (fun o -> o.CardinalityLimit <- 2)
            use _lifetime = lifetime
            let mutable current = [| "a"; "b"; "c" |]
            meter.CreateObservableCounter<int64>("o", fun () -> current |> Array.map (fun k -> Measurement<int64>(1L, tag "k" (box k))) :> seq<_>) |> ignore
            let keys () =
                metricsOf (metrics.Collect())
                |> List.collect (fun m ->
                    pointTimes m
                    |> Array.map (fun (a, _, _) ->
                        match a with
                        | [| { Key = "k"; Value = AnyValue.String k } |] -> k
                        | [| { Key = "otel.metric.overflow"; Value = AnyValue.Bool true } |] -> "overflow"
                        | other -> failtestf "%A" other)
                    |> Array.toList)
                |> List.sort
            Expect.equal (keys ()) [ "a"; "b"; "overflow" ] "a and b first, c overflows"
            current <- [| "c"; "d"; "a" |]
            Expect.equal (keys ()) [ "c"; "d"; "overflow" ] "c and d first now, a overflows"
            current <- [| "c" |]
            Expect.equal (keys ()) [ "c" ] "the overflow series is forgotten too"
        }

        test "a synchronous instrument created after a collection starts its first delta point at its creation, as an observable one" {
            let metrics, meter, lifetime = ticking (fun o ->
                o.TemporalityPreference <- TemporalityPreference.Delta
                o.Views.Add(OtlpView("late.exponential", ExponentialHistogramMaxSize = 8)))
            use _lifetime = lifetime
            meter.CreateObservableCounter<int64>("early", fun () -> Measurement<int64>(1L)) |> ignore
            let firstTime = metricsOf (metrics.Collect()) |> List.collect (pointTimes >> Array.toList) |> List.map (fun (_, _, t) -> t) |> List.exactlyOne
            meter.CreateCounter<int64>("late").Add 1L
            meter.CreateHistogram<float>("late.exponential").Record 1.0
            let second = metricsOf (metrics.Collect())
            for name in [ "late"; "late.exponential" ] do
                let _, start, _ = pointTimes (named name second) |> Array.exactlyOne
                Expect.isGreaterThan start firstTime $"{name}: created after the first collection, its first interval starts at its creation (metrics SDK specification, \"Start timestamps\")"
        }
    ]

/// The (attributes, value) of the points of an integer sum, over all metrics collected, sorted.
let private observedSums (request: ExportMetricsServiceRequest) =
    metricsOf request
    |> List.collect (fun m ->
        (sumOf m).DataPoints
        |> Array.map (fun p ->
            let key = p.Attributes |> Array.map (fun kv -> $"{kv.Key}={kv.Value}") |> String.concat ","
            match p.Value with
            | NumberValue.AsInt v -> key, v
            | other -> failtestf "not an integer: %A" other)
        |> Array.toList)
    |> List.sort

/// An observable counter observing `current ()` (attribute value, total) pairs under key "k".
let private observableCounter (meter: Meter) name (current: unit -> (string * int64) array) =
    meter.CreateObservableCounter<int64>(name, fun () ->
        current () |> Array.map (fun (k, total) -> Measurement<int64>(total, tag "k" (box k))) :> seq<_>)
    |> ignore

let private observedDeltas =
    testList "delta observable sums" [
        test "an overflowed attribute set that goes away gives no negative overflow delta" {
            let metrics, meter, lifetime = ticking (fun o ->
                o.TemporalityPreference <- TemporalityPreference.Delta
                o.CardinalityLimit <- 2)
            use _lifetime = lifetime
            let mutable current = [| "a"; "b"; "c"; "d" |]
            observableCounter meter "o" (fun () -> current |> Array.map (fun k -> k, 100L))
            let first = observedSums (metrics.Collect())
            Expect.contains first ("otel.metric.overflow=Bool true", 200L) "c and d overflow"
            current <- [| "a"; "b"; "c" |]
            let second = observedSums (metrics.Collect())
            Expect.equal second [ "k=String \"a\"", 0L; "k=String \"b\"", 0L; "otel.metric.overflow=Bool true", 0L ] "nothing changed: every delta is 0"
        }

        test "an overflowed attribute set that gets a series of its own does not report its total again" {
            let metrics, meter, lifetime = ticking (fun o ->
                o.TemporalityPreference <- TemporalityPreference.Delta
                o.CardinalityLimit <- 2)
            use _lifetime = lifetime
            let mutable current = [| "a"; "b"; "c" |]
            observableCounter meter "o" (fun () -> current |> Array.map (fun k -> k, 100L))
            let first = observedSums (metrics.Collect())
            current <- [| "b"; "c" |]
            let second = observedSums (metrics.Collect())
            Expect.equal second [ "k=String \"b\"", 0L; "k=String \"c\"", 0L ] "c has its own series now, with no change"
            Expect.equal ((first @ second) |> List.sumBy snd) 300L "the deltas sum to the totals observed"
        }

        test "attribute sets a view merges report their own changes: one that goes away gives no negative delta" {
            let metrics, meter, lifetime = ticking (fun o ->
                o.TemporalityPreference <- TemporalityPreference.Delta
                o.Views.Add(OtlpView("io", AttributeKeys = [| "disk" |])))
            use _lifetime = lifetime
            let mutable parts = [| "p1", 100L; "p2", 100L |]
            meter.CreateObservableCounter<int64>("io", fun () ->
                parts |> Array.map (fun (part, total) -> Measurement<int64>(total, tag "disk" (box "sda"), tag "part" (box part))) :> seq<_>)
            |> ignore
            let first = observedSums (metrics.Collect())
            parts <- [| "p1", 150L |]
            let second = observedSums (metrics.Collect())
            parts <- [| "p1", 150L; "p2", 130L |]
            let third = observedSums (metrics.Collect())
            Expect.equal (first, second, third) ([ "disk=String \"sda\"", 200L ], [ "disk=String \"sda\"", 50L ], [ "disk=String \"sda\"", 30L ]) "each part's change"
        }

        test "an attribute set missing from a collection (or whose callback throws) reports only its change when back" {
            let metrics, meter, lifetime = ticking (fun o -> o.TemporalityPreference <- TemporalityPreference.Delta)
            use _lifetime = lifetime
            let mutable step = 0
            meter.CreateObservableCounter<int64>("bytes", fun () ->
                step <- step + 1
                match step with
                | 2 -> Seq.empty
                | 3 -> failwith "not now"
                | _ -> seq { Measurement<int64>(1000L + 10L * int64 step, tag "disk" (box "sda")) })
            |> ignore
            let deltas = [ for _ in 1..4 -> observedSums (metrics.Collect()) |> List.sumBy snd ]
            Expect.equal deltas [ 1010L; 0L; 0L; 30L ] "the whole total once, nothing while absent, then the change since its last observation"
        }

        test "a monotonic total lower than remembered was reset: its new total is the delta" {
            let metrics, meter, lifetime = ticking (fun o -> o.TemporalityPreference <- TemporalityPreference.Delta)
            use _lifetime = lifetime
            let mutable total = 100L
            observableCounter meter "restarts" (fun () -> [| "a", total |])
            let first = observedSums (metrics.Collect())
            total <- 30L
            let second = observedSums (metrics.Collect())
            Expect.equal (first, second) ([ "k=String \"a\"", 100L ], [ "k=String \"a\"", 30L ]) "counted 30 since the reset"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 40 } "summed, the delta points equal the last totals observed, and none is negative, whatever sets come, go and overflow"
        <| Prop.forAll
            (Arb.fromGen (
                Gen.zip
                    (Gen.elements [ 1; 2; 3; 10 ])
                    (Gen.listOfLength 6 (Gen.subListOf [ "a"; "b"; "c"; "d" ] |> Gen.bind (fun keys -> Gen.listOfLength keys.Length (Gen.choose (0, 5)) |> Gen.map (List.zip keys))))))
            (fun (limit, rounds) ->
                let metrics, meter, lifetime = ticking (fun o ->
                    o.TemporalityPreference <- TemporalityPreference.Delta
                    o.CardinalityLimit <- limit)
                use _lifetime = lifetime
                // Each set's total only grows: by the round's increment whenever it is observed.
                let totals = Dictionary<string, int64>()
                let mutable current: (string * int64) array = [||]
                observableCounter meter "o" (fun () -> current)
                let mutable reported = 0L
                for round in rounds do
                    current <-
                        [| for k, increment in round ->
                               totals[k] <- (match totals.TryGetValue k with | true, t -> t | _ -> 0L) + int64 increment
                               k, totals[k] |]
                    for key, value in observedSums (metrics.Collect()) do
                        Expect.isGreaterThanOrEqual value 0L $"{key}: a monotonic delta is never negative"
                        reported <- reported + value
                Expect.equal reported (Seq.sum totals.Values) "every total reported exactly once")
    ]

let private identity =
    testList "series identity" [
        test "measurements whose attributes export alike go to one series: int and long, a null value and none, equal arrays" {
            let metrics, meter, lifetime = ticking ignore
            use _lifetime = lifetime
            let numbers = meter.CreateCounter<int64>("numbers")
            numbers.Add(1L, tag "k" (box 1))
            numbers.Add(1L, tag "k" (box 1L))
            let nulls = meter.CreateCounter<int64>("nulls")
            nulls.Add(1L, tag "k" null)
            nulls.Add(1L)
            let arrays = meter.CreateCounter<int64>("arrays")
            arrays.Add(1L, tag "k" (box [| "a"; "b" |]))
            arrays.Add(1L, tag "k" (box [| "a"; "b" |]))
            let reused = meter.CreateCounter<int64>("reused")
            let mine = [| "a"; "b" |]
            reused.Add(1L, tag "k" (box mine))
            mine[0] <- "c"
            reused.Add(1L, tag "k" (box mine))
            let collected = metricsOf (metrics.Collect())
            for name, attributes in
                [ "numbers", [| { Key = "k"; Value = AnyValue.Int 1L } |]
                  "nulls", [||]
                  "arrays", [| { Key = "k"; Value = AnyValue.Array [| AnyValue.String "a"; AnyValue.String "b" |] } |] ] do
                match (sumOf (named name collected)).DataPoints with
                | [| point |] ->
                    Expect.equal point.Value (NumberValue.AsInt 2L) $"{name}: one point of both measurements"
                    Otlp.Core.Tests.Common.expectSame point.Attributes attributes $"{name}: its attributes"
                | other -> failtestf "%s: %A" name other
            let keys =
                (sumOf (named "reused" collected)).DataPoints
                |> Array.map (fun p -> match p.Attributes with [| { Value = AnyValue.Array [| AnyValue.String x; _ |] } |] -> x | other -> failtestf "%A" other)
                |> Array.sort
            Expect.equal keys [| "a"; "c" |] "a series keeps its own copy of an array the caller changes afterwards"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 100 } "the points of a metric have distinct attribute sets, and their values add up to what was recorded"
        <| Prop.forAll
            (Arb.fromGen (
                let value =
                    Gen.elements [
                        null; box 1; box 1L; box 1s; box 1uy; box 1u; box 2; box 2L; box (-1); box (-1L); box "1"; box '1'; box "x"
                        box 1.5; box 1.5f; box true
                        box [| 1; 2 |]; box [| 1L; 2L |]; box [| 1s; 2s |]; box [| "a"; "b" |]; box [| 'a'; 'b' |]; box [| "a"; null |]
                        box [| 1.5; 2.0 |]; box [| 1.5f; 2.0f |]; box [| true |]; box Array.empty<int>; box Array.empty<string> ]
                let measurement = Gen.zip (Gen.choose (1, 5)) (Gen.listOf (Gen.zip (Gen.elements [ "a"; "b"; "" ]) value))
                Gen.zip (Gen.elements [ TemporalityPreference.Cumulative; TemporalityPreference.Delta ]) (Gen.listOf measurement)))
            (fun (preference, measurements) ->
                let metrics, meter, lifetime = ticking (fun o -> o.TemporalityPreference <- preference)
                use _lifetime = lifetime
                let counter = meter.CreateCounter<int64>("c")
                let histogram = meter.CreateHistogram<float>("h")
                for amount, tags in measurements do
                    let tags = tags |> List.map (fun (k, v) -> tag k v) |> Array.ofList
                    counter.Add(int64 amount, ReadOnlySpan tags)
                    histogram.Record(float amount, ReadOnlySpan tags)
                let total = measurements |> List.sumBy (fun (amount, _) -> int64 amount)
                let collected = metricsOf (metrics.Collect())
                if measurements.IsEmpty then
                    Expect.isEmpty collected "nothing recorded, nothing collected"
                else
                    let sums = (sumOf (named "c" collected)).DataPoints
                    let histograms = (histogramOf (named "h" collected)).DataPoints
                    for attributes, what in [ sums |> Array.map _.Attributes, "sum"; histograms |> Array.map _.Attributes, "histogram" ] do
                        let sets = attributes |> Array.map Aggregation.attributeSet
                        Expect.equal (Array.distinct sets).Length sets.Length $"{what}: distinct attribute sets {attributes}"
                    let summed = sums |> Array.sumBy (fun p -> match p.Value with NumberValue.AsInt n -> n | other -> failtestf "%A" other)
                    Expect.equal summed total "the sum's values add up"
                    Expect.equal (histograms |> Array.sumBy (fun p -> p.Sum |> ValueOption.defaultValue 0.0)) (float total) "the histogram's sums add up")
    ]

let private exemplarLaws =
    testList "exemplar laws" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 100 } "every exemplar is a measurement of its point, with the span it was made in and the attributes the point dropped"
        <| Prop.forAll
            (Arb.fromGen (
                let tags = Gen.subListOf [ "a"; "b"; "c" ] |> Gen.bind (fun keys -> Gen.listOfLength keys.Length (Gen.elements [ "x"; "y" ]) |> Gen.map (List.zip keys))
                Gen.zip (Gen.elements [ TemporalityPreference.Cumulative; TemporalityPreference.Delta ]) (Gen.listOf (Gen.zip3 (Gen.choose (1, 300)) tags (Gen.elements [ true; false ])))))
            (fun (preference, measurements) ->
                let metrics, meter, lifetime =
                    ticking (fun o ->
                        o.TemporalityPreference <- preference
                        o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                        o.Views.Add(OtlpView("*", AttributeKeys = [| "a" |])))
                use _lifetime = lifetime
                let counter = meter.CreateCounter<int64>("c")
                let histogram = meter.CreateHistogram<float>("h")
                // What each measurement should leave in an exemplar: its value, the attributes its point keeps and
                // those it drops, and its span (none outside one).
                let made =
                    [ for amount, pairs, inSpan in measurements do
                        let span = if inSpan then Some(sampledActivity ()) else None
                        let tags = pairs |> List.map (fun (k, v: string) -> tag k v) |> Array.ofList
                        counter.Add(int64 amount, ReadOnlySpan tags)
                        histogram.Record(float amount, ReadOnlySpan tags)
                        let ids = span |> Option.map spanOf |> Option.defaultValue (TraceId.Empty, SpanId.Empty)
                        span |> Option.iter _.Dispose()
                        let kept, dropped = pairs |> List.partition (fun (k, _) -> k = "a")
                        let set (kvs: (string * string) list) = kvs |> List.map (fun (k, v) -> KeyValue.string k v) |> Array.ofList |> Aggregation.attributeSet
                        yield float amount, set kept, set dropped, ids ]
                let collected = metricsOf (metrics.Collect())
                let check what (points: (KeyValue array * Exemplar array) array) slots =
                    for attributes, exemplars in points do
                        Expect.isGreaterThan exemplars.Length 0 $"{what}: a measured point has an exemplar"
                        Expect.isLessThanOrEqual exemplars.Length slots $"{what}: no more than the reservoir holds"
                        for e in exemplars do
                            let value = match e.Value with NumberValue.AsInt n -> float n | NumberValue.AsDouble d -> d | NumberValue.NoValue -> nan
                            let found =
                                made |> List.exists (fun (v, kept, dropped, ids) ->
                                    v = value && kept = Aggregation.attributeSet attributes && dropped = Aggregation.attributeSet e.FilteredAttributes && ids = (e.TraceId, e.SpanId))
                            Expect.isTrue found $"{what}: exemplar {e} is a measurement made for its point"
                if not measurements.IsEmpty then
                    check "sum" ((sumOf (named "c" collected)).DataPoints |> Array.map (fun p -> p.Attributes, p.Exemplars)) 1
                    let histograms = (histogramOf (named "h" collected)).DataPoints
                    check "histogram" (histograms |> Array.map (fun p -> p.Attributes, p.Exemplars)) (histograms[0].ExplicitBounds.Length + 1)
                    for p in histograms do
                        let buckets = p.Exemplars |> Array.map (fun e -> match e.Value with NumberValue.AsDouble d -> Aggregation.explicitBucketIndex p.ExplicitBounds d | _ -> -1)
                        Expect.equal (Array.distinct buckets).Length buckets.Length "at most one exemplar per bucket")
    ]

/// A value the application gives as a tag, with no Equals of its own: exported as its text.
type PlainTag() =
    override _.ToString() = "plain"

/// Values that are exported as one attribute (numbers and arrays as their exported form, anything else as its text)
/// make one series: two would be two points with one attribute set in one metric.
let private oneSeries (what: string) (a: obj) (b: obj) =
    test $"{what} make one series, as they are exported alike" {
        let metrics, meter, lifetime = ticking ignore
        use _lifetime = lifetime
        let counter = meter.CreateCounter<int64>("c")
        counter.Add(1L, tag "k" a)
        counter.Add(1L, tag "k" b)
        let points = (sumOf (named "c" (metricsOf (metrics.Collect())))).DataPoints
        Expect.equal points.Length 1 $"one point, got %A{points |> Array.map (fun p -> p.Attributes, p.Value)}"
        Expect.equal points[0].Value (NumberValue.AsInt 2L) "both measurements in it"
    }

let private exportedIdentity =
    testList "identity as exported" [
        oneSeries "ulong 5 and string 5" (box 5UL) (box "5")
        oneSeries "an enum and its name" (box DayOfWeek.Monday) (box "Monday")
        oneSeries "decimal 5 and string 5" (box 5m) (box "5")
        oneSeries "object[] {5L} and long[] {5}" (box [| box 5L |]) (box [| 5L |])
        oneSeries "object[] {1, \"x\"} and object[] {1L, 'x'}" (box [| box 1; box "x" |]) (box [| box 1L; box 'x' |])
        oneSeries "byte[] {1, 2} and another byte[] {1, 2}" (box [| 1uy; 2uy |]) (box [| 1uy; 2uy |])
        oneSeries "object[] {Monday} and string[] {Monday}" (box [| box DayOfWeek.Monday |]) (box [| "Monday" |])
        oneSeries "two objects of one text" (box (PlainTag())) (box (PlainTag()))
        oneSeries "ulong[] {5} and string[] {5}" (box [| 5UL |]) (box [| "5" |])

        test "an exemplar's filtered attributes hold each key once, with the last value of a repeated key" {
            let metrics, meter, lifetime =
                ticking (fun o ->
                    o.ExemplarFilter <- ExemplarFilter.AlwaysOn
                    o.Views.Add(OtlpView("c", AttributeKeys = [| "route" |])))
            use _lifetime = lifetime
            let counter = meter.CreateCounter<int64>("c")
            counter.Add(1L, ReadOnlySpan [| tag "route" "a"; tag "user" "1"; tag "user" "2" |])
            let points = (sumOf (named "c" (metricsOf (metrics.Collect())))).DataPoints
            Expect.equal points[0].Exemplars[0].FilteredAttributes [| KeyValue.string "user" "2" |] "one user attribute, the last"
        }
    ]

[<Tests>]
let tests =
    testList "Metrics" [ accumulators; reporting; directEncoding; exemplarTests; instruments; temporality; retirement; views; registration; hotPath; lifecycle; wiring; observations; observedDeltas; identity; exportedIdentity; exemplarLaws ]

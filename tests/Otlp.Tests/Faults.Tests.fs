/// Application objects that misbehave: they never throw into the application, never take a batch down with them,
/// and what they cost (an attribute, a measurement) is counted and said.
module Otlp.Tests.FaultsTests

open System
open System.Collections
open System.Collections.Generic
open System.Diagnostics
open System.Diagnostics.Metrics
open System.Threading
open Expecto
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Core
open Otlp.Metrics
open Otlp.Testing
open Otlp.Tracing
open Otlp.Tests.Support

let private kv key value = { Key = key; Value = value }

let private uniqueName () = $"Test.Faults.{Guid.NewGuid():N}"

/// A value that says it formatted more characters than the buffer it was given holds.
type private Boastful() =
    override _.ToString() = "boast"
    interface IFormattable with
        member _.ToString(_: string, _: IFormatProvider) = "boast"
    interface ISpanFormattable with
        member _.TryFormat(_: Span<char>, written: byref<int>, _: ReadOnlySpan<char>, _: IFormatProvider) =
            written <- 100000
            true

/// A log state whose second pair throws when read.
type private FaultyState() =
    interface IReadOnlyList<KeyValuePair<string, obj>> with
        member _.Count = 2
        member _.Item
            with get i = if i = 0 then KeyValuePair("First", box 1) else raise (InvalidOperationException "gone")
        member this.GetEnumerator() : IEnumerator<KeyValuePair<string, obj>> =
            (Seq.init 2 (fun i -> (this :> IReadOnlyList<KeyValuePair<string, obj>>)[i])).GetEnumerator()
        member this.GetEnumerator() : IEnumerator =
            ((this :> IEnumerable<KeyValuePair<string, obj>>).GetEnumerator()) :> IEnumerator

/// Pairs (not a list) whose enumeration throws after the first.
let private faultyPairs () : seq<KeyValuePair<string, obj>> =
    seq {
        KeyValuePair("First", box 1)
        raise (InvalidOperationException "gone")
    }

/// A tag value whose Equals is the application's code, and throws; its text (and so its hash) is the same for all.
type private Touchy() =
    override _.ToString() = "touchy"
    override _.GetHashCode() = 1
    override _.Equals(_: obj) = raise (InvalidOperationException "no equality")

let private tracing =
    testList "tracing" [
        for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.HttpJson ] do
            testTask $"an item whose reading throws is left out, counted unreadable and said; the rest of its batch arrives ({protocol})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().Configure(fun o ->
                        o.Protocol <- protocol
                        o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                        o.Environment <- environment [])
                        .Build()
                let problems = Concurrent.ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
                let name = uniqueName ()
                let source = new ActivitySource(name)
                use _source = disposing source
                // As the tracer offers: the ActivitySpans conversion, read on the export task. A source it cannot read
                // stands for any activity whose reading throws there (one whose tags another thread changes meanwhile):
                // both the direct encoder and the conversion throw on it.
                let origin, listener = tracedSource source
                use _listener = disposing listener
                let stopped name =
                    let activity = source.StartActivity(name: string)
                    activity.Stop()
                    activity
                Expect.isTrue (exporter.OfferDeferred(stopped "before", origin)) "offered"
                Expect.isTrue (exporter.OfferDeferred(box "not an activity", origin)) "offered"
                Expect.isTrue (exporter.OfferDeferred(stopped "after", origin)) "offered"
                let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                Expect.isTrue flushed "flushed"
                Expect.equal [ for s in receiver.Spans -> s.Name ] [ "before"; "after" ] "the readable items arrive"
                Expect.equal (exporter.Statistics.Exported, exporter.Statistics.DroppedUnreadable, exporter.Statistics.Dropped) (2L, 1L, 1L) "counted once, as unreadable"
                Expect.exists problems (fun (p: string) -> p.Contains "InvalidCastException" && p.Contains "left out") $"said: %A{List.ofSeq problems}"
            }

        for json in [ false; true ] do
            testTask $"a multi-dimensional or non-zero-based array tag is exported element by element and fails nothing else (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let name = uniqueName ()
                let source = new ActivitySource(name)
                use _source = disposing source
                let tracer = OtlpTracer.Start(exporter, name)
                use _tracer = disposing tracer
                let shifted = Array.CreateInstance(typeof<int>, [| 2 |], [| 1 |])
                shifted.SetValue(7, 1)
                shifted.SetValue(8, 2)
                do
                    use a = source.StartActivity("odd")
                    a.SetTag("grid", array2D [ [ 1; 2 ]; [ 3; 4 ] ]).SetTag("shifted", shifted).SetTag("names", array2D [ [ "a" ] ]) |> ignore
                do
                    use _ = source.StartActivity("fine")
                    ()
                let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                Expect.isTrue flushed "flushed"
                let spans = receiver.Spans
                Expect.equal [ for s in spans -> s.Name ] [ "odd"; "fine" ] "both spans arrive"
                let ints xs = AnyValue.Array [| for x in xs -> AnyValue.Int x |]
                Expect.equal
                    spans[0].Attributes
                    [| kv "grid" (ints [ 1L; 2L; 3L; 4L ]); kv "shifted" (ints [ 7L; 8L ]); kv "names" (AnyValue.Array [| AnyValue.String "a" |]) |]
                    "element by element, in storage order"
                Expect.equal exporter.Statistics.Exported 2L "both counted exported"
                Expect.equal exporter.Statistics.Dropped 0L "nothing dropped"
            }

        testTask "a value whose TryFormat claims more characters than its buffer holds is exported by its ToString" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let name = uniqueName ()
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            do
                use a = source.StartActivity("boastful")
                a.SetTag("v", Boastful()) |> ignore
            do
                use _ = source.StartActivity("fine")
                ()
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            let spans = receiver.Spans
            Expect.equal [ for s in spans -> s.Name ] [ "boastful"; "fine" ] "both spans arrive"
            Expect.equal spans[0].Attributes [| kv "v" (AnyValue.String "boast") |] "its ToString"
        }

        test "a string array changed by another thread while it is encoded never makes a malformed attribute" {
            // The application may reuse an array it gave as a tag after the activity stopped: the encoder reads it
            // then, on the export task. Whatever it reads, the attribute's lengths must be those of what it wrote.
            let values = [| "a"; "b" |]
            let long = String('x', 100)
            use stop = new CancellationTokenSource()
            let mutator =
                Thread(fun () ->
                    let mutable flip = false
                    while not stop.IsCancellationRequested do
                        values[0] <- (if flip then long else "a")
                        flip <- not flip)
            mutator.IsBackground <- true
            mutator.Start()
            let writer = Otlp.Core.Protobuf.ProtoWriter()
            let buffer = Array.zeroCreate<byte> 4096
            let mutable bad = 0
            let watch = Stopwatch.StartNew()
            while bad = 0 && watch.Elapsed < TimeSpan.FromSeconds 3.0 do
                writer.Start(buffer, 0, buffer.Length)
                TagValues.WriteAttribute(writer, 9, "k", values, Int32.MaxValue) |> ignore
                let written = writer.Written.ToArray()
                // One field: its tag (1 byte), its length (a varint), then exactly that many bytes.
                let mutable length = 0
                let mutable shift = 0
                let mutable i = 1
                while written[i] &&& 0x80uy <> 0uy do
                    length <- length ||| (int (written[i] &&& 0x7Fuy) <<< shift)
                    shift <- shift + 7
                    i <- i + 1
                length <- length ||| (int written[i] <<< shift)
                if i + 1 + length <> written.Length then bad <- bad + 1
                writer.Release()
            stop.Cancel()
            mutator.Join()
            Expect.equal bad 0 "every attribute's length is the length written"
        }
    ]

let private loggerFor (exporter: OtlpLogExporter) (scopes: bool) =
    let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter, fun o -> o.IncludeScopes <- scopes) |> ignore)
    factory, factory.CreateLogger("Faults")

let private logging =
    testList "logging" [
        testTask "a state, scope or formatter that throws never throws into the log call: the entry is exported with what could be read, and the fault reported" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let problems = Collections.Concurrent.ConcurrentQueue<string>()
            exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
            let factory, logger = loggerFor exporter true
            use _factory = disposing factory
            let fine (_: obj) (_: exn) = "fine text"
            let calls: (string * (unit -> unit)) list =
                [ "a list state whose indexer throws",
                  (fun () -> logger.Log(LogLevel.Information, EventId 0, FaultyState(), null, Func<_, _, _>(fun _ _ -> "list")))
                  "pairs whose enumeration throws",
                  (fun () -> logger.Log(LogLevel.Information, EventId 0, faultyPairs (), null, Func<_, _, _>(fun _ _ -> "pairs")))
                  "a formatter that throws",
                  (fun () ->
                      logger.Log(LogLevel.Information, EventId 0, [ KeyValuePair("A", box 1) ], null, Func<_, _, _>(fun _ _ -> raise (FormatException "bad"))))
                  "a scope whose pairs throw",
                  (fun () ->
                      use _scope = logger.BeginScope(faultyPairs ())
                      logger.Log(LogLevel.Information, EventId 0, [ KeyValuePair("A", box 1) ], null, Func<_, _, _>(fun _ _ -> "scoped"))) ]
            for what, call in calls do
                try
                    call ()
                with e ->
                    failtest $"{what}: the log call threw {e.GetType().Name}: {e.Message}"
            logger.LogInformation("after")
            ignore fine
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            let records = receiver.LogRecords
            Expect.equal records.Count 5 "every entry exported"
            Expect.equal exporter.Statistics.Exported 5L "counted exported"
            Expect.equal records[0].Attributes [| kv "First" (AnyValue.Int 1L) |] "the list's pairs read before the fault"
            Expect.equal records[1].Attributes [| kv "First" (AnyValue.Int 1L) |] "the pairs read before the fault"
            Expect.equal records[2].Body (AnyValue.String "(the formatter threw FormatException)") "a body that says so"
            Expect.equal records[3].Attributes [| kv "A" (AnyValue.Int 1L); kv "First" (AnyValue.Int 1L) |] "the scope's pairs read before the fault"
            Expect.equal records[4].Body (AnyValue.String "after") "the next entry"
            let said = List.ofSeq problems
            Expect.exists said (fun p -> p.Contains "FaultyState" && p.Contains "InvalidOperationException") $"the list state's fault said ({said})"
            Expect.exists said (fun p -> p.Contains "formatter" && p.Contains "FormatException") $"the formatter's fault said ({said})"
            Expect.isFalse (said |> List.exists (fun p -> p.Contains "gone" || p.Contains "bad")) "no exception message (it may hold the application's values)"
        }

        testTask "a state or scope that never ends does not hold the log call: its first pairs are read, the limit applied, and it is said" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let problems = Collections.Concurrent.ConcurrentQueue<string>()
            exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
            let factory, logger = loggerFor exporter true
            use _factory = disposing factory
            let endless prefix : seq<KeyValuePair<string, obj>> = Seq.initInfinite (fun i -> KeyValuePair($"{prefix}{i}", box i))
            let call = Threading.Tasks.Task.Run(fun () ->
                do
                    use _scope = logger.BeginScope(endless "s")
                    logger.Log(LogLevel.Information, EventId 0, endless "k", null, Func<_, _, _>(fun _ _ -> "endless"))
                logger.LogInformation("after"))
            let! finished = Threading.Tasks.Task.WhenAny(call, Threading.Tasks.Task.Delay(TimeSpan.FromSeconds 20.0))
            Expect.isTrue (obj.ReferenceEquals(finished, call)) "the log calls returned"
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            let records = receiver.LogRecords
            Expect.equal records.Count 2 "both entries exported"
            Expect.equal records[0].Attributes.Length 128 "the attribute count limit applied"
            Expect.isGreaterThan records[0].DroppedAttributesCount 0u "the pairs past the limit counted dropped"
            Expect.exists problems (fun (p: string) -> p.Contains "more than 4096 pairs") $"said: %A{List.ofSeq problems}"
        }
    ]

let private metrics =
    testList "metrics" [
        testTask "a measurement whose tag's Equals throws is dropped, counted on the Otlp meter as in DroppedMeasurements, and warned of once" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let name = uniqueName ()
            let options = OtlpMetricsOptions()
            options.Meters.Add name
            options.ExportInterval <- Nullable(TimeSpan.FromMinutes 10.0)
            use otlpMetrics = OtlpMetrics.Start(exporter, options)
            let mutable failed = 0L
            let listener = new MeterListener()
            use _listener = disposing listener
            listener.InstrumentPublished <-
                fun instrument l ->
                    if instrument.Meter.Name = Otlp.Diagnostics.OtlpSelfTelemetry.Name && instrument.Name = "otlp.metrics.measurements.dropped" then
                        l.EnableMeasurementEvents instrument
            listener.SetMeasurementEventCallback<int64>(fun _ value tags _ ->
                for t in tags do
                    if t.Key = "otlp.reason" && string t.Value = "recording_failed" then Interlocked.Add(&failed, value) |> ignore)
            listener.Start()
            let meter = new Meter(name)
            use _meter = disposing meter
            let counter = meter.CreateCounter<int64>("touchy")
            for _ in 1..3 do
                counter.Add(1L, KeyValuePair("t", box (Touchy())))
            Expect.equal otlpMetrics.DroppedMeasurements 2L "the measurements after the first (whose series they would join) dropped"
            Expect.equal (Interlocked.Read &failed) 2L "the same count on the Otlp meter"
            let warned = otlpMetrics.Warnings |> Seq.filter (fun w -> w.Contains "could not be recorded") |> List.ofSeq
            Expect.equal warned.Length 1 $"warned once ({warned})"
            Expect.stringContains warned[0] "'touchy'" "the metric named"
            Expect.stringContains warned[0] "InvalidOperationException" "the kind of fault named"
            Expect.isFalse (warned[0].Contains "no equality") "no exception message (it may hold the application's values)"
        }
    ]

[<Tests>]
let tests = testSequenced <| testList "Faults" [ tracing; logging; metrics ]

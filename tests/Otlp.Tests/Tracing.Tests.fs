/// Activities to spans: what arrives at the receiver is exactly the activity's data, and the samplers' laws.
module Otlp.Tests.TracingTests

open System
open System.Collections.Generic
open System.Diagnostics
open Expecto
open FsCheck.FSharp
open Otlp
open Otlp.Core
open Otlp.Testing
open Otlp.Tracing
open Otlp.Tests.Support

let private exporterFor (receiver: LoopbackReceiver) (pairs: (string * string) list) =
    OtlpExporter.ForTraces()
        .WithHttp()
        .WithBaseEndpoint(receiver.HttpEndpoint.ToString())
        .WithEnvironment(environment pairs)
        .Build()

/// A source name no other test listens to.
let private uniqueName () = $"Test.Bridge.{Guid.NewGuid():N}"

let private kv key value = { Key = key; Value = value }

let private traceIdOf (id: ActivityTraceId) = (TraceId.TryParseHex(id.ToHexString())).Value

let private spanIdOf (id: ActivitySpanId) = if id = Unchecked.defaultof<_> then SpanId.Empty else (SpanId.TryParseHex(id.ToHexString())).Value

let private nanos (time: DateTime) = uint64 (time.Ticks - DateTime.UnixEpoch.Ticks) * 100UL

/// Flushes, then returns what arrived (nothing is expected to be in flight after a flush).
let private flushAndCollect (exporter: OtlpTraceExporter) (receiver: LoopbackReceiver) =
    task {
        let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
        Expect.isTrue flushed "flushed"
        return receiver.Spans
    }

/// A tag value whose text is the application's code, and throws.
type private Unprintable() =
    override _.ToString() = raise (InvalidOperationException "no text")

/// A tag value that formats itself, and throws doing it.
type private Unformattable() =
    override _.ToString() = raise (InvalidOperationException "no text")
    interface IFormattable with
        member _.ToString(_: string, _: IFormatProvider) = raise (InvalidOperationException "no text")
    interface ISpanFormattable with
        member _.TryFormat(_: Span<char>, _: byref<int>, _: ReadOnlySpan<char>, _: IFormatProvider) =
            raise (InvalidOperationException "no format")

let private mapping =
    testList "mapping" [
        for json in [ false; true ] do
            testTask $"an ActivitySource's schema URL is its scope's schema_url; a source without one sends none (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let withSchema = uniqueName ()
                let without = uniqueName ()
                let schema = "https://opentelemetry.io/schemas/1.26.0"
                let sourceWithSchema = new ActivitySource(ActivitySourceOptions(withSchema, TelemetrySchemaUrl = schema))
                use _s1 = disposing sourceWithSchema
                let sourceWithout = new ActivitySource(without)
                use _s2 = disposing sourceWithout
                let tracer = OtlpTracer.Start(exporter, "Test.Bridge.*")
                use _tracer = disposing tracer
                do
                    use _ = sourceWithSchema.StartActivity("a")
                    ()
                do
                    use _ = sourceWithout.StartActivity("b")
                    ()
                let! (_: IReadOnlyList<Span>) = flushAndCollect exporter receiver
                let scopes =
                    [ for r in receiver.Requests do
                          for rs in r.TraceRequest.ResourceSpans do
                              for ss in rs.ScopeSpans do
                                  if ss.Scope.Name = withSchema || ss.Scope.Name = without then ss.Scope.Name, ss.SchemaUrl ]
                Expect.equal (List.sort scopes) (List.sort [ withSchema, schema; without, "" ]) "each scope with its source's schema URL"
            }

        for json in [ false; true ] do
            testTask $"a tag whose ToString throws is exported with a text that says so, and fails nothing else (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let name = uniqueName ()
                let source = new ActivitySource(name)
                use _source = disposing source
                let tracer = OtlpTracer.Start(exporter, name)
                use _tracer = disposing tracer
                do
                    use a = source.StartActivity("faulty")
                    a.SetTag("plain", Unprintable()).SetTag("formatted", Unformattable()).SetTag("array", [| box (Unprintable()) |]) |> ignore
                do
                    use _ = source.StartActivity("fine")
                    ()
                let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
                Expect.equal [ for s in spans -> s.Name ] [ "faulty"; "fine" ] "both spans arrive"
                Expect.equal
                    spans[0].Attributes
                    [| kv "plain" (AnyValue.String "(Unprintable.ToString threw InvalidOperationException)")
                       kv "formatted" (AnyValue.String "(Unformattable.ToString threw InvalidOperationException)")
                       kv "array" (AnyValue.Array [| AnyValue.String "(Unprintable.ToString threw InvalidOperationException)" |]) |]
                    "texts that say what happened"
            }

        testTask "a hand-built activity arrives with its kind, status, every tag type, events, links, trace state and remote parent" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver []
            let name = uniqueName ()
            let source = new ActivitySource(name, "1.2.3", [ KeyValuePair("library.tag", box "lib") ])
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name.Substring(0, name.Length - 4) + "*")
            use _tracer = disposing tracer
            let parent = ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "vendor=abc", true)
            let linked = ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, "l=1", false)
            let links = [ ActivityLink(linked, ActivityTagsCollection([ KeyValuePair("link.attr", box 5) ])) ]
            let activity = source.StartActivity("GET /items", ActivityKind.Client, parent, null, links)
            Expect.isNotNull activity "sampled"
            let tags: (string * obj) list =
                [ "string", box "text"; "bool", box true; "char", box 'c'; "sbyte", box -5y; "byte", box 200uy
                  "short", box -300s; "ushort", box 60000us; "int", box Int32.MinValue; "uint", box UInt32.MaxValue
                  "long", box Int64.MinValue; "ulong", box UInt64.MaxValue; "float", box 1.5f; "double", box nan
                  "decimal", box 2.25m; "strings", box [| "a"; null; "c" |]; "ints", box [| 1; 2 |]; "longs", box [| 3L |]
                  "doubles", box [| 0.5; infinity |]; "bools", box [| true; false |]; "objects", box [| box 1; box "x" |]
                  "bytes", box [| 1uy; 255uy |]; "sbytes", box [| -1y |]
                  "uri", box (Uri "http://example.com/") ]
            for key, value in tags do activity.SetTag(key, value) |> ignore
            activity.SetTag("otel.status_code", "OK") |> ignore
            let eventTime = DateTimeOffset.UtcNow
            activity.AddEvent(ActivityEvent("cache miss", eventTime, ActivityTagsCollection([ KeyValuePair("key", box "k1") ]))) |> ignore
            activity.SetStatus(ActivityStatusCode.Error, "boom") |> ignore
            activity.Stop()
            let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
            Expect.equal spans.Count 1 "one span"
            let expected =
                { TraceId = traceIdOf parent.TraceId
                  SpanId = spanIdOf activity.SpanId
                  TraceState = "vendor=abc"
                  ParentSpanId = spanIdOf parent.SpanId
                  Flags = 0x301u
                  Name = "GET /items"
                  Kind = SpanKind.Client
                  StartTimeUnixNano = nanos activity.StartTimeUtc
                  EndTimeUnixNano = nanos (activity.StartTimeUtc + activity.Duration)
                  Attributes =
                    [| kv "string" (AnyValue.String "text"); kv "bool" (AnyValue.Bool true); kv "char" (AnyValue.String "c")
                       kv "sbyte" (AnyValue.Int -5L); kv "byte" (AnyValue.Int 200L); kv "short" (AnyValue.Int -300L)
                       kv "ushort" (AnyValue.Int 60000L); kv "int" (AnyValue.Int (int64 Int32.MinValue))
                       kv "uint" (AnyValue.Int (int64 UInt32.MaxValue)); kv "long" (AnyValue.Int Int64.MinValue)
                       kv "ulong" (AnyValue.String "18446744073709551615"); kv "float" (AnyValue.Double 1.5)
                       kv "double" (AnyValue.Double nan); kv "decimal" (AnyValue.String "2.25")
                       kv "strings" (AnyValue.Array [| AnyValue.String "a"; AnyValue.Empty; AnyValue.String "c" |])
                       kv "ints" (AnyValue.Array [| AnyValue.Int 1L; AnyValue.Int 2L |])
                       kv "longs" (AnyValue.Array [| AnyValue.Int 3L |])
                       kv "doubles" (AnyValue.Array [| AnyValue.Double 0.5; AnyValue.Double infinity |])
                       kv "bools" (AnyValue.Array [| AnyValue.Bool true; AnyValue.Bool false |])
                       kv "objects" (AnyValue.Array [| AnyValue.Int 1L; AnyValue.String "x" |])
                       kv "bytes" (AnyValue.Bytes [| 1uy; 255uy |]); kv "sbytes" (AnyValue.Array [| AnyValue.Int -1L |])
                       kv "uri" (AnyValue.String "http://example.com/") |]
                  DroppedAttributesCount = 0u
                  Events = [| { TimeUnixNano = nanos eventTime.UtcDateTime; Name = "cache miss"; Attributes = [| kv "key" (AnyValue.String "k1") |]; DroppedAttributesCount = 0u } |]
                  DroppedEventsCount = 0u
                  Links =
                    [| { TraceId = traceIdOf linked.TraceId; SpanId = spanIdOf linked.SpanId; TraceState = "l=1"
                         Attributes = [| kv "link.attr" (AnyValue.Int 5L) |]; DroppedAttributesCount = 0u; Flags = 0x100u } |]
                  DroppedLinksCount = 0u
                  Status = { Code = StatusCode.Error; Message = "boom" } }
            Otlp.Core.Tests.Common.expectSame spans[0] expected "the span"
            let scope = receiver.Requests[0].TraceRequest.ResourceSpans[0].ScopeSpans[0].Scope
            Expect.equal (scope.Name, scope.Version) (name, "1.2.3") "scope"
            Expect.equal scope.Attributes [| kv "library.tag" (AnyValue.String "lib") |] "scope tags"
        }

        for json in [ false; true ] do
            testTask $"an activity that started before 1970 ends when it ended, not its duration after 0 (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let name = uniqueName ()
                let source = new ActivitySource(name)
                use _source = disposing source
                let tracer = OtlpTracer.Start(exporter, name)
                use _tracer = disposing tracer
                let start = DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero)
                let a = source.StartActivity("old", ActivityKind.Internal, Unchecked.defaultof<ActivityContext>, null, null, start)
                a.SetEndTime(DateTime(1970, 1, 1, 0, 0, 2, DateTimeKind.Utc)) |> ignore
                a.Stop()
                let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
                Expect.equal (spans[0].StartTimeUnixNano, spans[0].EndTimeUnixNano) (0UL, 2_000_000_000UL) "start clamped to 0, end as it was"
            }

        for json in [ false; true ] do
            testTask $"a key repeated with AddTag is sent once, its first occurrence, and not counted as dropped (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForTraces().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let name = uniqueName ()
                let source = new ActivitySource(name, "1.0", [ KeyValuePair("s", box 1); KeyValuePair("s", box 2) ])
                use _source = disposing source
                let tracer = OtlpTracer.Start(exporter, name)
                use _tracer = disposing tracer
                do
                    use a = source.StartActivity("repeated", ActivityKind.Internal, Unchecked.defaultof<ActivityContext>, [ KeyValuePair("k", box "created") ])
                    a.AddTag("k", "added").AddTag("other", 1).AddTag("other", 2).AddTag("k", null) |> ignore
                let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
                Expect.equal spans[0].Attributes [| kv "k" (AnyValue.String "created"); kv "other" (AnyValue.Int 1L) |] "each key once, the first"
                Expect.equal spans[0].DroppedAttributesCount 0u "nothing dropped"
                let scope = receiver.Requests[0].TraceRequest.ResourceSpans[0].ScopeSpans[0].Scope
                Expect.equal scope.Attributes [| kv "s" (AnyValue.Int 1L) |] "the scope's keys once too"
            }

        testTask "status comes from the otel.status_code tags when Activity.Status is unset, and those tags are not attributes" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver []
            let name = uniqueName ()
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            let run (code: string) (description: string) =
                use a = source.StartActivity("op")
                a.SetTag("otel.status_code", code).SetTag("otel.status_description", description).SetTag("x", 1) |> ignore
            run "ERROR" "bad input"
            run "ok" "ignored"
            run "UNSET" "ignored"
            let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
            Expect.equal [ for s in spans -> s.Status ] [ { Code = StatusCode.Error; Message = "bad input" }; { Code = StatusCode.Ok; Message = "" }; Status.Empty ] "statuses"
            for s in spans do Expect.equal s.Attributes [| kv "x" (AnyValue.Int 1L) |] "only the other tag"
            Expect.equal [ for s in spans -> s.Kind ] [ SpanKind.Internal; SpanKind.Internal; SpanKind.Internal ] "internal by default"
        }

        testTask "an activity becomes a span when its batch is exported, not when it stops" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            // A long delay keeps the batch queued after Stop, so the conversion can only have happened later.
            use exporter = exporterFor receiver [ "OTEL_BSP_SCHEDULE_DELAY", "60000" ]
            let name = uniqueName ()
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            let activity = source.StartActivity("before stop")
            activity.Stop()
            // Changing a stopped activity is unusual; it shows that Stop did not convert it on this thread.
            activity.DisplayName <- "seen at export"
            let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
            Expect.equal [ for s in spans -> s.Name ] [ "seen at export" ] "converted at export time"
        }

        testTask "generated activities arrive with exactly their names, kinds, tags and parents" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver []
            let name = uniqueName ()
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            let value =
                Gen.oneof [
                    Gen.map (fun (s: string) -> box (if isNull s then "" else s), AnyValue.String (if isNull s then "" else s)) (ArbMap.defaults.ArbFor<string>().Generator)
                    Gen.map (fun (i: int64) -> box i, AnyValue.Int i) (ArbMap.defaults.ArbFor<int64>().Generator)
                    Gen.map (fun (i: int) -> box i, AnyValue.Int (int64 i)) (ArbMap.defaults.ArbFor<int>().Generator)
                    Gen.map (fun (b: bool) -> box b, AnyValue.Bool b) (ArbMap.defaults.ArbFor<bool>().Generator)
                    Gen.map (fun (d: float) -> box d, AnyValue.Double d) (ArbMap.defaults.ArbFor<float>().Generator) ]
            let activityGen =
                gen {
                    let! opName = Gen.elements [ "a"; "GET /"; "ünïcödé 🚀"; String('x', 300) ]
                    let! kind = Gen.elements [ ActivityKind.Internal; ActivityKind.Server; ActivityKind.Client; ActivityKind.Producer; ActivityKind.Consumer ]
                    let! values = Gen.listOfLength 6 value
                    let! count = Gen.choose (0, 6)
                    let! withChild = Gen.elements [ true; false ]
                    return opName, kind, List.truncate count values, withChild
                }
            let cases = Gen.sampleWithSize 20 40 activityGen
            let expected = List<Span>()
            for opName, kind, values, withChild in cases do
                let a = source.StartActivity(opName, kind)
                values |> List.iteri (fun i (v, _) -> a.SetTag($"k{i}", v) |> ignore)
                let child = if withChild then source.StartActivity("child") else null
                if not (isNull child) then
                    child.Stop()
                    expected.Add { Span.Empty with TraceId = traceIdOf child.TraceId; SpanId = spanIdOf child.SpanId; ParentSpanId = spanIdOf a.SpanId; Name = "child"; Kind = SpanKind.Internal; Flags = 0x101u; StartTimeUnixNano = nanos child.StartTimeUtc; EndTimeUnixNano = nanos (child.StartTimeUtc + child.Duration) }
                a.Stop()
                expected.Add
                    { Span.Empty with
                        TraceId = traceIdOf a.TraceId; SpanId = spanIdOf a.SpanId; Name = opName; Kind = enum<SpanKind> (int kind + 1); Flags = 0x101u
                        StartTimeUnixNano = nanos a.StartTimeUtc; EndTimeUnixNano = nanos (a.StartTimeUtc + a.Duration)
                        Attributes = values |> List.mapi (fun i (_, v) -> kv $"k{i}" v) |> Array.ofList }
            let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
            Otlp.Core.Tests.Common.expectSame (Array.ofSeq spans) (expected.ToArray()) "every span, in stop order"
        }

        testTask "span limits from the environment are applied, with dropped counts" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver [ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"; "OTEL_SPAN_EVENT_COUNT_LIMIT", "1"; "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3" ]
            let name = uniqueName ()
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            do
                use a = source.StartActivity("limited")
                for i in 1..5 do a.SetTag($"k{i}", "abcdef") |> ignore
                a.AddEvent(ActivityEvent "e1").AddEvent(ActivityEvent "e2") |> ignore
            let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
            let span = spans[0]
            Expect.equal span.Attributes [| kv "k1" (AnyValue.String "abc"); kv "k2" (AnyValue.String "abc") |] "first two, truncated"
            Expect.equal (span.DroppedAttributesCount, span.Events.Length, span.DroppedEventsCount) (3u, 1, 1u) "dropped counts"
        }

        test "bad limit values are the configuration warnings of the exporters they concern, and the defaults are used" {
            let pairs =
                [ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "lots"
                  "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-5"
                  "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "1.5" ]
            use traces = OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment pairs).Build()
            use logs = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment pairs).Build()
            use metrics = OtlpExporter.ForMetrics().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment pairs).Build()
            let reported (warnings: IReadOnlyList<string>) (name: string) = warnings |> Seq.exists (fun w -> w.Contains name)
            Expect.isTrue (reported traces.ConfigurationWarnings "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" && reported traces.ConfigurationWarnings "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") "traces: the span and generic limits"
            Expect.isFalse (reported traces.ConfigurationWarnings "OTEL_LOGRECORD_") "traces: not the log record's"
            Expect.isTrue (reported logs.ConfigurationWarnings "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT" && reported logs.ConfigurationWarnings "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") "logs: the log record and generic limits"
            Expect.isFalse (reported logs.ConfigurationWarnings "OTEL_SPAN_") "logs: not the span's"
            Expect.isFalse (reported metrics.ConfigurationWarnings "_LIMIT") "metrics: none"
            use tracer = OtlpTracer.Start(traces, uniqueName ())
            Expect.equal tracer.Limits Limits.defaults.Span "the defaults"
        }
    ]

/// Starts `count` root activities (and one child of a remote parent for each parent given) under a tracer with
/// `sampler`, and returns the spans that arrived.
let private sampled (pairs: (string * string) list) (sampler: SamplerConfig option) (starts: ActivitySource -> unit) =
    task {
        let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
        use _receiver = receiver
        use exporter = exporterFor receiver pairs
        let name = uniqueName ()
        let source = new ActivitySource(name)
        use _source = disposing source
        let options = OtlpTracerOptions()
        options.Sources.Add name
        sampler |> Option.iter (fun s -> options.Sampler <- s)
        let tracer = OtlpTracer.Start(exporter, options)
        use _tracer = disposing tracer
        starts source
        let! (spans: IReadOnlyList<Span>) = flushAndCollect exporter receiver
        return spans.Count, tracer
    }

let private roots n (source: ActivitySource) =
    for _ in 1..n do
        use root = source.StartActivity("root")
        use _child = source.StartActivity("child")
        ()

let private under (flags: ActivityTraceFlags) (remote: bool) (source: ActivitySource) =
    let parent = ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags, null, remote)
    use _a = source.StartActivity("child of a parent", ActivityKind.Internal, parent)
    ()

let private sampling =
    testList "sampling" [
        test "a sampler given in code with a ratio that is not a number from 0 to 1 is refused as the tracer starts" {
            use exporter = OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environment []).Build()
            for ratio in [ Double.NaN; -0.1; 1.5 ] do
                let options = OtlpTracerOptions(Sampler = { Kind = SamplerKind.TraceIdRatio; Ratio = ratio })
                options.Sources.Add(uniqueName ())
                Expect.throwsT<ArgumentOutOfRangeException> (fun () -> OtlpTracer.Start(exporter, options) |> ignore) $"ratio {ratio}"
        }
        testTask "always_off from OTEL_TRACES_SAMPLER exports nothing" {
            let! count, _ = sampled [ "OTEL_TRACES_SAMPLER", "always_off" ] None (roots 10)
            Expect.equal count 0 "nothing"
        }
        testTask "a root's decision under the parent-based samplers is their root sampler's" {
            let! off, _ = sampled [ "OTEL_TRACES_SAMPLER", "parentbased_always_off" ] None (roots 10)
            let! on, _ = sampled [ "OTEL_TRACES_SAMPLER", "parentbased_always_on" ] None (roots 10)
            Expect.equal (off, on) (0, 20) "roots (and their children) dropped, then kept"
        }
        testTask "always_on exports everything, even under a parent that was not sampled" {
            let! count, _ = sampled [ "OTEL_TRACES_SAMPLER", "always_on" ] None (fun s -> roots 5 s; under ActivityTraceFlags.None true s)
            Expect.equal count 11 "everything"
        }
        testTask "traceidratio with ratio 0 exports nothing and ratio 1 everything" {
            let! none, _ = sampled [ "OTEL_TRACES_SAMPLER", "traceidratio"; "OTEL_TRACES_SAMPLER_ARG", "0" ] None (roots 10)
            let! all, _ = sampled [] (Some { Kind = SamplerKind.TraceIdRatio; Ratio = 1.0 }) (roots 10)
            Expect.equal (none, all) (0, 20) "extremes"
        }
        testTask "a ratio between keeps whole traces: a child follows its root" {
            let! count, _ = sampled [ "OTEL_TRACES_SAMPLER", "parentbased_traceidratio"; "OTEL_TRACES_SAMPLER_ARG", "0.5" ] None (roots 200)
            Expect.equal (count % 2) 0 "roots and children together"
            Expect.isTrue (count > 100 && count < 300) $"about half of 400: {count}"
        }
        testTask "parent-based samplers follow the parent's sampled flag, remote or local" {
            for kind in [ SamplerKind.ParentBasedAlwaysOn; SamplerKind.ParentBasedAlwaysOff; SamplerKind.ParentBasedTraceIdRatio ] do
                let sampler = Some { Kind = kind; Ratio = 0.0 }
                let! kept, _ = sampled [] sampler (fun s -> under ActivityTraceFlags.Recorded true s; under ActivityTraceFlags.Recorded false s)
                let! dropped, _ = sampled [] sampler (fun s -> under ActivityTraceFlags.None true s; under ActivityTraceFlags.None false s)
                Expect.equal (kept, dropped) (2, 0) $"{kind}"
        }
        testTask "a W3C parent id string is sampled like the context it holds" {
            let run (flags: string) =
                sampled [] None (fun s ->
                    let parentId = $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-{flags}"
                    use _a = s.StartActivity("from a parent id", ActivityKind.Server, parentId)
                    ())
            let! kept, _ = run "01"
            let! dropped, _ = run "00"
            Expect.equal (kept, dropped) (1, 0) "follows the flags of the id"
        }
        testTask "the default (parentbased_always_on) drops the children of an unsampled remote parent in-process too" {
            let! count, _ =
                sampled [] None (fun s ->
                    let parent = ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, null, true)
                    use _a = s.StartActivity("server", ActivityKind.Server, parent)
                    use _b = s.StartActivity("inner")
                    ())
            Expect.equal count 0 "the whole subtree is dropped"
        }
    ]

let private selection =
    testList "selection" [
        testTask "sources are chosen by name with wildcards; others are not listened to" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver []
            let prefix = uniqueName ()
            let tracer = OtlpTracer.Start(exporter, prefix + ".*", "Exact." + prefix)
            use _tracer = disposing tracer
            Expect.isTrue (tracer.ListensTo(prefix + ".Orders")) "wildcard"
            Expect.isTrue (tracer.ListensTo("exact." + prefix)) "exact, any case"
            Expect.isFalse (tracer.ListensTo(prefix)) "the prefix alone does not match 'prefix.*'"
            let other = new ActivitySource("Other." + prefix)
            use _other = disposing other
            Expect.isNull (other.StartActivity "unheard") "no activity for a source nobody listens to"
        }
        testTask "with OTEL_SDK_DISABLED nothing is listened to" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver [ "OTEL_SDK_DISABLED", "true" ]
            let name = uniqueName ()
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            let source = new ActivitySource(name)
            use _source = disposing source
            Expect.isNull (source.StartActivity "op") "no activity"
            Expect.isFalse (tracer.ListensTo name) "not listening"
        }
    ]

let private ownWork =
    testList "the exporter's own work" [
        testTask "its mark follows the flow into continuations on other threads and ends with its scope" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = exporterFor receiver []
            let name = uniqueName ()
            let tracer = OtlpTracer.Start(exporter, name)
            use _tracer = disposing tracer
            let source = new ActivitySource(name)
            use _source = disposing source
            let outer = source.StartActivity "application"
            Expect.isFalse Otlp.Diagnostics.ExporterOwnWork.IsCurrent "not marked before"

            let marked =
                task {
                    use _mark = Otlp.Diagnostics.ExporterOwnWork.Begin()
                    Expect.isNull Activity.Current "no current activity within the mark"
                    do! System.Threading.Tasks.Task.Yield()
                    let onPool = Otlp.Diagnostics.ExporterOwnWork.IsCurrent
                    let inside = source.StartActivity "exporter's own"
                    let nested =
                        (using (Otlp.Diagnostics.ExporterOwnWork.Begin()) (fun _ -> Otlp.Diagnostics.ExporterOwnWork.IsCurrent),
                         Otlp.Diagnostics.ExporterOwnWork.IsCurrent)
                    return onPool, inside, nested
                }

            let! (onPool, inside, nested) = marked
            Expect.isTrue onPool "marked in a continuation"
            Expect.isNull inside "the tracer samples nothing within the mark"
            Expect.equal nested (true, true) "a nested mark leaves the outer one in place"
            Expect.isFalse Otlp.Diagnostics.ExporterOwnWork.IsCurrent "not marked after"
            Expect.equal Activity.Current outer "the application's activity is current again"
            let after = source.StartActivity "after"
            Expect.isNotNull after "sampled again after the mark"
            after.Stop()
            outer.Stop()
        }
    ]

let private markedThread =
    testList "the export loop's thread" [
        testCase "is marked for good, and its requests' scopes then neither allocate nor unmark it" <| fun () ->
            let result = ref None
            let thread =
                Threading.Thread(fun () ->
                    Otlp.Diagnostics.ExporterOwnWork.MarkCurrentThread()
                    let before = GC.GetAllocatedBytesForCurrentThread()
                    let mutable insideEveryScope = true
                    for _ in 1..1000 do
                        use _scope = Otlp.Diagnostics.ExporterOwnWork.Begin()
                        insideEveryScope <- insideEveryScope && Otlp.Diagnostics.ExporterOwnWork.IsCurrent
                    let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                    let stillMarked = (using (Otlp.Diagnostics.ExporterOwnWork.Begin()) (fun scope -> not scope.MarkedHere))
                    result.Value <- Some(insideEveryScope, allocated, stillMarked))
            thread.Start()
            thread.Join()
            Expect.equal result.Value (Some(true, 0L, true)) "marked in every scope, nothing allocated, still marked after"
    ]

[<Tests>]
let tests = testSequenced <| testList "Bridge tracing" [ mapping; sampling; selection; ownWork; markedThread ]

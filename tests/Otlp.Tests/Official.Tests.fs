/// Differential tests against the official exporter (OpenTelemetry .NET, OpenTelemetry.Exporter.OpenTelemetryProtocol):
/// the same generated activities and log entries go through both, over HTTP/protobuf to handlers that keep the
/// request bodies; both are decoded with the oracle and compared span by span and record by record, after the
/// normalisations listed before `normaliseSpans` and `normaliseLogs`, each saying why it is not a disagreement.
module Otlp.Tests.OfficialTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Http
open System.Net.Http.Headers
open System.Threading.Tasks
open Expecto
open FsCheck
open FsCheck.FSharp
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Core
open Otlp.Core.Tests
open Otlp.Logging
open Otlp.Tracing
open Otlp.Tests.Support

type private OfficialOptions = OpenTelemetry.Exporter.OtlpExporterOptions

/// Keeps every request body and answers 200 with an empty protobuf body (full success). The official exporter
/// sends synchronously, ours asynchronously: both are served.
type private CapturingHandler() =
    inherit HttpMessageHandler()
    let bodies = ConcurrentQueue<byte array>()

    static member private Reply() =
        let content = new ByteArrayContent([||])
        content.Headers.ContentType <- MediaTypeHeaderValue("application/x-protobuf")
        new HttpResponseMessage(HttpStatusCode.OK, Content = content)

    member _.Bodies = bodies.ToArray()

    member this.CreateClient() = new HttpClient(this, false)

    override _.Send(request, token) =
        use body = new MemoryStream()
        request.Content.CopyTo(body, null, token)
        bodies.Enqueue(body.ToArray())
        CapturingHandler.Reply()

    override _.SendAsync(request, token) =
        task {
            use body = new MemoryStream()
            do! request.Content.CopyToAsync(body, token)
            bodies.Enqueue(body.ToArray())
            return CapturingHandler.Reply()
        }

/// The official exporter's options: HTTP/protobuf to the handler, exporting as soon as an item ends.
let private officialOptions (handler: CapturingHandler) (signal: string) (o: OfficialOptions) =
    o.Protocol <- OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf
    o.Endpoint <- Uri $"http://localhost:4318/v1/{signal}"
    o.HttpClientFactory <- Func<HttpClient>(handler.CreateClient)
    o.ExportProcessorType <- OpenTelemetry.ExportProcessorType.Simple

// ------------------------------------------------------------------------------------------------- generated values

/// A tag or log argument value of every type an application hands to an activity or a logger.
let private values: Gen<obj> =
    let scalars: obj list =
        [ null; box ""; box "text"; box "ünïcödé 🚀 𝄞"; box (String('x', 5000)); box "line\nbreak\u0000nul"
          box true; box false; box 0; box Int32.MinValue; box Int32.MaxValue; box 0L; box Int64.MinValue; box Int64.MaxValue
          box 0.0; box -0.0; box 1.5; box nan; box infinity; box -infinity; box Double.Epsilon; box Double.MaxValue
          box 1.1f; box Single.NaN; box Single.PositiveInfinity
          box 200uy; box -5y; box -300s; box 60000us; box UInt32.MaxValue; box UInt64.MaxValue; box 2.25m; box -1.5e-10m
          box 'c'; box DayOfWeek.Friday; box (Uri "http://example.com/a?b=c"); box (Guid "01234567-89ab-cdef-0123-456789abcdef")
          box (TimeSpan.FromMilliseconds 1500.0); box (DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc))
          box (DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours 2.0)) ]
    let arrays: obj list =
        [ box ([||]: string array); box [| "a"; null; ""; "ü🚀" |]; box [| true; false |]; box [| 1; Int32.MinValue |]
          box [| 3L; Int64.MaxValue |]; box [| 0.5; nan; infinity; -0.0 |]; box [| 1.1f; Single.NaN |]; box [| 1uy; 255uy |]
          box [| -1y |]; box [| -2s |]; box [| 3us |]; box [| UInt32.MaxValue |]; box [| UInt64.MaxValue |]; box [| 1.25m |]
          box [| 'a'; 'b' |]; box [| box 1; box "x"; null; box 2.5 |]; box ([||]: int array)
          box (List<int>([ 1; 2 ])); box [| [| 1 |] |] ]
    Gen.oneof [ Gen.elements scalars; Gen.elements arrays ]

/// Keys from a small pool, so that keys repeat; the empty key too.
let private keys = Gen.elements [ "k0"; "k1"; "k2"; "k3"; "http.method"; "ünï.key"; "" ]

/// An array of enums goes under its own key, `enums`: the official exporter sends its ordinals, we send its names
/// (see `normaliseSpans`).
let private enumArray = Gen.constant ("enums", box [| DayOfWeek.Monday; DayOfWeek.Friday |])

let private tagsOf (count: int) = Gen.listOfLength count (Gen.frequency [ 12, Gen.zip keys values; 1, enumArray ])

let private tags = Gen.choose (0, 5) |> Gen.bind tagsOf

let private traceStates = Gen.elements [ null; ""; "vendor=abc"; "a=1,b=2"; "congo=t61rcWkgMzE" ]

let private flagsGen = Gen.elements [ ActivityTraceFlags.None; ActivityTraceFlags.Recorded ]

/// The one offset other than UTC's that generated times have.
let private localOffset = TimeSpan.FromHours -7.0

/// Times of events and starts: now, exact milliseconds, sub-microsecond ticks, local offsets, the epoch and before.
let private times =
    Gen.elements
        [ None
          Some(DateTimeOffset(2026, 3, 4, 5, 6, 7, 89, TimeSpan.Zero))
          Some(DateTimeOffset(2026, 3, 4, 5, 6, 7, localOffset).AddTicks 12345L)
          Some(DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero))
          Some(DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero)) ]

type private ParentCase =
    | NoParent
    | RemoteParent of ActivityTraceFlags * string
    | LocalContext of ActivityTraceFlags * string
    | LocalActivity

type private LinkCase =
    { Flags: ActivityTraceFlags
      State: string
      Remote: bool
      Empty: bool
      Tags: (string * obj) list }

type private EventCase =
    { Name: string
      Time: DateTimeOffset option
      Tags: (string * obj) list }

type private TraceCase =
    { Name: string
      DisplayName: string option
      Kind: ActivityKind
      Parent: ParentCase
      TraceState: string option
      CreationTags: (string * obj) list
      SetTags: (string * obj) list
      AddTags: (string * obj) list
      Status: ActivityStatusCode
      Description: string
      StatusTags: (string * obj) list
      Events: EventCase list
      Links: LinkCase list
      AddedLinks: LinkCase list
      Exception: bool
      Start: DateTimeOffset option
      Duration: TimeSpan option
      Unrecorded: bool
      /// Past the default limits (128 attributes, events and links): 140 more tags, events and links.
      Many: bool }

let private linkGen =
    gen {
        let! flags = flagsGen
        let! state = traceStates
        let! remote = Gen.elements [ true; false ]
        let! empty = Gen.frequency [ 9, Gen.constant false; 1, Gen.constant true ]
        let! tags = tags
        return { Flags = flags; State = state; Remote = remote; Empty = empty; Tags = tags }
    }

let private eventGen =
    gen {
        let! name = Gen.elements [ "e"; ""; "cache miss"; "ünï 🚀" ]
        let! time = times
        let! tags = tags
        return { Name = name; Time = time; Tags = tags }
    }

let private traceCase =
    gen {
        let! name = Gen.elements [ "op"; "GET /items/{id}"; "ünïcödé 🚀"; String('n', 300) ]
        let! displayName = Gen.elements [ None; Some ""; Some "renamed"; Some "ü 𝄞" ]
        let! kind = Gen.elements [ ActivityKind.Internal; ActivityKind.Server; ActivityKind.Client; ActivityKind.Producer; ActivityKind.Consumer ]
        let! parent =
            Gen.oneof
                [ Gen.constant NoParent
                  Gen.map2 (fun f s -> RemoteParent(f, s)) flagsGen traceStates
                  Gen.map2 (fun f s -> LocalContext(f, s)) flagsGen traceStates
                  Gen.constant LocalActivity ]
        let! traceState = Gen.elements [ None; Some ""; Some "own=1" ]
        let! creationTags = tags
        let! setTags = tags
        let! addTags = tags
        let! status = Gen.elements [ ActivityStatusCode.Unset; ActivityStatusCode.Ok; ActivityStatusCode.Error ]
        let! description = Gen.elements [ null; ""; "boom"; "ü 🚀" ]
        let! statusTags =
            Gen.elements
                [ []
                  [ "otel.status_code", box "ERROR"; "otel.status_description", box "tagged" ]
                  [ "otel.status_code", box "OK" ]
                  [ "otel.status_code", box "ok"; "otel.status_description", box "ignored" ]
                  [ "otel.status_code", box "UNSET" ]
                  [ "otel.status_code", box "bogus" ]
                  [ "otel.status_code", box 2 ]
                  [ "otel.status_description", box "alone" ] ]
        let! events = Gen.choose (0, 3) |> Gen.bind (fun n -> Gen.listOfLength n eventGen)
        let! links = Gen.choose (0, 2) |> Gen.bind (fun n -> Gen.listOfLength n linkGen)
        let! addedLinks = Gen.choose (0, 1) |> Gen.bind (fun n -> Gen.listOfLength n linkGen)
        let! exn = Gen.frequency [ 4, Gen.constant false; 1, Gen.constant true ]
        let! start = Gen.frequency [ 3, Gen.constant None; 1, times ]
        let! duration = Gen.elements [ None; Some TimeSpan.Zero; Some(TimeSpan.FromTicks 1L); Some(TimeSpan.FromSeconds 2.5); Some(TimeSpan.FromSeconds -1.0) ]
        let! unrecorded = Gen.frequency [ 9, Gen.constant false; 1, Gen.constant true ]
        let! many = Gen.frequency [ 15, Gen.constant false; 1, Gen.constant true ]
        return
            { Name = name; DisplayName = displayName; Kind = kind; Parent = parent; TraceState = traceState
              CreationTags = creationTags; SetTags = setTags; AddTags = addTags; Status = status; Description = description
              StatusTags = statusTags; Events = events; Links = links; AddedLinks = addedLinks; Exception = exn
              Start = start; Duration = duration; Unrecorded = unrecorded; Many = many }
    }

let private pairs (tags: (string * obj) list) = [ for k, v in tags -> KeyValuePair<string, obj>(k, v) ]

let private link (l: LinkCase) =
    let context =
        if l.Empty then
            Unchecked.defaultof<ActivityContext>
        else
            ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), l.Flags, l.State, l.Remote)
    ActivityLink(context, (if l.Tags.IsEmpty then null else ActivityTagsCollection(pairs l.Tags)))

let private thrown () =
    try
        invalidOp "boom"
    with e ->
        e

/// Runs one case on `source`: its activity (and a local parent's) started, changed and stopped. Its span id.
let private run (source: ActivitySource) (c: TraceCase) =
    Activity.Current <- null
    let local: Activity = if c.Parent = LocalActivity then source.StartActivity("local parent") else null
    let parent =
        match c.Parent with
        | NoParent
        | LocalActivity -> Unchecked.defaultof<ActivityContext>
        | RemoteParent(flags, state) -> ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags, state, true)
        | LocalContext(flags, state) -> ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags, state, false)
    let activity =
        source.StartActivity(c.Name, c.Kind, parent, pairs c.CreationTags, [ for l in c.Links -> link l ], defaultArg c.Start Unchecked.defaultof<_>)
    c.DisplayName |> Option.iter (fun n -> activity.DisplayName <- n)
    c.TraceState |> Option.iter (fun s -> activity.TraceStateString <- s)
    for k, v in c.SetTags do activity.SetTag(k, v) |> ignore
    for k, v in c.AddTags do activity.AddTag(k, v) |> ignore
    for k, v in c.StatusTags do activity.SetTag(k, v) |> ignore
    if c.Status <> ActivityStatusCode.Unset || not (isNull c.Description) then activity.SetStatus(c.Status, c.Description) |> ignore
    for e in c.Events do
        let tags = if e.Tags.IsEmpty then null else ActivityTagsCollection(pairs e.Tags)
        activity.AddEvent(ActivityEvent(e.Name, defaultArg e.Time Unchecked.defaultof<_>, tags)) |> ignore
    for l in c.AddedLinks do activity.AddLink(link l) |> ignore
    if c.Exception then activity.AddException(thrown ()) |> ignore
    if c.Many then
        for i in 1..140 do
            activity.SetTag($"many.{i}", i).AddEvent(ActivityEvent($"event {i}")) |> ignore
            activity.AddLink(ActivityLink(ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None))) |> ignore
    c.Duration |> Option.iter (fun d -> activity.SetEndTime(activity.StartTimeUtc + d) |> ignore)
    if c.Unrecorded then activity.ActivityTraceFlags <- ActivityTraceFlags.None
    activity.Stop()
    if not (isNull local) then local.Stop()
    Activity.Current <- null
    activity.SpanId.ToHexString()

// ---------------------------------------------------------------------------------------------------- comparison

/// A span with the scope it arrived under.
type private Arrived = { Scope: InstrumentationScope; Span: Span }

let private spansOf (bodies: byte array array) =
    [| for body in bodies do
           let request = Oracle.toTraceRequest (Oracle.TraceRequest.Parser.ParseFrom body)
           for rs in request.ResourceSpans do
               for ss in rs.ScopeSpans do
                   for s in ss.Spans -> rs.Resource, { Scope = ss.Scope; Span = s } |]

let private resourcesOf (arrived: (Resource * Arrived) array) = arrived |> Array.map fst |> Array.distinct

/// A value in one short line, for the report.
let rec private show (value: obj) : string =
    let cut (s: string) = if s.Length > 40 then s.Substring(0, 40) + $"...({s.Length})" else s
    match value with
    | :? AnyValue as v ->
        match v with
        | AnyValue.String s -> "\"" + cut (s.Replace("\u0000", "\\0").Replace("\n", "\\n")) + "\""
        | AnyValue.Int i -> $"{i}L"
        | AnyValue.Double d -> d.ToString("R", Globalization.CultureInfo.InvariantCulture)
        | AnyValue.Bool b -> string b
        | AnyValue.Empty -> "Empty"
        | AnyValue.Bytes b -> $"bytes{b.Length}"
        | AnyValue.Array items -> "[" + String.Join("; ", items |> Array.map (box >> show)) + "]"
        | AnyValue.KvList kvs -> "{" + String.Join("; ", kvs |> Array.map (box >> show)) + "}"
    | :? KeyValue as kv -> $"{kv.Key}={show (box kv.Value)}"
    | :? string as s -> "\"" + cut s + "\""
    | :? Array as a -> "[" + String.Join("; ", [ for x in a -> show x ]) + "]"
    | null -> "null"
    | v ->
        let text = (sprintf "%A" v).Replace("\n", " ")
        if text.Length > 300 then text.Substring(0, 300) + " ..." else text

let private allFields = Reflection.BindingFlags.Public ||| Reflection.BindingFlags.NonPublic

/// Field-by-field differences of two values (records and arrays of the same length are walked; everything else
/// compared with `Common.sameValue`), as `path: ours <> official` lines.
let rec private differences (path: string) (ours: obj) (official: obj) : string list =
    if Common.sameValue ours official then
        []
    else
        match ours, official with
        | (:? Array as a), (:? Array as b) when a.Length = b.Length && not (a :? byte array) ->
            [ for i in 0 .. a.Length - 1 do yield! differences $"{path}[{i}]" (a.GetValue i) (b.GetValue i) ]
        | null, _
        | _, null -> [ $"{path}: {show ours} <> {show official}" ]
        | _ when ours.GetType() = official.GetType() && Reflection.FSharpType.IsRecord(ours.GetType(), allFields) ->
            [ for (field: Reflection.PropertyInfo) in Reflection.FSharpType.GetRecordFields(ours.GetType(), allFields) do
                  yield! differences $"{path}.{field.Name}" (field.GetValue ours) (field.GetValue official) ]
        | _ -> [ $"{path}: {show ours} <> {show official}" ]

/// Fails with the first differences and the first cases that show them, and the generator's seed.
let private expectNone (differences: List<string>) (cases: string list) (seed: uint64) =
    if differences.Count > 0 then
        let lines = Seq.truncate 40 differences |> String.concat "\n"
        let shown = List.truncate 4 cases |> String.concat "\n"
        failtestf "%d differences (seed %d):\n%s\nthe cases:\n%s" differences.Count seed lines shown

// Every normalisation says why the difference it removes is not a disagreement of ours; each is applied to the pair.

/// The resource without `telemetry.sdk.*`, in key order: each SDK names itself there (semantic conventions,
/// "telemetry.sdk"), and the order of an attribute collection carries nothing (common spec, "Attribute Collections").
let private normaliseResource (r: Resource) =
    { r with Attributes = r.Attributes |> Array.filter (fun a -> not (a.Key.StartsWith "telemetry.sdk.")) |> Array.sortBy (fun a -> a.Key) }

/// The official exporter sends attributes with an empty key; the common spec says "The attribute key MUST be a
/// non-null and non-empty string", and we leave them out.
let private withoutEmptyKeys (attributes: KeyValue array) = attributes |> Array.filter (fun a -> a.Key <> "")

/// The official exporter sends an array of enums as their ordinals (a single enum as its name); the attribute
/// mapping (common spec, "Enumerations") asks for the symbolic name, which we send. Generated under `enums` only.
let private enumNames (attributes: KeyValue array) =
    attributes
    |> Array.map (fun a ->
        match a.Key, a.Value with
        | "enums", AnyValue.Array items ->
            let name v = match v with AnyValue.Int i -> AnyValue.String(Enum.GetName(typeof<DayOfWeek>, int i)) | other -> other
            { a with Value = AnyValue.Array(Array.map name items) }
        | _ -> a)

/// The official exporter writes a time before 1970 as a negative number of nanoseconds, which the unsigned
/// fixed64 field wraps to about 1.8e19 (year 2554); we send 0, the earliest time the field can hold.
let private unwrapped (nanos: uint64) = if nanos > uint64 Int64.MaxValue then 0UL else nanos

let private officialAttributes = withoutEmptyKeys >> enumNames

/// The official exporter sends every tag of an activity, a key that AddTag repeated as often as it was added; the
/// common spec ("Attribute Collections") says exported collections MUST hold unique keys: we keep the first
/// occurrence (docs/usage.md), as here.
let private firstOfEachKey (attributes: KeyValue array) = attributes |> Array.distinctBy (fun a -> a.Key)

/// The official exporter writes an event's DateTimeOffset by its clock time as if it were UTC, dropping the offset:
/// an event at 05:06:07-07:00 (12:06:07Z) arrives at 05:06:07Z. We send the instant (Timestamp.UtcDateTime).
let private eventTime (ours: SpanEvent) (theirs: SpanEvent) =
    let shifted = uint64 (-localOffset.Ticks) * 100UL
    if ours.TimeUnixNano > shifted && theirs.TimeUnixNano = ours.TimeUnixNano - shifted then ours.TimeUnixNano else theirs.TimeUnixNano

/// With a value length limit, the official exporter cuts strings and the strings of string[] but not the texts of
/// other arrays' elements (a ulong[]'s "18446744073709551615"); the common spec ("Attribute Limits") says the limit
/// applies to each string of an array (and each element of an array of AnyValue), as we apply it.
let private elementsCut (valueLimit: int option) (attributes: KeyValue array) =
    match valueLimit with
    | None -> attributes
    | Some limit ->
        let cut v = match v with AnyValue.String text -> AnyValue.String(Limits.truncateString limit text) | other -> other
        attributes
        |> Array.map (fun a ->
            match a.Value with
            | AnyValue.Array items -> { a with Value = AnyValue.Array(Array.map cut items) }
            | _ -> a)

/// Past the attribute count limit (128), the official exporter's 128 include the empty keys and repeats it sends and
/// we do not (see above), so it keeps fewer attributes we share and counts more as dropped. When what it kept is
/// the start of what we kept, the two are taken as agreeing.
let private limited (ours: Span) (theirs: Span) =
    let shared = theirs.Attributes
    if theirs.DroppedAttributesCount > 0u && shared.Length <= ours.Attributes.Length && Common.sameValue (box shared) (box ours.Attributes[.. shared.Length - 1]) then
        { theirs with Attributes = ours.Attributes; DroppedAttributesCount = ours.DroppedAttributesCount }
    else
        theirs

let private normaliseSpans (valueLimit: int option) (ours: Arrived) (official: Arrived) =
    let officialAttributes = officialAttributes >> elementsCut valueLimit
    let t = official.Span
    let theirs =
        { t with
            StartTimeUnixNano = unwrapped t.StartTimeUnixNano
            EndTimeUnixNano = unwrapped t.EndTimeUnixNano
            Attributes = t.Attributes |> officialAttributes |> firstOfEachKey
            Events =
                t.Events
                |> Array.mapi (fun i e ->
                    let time = if i < ours.Span.Events.Length then eventTime ours.Span.Events[i] e else e.TimeUnixNano
                    { e with TimeUnixNano = unwrapped time; Attributes = officialAttributes e.Attributes })
            Links = t.Links |> Array.map (fun l -> { l with Attributes = officialAttributes l.Attributes }) }
    ours, { official with Span = limited ours.Span theirs }

/// The generators' seed: `fallback`, or OTLP_OFFICIAL_SEED to explore others (the seed is in every failure).
let private seedOr (fallback: uint64) =
    match Environment.GetEnvironmentVariable "OTLP_OFFICIAL_SEED" with
    | null
    | "" -> fallback
    | seed -> UInt64.Parse seed

let private traceSeed = seedOr 20260404UL

let private traces (valueLimit: int option) =
    testTask $"generated activities arrive from both exporters as the same spans, under the same scopes (value length limit {valueLimit})" {
        let cases = Gen.sampleWithSeed (Rnd traceSeed) 30 150 traceCase
        let ourHandler = new CapturingHandler()
        let officialHandler = new CapturingHandler()
        let name = $"Test.Official.{Guid.NewGuid():N}"
        let source = new ActivitySource(name, "1.2.3-beta", [ KeyValuePair("library.tag", box "lib"); KeyValuePair("n", box 5) ])
        use _source = disposing source
        // The attribute value length limit from the environment, which the official SDK reads as its provider is built.
        let lengthLimit = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
        let limits = [ for l in Option.toList valueLimit -> lengthLimit, string l ]
        use exporter =
            OtlpExporter.ForTraces().WithHttp().WithHttpClientFactory(Func<_>(ourHandler.CreateClient))
                .WithBaseEndpoint("http://localhost:4318").WithEnvironment(environment limits).Build()
        let before = Environment.GetEnvironmentVariable lengthLimit
        valueLimit |> Option.iter (fun l -> Environment.SetEnvironmentVariable(lengthLimit, string l))
        let options = OtlpTracerOptions(Sampler = { Kind = SamplerKind.AlwaysOn; Ratio = 1.0 })
        options.Sources.Add name
        let tracer = OtlpTracer.Start(exporter, options)
        use _tracer = disposing tracer
        let official =
            let builder =
                OpenTelemetry.Trace.TracerProviderBuilderExtensions.SetSampler(OpenTelemetry.Sdk.CreateTracerProviderBuilder(), OpenTelemetry.Trace.AlwaysOnSampler())
                    .AddSource(name)
            OpenTelemetry.Trace.TracerProviderBuilderExtensions.Build(
                OpenTelemetry.Trace.OtlpTraceExporterHelperExtensions.AddOtlpExporter(builder, Action<_>(officialOptions officialHandler "traces")))
        use _official = disposing official
        Environment.SetEnvironmentVariable(lengthLimit, before)
        let caseOf = dict [ for i, c in Array.indexed cases -> run source c, (i, c) ]
        let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 30.0))
        Expect.isTrue flushed "ours flushed"
        Expect.isTrue (OpenTelemetry.Trace.TracerProviderExtensions.ForceFlush(official, 30000)) "the official flushed"
        let ours = spansOf ourHandler.Bodies
        let theirs = spansOf officialHandler.Bodies
        let report = List<string>()
        let resources = Array.map normaliseResource (Array.append (resourcesOf ours) (resourcesOf theirs)) |> Array.distinct
        if resources.Length <> 1 then report.Add $"resources: %A{resources}"
        let byId (arrived: (Resource * Arrived) array) = arrived |> Array.map (fun (_, a) -> a.Span.SpanId, a) |> dict
        let ourSpans, theirSpans = byId ours, byId theirs
        Expect.isGreaterThan ourSpans.Count 150 "every case's span and the local parents"
        for id in Seq.append ourSpans.Keys theirSpans.Keys |> Seq.distinct do
            match ourSpans.TryGetValue id, theirSpans.TryGetValue id with
            | (true, o), (true, t) ->
                let o, t = normaliseSpans valueLimit o t
                for d in differences "span" (box o) (box t) do
                    let case = match caseOf.TryGetValue(id.ToHex()) with | true, (i, _) -> $"case {i}" | _ -> "local parent"
                    report.Add $"{case} {id}: {d}"
            | (true, o), _ -> report.Add $"only ours: %A{o}"
            | _, (true, t) -> report.Add $"only official: %A{t}"
            | _ -> ()
        let cases = [ for KeyValue(_, (i, c)) in caseOf do if report |> Seq.exists (fun l -> l.StartsWith $"case {i} ") then yield i, c ]
        expectNone report [ for i, c in cases -> $"case {i}: %A{c}" ] traceSeed
    }

// ----------------------------------------------------------------------------------------------------------- logs

type private ScopeCase =
    | TemplateScope of obj
    | PairsScope of (string * obj) list
    | TextScope
    | ObjectScope

type private StateCase =
    /// `logger.Log(level, eventId, exception, template, args)`: the framework's own state.
    | Template of names: string list * args: obj list
    /// A list of pairs of the application's own, and the message its formatter gives.
    | Pairs of (string * obj) list * message: string

type private LogCase =
    { Level: LogLevel
      EventId: int
      EventName: string
      State: StateCase
      Exception: bool
      Scopes: ScopeCase list
      Activity: ActivityTraceFlags option }

let private logCase =
    gen {
        let! level = Gen.elements [ LogLevel.Trace; LogLevel.Debug; LogLevel.Information; LogLevel.Warning; LogLevel.Error; LogLevel.Critical ]
        let! eventId = Gen.elements [ 0; 1; 42; -7; Int32.MaxValue ]
        let! eventName = Gen.elements [ null; ""; "OrderReceived"; "ünï" ]
        let! count = Gen.choose (0, 4)
        let! names = Gen.listOfLength count (Gen.elements [ "A"; "B"; "Count"; "Value,8"; "ünï"; "A" ])
        let! args = Gen.listOfLength count values
        let! pairs = tags
        let! message = Gen.elements [ ""; "custom message" ]
        let many = [ for i in 1..140 -> $"many.{i}", box i ]
        let! state =
            Gen.frequency [ 40, Gen.constant (Template(names, args)); 10, Gen.constant (Pairs(pairs, message)); 1, Gen.constant (Pairs(many, "many")) ]
        let! exn = Gen.frequency [ 3, Gen.constant false; 1, Gen.constant true ]
        let! scopeCount = Gen.choose (0, 3)
        let! scopes =
            Gen.listOfLength scopeCount (
                Gen.oneof [ Gen.map TemplateScope values; Gen.map PairsScope tags; Gen.constant TextScope; Gen.constant ObjectScope ])
        let! activity = Gen.elements [ None; Some ActivityTraceFlags.None; Some ActivityTraceFlags.Recorded ]
        return { Level = level; EventId = eventId; EventName = eventName; State = state; Exception = exn; Scopes = scopes; Activity = activity }
    }

/// Logs one case on `logger`, within its scopes and activity.
let private log (logger: ILogger) (c: LogCase) =
    Activity.Current <- null
    let activity =
        c.Activity |> Option.map (fun flags ->
            let a = new Activity("log parent")
            a.ActivityTraceFlags <- flags
            a.Start())
    let scopes =
        [ for s in c.Scopes ->
              match s with
              | TemplateScope v -> logger.BeginScope("Scope {S}", v)
              | PairsScope pairs -> logger.BeginScope(List<KeyValuePair<string, obj>>(pairs |> List.map (fun (k, v) -> KeyValuePair<string, obj>(k, v))))
              | TextScope -> logger.BeginScope("just text")
              | ObjectScope -> logger.BeginScope(42) ]
    let error = if c.Exception then thrown () else null
    let eventId = EventId(c.EventId, c.EventName)
    match c.State with
    | Template(names, args) ->
        let template = "Message" + String.Join("", [ for n in names -> " {" + n + "}" ])
        logger.Log(c.Level, eventId, error, template, Array.ofList args)
    | Pairs(pairs, message) ->
        logger.Log(c.Level, eventId, List<KeyValuePair<string, obj>>(pairs |> List.map (fun (k, v) -> KeyValuePair<string, obj>(k, v))), error, Func<_, _, _>(fun _ _ -> message))
    for s in List.rev scopes do s.Dispose()
    activity |> Option.iter (fun a -> a.Stop())
    Activity.Current <- null

let private recordsOf (bodies: byte array array) =
    [| for body in bodies do
           let request = Oracle.toLogsRequest (Oracle.LogsRequest.Parser.ParseFrom body)
           for rl in request.ResourceLogs do
               for sl in rl.ScopeLogs do
                   for r in sl.LogRecords -> rl.Resource, sl.Scope, r |]

/// The official exporter sends every occurrence of a repeated key (a template naming a placeholder twice, a scope's
/// key again), in its own order (exception attributes first, then the state's, then the scopes' from the outermost);
/// the logs data model says "Attribute keys MUST be unique" and order carries nothing (common spec, "Attribute
/// Collections"): we keep one of each (docs/usage.md says which). So their attributes are taken in our order, for
/// each key the occurrence equal to ours if there is one, and the keys we do not send after them.
let private inOurOrder (ours: KeyValue array) (theirs: KeyValue array) =
    let taken =
        [| for o in ours do
               let candidates = theirs |> Array.filter (fun t -> t.Key = o.Key)
               match candidates |> Array.tryFind (fun t -> Common.sameValue (box t.Value) (box o.Value)) with
               | Some t -> t
               | None when candidates.Length > 0 -> candidates[0]
               | None -> () |]
    let ourKeys = set [ for o in ours -> o.Key ]
    Array.append taken (theirs |> Array.filter (fun t -> not (ourKeys.Contains t.Key)))

/// The official exporter's `exception.type` is the type's name; the semantic conventions ("Exceptions") ask for
/// "the fully-qualified class name", which we send. The one type thrown here is InvalidOperationException; under
/// a value length limit both names are cut.
let private qualifiedExceptionType (valueLimit: int option) (theirs: KeyValue array) =
    let cut = match valueLimit with Some limit -> Limits.truncateString limit | None -> id
    let thrownType = typeof<InvalidOperationException>
    theirs
    |> Array.map (fun t ->
        match t.Key, t.Value with
        | "exception.type", AnyValue.String name when name = cut thrownType.Name -> { t with Value = AnyValue.String(cut thrownType.FullName) }
        | _ -> t)

let private normaliseLogs (valueLimit: int option) (ours: LogRecord) (official: LogRecord) =
    // Each logger reads the clock itself, one after the other: the times differ by the time between their calls.
    let near (a: uint64) (b: uint64) = abs (int64 a - int64 b) < 5_000_000_000L
    let times (r: LogRecord) =
        if near ours.TimeUnixNano official.TimeUnixNano && near ours.ObservedTimeUnixNano official.ObservedTimeUnixNano then
            { r with TimeUnixNano = 0UL; ObservedTimeUnixNano = 0UL }
        else
            r
    let theirAttributes = official.Attributes |> officialAttributes |> qualifiedExceptionType valueLimit |> inOurOrder ours.Attributes
    // Past the attribute count limit (128), which attributes stay depends on the order each exporter adds them (ours:
    // the entry's values, then the exception's; theirs: the exception's first). The common spec ("Attribute Limits")
    // leaves that order to the implementation: the attributes both kept are compared. Their dropped count also counts
    // the repeated keys they send (see `inOurOrder`), so it may be the larger.
    let official =
        if ours.DroppedAttributesCount > 0u && official.DroppedAttributesCount >= ours.DroppedAttributesCount then
            { official with DroppedAttributesCount = ours.DroppedAttributesCount }
        else
            official
    let ours, theirAttributes =
        if ours.DroppedAttributesCount > 0u && ours.DroppedAttributesCount = official.DroppedAttributesCount then
            let keys = set [ for a in theirAttributes -> a.Key ]
            let ourKeys = set [ for a in ours.Attributes -> a.Key ]
            { ours with Attributes = ours.Attributes |> Array.filter (fun a -> keys.Contains a.Key) },
            theirAttributes |> Array.filter (fun a -> ourKeys.Contains a.Key)
        else
            ours, theirAttributes
    // An entry whose formatter gives "" and whose state has no template: the official body is that empty string,
    // ours the template, and with none, no body (docs/usage.md: "the template when the message is empty").
    let body = match official.Body, ours.Body with | AnyValue.String "", AnyValue.Empty -> AnyValue.Empty | b, _ -> b
    times ours, times { official with Attributes = theirAttributes; Body = body }

let private logSeed = seedOr 20260405UL

let private logs (eventIds: bool) (valueLimit: int option) =
    testTask $"generated log entries arrive from both exporters as the same records, under the same scopes (event ids {eventIds}, value length limit {valueLimit})" {
        let cases = Gen.sampleWithSeed (Rnd logSeed) 30 150 logCase
        let ourHandler = new CapturingHandler()
        let officialHandler = new CapturingHandler()
        let lengthLimit = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
        let limits = [ for l in Option.toList valueLimit -> lengthLimit, string l ]
        let limitBefore = Environment.GetEnvironmentVariable lengthLimit
        valueLimit |> Option.iter (fun l -> Environment.SetEnvironmentVariable(lengthLimit, string l))
        use exporter =
            OtlpExporter.ForLogs().WithHttp().WithHttpClientFactory(Func<_>(ourHandler.CreateClient))
                .WithBaseEndpoint("http://localhost:4318").WithEnvironment(environment limits).Build()
        // The official exporter sends event ids only with its experimental switch, read from the environment when it
        // is made; ours by default (IncludeEventId, docs/usage.md). Both on, or both off.
        let emitEventIds = "OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES"
        let before = Environment.GetEnvironmentVariable emitEventIds
        Environment.SetEnvironmentVariable(emitEventIds, (if eventIds then "true" else "false"))
        let factory =
            LoggerFactory.Create(fun b ->
                b.SetMinimumLevel(LogLevel.Trace) |> ignore
                b.AddOtlp(exporter, fun o -> o.IncludeScopes <- true; o.IncludeEventId <- eventIds) |> ignore
                b.AddOpenTelemetry(fun (o: OpenTelemetry.Logs.OpenTelemetryLoggerOptions) ->
                    o.IncludeScopes <- true
                    // Our body is the formatted message (docs/usage.md); the official exporter's is the template unless asked.
                    o.IncludeFormattedMessage <- true
                    OpenTelemetry.Logs.OtlpLogExporterHelperExtensions.AddOtlpExporter(o, Action<_>(officialOptions officialHandler "logs")) |> ignore)
                |> ignore)
        let logger = factory.CreateLogger("Orders.Api")
        Environment.SetEnvironmentVariable(emitEventIds, before)
        Environment.SetEnvironmentVariable(lengthLimit, limitBefore)
        for c in cases do log logger c
        factory.Dispose()
        let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 30.0))
        Expect.isTrue flushed "ours flushed"
        let ours = recordsOf ourHandler.Bodies
        let theirs = recordsOf officialHandler.Bodies
        let report = List<string>()
        let resources = Array.append ours theirs |> Array.map (fun (r, _, _) -> normaliseResource r) |> Array.distinct
        if resources.Length <> 1 then report.Add $"resources: %A{resources}"
        let scopes = Array.append ours theirs |> Array.map (fun (_, s, _) -> s) |> Array.distinct
        if scopes.Length <> 1 then report.Add $"scopes: %A{scopes}"
        Expect.equal (ours.Length, theirs.Length) (cases.Length, cases.Length) "a record per entry from each"
        for i in 0 .. (min ours.Length theirs.Length) - 1 do
            let (_, _, o), (_, _, t) = ours[i], theirs[i]
            let o, t = normaliseLogs valueLimit o { t with Attributes = elementsCut valueLimit t.Attributes }
            for d in differences "record" (box o) (box t) do report.Add $"case {i}: {d}"
        let involved = [ for i, c in Array.indexed cases do if report |> Seq.exists (fun l -> l.StartsWith $"case {i}: ") then yield $"case {i}: %A{c}" ]
        expectNone report involved logSeed
    }

[<Tests>]
let tests = testSequenced <| testList "Official exporter" [ traces None; traces (Some 7); logs false None; logs true None; logs false (Some 7) ]

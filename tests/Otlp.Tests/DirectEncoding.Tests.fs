/// Encoding straight from .NET objects (tag values, activities) gives the bytes of the model path: the mapping
/// to the model, the limits, then the model encoder.
module Otlp.Tests.DirectEncodingTests

open System
open System.Buffers
open System.Collections.Generic
open System.Diagnostics
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Core.Protobuf
open Otlp.Core.Tests.Common
open Otlp
open Otlp.Tracing

/// Writes with a fresh writer into a new buffer and returns the bytes.
let internal writeWith (write: ProtoWriter -> unit) =
    let output = ArrayBufferWriter<byte>()
    let w = ProtoWriter()
    w.StartInto output
    write w
    w.FinishInto output |> ignore
    output.WrittenSpan.ToArray()

let private text =
    Gen.oneof [
        Gen.elements [ ""; "a"; "héllo"; "😀 non-BMP"; String('x', 300); "a😀" ]
        ArbMap.defaults |> ArbMap.generate<string> |> Gen.map (fun s -> if isNull s then "" else s)
    ]

/// Tag values of every CLR type the mapping distinguishes.
let internal tagValue: Gen<obj> =
    let scalar =
        Gen.oneof [
            text |> Gen.map box
            Gen.elements [ box 'c'; box '\uD83D'; box true; box false; box 0y; box -5y; box 7uy; box -300s; box 60000us ]
            ArbMap.defaults |> ArbMap.generate<int> |> Gen.map box
            ArbMap.defaults |> ArbMap.generate<uint32> |> Gen.map box
            ArbMap.defaults |> ArbMap.generate<int64> |> Gen.map box
            Gen.elements [ box Int64.MinValue; box Int64.MaxValue; box UInt64.MaxValue; box 1.5m; box DayOfWeek.Friday ]
            ArbMap.defaults |> ArbMap.generate<float32> |> Gen.map box
            Gen.elements [ box nan; box infinity; box -0.0; box 0.0; box 1e300; box Double.Epsilon ]
            Gen.constant (box (Guid.Parse "0f8fad5b-d9cb-479f-a165-70867c47dba4"))
        ]
    Gen.oneof [
        scalar
        Gen.arrayOf text |> Gen.map (fun a -> box (Array.append a [| null |]))
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<int64>) |> Gen.map box
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<int>) |> Gen.map box
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<float>) |> Gen.map box
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<bool>) |> Gen.map box
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<byte>) |> Gen.map box
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<char>) |> Gen.map box
        Gen.arrayOf scalar |> Gen.map (fun a -> box (Array.append a [| null |]))
        Gen.arrayOf (ArbMap.defaults |> ArbMap.generate<uint64>) |> Gen.map box
    ]

let private limitGen = Gen.oneof [ Gen.constant Int32.MaxValue; Gen.choose (0, 5); Gen.choose (0, 400) ]

[<Tests>]
let tests =
    testList "DirectEncoding" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 1000 } "a tag value writes the bytes of its AnyValue, truncated as the limits truncate it"
        <| Prop.forAll (Arb.fromGen (Gen.zip tagValue limitGen)) (fun (value, limit) ->
            let direct = writeWith (fun w -> TagValues.WriteAttribute(w, Fields.Span_Attributes, "key", value, limit) |> ignore)
            let viaModel =
                writeWith (fun w ->
                    let converted = TagValues.ToAnyValue value
                    let limited = if limit = Int32.MaxValue then converted else Limits.truncateValue limit converted
                    CommonFields.keyValue w Fields.Span_Attributes { Key = "key"; Value = limited })
            Expect.equal direct viaModel "bytes")

        test "a null tag value writes the attribute with an empty value, as the model's empty AnyValue" {
            let direct = writeWith (fun w -> TagValues.WriteAttribute(w, 9, "key", null, 10) |> ignore)
            let viaModel = writeWith (fun w -> CommonFields.keyValue w 9 { Key = "key"; Value = AnyValue.Empty })
            Expect.equal direct viaModel "bytes"
            Expect.equal (TagValues.ToAnyValue null) AnyValue.Empty "the model's value"
        }
    ]

// ---------------------------------------------------------------------------------------------------- activities

let private listened = Collections.Concurrent.ConcurrentDictionary<string, bool>()

/// Records every activity of the sources this module creates.
let private listener =
    lazy
        (let l =
            new ActivityListener(
                ShouldListenTo = (fun s -> listened.ContainsKey s.Name),
                Sample = (fun _ -> ActivitySamplingResult.AllDataAndRecorded),
                SampleUsingParentId = (fun _ -> ActivitySamplingResult.AllDataAndRecorded))
         ActivitySource.AddActivityListener l
         l)

let private newSource (version: string) =
    listener.Force() |> ignore
    let name = $"Test.Direct.{Guid.NewGuid():N}"
    listened[name] <- true
    new ActivitySource(name, version, [ KeyValuePair("library.tag", box "lib") ])

/// What an activity is built from.
type ActivityPlan =
    { Name: string
      Kind: ActivityKind
      Tags: (string * obj) list
      Events: (string * int64 * (string * obj) list) list
      Links: (uint64 * bool * string * (string * obj) list) list
      Status: int
      Description: string
      RemoteParent: bool
      DurationTicks: int64
      SecondScope: bool }

let private tagKey = Gen.oneof [ Gen.elements [ ""; "k"; "http.method"; "otel.status_code"; "otel.status_description"; "dup" ]; Gen.elements [ "a"; "b"; "c" ] ]
let private tags = Gen.listOf (Gen.zip tagKey (Gen.oneof [ tagValue; Gen.constant null; Gen.elements [ box "OK"; box "ERROR"; box "error" ] ]))

let private planGen =
    gen {
        let! name = Gen.elements [ "GET /"; ""; "work😀"; String('n', 200) ]
        let! kind = Gen.elements [ ActivityKind.Internal; ActivityKind.Server; ActivityKind.Client; ActivityKind.Producer; ActivityKind.Consumer ]
        let! tags = tags
        let! events = Gen.listOf (Gen.zip3 (Gen.elements [ "e"; ""; "exception" ]) (Gen.choose (0, 1000000) |> Gen.map int64) (Gen.resize 4 (Gen.listOf (Gen.zip tagKey tagValue))))
        let link =
            Gen.zip
                (Gen.zip (ArbMap.defaults |> ArbMap.generate<uint64>) (ArbMap.defaults |> ArbMap.generate<bool>))
                (Gen.zip (Gen.elements [ ""; "k=v" ]) (Gen.resize 3 (Gen.listOf (Gen.zip tagKey tagValue))))
            |> Gen.map (fun ((seed, remote), (state, tags)) -> seed, remote, state, tags)
        let! links = Gen.resize 3 (Gen.listOf link)
        let! status = Gen.choose (0, 2)
        let! description = Gen.elements [ ""; "boom" ]
        let! remote = ArbMap.defaults |> ArbMap.generate<bool>
        let! duration = Gen.elements [ 0L; 1L; 12345678L ]
        let! second = ArbMap.defaults |> ArbMap.generate<bool>
        return
            { Name = name; Kind = kind; Tags = tags; Events = events; Links = links; Status = status; Description = description
              RemoteParent = remote; DurationTicks = duration; SecondScope = second }
    }

let private limitsGen =
    Gen.oneof [
        Gen.constant Limits.defaults.Span
        gen {
            let! length = Gen.oneof [ Gen.constant None; Gen.choose (0, 10) |> Gen.map Some ]
            let! a = Gen.choose (0, 4)
            let! e = Gen.choose (0, 3)
            let! l = Gen.choose (0, 2)
            let! ea = Gen.choose (0, 2)
            let! la = Gen.choose (0, 2)
            return
                { AttributeValueLengthLimit = length; AttributeCountLimit = a; EventCountLimit = e; LinkCountLimit = l
                  EventAttributeCountLimit = ea; LinkAttributeCountLimit = la }
        }
    ]

let private idBytes (seed: uint64) (length: int) =
    let bytes = Array.init length (fun i -> byte ((seed >>> (8 * (i % 8))) &&& 0xFFUL) ^^^ byte i)
    bytes[0] <- bytes[0] ||| 1uy
    bytes

let private start (source: ActivitySource) (plan: ActivityPlan) =
    let parent =
        if plan.RemoteParent then
            ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "p=1", true)
        else
            Unchecked.defaultof<ActivityContext>
    let links =
        plan.Links
        |> List.map (fun (seed, remote, state, tags) ->
            let context =
                ActivityContext(
                    ActivityTraceId.CreateFromBytes(ReadOnlySpan(idBytes seed 16)),
                    ActivitySpanId.CreateFromBytes(ReadOnlySpan(idBytes seed 8)),
                    (if remote then ActivityTraceFlags.Recorded else ActivityTraceFlags.None),
                    state,
                    remote)
            let collection = ActivityTagsCollection()
            for (k, v) in tags do
                if not (String.IsNullOrEmpty k) then collection[k] <- v
            ActivityLink(context, collection))
    let activity = source.StartActivity(plan.Name, plan.Kind, parent, null, links, DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero))
    for (k, v) in plan.Tags do
        activity.AddTag(k, v) |> ignore
    for (name, offset, tags) in plan.Events do
        let collection = ActivityTagsCollection()
        for (k, v) in tags do
            if not (String.IsNullOrEmpty k) then collection[k] <- v
        activity.AddEvent(ActivityEvent(name, DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks offset, collection)) |> ignore
    match plan.Status with
    | 1 -> activity.SetStatus(ActivityStatusCode.Ok) |> ignore
    | 2 -> activity.SetStatus(ActivityStatusCode.Error, plan.Description) |> ignore
    | _ -> ()
    activity.SetEndTime(activity.StartTimeUtc.AddTicks plan.DurationTicks) |> ignore
    activity.Stop()
    activity

let private resource = Resource.ofServiceName "direct"

/// The bytes of the model path: ToSpan, the limits, grouping by scope in order of first appearance, the encoder.
let private viaModel (limits: SpanLimits) (items: ScopedItem<Span> array) =
    let groups =
        items
        |> Array.map (fun i -> i.Scope)
        |> Array.distinctBy (fun s -> Runtime.CompilerServices.RuntimeHelpers.GetHashCode s)
        |> Array.map (fun scope ->
            { Scope = scope
              Spans =
                items
                |> Array.filter (fun i -> Object.ReferenceEquals(i.Scope, scope))
                |> Array.map (fun i -> Limits.applyToSpan limits (ActivityConverter.ToSpan(i.Source :?> Activity)))
              SchemaUrl = "" })
    ProtoEncoder.traceRequestToBytes { ResourceSpans = [| { Resource = resource; ScopeSpans = groups; SchemaUrl = "" } |] }

let private direct (limits: SpanLimits) (items: ScopedItem<Span> array) =
    let output = ArrayBufferWriter<byte>()
    ActivityEncoder.WriteRequest(output, resource, ReadOnlySpan items, Func<_, _>(fun _ -> limits)) |> ignore
    output.WrittenSpan.ToArray()

let private sources = lazy (newSource "1.0", newSource "")

let private itemsOf (plans: ActivityPlan list) =
    let first, second = sources.Value
    let firstScope = ActivityConverter.ToScope first
    let secondScope = ActivityConverter.ToScope second
    plans
    |> List.map (fun plan ->
        let source, scope = if plan.SecondScope then second, secondScope else first, firstScope
        ScopedItem<Span>(scope, Unchecked.defaultof<Span>, start source plan, null))
    |> Array.ofList

let private realisticActivity (source: ActivitySource) =
    let activity = source.StartActivity("GET /api/orders/{id}", ActivityKind.Server)
    activity.SetTag("http.request.method", "GET").SetTag("url.path", "/api/orders/12345").SetTag("http.response.status_code", 200)
        .SetTag("server.address", "orders.internal").SetTag("server.port", 8080).SetTag("retry", false).SetTag("ratio", 0.25)
        .SetTag("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)").SetTag("request.size", 123456L)
        .SetTag("tags", [| "a"; "b" |]) |> ignore
    activity.AddEvent(ActivityEvent("cache.miss", tags = ActivityTagsCollection([ KeyValuePair("key", box "orders:12345") ]))) |> ignore
    activity.AddEvent(ActivityEvent("db.query")) |> ignore
    activity.SetStatus(ActivityStatusCode.Ok) |> ignore
    activity.Stop()
    activity

[<Tests>]
let hexIdTests =
    testList "DirectEncoding.ids" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 1000 } "activity ids read from their hex text equal the ids their bytes give"
        <| fun (high: uint64) (low: uint64) (span: uint64) ->
            let traceBytes = Array.zeroCreate<byte> 16
            Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span traceBytes, high)
            Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span(traceBytes, 8, 8), low)
            let spanBytes = Array.zeroCreate<byte> 8
            Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span spanBytes, span)
            let traceId = ActivityTraceId.CreateFromBytes(ReadOnlySpan traceBytes)
            let spanId = ActivitySpanId.CreateFromBytes(ReadOnlySpan spanBytes)
            Expect.equal (HexIds.ToTraceId traceId) { High = high; Low = low } "trace id"
            Expect.equal (HexIds.ToSpanId spanId) { Value = span } "span id"

        test "the default activity ids are the empty ids" {
            Expect.equal (HexIds.ToTraceId(Unchecked.defaultof<ActivityTraceId>)) TraceId.Empty "trace id"
            Expect.equal (HexIds.ToSpanId(Unchecked.defaultof<ActivitySpanId>)) SpanId.Empty "span id"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 3000 } "sixteen hex digits parse in either case; anything else is refused, with or without vectors"
        <| fun (value: uint64) (position: byte) (bad: char) ->
            let lower = value.ToString("x16")
            let parsers: (string * (string -> uint64 voption)) list =
                [ "vector", (fun (text: string) -> match HexIds.TryParseVector(text.AsSpan()) with | true, v -> ValueSome v | _ -> ValueNone)
                  "scalar", (fun (text: string) -> match HexIds.TryParseScalar(text.AsSpan()) with | true, v -> ValueSome v | _ -> ValueNone) ]
            for (name, parse) in parsers do
                Expect.equal (parse lower) (ValueSome value) $"{name}: lower case"
                Expect.equal (parse (value.ToString("X16"))) (ValueSome value) $"{name}: upper case"
                if not (Uri.IsHexDigit bad) then
                    let chars = lower.ToCharArray()
                    chars[int position % 16] <- bad
                    Expect.equal (parse (String chars)) ValueNone $"{name}: '{bad}' (U+{int bad:X4}) refused"
                    // A character whose low byte is a digit must not pass as that digit.
                    chars[int position % 16] <- char (0x100 + int '7')
                    Expect.equal (parse (String chars)) ValueNone $"{name}: U+0137 refused"

        test "every character, at either end of an id, is taken or refused by the vector parsers as one at a time" {
            // All 65,536 UTF-16 units, so the range arithmetic's edges (':', '@', '`', 'G', 'g', '/', a high byte
            // over a digit) are each met, in the 16-digit and the 32-digit reader.
            let scalar (text: string) = match HexIds.TryParseScalar(text.AsSpan()) with | true, v -> ValueSome v | _ -> ValueNone
            let vector (text: string) = match HexIds.TryParseVector(text.AsSpan()) with | true, v -> ValueSome v | _ -> ValueNone
            let vector32 (text: string) =
                match HexIds.TryParse32Vector(text.AsSpan()) with
                | true, h, l -> ValueSome(struct (h, l))
                | _ -> ValueNone
            for unit in 0 .. 0xFFFF do
                let c = char unit
                for position in [ 0; 15 ] do
                    let chars = "0123456789abcdef".ToCharArray()
                    chars[position] <- c
                    let text = String chars
                    let expected = scalar text
                    if vector text <> expected then failtest $"16 digits, U+{unit:X4} at {position}: {vector text} against {expected}"
                    // The unit at the 32-digit id's first or last place.
                    let first, second = if position = 0 then text, "fedcba9876543210" else "fedcba9876543210", text
                    let expected32 =
                        match scalar first, scalar second with
                        | ValueSome h, ValueSome l -> ValueSome(struct (h, l))
                        | _ -> ValueNone
                    if vector32 (first + second) <> expected32 then failtest $"32 digits, U+{unit:X4}: {vector32 (first + second)} against {expected32}"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 1000 } "a span's three ids read in one pass equal each read alone, the default ids among them"
        <| fun (high: uint64) (low: uint64) (span: uint64) (other: uint64) (defaults: byte) ->
            let traceBytes = Array.zeroCreate<byte> 16
            Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span traceBytes, high)
            Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span(traceBytes, 8, 8), low)
            let spanId (value: uint64) =
                let bytes = Array.zeroCreate<byte> 8
                Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(Span bytes, value)
                ActivitySpanId.CreateFromBytes(ReadOnlySpan bytes)
            // Each id is sometimes the default one (no parent, say), whose text is all zeros.
            let traceId = if defaults &&& 1uy <> 0uy then Unchecked.defaultof<ActivityTraceId> else ActivityTraceId.CreateFromBytes(ReadOnlySpan traceBytes)
            let spanId' = if defaults &&& 2uy <> 0uy then Unchecked.defaultof<ActivitySpanId> else spanId span
            let otherId = if defaults &&& 4uy <> 0uy then Unchecked.defaultof<ActivitySpanId> else spanId other
            let mutable trace = TraceId.Empty
            let mutable first = SpanId.Empty
            let mutable second = SpanId.Empty
            HexIds.ToIds(traceId, spanId', otherId, &trace, &first, &second)
            Expect.equal trace (HexIds.ToTraceId traceId) "trace id"
            Expect.equal first (HexIds.ToSpanId spanId') "span id"
            Expect.equal second (HexIds.ToSpanId otherId) "other span id"

        test "every character, at either end of each of three ids, is taken or refused by the one-pass reader as one at a time" {
            let scalar (text: string) = match HexIds.TryParseScalar(text.AsSpan()) with | true, v -> ValueSome v | _ -> ValueNone
            let digits = [| "0123456789abcdef"; "fedcba9876543210"; "a1B2c3D4e5F60789"; "9f8E7d6C5b4A3021" |]
            for unit in 0 .. 0xFFFF do
                for part in 0 .. 3 do
                    for position in [ 0; 15 ] do
                        // Parts 0 and 1 are the trace id's halves, 2 and 3 the two span ids.
                        let texts = Array.copy digits
                        let chars = texts[part].ToCharArray()
                        chars[position] <- char unit
                        texts[part] <- String chars
                        let expected =
                            match scalar texts[0], scalar texts[1], scalar texts[2], scalar texts[3] with
                            | ValueSome h, ValueSome l, ValueSome s, ValueSome o -> ValueSome(struct (h, l, s, o))
                            | _ -> ValueNone
                        let actual =
                            match HexIds.TryParse64Vector((texts[0] + texts[1]).AsSpan(), texts[2].AsSpan(), texts[3].AsSpan()) with
                            | true, v -> ValueSome(struct (Runtime.Intrinsics.Vector256.GetElement(v, 0), Runtime.Intrinsics.Vector256.GetElement(v, 1), Runtime.Intrinsics.Vector256.GetElement(v, 2), Runtime.Intrinsics.Vector256.GetElement(v, 3)))
                            | _ -> ValueNone
                        if actual <> expected then failtest $"U+{unit:X4} at {position} of part {part}: {actual} against {expected}"
        }

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 3000 } "thirty-two hex digits parse as two halves in either case; anything else is refused, with or without vectors"
        <| fun (high: uint64) (low: uint64) (position: byte) (bad: char) ->
            let lower = high.ToString("x16") + low.ToString("x16")
            let parsers: (string * (string -> struct (uint64 * uint64) voption)) list =
                [ "vector", (fun (text: string) -> match HexIds.TryParse32Vector(text.AsSpan()) with | true, h, l -> ValueSome(struct (h, l)) | _ -> ValueNone)
                  "whichever", (fun (text: string) -> match HexIds.TryParse32(text.AsSpan()) with | true, h, l -> ValueSome(struct (h, l)) | _ -> ValueNone) ]
            for (name, parse) in parsers do
                Expect.equal (parse lower) (ValueSome(struct (high, low))) $"{name}: lower case"
                Expect.equal (parse (lower.ToUpperInvariant())) (ValueSome(struct (high, low))) $"{name}: upper case"
                if not (Uri.IsHexDigit bad) then
                    let chars = lower.ToCharArray()
                    chars[int position % 32] <- bad
                    Expect.equal (parse (String chars)) ValueNone $"{name}: '{bad}' (U+{int bad:X4}) at {int position % 32} refused"
                    chars[int position % 32] <- char (0x100 + int 'a')
                    Expect.equal (parse (String chars)) ValueNone $"{name}: U+0161 refused"
    ]

[<Tests>]
let activityTests =
    testList "DirectEncoding.activities" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300; endSize = 12 } "activities write the bytes of ToSpan, the limits and the model encoder"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.nonEmptyListOf planGen) limitsGen)) (fun (plans, limits) ->
            let items = itemsOf plans
            Expect.equal (direct limits items) (viaModel limits items) "bytes")

        test "writing activities allocates nothing per span" {
            let first, _ = sources.Value
            let scope = ActivityConverter.ToScope first
            let measure (count: int) =
                let items = Array.init count (fun _ -> ScopedItem<Span>(scope, Unchecked.defaultof<Span>, realisticActivity first, null))
                let limits = Func<_, _>(fun (_: ScopedItem<Span>) -> Limits.defaults.Span)
                let output = ArrayBufferWriter<byte>(1 <<< 20)
                for _ in 1..3 do
                    output.Clear()
                    ActivityEncoder.WriteRequest(output, resource, ReadOnlySpan items, limits) |> ignore
                // The least of several runs: the runtime allocates now and then on its own (tiering, on-stack
                // replacement), which is not an allocation per item.
                List.min [
                    for _ in 1..5 do
                        output.Clear()
                        let before = GC.GetAllocatedBytesForCurrentThread()
                        ActivityEncoder.WriteRequest(output, resource, ReadOnlySpan items, limits) |> ignore
                        GC.GetAllocatedBytesForCurrentThread() - before
                ]
            let one = measure 1
            let many = measure 512
            Expect.isLessThanOrEqual many one "512 spans allocate no more than 1 span"
            Expect.isLessThan one 1024L "a request allocates under 1 KiB"
        }
    ]

// ---------------------------------------------------------------------------------------------------- log entries

open Microsoft.Extensions.Logging
open Otlp.Logging

let private exceptionOf (message: string) =
    try
        raise (InvalidOperationException message)
    with e ->
        e

let private entryGen =
    gen {
        let! time = ArbMap.defaults |> ArbMap.generate<uint64>
        // Every level, None, and values outside the enum (written field by field, the others copied whole).
        let! level =
            Gen.elements
                [ LogLevel.Trace; LogLevel.Debug; LogLevel.Information; LogLevel.Warning; LogLevel.Error; LogLevel.Critical
                  LogLevel.None; enum<LogLevel> 7; enum<LogLevel> -1 ]
        let! eventId = Gen.elements [ EventId(0); EventId(7, "Started"); EventId(-3); EventId(0, "named") ]
        let! message = Gen.elements [ null; ""; "hello"; "héllo 😀"; String('m', 300) ]
        let! template = Gen.elements [ null; ""; "hello {Name}" ]
        // Templates are literals, the same references record after record (which the direct encoder keeps encoded).
        let literal = Gen.elements [ box "hello {Name}"; box "Processed order {OrderId} for {Customer} in {ElapsedMs} ms" ]
        // Keys repeated, keys of one length told apart ("dup", "abc"), empty keys (not attributes) between them, and
        // the keys the encoder adds itself (the event id's, the exception's).
        let key = Gen.elements [ "k"; "{OriginalFormat}"; "Name"; "dup"; "abc"; ""; "logrecord.event.id"; "exception.type" ]
        let! pairs = Gen.listOf (Gen.zip key (Gen.oneof [ tagValue; literal ]))
        let! failure = Gen.elements [ None; Some "boom"; Some "" ]
        let! traced = ArbMap.defaults |> ArbMap.generate<bool>
        return
            LogEntry(
                time,
                level,
                eventId,
                message,
                template,
                List<KeyValuePair<string, obj>>(pairs |> List.map KeyValuePair),
                (match failure with
                 | Some m -> exceptionOf m
                 | None -> null),
                (if traced then 1u else 0u),
                (if traced then { High = 1UL; Low = 2UL } else TraceId.Empty),
                (if traced then { Value = 3UL } else SpanId.Empty))
    }

let private logLimitsGen =
    Gen.oneof [
        Gen.constant Limits.defaults.LogRecord
        Gen.zip (Gen.oneof [ Gen.constant None; Gen.choose (0, 10) |> Gen.map Some ]) (Gen.choose (0, 5))
        |> Gen.map (fun (length, count) -> { AttributeValueLengthLimit = length; AttributeCountLimit = count })
    ]

let private logScopes = lazy (InstrumentationScope.create "Category.A" "", InstrumentationScope.create "Category.B" "")

let private logItems (entries: (LogEntry * bool) list) =
    let a, b = logScopes.Value
    entries |> List.map (fun (e, second) -> ScopedItem<LogRecord>((if second then b else a), Unchecked.defaultof<LogRecord>, e, null)) |> Array.ofList

let private logsViaModel (limits: LogRecordLimits) (items: ScopedItem<LogRecord> array) =
    let groups =
        items
        |> Array.map (fun i -> i.Scope)
        |> Array.distinctBy (fun s -> Runtime.CompilerServices.RuntimeHelpers.GetHashCode s)
        |> Array.map (fun scope ->
            { Scope = scope
              LogRecords =
                items
                |> Array.filter (fun i -> Object.ReferenceEquals(i.Scope, scope))
                |> Array.map (fun i -> Limits.applyToLogRecord limits (LogRecordConverter.ToLogRecord(i.Source :?> LogEntry)))
              SchemaUrl = "" })
    ProtoEncoder.logsRequestToBytes { ResourceLogs = [| { Resource = resource; ScopeLogs = groups; SchemaUrl = "" } |] }

let private logsDirect (limits: LogRecordLimits) (items: ScopedItem<LogRecord> array) =
    let output = ArrayBufferWriter<byte>()
    LogEncoder.WriteRequest(output, resource, ReadOnlySpan items, Func<_, _>(fun _ -> limits)) |> ignore
    output.WrittenSpan.ToArray()

[<Tests>]
let logTests =
    testList "DirectEncoding.logs" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300; endSize = 12 } "log entries write the bytes of ToLogRecord, the limits and the model encoder"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.nonEmptyListOf (Gen.zip entryGen (ArbMap.defaults |> ArbMap.generate<bool>))) logLimitsGen)) (fun (entries, limits) ->
            let items = logItems entries
            Expect.equal (logsDirect limits items) (logsViaModel limits items) "bytes")

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300; endSize = 12 } "attribute keys of every record are distinct, the same both ways, whatever the state, scopes and exception repeat"
        <| Prop.forAll
            (Arb.fromGen (
                // Distinct keys of one length ("ab", "cd"; "exception.kind" beside "exception.type"; 65 characters
                // beside 1, the same modulo 64) as well as repeats: the direct encoder compares keys only when their
                // lengths meet.
                let key =
                    Gen.elements
                        [ "k"; "RequestId"; "exception.type"; "exception.kind"; "logrecord.event.id"; "{OriginalFormat}"; ""
                          "ab"; "cd"; String('x', 65) ]
                let pairs = Gen.listOf (Gen.zip key (Gen.oneof [ tagValue; Gen.constant null ])) |> Gen.map (List.map KeyValuePair)
                Gen.zip3
                    (Gen.zip pairs (ArbMap.defaults |> ArbMap.generate<bool>))
                    (Gen.listOf pairs)
                    (Gen.zip3 (Gen.elements [ EventId(0); EventId(7) ]) (Gen.elements [ None; Some "boom" ]) logLimitsGen)))
            (fun ((statePairs, asList), scopePairs, (eventId, failure, limits)) ->
                let scopes = LoggerExternalScopeProvider()
                let opened = [ for pairs in scopePairs -> scopes.Push(List<KeyValuePair<string, obj>>(pairs)) ]
                // A list state is kept as it is; any other is copied at capture.
                let state: IEnumerable<KeyValuePair<string, obj>> =
                    if asList then List<KeyValuePair<string, obj>>(statePairs) else Seq.ofList statePairs
                let entry =
                    LogRecordConverter.Capture(
                        LogLevel.Information, eventId, state,
                        (match failure with Some m -> exceptionOf m | None -> null),
                        Func<_, _, _>(fun _ _ -> "message"), scopes, DateTime.UnixEpoch, null, null)
                for s in List.rev opened do s.Dispose()
                let items = logItems [ entry, false ]
                let direct = logsDirect limits items
                Expect.equal direct (logsViaModel limits items) "bytes"
                match ProtoDecoder.logsRequest (ReadOnlyMemory direct) with
                | Ok request ->
                    for r in request.ResourceLogs do
                        for s in r.ScopeLogs do
                            for record in s.LogRecords do
                                let keys = record.Attributes |> Array.map _.Key
                                Expect.equal (Array.distinct keys) keys "distinct keys"
                | Error e -> failtestf "%A" e)

        test "writing log entries allocates nothing per record" {
            let a, _ = logScopes.Value
            let entry () =
                LogEntry(
                    1_700_000_000_000_000_000UL,
                    LogLevel.Information,
                    EventId(12, "OrderPlaced"),
                    "Order 12345 placed by customer 42 for 99.5",
                    "Order {OrderId} placed by customer {CustomerId} for {Amount}",
                    List<KeyValuePair<string, obj>>(
                        [ KeyValuePair("OrderId", box 12345); KeyValuePair("CustomerId", box 42L); KeyValuePair("Amount", box 99.5)
                          KeyValuePair("{OriginalFormat}", box "Order {OrderId} placed by customer {CustomerId} for {Amount}") ]),
                    null,
                    1u,
                    { High = 1UL; Low = 2UL },
                    { Value = 3UL })
            let measure (count: int) =
                let items = Array.init count (fun _ -> ScopedItem<LogRecord>(a, Unchecked.defaultof<LogRecord>, entry (), null))
                let limits = Func<_, _>(fun (_: ScopedItem<LogRecord>) -> Limits.defaults.LogRecord)
                let output = ArrayBufferWriter<byte>(1 <<< 20)
                for _ in 1..3 do
                    output.Clear()
                    LogEncoder.WriteRequest(output, resource, ReadOnlySpan items, limits) |> ignore
                // The least of several runs: the runtime allocates now and then on its own (tiering, on-stack
                // replacement), which is not an allocation per item.
                List.min [
                    for _ in 1..5 do
                        output.Clear()
                        let before = GC.GetAllocatedBytesForCurrentThread()
                        LogEncoder.WriteRequest(output, resource, ReadOnlySpan items, limits) |> ignore
                        GC.GetAllocatedBytesForCurrentThread() - before
                ]
            let one = measure 1
            let many = measure 512
            Expect.isLessThanOrEqual many one "512 records allocate no more than 1 record"
            Expect.isLessThan one 1024L "a request allocates under 1 KiB"
        }
    ]

// ---------------------------------------------------------------------------------------------------- exporter choice

let private tryEncodeDirect (exporter: obj) (items: Array) =
    let m = exporter.GetType().GetMethod("TryEncodeDirect", Reflection.BindingFlags.Instance ||| Reflection.BindingFlags.NonPublic)
    let output = ArrayBufferWriter<byte>()
    let direct = m.Invoke(exporter, [| box items; box output |]) :?> bool
    direct, output.WrittenSpan.ToArray()

let private environmentOf () = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

[<Tests>]
let exporterTests =
    testList "DirectEncoding.exporters" [
        test "the trace exporter writes a batch of tracer-offered activities directly, under its resource" {
            let exporter = OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environmentOf ()).Build()
            try
                let first, _ = sources.Value
                let scope = ActivityConverter.ToScope first
                // As the tracer makes it: a delegate over the ActivitySpans method (F#'s Func(...) would wrap a closure).
                let convert = Delegate.CreateDelegate(typeof<Func<obj, Span>>, ActivitySpans(Limits.defaults.Span), "ToSpan") :?> Func<obj, Span>
                let activity = start first { Name = "x"; Kind = ActivityKind.Server; Tags = [ "k", box 1 ]; Events = []; Links = []; Status = 0; Description = ""; RemoteParent = false; DurationTicks = 5L; SecondScope = false }
                let items = [| ScopedItem<Span>(scope, Unchecked.defaultof<Span>, activity, convert) |]
                let direct, bytes = tryEncodeDirect exporter items
                Expect.isTrue direct "encoded directly"
                let expected =
                    ProtoEncoder.traceRequestToBytes (Request.ofSpans exporter.Resource scope [ convert.Invoke activity ])
                Expect.equal bytes expected "the model path's bytes"
                let mixed = Array.append items [| ScopedItem<Span>(scope, Span.Empty, null, null) |]
                Expect.isFalse (fst (tryEncodeDirect exporter mixed)) "a batch with a plain span takes the model path"
            finally
                exporter.DisposeAsync().AsTask().Wait()
        }

        test "the log exporter writes a batch of logger-offered entries directly" {
            let exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint("http://127.0.0.1:9").WithEnvironment(environmentOf ()).Build()
            try
                let a, _ = logScopes.Value
                let convert =
                    Delegate.CreateDelegate(typeof<Func<obj, LogRecord>>, LogEntries(Limits.defaults.LogRecord), "ToLogRecord") :?> Func<obj, LogRecord>
                let entry = Gen.sampleWithSize 5 1 entryGen |> Array.head
                let items = [| ScopedItem<LogRecord>(a, Unchecked.defaultof<LogRecord>, entry, convert) |]
                let direct, bytes = tryEncodeDirect exporter items
                Expect.isTrue direct "encoded directly"
                let expected =
                    ProtoEncoder.logsRequestToBytes
                        { ResourceLogs = [| { Resource = exporter.Resource; ScopeLogs = [| { Scope = a; LogRecords = [| convert.Invoke entry |]; SchemaUrl = "" } |]; SchemaUrl = "" } |] }
                Expect.equal bytes expected "the model path's bytes"
            finally
                exporter.DisposeAsync().AsTask().Wait()
        }
    ]

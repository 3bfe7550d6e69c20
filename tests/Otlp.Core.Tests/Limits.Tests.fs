module Otlp.Core.Tests.LimitsTests

// Table rows cite the rule they check, from the SDK environment variables spec ("Attribute Limits", "Span
// Limits", "LogRecord Limits") and the common spec (specification/common/README.md, "Attribute Limits").

open System
open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let env (pairs: (string * string) list) : IReadOnlyDictionary<string, string> = Map.ofList pairs :> _

let table name (run: 'Input -> 'Output) (rows: (string * 'Input * 'Output) list) =
    testList name [ for rule, input, expected in rows -> test rule { Expect.equal (run input) expected rule } ]

let limitsOf pairs = (Limits.fromEnvironment (env pairs)).Value

let environmentRows =
    [ "Attribute Limits: no value length limit and 128 attributes by default",
      [],
      (None, 128, 128, 128, 128, 128, None, 128)
      "Attribute Limits: the generic limits apply to spans and log records",
      [ "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"; "OTEL_ATTRIBUTE_COUNT_LIMIT", "10" ],
      (Some 64, 10, 128, 128, 10, 10, Some 64, 10)
      "Common spec, Attribute Limits: a model-specific limit is used first, the general one only if it is unset",
      [ "OTEL_ATTRIBUTE_COUNT_LIMIT", "10"; "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "20"; "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "30" ],
      (None, 20, 128, 128, 10, 10, None, 30)
      "Span Limits: event, link and per-event/per-link attribute counts",
      [ "OTEL_SPAN_EVENT_COUNT_LIMIT", "1"
        "OTEL_SPAN_LINK_COUNT_LIMIT", "2"
        "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "3"
        "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "4" ],
      (None, 128, 1, 2, 3, 4, None, 128)
      "Span Limits: the span value length limit wins over the generic one",
      [ "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"; "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8" ],
      (Some 8, 128, 128, 128, 128, 128, Some 64, 128)
      "Attribute Limits: valid values are non-negative, so 0 is a limit",
      [ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "0" ],
      (None, 0, 128, 128, 128, 128, None, 128)
      "Numeric: a negative limit is ignored with a warning, so the generic one applies",
      [ "OTEL_ATTRIBUTE_COUNT_LIMIT", "10"; "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1" ],
      (None, 10, 128, 128, 10, 10, None, 10) ]

let flatten (limits: Limits) =
    let s = limits.Span
    let l = limits.LogRecord

    s.AttributeValueLengthLimit,
    s.AttributeCountLimit,
    s.EventCountLimit,
    s.LinkCountLimit,
    s.EventAttributeCountLimit,
    s.LinkAttributeCountLimit,
    l.AttributeValueLengthLimit,
    l.AttributeCountLimit

let truncationRows =
    [ "Attribute Limits: a string longer than the limit is cut to the limit", (3, AnyValue.String "abcdef"), AnyValue.String "abc"
      "Attribute Limits: a string within the limit is unchanged", (6, AnyValue.String "abcdef"), AnyValue.String "abcdef"
      "Attribute Limits: each string of an array is truncated separately",
      (2, AnyValue.Array [| AnyValue.String "abc"; AnyValue.String "x" |]),
      AnyValue.Array [| AnyValue.String "ab"; AnyValue.String "x" |]
      "Attribute Limits: values that are not strings are never truncated", (1, AnyValue.Int 123456L), AnyValue.Int 123456L
      "Attribute Limits: a byte array is cut to the limit, each byte counting as 1", (2, AnyValue.Bytes [| 1uy; 2uy; 3uy |]), AnyValue.Bytes [| 1uy; 2uy |]
      "Attribute Limits: a byte array within the limit is left alone", (3, AnyValue.Bytes [| 1uy; 2uy; 3uy |]), AnyValue.Bytes [| 1uy; 2uy; 3uy |]
      "Attribute Limits: byte arrays inside arrays are cut too", (0, AnyValue.Array [| AnyValue.Bytes [| 9uy |] |]), AnyValue.Array [| AnyValue.Bytes [||] |]
      "Attribute Limits: numbers are never cut", (1, AnyValue.Array [| AnyValue.Int 123456L; AnyValue.Double 1.5 |]), AnyValue.Array [| AnyValue.Int 123456L; AnyValue.Double 1.5 |]
      "Surrogate pairs: a cut through a pair drops the whole pair", (2, AnyValue.String "a😀b"), AnyValue.String "a"
      "Surrogate pairs: a cut after a pair keeps it", (3, AnyValue.String "a😀b"), AnyValue.String "a😀"
      "Key-value lists: strings inside are truncated too",
      (1, AnyValue.KvList [| KeyValue.string "k" "long" |]),
      AnyValue.KvList [| KeyValue.string "k" "l" |] ]

// ---------------------------------------------------------------------------------------------------------
// Generators

let fragments = [ "a"; "é"; "😀"; "日"; "\uD800"; "\uDC00"; "xyz"; "" ]

let text = Gen.elements fragments |> Gen.listOf |> Gen.map String.Concat

let rec anyValue size : Gen<AnyValue> =
    let leaf =
        Gen.oneof
            [ text |> Gen.map AnyValue.String
              Gen.constant AnyValue.Empty
              ArbMap.defaults |> ArbMap.generate<int64> |> Gen.map AnyValue.Int
              ArbMap.defaults |> ArbMap.generate<bool> |> Gen.map AnyValue.Bool
              Otlp.Testing.Generators.double |> Gen.map AnyValue.Double
              ArbMap.defaults |> ArbMap.generate<byte array> |> Gen.map AnyValue.Bytes ]

    if size <= 0 then
        leaf
    else
        Gen.oneof
            [ leaf
              Gen.arrayOfLength 3 (anyValue (size / 2)) |> Gen.map AnyValue.Array
              Gen.zip text (anyValue (size / 2))
              |> Gen.map (fun (k, v) -> { Key = k; Value = v })
              |> Gen.arrayOf
              |> Gen.map AnyValue.KvList ]

let attribute = Gen.zip text (anyValue 4) |> Gen.map (fun (k, v) -> { Key = k; Value = v })
let attributes = Gen.arrayOf attribute
let limit = Gen.choose (0, 12)

let event =
    attributes
    |> Gen.map (fun a -> ({ TimeUnixNano = 1UL; Name = "e"; Attributes = a; DroppedAttributesCount = 0u }: SpanEvent))

let link =
    attributes
    |> Gen.map (fun a ->
        let link: SpanLink =
            { TraceId = TraceId.Empty
              SpanId = SpanId.Empty
              TraceState = ""
              Attributes = a
              DroppedAttributesCount = 0u
              Flags = 0u }

        link)

let span =
    Gen.zip3 attributes (Gen.arrayOf event) (Gen.arrayOf link)
    |> Gen.map (fun (a, e, l) -> { Span.Empty with Attributes = a; Events = e; Links = l })

let spanLimits =
    Gen.zip3 (Gen.zip limit limit) (Gen.zip limit limit) (Gen.zip limit (Gen.optionOf limit))
    |> Gen.map (fun ((a, e), (l, ea), (la, length)) ->
        let limits: SpanLimits =
            { AttributeValueLengthLimit = length
              AttributeCountLimit = a
              EventCountLimit = e
              LinkCountLimit = l
              EventAttributeCountLimit = ea
              LinkAttributeCountLimit = la }

        limits)

/// Every string anywhere in a value.
let rec strings value =
    match value with
    | AnyValue.String s -> [ s ]
    | AnyValue.Array items -> items |> List.ofArray |> List.collect strings
    | AnyValue.KvList pairs -> pairs |> List.ofArray |> List.collect (fun kv -> strings kv.Value)
    | _ -> []

[<Tests>]
let tests =
    testList "Limits" [
        table "from environment" (fun pairs -> flatten (limitsOf pairs)) environmentRows

        table "truncation" (fun (limit, value) -> Limits.truncateValue limit value) truncationRows

        test "a bad generic limit is reported once even though several models fall back to it" {
            let resolved = Limits.fromEnvironment (env [ "OTEL_ATTRIBUTE_COUNT_LIMIT", "many" ])
            Expect.equal (resolved.Diagnostics |> Array.map (fun d -> d.Setting)) [| "OTEL_ATTRIBUTE_COUNT_LIMIT" |] "one diagnostic"
            Expect.equal resolved.Value Limits.defaults "defaults used"
        }

        test "a span over its limits keeps the first items and counts the rest as dropped" {
            let attrs n = [| for i in 1..n -> KeyValue.int $"a{i}" i |]

            let span =
                { Span.Empty with
                    Attributes = attrs 5
                    DroppedAttributesCount = 1u
                    Events =
                        [| for i in 1..4 ->
                               ({ TimeUnixNano = uint64 i; Name = $"e{i}"; Attributes = attrs 3; DroppedAttributesCount = 0u }: SpanEvent) |] }

            let limits = { Limits.defaults.Span with AttributeCountLimit = 2; EventCountLimit = 3; EventAttributeCountLimit = 1 }
            let limited = Limits.applyToSpan limits span

            Expect.equal (limited.Attributes |> Array.map (fun kv -> kv.Key)) [| "a1"; "a2" |] "first attributes kept"
            Expect.equal limited.DroppedAttributesCount 4u "1 already dropped + 3 now"
            Expect.equal (limited.Events |> Array.map (fun e -> e.Name)) [| "e1"; "e2"; "e3" |] "first events kept"
            Expect.equal limited.DroppedEventsCount 1u "one event dropped"
            Expect.equal (limited.Events |> Array.map (fun e -> e.DroppedAttributesCount)) [| 2u; 2u; 2u |] "event attributes"
        }

        test "a log record's attributes are limited and its body left alone" {
            let record =
                { LogRecord.Empty with
                    Body = AnyValue.String "a long body"
                    Attributes = [| KeyValue.string "a" "long"; KeyValue.string "b" "x" |] }

            let limited = Limits.applyToLogRecord { AttributeValueLengthLimit = Some 2; AttributeCountLimit = 1 } record

            Expect.equal limited.Attributes [| KeyValue.string "a" "lo" |] "attributes"
            Expect.equal limited.DroppedAttributesCount 1u "dropped"
            Expect.equal limited.Body record.Body "body"
        }

        testList "properties" [
            testProperty "truncation never leaves a string longer than the limit" <|
                Prop.forAll (Arb.fromGen (Gen.zip limit (anyValue 6))) (fun (limit, value) ->
                    strings (Limits.truncateValue limit value) |> List.forall (fun s -> s.Length <= limit))

            testProperty "truncation keeps a prefix and never splits a surrogate pair it cut through" <|
                Prop.forAll (Arb.fromGen (Gen.zip limit text)) (fun (limit, s) ->
                    let t = Limits.truncateString limit s
                    let cutThroughPair = t.Length < s.Length && t.Length > 0 && Char.IsHighSurrogate t[t.Length - 1] && Char.IsLowSurrogate s[t.Length]
                    s.StartsWith(t, StringComparison.Ordinal) && t.Length >= min s.Length limit - 1 && not cutThroughPair)

            testProperty "truncation never leaves a byte array longer than the limit, and keeps its prefix" <|
                Prop.forAll (Arb.fromGen (Gen.zip limit (anyValue 6))) (fun (limit, value) ->
                    let rec pairs original truncated =
                        match original, truncated with
                        | AnyValue.Bytes o, AnyValue.Bytes t -> [ o, t ]
                        | AnyValue.Array os, AnyValue.Array ts -> List.concat (Seq.map2 pairs os ts)
                        | AnyValue.KvList os, AnyValue.KvList ts -> List.concat (Seq.map2 (fun (o: KeyValue) (t: KeyValue) -> pairs o.Value t.Value) os ts)
                        | _ -> []
                    pairs value (Limits.truncateValue limit value)
                    |> List.forall (fun (o, t) -> t.Length = min o.Length limit && t = Array.truncate limit o))

            testProperty "truncation is idempotent" <|
                Prop.forAll (Arb.fromGen (Gen.zip limit (anyValue 6))) (fun (limit, value) ->
                    let once = Limits.truncateValue limit value
                    Limits.truncateValue limit once = once)

            testProperty "kept plus dropped attributes equal the original count" <|
                Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.optionOf limit) limit attributes)) (fun (length, count, attrs) ->
                    let kept, dropped = Limits.limitAttributes length count attrs
                    kept.Length + int dropped = attrs.Length && kept.Length <= count)

            testProperty "on a span, kept plus dropped equal the original for attributes, events and links" <|
                Prop.forAll (Arb.fromGen (Gen.zip spanLimits span)) (fun (limits, span) ->
                    let limited = Limits.applyToSpan limits span

                    let nestedOk (before: KeyValue array array) (after: KeyValue array array) (dropped: uint32 array) =
                        Array.forall2 (fun (b: KeyValue array) (a: KeyValue array, d) -> a.Length + int d = b.Length)
                            (Array.truncate after.Length before)
                            (Array.zip after dropped)

                    limited.Attributes.Length + int limited.DroppedAttributesCount = span.Attributes.Length
                    && limited.Events.Length + int limited.DroppedEventsCount = span.Events.Length
                    && limited.Links.Length + int limited.DroppedLinksCount = span.Links.Length
                    && nestedOk
                        (span.Events |> Array.map (fun e -> e.Attributes))
                        (limited.Events |> Array.map (fun e -> e.Attributes))
                        (limited.Events |> Array.map (fun e -> e.DroppedAttributesCount))
                    && nestedOk
                        (span.Links |> Array.map (fun l -> l.Attributes))
                        (limited.Links |> Array.map (fun l -> l.Attributes))
                        (limited.Links |> Array.map (fun l -> l.DroppedAttributesCount)))

            testProperty "applying span limits twice is the same as once" <|
                Prop.forAll (Arb.fromGen (Gen.zip spanLimits span)) (fun (limits, span) ->
                    let once = Limits.applyToSpan limits span
                    Limits.applyToSpan limits once = once)

            testProperty "applying log record limits twice is the same as once" <|
                Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.optionOf limit) limit attributes)) (fun (length, count, attrs) ->
                    let limits = { AttributeValueLengthLimit = length; AttributeCountLimit = count }
                    let once = Limits.applyToLogRecord limits { LogRecord.Empty with Attributes = attrs }
                    Limits.applyToLogRecord limits once = once)
        ]
    ]

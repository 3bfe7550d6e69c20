module Otlp.Core.Tests.InstrumentsTests

// Instrument validation (metrics API specification, "Instrument name syntax", "Instrument unit") and duplicate
// registration (metrics SDK specification, "Duplicate instrument registration").

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 500 }

let private instrument name : Instruments.Instrument =
    { MeterName = "Shop"
      MeterVersion = "1.0"
      Name = name
      Unit = "ms"
      Description = "Time taken."
      Kind = Aggregation.InstrumentKind.Histogram
      Integers = false
      AdvisedBucketBoundaries = None }

let private nameChars = Array.concat [ [| 'A' .. 'Z' |]; [| 'a' .. 'z' |]; [| '0' .. '9' |]; [| '_'; '.'; '/'; '-' |] ]

let private validNames =
    gen {
        let! first = Gen.elements (Array.append [| 'A' .. 'Z' |] [| 'a' .. 'z' |])
        let! length = Gen.choose (0, 254)
        let! rest = Gen.arrayOfLength length (Gen.elements nameChars)
        return String(Array.append [| first |] rest)
    }

let private register identities =
    identities
    |> List.fold
        (fun (results, registry) identity ->
            let result, next = Instruments.register identity registry
            result :: results, next)
        ([], Instruments.emptyRegistry)
    |> fun (results, registry) -> List.rev results, registry

[<Tests>]
let tests =
    testList "Instruments" [
        testPropertyWithConfig config "every name of a letter then up to 254 of [A-Za-z0-9_./-] is valid"
        <| Prop.forAll (Arb.fromGen validNames) (fun name -> Instruments.isValidName name)

        testPropertyWithConfig config "a valid name with any other character in it is invalid"
        <| Prop.forAll
            (Arb.fromGen (Gen.zip3 validNames (Gen.elements [ ' '; '+'; '#'; 'é'; '\u0000'; 'Ω'; ':' ]) (Gen.choose (0, 1000))))
            (fun (name, bad, at) ->
                let position = 1 + at % name.Length
                not (Instruments.isValidName (name.Insert(position, string bad))))

        test "the name table of the specification" {
            for name, valid in
                [ "a", true
                  "http.server.duration", true
                  "A1_./-", true
                  String('x', 255), true
                  String('x', 256), false
                  "", false
                  null, false
                  "1abc", false
                  "_abc", false
                  ".abc", false
                  "abc def", false
                  "café", false
                  "abc:def", false ] do
                Expect.equal (Instruments.isValidName name) valid $"{name}"
        }

        test "units are at most 63 ASCII characters; none is fine" {
            for unit, valid in
                [ null, true
                  "", true
                  "ms", true
                  "{request}", true
                  String('u', 63), true
                  String('u', 64), false
                  "µs", false ] do
                Expect.equal (Instruments.isValidUnit unit) valid $"{unit}"
        }

        test "validation gives the warning of an ignored instrument and Ok for a valid one" {
            Expect.equal (Instruments.validate (instrument "orders")) (Ok()) "valid"

            match Instruments.validate (instrument "bad name") with
            | Error warning -> Expect.stringContains warning "'bad name'" "names the instrument"
            | Ok() -> failtest "invalid name accepted"

            match Instruments.validate { instrument "orders" with Unit = "µs" } with
            | Error warning -> Expect.stringContains warning "unit" "says why"
            | Ok() -> failtest "invalid unit accepted"
        }

        test "identical instruments (name without case, kind, unit, description, meter) share one stream" {
            let a = instrument "Orders"
            let b = { instrument "orders" with Name = "ORDERS" }
            let results, registry =
                register [ Instruments.identity a a.Name a.Description; Instruments.identity b b.Name b.Description ]
            Expect.equal results [ Instruments.Registration.New 0; Instruments.Registration.Identical 0 ] "joined"
            Expect.equal (Instruments.streamCount registry) 1 "one stream"
        }

        test "same name but another kind, unit, description or number type conflicts: both kept, with a warning" {
            let a = instrument "orders"
            for other in
                [ { a with Kind = Aggregation.InstrumentKind.Counter }
                  { a with Unit = "s" }
                  { a with Description = "Other." }
                  { a with Integers = true } ] do
                let results, registry =
                    register [ Instruments.identity a a.Name a.Description; Instruments.identity other other.Name other.Description ]
                match results with
                | [ Instruments.Registration.New 0; Instruments.Registration.Conflicting(1, warning) ] ->
                    Expect.stringContains warning "orders" "names the metric"
                | other -> failtestf "unexpected %A" other
                Expect.equal (Instruments.streamCount registry) 2 "two streams"
        }

        test "the same name in another meter or meter version is another stream, without conflict" {
            let a = instrument "orders"
            let results, _ =
                register
                    [ Instruments.identity a a.Name a.Description
                      Instruments.identity { a with MeterName = "Other" } a.Name a.Description
                      Instruments.identity { a with MeterVersion = "2.0" } a.Name a.Description ]
            Expect.equal
                results
                [ Instruments.Registration.New 0; Instruments.Registration.New 1; Instruments.Registration.New 2 ]
                "independent"
        }

        testPropertyWithConfig config "registering is idempotent: an identity registered again is Identical to its first id"
        <| Prop.forAll
            (Arb.fromGen (Gen.listOf (Gen.zip (Gen.elements [ "a"; "A"; "b" ]) (Gen.elements [ "ms"; "s" ]))))
            (fun pairs ->
                let identities =
                    pairs |> List.map (fun (n, u) -> let i = { instrument n with Unit = u } in Instruments.identity i i.Name i.Description)
                let _, registry = register identities
                identities
                |> List.forall (fun identity ->
                    match Instruments.register identity registry with
                    | Instruments.Registration.Identical _, same -> Instruments.streamCount same = Instruments.streamCount registry
                    | _ -> false))

        test "views of one instrument that end up alike make a stream each, the later ones conflicting with a warning" {
            let a = instrument "orders"
            let same = Instruments.identity a a.Name a.Description
            match Instruments.registerStreams a [| same; same |] Instruments.emptyRegistry with
            | [| Instruments.Registration.New 0; Instruments.Registration.Conflicting(1, warning) |], registry ->
                Expect.stringContains warning "Views make more than one stream" "says why"
                Expect.stringContains warning "'orders'" "names the instrument"
                Expect.equal (Instruments.streamCount registry) 2 "two streams"
            | other -> failtestf "unexpected %A" other
        }

        test "a duplicate instrument's streams join the first one's in order; past them it makes its own" {
            let a = instrument "orders"
            let same = Instruments.identity a a.Name a.Description
            let _, registry = Instruments.registerStreams a [| same; same |] Instruments.emptyRegistry
            let twin = { a with Name = "ORDERS" }
            let twinIdentity = Instruments.identity twin twin.Name twin.Description
            match Instruments.registerStreams twin [| twinIdentity; twinIdentity; twinIdentity |] registry with
            | [| Instruments.Registration.Identical 0; Instruments.Registration.Identical 1; Instruments.Registration.Conflicting(2, _) |], next ->
                Expect.equal (Instruments.streamCount next) 3 "one more stream"
            | other -> failtestf "unexpected %A" other
        }

        test "a stream identical to one made for an instrument of another name joins it, with a warning" {
            let a = instrument "orders"
            let renamed = instrument "old.orders"
            let _, registry = Instruments.registerStreams a [| Instruments.identity a a.Name a.Description |] Instruments.emptyRegistry
            match Instruments.registerStreams renamed [| Instruments.identity renamed "orders" renamed.Description |] registry with
            | [| Instruments.Registration.Renamed(0, warning) |], next ->
                Expect.stringContains warning "'old.orders'" "names the renamed instrument"
                Expect.stringContains warning "'orders'" "and the other"
                Expect.equal (Instruments.streamCount next) 1 "no new stream"
            | other -> failtestf "unexpected %A" other
        }

        testPropertyWithConfig config "the streams of one instrument are distinct, and registering them again joins them in order"
        <| Prop.forAll
            (Arb.fromGen (Gen.listOf (Gen.zip (Gen.elements [ "a"; "A"; "b" ]) (Gen.elements [ "ms"; "s" ]))))
            (fun pairs ->
                let a = instrument "a"
                let identities =
                    pairs |> List.map (fun (n, u) -> Instruments.identity { a with Unit = u } n a.Description) |> List.toArray
                let idOf registration =
                    match registration with
                    | Instruments.Registration.New id
                    | Instruments.Registration.Identical id
                    | Instruments.Registration.Conflicting(id, _)
                    | Instruments.Registration.Renamed(id, _) -> id
                let first, registry = Instruments.registerStreams a identities Instruments.emptyRegistry
                let again, same = Instruments.registerStreams a identities registry
                let ids = first |> Array.map idOf
                Array.distinct ids = ids
                && Instruments.streamCount registry = identities.Length
                && again = Array.map Instruments.Registration.Identical ids
                && Instruments.streamCount same = Instruments.streamCount registry)
    ]

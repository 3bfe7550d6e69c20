/// Encoding straight from .NET objects (tag values, activities) gives the bytes of the model path: the mapping
/// to the model, the limits, then the model encoder.
module Otlp.Tests.DirectEncodingTests

open System
open System.Buffers
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Core.Protobuf
open Otlp.Core.Tests.Common
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

        test "a null tag value writes nothing" {
            Expect.isEmpty (writeWith (fun w -> TagValues.WriteAttribute(w, 9, "key", null, 10) |> ignore)) "no bytes"
        }
    ]

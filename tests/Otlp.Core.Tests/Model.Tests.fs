module Otlp.Core.Tests.ModelTests

open System
open Expecto
open Otlp.Core

[<Tests>]
let tests =
    testList "Model" [
        testProperty "a trace id survives bytes and hex" <| fun (high: uint64) (low: uint64) ->
            let id = { High = high; Low = low }
            TraceId.FromBytes(id.ToByteArray()) = id && TraceId.TryParseHex(id.ToHex()) = ValueSome id

        testProperty "a span id survives bytes and hex" <| fun (value: uint64) ->
            let id = { Value = value }
            SpanId.FromBytes(id.ToByteArray()) = id && SpanId.TryParseHex(id.ToHex()) = ValueSome id

        test "ids are written big-endian, most significant byte first" {
            let id = { High = 0x0102030405060708UL; Low = 0x090a0b0c0d0e0f10UL }
            Expect.equal (id.ToByteArray()) [| 1uy .. 16uy |] "trace id bytes"
            Expect.equal (id.ToHex()) "0102030405060708090a0b0c0d0e0f10" "trace id hex"
        }

        test "an id of the wrong length is refused" {
            Expect.throwsT<ArgumentException> (fun () -> TraceId.FromBytes(Array.zeroCreate 15) |> ignore) "15 bytes"
            Expect.throwsT<ArgumentException> (fun () -> SpanId.FromBytes(Array.zeroCreate 9) |> ignore) "9 bytes"
            Expect.equal (TraceId.TryParseHex "xyz") ValueNone "not hex"
        }

        test "AnyValue equality compares doubles by bits, so NaN equals itself" {
            Expect.isTrue (AnyValue.Double nan = AnyValue.Double nan) "NaN"
            Expect.isFalse (AnyValue.Double 0.0 = AnyValue.Double -0.0) "signed zeros"
        }
    ]

module Otlp.Core.Tests.ResponseBodyTests

// The google.rpc.Status of OTLP/HTTP failure bodies (opentelemetry-proto docs/specification.md, OTLP/HTTP
// "Failures"), in protobuf and in JSON, and the text made of its message.

open System
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Google.Protobuf
open Otlp.Core

let private config = { FsCheckConfig.defaultConfig with maxTest = 500 }

/// A google.rpc.Status written with Google.Protobuf's writer, independent of the reader under test, with an
/// unknown field among the known ones.
let private statusProtobuf (code: int) (message: string) (details: int) =
    use buffer = new IO.MemoryStream()
    let output = new CodedOutputStream(buffer)
    output.WriteTag(1, WireFormat.WireType.Varint)
    output.WriteInt32 code
    output.WriteTag(9, WireFormat.WireType.Fixed64)
    output.WriteFixed64 42UL
    output.WriteTag(2, WireFormat.WireType.LengthDelimited)
    output.WriteString message
    for _ in 1..details do
        output.WriteTag(3, WireFormat.WireType.LengthDelimited)
        output.WriteBytes(ByteString.CopyFromUtf8 "\n\u0010type.example/x")
    output.Flush()
    buffer.ToArray()

let private statusJson (code: int) (message: string) (details: int) =
    let message = Text.Json.JsonSerializer.Serialize message
    let detail = """{"@type":"type.googleapis.com/google.rpc.DebugInfo","detail":"x","nested":[1,{"a":[]}]}"""
    let details = String.Join(",", Array.create details detail)
    Encoding.UTF8.GetBytes $"""{{"code":{code},"unknown":{{"deep":[1,2]}},"message":{message},"details":[{details}]}}"""

let private decode (bytes: byte array) encoding = ResponseBody.tryDecodeStatus (ReadOnlyMemory bytes, encoding)

let private text = ArbMap.defaults |> ArbMap.generate<string> |> Gen.map (fun s -> if isNull s then "" else s)

let private noControl (s: string) =
    s |> Seq.forall (fun c -> not (Char.IsControl c) && c <> '\u2028' && c <> '\u2029' && not (c >= '\u202A' && c <= '\u202E'))

[<Tests>]
let properties =
    testList "ResponseBody properties" [
        testPropertyWithConfig config "a protobuf Status round-trips its code, message and detail count"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.choose (-5, 20)) text (Gen.choose (0, 3))))
            (fun (code, message, details) ->
                let expected: ResponseBody.Status = { Code = code; Message = message; DetailCount = details }
                decode (statusProtobuf code message details) ResponseBody.Encoding.Protobuf = Some expected)

        testPropertyWithConfig config "a JSON Status round-trips its code, message and detail count, skipping unknown fields"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.choose (-5, 20)) text (Gen.choose (0, 3))))
            (fun (code, message, details) ->
                // Lone surrogates do not survive UTF-8; the rest must.
                let message = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes message)
                let expected: ResponseBody.Status = { Code = code; Message = message; DetailCount = details }
                decode (statusJson code message details) ResponseBody.Encoding.Json = Some expected)

        testPropertyWithConfig config "decoding never throws on arbitrary bytes, in either encoding"
        <| Prop.forAll (Arb.fromGen (Gen.arrayOf (Gen.choose (0, 255) |> Gen.map byte)))
            (fun bytes ->
                decode bytes ResponseBody.Encoding.Protobuf |> ignore
                decode bytes ResponseBody.Encoding.Json |> ignore
                true)

        testPropertyWithConfig config "decoding never throws on damaged valid statuses, in either encoding"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 text (Gen.choose (0, 1000)) (Gen.choose (0, 255))))
            (fun (message, at, value) ->
                for bytes, encoding in [ statusProtobuf 3 message 2, ResponseBody.Encoding.Protobuf; statusJson 3 message 2, ResponseBody.Encoding.Json ] do
                    let cut = Array.truncate (at % (bytes.Length + 1)) bytes
                    decode cut encoding |> ignore
                    let flipped = Array.copy bytes
                    flipped[at % bytes.Length] <- byte value
                    decode flipped encoding |> ignore
                true)

        testPropertyWithConfig config "printable text has no control characters and at most the limit and an ellipsis"
        <| Prop.forAll (Arb.fromGen (Gen.zip text (Gen.choose (1, 50))))
            (fun (message, limit) ->
                let shown = ResponseBody.printable limit message
                noControl shown && shown.Length <= limit + 1 && (shown.Length <= limit || shown.EndsWith "…"))

        testPropertyWithConfig config "printable text keeps a short message without control characters as it is"
        <| Prop.forAll
            // Whole characters, also those of two UTF-16 units (an emoji) and a letter with a combining accent;
            // at most 200 pieces of at most 2 units, well under the limit.
            (Arb.fromGen (
                Gen.elements [ "a"; "Z"; "0"; " "; ":"; "é"; "中"; "\""; "😀"; "e\u0301"; "\u00A0" ]
                |> Gen.listOf
                |> Gen.map (List.truncate 200 >> String.Concat >> fun text -> text.Trim())))
            (fun clean -> ResponseBody.printable ResponseBody.MaxMessageChars clean = clean)
    ]

[<Tests>]
let examples =
    testList "ResponseBody examples" [
        test "the body's content type decides its encoding; without one, the request's encoding does" {
            Expect.equal (ResponseBody.encodingOf "application/json" false) ResponseBody.Encoding.Json "JSON"
            Expect.equal (ResponseBody.encodingOf "application/x-protobuf" true) ResponseBody.Encoding.Protobuf "protobuf"
            Expect.equal (ResponseBody.encodingOf "text/html" false) ResponseBody.Encoding.Other "a proxy's page"
            Expect.equal (ResponseBody.encodingOf null true) ResponseBody.Encoding.Json "none: the request's JSON"
            Expect.equal (ResponseBody.encodingOf "" false) ResponseBody.Encoding.Protobuf "none: the request's protobuf"
        }

        test "an empty body, an HTML page and a body of another content type decode to nothing" {
            Expect.isNone (decode [||] ResponseBody.Encoding.Protobuf) "empty"
            Expect.isNone (decode (Encoding.ASCII.GetBytes "<html><body>Bad gateway</body></html>") ResponseBody.Encoding.Protobuf) "HTML as protobuf"
            Expect.isNone (decode (Encoding.ASCII.GetBytes "<html>") ResponseBody.Encoding.Json) "HTML as JSON"
            Expect.isNone (decode (statusProtobuf 3 "x" 0) ResponseBody.Encoding.Other) "other"
            Expect.isNone (decode (Encoding.ASCII.GetBytes "[1,2]") ResponseBody.Encoding.Json) "not an object"
        }

        test "a huge message decodes, and its printable text is cut at the limit" {
            let huge = String('m', 5 * 1024 * 1024)
            match decode (statusProtobuf 8 huge 0) ResponseBody.Encoding.Protobuf with
            | Some status ->
                Expect.equal status.Message.Length huge.Length "decoded whole"
                let shown = ResponseBody.printable ResponseBody.MaxMessageChars status.Message
                Expect.equal shown (String('m', ResponseBody.MaxMessageChars) + "…") "cut"
            | None -> failtest "decodes"
            Expect.isSome (decode (statusJson 8 huge 0) ResponseBody.Encoding.Json) "JSON too"
        }

        test "deeply nested JSON is refused, not a stack overflow" {
            let deep = Encoding.ASCII.GetBytes("""{"details":[""" + String('[', 100_000) + String(']', 100_000) + "]}")
            Expect.isNone (decode deep ResponseBody.Encoding.Json) "refused"
        }

        test "control characters, line breaks and bidirectional overrides become spaces" {
            Expect.equal (ResponseBody.printable 100 "bad\r\nfield\u0000 \u202Ename\u0085!") "bad  field   name !" "cleaned"
            Expect.equal (ResponseBody.printable 3 "ab\U0001F600") "ab…" "never cuts a surrogate pair"
        }
    ]

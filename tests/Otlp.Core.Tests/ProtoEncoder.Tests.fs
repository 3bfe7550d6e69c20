module Otlp.Core.Tests.ProtoEncoderTests

open System
open System.Buffers
open System.IO
open Expecto
open Google.Protobuf
open Otlp.Core
open Otlp.Core.Tests.Common

let private sameBytes (ours: byte array) (oracle: byte array) =
    if ours <> oracle then
        let first = Seq.zip ours oracle |> Seq.tryFindIndex (fun (a, b) -> a <> b) |> Option.defaultValue (min ours.Length oracle.Length)
        failtestf "bytes differ at offset %d (ours %d bytes, oracle %d bytes)" first ours.Length oracle.Length

/// A realistic span: ids, ten attributes of mixed types, two events, a link, a status.
let realisticSpan (i: int) : Span =
    { Span.Empty with
        TraceId = { High = 0x0af7651916cd43ddUL; Low = uint64 i }
        SpanId = { Value = 0xb7ad6b7169203331UL + uint64 i }
        ParentSpanId = { Value = 0x00f067aa0ba902b7UL }
        Flags = 0x301u
        Name = "GET /api/orders/{id}"
        Kind = SpanKind.Server
        StartTimeUnixNano = 1_700_000_000_000_000_000UL + uint64 i
        EndTimeUnixNano = 1_700_000_000_123_456_789UL + uint64 i
        Attributes =
            [| KeyValue.string "http.request.method" "GET"
               KeyValue.string "url.path" "/api/orders/12345"
               KeyValue.int "http.response.status_code" 200
               KeyValue.string "server.address" "orders.internal"
               KeyValue.int "server.port" 8080
               KeyValue.bool "retry" false
               KeyValue.double "ratio" 0.25
               KeyValue.string "user_agent.original" "Mozilla/5.0 (X11; Linux x86_64)"
               KeyValue.int64 "request.size" 123456L
               KeyValue.array "tags" [ AnyValue.String "a"; AnyValue.String "b" ] |]
        Events =
            [| { TimeUnixNano = 1_700_000_000_050_000_000UL; Name = "cache.miss"; Attributes = [| KeyValue.string "key" "orders:12345" |]; DroppedAttributesCount = 0u }
               { TimeUnixNano = 1_700_000_000_060_000_000UL; Name = "db.query"; Attributes = [||]; DroppedAttributesCount = 0u } |]
        Links =
            [| { TraceId = { High = 0x4bf92f3577b34da6UL; Low = 0xa3ce929d0e0e4736UL }
                 SpanId = { Value = 0x00f067aa0ba902b7UL }
                 TraceState = ""
                 Attributes = [| KeyValue.string "link.kind" "follows" |]
                 DroppedAttributesCount = 0u
                 Flags = 0x101u } |]
        Status = { Message = ""; Code = StatusCode.Ok } }

let private requestOf (spanCount: int) =
    Request.ofSpans
        (Resource.ofServiceName "orders")
        (InstrumentationScope.create "Orders.Api" "1.2.3")
        (Array.init spanCount realisticSpan)

[<Tests>]
let tests =
    testList "ProtoEncoder" [
        testPropertyWithConfig config "trace requests encode to the oracle's bytes"
        <| fun (request: ExportTraceServiceRequest) ->
            sameBytes (ProtoEncoder.traceRequestToBytes request) ((Oracle.ofTraceRequest request).ToByteArray())

        testPropertyWithConfig config "metrics requests encode to the oracle's bytes"
        <| fun (request: ExportMetricsServiceRequest) ->
            sameBytes (ProtoEncoder.metricsRequestToBytes request) ((Oracle.ofMetricsRequest request).ToByteArray())

        testPropertyWithConfig config "logs requests encode to the oracle's bytes"
        <| fun (request: ExportLogsServiceRequest) ->
            sameBytes (ProtoEncoder.logsRequestToBytes request) ((Oracle.ofLogsRequest request).ToByteArray())

        testPropertyWithConfig config "responses encode to the oracle's bytes"
        <| fun (partial: PartialSuccess) ->
            sameBytes
                (ProtoEncoder.traceResponseToBytes { PartialSuccess = partial })
                ((Oracle.ofTraceResponse { PartialSuccess = partial }).ToByteArray())
            sameBytes
                (ProtoEncoder.metricsResponseToBytes { PartialSuccess = partial })
                ((Oracle.ofMetricsResponse { PartialSuccess = partial }).ToByteArray())
            sameBytes
                (ProtoEncoder.logsResponseToBytes { PartialSuccess = partial })
                ((Oracle.ofLogsResponse { PartialSuccess = partial }).ToByteArray())

        testPropertyWithConfig config "data the protos call invalid (no value, unspecified temporality, a repeated key) encodes to the oracle's bytes and decodes back"
        <| fun (request: ExportMetricsServiceRequest) ->
            let loose = loosenMetrics request
            sameBytes (ProtoEncoder.metricsRequestToBytes loose) ((Oracle.ofMetricsRequest loose).ToByteArray())
            match ProtoDecoder.metricsRequest (ReadOnlyMemory(ProtoEncoder.metricsRequestToBytes loose)) with
            | Ok decoded -> expectSame decoded loose "decoded"
            | Error e -> failtestf "did not decode: %O" e

        testPropertyWithConfig config "the oracle parses our trace bytes into the same message"
        <| fun (request: ExportTraceServiceRequest) ->
            let parsed = Oracle.TraceRequest.Parser.ParseFrom(ProtoEncoder.traceRequestToBytes request)
            Expect.equal parsed (Oracle.ofTraceRequest request) "parsed by the oracle"

        testPropertyWithConfig config "the oracle parses our metrics bytes into the same message"
        <| fun (request: ExportMetricsServiceRequest) ->
            let parsed = Oracle.MetricsRequest.Parser.ParseFrom(ProtoEncoder.metricsRequestToBytes request)
            Expect.equal parsed (Oracle.ofMetricsRequest request) "parsed by the oracle"

        testPropertyWithConfig config "the oracle parses our logs bytes into the same message"
        <| fun (request: ExportLogsServiceRequest) ->
            let parsed = Oracle.LogsRequest.Parser.ParseFrom(ProtoEncoder.logsRequestToBytes request)
            Expect.equal parsed (Oracle.ofLogsRequest request) "parsed by the oracle"

        testPropertyWithConfig config "round trip: trace requests decode to what was encoded"
        <| fun (request: ExportTraceServiceRequest) ->
            match ProtoDecoder.traceRequest (ReadOnlyMemory(ProtoEncoder.traceRequestToBytes request)) with
            | Ok decoded -> expectSame decoded request "decoded"
            | Error e -> failtestf "did not decode: %O" e

        testPropertyWithConfig config "round trip: metrics requests decode to what was encoded"
        <| fun (request: ExportMetricsServiceRequest) ->
            match ProtoDecoder.metricsRequest (ReadOnlyMemory(ProtoEncoder.metricsRequestToBytes request)) with
            | Ok decoded -> expectSame decoded request "decoded"
            | Error e -> failtestf "did not decode: %O" e

        testPropertyWithConfig config "round trip: logs requests decode to what was encoded"
        <| fun (request: ExportLogsServiceRequest) ->
            match ProtoDecoder.logsRequest (ReadOnlyMemory(ProtoEncoder.logsRequestToBytes request)) with
            | Ok decoded -> expectSame decoded request "decoded"
            | Error e -> failtestf "did not decode: %O" e

        testPropertyWithConfig config "round trip: responses decode to what was encoded"
        <| fun (partial: PartialSuccess) ->
            let decoded = ProtoDecoder.traceResponse (ReadOnlyMemory(ProtoEncoder.traceResponseToBytes { PartialSuccess = partial }))
            Expect.equal decoded (Ok { PartialSuccess = partial }) "trace response"
            let decoded = ProtoDecoder.metricsResponse (ReadOnlyMemory(ProtoEncoder.metricsResponseToBytes { PartialSuccess = partial }))
            Expect.equal decoded (Ok { PartialSuccess = partial }) "metrics response"
            let decoded = ProtoDecoder.logsResponse (ReadOnlyMemory(ProtoEncoder.logsResponseToBytes { PartialSuccess = partial }))
            Expect.equal decoded (Ok { PartialSuccess = partial }) "logs response"

        testPropertyWithConfig config "writing into a buffer writer reports the bytes it wrote"
        <| fun (request: ExportTraceServiceRequest) ->
            let output = ArrayBufferWriter<byte>()
            output.Write(ReadOnlySpan [| 1uy; 2uy |])
            let written = ProtoEncoder.writeTraceRequest request output
            Expect.equal written (output.WrittenCount - 2) "count"
            Expect.equal (output.WrittenSpan.Slice(2).ToArray()) (ProtoEncoder.traceRequestToBytes request) "appended bytes"

        testPropertyWithConfig config "one pass and the size pass write the same trace bytes"
        <| fun (request: ExportTraceServiceRequest) ->
            sameBytes (ProtoEncoder.traceRequestToBytes request) (SizePassEncoder.traceRequestToBytes request)

        testPropertyWithConfig config "one pass and the size pass write the same metrics bytes"
        <| fun (request: ExportMetricsServiceRequest) ->
            sameBytes (ProtoEncoder.metricsRequestToBytes request) (SizePassEncoder.metricsRequestToBytes request)

        testPropertyWithConfig config "one pass and the size pass write the same logs bytes"
        <| fun (request: ExportLogsServiceRequest) ->
            sameBytes (ProtoEncoder.logsRequestToBytes request) (SizePassEncoder.logsRequestToBytes request)

        testPropertyWithConfig config "one pass writes the same bytes into a buffer writer of any starting size"
        <| fun (request: ExportTraceServiceRequest) (initial: FsCheck.PositiveInt) ->
            // The first memory offered may be too small, so the writer moves to a pooled array midway.
            let output = ArrayBufferWriter<byte>(min initial.Get 4096)
            ProtoEncoder.writeTraceRequest request output |> ignore
            sameBytes (output.WrittenSpan.ToArray()) (SizePassEncoder.traceRequestToBytes request)

        testPropertyWithConfig config "text of any mix of ASCII runs and other characters is written as the oracle writes it"
        <| fun (pieces: (FsCheck.NonNegativeInt * char) list) (tail: FsCheck.NonNegativeInt) ->
            // The writer copies an ASCII prefix in blocks of 16 and transcodes the rest: runs of every length
            // around the block size, then multi-byte, surrogate and control characters, cover both paths.
            let specials = [| 'é'; '€'; '\u0000'; '\u007f'; '\u0080'; '\ud83d'; '\ude00'; 'ÿ'; '中' |]
            let text =
                let b = Text.StringBuilder()
                for (run, c) in pieces do
                    b.Append('a', run.Get % 40).Append(specials[int c % specials.Length]) |> ignore
                b.Append('z', tail.Get % 40).ToString()
            let writer = Protobuf.ProtoWriter()
            let target = Array.zeroCreate<byte> 16
            writer.Start(target, 3, 13)
            writer.StringField(5, text.AsSpan())
            let ours = writer.Written.ToArray()
            writer.Release()
            let stream = new MemoryStream()
            let coded = new CodedOutputStream(stream)
            coded.WriteTag(5, WireFormat.WireType.LengthDelimited)
            coded.WriteString text
            coded.Flush()
            sameBytes ours (stream.ToArray())

        testPropertyWithConfig config "text met again by reference is written as it was the first time, however the cache churns"
        <| fun (texts: FsCheck.NonNull<string> list) (picks: (byte * bool) list) ->
            // Writes a sequence of texts from a small pool (the same references again and again, in two fields)
            // through the identity cache and plainly, into a small start array so the writer moves midway.
            let pool = Array.ofList (("k" :: (texts |> List.map (fun t -> t.Get))) @ [ String('é', 40); String('x', 65) ])
            let write (known: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 8, 0, 8)
                for (pick, second) in picks @ picks @ picks do
                    let text = pool[int pick % pool.Length]
                    let field = if second then 2 else 1
                    if known then w.KnownStringField(field, text) else w.StringField(field, text.AsSpan())
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "a string attribute met again by reference is written as it was the first time, whatever key it comes with"
        <| fun (texts: FsCheck.NonNull<string> list) (picks: (byte * byte) list) ->
            // Texts from a pool (the same references again and again, around the one-piece limit of 125, not ASCII,
            // generated), each with one of three keys (two of them equal in content but not in reference), through
            // the whole-attribute cache and through the plain writers, into a small start array so the writer
            // moves midway. Whatever the cache refuses, the plain path writes; the bytes are the same.
            let pool = Array.ofList ((texts |> List.map (fun t -> t.Get)) @ [ "Processed order {OrderId}"; ""; "é"; String('x', 125); String('x', 126) ])
            let keys = [| "{OriginalFormat}"; String([| '{'; 'O'; 'r'; 'i'; 'g'; 'i'; 'n'; 'a'; 'l'; 'F'; 'o'; 'r'; 'm'; 'a'; 't'; '}' |]); "message.template" |]
            let plainAttribute (w: Protobuf.ProtoWriter) (key: string) (text: string) =
                if not (w.TryStringAttribute(9, key, text.AsSpan())) then
                    let token = Protobuf.CommonFields.beginAttribute w 9 key
                    Protobuf.CommonFields.stringValue w (text.AsSpan())
                    Protobuf.CommonFields.endAttribute w token
            let write (known: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 8, 0, 8)
                for (pick, key) in picks @ picks @ picks do
                    let text = pool[int pick % pool.Length]
                    let key = keys[int key % keys.Length]
                    if not (known && w.KnownStringAttribute(9, key, text)) then plainAttribute w key text
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "kept bytes copied in chunks are the bytes Raw copies, around every chunk size"
        <| fun (pieces: byte array list) (prefix: byte) ->
            // Encodings of any length (empty, under, at and past 16 and 32 bytes, generated), each written after a
            // few bytes already there, into a small start array so the writer moves midway: what the chunked copy
            // reads and stores past the end never shows in the output.
            let pieces = pieces @ [ [||]; Array.init 16 byte; Array.init 31 byte; Array.init 33 byte; Array.init 200 byte ]
            let write (padded: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 8, 0, 8)
                w.Raw(ReadOnlySpan(Array.create (int prefix % 7) 0xEEuy))
                for piece in pieces do
                    if padded then w.RawPadded(Protobuf.ProtoWriter.Padded(ReadOnlySpan piece), piece.Length)
                    else w.Raw(ReadOnlySpan piece)
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        test "bytes without the chunked copy's slack are refused, not read past" {
            let w = Protobuf.ProtoWriter()
            w.Start(Array.zeroCreate 64, 0, 64)
            Expect.throwsT<ArgumentException> (fun () -> w.RawPadded(Array.zeroCreate 40, 9)) "an array 31 bytes longer than the length"
            Expect.throwsT<ArgumentException> (fun () -> w.RawPadded(null, 0)) "no array"
            Expect.equal w.Written.Length 0 "nothing written"
            w.Release()
        }

        test "a kept attribute is copied only for its own key and field" {
            // The same text kept with one key is written anew with another; as a field, it stays a field.
            let text = "Processed order {OrderId} for {Customer}"
            let w = Protobuf.ProtoWriter()
            let plain = Protobuf.ProtoWriter()
            w.Start(Array.zeroCreate 16, 0, 16)
            plain.Start(Array.zeroCreate 16, 0, 16)
            for key in [ "{OriginalFormat}"; "{OriginalFormat}"; "{OriginalFormat}"; "other"; "{OriginalFormat}"; "other" ] do
                Expect.isTrue (w.KnownStringAttribute(9, key, text)) "ASCII under the one-piece limit"
                Expect.isTrue (plain.TryStringAttribute(9, key, text.AsSpan())) "ASCII under the one-piece limit"
                w.KnownStringField(9, text)
                plain.StringField(9, text.AsSpan())
            sameBytes (w.Written.ToArray()) (plain.Written.ToArray())
            w.Release()
            plain.Release()
        }

        testPropertyWithConfig config "ASCII narrowing copies exactly the text's ASCII prefix and nothing past the text"
        <| fun (length: byte) (other: (byte * char) option) ->
            // Lengths around every chunk size (4, 8, 16, 32, several of 32, overlapping tails), with at most one
            // character that is not ASCII somewhere in the text.
            let length = int length % 100
            let chars = Array.init length (fun i -> char (0x20 + (i * 7) % 0x5F))
            match other with
            | Some (at, c) when length > 0 -> chars[int at % length] <- (if int c < 0x80 then char (0x80 + int c) else c)
            | _ -> ()
            let text = String(chars)
            let destination = Array.create (length + 16) 0xEEuy
            let copied = Protobuf.Ascii.narrowPrefix (text.AsSpan()) (&destination[0])
            let expected = chars |> Array.tryFindIndex (fun c -> int c >= 0x80) |> Option.defaultValue length
            Expect.equal copied expected "the ASCII prefix length"
            for i in 0 .. expected - 1 do
                Expect.equal destination[i] (byte chars[i]) $"byte {i}"
            for i in length .. destination.Length - 1 do
                Expect.equal destination[i] 0xEEuy $"byte {i}, past the text, untouched"

        test "ASCII narrowing stops at the first character that is not ASCII, at every place of every length to 99" {
            // Each length's own path (under 4, 4 to 7, 8 to 15, 16 to 32, the chunk loop past 32) meets the character
            // in every place, and the characters at the edge of ASCII on both sides.
            for length in 0 .. 99 do
                for at in -1 .. length - 1 do
                    for other in [ '\u0080'; '\u00FF'; '\u0100'; '\uFF80'; '\uFFFF' ] do
                        let chars = Array.init length (fun i -> if i = at then other else char (0x7F - i % 0x60))
                        let destination = Array.create (length + 16) 0xEEuy
                        let copied = Protobuf.Ascii.narrowPrefix (ReadOnlySpan chars) (&destination[0])
                        let expected = if at < 0 then length else at
                        if copied <> expected then failtest $"length {length}, U+{int other:X4} at {at}: {copied} copied"
                        for i in 0 .. expected - 1 do
                            if destination[i] <> byte chars[i] then failtest $"length {length}, U+{int other:X4} at {at}: byte {i}"
                        for i in length .. destination.Length - 1 do
                            if destination[i] <> 0xEEuy then failtest $"length {length}: byte {i}, past the text, written"
        }

        testPropertyWithConfig config "scalar attributes are written in one piece as they are field by field, whatever the key and value"
        <| fun (picks: (byte * AnyValue) list) (field: byte) ->
            // Keys from a small pool of references, so most are kept after their second use and take the one-piece
            // path; values of every scalar kind and size (long and non-ASCII strings fall back midway); fields on
            // both sides of the one-byte tag limit.
            let field = [| 1; 9; 15; 16; 20 |][int field % 5]
            let keys = [| "k"; "http.response.status_code"; ""; "clé.é"; String('x', 70); String('y', 40) |]
            let scalar (value: AnyValue) =
                match value with
                | AnyValue.String _ | AnyValue.Int _ | AnyValue.Double _ | AnyValue.Bool _ -> value
                | _ -> AnyValue.Int 0L
            let attributes = picks |> List.map (fun (k, v) -> keys[int k % keys.Length], scalar v)
            let write (fused: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 8, 0, 8)
                for (key, value) in attributes @ attributes @ attributes do
                    if fused then
                        match value with
                        | AnyValue.String s -> Protobuf.CommonFields.attributeString w field key (s.AsSpan())
                        | AnyValue.Int i -> Protobuf.CommonFields.attributeInt w field key i
                        | AnyValue.Double d -> Protobuf.CommonFields.attributeDouble w field key d
                        | AnyValue.Bool b -> Protobuf.CommonFields.attributeBool w field key b
                        | _ -> failtest "not a scalar"
                    else
                        let token = Protobuf.CommonFields.beginAttribute w field key
                        Protobuf.CommonFields.anyValue w value
                        Protobuf.CommonFields.endAttribute w token
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "an integer attribute encoded beforehand is written as with its field and key"
        <| fun (picks: (byte * int64) list) (field: byte) (other: FsCheck.NonNull<string>) ->
            // Keys of every length class (empty, one 16-byte chunk, several, at and past the one-byte limits, not
            // ASCII, any text), boundary values and every varint length, fields on both sides of the one-byte tag
            // limit, a small first buffer.
            let field = [| 1; 6; 15; 16; 20 |][int field % 5]
            let keys =
                [| ""; "k"; "logrecord.event.id"; String('x', 16); String('x', 33); String('y', 100); String('z', 112)
                   String('z', 113); "clé.é"; other.Get |]
                |> Array.map (fun key -> key, Protobuf.EncodedIntAttribute(field, key))
            let boundary =
                [| 0L; 1L; 127L; 128L; 16383L; 16384L; 1001L; -1L; Int64.MaxValue; Int64.MinValue; 1L <<< 56; (1L <<< 63) - 1L |]
            let attributes =
                picks |> List.mapi (fun i (k, v) -> keys[int k % keys.Length], (if i % 3 = 0 then boundary[int k % boundary.Length] else v))
            let write (encoded: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 8, 0, 8)
                for ((text, attribute), value) in attributes do
                    if encoded then Protobuf.CommonFields.attributeIntWith w attribute value
                    else Protobuf.CommonFields.attributeInt w field text value
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "an event's time and name are written in one piece as they are field by field"
        <| fun (pick: byte) (other: FsCheck.NonNull<string>) (time: uint64) (zero: bool) ->
            let names = [| ""; "exception"; "é-event"; String('x', 125); String('x', 127); String('y', 128); other.Get |]
            let name = names[int pick % names.Length]
            let time = if zero then 0UL else time
            let write (fused: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 4, 0, 4)
                if fused then
                    w.TimeAndName(1, time, 2, name)
                else
                    if time <> 0UL then
                        w.Tag(1, Protobuf.Fields.WireFixed64)
                        w.Fixed64 time
                    if not (String.IsNullOrEmpty name) then w.StringField(2, name.AsSpan())
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "a string array attribute is written in one piece as it is element by element"
        <| fun (picks: byte list) (other: FsCheck.NonNull<string>) (limit: byte) (field: byte) ->
            // Elements from a pool around the one-piece limits (empty, null, long, not ASCII, generated), arrays of
            // any length, and a length limit that sometimes truncates: whatever the one-piece writer refuses is
            // written by the general path, and the bytes are the same either way.
            let pool = [| ""; "a"; "new-checkout"; null; "é"; String('x', 40); String('x', 123); other.Get |]
            let values = picks |> List.map (fun p -> pool[int p % pool.Length]) |> Array.ofList
            let maxLength = if limit < 200uy then int limit else Int32.MaxValue
            let field = [| 1; 9; 15; 16 |][int field % 4]
            let elementByElement (w: Protobuf.ProtoWriter) =
                let token = Protobuf.CommonFields.beginAttribute w field "app.feature_flags"
                let array = Protobuf.CommonFields.beginArray w
                for v in values do
                    let element = Protobuf.CommonFields.beginElement w
                    if not (isNull v) then
                        let text = v.AsSpan()
                        let text = if text.Length <= maxLength then text else text.Slice(0, Limits.truncatedLength maxLength text)
                        Protobuf.CommonFields.stringValue w text
                    Protobuf.CommonFields.endElement w element
                Protobuf.CommonFields.endArray w array
                Protobuf.CommonFields.endAttribute w token
            let write (fused: bool) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 4, 0, 4)
                if not (fused && w.TryStringArrayAttribute(field, "app.feature_flags", values, maxLength)) then elementByElement w
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            sameBytes (write true) (write false)

        testPropertyWithConfig config "span and log record heads and tails are written in one piece as they are field by field"
        <| fun (pick: byte) (other: FsCheck.NonNull<string>) (ids: uint64 * uint64 * uint64) (small: int) (time: uint64) ->
            // Text on both sides of every one-piece limit (123, 124, 125, 126, 127, 128 characters), not ASCII, or
            // generated; zero and non-zero ids, times and counts; enum values that need one byte, two, or ten.
            let texts = [| null; ""; "GET /api/orders/{id}"; "é"; String('x', 123); String('x', 124); String('x', 125); String('x', 126); String('x', 127); String('x', 128); other.Get |]
            let text k = texts[(int pick + k) % texts.Length]
            let (a, b, c) = ids
            let number = [| 0; 1; 9; small; -1; 200 |][int pick % 6]
            let zeroOr (v: uint64) = if (int pick) % 3 = 0 then 0UL else v
            let traceId: TraceId = { High = zeroOr a; Low = b }
            let spanId: SpanId = { Value = zeroOr c }
            let fused (write: Protobuf.ProtoWriter -> unit) =
                let w = Protobuf.ProtoWriter()
                w.Start(Array.zeroCreate 4, 0, 4)
                write w
                let bytes = w.Written.ToArray()
                w.Release()
                bytes
            let str (w: Protobuf.ProtoWriter) field (s: string) = if not (String.IsNullOrEmpty s) then w.StringField(field, s.AsSpan())
            let fixed64 (w: Protobuf.ProtoWriter) field (v: uint64) =
                if v <> 0UL then
                    w.Tag(field, Protobuf.Fields.WireFixed64)
                    w.Fixed64 v
            let enumField (w: Protobuf.ProtoWriter) field (v: int) =
                if v <> 0 then
                    w.Tag(field, Protobuf.Fields.WireVarint)
                    w.Varint64(uint64 (int64 v))
            let ids (w: Protobuf.ProtoWriter) traceField spanField =
                if traceId.High <> 0UL || traceId.Low <> 0UL then w.TraceIdField(traceField, traceId.High, traceId.Low)
                if spanId.Value <> 0UL then w.SpanIdField(spanField, spanId.Value)
            let spanHead =
                fused (fun w -> Protobuf.TraceFields.head w traceId spanId (text 1) spanId (text 0) (LanguagePrimitives.EnumOfValue<int, SpanKind> number) time (time / 2UL)),
                fused (fun w ->
                    ids w 1 2
                    str w 3 (text 1)
                    if spanId.Value <> 0UL then w.SpanIdField(4, spanId.Value)
                    str w 5 (text 0)
                    enumField w 6 number
                    fixed64 w 7 time
                    fixed64 w 8 (time / 2UL))
            let spanTail =
                fused (fun w -> Protobuf.TraceFields.tail w (text 0) (LanguagePrimitives.EnumOfValue<int, StatusCode> number) (uint32 small)),
                fused (fun w ->
                    if not (String.IsNullOrEmpty (text 0) && number = 0) then
                        let token = w.BeginMessage(15, 1)
                        str w 2 (text 0)
                        enumField w 3 number
                        w.EndMessage(token, 1)
                    if small <> 0 then
                        w.Tag(16, Protobuf.Fields.WireFixed32)
                        w.Fixed32(uint32 small))
            let logHead =
                fused (fun w ->
                    let severity = Protobuf.LogFields.severity (LanguagePrimitives.EnumOfValue<int, SeverityNumber> number) (text 1)
                    Protobuf.LogFields.headWithSeverity w time severity (text 0)),
                fused (fun w ->
                    fixed64 w 1 time
                    enumField w 2 number
                    str w 3 (text 1)
                    if not (isNull (text 0)) then
                        let token = w.BeginMessage(5, 1)
                        w.StringField(1, (text 0).AsSpan())
                        w.EndMessage(token, 1))
            let logTail =
                fused (fun w -> Protobuf.LogFields.tail w (uint32 small) (uint32 number) traceId spanId time (text 0)),
                fused (fun w ->
                    if small <> 0 then
                        w.Tag(7, Protobuf.Fields.WireVarint)
                        w.Varint32(uint32 small)
                    if number <> 0 then
                        w.Tag(8, Protobuf.Fields.WireFixed32)
                        w.Fixed32(uint32 number)
                    ids w 9 10
                    fixed64 w 11 time
                    str w 12 (text 0))
            for (name, (one, reference)) in [ "span head", spanHead; "span tail", spanTail; "log head", logHead; "log tail", logTail ] do
                if one <> reference then failtestf "%s: one-piece bytes %A differ from field-by-field %A" name one reference

        testPropertyWithConfig config "attributes with keys met again by reference encode to the oracle's bytes"
        <| fun (values: AnyValue list) ->
            let keys = [| "http.request.method"; "server.port"; "é"; String('k', 64) |]
            let attributes = values |> List.mapi (fun i v -> { Key = keys[i % keys.Length]; Value = v }) |> Array.ofList
            let resource = { Resource.Empty with Attributes = Array.concat [ attributes; attributes; attributes ] }
            let request = Request.ofSpans resource InstrumentationScope.Empty [ realisticSpan 1 ]
            sameBytes (ProtoEncoder.traceRequestToBytes request) ((Oracle.ofTraceRequest request).ToByteArray())

        test "the identity cache survives its arena filling up" {
            // Far more distinct texts, each met three times, than the arena holds: it is cleared and refilled.
            let texts = Array.init 3000 (fun i -> $"attribute.key.number.{i:D6}.with.a.long.tail.to.fill.arena")
            let w = Protobuf.ProtoWriter()
            let plain = Protobuf.ProtoWriter()
            w.Start(Array.zeroCreate 16, 0, 16)
            plain.Start(Array.zeroCreate 16, 0, 16)
            for round in 0 .. 2 do
                for i in 0 .. texts.Length - 1 do
                    w.KnownStringField(1 + (round % 2), texts[i])
                    plain.StringField(1 + (round % 2), texts[i].AsSpan())
            sameBytes (w.Written.ToArray()) (plain.Written.ToArray())
            w.Release()
            plain.Release()
        }

        test "length prefixes stay minimal when a guess is wrong in either direction" {
            // Multi-byte text makes string prefixes longer than guessed; a huge attribute makes its KeyValue's
            // one-byte guess too short; a tiny span makes the span's two-byte guess too long.
            let span =
                { Span.Empty with
                    Name = String('é', 100)
                    Attributes = [| KeyValue.string "big" (String('x', 20000)); KeyValue.string "emoji" (String.replicate 50 "😀") |] }
            let request = Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span; { Span.Empty with Flags = 1u } ]
            sameBytes (ProtoEncoder.traceRequestToBytes request) ((Oracle.ofTraceRequest request).ToByteArray())
        }

        test "an empty request encodes to no bytes" {
            Expect.isEmpty (ProtoEncoder.traceRequestToBytes { ResourceSpans = [||] }) "no bytes"
            Expect.isEmpty (ProtoEncoder.traceResponseToBytes { PartialSuccess = PartialSuccess.Empty }) "no bytes"
        }

        test "a span's flags (field 16) take a two-byte tag and come last" {
            let bytes = ProtoEncoder.traceRequestToBytes (Request.ofSpans Resource.Empty InstrumentationScope.Empty [ { Span.Empty with Flags = 1u } ])
            // request(1) > resource spans(2) > scope spans(2) > span: tag 0x85 0x01 (field 16, fixed32), value 1.
            Expect.equal bytes [| 0x0Auy; 0x0Auy; 0x12uy; 0x08uy; 0x12uy; 0x06uy; 0x85uy; 0x01uy; 1uy; 0uy; 0uy; 0uy |] "bytes"
        }

        test "a C#-built span with null strings and arrays encodes like an empty one" {
            let span = { Span.Empty with Name = null; Attributes = null; Events = null; Links = null; TraceState = null }
            let request = Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span ]
            Expect.equal (ProtoEncoder.traceRequestToBytes request) (ProtoEncoder.traceRequestToBytes (Request.ofSpans Resource.Empty InstrumentationScope.Empty [ Span.Empty ])) "same bytes"
        }

        test "encoding allocates nothing per span beyond the output buffer" {
            let measure (spanCount: int) =
                let request = requestOf spanCount
                let output = ArrayBufferWriter<byte>(1 <<< 20)
                for _ in 1..3 do
                    output.Clear()
                    ProtoEncoder.writeTraceRequest request output |> ignore
                // The least of several runs: the runtime allocates now and then on its own (tiering, on-stack
                // replacement), which is not an allocation per item.
                List.min [
                    for _ in 1..5 do
                        output.Clear()
                        let before = GC.GetAllocatedBytesForCurrentThread()
                        ProtoEncoder.writeTraceRequest request output |> ignore
                        GC.GetAllocatedBytesForCurrentThread() - before
                ]
            let one = measure 1
            let many = measure 512
            Expect.isLessThanOrEqual many one "512 spans allocate no more than 1 span"
            Expect.isLessThan one 1024L "a request allocates under 1 KiB"
        }

        test "a realistic span is about 600 bytes on the wire" {
            let bytes = ProtoEncoder.traceRequestToBytes (requestOf 512)
            let perSpan = float bytes.Length / 512.0
            Expect.isLessThan perSpan 640.0 "bytes per span"
            Expect.isGreaterThan perSpan 500.0 "bytes per span"
        }
    ]

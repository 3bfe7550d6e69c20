[<RequireQualifiedAccess>]
module Otlp.Core.ResponseBody

open System
open System.Text
open System.Text.Json
open Google.Protobuf

[<RequireQualifiedAccess>]
type Encoding =
    | Protobuf
    | Json
    | Other

[<CompiledName("EncodingOf")>]
let encodingOf (contentType: string) (requestIsJson: bool) =
    if String.IsNullOrWhiteSpace contentType then
        if requestIsJson then Encoding.Json else Encoding.Protobuf
    elif contentType.Contains("json", StringComparison.OrdinalIgnoreCase) then
        Encoding.Json
    elif contentType.Contains("protobuf", StringComparison.OrdinalIgnoreCase) then
        Encoding.Protobuf
    else
        Encoding.Other

type Status =
    { Code: int
      Message: string
      DetailCount: int }

let private empty = { Code = 0; Message = ""; DetailCount = 0 }

let private decodeProtobuf (body: ReadOnlyMemory<byte>) =
    try
        RpcStatus.foldFields (ByteString.CopyFrom body.Span) empty (fun input field wire status ->
            match field, wire with
            | RpcStatus.Code, WireFormat.WireType.Varint -> ValueSome { status with Code = input.ReadInt32() }
            | RpcStatus.Message, WireFormat.WireType.LengthDelimited -> ValueSome { status with Message = input.ReadString() }
            | RpcStatus.Details, WireFormat.WireType.LengthDelimited ->
                input.SkipLastField()
                ValueSome { status with DetailCount = status.DetailCount + 1 }
            | _ -> ValueNone)
        |> Some
    with
    | :? InvalidProtocolBufferException
    | :? ArgumentException -> None

let private decodeJson (body: ReadOnlyMemory<byte>) =
    try
        let mutable reader = Utf8JsonReader(body.Span, JsonReaderOptions(MaxDepth = 64))
        let mutable status = empty
        let mutable valid = reader.Read() && reader.TokenType = JsonTokenType.StartObject

        while valid && reader.Read() && reader.TokenType = JsonTokenType.PropertyName do
            let name = reader.GetString()
            valid <- reader.Read()

            if valid then
                match name, reader.TokenType with
                | "code", JsonTokenType.Number ->
                    match reader.TryGetInt32() with
                    | true, code -> status <- { status with Code = code }
                    | _ -> ()
                // proto3 JSON readers accept an int32 written as a string too.
                | "code", JsonTokenType.String ->
                    match Int32.TryParse(reader.GetString(), Globalization.NumberStyles.AllowLeadingSign, Globalization.CultureInfo.InvariantCulture) with
                    | true, code -> status <- { status with Code = code }
                    | _ -> ()
                | "message", JsonTokenType.String -> status <- { status with Message = reader.GetString() }
                | "details", JsonTokenType.StartArray ->
                    let depth = reader.CurrentDepth
                    let mutable count = 0

                    while reader.Read() && reader.CurrentDepth > depth do
                        if reader.CurrentDepth = depth + 1 && reader.TokenType <> JsonTokenType.EndArray then
                            count <- count + 1

                        reader.Skip()

                    status <- { status with DetailCount = count }
                | _ -> reader.Skip()

        if valid && reader.TokenType = JsonTokenType.EndObject then Some status else None
    with
    | :? JsonException
    | :? InvalidOperationException
    | :? FormatException -> None

[<CompiledName("TryDecodeStatus")>]
let tryDecodeStatus (body: ReadOnlyMemory<byte>, encoding: Encoding) =
    if body.IsEmpty then
        None
    else
        match encoding with
        | Encoding.Protobuf -> decodeProtobuf body
        | Encoding.Json -> decodeJson body
        | Encoding.Other -> None

[<Literal>]
let MaxMessageChars = 1024

// Line and paragraph separators would break a log line; bidirectional overrides and isolates could make it
// read differently from what it holds.
let private isControl (c: char) =
    Char.IsControl c
    || c = '\u2028'
    || c = '\u2029'
    || (c >= '\u202A' && c <= '\u202E')
    || (c >= '\u2066' && c <= '\u2069')

[<CompiledName("Printable")>]
let printable (maxChars: int) (text: string) =
    if isNull text then
        ""
    else
        let maxChars = max 1 maxChars
        let builder = StringBuilder(min text.Length (maxChars + 1))
        let mutable i = 0
        // Trailing spaces are trimmed at the end, so the cut looks at what is kept, not at what is read.
        while i < text.Length && builder.Length <= maxChars do
            let c = text[i]
            builder.Append(if isControl c then ' ' else c) |> ignore
            i <- i + 1

        let kept = builder.ToString().Trim()

        if kept.Length <= maxChars && i >= text.Length then
            kept
        else
            let cut = min kept.Length maxChars
            let cut = if cut > 0 && Char.IsHighSurrogate kept[cut - 1] then cut - 1 else cut
            kept.Substring(0, cut).TrimEnd() + "…"

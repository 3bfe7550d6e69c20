/// Reads OTLP/JSON into the model with a `Utf8JsonReader`, one pass, no document. Every reader function
/// starts on the first token of its value and stops on the last one. Malformed input raises `JsonFailure`,
/// which the public functions turn into a `DecodeError`: nothing escapes them.
module internal Otlp.Core.Json.JsonReader

open System
open System.Globalization
open System.Text.Json
open Otlp.Core

/// A decoding failure: what was wrong, and the byte offset of the token where it was found.
exception JsonFailure of message: string * position: int64

/// Reads one item of a repeated field.
type ReadItem<'T> = delegate of byref<Utf8JsonReader> -> 'T

let fail (r: byref<Utf8JsonReader>) (message: string) : 'T =
    raise (JsonFailure(message, r.TokenStartIndex))

let next (r: byref<Utf8JsonReader>) =
    if not (r.Read()) then
        raise (JsonFailure("unexpected end of the JSON input", r.BytesConsumed))

let private describe (token: JsonTokenType) =
    match token with
    | JsonTokenType.StartObject -> "an object"
    | JsonTokenType.StartArray -> "an array"
    | JsonTokenType.String -> "a string"
    | JsonTokenType.Number -> "a number"
    | JsonTokenType.True
    | JsonTokenType.False -> "a boolean"
    | JsonTokenType.Null -> "null"
    | other -> string other

let private wrongType (r: byref<Utf8JsonReader>) (expected: string) (field: string) : 'T =
    fail &r $"'{field}' must be {expected}, found {describe r.TokenType}"

// Every key the readers match on. A key found here is returned as this very string, so reading a document of
// known keys allocates no strings for them; anything else takes the slow path below. Missing a key here costs
// speed, never correctness.
let private knownNames =
    [| "resourceSpans"; "resourceMetrics"; "resourceLogs"; "partialSuccess"; "rejectedSpans"; "rejectedDataPoints"
       "rejectedLogRecords"; "errorMessage"; "stringValue"; "boolValue"; "intValue"; "doubleValue"; "arrayValue"
       "kvlistValue"; "bytesValue"; "values"; "key"; "value"; "name"; "version"; "attributes"; "droppedAttributesCount"
       "entityRefs"; "type"; "idKeys"; "descriptionKeys"; "resource"; "scope"; "schemaUrl"; "scopeSpans"; "spans"
       "traceId"; "spanId"; "traceState"; "parentSpanId"; "flags"; "kind"; "startTimeUnixNano"; "endTimeUnixNano"
       "events"; "droppedEventsCount"; "links"; "droppedLinksCount"; "status"; "message"; "code"; "timeUnixNano"
       "scopeMetrics"; "metrics"; "description"; "unit"; "gauge"; "sum"; "histogram"; "exponentialHistogram"; "summary"
       "metadata"; "dataPoints"; "aggregationTemporality"; "isMonotonic"; "asDouble"; "asInt"; "exemplars"
       "filteredAttributes"; "count"; "bucketCounts"; "explicitBounds"; "min"; "max"; "scale"; "zeroCount"; "positive"
       "negative"; "offset"; "zeroThreshold"; "quantileValues"; "quantile"; "scopeLogs"; "logRecords"
       "observedTimeUnixNano"; "severityNumber"; "severityText"; "body"; "eventName" |]

/// The known names grouped by their UTF-8 length, each with its bytes.
let private namesByLength: struct (byte array * string) array array =
    let longest = knownNames |> Array.map String.length |> Array.max
    Array.init (longest + 1) (fun length ->
        knownNames
        |> Array.filter (fun n -> n.Length = length)
        |> Array.map (fun n -> struct (Text.Encoding.UTF8.GetBytes n, n)))

let private camelCase (name: string) =
    if name.IndexOf '_' < 0 then
        name
    else
        let chars = Text.StringBuilder(name.Length)
        let mutable upper = false
        for c in name do
            if c = '_' then upper <- true
            elif upper then
                chars.Append(Char.ToUpperInvariant c) |> ignore
                upper <- false
            else
                chars.Append c |> ignore
        chars.ToString()

/// The key of the current property. proto3 JSON parsers accept the original snake_case field names as well
/// as the lowerCamelCase ones: the former are converted to the latter, so each reader matches one spelling.
let propertyName (r: byref<Utf8JsonReader>) : string =
    let raw = r.ValueSpan
    let mutable found = null
    if not r.ValueIsEscaped && not r.HasValueSequence && raw.Length < namesByLength.Length then
        let candidates = namesByLength[raw.Length]
        let mutable i = 0
        while isNull found && i < candidates.Length do
            let struct (bytes, name) = candidates[i]
            if raw.SequenceEqual(ReadOnlySpan bytes) then found <- name
            i <- i + 1
    if isNull found then camelCase (r.GetString()) else found

/// Moves to the next property of the current object: true on a property name, false on the end of the
/// object. After a name, the caller calls `value` to move onto its value.
let nextProperty (r: byref<Utf8JsonReader>) =
    next &r
    r.TokenType = JsonTokenType.PropertyName

/// Moves from a property name onto its value; false when the value is null, which proto3 JSON reads as the
/// field's default.
let value (r: byref<Utf8JsonReader>) =
    next &r
    r.TokenType <> JsonTokenType.Null

let startObject (r: byref<Utf8JsonReader>) (what: string) =
    if r.TokenType <> JsonTokenType.StartObject then
        wrongType &r "an object" what

/// Skips the value of an unknown field: OTLP/JSON receivers must ignore fields they do not know.
let skip (r: byref<Utf8JsonReader>) = r.Skip()

// ------------------------------------------------------------------------------------------------ scalars

let string (r: byref<Utf8JsonReader>) (field: string) : string =
    if r.TokenType <> JsonTokenType.String then wrongType &r "a string" field else r.GetString()

let bool (r: byref<Utf8JsonReader>) (field: string) =
    match r.TokenType with
    | JsonTokenType.True -> true
    | JsonTokenType.False -> false
    | _ -> wrongType &r "true or false" field

// proto3 JSON: integers of any width are read from numbers or from decimal strings, and parsers accept them in
// exponent notation ("1e3") or with a zero fraction ("2.0"), as Google.Protobuf's and Java's parsers do. The
// exact parse below runs only when the plain one fails, so the usual forms cost nothing more; a fraction that
// is not zero ("1.5", "1e-3") is still an error.
let private unsignedText = NumberStyles.AllowDecimalPoint ||| NumberStyles.AllowExponent
let private signedText = unsignedText ||| NumberStyles.AllowLeadingSign

let uint64 (r: byref<Utf8JsonReader>) (field: string) : uint64 =
    let mutable v = 0UL
    let read =
        match r.TokenType with
        | JsonTokenType.Number ->
            r.TryGetUInt64(&v) || UInt64.TryParse(r.ValueSpan, unsignedText, CultureInfo.InvariantCulture, &v)
        | JsonTokenType.String -> UInt64.TryParse(r.GetString(), unsignedText, CultureInfo.InvariantCulture, &v)
        | _ -> wrongType &r "an integer (number or decimal string)" field
    if read then v else fail &r $"'{field}' must be an integer in [0, 2^64)"

let int64 (r: byref<Utf8JsonReader>) (field: string) : int64 =
    let mutable v = 0L
    let read =
        match r.TokenType with
        | JsonTokenType.Number ->
            r.TryGetInt64(&v) || Int64.TryParse(r.ValueSpan, signedText, CultureInfo.InvariantCulture, &v)
        | JsonTokenType.String -> Int64.TryParse(r.GetString(), signedText, CultureInfo.InvariantCulture, &v)
        | _ -> wrongType &r "an integer (number or decimal string)" field
    if read then v else fail &r $"'{field}' must be an integer in [-2^63, 2^63)"

let uint32 (r: byref<Utf8JsonReader>) (field: string) : uint32 =
    let mutable v = 0u
    let read =
        match r.TokenType with
        | JsonTokenType.Number ->
            r.TryGetUInt32(&v) || UInt32.TryParse(r.ValueSpan, unsignedText, CultureInfo.InvariantCulture, &v)
        | JsonTokenType.String -> UInt32.TryParse(r.GetString(), unsignedText, CultureInfo.InvariantCulture, &v)
        | _ -> wrongType &r "an integer" field
    if read then v else fail &r $"'{field}' must be an integer in [0, 2^32)"

let int32 (r: byref<Utf8JsonReader>) (field: string) : int =
    let mutable v = 0
    let read =
        match r.TokenType with
        | JsonTokenType.Number ->
            r.TryGetInt32(&v) || Int32.TryParse(r.ValueSpan, signedText, CultureInfo.InvariantCulture, &v)
        | JsonTokenType.String -> Int32.TryParse(r.GetString(), signedText, CultureInfo.InvariantCulture, &v)
        | _ -> wrongType &r "an integer" field
    if read then v else fail &r $"'{field}' must be an integer in [-2^31, 2^31)"

/// An enum: OTLP/JSON writes integers, but proto3 JSON parsers also accept the value names, so we do too.
/// Unknown numbers are kept (proto3 enums are open); unknown names are an error.
let enumValue (r: byref<Utf8JsonReader>) (field: string) (names: string array) : int =
    if r.TokenType = JsonTokenType.String then
        let text = r.GetString()
        match Array.IndexOf(names, text) with
        | -1 ->
            let mutable v = 0
            if Int32.TryParse(text, signedText, CultureInfo.InvariantCulture, &v) then v
            else fail &r $"'{field}' has an unknown enum value \"{text}\""
        | i -> i
    else
        int32 &r field

// proto3 JSON: doubles are numbers, or strings holding a number, "NaN", "Infinity" or "-Infinity".
let double (r: byref<Utf8JsonReader>) (field: string) : float =
    match r.TokenType with
    | JsonTokenType.Number ->
        let mutable v = 0.0
        if r.TryGetDouble(&v) && Double.IsFinite v then v
        else fail &r $"'{field}' is out of the range of a double"
    | JsonTokenType.String ->
        match r.GetString() with
        | "NaN" -> Double.NaN
        | "Infinity" -> Double.PositiveInfinity
        | "-Infinity" -> Double.NegativeInfinity
        | text ->
            let mutable v = 0.0
            if Double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, &v) && Double.IsFinite v then v
            else fail &r $"'{field}' must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""
    | _ -> wrongType &r "a number" field

// proto3 JSON: bytes are standard base64 with padding; parsers also accept the URL-safe alphabet and missing
// padding, which costs one rewrite of the text here.
let bytes (r: byref<Utf8JsonReader>) (field: string) : byte array =
    if r.TokenType <> JsonTokenType.String then
        wrongType &r "a base64 string" field
    else
        let mutable result = null
        if r.TryGetBytesFromBase64(&result) then
            result
        else
            let text = r.GetString().Replace('-', '+').Replace('_', '/')
            let padded =
                match text.Length % 4 with
                | 2 -> text + "=="
                | 3 -> text + "="
                | _ -> text
            try
                Convert.FromBase64String padded
            with :? FormatException ->
                fail &r $"'{field}' is not valid base64"

let private hexValue (c: byte) =
    if c >= '0'B && c <= '9'B then int c - int '0'B
    elif c >= 'a'B && c <= 'f'B then int c - int 'a'B + 10
    elif c >= 'A'B && c <= 'F'B then int c - int 'A'B + 10
    else -1

let private hexHalf (text: ReadOnlySpan<byte>) (start: int) (result: byref<uint64>) =
    let mutable ok = true
    let mutable v = 0UL
    for i in start .. start + 15 do
        let d = hexValue text[i]
        if d < 0 then ok <- false else v <- (v <<< 4) ||| Operators.uint64 d
    result <- v
    ok

/// The UTF-8 text of an id: the reader's own bytes unless the string holds escapes.
let private idText (r: byref<Utf8JsonReader>) (field: string) : ReadOnlySpan<byte> =
    if r.TokenType <> JsonTokenType.String then
        raise (JsonFailure($"'{field}' must be a hex string, found {describe r.TokenType}", r.TokenStartIndex))
    if r.ValueIsEscaped || r.HasValueSequence then ReadOnlySpan(Text.Encoding.UTF8.GetBytes(r.GetString()))
    else r.ValueSpan

// OTLP/JSON: trace and span ids are hex, in either case (not base64 as proto3 JSON would have it). The empty
// string is the proto3 default, the absent id.
let traceId (r: byref<Utf8JsonReader>) (field: string) : TraceId =
    let text = idText &r field
    if text.Length = 0 then
        TraceId.Empty
    elif text.Length <> 32 then
        fail &r $"'{field}' must be 32 hex digits, found {text.Length} bytes"
    else
        let mutable high = 0UL
        let mutable low = 0UL
        if hexHalf text 0 &high && hexHalf text 16 &low then { High = high; Low = low }
        else fail &r $"'{field}' must be 32 hex digits, found a non-hex character"

let spanId (r: byref<Utf8JsonReader>) (field: string) : SpanId =
    let text = idText &r field
    if text.Length = 0 then
        SpanId.Empty
    elif text.Length <> 16 then
        fail &r $"'{field}' must be 16 hex digits, found {text.Length} bytes"
    else
        let mutable v = 0UL
        if hexHalf text 0 &v then { Value = v } else fail &r $"'{field}' must be 16 hex digits, found a non-hex character"

/// A repeated field: a JSON array of items, each read by `item`.
let array (r: byref<Utf8JsonReader>) (field: string) (item: ReadItem<'T>) : 'T array =
    if r.TokenType <> JsonTokenType.StartArray then
        wrongType &r "an array" field
    else
        next &r
        if r.TokenType = JsonTokenType.EndArray then
            [||]
        else
            let items = ResizeArray<'T>()
            while r.TokenType <> JsonTokenType.EndArray do
                items.Add(item.Invoke(&r))
                next &r
            items.ToArray()

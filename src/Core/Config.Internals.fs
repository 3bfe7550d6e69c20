/// The machinery shared by Config and Limits: reading variables, parsing the spec's value types and choosing
/// among sources in precedence order while turning every rejected value into a diagnostic.
module internal Otlp.Core.ConfigInternals

open System
open System.Collections.Generic
open System.Globalization
open System.Text

/// What diagnostics show instead of a secret.
[<Literal>]
let Redacted = "[redacted]"

/// The value of a variable, or None when absent, null, empty or only whitespace (SDK environment variables,
/// "Parsing empty value": empty is the same as unset).
let lookup (env: IReadOnlyDictionary<string, string>) (name: string) : string option =
    if isNull env then
        None
    else
        match env.TryGetValue name with
        | true, value when not (String.IsNullOrWhiteSpace value) -> Some value
        | _ -> None

/// A code option, with null and (for strings) empty treated as unset, like empty variables.
let codeString (value: string option) =
    match value with
    | Some s when not (String.IsNullOrWhiteSpace s) -> Some s
    | _ -> None

/// One source of a setting, already parsed.
type Candidate<'T> =
    { Source: SettingSource
      Setting: string
      Shown: string
      Parsed: Result<'T, string>
      /// Diagnostics the value produced even though it is used (a boolean read as false).
      Notes: Diagnostic list }

/// The name diagnostics give a source: the variable, or `ConfigOverrides.Field`.
let settingName source =
    match source with
    | SettingSource.Code field -> "ConfigOverrides." + field
    | SettingSource.Environment variable -> variable
    | SettingSource.Default -> "default"

/// A candidate from an environment variable, shown in diagnostics as `show` makes it.
let fromVariableShown env (name: string) (show: string -> string) (parse: string -> Result<'T, string>) : Candidate<'T> option =
    lookup env name
    |> Option.map (fun raw ->
        { Source = SettingSource.Environment name
          Setting = name
          Shown = show raw
          Parsed = parse raw
          Notes = [] })

/// A candidate from an environment variable; `redact` hides the value in diagnostics.
let fromVariable env (name: string) (redact: bool) (parse: string -> Result<'T, string>) : Candidate<'T> option =
    fromVariableShown env name (if redact then (fun _ -> Redacted) else id) parse

/// A candidate from a code option: `check` validates it and gives the value used.
let fromCode (field: string) (show: 'A -> string) (check: 'A -> Result<'T, string>) (value: 'A option) : Candidate<'T> option =
    value
    |> Option.map (fun v ->
        let source = SettingSource.Code field

        { Source = source
          Setting = settingName source
          Shown = show v
          Parsed = check v
          Notes = [] })

/// The result of a choice: the value, where it came from, and the diagnostics.
type Choice<'T> =
    { Value: 'T
      Source: SettingSource
      Diagnostics: Diagnostic list }

/// Picks the first valid candidate (highest precedence first), else the default. Every invalid candidate, even
/// one below the winner, becomes a diagnostic saying what was used instead.
let chooseWith (describe: 'T -> SettingSource -> string) (fallback: 'T) (candidates: Candidate<'T> option list) =
    let present = List.choose id candidates

    let value, source =
        present
        |> List.tryPick (fun c ->
            match c.Parsed with
            | Ok v -> Some(v, c.Source)
            | Error _ -> None)
        |> Option.defaultValue (fallback, SettingSource.Default)

    let outcome = "using " + describe value source

    let diagnostics =
        present
        |> List.collect (fun c ->
            match c.Parsed with
            | Ok _ -> c.Notes
            | Error problem ->
                c.Notes
                @ [ { Setting = c.Setting
                      Value = c.Shown
                      Problem = problem
                      Outcome = outcome } ])

    { Value = value
      Source = source
      Diagnostics = diagnostics }

/// `chooseWith` with the usual description: "'5000' from OTEL_BSP_SCHEDULE_DELAY", "the default '5000'".
let choose (show: 'T -> string) fallback candidates =
    let describe v source =
        match source with
        | SettingSource.Default -> $"the default '{show v}'"
        | SettingSource.Code _
        | SettingSource.Environment _ -> $"'{show v}' {source.Description}"

    chooseWith describe fallback candidates

// ---------------------------------------------------------------------------------------------------------
// Value types of the SDK environment variables spec ("Configuration types")

/// An integer in [minimum, 2^31 - 1]; signs, fractions and anything else are rejected (spec, "Numeric": a value
/// that cannot be parsed or is out of range is ignored with a warning, no custom meaning for negatives).
let private parseWhole (what: string) (minimum: int) (raw: string) : Result<int, string> =
    let text = raw.Trim()
    let mutable value = 0

    if Int32.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, &value) then
        if value >= minimum then Ok value
        else Error $"is below the smallest valid value {minimum}"
    elif text.StartsWith "-" then
        Error "is negative, which this setting does not allow"
    else
        Error $"is not {what} from {minimum} to {Int32.MaxValue}"

let parseInt (minimum: int) (raw: string) = parseWhole "a whole number" minimum raw

/// What a value written with a unit ("10s", "500ms", "2m", "1h") is in whole milliseconds, if it is one: durations
/// and timeouts are plain milliseconds (spec, "Duration", "Timeout"), so such a value is rejected, and the warning
/// can say what to write instead.
let private millisecondsMeant (text: string) =
    let written = Text.RegularExpressions.Regex.Match(text, @"^(\d{1,9}(?:\.\d{1,6})?)\s*(ms|s|m|min|h)$", Text.RegularExpressions.RegexOptions.IgnoreCase)
    if not written.Success then
        None
    else
        let amount = Double.Parse(written.Groups[1].Value, CultureInfo.InvariantCulture)
        let factor =
            match written.Groups[2].Value.ToLowerInvariant() with
            | "ms" -> 1.0
            | "s" -> 1000.0
            | "m"
            | "min" -> 60_000.0
            | _ -> 3_600_000.0
        let millis = amount * factor
        if millis <= float Int32.MaxValue && millis = Math.Floor millis then Some(int64 millis) else None

/// Milliseconds in [minimum, 2^31 - 1], as `parseInt` reads them, with warnings that name the unit.
let private parseMillis (minimum: int) (raw: string) =
    match parseWhole "a whole number of milliseconds" minimum raw with
    | Error _ as failed ->
        match millisecondsMeant (raw.Trim()) with
        | Some millis -> Error $"is not a whole number of milliseconds, the unit of this setting (for {raw.Trim()}, write {millis})"
        | None -> failed
    | parsed -> parsed

/// A duration in milliseconds (spec, "Duration").
let parseDuration (minimum: int) (raw: string) =
    parseMillis minimum raw |> Result.map (fun ms -> TimeSpan.FromMilliseconds(float ms))

/// A timeout in milliseconds where 0 means no limit (spec, "Timeout": zero is indefinite).
let timeoutOfMillis (ms: int) =
    if ms = 0 then Threading.Timeout.InfiniteTimeSpan
    else TimeSpan.FromMilliseconds(float ms)

let parseTimeout (raw: string) = parseMillis 0 raw |> Result.map timeoutOfMillis

/// Checks a timeout given in code: zero becomes no limit, negative (other than infinite) is invalid.
let checkTimeout (span: TimeSpan) =
    if span = TimeSpan.Zero || span = Threading.Timeout.InfiniteTimeSpan then Ok Threading.Timeout.InfiniteTimeSpan
    elif span < TimeSpan.Zero then Error "is negative"
    elif span.TotalMilliseconds > float Int32.MaxValue then Error "is longer than 2^31 - 1 milliseconds"
    else Ok span

/// Checks a duration given in code against a minimum in milliseconds.
let checkDuration (minimumMillis: int) (span: TimeSpan) =
    if span.TotalMilliseconds < float minimumMillis then
        Error $"is shorter than {minimumMillis} ms"
    elif span.TotalMilliseconds > float Int32.MaxValue then
        Error "is longer than 2^31 - 1 milliseconds"
    else
        Ok span

let checkInt (minimum: int) (value: int) =
    if value >= minimum then Ok value else Error $"is below the smallest valid value {minimum}"

let showMillis (span: TimeSpan) = ConfigText.millis span

/// A boolean as the spec reads it ("Boolean"): only a case-insensitive "true" is true; "false" is false; anything
/// else is false too, with a warning. So the candidate is always usable.
let boolVariable env (name: string) : Candidate<bool> option =
    lookup env name
    |> Option.map (fun raw ->
        let text = raw.Trim()
        let isTrue = String.Equals(text, "true", StringComparison.OrdinalIgnoreCase)
        let isFalse = String.Equals(text, "false", StringComparison.OrdinalIgnoreCase)

        { Source = SettingSource.Environment name
          Setting = name
          Shown = raw
          Parsed = Ok isTrue
          Notes =
            if isTrue || isFalse then
                []
            else
                [ { Setting = name
                    Value = raw
                    Problem = "is neither 'true' nor 'false'"
                    Outcome = "reading it as false, as the spec requires" } ] })

/// An enumerated value, matched case-insensitively after trimming (spec, "Enum": unknown values are ignored with
/// a warning).
let parseEnum (table: (string * 'T) list) (raw: string) : Result<'T, string> =
    let text = raw.Trim()

    match table |> List.tryFind (fun (name, _) -> String.Equals(name, text, StringComparison.OrdinalIgnoreCase)) with
    | Some(_, value) -> Ok value
    | None ->
        let names = table |> List.map (fun (name, _) -> $"'{name}'") |> String.concat ", "
        Error $"is not one of {names}"

// ---------------------------------------------------------------------------------------------------------
// W3C-baggage-like lists (`k1=v1,k2=v2`), used by the headers and OTEL_RESOURCE_ATTRIBUTES

/// Percent-decodes UTF-8; None when a '%' is not followed by two hex digits. Byte sequences that are not UTF-8
/// become U+FFFD (W3C Baggage, "value").
let percentDecode (text: string) : string option =
    if text.IndexOf '%' < 0 then
        Some text
    else
        let bytes = List<byte>(text.Length)
        let mutable ok = true
        let mutable i = 0
        let mutable runStart = 0

        let flushRun (endExclusive: int) =
            if endExclusive > runStart then
                bytes.AddRange(Encoding.UTF8.GetBytes(text.Substring(runStart, endExclusive - runStart)))

        while ok && i < text.Length do
            if text[i] = '%' then
                flushRun i
                let mutable value = 0uy

                if i + 2 < text.Length
                   && Byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, &value) then
                    bytes.Add value
                    i <- i + 3
                    runStart <- i
                else
                    ok <- false
            else
                i <- i + 1

        if ok then
            flushRun text.Length
            Some(Encoding.UTF8.GetString(bytes.ToArray()))
        else
            None

/// The octets that may appear unencoded (W3C Baggage `baggage-octet`), minus '%' and '=' so that decoding and
/// splitting give back exactly what was encoded.
let private isPlainOctet (b: byte) =
    (b = 0x21uy || (b >= 0x23uy && b <= 0x2Buy) || (b >= 0x2Duy && b <= 0x3Auy) || (b >= 0x3Cuy && b <= 0x5Buy)
     || (b >= 0x5Duy && b <= 0x7Euy))
    && b <> byte '%'
    && b <> byte '='

/// Percent-encodes every UTF-8 octet outside the plain set.
let percentEncode (text: string) =
    let builder = StringBuilder(text.Length)

    for b in Encoding.UTF8.GetBytes text do
        if isPlainOctet b then builder.Append(char b) |> ignore
        else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture)) |> ignore

    builder.ToString()

/// A list entry that could not be read: its 1-based position, its key when it could be read, and why.
type EntryError =
    { Position: int
      Key: string option
      Problem: string }

/// Splits `k1=v1,k2=v2`: entries at ',', key and value at the first '=', whitespace around both trimmed, then
/// percent-decoded. Blank entries (a trailing comma) are skipped silently. Metadata after ';' is not supported
/// by the spec; it stays part of the value.
let parseList (text: string) : (string * string) array * EntryError list =
    let pairs = List<string * string>()
    let errors = List<EntryError>()

    text.Split ','
    |> Array.iteri (fun index entry ->
        let position = index + 1

        if not (String.IsNullOrWhiteSpace entry) then
            match entry.IndexOf '=' with
            | -1 ->
                errors.Add
                    { Position = position
                      Key = None
                      Problem = "has no '='" }
            | at ->
                let rawKey = entry.Substring(0, at).Trim()
                let rawValue = entry.Substring(at + 1).Trim()

                if rawKey = "" then
                    errors.Add
                        { Position = position
                          Key = None
                          Problem = "has an empty key" }
                else
                    match percentDecode rawKey, percentDecode rawValue with
                    | None, _ ->
                        errors.Add
                            { Position = position
                              Key = None
                              Problem = "has a key with a '%' not followed by two hex digits" }
                    | Some key, None ->
                        errors.Add
                            { Position = position
                              Key = Some key
                              Problem = "has a value with a '%' not followed by two hex digits" }
                    | Some key, Some value -> pairs.Add((key, value)))

    pairs.ToArray(), List.ofSeq errors

/// Formats pairs so that `parseList` gives them back.
let formatList (pairs: (string * string) seq) =
    pairs |> Seq.map (fun (k, v) -> percentEncode k + "=" + percentEncode v) |> String.concat ","

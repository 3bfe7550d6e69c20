namespace Otlp.Core

open System
open System.Collections.Generic
open Otlp.Core.ConfigInternals

type SpanLimits =
    { AttributeValueLengthLimit: int option
      AttributeCountLimit: int
      EventCountLimit: int
      LinkCountLimit: int
      EventAttributeCountLimit: int
      LinkAttributeCountLimit: int }

type LogRecordLimits =
    { AttributeValueLengthLimit: int option
      AttributeCountLimit: int }

type Limits =
    { Span: SpanLimits
      LogRecord: LogRecordLimits }

[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Limits =

    [<CompiledName("Defaults")>]
    let defaults =
        { Span =
            { AttributeValueLengthLimit = None
              AttributeCountLimit = 128
              EventCountLimit = 128
              LinkCountLimit = 128
              EventAttributeCountLimit = 128
              LinkAttributeCountLimit = 128 }
          LogRecord =
            { AttributeValueLengthLimit = None
              AttributeCountLimit = 128 } }

    [<CompiledName("FromEnvironment")>]
    let fromEnvironment (environment: IReadOnlyDictionary<string, string>) =
        let diagnostics = List<Diagnostic>()

        // Model-specific variables first, then the generic ones (SDK spec, "Attribute Limits").
        let read (fallback: 'T) (wrap: int -> 'T) (show: 'T -> string) (variables: string list) =
            let choice =
                variables
                |> List.map (fun name -> fromVariable environment name false (parseInt 0 >> Result.map wrap))
                |> choose show fallback

            diagnostics.AddRange choice.Diagnostics
            choice.Value

        let count variables = read 128 id string variables

        let length variables =
            read None Some (fun limit -> limit |> Option.map string |> Option.defaultValue "no limit") variables

        let genericLength = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
        let genericCount = "OTEL_ATTRIBUTE_COUNT_LIMIT"

        let limits =
            { Span =
                { AttributeValueLengthLimit = length [ "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"; genericLength ]
                  AttributeCountLimit = count [ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"; genericCount ]
                  EventCountLimit = count [ "OTEL_SPAN_EVENT_COUNT_LIMIT" ]
                  LinkCountLimit = count [ "OTEL_SPAN_LINK_COUNT_LIMIT" ]
                  EventAttributeCountLimit = count [ "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"; genericCount ]
                  LinkAttributeCountLimit = count [ "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"; genericCount ] }
              LogRecord =
                { AttributeValueLengthLimit = length [ "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"; genericLength ]
                  AttributeCountLimit = count [ "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT"; genericCount ] } }

        // The same bad generic variable is met once per model that falls back to it; report it once.
        { Value = limits
          Diagnostics = diagnostics |> Seq.distinctBy (fun d -> d.Setting, d.Value) |> Array.ofSeq }

    let truncatedLength (maxLength: int) (value: ReadOnlySpan<char>) =
        let limit = max 0 maxLength

        if value.Length <= limit then
            value.Length
        elif limit > 0 && Char.IsHighSurrogate value[limit - 1] && Char.IsLowSurrogate value[limit] then
            limit - 1
        else
            limit

    [<CompiledName("TruncateString")>]
    let truncateString (maxLength: int) (value: string) =
        if isNull value then
            value
        else
            let length = truncatedLength maxLength (value.AsSpan())
            if length = value.Length then value else value.Substring(0, length)

    [<CompiledName("TruncateValue")>]
    let rec truncateValue (maxLength: int) (value: AnyValue) =
        match value with
        | AnyValue.String s -> AnyValue.String(truncateString maxLength s)
        | AnyValue.Array items -> AnyValue.Array(items |> Array.map (truncateValue maxLength))
        | AnyValue.KvList pairs ->
            AnyValue.KvList(pairs |> Array.map (fun kv -> { kv with Value = truncateValue maxLength kv.Value }))
        | AnyValue.Bytes bytes when bytes.Length > max 0 maxLength -> AnyValue.Bytes(Array.sub bytes 0 (max 0 maxLength))
        | AnyValue.Empty
        | AnyValue.Bool _
        | AnyValue.Int _
        | AnyValue.Double _
        | AnyValue.Bytes _ -> value

    [<CompiledName("LimitAttributes")>]
    let limitAttributes (valueLengthLimit: int option) (countLimit: int) (attributes: KeyValue array) =
        let kept = Array.truncate (max 0 countLimit) attributes

        let truncated =
            match valueLengthLimit with
            | Some limit -> kept |> Array.map (fun kv -> { kv with Value = truncateValue limit kv.Value })
            | None -> kept

        truncated, uint32 (attributes.Length - kept.Length)

    let private keep (countLimit: int) (items: 'T array) =
        let kept = Array.truncate (max 0 countLimit) items
        kept, uint32 (items.Length - kept.Length)

    [<CompiledName("ApplyToSpan")>]
    let applyToSpan (limits: SpanLimits) (span: Span) =
        let lengthLimit = limits.AttributeValueLengthLimit
        let attributes, droppedAttributes = limitAttributes lengthLimit limits.AttributeCountLimit span.Attributes
        let events, droppedEvents = keep limits.EventCountLimit span.Events
        let links, droppedLinks = keep limits.LinkCountLimit span.Links

        let limitEvent (event: SpanEvent) =
            let kept, dropped = limitAttributes lengthLimit limits.EventAttributeCountLimit event.Attributes

            { event with
                Attributes = kept
                DroppedAttributesCount = event.DroppedAttributesCount + dropped }

        let limitLink (link: SpanLink) =
            let kept, dropped = limitAttributes lengthLimit limits.LinkAttributeCountLimit link.Attributes

            { link with
                Attributes = kept
                DroppedAttributesCount = link.DroppedAttributesCount + dropped }

        { span with
            Attributes = attributes
            DroppedAttributesCount = span.DroppedAttributesCount + droppedAttributes
            Events = Array.map limitEvent events
            DroppedEventsCount = span.DroppedEventsCount + droppedEvents
            Links = Array.map limitLink links
            DroppedLinksCount = span.DroppedLinksCount + droppedLinks }

    [<CompiledName("ApplyToLogRecord")>]
    let applyToLogRecord (limits: LogRecordLimits) (record: LogRecord) =
        let attributes, dropped =
            limitAttributes limits.AttributeValueLengthLimit limits.AttributeCountLimit record.Attributes

        { record with
            Attributes = attributes
            DroppedAttributesCount = record.DroppedAttributesCount + dropped }

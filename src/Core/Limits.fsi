namespace Otlp.Core

open System.Collections.Generic

/// Limits of span attributes, events and links (SDK spec, "Span Limits").
type SpanLimits =
    {
        /// Longest string in an attribute value of the span, its events and links; None for no limit.
        AttributeValueLengthLimit: int option
        /// Attributes kept per span.
        AttributeCountLimit: int
        /// Events kept per span.
        EventCountLimit: int
        /// Links kept per span.
        LinkCountLimit: int
        /// Attributes kept per event.
        EventAttributeCountLimit: int
        /// Attributes kept per link.
        LinkAttributeCountLimit: int
    }

/// Limits of log record attributes (SDK spec, "LogRecord Limits").
type LogRecordLimits =
    {
        /// Longest string in an attribute value; None for no limit.
        AttributeValueLengthLimit: int option
        /// Attributes kept per log record.
        AttributeCountLimit: int
    }

/// The limits of every model that has them.
type Limits =
    {
        /// Limits of spans.
        Span: SpanLimits
        /// Limits of log records.
        LogRecord: LogRecordLimits
    }

/// Attribute, event and link limits: reading them from the environment and applying them to model values.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Limits =

    /// The spec's defaults: no value length limit, 128 of everything else.
    [<CompiledName("Defaults")>]
    val defaults: Limits

    /// Reads the limits. Each model-specific variable (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`) wins over the generic
    /// one (`OTEL_ATTRIBUTE_COUNT_LIMIT`), which wins over the default; the generic count limit also applies to
    /// event and link attributes. Values must be integers from 0 to 2^31 - 1; others are reported and skipped.
    [<CompiledName("FromEnvironment")>]
    val fromEnvironment: environment: IReadOnlyDictionary<string, string> -> Resolved<Limits>

    /// Cuts a string to at most `maxLength` UTF-16 code units, one fewer when the cut would split a surrogate pair.
    /// A negative `maxLength` counts as 0.
    [<CompiledName("TruncateString")>]
    val truncateString: maxLength: int -> value: string -> string

    /// The length `truncateString` cuts `value` to, for writers that truncate without a new string.
    val internal truncatedLength: maxLength: int -> value: System.ReadOnlySpan<char> -> int

    /// Truncates the strings and byte arrays of a value (a byte counting as 1): the value itself and, recursively,
    /// those inside arrays and key-value lists. Other values (numbers, booleans) are left alone.
    [<CompiledName("TruncateValue")>]
    val truncateValue: maxLength: int -> value: AnyValue -> AnyValue

    /// Keeps the first `countLimit` attributes, truncating their values when `valueLengthLimit` is set; returns
    /// them with the number dropped.
    [<CompiledName("LimitAttributes")>]
    val limitAttributes:
        valueLengthLimit: int option -> countLimit: int -> attributes: KeyValue array -> KeyValue array * uint32

    /// Applies the limits to a span, its events and links, adding what was dropped to the `Dropped*Count` fields.
    /// Applying the same limits again changes nothing.
    [<CompiledName("ApplyToSpan")>]
    val applyToSpan: limits: SpanLimits -> span: Span -> Span

    /// Applies the limits to a log record's attributes, adding what was dropped to `DroppedAttributesCount`.
    /// The body is not an attribute and is left alone.
    [<CompiledName("ApplyToLogRecord")>]
    val applyToLogRecord: limits: LogRecordLimits -> record: LogRecord -> LogRecord

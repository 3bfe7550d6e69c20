using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Core.Protobuf;
using Otlp.Export;
using Otlp.Tracing;

namespace Otlp.Logging;

/// <summary>
/// Captured log entries as an OTLP logs request, written straight into a buffer: the bytes
/// <see cref="LogRecordConverter.ToLogRecord(LogEntry)"/>, <c>Limits.applyToLogRecord</c> and the model encoder
/// give, without the records. Values are mapped by <see cref="TagValues.WriteAttribute"/> and every field written
/// by the core's field rules (<c>LogFields</c>).
/// </summary>
internal static class LogEncoder
{
    // Written on nearly every record: encoded once.
    private static readonly EncodedIntAttribute EventIdAttribute = new(Fields.LogRecord_Attributes, LogRecordConverter.EventIdAttribute);

    // Each level's severity number and text (Trace to None), encoded once: a record copies its level's.
    private static readonly EncodedFields[] SeverityFields =
        [.. Enum.GetValues<LogLevel>().Order().Select(level => LogFields.severity(LogRecordConverter.Severity(level), LogRecordConverter.SeverityText(level)))];

    /// <summary>
    /// Writes one request of <paramref name="resource"/> holding the entries of <paramref name="items"/> (their
    /// <c>Source</c>), grouped by scope in order of first appearance, each under the limits
    /// <paramref name="limitsOf"/> gives for it; returns the bytes written.
    /// </summary>
    public static int WriteRequest(
        IBufferWriter<byte> output, Resource resource, ReadOnlySpan<ScopedItem<LogRecord>> items, Func<ScopedItem<LogRecord>, LogRecordLimits> limitsOf) =>
        DirectRequest.Write<LogRecord, LogRecordLimits, LogRecords>(output, resource, items, limitsOf);

    /// <summary>The fields of the record of <paramref name="entry"/> under <paramref name="limits"/>, without its tag.</summary>
    public static void WriteRecord(ProtoWriter writer, LogEntry entry, LogRecordLimits limits)
    {
        var severity = (uint)entry.Level < (uint)SeverityFields.Length ? SeverityFields[(int)entry.Level] : SeverityOutsideTheEnum(entry.Level);
        LogFields.headWithSeverity(writer, entry.TimeUnixNano, severity, entry.Body);
        var dropped = WriteAttributes(writer, entry, limits);
        LogFields.tail(writer, dropped, entry.Flags, entry.TraceId, entry.SpanId, entry.TimeUnixNano, entry.EventId.Name ?? string.Empty);
    }

    /// <summary>
    /// The severity fields of a level outside the enum (no logger makes one), encoded for the record; out of line, so
    /// that the common path stays small.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static EncodedFields SeverityOutsideTheEnum(LogLevel level) =>
        LogFields.severity(LogRecordConverter.Severity(level), LogRecordConverter.SeverityText(level));

    /// <summary>
    /// The attributes in ToLogRecord's order, each key once (its first occurrence; logs data model: "Attribute keys
    /// MUST be unique"): the entry's own, the event id, the exception, the scopes' from the innermost out; the first
    /// ones kept. A repeated key is left out before the count limit counts it, as ToLogRecord leaves it out. Returns
    /// how many were dropped.
    /// </summary>
    /// <remarks>
    /// Keys are told apart by their lengths first (a bit per length modulo 64): a key whose length no earlier key
    /// has is new without a comparison, and only a key that shares one is compared with the earlier keys, found again
    /// where they are. Remembering every key in a buffer instead made the plain log record benchmark 30% slower.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint WriteAttributes(ProtoWriter writer, LogEntry entry, LogRecordLimits limits)
    {
        var maxLength = limits.AttributeValueLengthLimit is { } length ? length.Value : int.MaxValue;
        // How many more attributes the count limit lets in: one local for the loop instead of a count and a limit.
        var room = limits.AttributeCountLimit;
        var lengths = 0UL;
        var ownCount = 0;
        var dropped = 0u;
        if (entry.Attributes.Own is { } own)
        {
            // Read by index, filtered here: through the enumerator, whose bookkeeping lives in this large method's
            // frame, the reads cost about 5 ns more a record. The counts stay locals of this loop (passed by
            // reference to a helper, they lived on the stack).
            var count = own.Count;
            for (var i = 0; i < count; i++)
            {
                var pair = own[i];
                if (!LogAttributes.IsAttribute(pair))
                {
                    continue;
                }

                var key = pair.Key;

                // A key repeated from an earlier own attribute is left out before the count limit counts it.
                var bit = LengthBit(key);
                var repeated = (lengths & bit) != 0 && OwnKeyBefore(entry, i, key);
                lengths |= bit;
                if (repeated)
                {
                    continue;
                }

                if (room > 0)
                {
                    if (ReferenceEquals(key, LogRecordConverter.OriginalFormat))
                    {
                        WriteTemplate(writer, key, pair.Value, maxLength);
                    }
                    else
                    {
                        TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, key, pair.Value, maxLength);
                    }

                    room--;
                }
                else
                {
                    dropped++;
                }
            }

            ownCount = count;
        }

        var eventId = entry.EventId.Id != 0
            && ((lengths & LengthBit(LogRecordConverter.EventIdAttribute)) == 0 || !OwnKeyBefore(entry, ownCount, LogRecordConverter.EventIdAttribute));
        if (eventId)
        {
            lengths |= LengthBit(LogRecordConverter.EventIdAttribute);
            if (room > 0)
            {
                CommonFields.attributeIntWith(writer, EventIdAttribute, entry.EventId.Id);
                room--;
            }
            else
            {
                dropped++;
            }
        }

        if (entry.Exception is null && entry.Attributes.Scopes.IsEmpty)
        {
            return dropped;
        }

        var countLimit = limits.AttributeCountLimit;
        return WriteExceptionAndScopes(writer, entry, ownCount, eventId, lengths, countLimit, maxLength, countLimit - room, dropped);
    }

    /// <summary>
    /// The message template attribute (<c>{OriginalFormat}</c>, as the logging framework's states carry it): the same
    /// literal on every entry of a call site, so its whole encoding is kept by the writer and copied (see
    /// <c>ProtoWriter.KnownStringAttribute</c>); the same bytes as <see cref="TagValues.WriteAttribute"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteTemplate(ProtoWriter writer, string key, object? value, int maxLength)
    {
        if (value is string template && template.Length <= maxLength && writer.KnownStringAttribute(Fields.LogRecord_Attributes, key, template))
        {
            return;
        }

        TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, key, value, maxLength);
    }

    /// <summary>The exception's attributes, then the scopes', after the entry's own (the rarer part, out of line).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint WriteExceptionAndScopes(
        ProtoWriter writer, LogEntry entry, int own, bool eventId, ulong lengths, int countLimit, int maxLength, int kept, uint dropped)
    {
        var exceptionKeys = 0;
        if (entry.Exception is { } exception)
        {
            if (Take(LogRecordConverter.ExceptionTypeAttribute, -1))
            {
                TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, LogRecordConverter.ExceptionTypeAttribute, LogRecordConverter.ExceptionType(exception), maxLength);
            }

            exceptionKeys = 1;
            if (Take(LogRecordConverter.ExceptionMessageAttribute, -1))
            {
                TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, LogRecordConverter.ExceptionMessageAttribute, LogRecordConverter.ExceptionMessage(exception), maxLength);
            }

            exceptionKeys = 2;
            // The stack trace is built (ToString) only when it is written.
            if (Take(LogRecordConverter.ExceptionStacktraceAttribute, -1))
            {
                TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, LogRecordConverter.ExceptionStacktraceAttribute, LogRecordConverter.ExceptionStacktrace(exception), maxLength);
            }

            exceptionKeys = 3;
        }

        var scopes = entry.Attributes.Scopes;
        for (var i = 0; i < scopes.Length; i++)
        {
            if (Take(scopes[i].Key, i))
            {
                TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, scopes[i].Key, scopes[i].Value, maxLength);
            }
        }

        return dropped;

        // A new key under the count limit is written; a new one past it is dropped; a repeated one left out. A key
        // is repeated when an earlier one is equal: the entry's own, the event id's, the exception's written before
        // it, or a scope's before the scope pair at `scope` (-1 for none).
        bool Take(string key, int scope)
        {
            var bit = LengthBit(key);
            var repeated = (lengths & bit) != 0
                && (OwnKeyBefore(entry, own, key)
                    || (eventId && key == LogRecordConverter.EventIdAttribute)
                    || (exceptionKeys > 0 && key == LogRecordConverter.ExceptionTypeAttribute)
                    || (exceptionKeys > 1 && key == LogRecordConverter.ExceptionMessageAttribute)
                    || (exceptionKeys > 2 && key == LogRecordConverter.ExceptionStacktraceAttribute)
                    || ScopeKeyBefore(entry.Attributes.Scopes, scope, key));
            lengths |= bit;
            if (repeated)
            {
                return false;
            }

            if (kept < countLimit)
            {
                kept++;
                return true;
            }

            dropped++;
            return false;
        }
    }

    /// <summary>A key's bit in the set of key lengths met (modulo 64).</summary>
    private static ulong LengthBit(string key) => 1UL << (key.Length & 63);

    /// <summary>True when one of the entry's own pairs before position <paramref name="end"/> has <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool OwnKeyBefore(LogEntry entry, int end, string key)
    {
        // Pairs that are not attributes have an empty key, which no key looked for equals.
        var own = entry.Attributes.Own;
        for (var i = 0; i < end; i++)
        {
            if (string.Equals(own![i].Key, key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when one of the first <paramref name="count"/> scope pairs has <paramref name="key"/>.</summary>
    private static bool ScopeKeyBefore(ReadOnlySpan<KeyValuePair<string, object?>> scopes, int count, string key)
    {
        for (var i = 0; i < count; i++)
        {
            if (string.Equals(scopes[i].Key, key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The logs request's messages around log records written from captured entries.</summary>
internal readonly struct LogRecords : IDirectSignal<LogRecordLimits>
{
    /// <inheritdoc />
    public static int BeginResource(ProtoWriter writer, Resource resource) => LogFields.beginResourceLogs(writer, resource);

    /// <inheritdoc />
    public static void EndResource(ProtoWriter writer, int token) => LogFields.endResourceLogs(writer, token, string.Empty);

    /// <inheritdoc />
    public static int BeginScope(ProtoWriter writer, InstrumentationScope scope) => LogFields.beginScopeLogs(writer, scope);

    /// <inheritdoc />
    public static void EndScope(ProtoWriter writer, int token, string schemaUrl) => LogFields.endScopeLogs(writer, token, schemaUrl);

    /// <inheritdoc />
    public static void WriteItem(ProtoWriter writer, object source, LogRecordLimits limits)
    {
        var record = LogFields.beginLogRecord(writer);
        LogEncoder.WriteRecord(writer, (LogEntry)source, limits);
        LogFields.endLogRecord(writer, record);
    }
}

/// <summary>
/// The conversion the logger defers to the export task (<see cref="ToLogRecord"/>), and the limits the direct
/// encoder applies in its place.
/// </summary>
internal sealed class LogEntries(LogRecordLimits limits)
{
    /// <summary>The limits of the logger provider that offered the entry.</summary>
    public LogRecordLimits Limits { get; } = limits;

    /// <summary>The limited record of a captured entry.</summary>
    public LogRecord ToLogRecord(object source) => LimitsModule.ApplyToLogRecord(this.Limits, LogRecordConverter.ToLogRecord((LogEntry)source));
}

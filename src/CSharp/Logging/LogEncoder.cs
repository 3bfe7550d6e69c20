using System.Buffers;
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
    [ThreadStatic]
    private static ProtoWriter? cached;

    /// <summary>
    /// Writes one request of <paramref name="resource"/> holding the entries of <paramref name="items"/> (their
    /// <c>Source</c>), grouped by scope in order of first appearance, each under the limits
    /// <paramref name="limitsOf"/> gives for it; returns the bytes written.
    /// </summary>
    public static int WriteRequest(
        IBufferWriter<byte> output, Resource resource, ReadOnlySpan<ScopedItem<LogRecord>> items, Func<ScopedItem<LogRecord>, LogRecordLimits> limitsOf)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(limitsOf);
        var writer = cached ?? new ProtoWriter();
        cached = null;
        var next = ArrayPool<int>.Shared.Rent(Math.Max(1, 3 * items.Length));
        try
        {
            writer.StartInto(output);
            if (items.Length > 0)
            {
                var request = LogFields.beginResourceLogs(writer, resource);
                var count = items.Length;
                var groups = ScopeGroups.Link(items, next.AsSpan(0, count), next.AsSpan(count, count), next.AsSpan(2 * count, count));
                foreach (var first in next.AsSpan(count, groups))
                {
                    var scope = LogFields.beginScopeLogs(writer, items[first].Scope);
                    for (var i = first; i >= 0; i = next[i])
                    {
                        var record = LogFields.beginLogRecord(writer);
                        WriteRecord(writer, (LogEntry)items[i].Source!, limitsOf(items[i]));
                        LogFields.endLogRecord(writer, record);
                    }

                    LogFields.endScopeLogs(writer, scope, string.Empty);
                }

                LogFields.endResourceLogs(writer, request, string.Empty);
            }

            return writer.FinishInto(output);
        }
        finally
        {
            writer.Release();
            cached = writer;
            ArrayPool<int>.Shared.Return(next);
        }
    }

    /// <summary>The fields of the record of <paramref name="entry"/> under <paramref name="limits"/>, without its tag.</summary>
    public static void WriteRecord(ProtoWriter writer, LogEntry entry, LogRecordLimits limits)
    {
        var maxLength = limits.AttributeValueLengthLimit is { } length ? length.Value : int.MaxValue;
        LogFields.headWithText(writer, entry.TimeUnixNano, LogRecordConverter.Severity(entry.Level), LogRecordConverter.SeverityText(entry.Level), entry.Body);

        // The attributes in ToLogRecord's order: the pairs, the event id, the exception; the first ones kept.
        var kept = 0;
        var dropped = 0u;
        foreach (var (key, value) in entry.Attributes)
        {
            if (kept < limits.AttributeCountLimit)
            {
                TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, key, value, maxLength);
                kept++;
            }
            else
            {
                dropped++;
            }
        }

        if (entry.EventId.Id != 0)
        {
            if (kept < limits.AttributeCountLimit)
            {
                var token = CommonFields.beginAttribute(writer, Fields.LogRecord_Attributes, LogRecordConverter.EventIdAttribute);
                CommonFields.intValue(writer, entry.EventId.Id);
                CommonFields.endAttribute(writer, token);
                kept++;
            }
            else
            {
                dropped++;
            }
        }

        if (entry.Exception is { } exception)
        {
            WriteText(writer, "exception.type", exception.GetType().Name, limits.AttributeCountLimit, maxLength, ref kept, ref dropped);
            WriteText(writer, "exception.message", exception.Message, limits.AttributeCountLimit, maxLength, ref kept, ref dropped);
            WriteText(writer, "exception.stacktrace", exception.ToString(), limits.AttributeCountLimit, maxLength, ref kept, ref dropped);
        }

        LogFields.tail(writer, dropped, entry.Flags, entry.TraceId, entry.SpanId, entry.TimeUnixNano, entry.EventId.Name ?? string.Empty);
    }

    private static void WriteText(ProtoWriter writer, string key, string value, int countLimit, int maxLength, ref int kept, ref uint dropped)
    {
        if (kept < countLimit)
        {
            TagValues.WriteAttribute(writer, Fields.LogRecord_Attributes, key, value, maxLength);
            kept++;
        }
        else
        {
            dropped++;
        }
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

using System.Buffers;
using System.Runtime.CompilerServices;
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
        LogFields.headWithText(writer, entry.TimeUnixNano, LogRecordConverter.Severity(entry.Level), LogRecordConverter.SeverityText(entry.Level), entry.Body);
        var dropped = WriteAttributes(writer, entry, limits);
        LogFields.tail(writer, dropped, entry.Flags, entry.TraceId, entry.SpanId, entry.TimeUnixNano, entry.EventId.Name ?? string.Empty);
    }

    /// <summary>
    /// The attributes in ToLogRecord's order: the pairs, the event id, the exception; the first ones kept. Returns
    /// how many were dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint WriteAttributes(ProtoWriter writer, LogEntry entry, LogRecordLimits limits)
    {
        var maxLength = limits.AttributeValueLengthLimit is { } length ? length.Value : int.MaxValue;
        var countLimit = limits.AttributeCountLimit;
        var kept = 0;
        var dropped = 0u;
        foreach (var (key, value) in entry.Attributes)
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

        if (entry.EventId.Id != 0)
        {
            if (kept < countLimit)
            {
                CommonFields.attributeInt(writer, Fields.LogRecord_Attributes, LogRecordConverter.EventIdAttribute, entry.EventId.Id);
                kept++;
            }
            else
            {
                dropped++;
            }
        }

        if (entry.Exception is { } exception)
        {
            WriteException(writer, exception, countLimit, maxLength, ref kept, ref dropped);
        }

        return dropped;
    }

    /// <summary>The exception's type, message and stack trace (its <c>ToString</c>), as far as the count limit allows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteException(ProtoWriter writer, Exception exception, int countLimit, int maxLength, ref int kept, ref uint dropped)
    {
        WriteText(writer, "exception.type", LogRecordConverter.ExceptionType(exception), countLimit, maxLength, ref kept, ref dropped);
        WriteText(writer, "exception.message", exception.Message, countLimit, maxLength, ref kept, ref dropped);
        WriteText(writer, "exception.stacktrace", exception.ToString(), countLimit, maxLength, ref kept, ref dropped);
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
    public static void EndScope(ProtoWriter writer, int token) => LogFields.endScopeLogs(writer, token, string.Empty);

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

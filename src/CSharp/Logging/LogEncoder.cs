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
    /// The attributes in ToLogRecord's order, each key once (its first occurrence): the entry's own, the event id,
    /// the exception, the scopes' from the innermost out; the first ones kept. Returns how many were dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint WriteAttributes(ProtoWriter writer, LogEntry entry, LogRecordLimits limits)
    {
        var attributes = new Attributes(writer, limits);
        try
        {
            foreach (var (key, value) in entry.Attributes)
            {
                attributes.Write(key, value);
            }

            if (entry.EventId.Id != 0 && attributes.Take(LogRecordConverter.EventIdAttribute))
            {
                CommonFields.attributeInt(writer, Fields.LogRecord_Attributes, LogRecordConverter.EventIdAttribute, entry.EventId.Id);
            }

            if (entry.Exception is { } exception)
            {
                WriteException(ref attributes, exception);
            }

            foreach (var (key, value) in entry.Attributes.Scopes)
            {
                attributes.Write(key, value);
            }

            return attributes.Dropped;
        }
        finally
        {
            attributes.Release();
        }
    }

    /// <summary>The exception's type, message and stack trace (its <c>ToString</c>), as far as the count limit allows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteException(ref Attributes attributes, Exception exception)
    {
        attributes.Write(LogRecordConverter.ExceptionTypeAttribute, LogRecordConverter.ExceptionType(exception));
        attributes.Write(LogRecordConverter.ExceptionMessageAttribute, exception.Message);
        if (attributes.Take(LogRecordConverter.ExceptionStacktraceAttribute))
        {
            // Taken only when written: ToString builds the stack trace.
            TagValues.WriteAttribute(attributes.Writer, Fields.LogRecord_Attributes, LogRecordConverter.ExceptionStacktraceAttribute, exception.ToString(), attributes.MaxLength);
        }
    }

    /// <summary>
    /// The attributes of one record as they are written: the count limit, the dropped count, and the keys met so far,
    /// so that a repeated key is left out (logs data model: "Attribute keys MUST be unique"), as ToLogRecord leaves
    /// it out, before the limit counts it. The keys are compared ordinally with those of this record only, in a
    /// buffer of the thread's: nothing is allocated.
    /// </summary>
    private struct Attributes
    {
        [ThreadStatic]
        private static string[]? buffer;

        private readonly int countLimit;
        private string[] keys;
        private int count;
        private int kept;

        public Attributes(ProtoWriter writer, LogRecordLimits limits)
        {
            this.Writer = writer;
            this.MaxLength = limits.AttributeValueLengthLimit is { } length ? length.Value : int.MaxValue;
            this.countLimit = limits.AttributeCountLimit;
            this.keys = buffer ??= new string[16];
            this.count = 0;
            this.kept = 0;
            this.Dropped = 0;
        }

        public ProtoWriter Writer { get; }

        public int MaxLength { get; }

        public uint Dropped { get; private set; }

        /// <summary>Writes an attribute whose key is new and under the count limit.</summary>
        public void Write(string key, object? value)
        {
            if (this.Take(key))
            {
                TagValues.WriteAttribute(this.Writer, Fields.LogRecord_Attributes, key, value, this.MaxLength);
            }
        }

        /// <summary>
        /// True when an attribute of <paramref name="key"/> is to be written: its key is new and the count limit
        /// not reached. A new key past the limit counts as dropped; a repeated one is left out.
        /// </summary>
        public bool Take(string key)
        {
            for (var i = 0; i < this.count; i++)
            {
                if (string.Equals(this.keys[i], key, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            if (this.count == this.keys.Length)
            {
                Array.Resize(ref this.keys, 2 * this.keys.Length);
                buffer = this.keys;
            }

            this.keys[this.count++] = key;
            if (this.kept < this.countLimit)
            {
                this.kept++;
                return true;
            }

            this.Dropped++;
            return false;
        }

        /// <summary>Lets go of the keys, which the thread's buffer would otherwise keep alive.</summary>
        public readonly void Release() => Array.Clear(this.keys, 0, this.count);
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

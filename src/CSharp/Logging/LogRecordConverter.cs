using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Tracing;

namespace Otlp.Logging;

/// <summary>
/// One <see cref="ILogger"/> entry as an OTLP log record, with the names OpenTelemetry .NET uses: the message
/// template as the attribute <c>{OriginalFormat}</c>, the event id as <c>logrecord.event.id</c> (its name in the
/// record's <c>event_name</c>), exceptions as <c>exception.type</c>, <c>exception.message</c> and
/// <c>exception.stacktrace</c> (semantic conventions, "Exceptions").
/// </summary>
internal static class LogRecordConverter
{
    /// <summary>The state key under which Microsoft.Extensions.Logging passes the message template.</summary>
    public const string OriginalFormat = "{OriginalFormat}";

    /// <summary>The attribute of a non-zero event id.</summary>
    public const string EventIdAttribute = "logrecord.event.id";

    /// <summary>The severity number of a log level (logs data model, "Mapping of SeverityNumber", .NET row).</summary>
    public static SeverityNumber Severity(LogLevel level) => level switch
    {
        LogLevel.Trace => SeverityNumber.Trace,
        LogLevel.Debug => SeverityNumber.Debug,
        LogLevel.Information => SeverityNumber.Info,
        LogLevel.Warning => SeverityNumber.Warn,
        LogLevel.Error => SeverityNumber.Error,
        LogLevel.Critical => SeverityNumber.Fatal,
        _ => SeverityNumber.Unspecified,
    };

    /// <summary>The severity text of a log level: its name, without boxing the enum to get it.</summary>
    public static string SeverityText(LogLevel level) => level switch
    {
        LogLevel.Trace => nameof(LogLevel.Trace),
        LogLevel.Debug => nameof(LogLevel.Debug),
        LogLevel.Information => nameof(LogLevel.Information),
        LogLevel.Warning => nameof(LogLevel.Warning),
        LogLevel.Error => nameof(LogLevel.Error),
        LogLevel.Critical => nameof(LogLevel.Critical),
        LogLevel.None => nameof(LogLevel.None),
        _ => level.ToString(),
    };

    /// <summary>The record of one entry, before limits.</summary>
    public static LogRecord ToLogRecord<TState>(
        LogLevel level,
        EventId eventId,
        TState state,
        Exception? exception,
        Func<TState, Exception?, string> formatter,
        IExternalScopeProvider? scopes,
        DateTime utcNow,
        Activity? activity) =>
        ToLogRecord(Capture(level, eventId, state, exception, formatter, scopes, utcNow, activity));

    /// <summary>
    /// What the record of one entry needs, taken on the logging thread: the formatted message, the template, the
    /// state's and scopes' key-value pairs (null values and empty keys left out), the exception and the trace
    /// context. The values are mapped to OTLP when the entry is exported.
    /// </summary>
    public static LogEntry Capture<TState>(
        LogLevel level,
        EventId eventId,
        TState state,
        Exception? exception,
        Func<TState, Exception?, string> formatter,
        IExternalScopeProvider? scopes,
        DateTime utcNow,
        Activity? activity)
    {
        var attributes = new List<KeyValuePair<string, object?>>(state is IReadOnlyCollection<KeyValuePair<string, object?>> sized ? sized.Count : 4);
        string? template = null;
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var pair in pairs)
            {
                if (pair.Key == OriginalFormat)
                {
                    template = pair.Value as string;
                }

                Add(attributes, pair);
            }
        }

        if (scopes is not null)
        {
            scopes.ForEachScope(
                static (scope, list) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        foreach (var pair in scopePairs)
                        {
                            if (pair.Key != OriginalFormat)
                            {
                                Add(list, pair);
                            }
                        }
                    }
                },
                attributes);
        }

        var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
        return new LogEntry(
            ActivityConverter.UnixNanos(utcNow),
            level,
            eventId,
            formatter(state, exception),
            template,
            attributes,
            exception,
            traced ? (uint)activity!.ActivityTraceFlags & LogRecordFlags.TraceFlagsMask : 0u,
            traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty,
            traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty);
    }

    /// <summary>The record of a captured entry, before limits.</summary>
    public static LogRecord ToLogRecord(LogEntry entry)
    {
        var attributes = new List<KeyValue>(entry.Attributes.Count + 4);
        foreach (var (key, value) in entry.Attributes)
        {
            attributes.Add(new KeyValue(key, TagValues.ToAnyValue(value)!));
        }

        if (entry.EventId.Id != 0)
        {
            attributes.Add(new KeyValue(EventIdAttribute, AnyValue.NewInt(entry.EventId.Id)));
        }

        if (entry.Exception is { } exception)
        {
            attributes.Add(new KeyValue("exception.type", AnyValue.NewString(exception.GetType().Name)));
            attributes.Add(new KeyValue("exception.message", AnyValue.NewString(exception.Message)));
            attributes.Add(new KeyValue("exception.stacktrace", AnyValue.NewString(exception.ToString())));
        }

        var body = entry.Body is { } text ? AnyValue.NewString(text) : AnyValue.Empty;
        return new LogRecord(
            entry.TimeUnixNano,
            entry.TimeUnixNano,
            Severity(entry.Level),
            SeverityText(entry.Level),
            body,
            attributes.ToArray(),
            0u,
            entry.Flags,
            entry.TraceId,
            entry.SpanId,
            entry.EventId.Name ?? string.Empty);
    }

    private static void Add(List<KeyValuePair<string, object?>> attributes, KeyValuePair<string, object?> pair)
    {
        if (!string.IsNullOrEmpty(pair.Key) && pair.Value is not null)
        {
            attributes.Add(pair);
        }
    }
}

/// <summary>One log entry as <see cref="LogRecordConverter.Capture"/> took it.</summary>
/// <param name="TimeUnixNano">When it was logged (also its observed time).</param>
/// <param name="Level">Its level.</param>
/// <param name="EventId">Its event id.</param>
/// <param name="Message">The formatter's output.</param>
/// <param name="Template">The message template (<c>{OriginalFormat}</c>), if any.</param>
/// <param name="Attributes">The state's and scopes' pairs, none with a null value or an empty key.</param>
/// <param name="Exception">The exception, if any.</param>
/// <param name="Flags">The W3C trace flags of the current activity.</param>
/// <param name="TraceId">The current activity's trace id, or empty.</param>
/// <param name="SpanId">The current activity's span id, or empty.</param>
internal sealed record LogEntry(
    ulong TimeUnixNano,
    LogLevel Level,
    EventId EventId,
    string? Message,
    string? Template,
    List<KeyValuePair<string, object?>> Attributes,
    Exception? Exception,
    uint Flags,
    TraceId TraceId,
    SpanId SpanId)
{
    /// <summary>The body: the formatted message, or the template when there is none.</summary>
    public string? Body => !string.IsNullOrEmpty(this.Message) ? this.Message : this.Template;
}

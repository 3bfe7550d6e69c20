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

    /// <summary>The record of one entry, before limits.</summary>
    public static LogRecord ToLogRecord<TState>(
        LogLevel level,
        EventId eventId,
        TState state,
        Exception? exception,
        Func<TState, Exception?, string> formatter,
        IExternalScopeProvider? scopes,
        DateTime utcNow,
        Activity? activity)
    {
        var attributes = new List<KeyValue>();
        string? template = null;
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var (key, value) in pairs)
            {
                if (key == OriginalFormat)
                {
                    template = value as string;
                }

                Add(attributes, key, value);
            }
        }

        if (scopes is not null)
        {
            scopes.ForEachScope(
                static (scope, list) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        foreach (var (key, value) in scopePairs)
                        {
                            if (key != OriginalFormat)
                            {
                                Add(list, key, value);
                            }
                        }
                    }
                },
                attributes);
        }

        if (eventId.Id != 0)
        {
            attributes.Add(new KeyValue(EventIdAttribute, AnyValue.NewInt(eventId.Id)));
        }

        if (exception is not null)
        {
            attributes.Add(new KeyValue("exception.type", AnyValue.NewString(exception.GetType().Name)));
            attributes.Add(new KeyValue("exception.message", AnyValue.NewString(exception.Message)));
            attributes.Add(new KeyValue("exception.stacktrace", AnyValue.NewString(exception.ToString())));
        }

        // The formatted message is the body; with no formatter output the template stands in for it.
        var message = formatter(state, exception);
        var body = !string.IsNullOrEmpty(message) ? AnyValue.NewString(message)
            : template is not null ? AnyValue.NewString(template)
            : AnyValue.Empty;
        var now = ActivityConverter.UnixNanos(utcNow);
        var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
        return new LogRecord(
            now,
            now,
            Severity(level),
            level.ToString(),
            body,
            attributes.ToArray(),
            0u,
            traced ? (uint)activity!.ActivityTraceFlags & LogRecordFlags.TraceFlagsMask : 0u,
            traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty,
            traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty,
            eventId.Name ?? string.Empty);
    }

    private static void Add(List<KeyValue> attributes, string key, object? value)
    {
        if (!string.IsNullOrEmpty(key) && TagValues.ToAnyValue(value) is { } converted)
        {
            attributes.Add(new KeyValue(key, converted));
        }
    }
}

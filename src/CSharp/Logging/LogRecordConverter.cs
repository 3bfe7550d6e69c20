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

    /// <summary>The attribute of an exception's type.</summary>
    public const string ExceptionTypeAttribute = "exception.type";

    /// <summary>The attribute of an exception's message.</summary>
    public const string ExceptionMessageAttribute = "exception.message";

    /// <summary>The attribute of an exception's stack trace (its <c>ToString</c>).</summary>
    public const string ExceptionStacktraceAttribute = "exception.stacktrace";

    /// <summary>
    /// The <c>exception.type</c> of an exception: its type's full name (semantic conventions, "Exceptions": "its
    /// fully-qualified class name, if applicable"), or its name when it has none.
    /// </summary>
    public static string ExceptionType(Exception exception)
    {
        var type = exception.GetType();
        return type.FullName ?? type.Name;
    }

    /// <summary>
    /// The <c>exception.message</c> of an exception. <c>Message</c> may be the application's code (an override):
    /// when it throws, the text says so, rather than the record, or the batch it is written in, failing.
    /// </summary>
    public static string ExceptionMessage(Exception exception) => Safely(exception, static e => e.Message, "Message");

    /// <summary>
    /// The <c>exception.stacktrace</c> of an exception (its <c>ToString</c>), as safely as <see cref="ExceptionMessage"/>,
    /// read under the invariant UI culture as the official exporter reads it: the runtime's own texts in it ("at",
    /// "--- End of inner exception stack trace ---") are then the same whatever culture the exporting thread has.
    /// </summary>
    public static string ExceptionStacktrace(Exception exception) => Safely(exception, static e => InvariantText(e), "ToString");

    private static string InvariantText(Exception exception)
    {
        var culture = System.Globalization.CultureInfo.CurrentUICulture;
        if (ReferenceEquals(culture, System.Globalization.CultureInfo.InvariantCulture))
        {
            return exception.ToString();
        }

        System.Globalization.CultureInfo.CurrentUICulture = System.Globalization.CultureInfo.InvariantCulture;
        try
        {
            return exception.ToString();
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentUICulture = culture;
        }
    }

    private static string Safely(Exception exception, Func<Exception, string> read, string member)
    {
        try
        {
            return read(exception) ?? string.Empty;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"({exception.GetType().Name}.{member} threw {e.GetType().Name})";
        }
    }

    /// <summary>The severity number of a log level (logs data model, "Mapping of SeverityNumber", .NET row).</summary>
    public static SeverityNumber Severity(LogLevel level) =>
        // Trace to Critical are 0 to 5, and their severities the first of each range of four: 1, 5, 9, 13, 17, 21.
        (uint)level <= (uint)LogLevel.Critical ? (SeverityNumber)(1 + (4 * (int)level)) : SeverityNumber.Unspecified;

    /// <summary>The severity text of a log level: its name, without boxing the enum to get it.</summary>
    public static string SeverityText(LogLevel level) =>
        (uint)level < (uint)LevelNames.Length ? LevelNames[(int)level] : level.ToString();

    // Indexed by level (Trace 0 to None 6).
    private static readonly string[] LevelNames =
    [
        nameof(LogLevel.Trace), nameof(LogLevel.Debug), nameof(LogLevel.Information), nameof(LogLevel.Warning),
        nameof(LogLevel.Error), nameof(LogLevel.Critical), nameof(LogLevel.None),
    ];

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
        ToLogRecord(Capture(level, eventId, state, exception, formatter, scopes, utcNow, activity, problem: null));

    /// <summary>
    /// The most pairs read from one state or scope that is not a list: one that never ends would otherwise hold the
    /// application's logging thread forever. Far above any attribute count limit worth having (the default is 128),
    /// so that the record's dropped count still says that attributes were left out.
    /// </summary>
    internal const int MostPairsRead = 4096;

    /// <summary>
    /// What the record of one entry needs, taken on the logging thread: the formatted message, the template, the
    /// state's and scopes' key-value pairs (empty keys left out), the exception and the trace
    /// context. The values are mapped to OTLP when the entry is exported. The state, its formatter and the scopes are
    /// the application's code, run here on its logging thread: what they throw is not thrown into the log call; the
    /// entry keeps what was read before it (a body that says so for a formatter), and <paramref name="problem"/> is
    /// told the kind of fault (types only: an exception's message may hold the application's values).
    /// </summary>
    public static LogEntry Capture<TState>(
        LogLevel level,
        EventId eventId,
        TState state,
        Exception? exception,
        Func<TState, Exception?, string> formatter,
        IExternalScopeProvider? scopes,
        DateTime utcNow,
        Activity? activity,
        Action<string>? problem)
    {
        // The pairs are read when the entry is exported. Microsoft.Extensions.Logging's own states hold the values
        // they were made with and are kept as they are (copying them would cost an array per entry on the logging
        // thread); any other list is copied here: it may read live objects when indexed (ASP.NET Core's request
        // logs read the request, disposed by export time) or be reused for the next call (pooled states).
        IReadOnlyList<KeyValuePair<string, object?>>? kept = null;
        List<KeyValuePair<string, object?>>? copied = null;
        string? template = null;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> list)
        {
            kept = HoldsItsValues(list.GetType()) ? list : CopyOf(list, problem);
            for (var i = kept.Count - 1; i >= 0; i--)
            {
                // The template is the last pair of the framework's states: found at once.
                var pair = kept[i];
                if (pair.Key == OriginalFormat)
                {
                    template = pair.Value as string;
                    break;
                }
            }
        }
        else if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            copied = new List<KeyValuePair<string, object?>>(4);
            var read = 0;
            try
            {
                foreach (var pair in pairs)
                {
                    if (++read > MostPairsRead)
                    {
                        problem?.Invoke($"A log entry's state ({state.GetType().Name}) has more than {MostPairsRead} pairs: the rest are left out.");
                        break;
                    }

                    if (pair.Key == OriginalFormat)
                    {
                        template = pair.Value as string;
                    }

                    Add(copied, pair);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problem?.Invoke($"A log entry's state ({state.GetType().Name}) threw {e.GetType().Name} when enumerated: its pairs after that are left out.");
            }
        }

        List<KeyValuePair<string, object?>>? scoped = null;
        if (scopes is not null)
        {
            scoped = new List<KeyValuePair<string, object?>>();
            try
            {
                scopes.ForEachScope(
                    static (scope, list) =>
                    {
                        // The scopes come from the outermost in: each one's pairs go before those of the scopes around
                        // it, so that the innermost scope's come first (and win a repeated key, see ToLogRecord).
                        if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                        {
                            var at = 0;
                            var read = 0;
                            foreach (var pair in scopePairs)
                            {
                                // A scope that never ends would hold the logging thread forever.
                                if (++read > MostPairsRead)
                                {
                                    break;
                                }

                                if (pair.Key != OriginalFormat && LogAttributes.IsAttribute(pair))
                                {
                                    list.Insert(at++, pair);
                                }
                            }
                        }
                    },
                    scoped);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The pairs read so far stay; the scopes inside the faulty one are not reached.
                problem?.Invoke($"A logging scope's state threw {e.GetType().Name} when enumerated: its pairs after that, and the scopes inside it, are left out.");
            }
        }

        var traced = activity is not null && activity.IdFormat == ActivityIdFormat.W3C;
        return new LogEntry(
            ActivityConverter.UnixNanos(utcNow),
            level,
            eventId,
            Format(state, exception, formatter, problem),
            template,
            new LogAttributes(kept ?? copied, scoped),
            exception,
            traced ? (uint)activity!.ActivityTraceFlags & LogRecordFlags.TraceFlagsMask : 0u,
            traced ? ActivityConverter.ToTraceId(activity!.TraceId) : TraceId.Empty,
            traced ? ActivityConverter.ToSpanId(activity!.SpanId) : SpanId.Empty);
    }

    // The state of the ILogger extension methods (LogInformation and the like), internal to Microsoft.Extensions.Logging.
    private static readonly Type? FormattedLogValues = typeof(LoggerMessage).Assembly.GetType("Microsoft.Extensions.Logging.FormattedLogValues");

    /// <summary>
    /// Whether a state of <paramref name="type"/> holds the values it was made with, so that its pairs read at export
    /// are those of the log call: Microsoft.Extensions.Logging's own states (the extension methods', and those of
    /// <see cref="LoggerMessage.Define(LogLevel, EventId, string)"/> and its generic forms, which the logging source
    /// generator uses).
    /// </summary>
    private static bool HoldsItsValues(Type type) => type == FormattedLogValues || type.DeclaringType == typeof(LoggerMessage);

    private static KeyValuePair<string, object?>[] CopyOf(IReadOnlyList<KeyValuePair<string, object?>> list, Action<string>? problem)
    {
        var read = 0;
        KeyValuePair<string, object?>[] copy = [];
        try
        {
            copy = new KeyValuePair<string, object?>[list.Count];
            for (; read < copy.Length; read++)
            {
                copy[read] = list[read];
            }

            return copy;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problem?.Invoke($"A log entry's state ({list.GetType().Name}) threw {e.GetType().Name} when read: its pairs after that are left out.");
            return copy.AsSpan(0, read).ToArray();
        }
    }

    /// <summary>The formatted message; a text that says so when the formatter (the application's, or its values' ToString) throws.</summary>
    private static string Format<TState>(TState state, Exception? exception, Func<TState, Exception?, string> formatter, Action<string>? problem)
    {
        try
        {
            return formatter(state, exception) ?? string.Empty;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problem?.Invoke($"A log entry's formatter threw {e.GetType().Name}: its body says so.");
            return $"(the formatter threw {e.GetType().Name})";
        }
    }

    /// <summary>
    /// The record of a captured entry, before limits. Attribute keys are unique (logs data model: "Attribute keys
    /// MUST be unique"): the first occurrence of a key wins, in this order: the entry's own attributes (its state's),
    /// then the derived ones (event id, exception), then the scopes' from the innermost to the outermost.
    /// <see cref="LogEncoder"/> writes the same.
    /// </summary>
    public static LogRecord ToLogRecord(LogEntry entry)
    {
        var attributes = new List<KeyValue>(entry.Attributes.MaxCount + 4);
        foreach (var (key, value) in entry.Attributes)
        {
            if (IsNew(attributes, key))
            {
                attributes.Add(new KeyValue(key, TagValues.ToAnyValue(value)));
            }
        }

        if (entry.EventId.Id != 0 && IsNew(attributes, EventIdAttribute))
        {
            attributes.Add(new KeyValue(EventIdAttribute, AnyValue.NewInt(entry.EventId.Id)));
        }

        if (entry.Exception is { } exception)
        {
            AddNew(attributes, ExceptionTypeAttribute, ExceptionType(exception));
            AddNew(attributes, ExceptionMessageAttribute, ExceptionMessage(exception));
            AddNew(attributes, ExceptionStacktraceAttribute, ExceptionStacktrace(exception));
        }

        foreach (var (key, value) in entry.Attributes.Scopes)
        {
            if (IsNew(attributes, key))
            {
                attributes.Add(new KeyValue(key, TagValues.ToAnyValue(value)));
            }
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

    private static bool IsNew(List<KeyValue> attributes, string key)
    {
        foreach (var attribute in attributes)
        {
            if (string.Equals(attribute.Key, key, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static void AddNew(List<KeyValue> attributes, string key, string value)
    {
        if (IsNew(attributes, key))
        {
            attributes.Add(new KeyValue(key, AnyValue.NewString(value)));
        }
    }

    private static void Add(List<KeyValuePair<string, object?>> attributes, KeyValuePair<string, object?> pair)
    {
        if (LogAttributes.IsAttribute(pair))
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
/// <param name="Attributes">The state's and scopes' pairs (keys may repeat), none with an empty key.</param>
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
    LogAttributes Attributes,
    Exception? Exception,
    uint Flags,
    TraceId TraceId,
    SpanId SpanId)
{
    /// <summary>An entry whose attributes are exactly <paramref name="attributes"/>.</summary>
    /// <param name="timeUnixNano">When it was logged.</param>
    /// <param name="level">Its level.</param>
    /// <param name="eventId">Its event id.</param>
    /// <param name="message">The formatter's output.</param>
    /// <param name="template">The message template, if any.</param>
    /// <param name="attributes">Its attributes, none with an empty key.</param>
    /// <param name="exception">The exception, if any.</param>
    /// <param name="flags">The W3C trace flags.</param>
    /// <param name="traceId">The trace id, or empty.</param>
    /// <param name="spanId">The span id, or empty.</param>
    public LogEntry(
        ulong timeUnixNano,
        LogLevel level,
        EventId eventId,
        string? message,
        string? template,
        List<KeyValuePair<string, object?>> attributes,
        Exception? exception,
        uint flags,
        TraceId traceId,
        SpanId spanId)
        : this(timeUnixNano, level, eventId, message, template, new LogAttributes(attributes, null), exception, flags, traceId, spanId)
    {
    }

    /// <summary>The body: the formatted message, or the template when there is none.</summary>
    public string? Body => !string.IsNullOrEmpty(this.Message) ? this.Message : this.Template;
}

/// <summary>
/// The attributes of a <see cref="LogEntry"/>: the entry's own pairs (the logger's state kept as it is, a list of
/// pairs, or the pairs of another kind of state copied at capture), filtered as they are read; the scopes' pairs
/// apart (<see cref="Scopes"/>), the innermost scope's first. Enumerating allocates nothing. Keys may repeat here;
/// the record keeps the first of each (<see cref="LogRecordConverter.ToLogRecord(LogEntry)"/>).
/// </summary>
internal readonly struct LogAttributes
{
    private readonly IReadOnlyList<KeyValuePair<string, object?>>? own;
    private readonly List<KeyValuePair<string, object?>>? scopes;

    /// <summary>
    /// The attributes of <paramref name="own"/> (pairs with an empty key left out); the scopes' pairs
    /// in <paramref name="scopes"/>.
    /// </summary>
    public LogAttributes(IReadOnlyList<KeyValuePair<string, object?>>? own, List<KeyValuePair<string, object?>>? scopes)
    {
        this.own = own;
        this.scopes = scopes;
    }

    /// <summary>The entry's own pairs as they were kept (empty keys too: see <see cref="IsAttribute"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>>? Own => this.own;

    /// <summary>At least the number of attributes, the scopes' included (the own pairs are counted before they are filtered).</summary>
    public int MaxCount => (this.own?.Count ?? 0) + (this.scopes?.Count ?? 0);

    /// <summary>The scopes' pairs, the innermost scope's first.</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> Scopes =>
        this.scopes is null ? default : System.Runtime.InteropServices.CollectionsMarshal.AsSpan(this.scopes);

    /// <summary>
    /// True for a pair that is an attribute: a key that is not empty (common spec, "Attribute"). A null value is one,
    /// sent as an empty AnyValue (common spec, "AnyValue": an empty value MUST be passed on).
    /// </summary>
    public static bool IsAttribute(KeyValuePair<string, object?> pair) => !string.IsNullOrEmpty(pair.Key);

    /// <summary>The entry's own attributes in order, without the scopes'.</summary>
    public Enumerator GetEnumerator() => new(this.own);

    /// <summary>Walks the own pairs by index, leaving out those that are not attributes.</summary>
    public struct Enumerator
    {
        private readonly IReadOnlyList<KeyValuePair<string, object?>>? own;

        // The count, read once: it is an interface call, and the pairs do not change.
        private readonly int count;
        private int index;

        internal Enumerator(IReadOnlyList<KeyValuePair<string, object?>>? own)
        {
            this.own = own;
            this.count = own?.Count ?? 0;
            this.index = -1;
            this.Current = default;
        }

        /// <summary>The current attribute.</summary>
        public KeyValuePair<string, object?> Current { get; private set; }

        /// <summary>Moves to the next attribute; false after the last.</summary>
        public bool MoveNext()
        {
            while (++this.index < this.count)
            {
                var pair = this.own![this.index];
                if (IsAttribute(pair))
                {
                    this.Current = pair;
                    return true;
                }
            }

            return false;
        }
    }
}

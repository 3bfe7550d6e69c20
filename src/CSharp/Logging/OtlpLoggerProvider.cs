using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Otlp.Core;

namespace Otlp.Logging;

/// <summary>Settings of the OTLP logger provider.</summary>
public sealed class OtlpLoggerOptions
{
    /// <summary>Adds the key-value pairs of the active logging scopes (<c>BeginScope</c>) as attributes. Off by default.</summary>
    public bool IncludeScopes { get; set; }

    /// <summary>
    /// Sends a non-zero <see cref="EventId.Id"/> as the attribute <c>logrecord.event.id</c>. On by default; off sends
    /// what the official .NET exporter sends by default (about 27 bytes less per record), the event's name still the
    /// record's <c>event_name</c>.
    /// </summary>
    public bool IncludeEventId { get; set; } = true;

    /// <summary>Attribute limits; null for those of the exporter's environment (<c>OTEL_LOGRECORD_ATTRIBUTE_*_LIMIT</c>).</summary>
    public LogRecordLimits? Limits { get; set; }

    /// <summary>The clock of the records' timestamps; null for the system clock. For tests.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>False when the pipeline's options turn logs off (<see cref="OtlpPipelineOptions.Logs"/>): the provider then logs nothing.</summary>
    internal bool Enabled { get; set; } = true;
}

/// <summary>
/// An <see cref="ILoggerProvider"/> that offers every log entry to an <see cref="OtlpLogExporter"/> as an OTLP log
/// record: the timestamps, the severity from the <see cref="LogLevel"/>, the formatted message as the body, the
/// template and the structured state as attributes, the event id, the exception, the trace context of
/// <see cref="Activity.Current"/>, and the category as the instrumentation scope. Add it with
/// <c>builder.Logging.AddOtlp()</c>. It logs nothing when the exporter is disabled (<c>OTEL_SDK_DISABLED</c>), and
/// ignores the categories of the exporter's own HTTP client, whose entries would otherwise be exported in a loop.
/// Disposing it does not dispose the exporter.
/// </summary>
[ProviderAlias("Otlp")]
public sealed class OtlpLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private static readonly string OwnHttpClientCategory = $"System.Net.Http.HttpClient.{OtlpServiceCollectionExtensions.HttpClientName}.";

    [ThreadStatic]
    private static bool resolving;

    private readonly ConcurrentDictionary<string, ILogger> loggers = new(StringComparer.Ordinal);
    private readonly OtlpLoggerOptions options;
    private readonly Func<OtlpLogExporter> exporterFactory;
    private readonly Lock gate = new();
    private (OtlpLogExporter Exporter, Func<object, LogRecord> Convert)? resolved;

    // Set when the container was disposed before the first entry made the exporter: there is none to send to.
    private volatile bool containerGone;
    private IExternalScopeProvider? scopes;

    /// <summary>A provider offering records to <paramref name="exporter"/>.</summary>
    public OtlpLoggerProvider(OtlpLogExporter exporter, OtlpLoggerOptions? options = null)
        : this(Required(exporter), options)
    {
    }

    /// <summary>
    /// A provider whose exporter is created on the first entry. In a container the exporter's HTTP client
    /// creates loggers while it is being built, so building it eagerly here would recurse.
    /// </summary>
    internal OtlpLoggerProvider(Func<OtlpLogExporter> exporterFactory, OtlpLoggerOptions? options)
    {
        this.exporterFactory = exporterFactory;
        this.options = options ?? new OtlpLoggerOptions();
    }

    /// <summary>The exporter the records are offered to.</summary>
    public OtlpLogExporter Exporter => this.Resolve()?.Exporter ?? throw new InvalidOperationException("The exporter is being created, or its container was disposed before it was needed.");

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName)
    {
        ArgumentNullException.ThrowIfNull(categoryName);
        return this.loggers.GetOrAdd(categoryName, this.NewLogger);
    }

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => this.scopes = scopeProvider;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static Func<OtlpLogExporter> Required(OtlpLogExporter exporter)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        return () => exporter;
    }

    /// <summary>
    /// The exporter and limits; null while the exporter is being created on this thread, or when the container that
    /// makes it was disposed before it was needed (entries then are dropped).
    /// </summary>
    private (OtlpLogExporter Exporter, Func<object, LogRecord> Convert)? Resolve()
    {
        if (this.resolved is { } done)
        {
            return done;
        }

        if (resolving || this.containerGone)
        {
            return null;
        }

        lock (this.gate)
        {
            if (this.resolved is null)
            {
                resolving = true;
                try
                {
                    OtlpLogExporter exporter;
                    try
                    {
                        exporter = this.exporterFactory();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The host is gone (an entry written while or after it stopped): the entry is dropped, not
                        // thrown into the application's logging call.
                        this.containerGone = true;
                        return null;
                    }

                    var limits = this.options.Limits ?? exporter.Limits.LogRecord;
                    this.resolved = (exporter, new LogEntries(limits).ToLogRecord);
                }
                finally
                {
                    resolving = false;
                }
            }

            return this.resolved;
        }
    }

    private ILogger NewLogger(string category) =>
        !this.options.Enabled || category.StartsWith(OwnHttpClientCategory, StringComparison.Ordinal)
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : new OtlpLogger(this, new InstrumentationScope(category, string.Empty, [], 0u));

    private sealed class OtlpLogger(OtlpLoggerProvider provider, InstrumentationScope scope) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull =>
            provider.scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && provider.Resolve() is { Exporter.IsDisabled: false };

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // Entries written within the exporter's own requests (by a handler on its HTTP client, whatever its
            // category) would be exported by the next request, which writes more: an endless loop.
            if (logLevel == LogLevel.None || Diagnostics.ExporterOwnWork.IsCurrent || provider.Resolve() is not { Exporter.IsDisabled: false } target)
            {
                return;
            }

            ArgumentNullException.ThrowIfNull(formatter);
            var now = (provider.options.TimeProvider ?? TimeProvider.System).GetUtcNow().UtcDateTime;
            // The entry's values become OTLP on the export task, written straight into the request.
            // Without event ids the entry keeps the name only: both encoders leave an id of 0 out.
            var kept = provider.options.IncludeEventId || eventId.Id == 0 ? eventId : new EventId(0, eventId.Name);
            var entry = LogRecordConverter.Capture(
                logLevel, kept, state, exception, formatter, provider.options.IncludeScopes ? provider.scopes : null, now, Activity.Current, this.report ??= target.Exporter.Statistics.ReportProblem);
            var origin = this.origin;
            if (origin is null || !ReferenceEquals(origin.Convert, target.Convert))
            {
                origin = new ItemOrigin<LogRecord>(scope, target.Convert, deferred: true);
                this.origin = origin;
            }

            target.Exporter.OfferDeferred(entry, origin);
        }

        // Where the faults of the application's states, scopes and formatters are told (made once, not per entry).
        private Action<string>? report;

        // The origin of this logger's entries: its scope and the conversion of the exporter it resolved.
        private ItemOrigin<LogRecord>? origin;
    }
}

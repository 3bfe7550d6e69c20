using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Otlp.Core;
using Otlp.Diagnostics;

namespace Otlp.Tracing;

/// <summary>Settings of an <see cref="OtlpTracer"/>.</summary>
public sealed class OtlpTracerOptions
{
    /// <summary>
    /// Names of the <see cref="ActivitySource"/>s to listen to, compared without case; <c>*</c> matches any run of
    /// characters (<c>"MyCompany.*"</c>) and <c>?</c> one character. Empty listens to nothing.
    /// </summary>
    public IList<string> Sources { get; } = new List<string>();

    /// <summary>The sampler; null for the exporter's configuration (<c>OTEL_TRACES_SAMPLER</c>, <c>OTEL_TRACES_SAMPLER_ARG</c>).</summary>
    public SamplerConfig? Sampler { get; set; }

    /// <summary>Attribute, event and link limits; null for those of the exporter's environment (<c>OTEL_SPAN_*_LIMIT</c>).</summary>
    public SpanLimits? Limits { get; set; }
}

/// <summary>
/// Turns the <see cref="Activity"/> objects of .NET's own tracing API into OTLP spans: listens to the chosen
/// activity sources, samples new activities, and offers each recorded activity to an
/// <see cref="OtlpTraceExporter"/> when it stops, mapped as OpenTelemetry .NET maps it, with the source's name,
/// version and tags as the instrumentation scope and the span limits applied.
/// <code>
/// await using var exporter = OtlpExporter.ForTraces().Build();
/// using var tracer = OtlpTracer.Start(exporter, "MyCompany.*");
/// </code>
/// When the exporter is disabled (<c>OTEL_SDK_DISABLED=true</c>) nothing is listened to, so activities are not
/// even created. Disposing stops listening; it does not dispose the exporter.
/// </summary>
public sealed class OtlpTracer : IDisposable
{
    private readonly ActivityListener? listener;
    private readonly Regex[] patterns;
    private readonly ConcurrentDictionary<ActivitySource, ItemOrigin<Span>> origins = new();
    private readonly bool rootReadsTraceId;
    private readonly bool childReadsTraceId;
    // A root's decision when the sampler does not read the trace id (always on or off, and their parent-based
    // forms): the same for every root, so made once.
    private readonly ActivitySamplingResult? fixedRootResult;
    private SourceScope? lastScope;
    // Added to by every thread ending an activity: striped, so that they do not contend for one cache line.
    private readonly Runtime.StripedCounter offered = new();
    private readonly Runtime.StripedCounter refused = new();

    private OtlpTracer(OtlpTraceExporter exporter, OtlpTracerOptions options)
    {
        this.Exporter = exporter;
        this.Sampler = options.Sampler ?? exporter.Configuration.Sampler;
        this.Limits = options.Limits ?? exporter.Limits.Span;
        this.rootReadsTraceId = SamplingModule.ReadsTraceId(this.Sampler, false);
        this.childReadsTraceId = SamplingModule.ReadsTraceId(this.Sampler, true);
        this.fixedRootResult = this.rootReadsTraceId ? null : this.Decide(default, false, TraceId.Empty);
        this.patterns = options.Sources.Where(s => !string.IsNullOrWhiteSpace(s)).Select(Pattern).ToArray();
        if (exporter.IsDisabled || this.patterns.Length == 0)
        {
            return;
        }

        this.listener = new ActivityListener
        {
            ShouldListenTo = this.Listens,
            Sample = this.Sample,
            SampleUsingParentId = this.SampleUsingParentId,
            ActivityStopped = this.OnStopped,
        };
        ActivitySource.AddActivityListener(this.listener);
    }

    /// <summary>The exporter the spans are offered to.</summary>
    public OtlpTraceExporter Exporter { get; }

    /// <summary>The sampler in use.</summary>
    public SamplerConfig Sampler { get; }

    /// <summary>The limits applied to every span.</summary>
    public SpanLimits Limits { get; }

    /// <summary>Spans offered to the exporter so far.</summary>
    public long Offered => this.offered.Value;

    /// <summary>Spans the exporter refused (queue full, shut down); they are also in the exporter's statistics.</summary>
    public long Refused => this.refused.Value;

    /// <summary>Starts listening to the sources named in <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The options' sampler has a ratio that is not a number from 0 to 1.</exception>
    public static OtlpTracer Start(OtlpTraceExporter exporter, OtlpTracerOptions options)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Sampler is { Ratio: var ratio } && !(ratio >= 0.0 && ratio <= 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), ratio, "The sampler's ratio must be a number from 0 to 1.");
        }

        return new OtlpTracer(exporter, options);
    }

    /// <summary>Starts listening to <paramref name="sources"/> (wildcards allowed), sampling as the environment says.</summary>
    public static OtlpTracer Start(OtlpTraceExporter exporter, params string[] sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var options = new OtlpTracerOptions();
        foreach (var source in sources)
        {
            options.Sources.Add(source);
        }

        return Start(exporter, options);
    }

    /// <summary>True when the tracer listens to a source of this name.</summary>
    public bool ListensTo(string sourceName) => this.listener is not null && this.patterns.Any(p => p.IsMatch(sourceName));

    /// <summary>Exports every span of the activities stopped so far.</summary>
    public Task<bool> ForceFlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        this.Exporter.ForceFlushAsync(timeout, cancellationToken);

    /// <summary>Stops listening; activities stopped later are not exported.</summary>
    public void Dispose() => this.listener?.Dispose();

    private static Regex Pattern(string glob) =>
        new(
            "^" + Regex.Escape(glob.Trim()).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private bool Listens(ActivitySource source) => this.patterns.Any(p => p.IsMatch(source.Name));

    private ActivitySamplingResult Sample(ref ActivityCreationOptions<ActivityContext> options)
    {
        if (ExporterOwnWork.IsCurrent)
        {
            return ActivitySamplingResult.None;
        }

        var parent = options.Parent;
        var hasParent = parent != default;
        if (!hasParent && this.fixedRootResult is { } fixedResult)
        {
            return fixedResult;
        }

        // The trace id is read (and, for a root, made) only when the decision needs it; otherwise the activity
        // makes it as it starts, as it would anyway.
        var traceId = (hasParent ? this.childReadsTraceId : this.rootReadsTraceId) ? ActivityConverter.ToTraceId(options.TraceId) : TraceId.Empty;
        return this.Decide(parent, hasParent, traceId);
    }

    private ActivitySamplingResult SampleUsingParentId(ref ActivityCreationOptions<string> options)
    {
        if (ExporterOwnWork.IsCurrent)
        {
            return ActivitySamplingResult.None;
        }

        // A W3C parent id is parsed into a context; another format (hierarchical ids) carries no sampled flag, so
        // the span is treated as a root of the trace the runtime gives it.
        var parent = ActivityContext.TryParse(options.Parent, null, out var context) ? context : default;
        var hasParent = parent != default;
        var traceId = (hasParent ? this.childReadsTraceId : this.rootReadsTraceId)
            ? ActivityConverter.ToTraceId(hasParent ? parent.TraceId : options.TraceId)
            : TraceId.Empty;
        return this.Decide(parent, hasParent, traceId);
    }

    /// <summary>
    /// A sampled span records all data; a dropped one still propagates its context (with the sampled flag off), so
    /// that its children and downstream services see the decision, as the parent-based samplers require.
    /// </summary>
    private ActivitySamplingResult Decide(ActivityContext parent, bool hasParent, TraceId traceId) =>
        SamplingModule.Decide(this.Sampler, hasParent, (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0, traceId)
            ? ActivitySamplingResult.AllDataAndRecorded
            : ActivitySamplingResult.PropagationData;

    private Func<object, Span>? convert;

    /// <summary>Queues a stopped, recorded activity for export (internal for the benchmarks, which replay stopped activities).</summary>
    internal void OnStopped(Activity activity)
    {
        // The exporter's own requests are not sampled here (Sample), but another listener (another tracing library)
        // may record them: exported, each would make the next request make another span, without end.
        if (!activity.Recorded || ExporterOwnWork.IsCurrent)
        {
            return;
        }

        // Only a queue write here, on the application's thread: the Activity is encoded (or becomes a span) on
        // the export task.
        var origin = this.OriginOf(activity.Source);
        this.offered.Increment();
        if (!this.Exporter.OfferDeferred(activity, origin))
        {
            this.refused.Increment();
        }
    }

    /// <summary>The origin (scope and conversion) of a source's spans; the last one found is kept aside, as spans mostly come from one source at a time.</summary>
    private ItemOrigin<Span> OriginOf(ActivitySource source)
    {
        if (Volatile.Read(ref this.lastScope) is { } last && ReferenceEquals(last.Source, source))
        {
            return last.Origin;
        }

        this.convert ??= new ActivitySpans(this.Limits).ToSpan;
        var origin = this.origins.GetOrAdd(source, static (source, convert) => new ItemOrigin<Span>(ActivityConverter.ToScope(source), convert, deferred: true, source.TelemetrySchemaUrl ?? string.Empty), this.convert);
        Volatile.Write(ref this.lastScope, new SourceScope(source, origin));
        return origin;
    }

    private sealed record SourceScope(ActivitySource Source, ItemOrigin<Span> Origin);
}

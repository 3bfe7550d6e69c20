using System.Diagnostics;
using System.Runtime.CompilerServices;
using Otlp.Core;

namespace Otlp.Tracing;

/// <summary>
/// A stopped <see cref="Activity"/> as an OTLP span, mapped as OpenTelemetry .NET's OTLP exporter maps it: kind
/// shifted by one (OTLP has Unspecified at 0), status from <see cref="Activity.Status"/> or else the
/// <c>otel.status_code</c>/<c>otel.status_description</c> tags (which are then not attributes), tags, events and
/// links as attributes through <see cref="TagValues"/>, and the W3C trace flags plus the is-remote bits of the
/// parent (trace proto, <c>SpanFlags</c>).
/// </summary>
internal static class ActivityConverter
{
    /// <summary>The tag OpenTelemetry .NET reads a span's status code from (values <c>OK</c>, <c>ERROR</c>).</summary>
    public const string StatusCodeTag = "otel.status_code";

    /// <summary>The tag OpenTelemetry .NET reads an error's description from.</summary>
    public const string StatusDescriptionTag = "otel.status_description";

    /// <summary>The span of <paramref name="activity"/>, before limits.</summary>
    public static Span ToSpan(Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var start = UnixNanos(activity.StartTimeUtc);
        var flags = FlagsOf(activity);
        return new Span(
            ToTraceId(activity.TraceId),
            ToSpanId(activity.SpanId),
            activity.TraceStateString ?? string.Empty,
            ToSpanId(activity.ParentSpanId),
            flags,
            activity.DisplayName,
            (SpanKind)((int)activity.Kind + 1),
            start,
            EndNanos(activity),
            TagValues.ToAttributes(activity.TagObjects, key => key is StatusCodeTag or StatusDescriptionTag),
            0u,
            activity.Events.Select(e => new SpanEvent(UnixNanos(e.Timestamp.UtcDateTime), e.Name, TagValues.ToAttributes(e.Tags), 0u)).ToArray(),
            0u,
            activity.Links.Select(ToLink).ToArray(),
            0u,
            ToStatus(activity));
    }

    /// <summary>The instrumentation scope of an activity source: its name, version and tags.</summary>
    public static InstrumentationScope ToScope(ActivitySource source) =>
        new(source.Name, source.Version ?? string.Empty, TagValues.ToAttributes(source.Tags), 0u);

    /// <summary>Nanoseconds since the Unix epoch of a UTC time; 0 before the epoch.</summary>
    public static ulong UnixNanos(DateTime utc) => UnixNanos(utc.Ticks);

    /// <summary>
    /// The end of an activity in nanoseconds since the Unix epoch: its start plus its duration (a negative one counts
    /// as 0), 0 before the epoch. Computed from the start's ticks, not from its clamped nanoseconds, so that an activity
    /// that started before 1970 and ended after it ends when it ended.
    /// </summary>
    public static ulong EndNanos(Activity activity) => UnixNanos(activity.StartTimeUtc.Ticks + Math.Max(0L, activity.Duration.Ticks));

    /// <summary>Nanoseconds since the Unix epoch of a time in UTC ticks; 0 before the epoch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong UnixNanos(long ticks) => ticks <= DateTime.UnixEpoch.Ticks ? 0UL : (ulong)(ticks - DateTime.UnixEpoch.Ticks) * 100UL;

    /// <summary>The model trace id of an activity trace id.</summary>
    public static TraceId ToTraceId(ActivityTraceId id) => HexIds.ToTraceId(id);

    /// <summary>The model span id of an activity span id (the default id is the empty one).</summary>
    public static SpanId ToSpanId(ActivitySpanId id) => HexIds.ToSpanId(id);

    /// <summary>The span flags of an activity: its W3C trace flags and whether its parent is remote.</summary>
    public static uint FlagsOf(Activity activity) =>
        ((uint)activity.ActivityTraceFlags & SpanFlags.TraceFlagsMask) | SpanFlags.ContextHasIsRemoteMask
        | (activity.HasRemoteParent ? SpanFlags.ContextIsRemoteMask : 0u);

    /// <summary>The link flags of a linked context: its W3C trace flags and whether it is remote.</summary>
    public static uint FlagsOf(ActivityContext context) =>
        ((uint)context.TraceFlags & SpanFlags.TraceFlagsMask) | SpanFlags.ContextHasIsRemoteMask
        | (context.IsRemote ? SpanFlags.ContextIsRemoteMask : 0u);

    /// <summary>The status message and code of an activity, without building a <see cref="Status"/>.</summary>
    public static (string Message, StatusCode Code) StatusOf(Activity activity) =>
        StatusOf(activity.Status, activity.StatusDescription, activity.GetTagItem(StatusCodeTag), activity.GetTagItem(StatusDescriptionTag));

    /// <summary>
    /// The status of an activity from its <paramref name="status"/> and <paramref name="description"/> and the
    /// values of its first <c>otel.status_code</c> and <c>otel.status_description</c> tags (null when absent),
    /// for a caller that has read the tags already.
    /// </summary>
    public static (string Message, StatusCode Code) StatusOf(ActivityStatusCode status, string? description, object? codeTag, object? descriptionTag)
    {
        // Activity.Status wins when set; the description only accompanies an error (trace API, "Set Status").
        switch (status)
        {
            case ActivityStatusCode.Ok:
                return (string.Empty, StatusCode.Ok);
            case ActivityStatusCode.Error:
                return (description ?? string.Empty, StatusCode.Error);
        }

        var code = codeTag as string;
        if (string.Equals(code, "OK", StringComparison.OrdinalIgnoreCase))
        {
            return (string.Empty, StatusCode.Ok);
        }

        if (string.Equals(code, "ERROR", StringComparison.OrdinalIgnoreCase))
        {
            return (descriptionTag as string ?? string.Empty, StatusCode.Error);
        }

        return (string.Empty, StatusCode.Unset);
    }

    private static SpanLink ToLink(ActivityLink link)
    {
        var context = link.Context;
        return new SpanLink(
            ToTraceId(context.TraceId),
            ToSpanId(context.SpanId),
            context.TraceState ?? string.Empty,
            TagValues.ToAttributes(link.Tags),
            0u,
            FlagsOf(context));
    }

    private static Status ToStatus(Activity activity)
    {
        var (message, code) = StatusOf(activity);
        return code == StatusCode.Unset && message.Length == 0 ? Status.Empty : new Status(message, code);
    }
}

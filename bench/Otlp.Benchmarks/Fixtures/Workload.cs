using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// The inputs every benchmark family shares: realistic spans as real <see cref="Activity"/> objects and realistic
/// log entries, made the same way for both exporters.
/// </summary>
public static class Workload
{
    /// <summary>The batch size of the encode and end-to-end benchmarks (the default max export batch size).</summary>
    public const int BatchSize = 512;

    /// <summary>
    /// <paramref name="count"/> stopped, recorded activities of the source <paramref name="sourceName"/>: W3C ids
    /// with a remote parent, kind server, 10 attributes of mixed types (strings, long, double, bool, string
    /// array), 2 events with attributes, 1 link, status error with a description. Made under a listener of the
    /// benchmark's own, removed afterwards, so no exporter sees them stop.
    /// </summary>
    public static Activity[] StoppedActivities(string sourceName, int count)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == sourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource(sourceName, "1.2.3");
        var activities = new Activity[count];
        for (var i = 0; i < count; i++)
        {
            var parent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
            var linked = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
            var link = new ActivityLink(linked, new ActivityTagsCollection { ["link.reason"] = "retry-of" });
            var activity = source.StartActivity("GET /api/orders/{id}", ActivityKind.Server, parent, links: [link])
                ?? throw new InvalidOperationException("The benchmark's listener did not sample the activity.");
            activity.SetTag("http.request.method", "GET");
            activity.SetTag("url.path", $"/api/orders/{100000 + i}");
            activity.SetTag("url.scheme", "https");
            activity.SetTag("server.address", "orders.internal.example.com");
            activity.SetTag("server.port", 8443L);
            activity.SetTag("http.response.status_code", 500L);
            activity.SetTag("http.server.request.duration", 0.0123 + (i * 0.0001));
            activity.SetTag("user_agent.synthetic", false);
            activity.SetTag("app.feature_flags", new[] { "new-checkout", "fast-path", "eu-region" });
            activity.SetTag("app.order.id", $"ord-{i:D8}");
            activity.AddEvent(new ActivityEvent("cache.miss", tags: new ActivityTagsCollection { ["cache.key"] = $"order:{i}", ["cache.shard"] = 3L }));
            activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
            {
                ["exception.type"] = "System.TimeoutException",
                ["exception.message"] = "The database did not answer within 2 s.",
            }));
            activity.SetStatus(ActivityStatusCode.Error, "upstream timeout");
            activity.Stop();
            activities[i] = activity;
        }

        return activities;
    }

    /// <summary>
    /// Writes <paramref name="count"/> log entries to <paramref name="logger"/>: a message template with 3
    /// structured arguments (string, long, double), and, when <paramref name="exceptionEvery"/> is above 0, an
    /// exception with a stack trace on every entry whose index is a multiple of it.
    /// </summary>
    public static void WriteLogEntries(ILogger logger, int count, int exceptionEvery)
    {
        var failure = CaughtException();
        for (var i = 0; i < count; i++)
        {
            WriteLogEntry(logger, i, exceptionEvery > 0 && i % exceptionEvery == 0 ? failure : null);
        }
    }

    /// <summary>One entry of <see cref="WriteLogEntries"/>.</summary>
    public static void WriteLogEntry(ILogger logger, int i, Exception? exception)
    {
#pragma warning disable CA1848, CA2254 // the plain extension methods are what most applications call
        logger.Log(
            exception is null ? LogLevel.Information : LogLevel.Error,
            new EventId(1001, "OrderProcessed"),
            exception,
            "Processed order {OrderId} for {Customer} in {ElapsedMs} ms",
            $"ord-{i:D8}",
            "customer-42",
            12.5 + i);
#pragma warning restore CA1848, CA2254
    }

    /// <summary>An exception that was thrown, so it has a stack trace.</summary>
    public static Exception CaughtException()
    {
        try
        {
            throw new InvalidOperationException("The payment provider refused the charge.");
        }
        catch (InvalidOperationException e)
        {
            return e;
        }
    }
}

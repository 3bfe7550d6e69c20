using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Otlp.Examples;

/// <summary>The telemetry the quickstart sends: a small trace of an order, its metrics and the log records around it.</summary>
internal static class Workload
{
    /// <summary>The activity source of the quickstart's spans; the tracer listens to <c>Quickstart.*</c>.</summary>
    public static readonly ActivitySource Orders = new("Quickstart.Orders", "1.0.0");

    /// <summary>The meter of the quickstart's metrics; the metrics listener listens to <c>Quickstart.*</c>.</summary>
    public static readonly Meter Meter = new("Quickstart.Orders", "1.0.0");

    private static readonly Counter<long> OrdersPlaced = Meter.CreateCounter<long>("orders.placed", "{order}", "Orders placed.");

    private static readonly Histogram<double> OrderDuration = Meter.CreateHistogram<double>("orders.duration", "ms", "Time to process an order.");

    /// <summary>The metric data points <see cref="EmitMetrics"/> produces: one series of each instrument.</summary>
    public const int MetricPoints = 3;

    static Workload() =>
        Meter.CreateObservableGauge("stock.level", () => new Measurement<int>(2, new KeyValuePair<string, object?>("sku", "sku-7")), "{item}", "Items in stock.");

    /// <summary>
    /// Records through .NET's own metrics API: a counter, a histogram, and (observed at collection) a gauge. Called
    /// inside the order's span, the counter and histogram keep measurements of it as exemplars (its trace and span ids).
    /// </summary>
    public static void EmitMetrics()
    {
        var region = new KeyValuePair<string, object?>("region", "north");
        OrdersPlaced.Add(1, region);
        OrdersPlaced.Add(2, region);
        foreach (var milliseconds in new[] { 12.5, 48.0, 230.0 })
        {
            OrderDuration.Record(milliseconds, region);
        }
    }

    /// <summary>
    /// Runs an order through .NET's own tracing API: a server span, two children and a grandchild; the order's
    /// metrics are recorded in the server span (<see cref="EmitMetrics"/>).
    /// </summary>
    public static void EmitSpans()
    {
        using var root = Orders.StartActivity("POST /orders", ActivityKind.Server);
        root?.SetTag("http.request.method", "POST");
        EmitMetrics();
        using (var reserve = Orders.StartActivity("reserve stock"))
        {
            reserve?.SetTag("items", 3);
            using (var query = Orders.StartActivity("SELECT stock", ActivityKind.Client))
            {
                query?.SetTag("db.system", "postgresql");
                query?.SetTag("db.rows", 3);
            }

            reserve?.AddEvent(new ActivityEvent("stock reserved", tags: new ActivityTagsCollection { ["warehouse"] = "north" }));
        }

        using (var charge = Orders.StartActivity("charge card", ActivityKind.Client))
        {
            charge?.SetTag("payment.amount", 42.5);
            charge?.SetTag("payment.retry", false);
            charge?.SetStatus(ActivityStatusCode.Error, "card declined once");
        }

        root?.SetTag("http.response.status_code", 201);
        root?.SetStatus(ActivityStatusCode.Ok);
    }

    /// <summary>Logs three entries through <see cref="ILogger"/>: structured values, a warning, an error with an exception.</summary>
    public static void EmitLogRecords(ILogger logger)
    {
        using var order = Orders.StartActivity("process order");
        logger.LogInformation(new EventId(1, "OrderReceived"), "Order {OrderId} received with {Count} items", 1042, 3);
        using (logger.BeginScope(new Dictionary<string, object> { ["Warehouse"] = "north" }))
        {
            logger.LogWarning("Stock low for {Sku}: {Left} left", "sku-7", 2);
        }

        try
        {
            throw new InvalidOperationException("card declined");
        }
        catch (InvalidOperationException error)
        {
            logger.LogError(error, "Payment for order {OrderId} failed", 1042);
        }
    }
}

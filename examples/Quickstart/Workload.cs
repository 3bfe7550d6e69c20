using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Otlp.Examples;

/// <summary>The telemetry the quickstart sends: a small trace of an order and the log records around it.</summary>
internal static class Workload
{
    /// <summary>The activity source of the quickstart's spans; the tracer listens to <c>Quickstart.*</c>.</summary>
    public static readonly ActivitySource Orders = new("Quickstart.Orders", "1.0.0");

    /// <summary>Runs an order through .NET's own tracing API: a server span, two children and a grandchild.</summary>
    public static void EmitSpans()
    {
        using var root = Orders.StartActivity("POST /orders", ActivityKind.Server);
        root?.SetTag("http.request.method", "POST");
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

using System.Diagnostics;
using Otlp.Core;

namespace Otlp.Examples;

/// <summary>The telemetry the quickstart sends: a small trace of an order and the log records around it.</summary>
internal static class Workload
{
    private static readonly InstrumentationScope Scope = new("Quickstart", "1.0.0", [], 0u);

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

    /// <summary>Offers three log records, one with an exception; returns how many.</summary>
    public static int EmitLogRecords(OtlpLogExporter exporter)
    {
        var now = NowNanos();
        LogRecord Record(SeverityNumber severity, string text, string body, params KeyValue[] attributes) =>
            new(now, now, severity, text, AnyValue.NewString(body), attributes, 0u, 0u, TraceId.Empty, SpanId.Empty, string.Empty);
        var error = new InvalidOperationException("card declined");
        LogRecord[] records =
        [
            Record(SeverityNumber.Info, "Information", "Order 1042 received with 3 items", Attr("{OriginalFormat}", "Order {OrderId} received with {Count} items"), Attr("OrderId", 1042L), Attr("Count", 3L)),
            Record(SeverityNumber.Warn, "Warning", "Stock low for sku-7", Attr("Sku", "sku-7")),
            Record(SeverityNumber.Error, "Error", "Payment failed", Attr("exception.type", error.GetType().Name), Attr("exception.message", error.Message), Attr("exception.stacktrace", error.ToString())),
        ];
        return records.Count(record => exporter.Offer(record, Scope));
    }

    private static KeyValue Attr(string key, string value) => new(key, AnyValue.NewString(value));

    private static KeyValue Attr(string key, long value) => new(key, AnyValue.NewInt(value));

    private static ulong NowNanos() => (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100UL;
}

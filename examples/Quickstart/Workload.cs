using Otlp.Core;

namespace Otlp.Examples;

/// <summary>The telemetry the quickstart sends: a small trace of an order and the log records around it.</summary>
internal static class Workload
{
    private static readonly InstrumentationScope Scope = new("Quickstart", "1.0.0", [], 0u);

    /// <summary>Offers four spans of one trace (a server span, two children, a grandchild); returns how many.</summary>
    public static int EmitSpans(OtlpTraceExporter exporter)
    {
        var trace = TraceId.FromBytes(Guid.NewGuid().ToByteArray());
        var start = NowNanos();
        ulong At(int ms) => start + ((ulong)ms * 1_000_000UL);
        var root = NewSpanId();
        var reserve = NewSpanId();
        var charge = NewSpanId();
        var query = NewSpanId();
        Span[] spans =
        [
            Make(trace, query, reserve, "SELECT stock", SpanKind.Client, At(2), At(8), [Attr("db.system", "postgresql"), Attr("db.rows", 3L)], [], Status.Empty),
            Make(trace, reserve, root, "reserve stock", SpanKind.Internal, At(1), At(10), [Attr("items", 3L)], [Event(At(9), "stock reserved", Attr("warehouse", "north"))], Status.Empty),
            Make(trace, charge, root, "charge card", SpanKind.Client, At(11), At(30), [Attr("payment.amount", 42.5), Attr("payment.retry", false)], [], new Status("card declined once", StatusCode.Error)),
            Make(trace, root, SpanId.Empty, "POST /orders", SpanKind.Server, At(0), At(31), [Attr("http.request.method", "POST"), Attr("http.response.status_code", 201L)], [], new Status(string.Empty, StatusCode.Ok)),
        ];
        return spans.Count(span => exporter.Offer(span, Scope));
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

    private static Span Make(TraceId trace, SpanId id, SpanId parent, string name, SpanKind kind, ulong start, ulong end, KeyValue[] attributes, SpanEvent[] events, Status status) =>
        new(trace, id, string.Empty, parent, 1u, name, kind, start, end, attributes, 0u, events, 0u, [], 0u, status);

    private static SpanEvent Event(ulong time, string name, params KeyValue[] attributes) => new(time, name, attributes, 0u);

    private static KeyValue Attr(string key, string value) => new(key, AnyValue.NewString(value));

    private static KeyValue Attr(string key, long value) => new(key, AnyValue.NewInt(value));

    private static KeyValue Attr(string key, double value) => new(key, AnyValue.NewDouble(value));

    private static KeyValue Attr(string key, bool value) => new(key, AnyValue.NewBool(value));

    private static SpanId NewSpanId() => new((ulong)Random.Shared.NextInt64(1, long.MaxValue));

    private static ulong NowNanos() => (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100UL;
}

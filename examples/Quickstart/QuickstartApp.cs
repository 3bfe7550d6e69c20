using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Otlp.Core;
using Otlp.Metrics;
using Otlp.Runtime;
using Otlp.Testing;
using Otlp.Tracing;

namespace Otlp.Examples;

/// <summary>
/// Sends a few spans, metrics and log records over OTLP and prints what arrived. Without
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> it starts a loopback receiver on free ports and checks that everything sent
/// arrived; with it, it sends there and checks that every export succeeded. The protocol is
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (default <c>http/protobuf</c>).
/// </summary>
public static class QuickstartApp
{
    /// <summary>Runs the quickstart with the process's <c>OTEL_*</c> environment variables.</summary>
    public static Task<int> Main() => RunAsync(Console.Out, ReadEnvironment());

    /// <summary>
    /// Runs the quickstart with <paramref name="environment"/> as its environment variables, writing the report to
    /// <paramref name="output"/>. Returns 0 when everything sent arrived (own receiver) or every export succeeded
    /// (external endpoint), 1 otherwise.
    /// </summary>
    public static async Task<int> RunAsync(TextWriter output, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(environment);
        var external = environment.TryGetValue("OTEL_EXPORTER_OTLP_ENDPOINT", out var endpoint) && !string.IsNullOrWhiteSpace(endpoint);
        var protocol = environment.TryGetValue("OTEL_EXPORTER_OTLP_PROTOCOL", out var p) && !string.IsNullOrWhiteSpace(p) ? p.Trim() : "http/protobuf";
        var variables = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        if (!variables.ContainsKey("OTEL_SERVICE_NAME"))
        {
            variables["OTEL_SERVICE_NAME"] = "quickstart";
        }

        LoopbackReceiver? receiver = null;
        try
        {
            if (!external)
            {
                receiver = await LoopbackReceiver.StartAsync().ConfigureAwait(false);
                var own = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
                variables["OTEL_EXPORTER_OTLP_ENDPOINT"] = own.ToString();
                output.WriteLine($"Started a loopback OTLP receiver: gRPC {receiver.GrpcEndpoint}, HTTP {receiver.HttpEndpoint}");
            }

            var sent = await SendAsync(output, variables).ConfigureAwait(false);
            return receiver is null ? ReportExternal(output, sent) : await ReportReceivedAsync(output, receiver, sent).ConfigureAwait(false);
        }
        finally
        {
            if (receiver is not null)
            {
                await receiver.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>What was sent and how the exporters fared.</summary>
    private sealed record Sent(
        long Spans,
        int MetricPoints,
        int LogRecords,
        ExportStatistics TraceStatistics,
        ExportStatistics MetricStatistics,
        ExportStatistics LogStatistics,
        bool Flushed,
        IReadOnlyList<string> Problems);

    private static async Task<Sent> SendAsync(TextWriter output, IReadOnlyDictionary<string, string> environment)
    {
        await using var traces = OtlpExporter.ForTraces().WithEnvironment(environment).Build();
        await using var logs = OtlpExporter.ForLogs().WithEnvironment(environment).Build();
        await using var metricExporter = OtlpExporter.ForMetrics().WithEnvironment(environment).Build();
        output.WriteLine($"Traces go to  {traces.Destination}");
        output.WriteLine($"Metrics go to {metricExporter.Destination}");
        output.WriteLine($"Logs go to    {logs.Destination}");
        // Kept to say why, when something was not exported: a wrong port or a refusing server is the usual first run.
        var problems = new ProblemsSeen();
        traces.Statistics.Problem += problems.For("traces");
        metricExporter.Statistics.Problem += problems.For("metrics");
        logs.Statistics.Problem += problems.For("logs");
        foreach (var warning in traces.ConfigurationWarnings.Concat(metricExporter.ConfigurationWarnings).Concat(logs.ConfigurationWarnings))
        {
            output.WriteLine($"warning: {warning}");
        }

        // Shutting the metrics listener down collects and exports the metrics once more, the gauge observed then.
        bool metricsExported;
        long spans;
        await using (var metrics = OtlpMetrics.Start(metricExporter, "Quickstart.*"))
        {
            using (var tracer = OtlpTracer.Start(traces, "Quickstart.*"))
            {
                // The metrics are recorded inside the order's span: their exemplars point at it.
                Workload.EmitSpans();
                using (var factory = LoggerFactory.Create(builder => builder.AddOtlp(logs, options => options.IncludeScopes = true)))
                {
                    Workload.EmitLogRecords(factory.CreateLogger("Quickstart.Orders"));
                }

                spans = tracer.Offered;
            }

            metricsExported = await metrics.ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        const int records = 3;
        var flushed = await traces.ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false)
            & await logs.ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false)
            & metricsExported;
        return new Sent(spans, Workload.MetricPoints, records, traces.Statistics, metricExporter.Statistics, logs.Statistics, flushed, problems.Told());
    }

    /// <summary>
    /// The first problem each exporter met and how many followed (mostly the same one, attempt after attempt);
    /// problems are raised on the exporters' threads.
    /// </summary>
    private sealed class ProblemsSeen
    {
        private readonly List<(string First, int Count)> seen = [];
        private readonly List<string> signals = [];

        public Action<string> For(string signal) => problem =>
        {
            lock (this.seen)
            {
                var index = this.signals.IndexOf(signal);
                if (index < 0)
                {
                    this.signals.Add(signal);
                    this.seen.Add((problem, 1));
                }
                else
                {
                    this.seen[index] = (this.seen[index].First, this.seen[index].Count + 1);
                }
            }
        };

        public IReadOnlyList<string> Told()
        {
            lock (this.seen)
            {
                return this.seen.Select(p => p.Count == 1 ? p.First : $"{p.First} (and {p.Count - 1} more)").ToList();
            }
        }
    }

    private static void WriteProblems(TextWriter output, Sent sent)
    {
        if (sent.Problems.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("Problems the exporters met:");
        foreach (var problem in sent.Problems)
        {
            output.WriteLine($"  {problem}");
        }
    }

    private static int ReportExternal(TextWriter output, Sent sent)
    {
        output.WriteLine();
        WriteTable(
            output,
            ["signal", "sent", "exported", "dropped"],
            [
                ["spans", Text(sent.Spans), Text(sent.TraceStatistics.Exported), Text(sent.TraceStatistics.Dropped)],
                ["metric points", Text(sent.MetricPoints), Text(sent.MetricStatistics.Exported), Text(sent.MetricStatistics.Dropped)],
                ["log records", Text(sent.LogRecords), Text(sent.LogStatistics.Exported), Text(sent.LogStatistics.Dropped)],
            ]);
        var ok = sent.Flushed
            && sent.TraceStatistics.Exported == sent.Spans && sent.TraceStatistics.Dropped == 0
            && sent.MetricStatistics.Exported == sent.MetricPoints && sent.MetricStatistics.Dropped == 0
            && sent.LogStatistics.Exported == sent.LogRecords && sent.LogStatistics.Dropped == 0;
        if (!ok)
        {
            WriteProblems(output, sent);
        }

        output.WriteLine(ok ? "OK: every export succeeded." : "FAILED: some telemetry was not exported.");
        return ok ? 0 : 1;
    }

    private static async Task<int> ReportReceivedAsync(TextWriter output, LoopbackReceiver receiver, Sent sent)
    {
        // The exporters have shut down, so everything that will arrive has; waiting is only a safety margin.
        try
        {
            await receiver.WaitForSpansAsync((int)sent.Spans, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            await receiver.WaitForMetricDataPointsAsync(sent.MetricPoints, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            await receiver.WaitForLogRecordsAsync(sent.LogRecords, TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        var spans = receiver.Spans;
        var records = receiver.LogRecords;
        var metrics = receiver.Metrics;
        output.WriteLine();
        WriteTable(
            output,
            ["signal", "sent", "arrived", "requests", "transport"],
            [
                ["spans", Text(sent.Spans), Text(spans.Count), Text(Requests(receiver, Signal.Traces)), Transports(receiver)],
                ["metric points", Text(sent.MetricPoints), Text(receiver.MetricDataPointCount), Text(Requests(receiver, Signal.Metrics)), Transports(receiver)],
                ["log records", Text(sent.LogRecords), Text(records.Count), Text(Requests(receiver, Signal.Logs)), Transports(receiver)],
            ]);

        output.WriteLine();
        output.WriteLine("Spans:");
        WriteTable(
            output,
            ["name", "span", "kind", "parent", "status", "events", "attributes"],
            spans.Select(s => new[]
            {
                s.Name, s.SpanId.ToHex(), s.Kind.ToString(), s.ParentSpanId.IsEmpty ? "-" : s.ParentSpanId.ToHex(), s.Status.Code.ToString(),
                string.Join(", ", s.Events.Select(e => e.Name)), Attributes(s.Attributes),
            }).ToList());

        output.WriteLine();
        output.WriteLine("Metrics:");
        WriteTable(
            output,
            ["name", "unit", "type", "points", "exemplars (span)"],
            metrics.Select(m => new[] { m.Name, m.Unit, DataType(m.Data), DataPoints(m.Data), Exemplars(m.Data) }).ToList());

        output.WriteLine();
        output.WriteLine("Log records:");
        WriteTable(
            output,
            ["severity", "span", "body", "attributes"],
            records.Select(r => new[] { r.SeverityText, r.SpanId.IsEmpty ? "-" : r.SpanId.ToHex(), Display(r.Body), Attributes(r.Attributes) }).ToList());

        var ok = spans.Count == sent.Spans && receiver.MetricDataPointCount == sent.MetricPoints && records.Count == sent.LogRecords && sent.Flushed;
        if (!ok)
        {
            WriteProblems(output, sent);
        }

        output.WriteLine();
        output.WriteLine(ok ? "OK: everything sent arrived." : "FAILED: not everything sent arrived.");
        return ok ? 0 : 1;
    }

    private static string DataType(MetricData data) => data switch
    {
        MetricData.Sum s => s.Item.IsMonotonic ? "monotonic sum" : "sum",
        MetricData.Gauge => "gauge",
        MetricData.Histogram => "histogram",
        MetricData.ExponentialHistogram => "exponential histogram",
        _ => "other",
    };

    private static string DataPoints(MetricData data) => data switch
    {
        MetricData.Sum s => string.Join("; ", s.Item.DataPoints.Select(p => $"{Number(p.Value)} {Attributes(p.Attributes)}")),
        MetricData.Gauge g => string.Join("; ", g.Item.Select(p => $"{Number(p.Value)} {Attributes(p.Attributes)}")),
        MetricData.Histogram h => string.Join("; ", h.Item.DataPoints.Select(p => $"count={Text((long)p.Count)} sum={(p.Sum.IsSome ? p.Sum.Value.ToString(CultureInfo.InvariantCulture) : "-")} {Attributes(p.Attributes)}")),
        _ => "",
    };

    /// <summary>The exemplars of a metric's points: each value with the span it was measured in.</summary>
    private static string Exemplars(MetricData data)
    {
        var exemplars = data switch
        {
            MetricData.Sum s => s.Item.DataPoints.SelectMany(p => p.Exemplars),
            MetricData.Gauge g => g.Item.SelectMany(p => p.Exemplars),
            MetricData.Histogram h => h.Item.DataPoints.SelectMany(p => p.Exemplars),
            MetricData.ExponentialHistogram e => e.Item.DataPoints.SelectMany(p => p.Exemplars),
            _ => [],
        };
        var shown = exemplars.Select(e => $"{Number(e.Value)} ({(e.SpanId.IsEmpty ? "-" : e.SpanId.ToHex())})").ToList();
        return shown.Count == 0 ? "-" : string.Join("; ", shown);
    }

    private static string Number(NumberValue value) =>
        value.IsAsInt ? Text(value.intValue)
        : value.IsAsDouble ? value.doubleValue.ToString(CultureInfo.InvariantCulture)
        : "-";

    private static int Requests(LoopbackReceiver receiver, Signal signal) =>
        receiver.Requests.Count(r => r.Signal.Equals(signal) && r.Accepted);

    private static string Transports(LoopbackReceiver receiver) =>
        string.Join(", ", receiver.Requests.Select(r => r.Transport.ToString()).Distinct());

    private static string Attributes(IEnumerable<KeyValue> attributes) =>
        string.Join(", ", attributes.Select(a => $"{a.Key}={Display(a.Value)}"));

    private static string Display(AnyValue value) => value switch
    {
        AnyValue.String s => Shorten(s.Item),
        AnyValue.Bool b => b.Item ? "true" : "false",
        AnyValue.Int i => Text(i.Item),
        AnyValue.Double d => d.Item.ToString(CultureInfo.InvariantCulture),
        AnyValue.Array a => "[" + string.Join(", ", a.Item.Select(Display)) + "]",
        AnyValue.KvList kv => "{" + Attributes(kv.Item) + "}",
        AnyValue.Bytes b => $"<{b.Item.Length} bytes>",
        _ => "",
    };

    private static string Shorten(string text)
    {
        var line = text.Split('\n')[0].TrimEnd('\r');
        return line.Length > 60 ? line[..57] + "..." : line;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void WriteTable(TextWriter output, string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
        output.WriteLine(Line(header));
        output.WriteLine(Line(widths.Select(w => new string('-', w)).ToArray()));
        foreach (var row in rows)
        {
            output.WriteLine(Line(row));
        }
    }

    private static Dictionary<string, string> ReadEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("OTEL_", StringComparison.Ordinal) && entry.Value is string value)
            {
                result[key] = value;
            }
        }

        return result;
    }
}

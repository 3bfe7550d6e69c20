using System.Buffers;
using Microsoft.FSharp.Core;
using Otlp.Core;

namespace Otlp;

/// <summary>An OTLP exporter of spans. Create it with <see cref="OtlpExporter.ForTraces"/>.</summary>
public sealed class OtlpTraceExporter : OtlpSignalExporter<ExportTraceServiceRequest, Span>
{
    internal OtlpTraceExporter(OtlpExporterOptions options)
        : base(options, Signal.Traces)
    {
    }

    private protected override void Encode(ExportTraceServiceRequest request, bool json, IBufferWriter<byte> output)
    {
        if (json)
        {
            OtlpJson.WriteTraceRequest(request, output);
        }
        else
        {
            ProtoEncoder.WriteTraceRequest(request, output);
        }
    }

    private protected override (IReadOnlyList<ExportTraceServiceRequest> Parts, int TooLarge) Split(ExportTraceServiceRequest request, Func<ExportTraceServiceRequest, bool> fits)
    {
        var (parts, tooLarge) = Otlp.Core.Split.traceRequest(FuncConvert.FromFunc(fits), request);
        return (parts.ToList(), tooLarge);
    }

    private protected override bool TryEncodeDirect(ScopedItem<Span>[] items, IBufferWriter<byte> output)
    {
        // OtlpTracer offers an Activity only with an ActivitySpans conversion.
        if (!Export.DirectRequest.AllConvertedBy<Span, Tracing.ActivitySpans>(items))
        {
            return false;
        }

        Tracing.ActivityEncoder.WriteRequest(output, this.Resource, items, LimitsOf);
        return true;
    }

    private static readonly Func<ScopedItem<Span>, SpanLimits> LimitsOf = static item => ((Tracing.ActivitySpans)item.Convert!.Target!).Limits;

    private protected override int CountItems(ExportTraceServiceRequest request) =>
        request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Length));

    private protected override ExportTraceServiceRequest Group(Resource resource, IReadOnlyList<(InstrumentationScope Scope, string SchemaUrl, Span[] Items)> groups) =>
        new([new ResourceSpans(resource, groups.Select(g => new ScopeSpans(g.Scope, g.Items, g.SchemaUrl)).ToArray(), string.Empty)]);
}

/// <summary>An OTLP exporter of log records. Create it with <see cref="OtlpExporter.ForLogs"/>.</summary>
public sealed class OtlpLogExporter : OtlpSignalExporter<ExportLogsServiceRequest, LogRecord>
{
    internal OtlpLogExporter(OtlpExporterOptions options)
        : base(options, Signal.Logs)
    {
    }

    private protected override void Encode(ExportLogsServiceRequest request, bool json, IBufferWriter<byte> output)
    {
        if (json)
        {
            OtlpJson.WriteLogsRequest(request, output);
        }
        else
        {
            ProtoEncoder.WriteLogsRequest(request, output);
        }
    }

    private protected override (IReadOnlyList<ExportLogsServiceRequest> Parts, int TooLarge) Split(ExportLogsServiceRequest request, Func<ExportLogsServiceRequest, bool> fits)
    {
        var (parts, tooLarge) = Otlp.Core.Split.logsRequest(FuncConvert.FromFunc(fits), request);
        return (parts.ToList(), tooLarge);
    }

    private protected override bool TryEncodeDirect(ScopedItem<LogRecord>[] items, IBufferWriter<byte> output)
    {
        // OtlpLoggerProvider offers a LogEntry only with a LogEntries conversion.
        if (!Export.DirectRequest.AllConvertedBy<LogRecord, Logging.LogEntries>(items))
        {
            return false;
        }

        Logging.LogEncoder.WriteRequest(output, this.Resource, items, LimitsOf);
        return true;
    }

    private static readonly Func<ScopedItem<LogRecord>, LogRecordLimits> LimitsOf = static item => ((Logging.LogEntries)item.Convert!.Target!).Limits;

    private protected override int CountItems(ExportLogsServiceRequest request) =>
        request.ResourceLogs.Sum(r => r.ScopeLogs.Sum(s => s.LogRecords.Length));

    private protected override ExportLogsServiceRequest Group(Resource resource, IReadOnlyList<(InstrumentationScope Scope, string SchemaUrl, LogRecord[] Items)> groups) =>
        new([new ResourceLogs(resource, groups.Select(g => new ScopeLogs(g.Scope, g.Items, g.SchemaUrl)).ToArray(), string.Empty)]);
}

/// <summary>
/// An OTLP exporter of metrics. Create it with <see cref="OtlpExporter.ForMetrics"/>. Metrics are exported as
/// whole requests (<see cref="OtlpSignalExporter{TRequest, TItem}.ExportAsync"/>); batching applies to spans and
/// log records only.
/// </summary>
public sealed class OtlpMetricExporter : OtlpSignalExporter<ExportMetricsServiceRequest, Metric>
{
    internal OtlpMetricExporter(OtlpExporterOptions options)
        : base(options, Signal.Metrics)
    {
    }

    private protected override void Encode(ExportMetricsServiceRequest request, bool json, IBufferWriter<byte> output)
    {
        if (json)
        {
            OtlpJson.WriteMetricsRequest(request, output);
        }
        else
        {
            ProtoEncoder.WriteMetricsRequest(request, output);
        }
    }

    private protected override (IReadOnlyList<ExportMetricsServiceRequest> Parts, int TooLarge) Split(ExportMetricsServiceRequest request, Func<ExportMetricsServiceRequest, bool> fits)
    {
        var (parts, tooLarge) = Otlp.Core.Split.metricsRequest(FuncConvert.FromFunc(fits), request);
        return (parts.ToList(), tooLarge);
    }

    /// <summary>
    /// Sends the request <paramref name="write"/> encodes straight from the series of a collection (<paramref name="points"/>
    /// data points); false, having sent nothing, when it must take the model path (JSON, or too large for one request).
    /// </summary>
    internal bool TryExportDirect(Action<IBufferWriter<byte>> write, int points, CancellationToken cancellationToken, out ValueTask<OtlpExportResult> sending) =>
        this.TrySendEncoded(write, points, cancellationToken, out sending);

    private protected override int CountItems(ExportMetricsServiceRequest request) =>
        request.ResourceMetrics.Sum(r => r.ScopeMetrics.Sum(s => s.Metrics.Sum(CountPoints)));

    private protected override ExportMetricsServiceRequest Group(Resource resource, IReadOnlyList<(InstrumentationScope Scope, string SchemaUrl, Metric[] Items)> groups) =>
        new([new ResourceMetrics(resource, groups.Select(g => new ScopeMetrics(g.Scope, g.Items, g.SchemaUrl)).ToArray(), string.Empty)]);

    private static int CountPoints(Metric metric) => metric.Data switch
    {
        MetricData.Gauge g => g.Item.Length,
        MetricData.Sum s => s.Item.DataPoints.Length,
        MetricData.Histogram h => h.Item.DataPoints.Length,
        MetricData.ExponentialHistogram e => e.Item.DataPoints.Length,
        MetricData.Summary s => s.Item.Length,
        _ => 0,
    };
}

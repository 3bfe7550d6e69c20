using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using Otlp.Benchmarks.Fixtures;
using Otlp.Core;
using OfficialLogRecord = OpenTelemetry.Logs.LogRecord;

namespace Otlp.Benchmarks;

/// <summary>
/// Encode: one batch of 512 spans, one of 512 log records, and one of 512 log records of which every fourth
/// carries an exception, exported through each exporter's real export call, with the network replaced by
/// <see cref="DiscardingHandler"/> (HTTP/protobuf, no compression). One operation is one batch: mapping, limits,
/// grouping, encoding, and the HTTP call that discards the body. The log categories also run the official exporter
/// with its switch that sends event ids, which Otlp sends by default, and Otlp without them: the same content either
/// way, for the wire size and the cost of equal content.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EncodeBenchmarks
{
    private readonly DiscardingHandler officialHandler = new();
    private readonly DiscardingHandler ourHandler = new();
    private Activity[] activities = [];
    private OfficialLogRecord[] officialLogRecords = [];
    private OtlpTraceExporter? ourTraceExporter;
    private OtlpLogExporter? ourLogExporter;
    private OpenTelemetry.Exporter.OtlpTraceExporter? officialTraceExporter;
    private OpenTelemetry.Exporter.OtlpLogExporter? officialLogExporter;
    private OpenTelemetry.Exporter.OtlpLogExporter? officialLogExporterWithEventIds;
    private IDisposable? officialTracerProvider;
    private IDisposable? officialLoggerProvider;
    private IDisposable? officialLoggerProviderWithEventIds;
    private ScopedItem<Span>[] ourSpanItems = [];
    private ScopedItem<LogRecord>[] ourLogItems = [];
    private ScopedItem<LogRecord>[] ourLogItemsWithoutEventIds = [];
    private OfficialLogRecord[] officialFailureLogRecords = [];
    private ScopedItem<LogRecord>[] ourFailureLogItems = [];

    [GlobalSetup]
    public void Setup()
    {
        Ours.ExportFromThisThread();
        this.activities = Workload.StoppedActivities("Orders.Api", Workload.BatchSize);
        var officialOptions = Official.Options(OtlpExportProtocol.HttpProtobuf, new Uri("http://localhost:4318/v1/traces"), this.officialHandler);
        (this.officialTraceExporter, var tracerProvider) = Official.TraceExporter(officialOptions);
        this.officialTracerProvider = tracerProvider;
        this.ourTraceExporter = Ours.TraceExporter(this.ourHandler);
        this.ourSpanItems = Ours.SpanItems(this.ourTraceExporter, this.activities);

        var officialLogOptions = Official.Options(OtlpExportProtocol.HttpProtobuf, new Uri("http://localhost:4318/v1/logs"), this.officialHandler);
        (this.officialLogExporter, var loggerProvider) = Official.LogExporter(officialLogOptions);
        this.officialLoggerProvider = loggerProvider;
        (this.officialLogExporterWithEventIds, var loggerProviderWithEventIds) = Official.LogExporter(officialLogOptions, withEventIds: true);
        this.officialLoggerProviderWithEventIds = loggerProviderWithEventIds;
        this.ourLogExporter = Ours.LogExporter(this.ourHandler);
        this.officialLogRecords = Official.CaptureLogRecords(logger => Workload.WriteLogEntries(logger, Workload.BatchSize, exceptionEvery: 0));
        this.ourLogItems = Ours.LogItems(this.ourLogExporter, logger => Workload.WriteLogEntries(logger, Workload.BatchSize, exceptionEvery: 0));
        this.ourLogItemsWithoutEventIds = Ours.LogItems(
            this.ourLogExporter, logger => Workload.WriteLogEntries(logger, Workload.BatchSize, exceptionEvery: 0), includeEventIds: false);
        this.officialFailureLogRecords = Official.CaptureLogRecords(logger => Workload.WriteLogEntries(logger, Workload.BatchSize, exceptionEvery: 4));
        this.ourFailureLogItems = Ours.LogItems(this.ourLogExporter, logger => Workload.WriteLogEntries(logger, Workload.BatchSize, exceptionEvery: 4));
        foreach (var captured in new[]
        {
            this.officialLogRecords.Length, this.ourLogItems.Length, this.ourLogItemsWithoutEventIds.Length, this.officialFailureLogRecords.Length,
            this.ourFailureLogItems.Length,
        })
        {
            if (captured != Workload.BatchSize)
            {
                throw new InvalidOperationException($"Captured {captured} log records instead of {Workload.BatchSize}.");
            }
        }

        // Each exporter exports each batch once: it must succeed, and its body size is the wire size.
        this.RecordWireBytes(nameof(this.Official_Spans), this.officialHandler, () => this.Official_Spans() == ExportResult.Success);
        this.RecordWireBytes(nameof(this.Otlp_Spans), this.ourHandler, () => this.Otlp_Spans().IsSucceeded);
        this.RecordWireBytes(nameof(this.Official_Logs), this.officialHandler, () => this.Official_Logs() == ExportResult.Success);
        this.RecordWireBytes(nameof(this.Otlp_Logs), this.ourHandler, () => this.Otlp_Logs().IsSucceeded);
        this.RecordWireBytes(nameof(this.Otlp_LogsWithoutEventIds), this.ourHandler, () => this.Otlp_LogsWithoutEventIds().IsSucceeded);
        this.RecordWireBytes(nameof(this.Official_LogsWithEventIds), this.officialHandler, () => this.Official_LogsWithEventIds() == ExportResult.Success);
        this.RecordWireBytes(nameof(this.Official_LogsWithExceptions), this.officialHandler, () => this.Official_LogsWithExceptions() == ExportResult.Success);
        this.RecordWireBytes(nameof(this.Otlp_LogsWithExceptions), this.ourHandler, () => this.Otlp_LogsWithExceptions().IsSucceeded);
        this.RecordWireBytes(
            nameof(this.Official_LogsWithExceptionsAndEventIds), this.officialHandler, () => this.Official_LogsWithExceptionsAndEventIds() == ExportResult.Success);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        this.officialTracerProvider?.Dispose();
        this.officialLoggerProvider?.Dispose();
        this.officialLoggerProviderWithEventIds?.Dispose();
        this.ourTraceExporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.ourLogExporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.officialHandler.Dispose();
        this.ourHandler.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Official: 512 spans")]
    [BenchmarkCategory("Spans")]
    public ExportResult Official_Spans() =>
        this.officialTraceExporter!.Export(new Batch<Activity>(this.activities, this.activities.Length));

    [Benchmark(Description = "Otlp: 512 spans")]
    [BenchmarkCategory("Spans")]
    public Batching.ExportOutcome Otlp_Spans() =>
        this.ourTraceExporter!.ExportBatchAsync(this.ourSpanItems, mayBlock: false).GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "Official: 512 log records")]
    [BenchmarkCategory("Logs")]
    public ExportResult Official_Logs() =>
        this.officialLogExporter!.Export(new Batch<OfficialLogRecord>(this.officialLogRecords, this.officialLogRecords.Length));

    /// <summary>
    /// The official exporter sending the same content as ours: the event id too (its experimental switch). Not the
    /// baseline, which is the official exporter as it comes; here for the wire size of equal content.
    /// </summary>
    [Benchmark(Description = "Official, event ids on: 512 log records")]
    [BenchmarkCategory("Logs")]
    public ExportResult Official_LogsWithEventIds() =>
        this.officialLogExporterWithEventIds!.Export(new Batch<OfficialLogRecord>(this.officialLogRecords, this.officialLogRecords.Length));

    [Benchmark(Description = "Otlp: 512 log records")]
    [BenchmarkCategory("Logs")]
    public Batching.ExportOutcome Otlp_Logs() =>
        this.ourLogExporter!.ExportBatchAsync(this.ourLogItems, mayBlock: false).GetAwaiter().GetResult();

    /// <summary>
    /// This exporter sending the same content as the official one by default: without event ids
    /// (<c>OtlpLoggerOptions.IncludeEventId = false</c>). Not the comparison of the targets, which is each exporter
    /// as it comes; here for the cost of equal content.
    /// </summary>
    [Benchmark(Description = "Otlp, event ids off: 512 log records")]
    [BenchmarkCategory("Logs")]
    public Batching.ExportOutcome Otlp_LogsWithoutEventIds() =>
        this.ourLogExporter!.ExportBatchAsync(this.ourLogItemsWithoutEventIds, mayBlock: false).GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "Official: 512 log records, 1 in 4 with exception")]
    [BenchmarkCategory("LogsWithExceptions")]
    public ExportResult Official_LogsWithExceptions() =>
        this.officialLogExporter!.Export(new Batch<OfficialLogRecord>(this.officialFailureLogRecords, this.officialFailureLogRecords.Length));

    /// <summary>The same content as ours, as <see cref="Official_LogsWithEventIds"/>.</summary>
    [Benchmark(Description = "Official, event ids on: 512 log records, 1 in 4 with exception")]
    [BenchmarkCategory("LogsWithExceptions")]
    public ExportResult Official_LogsWithExceptionsAndEventIds() =>
        this.officialLogExporterWithEventIds!.Export(new Batch<OfficialLogRecord>(this.officialFailureLogRecords, this.officialFailureLogRecords.Length));

    [Benchmark(Description = "Otlp: 512 log records, 1 in 4 with exception")]
    [BenchmarkCategory("LogsWithExceptions")]
    public Batching.ExportOutcome Otlp_LogsWithExceptions() =>
        this.ourLogExporter!.ExportBatchAsync(this.ourFailureLogItems, mayBlock: false).GetAwaiter().GetResult();

    private void RecordWireBytes(string method, DiscardingHandler handler, Func<bool> export)
    {
        handler.Reset();
        if (!export() || handler.Requests != 1)
        {
            throw new InvalidOperationException($"{method}: the export failed or sent {handler.Requests} requests instead of 1.");
        }

        Report.Record(Report.Key(method), Report.WireBytesPerItem, (double)handler.Bytes / Workload.BatchSize);
    }
}

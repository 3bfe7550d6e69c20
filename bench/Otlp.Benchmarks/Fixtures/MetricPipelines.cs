using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using Otlp.Core;
using Otlp.Metrics;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// Each library's whole metrics pipeline, attached to a meter of its own: cumulative temporality, HTTP/protobuf to
/// a <see cref="DiscardingHandler"/> each, the periodic export pushed an hour away so that only the benchmark's
/// flushes export. Each meter has a counter and an explicit-bucket histogram with 50 attribute sets made once.
/// </summary>
public sealed class MetricPipelines : IDisposable
{
    /// <summary>Attribute sets per instrument: two instruments make 100 series.</summary>
    public const int SeriesPerInstrument = 50;

    private readonly Meter officialMeter = new("Bench.Metrics.Official", "1.0.0");
    private readonly Meter ourMeter = new("Bench.Metrics.Otlp", "1.0.0");
    private readonly MeterProvider officialProvider;
    private readonly OtlpMetricExporter ourExporter;
    private readonly OtlpMetrics ourMetrics;

    public MetricPipelines()
    {
        this.Official = new MetricInstruments(this.officialMeter);
        this.Ours = new MetricInstruments(this.ourMeter);
        this.officialProvider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(this.officialMeter.Name)
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                exporter.Endpoint = new Uri("http://localhost:4318/v1/metrics");
                exporter.HttpClientFactory = this.OfficialHandler.CreateClient;
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)TimeSpan.FromHours(1).TotalMilliseconds;
            })
            .Build();
        this.ourExporter = global::Otlp.OtlpExporter.ForMetrics().WithHttp().WithHttpClientFactory(this.OurHandler.CreateClient).WithBaseEndpoint("http://localhost:4318").Build();
        var options = new OtlpMetricsOptions { ExportInterval = TimeSpan.FromHours(1), TemporalityPreference = TemporalityPreference.Cumulative };
        options.Meters.Add(this.ourMeter.Name);
        this.ourMetrics = OtlpMetrics.Start(this.ourExporter, options);
    }

    /// <summary>Where the official pipeline sends.</summary>
    public DiscardingHandler OfficialHandler { get; } = new();

    /// <summary>Where this library's pipeline sends.</summary>
    public DiscardingHandler OurHandler { get; } = new();

    /// <summary>The instruments the official pipeline listens to.</summary>
    public MetricInstruments Official { get; }

    /// <summary>The instruments this library's pipeline listens to.</summary>
    public MetricInstruments Ours { get; }

    /// <summary>The official pipeline collects and exports now; true when it succeeded.</summary>
    public bool FlushOfficial() => this.officialProvider.ForceFlush();

    /// <summary>This library's pipeline collects and exports now; true when it succeeded.</summary>
    public bool FlushOurs() => this.ourMetrics.ForceFlushAsync().GetAwaiter().GetResult();

    public void Dispose()
    {
        this.officialProvider.Dispose();
        this.ourMetrics.Dispose();
        this.ourExporter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        this.officialMeter.Dispose();
        this.ourMeter.Dispose();
        this.OfficialHandler.Dispose();
        this.OurHandler.Dispose();
    }
}

/// <summary>
/// A counter and a histogram of one meter, and the tags of their 50 series made once, so that a measurement
/// costs the same for both libraries: no boxing or string building in the measured loop.
/// </summary>
public sealed class MetricInstruments
{
    private static readonly string[] Regions = ["eu-west", "eu-north", "us-east", "us-west", "ap-south"];

    private readonly Counter<long> counter;
    private readonly Histogram<double> histogram;
    private readonly KeyValuePair<string, object?>[][] tags;

    public MetricInstruments(Meter meter)
    {
        this.counter = meter.CreateCounter<long>("orders.placed", "{order}", "Orders placed.");
        this.histogram = meter.CreateHistogram<double>("http.server.request.duration", "ms", "Request duration.");
        this.tags = Enumerable.Range(0, MetricPipelines.SeriesPerInstrument)
            .Select(i => new KeyValuePair<string, object?>[] { new("cloud.region", Regions[i % Regions.Length]), new("http.route", $"/api/orders/{i / Regions.Length}") })
            .ToArray();
    }

    /// <summary>Adds 1 to the counter's series <paramref name="i"/> modulo 50.</summary>
    public void Add(int i) => this.counter.Add(1, this.tags[i % MetricPipelines.SeriesPerInstrument]);

    /// <summary>Records a value in the histogram's series <paramref name="i"/> modulo 50.</summary>
    public void Observe(int i) => this.histogram.Record((i % 997) * 1.5, this.tags[i % MetricPipelines.SeriesPerInstrument]);
}

// Each method holds one sample of the documentation, as written there (with its inputs as parameters).
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Otlp;
using Otlp.Core;
using Otlp.Testing;
using System.Net;
using System.Net.Http.Headers;
using FsCheck;
using FsCheck.Fluent;

namespace Otlp.Samples;

public static class ReadmeSamples
{
    public static async Task Quickstart(Span span)
    {
        // Settings not given here come from OTEL_EXPORTER_OTLP_* and the specification's defaults.
        await using var exporter = OtlpExporter.ForTraces()
            .WithHttp()
            .WithBaseEndpoint("http://localhost:4318")   // "v1/traces" is appended
            .WithServiceName("checkout")
            .Build();

        var scope = InstrumentationScope.Create("Checkout.Api", "1.0.0");
        exporter.Offer(span, scope);   // a Span of the model; never blocks; a full queue drops and counts
        await exporter.ShutdownAsync(TimeSpan.FromSeconds(5));
        Console.WriteLine($"exported {exporter.Statistics.Exported}, dropped {exporter.Statistics.Dropped}");
    }
}

public static class ExporterDocSamples
{
    public static async Task Building(string apiKey)
    {
        // gRPC to a collector; headers are sent with every request and never logged.
        await using var traces = OtlpExporter.ForTraces()
            .WithGrpc()
            .WithBaseEndpoint("http://collector:4317")
            .WithHeader("api-key", apiKey)
            .WithCompression(OtlpCompression.Gzip)
            .Build();

        // HTTP/protobuf: the base endpoint gets "v1/logs" appended...
        await using var logs = OtlpExporter.ForLogs()
            .WithHttp()
            .WithBaseEndpoint("http://collector:4318")
            .Build();

        // ...while a signal endpoint is used exactly as given.
        await using var metrics = OtlpExporter.ForMetrics()
            .WithHttp(json: true)
            .WithSignalEndpoint("https://ingest.example.com/otlp/v1/metrics")
            .Build();

        // Everything from the environment (OTEL_EXPORTER_OTLP_PROTOCOL, _ENDPOINT, _HEADERS, ...).
        await using var fromEnvironment = OtlpExporter.ForTraces().Build();
    }

    public static async Task TransportSettingsLast(string apiKey, Grpc.Net.Client.GrpcChannel channel, HttpClient client)
    {
        // A channel or client of the application's own, after the shared settings.
        await using var overChannel = OtlpExporter.ForTraces()
            .WithGrpc()
            .WithHeader("api-key", apiKey)
            .WithChannel(channel)
            .Build();

        await using var overClient = OtlpExporter.ForLogs()
            .WithHttp()
            .WithTimeout(TimeSpan.FromSeconds(5))
            .WithHttpClient(client)
            .Build();
    }

    public static async Task HeaderProvider(Func<CancellationToken, ValueTask<string>> getAccessToken)
    {
        // getAccessToken: the application's credential source, which caches its token and renews it before it expires.
        await using var traces = OtlpExporter.ForTraces()
            .WithHttp()
            .WithBaseEndpoint("https://ingest.example.com")
            .WithHeader("x-tenant", "prod")
            .WithHeaderProvider(async cancellationToken =>
            {
                var token = await getAccessToken(cancellationToken);
                return [new KeyValuePair<string, string>("Authorization", "Bearer " + token)];
            })
            .Build();
    }

    public static async Task Sending(OtlpTraceExporter traces, ExportTraceServiceRequest request, Span span, InstrumentationScope scope)
    {
        // Direct: one request, retried on retryable failures within the exporter timeout (default 10 s).
        OtlpExportResult result = await traces.ExportAsync(request);
        // result.Status: Success, PartialSuccess (result.Rejected, result.Message) or Failure.

        // Batched: Offer never blocks (it throws only for a null argument); a full queue drops the item and counts it.
        traces.Offer(span, scope);
        await traces.ForceFlushAsync(TimeSpan.FromSeconds(5));
        await traces.ShutdownAsync(TimeSpan.FromSeconds(5)); // flushes, then refuses (and counts) new items
        _ = result;
    }

    public static void DependencyInjection(IServiceCollection services, string apiKey)
    {
        services.AddOtlpExporters(options =>
        {
            options.BaseEndpoint = "http://collector:4318";
            options.Headers["api-key"] = apiKey;
        });
    }
}

public static class MetricsDocSamples
{
    public static async Task Recording()
    {
        await using var exporter = OtlpExporter.ForMetrics().Build();          // OTEL_EXPORTER_OTLP_* as usual
        var options = new Otlp.Metrics.OtlpMetricsOptions();
        options.Meters.Add("MyCompany.*");                                      // wildcards * and ?, without case
        options.Views.Add(new Otlp.Metrics.OtlpView("http.server.request.duration") { ExplicitBucketBoundaries = [0.01, 0.1, 1, 10] });
        options.Views.Add(new Otlp.Metrics.OtlpView("noisy.*") { Drop = true });
        await using var metrics = Otlp.Metrics.OtlpMetrics.Start(exporter, options);        // or OtlpMetrics.Start(exporter, "MyCompany.*")

        await metrics.ForceFlushAsync();   // collect and export now; disposing exports a last time
    }

    public static void WithAHost(IServiceCollection services) =>
        services.AddOtlp(o =>
        {
            o.Sources.Add("MyCompany.*");
            o.Meters.Add("MyCompany.*");
        });

    public static void Exemplars(Otlp.Metrics.OtlpMetricsOptions options)
    {
        options.ExemplarFilter = Otlp.Core.ExemplarFilter.AlwaysOn;                              // default TraceBased; AlwaysOff for none
        options.Views.Add(new Otlp.Metrics.OtlpView("cache.lookups") { ExemplarReservoirSize = 0 });  // this metric keeps none
        options.Views.Add(new Otlp.Metrics.OtlpView("checkout.duration") { ExemplarReservoirFactory = () => new SlowestKept() });
    }

    /// <summary>Keeps the slowest measurement of each collection interval (the docs' own-reservoir sample).</summary>
    public sealed class SlowestKept : Otlp.Metrics.OtlpExemplarReservoir
    {
        private readonly Lock gate = new();
        private double slowest = double.NegativeInfinity;
        private Otlp.Core.Exemplar? kept;

        /// <inheritdoc />
        public override void Offer(in Otlp.Metrics.OtlpExemplarMeasurement measurement)
        {
            lock (this.gate)
            {
                if (measurement.DoubleValue > this.slowest)
                {
                    this.slowest = measurement.DoubleValue;
                    this.kept = measurement.ToExemplar();   // its value, time, span ids and dropped attributes
                }
            }
        }

        /// <inheritdoc />
        public override IReadOnlyList<Otlp.Core.Exemplar>? Collect()
        {
            lock (this.gate)
            {
                var taken = this.kept;
                (this.kept, this.slowest) = (null, double.NegativeInfinity);   // each interval afresh
                return taken is null ? null : [taken];
            }
        }
    }
}

public static class UsageDocSamples
{
    public static void WithAHost(IHostApplicationBuilder builder)
    {
        builder.Services.AddOtlp(o =>
        {
            o.Sources.Add("MyCompany.*");
            o.Meters.Add("MyCompany.*");
        });
    }

    public static void LogsAlone(IHostApplicationBuilder builder)
    {
        builder.Logging.AddOtlp(o => o.IncludeScopes = true);
    }

    public static async Task WithoutAContainer(ActivitySource MySource)
    {
        await using var otlp = OtlpPipeline.Create(o => { o.Sources.Add("MyCompany.*"); o.Meters.Add("MyCompany.*"); });
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(otlp.LoggerProvider));

        using (var activity = MySource.StartActivity("work"))
        {
            loggerFactory.CreateLogger("Work").LogInformation("Processed {Count} items", 3);
        }

        await otlp.ForceFlushAsync();   // collects the metrics too; disposing flushes as well
    }

    public static async Task PipelineExporterSettings()
    {
        await using var otlp = OtlpPipeline.Create(o =>
        {
            o.Sources.Add("MyCompany.*");
            o.ConfigureExporters = e =>
            {
                e.Protocol = OtlpProtocol.Grpc;
                e.BaseEndpoint = "http://collector:4317";
            };
        });
    }

    public static async Task PieceByPiece()
    {
        await using var spans = OtlpExporter.ForTraces().WithGrpc().WithBaseEndpoint("http://collector:4317").Build();
        await using var logs = OtlpExporter.ForLogs().WithGrpc().WithBaseEndpoint("http://collector:4317").Build();
        await using var metricExporter = OtlpExporter.ForMetrics().WithGrpc().WithBaseEndpoint("http://collector:4317").Build();
        using var tracer = Otlp.Tracing.OtlpTracer.Start(spans, "MyCompany.*");
        await using var metrics = Otlp.Metrics.OtlpMetrics.Start(metricExporter, "MyCompany.*");
        using var loggerFactory = LoggerFactory.Create(b => b.AddOtlp(logs));
    }

    public static void TracerAndLoggerOptions(OtlpTraceExporter spans, OtlpLogExporter logs)
    {
        var tracing = new Otlp.Tracing.OtlpTracerOptions { Sampler = new SamplerConfig(SamplerKind.ParentBasedTraceIdRatio, 0.25) };
        tracing.Sources.Add("MyCompany.*");
        using var tracer = Otlp.Tracing.OtlpTracer.Start(spans, tracing);

        using var loggerFactory = LoggerFactory.Create(b =>
            b.AddProvider(new Otlp.Logging.OtlpLoggerProvider(logs, new Otlp.Logging.OtlpLoggerOptions { IncludeScopes = true })));
    }
}

public static class ApiDocSamples
{
    // The samples in the XML docs of the public types.
    public static async Task Exporter(string secret)
    {
        await using var exporter = OtlpExporter.ForTraces()
            .WithGrpc()
            .WithBaseEndpoint("http://collector:4317")
            .WithHeader("api-key", secret)
            .Build();
    }

    public static async Task Pipeline()
    {
        await using var otlp = OtlpPipeline.Create(o => { o.Sources.Add("MyCompany.*"); o.Meters.Add("MyCompany.*"); });
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(otlp.LoggerProvider));
    }

    public static async Task Tracer()
    {
        await using var exporter = OtlpExporter.ForTraces().Build();
        using var tracer = Otlp.Tracing.OtlpTracer.Start(exporter, "MyCompany.*");
    }

    public static async Task Metrics()
    {
        await using var exporter = OtlpExporter.ForMetrics().Build();
        await using var metrics = Otlp.Metrics.OtlpMetrics.Start(exporter, "MyCompany.*");
    }
}

public static class ReceiverDocSamples
{
    // The sample's assertions are a test framework's; this stand-in only needs to compile.
    private static class Assert
    {
        public static void Equal<T>(T expected, T actual) { }
    }

    public static async Task CSharp()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        receiver.Enqueue(Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds(1)));

        // Configure the code under test with receiver.HttpEndpoint (or receiver.GrpcEndpoint), then run it.

        var spans = await receiver.WaitForSpansAsync(3, TimeSpan.FromSeconds(10));
        Assert.Equal("checkout", spans[0].Name);
        Assert.Equal(2, receiver.Requests.Count);                                  // one 503, one retry
        Assert.Equal("Bearer token", receiver.Requests[0].Header("Authorization"));
    }
}

public static class ConformanceDocSamples
{
    public static void ReceiverLaw()
    {
        var client = new HttpClient();
        Prop.ForAll(
                Arb.From(Generators.LogsRequest),
                request =>
                {
                    using var content = new ByteArrayContent(ProtoEncoder.LogsRequestToBytes(request));
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
                    using var response = client.PostAsync("http://localhost:4318/v1/logs", content).Result;
                    return response.StatusCode == HttpStatusCode.OK;
                })
            .QuickCheckThrowOnFailure();
    }
}

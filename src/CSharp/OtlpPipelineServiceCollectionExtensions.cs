using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otlp;
using Otlp.Logging;
using Otlp.Metrics;
using Otlp.Tracing;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Sets up traces, metrics and logs to OTLP in an <see cref="IServiceCollection"/> in one call.</summary>
public static class OtlpPipelineServiceCollectionExtensions
{
    /// <summary>
    /// Exports the activities of <see cref="OtlpPipelineOptions.Sources"/> as spans, the instruments of
    /// <see cref="OtlpPipelineOptions.Meters"/> as metrics and the log entries of <c>ILogger</c> as log records:
    /// registers the exporters (<see cref="OtlpServiceCollectionExtensions.AddOtlpExporters"/>, configured from the
    /// <c>Otlp</c> section and the <c>OTEL_*</c> keys of <see cref="IConfiguration"/>), an <see cref="OtlpTracer"/>, an
    /// <see cref="OtlpMetrics"/>, the OTLP logger provider, and a hosted service that starts the tracer and the
    /// metrics listener with the host and flushes everything when the host stops. Sources and meters can also be
    /// listed in configuration (<c>Otlp:Sources:0</c>, <c>Otlp:Meters:0</c>, ...). <c>OTEL_SDK_DISABLED=true</c> turns
    /// it all off.
    /// <see cref="OtlpPipelineOptions.Environment"/> and <see cref="OtlpPipelineOptions.ConfigureExporters"/> are
    /// not used here: configure the exporters through configuration or <c>AddOtlpExporters(configure)</c>.
    /// </summary>
    public static IServiceCollection AddOtlp(this IServiceCollection services, Action<OtlpPipelineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOtlpExporters();
        var options = services.AddOptions<OtlpPipelineOptions>()
            .Configure<IServiceProvider>((o, provider) =>
            {
                if (provider.GetService<IConfiguration>() is { } configuration)
                {
                    foreach (var source in configuration.GetSection("Otlp:Sources").GetChildren())
                    {
                        if (!string.IsNullOrWhiteSpace(source.Value))
                        {
                            o.Sources.Add(source.Value);
                        }
                    }

                    foreach (var meter in configuration.GetSection("Otlp:Meters").GetChildren())
                    {
                        if (!string.IsNullOrWhiteSpace(meter.Value))
                        {
                            o.Meters.Add(meter.Value);
                        }
                    }
                }
            });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(provider =>
        {
            var pipeline = provider.GetRequiredService<IOptions<OtlpPipelineOptions>>().Value;
            var tracer = new OtlpTracerOptions { Sampler = pipeline.Sampler };
            foreach (var source in pipeline.Sources)
            {
                tracer.Sources.Add(source);
            }

            return OtlpTracer.Start(provider.GetRequiredService<OtlpTraceExporter>(), tracer);
        });
        services.TryAddSingleton(provider =>
        {
            var pipeline = provider.GetRequiredService<IOptions<OtlpPipelineOptions>>().Value;
            var exporterOptions = provider.GetRequiredService<IOptions<OtlpExporterOptions>>().Value;
            var metrics = new OtlpMetricsOptions { TimeProvider = exporterOptions.TimeProvider };
            if (pipeline.Metrics)
            {
                foreach (var meter in pipeline.Meters)
                {
                    metrics.Meters.Add(meter);
                }
            }

            foreach (var view in pipeline.Views)
            {
                metrics.Views.Add(view);
            }

            pipeline.ConfigureMetrics?.Invoke(metrics);
            return OtlpMetrics.Start(provider.GetRequiredService<OtlpMetricExporter>(), metrics);
        });
        services.AddOptions<OtlpLoggerOptions>()
            .Configure<IOptions<OtlpPipelineOptions>>((logger, pipeline) =>
            {
                // Only what the pipeline's options set: the logger's own (builder.Logging.AddOtlp(configure)) stand otherwise.
                logger.IncludeScopes = pipeline.Value.IncludeScopesGiven ?? logger.IncludeScopes;
                logger.IncludeEventId = pipeline.Value.IncludeEventIdGiven ?? logger.IncludeEventId;
                logger.Enabled &= pipeline.Value.Logs;
            });
        services.AddLogging(builder => builder.AddOtlp());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OtlpHostedService>());
        return services;
    }

    /// <summary>
    /// Starts the tracer and the metrics listener with the host; when it stops, flushes the exporters and exports the
    /// metrics a last time (the container disposes them later).
    /// </summary>
    private sealed class OtlpHostedService(IServiceProvider provider) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            provider.GetRequiredService<OtlpTracer>();
            provider.GetRequiredService<OtlpMetrics>();
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            var traces = provider.GetRequiredService<OtlpTraceExporter>().ForceFlushAsync(null, cancellationToken);
            var metrics = provider.GetRequiredService<OtlpMetrics>().ForceFlushAsync(null, cancellationToken);
            var logs = provider.GetRequiredService<OtlpLogExporter>().ForceFlushAsync(null, cancellationToken);
            try
            {
                await Task.WhenAll(traces, metrics, logs).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The host's shutdown timeout: stop waiting, as a hosted service should, rather than fail the host's
                // stop. The flushes go on, and the container's disposal of the exporters bounds them.
            }
        }
    }
}

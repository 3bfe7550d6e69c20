using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Otlp;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers OTLP exporters in an <see cref="IServiceCollection"/>.</summary>
public static class OtlpServiceCollectionExtensions
{
    /// <summary>The name of the <c>IHttpClientFactory</c> client the HTTP exporters use.</summary>
    public const string HttpClientName = "Otlp";

    /// <summary>
    /// Registers <see cref="OtlpTraceExporter"/>, <see cref="OtlpMetricExporter"/> and <see cref="OtlpLogExporter"/>
    /// as singletons. Their settings come from, in order: <paramref name="configure"/>, the <c>Otlp</c> section of
    /// <see cref="IConfiguration"/> (the properties of <see cref="OtlpExporterOptions"/> by name, written as the
    /// <c>OTEL_*</c> variables write them: <c>Protocol: http/protobuf</c>, <c>Timeout: 5000</c> in milliseconds or
    /// <c>00:00:05</c>; a value that cannot be read is skipped with a configuration warning), the <c>OTEL_*</c> keys of
    /// <see cref="IConfiguration"/> (which include environment variables in the default hosts), the defaults.
    /// HTTP exporters get their <see cref="HttpClient"/> from <c>IHttpClientFactory</c> (client name
    /// <see cref="HttpClientName"/>), so handlers can be added there; an exporter whose configuration names TLS
    /// files uses a client of its own that applies them instead (with a configuration warning). The container disposes the exporters,
    /// which flushes what they have queued. <see cref="OtlpExporterOptions.SignalEndpoint"/> is ignored here (with a
    /// configuration warning), since
    /// one URL cannot serve three signals: set <see cref="OtlpExporterOptions.BaseEndpoint"/>, or the per-signal
    /// <c>OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT</c> keys.
    /// </summary>
    public static IServiceCollection AddOtlpExporters(this IServiceCollection services, Action<OtlpExporterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (configure is not null)
        {
            services.PostConfigure(configure);
        }

        // Everything below once, however often this is called (AddOtlp and Logging.AddOtlp call it too): the section
        // applied twice would report each of its problems twice.
        if (services.Any(d => d.ServiceType == typeof(ExportersAdded)))
        {
            return services;
        }

        services.AddSingleton<ExportersAdded>();
        services.AddOptions<OtlpExporterOptions>()
            .Configure<IServiceProvider>((options, provider) =>
            {
                if (provider.GetService<IConfiguration>() is { } configuration)
                {
                    options.SectionWarnings.AddRange(Otlp.Export.OptionsSection.Apply(configuration.GetSection("Otlp"), options));
                    options.Environment ??= OtelKeys(configuration);
                }

                if (options.HttpClientFactory is null)
                {
                    options.HttpClientFactory = () => provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
                    options.ContainerHttpClientFactory = options.HttpClientFactory;
                }
            });

        // Redirects are not followed (docs/exporters.md): a redirected POST would carry the data and the configured
        // headers (API keys) to another place, or become a GET that delivers nothing. The primary handler stays the
        // application's (proxy, certificates), with redirects turned off. The factory's trace-level request logs
        // never show a header's value: the exporter's headers are its credentials, whatever the application's
        // defaults for every client (ConfigureHttpClientDefaults) say of other headers.
        services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(static (handler, _) => TurnOffRedirects(handler))
            .RedactLoggedHeaders(static _ => true);
        services.TryAddSingleton(p => OtlpExporter.ForTraces().Configure(o => Copy(p, o)).Build());
        services.TryAddSingleton(p => OtlpExporter.ForMetrics().Configure(o => Copy(p, o)).Build());
        services.TryAddSingleton(p => OtlpExporter.ForLogs().Configure(o => Copy(p, o)).Build());
        return services;
    }

    private static void TurnOffRedirects(HttpMessageHandler handler)
    {
        switch (handler)
        {
            case SocketsHttpHandler sockets:
                sockets.AllowAutoRedirect = false;
                break;
            case HttpClientHandler client:
                client.AllowAutoRedirect = false;
                break;
        }
    }

    /// <summary>Marks a collection whose exporters were added, so that adding them again adds nothing.</summary>
    private sealed class ExportersAdded;

    /// <summary>The <c>OTEL_*</c> keys of the configuration, merged over the process environment.</summary>
    private static Dictionary<string, string> OtelKeys(IConfiguration configuration)
    {
        var keys = new Dictionary<string, string>(Otlp.Export.ExporterSetup.ReadProcessEnvironment(), StringComparer.Ordinal);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is not null && key.StartsWith("OTEL_", StringComparison.Ordinal))
            {
                keys[key] = value;
            }
        }

        return keys;
    }

    private static void Copy(IServiceProvider provider, OtlpExporterOptions target)
    {
        var source = provider.GetRequiredService<IOptions<OtlpExporterOptions>>().Value;
        target.Protocol = source.Protocol;
        target.BaseEndpoint = source.BaseEndpoint;
        foreach (var (name, value) in source.Headers)
        {
            target.Headers[name] = value;
        }

        target.HeaderProvider = source.HeaderProvider;
        target.Timeout = source.Timeout;
        target.Compression = source.Compression;
        target.Insecure = source.Insecure;
        target.CertificateFile = source.CertificateFile;
        target.ClientCertificateFile = source.ClientCertificateFile;
        target.ClientKeyFile = source.ClientKeyFile;
        target.HttpClient = source.HttpClient;
        target.HttpClientFactory = source.HttpClientFactory;
        target.ContainerHttpClientFactory = source.ContainerHttpClientFactory;
        target.GrpcChannel = source.GrpcChannel;
        target.ServiceName = source.ServiceName;
        foreach (var (key, value) in source.ResourceAttributes)
        {
            target.ResourceAttributes[key] = value;
        }

        target.ScheduledDelay = source.ScheduledDelay;
        target.BatchExportTimeout = source.BatchExportTimeout;
        target.MaxQueueSize = source.MaxQueueSize;
        target.MaxExportBatchSize = source.MaxExportBatchSize;
        target.MaxConcurrentExports = source.MaxConcurrentExports;
        target.EncodeAhead = source.EncodeAhead;
        target.MaxRequestBytes = source.MaxRequestBytes;
        target.Environment = source.Environment;
        target.TimeProvider = source.TimeProvider;
        target.Logger = source.Logger;
        target.SectionWarnings.AddRange(source.SectionWarnings);
        if (!string.IsNullOrWhiteSpace(source.SignalEndpoint))
        {
            target.SectionWarnings.Add(
                "SignalEndpoint is ignored by AddOtlpExporters, as one URL cannot serve three signals; set BaseEndpoint, "
                + "or OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT.");
        }
    }
}

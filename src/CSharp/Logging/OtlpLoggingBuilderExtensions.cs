using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Otlp;
using Otlp.Logging;

namespace Microsoft.Extensions.Logging;

/// <summary>Adds the OTLP logger provider to an <see cref="ILoggingBuilder"/>.</summary>
public static class OtlpLoggingBuilderExtensions
{
    /// <summary>
    /// Sends log entries as OTLP log records through the <see cref="OtlpLogExporter"/> of the container
    /// (registered by <see cref="OtlpServiceCollectionExtensions.AddOtlpExporters"/> if absent, configured from
    /// the <c>Otlp</c> section and the <c>OTEL_*</c> keys).
    /// </summary>
    public static ILoggingBuilder AddOtlp(this ILoggingBuilder builder, Action<OtlpLoggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOtlpExporters();
        var options = builder.Services.AddOptions<OtlpLoggerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, OtlpLoggerProvider>(
            provider => new OtlpLoggerProvider(
                () => provider.GetRequiredService<OtlpLogExporter>(), provider.GetRequiredService<IOptions<OtlpLoggerOptions>>().Value)));
        return builder;
    }

    /// <summary>Sends log entries as OTLP log records through <paramref name="exporter"/> (which the caller disposes).</summary>
    public static ILoggingBuilder AddOtlp(this ILoggingBuilder builder, OtlpLogExporter exporter, Action<OtlpLoggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(exporter);
        var options = new OtlpLoggerOptions();
        configure?.Invoke(options);
        builder.AddProvider(new OtlpLoggerProvider(exporter, options));
        return builder;
    }
}

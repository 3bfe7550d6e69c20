using System.Collections;
using Microsoft.FSharp.Core;
using Otlp.Core;

namespace Otlp.Export;

/// <summary>
/// Turns <see cref="OtlpExporterOptions"/> and the environment into the core's validated configuration. All
/// rules (precedence, defaults, endpoint paths, fallbacks) are the core's; this only translates types.
/// </summary>
internal static class ExporterSetup
{
    /// <summary>Resolves the configuration of <paramref name="signal"/>; never throws for bad values.</summary>
    public static Resolved<Config> Resolve(OtlpExporterOptions options, Signal signal)
    {
        ArgumentNullException.ThrowIfNull(options);
        var environment = options.Environment ?? ReadProcessEnvironment();
        return ConfigModule.Resolve(environment, ToOverrides(options), signal);
    }

    /// <summary>
    /// Warnings about option values the core never sees: an enum value that no member names (an integer cast to
    /// it), which counts as unset, so the environment's setting or the default is used instead.
    /// </summary>
    public static IEnumerable<string> UndefinedValues(OtlpExporterOptions options)
    {
        if (options.Protocol is { } protocol && !Enum.IsDefined(protocol))
        {
            yield return $"Protocol ({(int)protocol}) is not a value of OtlpProtocol; using the environment's protocol or the default.";
        }

        if (options.Compression is { } compression && !Enum.IsDefined(compression))
        {
            yield return $"Compression ({(int)compression}) is not a value of OtlpCompression; using the environment's compression or none.";
        }
    }

    /// <summary>The process's environment variables whose names start with <c>OTEL_</c>.</summary>
    public static IReadOnlyDictionary<string, string> ReadProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("OTEL_", StringComparison.Ordinal) && entry.Value is string value)
            {
                result[key] = value;
            }
        }

        return result;
    }

    private static ConfigOverrides ToOverrides(OtlpExporterOptions o) =>
        new(
            protocol: Opt(o.Protocol switch
            {
                OtlpProtocol.Grpc => Protocol.Grpc,
                OtlpProtocol.HttpJson => Protocol.HttpJson,
                OtlpProtocol.HttpProtobuf => Protocol.HttpProtobuf,
                _ => null,
            }),
            baseEndpoint: Opt(o.BaseEndpoint),
            signalEndpoint: Opt(o.SignalEndpoint),
            headers: o.Headers.Count == 0
                ? FSharpOption<Header[]>.None
                : FSharpOption<Header[]>.Some(o.Headers.Select(h => new Header(h.Key, h.Value)).ToArray()),
            timeout: Opt(o.Timeout),
            compression: Opt(o.Compression switch
            {
                OtlpCompression.None => Compression.None,
                OtlpCompression.Gzip => Compression.Gzip,
                OtlpCompression.Zstd => Compression.Zstd,
                _ => null,
            }),
            insecure: Opt(o.Insecure),
            certificateFile: Opt(o.CertificateFile),
            clientKeyFile: Opt(o.ClientKeyFile),
            clientCertificateFile: Opt(o.ClientCertificateFile),
            disabled: FSharpOption<bool>.None,
            serviceName: Opt(o.ServiceName),
            resourceAttributes: o.ResourceAttributes.Count == 0
                ? FSharpOption<KeyValue[]>.None
                : FSharpOption<KeyValue[]>.Some(o.ResourceAttributes.Select(a => new KeyValue(a.Key, Tracing.TagValues.ToAnyValue(a.Value))).ToArray()),
            sampler: FSharpOption<SamplerConfig>.None,
            batchScheduleDelay: Opt(o.ScheduledDelay),
            batchExportTimeout: Opt(o.BatchExportTimeout),
            batchMaxQueueSize: Opt(o.MaxQueueSize),
            batchMaxExportBatchSize: Opt(o.MaxExportBatchSize),
            batchMaxConcurrentExports: Opt(o.MaxConcurrentExports),
            batchEncodeAhead: Opt(o.EncodeAhead),
            metricExportInterval: FSharpOption<TimeSpan>.None,
            metricExportTimeout: FSharpOption<TimeSpan>.None,
            temporalityPreference: FSharpOption<TemporalityPreference>.None,
            defaultHistogramAggregation: FSharpOption<HistogramAggregation>.None);

    private static FSharpOption<T> Opt<T>(T? value)
        where T : class =>
        value is null || (value is string s && s.Length == 0) ? FSharpOption<T>.None : FSharpOption<T>.Some(value);

    private static FSharpOption<T> Opt<T>(T? value)
        where T : struct =>
        value.HasValue ? FSharpOption<T>.Some(value.Value) : FSharpOption<T>.None;
}

using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Otlp.Export;

/// <summary>
/// Reads the <c>Otlp</c> section of <see cref="IConfiguration"/> into <see cref="OtlpExporterOptions"/> with the
/// spellings of the <c>OTEL_*</c> variables: protocols as <c>grpc</c>, <c>http/protobuf</c>, <c>http/json</c> (or
/// the enum's names), compressions as <c>none</c>, <c>gzip</c>, <c>zstd</c>, durations as whole milliseconds (or a
/// <see cref="TimeSpan"/> such as <c>00:00:05</c>). A value that cannot be read is skipped with a warning, as a bad
/// variable is: configuration never stops the host. The framework's binder threw on <c>http/protobuf</c> and read
/// <c>Timeout: 5000</c> as 5000 days.
/// </summary>
internal static class OptionsSection
{
    /// <summary>Applies the section's settings to <paramref name="options"/>; returns a warning for each value skipped.</summary>
    public static List<string> Apply(IConfigurationSection section, OtlpExporterOptions options)
    {
        var warnings = new List<string>();
        foreach (var child in section.GetChildren())
        {
            var key = child.Key;
            var value = child.Value;
            var path = child.Path;
            switch (key.ToUpperInvariant())
            {
                case "PROTOCOL":
                    Set<OtlpProtocol>(value, path, TryProtocol, v => options.Protocol = v, "one of grpc, http/protobuf, http/json", warnings);
                    break;
                case "COMPRESSION":
                    Set<OtlpCompression>(value, path, TryCompression, v => options.Compression = v, "one of none, gzip, zstd", warnings);
                    break;
                case "INSECURE":
                    Set<bool>(value, path, TryBool, v => options.Insecure = v, "true or false", warnings);
                    break;
                case "TIMEOUT":
                    Set<TimeSpan>(value, path, TryDuration, v => options.Timeout = v, DurationForm, warnings);
                    break;
                case "SCHEDULEDDELAY":
                    Set<TimeSpan>(value, path, TryDuration, v => options.ScheduledDelay = v, DurationForm, warnings);
                    break;
                case "BATCHEXPORTTIMEOUT":
                    Set<TimeSpan>(value, path, TryDuration, v => options.BatchExportTimeout = v, DurationForm, warnings);
                    break;
                case "MAXQUEUESIZE":
                    Set<int>(value, path, TryInt, v => options.MaxQueueSize = v, IntegerForm, warnings);
                    break;
                case "MAXEXPORTBATCHSIZE":
                    Set<int>(value, path, TryInt, v => options.MaxExportBatchSize = v, IntegerForm, warnings);
                    break;
                case "MAXCONCURRENTEXPORTS":
                    Set<int>(value, path, TryInt, v => options.MaxConcurrentExports = v, IntegerForm, warnings);
                    break;
                case "MAXREQUESTBYTES":
                    Set<int>(value, path, TryInt, v => options.MaxRequestBytes = v, IntegerForm, warnings);
                    break;
                case "BASEENDPOINT":
                    options.BaseEndpoint = value;
                    break;
                case "SIGNALENDPOINT":
                    options.SignalEndpoint = value;
                    break;
                case "CERTIFICATEFILE":
                    options.CertificateFile = value;
                    break;
                case "CLIENTCERTIFICATEFILE":
                    options.ClientCertificateFile = value;
                    break;
                case "CLIENTKEYFILE":
                    options.ClientKeyFile = value;
                    break;
                case "SERVICENAME":
                    options.ServiceName = value;
                    break;
                case "HEADERS":
                    foreach (var header in child.GetChildren())
                    {
                        if (header.Value is not null)
                        {
                            options.Headers[header.Key] = header.Value;
                        }
                    }

                    break;
                case "RESOURCEATTRIBUTES":
                    foreach (var attribute in child.GetChildren())
                    {
                        if (attribute.Value is not null)
                        {
                            options.ResourceAttributes[attribute.Key] = attribute.Value;
                        }
                    }

                    break;
            }
        }

        return warnings;
    }

    private const string DurationForm = "whole milliseconds (as the OTEL_* variables) or a time span such as 00:00:05";
    private const string IntegerForm = "an integer";

    private delegate bool TryRead<T>(string text, out T value);

    private static void Set<T>(string? text, string path, TryRead<T> read, Action<T> set, string expected, List<string> warnings)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return;
        }

        if (read(text.Trim(), out var value))
        {
            set(value);
        }
        else
        {
            warnings.Add($"{path}='{text}' is not {expected}; ignoring it.");
        }
    }

    private static bool TryProtocol(string text, out OtlpProtocol value)
    {
        (var known, value) = text.ToLowerInvariant() switch
        {
            "grpc" => (true, OtlpProtocol.Grpc),
            "http/protobuf" or "httpprotobuf" => (true, OtlpProtocol.HttpProtobuf),
            "http/json" or "httpjson" => (true, OtlpProtocol.HttpJson),
            _ => (false, default),
        };
        return known;
    }

    private static bool TryCompression(string text, out OtlpCompression value)
    {
        (var known, value) = text.ToLowerInvariant() switch
        {
            "none" => (true, OtlpCompression.None),
            "gzip" => (true, OtlpCompression.Gzip),
            "zstd" => (true, OtlpCompression.Zstd),
            _ => (false, default),
        };
        return known;
    }

    private static bool TryBool(string text, out bool value) => bool.TryParse(text, out value);

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    // Whole milliseconds first, as the variables write durations; the range is checked where the variables' are.
    private static bool TryDuration(string text, out TimeSpan value)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var milliseconds)
            && Math.Abs(milliseconds) <= (long)TimeSpan.MaxValue.TotalMilliseconds)
        {
            value = TimeSpan.FromMilliseconds(milliseconds);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }
}

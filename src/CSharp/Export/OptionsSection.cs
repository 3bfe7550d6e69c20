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
    private const string DurationForm = "whole milliseconds (as the OTEL_* variables) or a time span such as 00:00:05, not negative";
    private const string IntegerForm = "an integer";

    // How each property is read from its text: the name of the configuration key is the property's.
    private static readonly Dictionary<string, Action<OtlpExporterOptions, IConfigurationSection, List<string>>> Readers =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["Protocol"] = Parsed<OtlpProtocol>(TryProtocol, (o, v) => o.Protocol = v, "one of grpc, http/protobuf, http/json"),
            ["Compression"] = Parsed<OtlpCompression>(TryCompression, (o, v) => o.Compression = v, "one of none, gzip, zstd"),
            ["Insecure"] = Parsed<bool>(bool.TryParse, (o, v) => o.Insecure = v, "true or false"),
            ["Timeout"] = Parsed<TimeSpan>(TryDuration, (o, v) => o.Timeout = v, DurationForm),
            ["ScheduledDelay"] = Parsed<TimeSpan>(TryDuration, (o, v) => o.ScheduledDelay = v, DurationForm),
            ["BatchExportTimeout"] = Parsed<TimeSpan>(TryDuration, (o, v) => o.BatchExportTimeout = v, DurationForm),
            ["MaxQueueSize"] = Parsed<int>(TryInt, (o, v) => o.MaxQueueSize = v, IntegerForm),
            ["MaxExportBatchSize"] = Parsed<int>(TryInt, (o, v) => o.MaxExportBatchSize = v, IntegerForm),
            ["MaxConcurrentExports"] = Parsed<int>(TryInt, (o, v) => o.MaxConcurrentExports = v, IntegerForm),
            ["EncodeAhead"] = Parsed<bool>(bool.TryParse, (o, v) => o.EncodeAhead = v, "true or false"),
            ["MaxRequestBytes"] = Parsed<int>(TryInt, (o, v) => o.MaxRequestBytes = v, IntegerForm),
            ["BaseEndpoint"] = Text((o, v) => o.BaseEndpoint = v),
            ["SignalEndpoint"] = Text((o, v) => o.SignalEndpoint = v),
            ["CertificateFile"] = Text((o, v) => o.CertificateFile = v),
            ["ClientCertificateFile"] = Text((o, v) => o.ClientCertificateFile = v),
            ["ClientKeyFile"] = Text((o, v) => o.ClientKeyFile = v),
            ["ServiceName"] = Text((o, v) => o.ServiceName = v),
            ["Headers"] = (o, section, warnings) => Pairs(section, warnings, (name, value) => o.Headers[name] = value),
            ["ResourceAttributes"] = (o, section, warnings) => Pairs(section, warnings, (key, value) => o.ResourceAttributes[key] = value),
        };

    /// <summary>Applies the section's settings to <paramref name="options"/>; returns a warning for each value skipped.</summary>
    public static List<string> Apply(IConfigurationSection section, OtlpExporterOptions options)
    {
        var warnings = new List<string>();
        foreach (var child in section.GetChildren())
        {
            // Keys of no property (Sources, Meters: the pipeline's) are someone else's.
            if (Readers.TryGetValue(child.Key, out var read))
            {
                read(options, child, warnings);
            }
        }

        return warnings;
    }

    private delegate bool TryRead<T>(string text, out T value);

    private static Action<OtlpExporterOptions, IConfigurationSection, List<string>> Parsed<T>(
        TryRead<T> read, Action<OtlpExporterOptions, T> set, string expected) =>
        (options, section, warnings) =>
        {
            var text = section.Value;
            if (string.IsNullOrWhiteSpace(text))
            {
                return;
            }

            if (read(text.Trim(), out var value))
            {
                set(options, value);
            }
            else
            {
                warnings.Add($"{section.Path}='{text}' is not {expected}; ignoring it.");
            }
        };

    private static Action<OtlpExporterOptions, IConfigurationSection, List<string>> Text(Action<OtlpExporterOptions, string?> set) =>
        (options, section, _) => set(options, section.Value);

    private static void Pairs(IConfigurationSection section, List<string> warnings, Action<string, string> set)
    {
        // Written as the variables write it ("k1=v1,k2=v2") it is one value, which the binder would drop silently.
        // The value is not shown: for Headers it is the credentials.
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            warnings.Add($"{section.Path} is a single value, not a section of names and values ({section.Path}:name = value); ignoring it.");
        }

        foreach (var pair in section.GetChildren())
        {
            if (pair.Value is not null)
            {
                set(pair.Key, pair.Value);
            }
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

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    // Whole milliseconds first, as the variables write durations; the upper range is checked where the variables'
    // is. A negative duration is refused here, as a negative variable is: -1 would otherwise read as -1 ms, which is
    // Timeout.InfiniteTimeSpan (no limit) to the options.
    private static bool TryDuration(string text, out TimeSpan value)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var milliseconds))
        {
            var valid = milliseconds >= 0 && milliseconds <= (long)TimeSpan.MaxValue.TotalMilliseconds;
            value = valid ? TimeSpan.FromMilliseconds(milliseconds) : default;
            return valid;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}

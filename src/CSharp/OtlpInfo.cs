using System.Reflection;

namespace Otlp;

/// <summary>Facts about this build of Otlp.</summary>
public static class OtlpInfo
{
    /// <summary>The version of the Otlp assembly (major.minor.patch).</summary>
    public static string Version { get; } =
        typeof(OtlpInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// The <c>User-Agent</c> sent with every export, in the form the OTLP exporter specification gives
    /// (<c>OTel-OTLP-Exporter-{language}/{version}</c>), with a comment naming this library.
    /// </summary>
    public static string UserAgent { get; } = $"OTel-OTLP-Exporter-Dotnet/{Version} (Otlp)";
}

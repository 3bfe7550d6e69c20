namespace Otlp;

/// <summary>Facts about this build of Otlp.</summary>
public static class OtlpInfo
{
    /// <summary>The informational version of the Otlp assembly, as used in the User-Agent header.</summary>
    public static string Version { get; } =
        typeof(OtlpInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

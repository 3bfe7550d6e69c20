using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;

namespace Otlp.Diagnostics;

/// <summary>
/// Otlp's own metrics, on the <see cref="Meter"/> named <c>Otlp</c>: items exported, dropped (by reason) and
/// rejected by servers, retries, failed exports and export durations, each tagged with the signal; and the
/// measurements dropped and instruments ignored by <see cref="Otlp.Metrics.OtlpMetrics"/>. Any
/// <c>MeterListener</c> (dotnet-counters, an OpenTelemetry SDK, Otlp's own metrics pipeline) can read them.
/// </summary>
public static class OtlpSelfTelemetry
{
    /// <summary>The name of the meter and of the event source.</summary>
    public const string Name = "Otlp";

    /// <summary>The meter of Otlp's own metrics.</summary>
    public static Meter Meter { get; } = new(Name, OtlpInfo.Version);

    internal static readonly Counter<long> Exported =
        Meter.CreateCounter<long>("otlp.exporter.items.exported", "{item}", "Items the server accepted.");

    internal static readonly Counter<long> Dropped =
        Meter.CreateCounter<long>("otlp.exporter.items.dropped", "{item}", "Items dropped, by reason (rejected by the server included).");

    internal static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("otlp.exporter.retries", "{attempt}", "Export attempts after the first.");

    internal static readonly Counter<long> FailedExports =
        Meter.CreateCounter<long>("otlp.exporter.exports.failed", "{export}", "Export attempts that did not succeed.");

    internal static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("otlp.exporter.export.duration", "s", "Duration of one export attempt.");

    internal static readonly Counter<long> MeasurementsDropped =
        Meter.CreateCounter<long>("otlp.metrics.measurements.dropped", "{measurement}", "Measurements the metrics listener dropped, by reason.");

    internal static readonly Counter<long> InstrumentsIgnored =
        Meter.CreateCounter<long>("otlp.metrics.instruments.ignored", "{instrument}", "Instruments the metrics listener ignored (invalid name or unit, unknown type).");
}

/// <summary>
/// Otlp's event source (<c>Otlp</c>): failed exports, server warnings and configuration problems, for
/// <c>dotnet-trace</c> and <c>EventListener</c>s. Messages never contain header values.
/// </summary>
[EventSource(Name = OtlpSelfTelemetry.Name)]
internal sealed class OtlpEventSource : EventSource
{
    /// <summary>The one instance.</summary>
    public static readonly OtlpEventSource Log = new();

    private OtlpEventSource()
    {
    }

    /// <summary>An export failed or the server answered with a warning.</summary>
    [Event(1, Level = EventLevel.Warning, Message = "{0}: {1}")]
    public void ExportProblem(string signal, string problem) => this.WriteEvent(1, signal, problem);

    /// <summary>A configuration value was bad and another was used instead, or looks mistaken (a port meant for the other protocol).</summary>
    [Event(2, Level = EventLevel.Warning, Message = "{0}: {1}")]
    public void ConfigurationProblem(string signal, string problem) => this.WriteEvent(2, signal, problem);
}

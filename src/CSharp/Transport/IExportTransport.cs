namespace Otlp.Transport;

/// <summary>
/// Sends an already encoded export request of one signal to one endpoint and returns the raw outcome. Never
/// throws for network or server problems: those are results. Throws only for programmer errors.
/// </summary>
internal interface IExportTransport : IDisposable
{
    /// <summary>A description of the destination for diagnostics, for example <c>HTTP POST http://host:4318/v1/traces</c>.</summary>
    string Destination { get; }

    /// <summary>Sends <paramref name="payload"/> and waits for the answer or for <paramref name="cancellationToken"/>.</summary>
    Task<TransportResult> SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}

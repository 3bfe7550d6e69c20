namespace Otlp.Transport;

/// <summary>
/// Sends an already encoded export request of one signal to one endpoint and returns the raw outcome. Never
/// throws for network or server problems: those are results. Throws only for programmer errors.
/// </summary>
internal interface IExportTransport : IDisposable
{
    /// <summary>A description of the destination for diagnostics, for example <c>HTTP POST http://host:4318/v1/traces</c>.</summary>
    string Destination { get; }

    /// <summary>
    /// Sends <paramref name="payload"/> and waits for the answer or for <paramref name="cancellationToken"/>. A value task:
    /// a send that completes synchronously (an in-memory handler) allocates no task; await it once.
    /// </summary>
    /// <param name="payload">The encoded request, with the room its buffer may keep in front of it.</param>
    /// <param name="timeLeft">What is left of the attempt's time (<see cref="Timeout.InfiniteTimeSpan"/> for no limit),
    /// for a protocol that tells the server how long its client waits (gRPC's deadline); the token ends the send.</param>
    /// <param name="cancellationToken">Ends the send: the attempt's deadline, or shutdown.</param>
    ValueTask<TransportResult> SendAsync(OutgoingPayload payload, TimeSpan timeLeft, CancellationToken cancellationToken);

    /// <summary>
    /// Sends <paramref name="payload"/> on the calling thread, blocking it until the answer, a failure or
    /// <paramref name="cancellationToken"/>, when this transport can send that way; false, with nothing sent, when it
    /// cannot (the caller then uses <see cref="SendAsync"/>). Only for a thread that exists to export (the batch
    /// loop's): it spares each request the hand-offs of asynchronous I/O between threads.
    /// </summary>
    bool TrySendBlocking(OutgoingPayload payload, CancellationToken cancellationToken, out TransportResult result);

    /// <summary>Whether <see cref="TrySendBlocking"/> sends (rather than refusing at once).</summary>
    bool SendsBlocking { get; }
}

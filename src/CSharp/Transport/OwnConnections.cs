using System.Net.Sockets;
using Otlp.Diagnostics;

namespace Otlp.Transport;

/// <summary>
/// Opens the connections of the exporter's own HTTP/2 handler (gRPC) as the handler would, but within the mark of
/// the exporter's own work (<see cref="ExporterOwnWork"/>): the handler opens a connection in a flow of its own,
/// which the request's mark does not reach, so the socket's connect activity would otherwise be recorded.
/// </summary>
internal static class OwnConnections
{
    /// <summary>A TCP connection to the context's endpoint, without delay on small writes.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        using var mark = ExporterOwnWork.Begin();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

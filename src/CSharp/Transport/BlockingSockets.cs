using System.Net;
using System.Net.Sockets;

namespace Otlp.Transport;

/// <summary>
/// Opens the connections of the exporter's own HTTP/1.1 client (<see cref="SocketsHttpHandler.ConnectCallback"/>)
/// with blocking sockets, connected on a thread of their own, for the batch loop's synchronous sends.
/// </summary>
/// <remarks>
/// The handler's own connections are connected asynchronously, and on Unix the runtime then keeps their sockets
/// non-blocking for good: every synchronous read or write that has to wait (for room in the send buffer, for the
/// answer) is then woken through the runtime's socket event thread and a thread-pool worker, which afterwards spins
/// looking for more work on a core the application or a local collector wants. Measured against a loopback
/// receiver, blocking sockets took the process's CPU per 375 KB request from 200-260 us down to about 75 us. The
/// connect blocks a thread made for it rather than a pool thread (the handler opens connections from the pool, for
/// synchronous sends too), for at most the handler's connect timeout (the exporter sets it to its own timeout); a
/// connection later used by an asynchronous send becomes non-blocking from then on.
/// </remarks>
internal static class BlockingSockets
{
    /// <summary>The connect callback of the exporter's own HTTP/1.1 handler.</summary>
    public static ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        ConnectAsync(context.DnsEndPoint, cancellationToken);

    /// <summary>
    /// A TCP connection to <paramref name="endpoint"/> (its host's addresses tried in turn) over a blocking socket,
    /// connected on a thread of its own; <paramref name="cancellationToken"/> ends the attempt.
    /// </summary>
    public static ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, CancellationToken cancellationToken) =>
        new(Task.Factory.StartNew(
            static state =>
            {
                var (endpoint, cancellationToken) = ((DnsEndPoint, CancellationToken))state!;
                return Connect(endpoint, cancellationToken);
            },
            (endpoint, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default));

    private static Stream Connect(DnsEndPoint endpoint, CancellationToken cancellationToken) =>
        ConnectFirst(
            IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : Dns.GetHostAddresses(endpoint.Host),
            endpoint.Port,
            cancellationToken);

    /// <summary>
    /// A blocking connection to the first of <paramref name="addresses"/> that accepts one on <paramref name="port"/>,
    /// tried in order; the last failure when none does.
    /// </summary>
    internal static Stream ConnectFirst(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        // One socket per address, as the handler does: some systems refuse a second connect on a socket whose first
        // one failed (a host name with an IPv6 address the collector does not listen on, then an IPv4 one).
        Exception? failure = null;
        foreach (var address in addresses)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Socket? socket = null;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                // A blocking connect takes no token: the token closes the socket, which ends the connect with an error.
                using (cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
                {
                    socket.Connect(address, port);
                }

                cancellationToken.ThrowIfCancellationRequested();
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e)
            {
                socket?.Dispose();
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The connection attempt was cancelled.", e, cancellationToken);
                }

                if (e is not SocketException)
                {
                    throw;
                }

                failure = e;
            }
        }

        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }
}

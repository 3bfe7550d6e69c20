using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Otlp.Benchmarks.Receiver;

/// <summary>
/// OTLP/HTTP for the end-to-end benchmarks: an HTTP/1.1 server with one thread per connection, each blocking on
/// its socket. It answers every <c>POST /v1/{signal}</c> with success after reading the whole body (by
/// Content-Length or chunked), and anything else with 404.
/// </summary>
/// <remarks>
/// Why not Kestrel here: on a machine of two cores shared with the exporter under test, Kestrel hands each read from
/// its socket thread to a pool worker and on to the request's reader (35 to 60 context switches a request, measured),
/// and that chain of wakes sets the round trip both exporters wait on, one request on the wire at a time. A thread
/// that blocks in <c>recv</c> wakes once a read; the receiver's work (every body byte read off the socket) is the
/// same. Kestrel still serves gRPC, and serves HTTP too when <c>OTLP_BENCH_RECEIVER_HTTP=kestrel</c>.
/// </remarks>
internal sealed class BlockingHttpReceiver : IDisposable
{
    private static readonly byte[] Ok = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n");

    private static readonly byte[] NotFound = Encoding.ASCII.GetBytes(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

    private static readonly byte[] BadRequest = Encoding.ASCII.GetBytes(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    private readonly Socket listener;
    private readonly int bufferSize;

    private BlockingHttpReceiver(Socket listener, int bufferSize)
    {
        this.listener = listener;
        this.bufferSize = bufferSize;
    }

    /// <summary>The URL the server listens on.</summary>
    public string Address => $"http://{this.listener.LocalEndPoint}";

    /// <summary>Listens on a free loopback port and accepts connections on a thread of its own.</summary>
    public static BlockingHttpReceiver Start(int bufferSize)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        var receiver = new BlockingHttpReceiver(listener, bufferSize);
        new Thread(receiver.AcceptLoop) { IsBackground = true, Name = "http accept" }.Start();
        return receiver;
    }

    /// <summary>Stops accepting; the connections' threads end as their clients close.</summary>
    public void Dispose() => this.listener.Dispose();

    private void AcceptLoop()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = this.listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            connection.NoDelay = true;
            new Thread(() => this.Serve(connection)) { IsBackground = true, Name = "http connection" }.Start();
        }
    }

    private void Serve(Socket socket)
    {
        using (socket)
        {
            var reader = new ConnectionReader(socket, this.bufferSize);
            try
            {
                while (ServeOne(socket, reader))
                {
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or EndOfStreamException)
            {
                // The client went away, mid-request or between requests.
            }
        }
    }

    // One request and its response; false when the connection is to close.
    private static bool ServeOne(Socket socket, ConnectionReader reader)
    {
        if (reader.ReadLine(allowEnd: true) is not { } requestLine)
        {
            return false;
        }

        var parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            socket.Send(BadRequest);
            return false;
        }

        long contentLength = 0;
        var chunked = false;
        var close = parts[2] == "HTTP/1.0";
        while (reader.ReadLine(allowEnd: false) is { Length: > 0 } header)
        {
            var colon = header.IndexOf(':');
            if (colon <= 0)
            {
                socket.Send(BadRequest);
                return false;
            }

            var name = header.AsSpan(0, colon).Trim();
            var value = header.AsSpan(colon + 1).Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = long.Parse(value);
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close = value.Equals("close", StringComparison.OrdinalIgnoreCase);
            }
        }

        if (chunked)
        {
            SkipChunkedBody(reader);
        }
        else
        {
            reader.Skip(contentLength);
        }

        var known = parts[0] == "POST" && parts[1] is "/v1/traces" or "/v1/metrics" or "/v1/logs";
        socket.Send(known ? Ok : NotFound);
        return !close;
    }

    private static void SkipChunkedBody(ConnectionReader reader)
    {
        while (true)
        {
            var sizeLine = reader.ReadLine(allowEnd: false)!;
            var extension = sizeLine.IndexOf(';');
            var size = Convert.ToInt64(extension >= 0 ? sizeLine[..extension].Trim() : sizeLine.Trim(), 16);
            if (size == 0)
            {
                // Trailers, if any, up to the empty line.
                while (reader.ReadLine(allowEnd: false) is { Length: > 0 })
                {
                }

                return;
            }

            reader.Skip(size);
            if (reader.ReadLine(allowEnd: false) is not { Length: 0 })
            {
                throw new EndOfStreamException("A chunk did not end with CRLF.");
            }
        }
    }

    /// <summary>Reads a connection through one buffer: lines of the head, and bodies skipped a buffer at a time.</summary>
    private sealed class ConnectionReader(Socket socket, int bufferSize)
    {
        private const int MaxLine = 16 * 1024;
        private readonly byte[] buffer = new byte[bufferSize];
        private int start;
        private int end;

        // A line without its CRLF; null at the end of the stream before any byte of it when allowEnd.
        public string? ReadLine(bool allowEnd)
        {
            var scanFrom = this.start;
            while (true)
            {
                var newline = Array.IndexOf(this.buffer, (byte)'\n', scanFrom, this.end - scanFrom);
                if (newline >= 0)
                {
                    var length = newline - this.start;
                    if (length > 0 && this.buffer[newline - 1] == '\r')
                    {
                        length--;
                    }

                    var line = Encoding.ASCII.GetString(this.buffer, this.start, length);
                    this.start = newline + 1;
                    return line;
                }

                if (this.end - this.start >= MaxLine)
                {
                    throw new EndOfStreamException("A line of the request's head is too long.");
                }

                scanFrom = this.end - this.start;
                this.Compact();
                if (!this.Fill())
                {
                    if (allowEnd && this.end == this.start)
                    {
                        return null;
                    }

                    throw new EndOfStreamException("The connection closed mid-request.");
                }
            }
        }

        public void Skip(long count)
        {
            while (count > 0)
            {
                if (this.start == this.end)
                {
                    this.start = this.end = 0;
                    if (!this.Fill())
                    {
                        throw new EndOfStreamException("The connection closed mid-body.");
                    }
                }

                var take = (int)Math.Min(count, this.end - this.start);
                this.start += take;
                count -= take;
            }
        }

        private void Compact()
        {
            var length = this.end - this.start;
            Buffer.BlockCopy(this.buffer, this.start, this.buffer, 0, length);
            this.start = 0;
            this.end = length;
        }

        private bool Fill()
        {
            var read = socket.Receive(this.buffer, this.end, this.buffer.Length - this.end, SocketFlags.None);
            this.end += read;
            return read > 0;
        }
    }
}

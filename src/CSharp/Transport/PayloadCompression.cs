using System.Buffers;
using System.IO.Compression;
using Otlp.Core;

namespace Otlp.Transport;

/// <summary>gzip and zstd compression of request bodies, and the names the wire uses for them.</summary>
internal static class PayloadCompression
{
    /// <summary>The <c>Content-Encoding</c> / <c>grpc-encoding</c> name, or null for no compression.</summary>
    public static string? EncodingName(Compression compression) =>
        compression.IsGzip ? "gzip" : compression.IsZstd ? "zstd" : null;

    /// <summary>
    /// Compresses <paramref name="payload"/> with <paramref name="compression"/> (gzip or zstd) into an array rented
    /// from the shared pool, which the caller returns once nothing reads the body any more: a request allocates no
    /// array for its compressed body, and zstd reuses its compressor (its context is large).
    /// </summary>
    public static ArraySegment<byte> CompressPooled(ReadOnlySpan<byte> payload, Compression compression)
    {
        if (compression.IsGzip)
        {
            // OTLP protobuf usually compresses to well under half; the stream grows when it does not.
            var output = new PooledOutputStream(payload.Length / 2 + 64);
            try
            {
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(payload);
                }

                return output.Detach();
            }
            catch
            {
                output.Dispose();
                throw;
            }
        }

        if (compression.IsZstd)
        {
            var compressor = Interlocked.Exchange(ref idleZstd, null) ?? new ZstdSharp.Compressor(ZstdLevel);
            var rented = ArrayPool<byte>.Shared.Rent(ZstdSharp.Compressor.GetCompressBound(payload.Length));
            try
            {
                var length = compressor.Wrap(payload, rented);
                return new ArraySegment<byte>(rented, 0, length);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(rented);
                compressor.Dispose();
                compressor = null;
                throw;
            }
            finally
            {
                if (compressor is not null && Interlocked.CompareExchange(ref idleZstd, compressor, null) is not null)
                {
                    compressor.Dispose();
                }
            }
        }

        var copy = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(copy);
        return new ArraySegment<byte>(copy, 0, payload.Length);
    }

    private const int ZstdLevel = 3;

    // One idle zstd compressor kept for the next request (taken and put back atomically); concurrent requests
    // make their own.
    private static ZstdSharp.Compressor? idleZstd;

    /// <summary>A write-only stream into arrays rented from the shared pool, grown by doubling.</summary>
    private sealed class PooledOutputStream(int capacity) : Stream
    {
        private byte[]? buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, capacity));
        private int length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => this.length;

        public override long Position
        {
            get => this.length;
            set => throw new NotSupportedException();
        }

        /// <summary>The written bytes in their rented array, now the caller's to return.</summary>
        public ArraySegment<byte> Detach()
        {
            var written = new ArraySegment<byte>(this.buffer!, 0, this.length);
            this.buffer = null;
            return written;
        }

        public override void Write(ReadOnlySpan<byte> source)
        {
            var current = this.buffer ?? throw new ObjectDisposedException(nameof(PooledOutputStream));
            if (current.Length - this.length < source.Length)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(current.Length * 2, this.length + source.Length));
                current.AsSpan(0, this.length).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(current);
                this.buffer = current = grown;
            }

            source.CopyTo(current.AsSpan(this.length));
            this.length += source.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => this.Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (this.buffer is { } rented)
            {
                this.buffer = null;
                ArrayPool<byte>.Shared.Return(rented);
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>Decompresses a body encoded with the named encoding (used by tests and the receiver).</summary>
    public static byte[] Decompress(ReadOnlySpan<byte> body, string? encoding)
    {
        switch (encoding)
        {
            case null or "" or "identity":
                return body.ToArray();
            case "gzip":
                using (var input = new GZipStream(new MemoryStream(body.ToArray()), CompressionMode.Decompress))
                using (var output = new MemoryStream())
                {
                    input.CopyTo(output);
                    return output.ToArray();
                }

            case "zstd":
                using (var zstd = new ZstdSharp.Decompressor())
                {
                    return zstd.Unwrap(body).ToArray();
                }

            default:
                throw new NotSupportedException($"Unknown content encoding '{encoding}'.");
        }
    }
}

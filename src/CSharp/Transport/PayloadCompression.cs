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

    /// <summary>Compresses <paramref name="payload"/> with <paramref name="compression"/> into a new array.</summary>
    public static byte[] Compress(ReadOnlySpan<byte> payload, Compression compression)
    {
        if (compression.IsGzip)
        {
            var output = new MemoryStream(payload.Length / 4 + 64);
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(payload);
            }

            return output.ToArray();
        }

        if (compression.IsZstd)
        {
            using var zstd = new ZstdSharp.Compressor(3);
            return zstd.Wrap(payload).ToArray();
        }

        return payload.ToArray();
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

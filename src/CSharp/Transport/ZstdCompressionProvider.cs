using System.IO.Compression;
using Grpc.Net.Compression;

namespace Otlp.Transport;

/// <summary>zstd for gRPC message compression (<c>grpc-encoding: zstd</c>), through ZstdSharp.</summary>
internal sealed class ZstdCompressionProvider : ICompressionProvider
{
    public string EncodingName => "zstd";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        new ZstdSharp.CompressionStream(stream, level: 3, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream) =>
        new ZstdSharp.DecompressionStream(stream, leaveOpen: true);
}

namespace Otlp;

/// <summary>The transport and encoding of an OTLP exporter (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>).</summary>
public enum OtlpProtocol
{
    /// <summary>Protobuf over HTTP (<c>http/protobuf</c>), the specification's default; port 4318.</summary>
    HttpProtobuf,

    /// <summary>JSON over HTTP (<c>http/json</c>); port 4318.</summary>
    HttpJson,

    /// <summary>Protobuf over gRPC (<c>grpc</c>); port 4317.</summary>
    Grpc,
}

/// <summary>Compression of export requests (<c>OTEL_EXPORTER_OTLP_COMPRESSION</c>).</summary>
public enum OtlpCompression
{
    /// <summary>No compression.</summary>
    None,

    /// <summary>gzip, the method the specification names.</summary>
    Gzip,

    /// <summary>Zstandard: smaller and faster than gzip, where the receiver supports it (the Collector does).</summary>
    Zstd,
}

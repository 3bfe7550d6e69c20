using Grpc.Net.Client;

namespace Otlp;

/// <summary>
/// Settings of an OTLP exporter given in code. Every property left null falls back to the environment variables
/// (<c>OTEL_EXPORTER_OTLP_*</c>, <c>OTEL_BSP_*</c>, <c>OTEL_BLRP_*</c>) and then to the specification's defaults;
/// a value set here wins over both. <c>AddOtlpExporters</c> reads them from the <c>Otlp</c> section of
/// <c>IConfiguration</c>, in the spellings of the variables (<c>http/protobuf</c>, milliseconds), which the
/// configuration binder's <c>Bind</c> would refuse or misread (it reads a timeout of 5000 as days).
/// </summary>
public sealed class OtlpExporterOptions
{
    /// <summary>The protocol; default from <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, else <see cref="OtlpProtocol.HttpProtobuf"/>.</summary>
    public OtlpProtocol? Protocol { get; set; }

    /// <summary>
    /// The collector's base address, such as <c>http://collector:4318</c>. For HTTP the signal's path
    /// (<c>v1/traces</c>, <c>v1/metrics</c>, <c>v1/logs</c>) is appended, exactly as for
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>. Use <see cref="SignalEndpoint"/> for a full URL.
    /// </summary>
    public string? BaseEndpoint { get; set; }

    /// <summary>
    /// The full URL of this signal, used as is, such as <c>https://ingest.example.com/otlp/v1/traces</c>, exactly
    /// as <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>. Wins over <see cref="BaseEndpoint"/>.
    /// </summary>
    public string? SignalEndpoint { get; set; }

    /// <summary>Headers sent with every request; when any is set they replace those of the environment. Values are never logged.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Called before every export for headers that change, such as bearer tokens that expire. Its headers are
    /// added to (and replace same-named) <see cref="Headers"/>. Values are never logged. When it throws (or its
    /// task faults, or it gives null), nothing is sent, the problem is reported, and the attempt is retried as a
    /// connection failure is.
    /// </summary>
    public Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>? HeaderProvider { get; set; }

    /// <summary>
    /// How long one export request may take; <see cref="TimeSpan.Zero"/> or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// means no limit. Default 10 s.
    /// </summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Compression of requests; default none.</summary>
    public OtlpCompression? Compression { get; set; }

    /// <summary>
    /// For a gRPC endpoint given without a scheme (<c>collector:4317</c>): true reaches it over plain text, false (the
    /// default) over TLS. An <c>http://</c> or <c>https://</c> endpoint decides by its scheme.
    /// </summary>
    public bool? Insecure { get; set; }

    /// <summary>A PEM file of the certificate(s) trusted to verify the server, instead of the system's store.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>A PEM file with the client certificate chain, for mutual TLS.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>A PEM file with the client's private key, for mutual TLS.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>
    /// An <see cref="System.Net.Http.HttpClient"/> to send HTTP requests with; it is not disposed by the exporter. TLS
    /// file settings do not apply to it. Its handler decides whether redirects are followed (the exporter's own
    /// client never follows them): turn <c>AllowAutoRedirect</c> off, since a redirect followed as a GET loses the
    /// data (reported as a failure) and one followed as a POST sends the data and headers to the new location.
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>
    /// Creates the <see cref="System.Net.Http.HttpClient"/> to use (for example from <c>IHttpClientFactory</c>). TLS
    /// file settings do not apply to its clients, which bring their own handler; that handler also decides whether
    /// redirects are followed (see <see cref="HttpClient"/>).
    /// </summary>
    public Func<HttpClient>? HttpClientFactory { get; set; }

    /// <summary>
    /// The factory <c>AddOtlpExporters</c> puts in <see cref="HttpClientFactory"/> (the container's <c>Otlp</c>
    /// client), when it is still the one in use: an exporter with TLS files then uses a client of its own instead,
    /// since that client's handler is the container's and cannot apply them.
    /// </summary>
    internal Func<HttpClient>? ContainerHttpClientFactory { get; set; }

    /// <summary>Values of the <c>Otlp</c> configuration section that could not be read (or are not used), each said once per exporter.</summary>
    internal List<string> SectionWarnings { get; } = [];

    /// <summary>A gRPC channel to send with; it is not disposed by the exporter. TLS file settings do not apply to it.</summary>
    public GrpcChannel? GrpcChannel { get; set; }

    /// <summary>The <c>service.name</c> of the resource; wins over <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c>.</summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// Resource attributes merged over <c>OTEL_RESOURCE_ATTRIBUTES</c> (same key: these win). Values are mapped as
    /// activity tags are (see <see cref="OtlpExporterBuilder{TExporter}.WithResourceAttribute"/>).
    /// </summary>
    public IDictionary<string, object> ResourceAttributes { get; } = new Dictionary<string, object>(StringComparer.Ordinal);

    /// <summary>Batching: the longest an item waits before export. Default 5 s for spans, 1 s for log records.</summary>
    public TimeSpan? ScheduledDelay { get; set; }

    /// <summary>
    /// Batching: how long one batch export may take, retries included; <see cref="TimeSpan.Zero"/> or
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> means no limit. Default 30 s.
    /// </summary>
    public TimeSpan? BatchExportTimeout { get; set; }

    /// <summary>Batching: items kept at most while waiting; more are dropped and counted. Default 2048.</summary>
    public int? MaxQueueSize { get; set; }

    /// <summary>Batching: items sent at most in one request. Default 512.</summary>
    public int? MaxExportBatchSize { get; set; }

    /// <summary>
    /// Batching: batches being exported at once at most. Default 1: one export after another, as the
    /// specification's processors do. With more, the next batch is encoded and sent while earlier ones are still
    /// waiting for their answers, which raises the throughput to a slow or distant collector, or to a
    /// load-balanced gateway; batches may then arrive out of order. Also read from
    /// <c>OTEL_BSP_MAX_CONCURRENT_EXPORTS</c> and <c>OTEL_BLRP_MAX_CONCURRENT_EXPORTS</c> (not in the specification).
    /// </summary>
    public int? MaxConcurrentExports { get; set; }

    /// <summary>
    /// Batching: whether the next batch is encoded while the last one is on the wire. Default true over gRPC, whose
    /// sends do not hold the export loop's thread: at saturation encoding and sending overlap, which raised the export
    /// loop's throughput by about a quarter in the benchmarks. Default false over HTTP, where the loop sends each
    /// request itself: encoding ahead hands every send to a second thread of the exporter's, which cost more CPU a
    /// span in every benchmark run, for a throughput gain in some runs only (docs/benchmarks.md). Requests still go <see cref="MaxConcurrentExports"/> at a time and in
    /// order; encoding ahead holds one batch more out of the queue while it waits for its turn, and a server that asks
    /// to slow down gets at most that one batch more. False encodes each batch only when it can be sent at once.
    /// </summary>
    public bool? EncodeAhead { get; set; }

    /// <summary>
    /// The largest request sent, in bytes, before and after compression; default 64 MiB, and at least 1024 (a
    /// smaller value is raised to it). Larger requests are split; an item larger on its own is dropped and counted.
    /// </summary>
    public int? MaxRequestBytes { get; set; }

    /// <summary>
    /// The environment variables to read instead of the process's (for tests and hosts that keep configuration
    /// elsewhere); null reads the process environment.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; set; }

    /// <summary>
    /// Where warnings go (failed exports, server warnings, bad configuration), besides the <c>Otlp</c> event
    /// source. The same kind of problem is written at most once a minute, with the count of repeats; header
    /// values never appear.
    /// </summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; set; }

    /// <summary>The clock used for timeouts and batching delays; null for the system clock. For tests.</summary>
    public TimeProvider? TimeProvider { get; set; }
}

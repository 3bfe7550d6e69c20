using Grpc.Net.Client;

namespace Otlp;

/// <summary>
/// The entry point for building OTLP exporters in code:
/// <code>
/// await using var exporter = OtlpExporter.ForTraces()
///     .WithGrpc()
///     .WithBaseEndpoint("http://collector:4317")
///     .WithHeader("api-key", secret)
///     .Build();
/// </code>
/// Anything not set falls back to the <c>OTEL_EXPORTER_OTLP_*</c> environment variables, then to the
/// specification's defaults.
/// </summary>
public static class OtlpExporter
{
    /// <summary>Starts building a span exporter.</summary>
    public static OtlpExporterBuilder<OtlpTraceExporter> ForTraces() => new(options => new OtlpTraceExporter(options));

    /// <summary>Starts building a metrics exporter.</summary>
    public static OtlpExporterBuilder<OtlpMetricExporter> ForMetrics() => new(options => new OtlpMetricExporter(options));

    /// <summary>Starts building a log record exporter.</summary>
    public static OtlpExporterBuilder<OtlpLogExporter> ForLogs() => new(options => new OtlpLogExporter(options));
}

/// <summary>
/// Settings every OTLP exporter has. Choose the transport with <see cref="WithGrpc"/> or <see cref="WithHttp"/>
/// to reach the settings that only exist for it, or <see cref="Build"/> to take the protocol from the environment.
/// </summary>
/// <typeparam name="TExporter">The exporter built.</typeparam>
public class OtlpExporterBuilder<TExporter>
{
    private readonly Func<OtlpExporterOptions, TExporter> create;

    internal OtlpExporterBuilder(Func<OtlpExporterOptions, TExporter> create)
        : this(create, new OtlpExporterOptions())
    {
    }

    private protected OtlpExporterBuilder(Func<OtlpExporterOptions, TExporter> create, OtlpExporterOptions options)
    {
        this.create = create;
        this.Options = options;
    }

    /// <summary>The options collected so far.</summary>
    private protected OtlpExporterOptions Options { get; }

    /// <summary>The clock the options configured so far give the exporter (null for the system's).</summary>
    internal TimeProvider? ConfiguredTimeProvider => this.Options.TimeProvider;

    /// <summary>Uses OTLP/gRPC.</summary>
    public OtlpGrpcExporterBuilder<TExporter> WithGrpc()
    {
        this.Options.Protocol = OtlpProtocol.Grpc;
        return new OtlpGrpcExporterBuilder<TExporter>(this.create, this.Options);
    }

    /// <summary>Uses OTLP/HTTP with protobuf bodies, or with JSON bodies when <paramref name="json"/> is true.</summary>
    public OtlpHttpExporterBuilder<TExporter> WithHttp(bool json = false)
    {
        this.Options.Protocol = json ? OtlpProtocol.HttpJson : OtlpProtocol.HttpProtobuf;
        return new OtlpHttpExporterBuilder<TExporter>(this.create, this.Options);
    }

    /// <summary>
    /// The collector's base address; for HTTP the signal's path (<c>v1/traces</c>, ...) is appended. Null or empty
    /// leaves it to the environment; a value that is not an absolute http(s) URL is reported in
    /// <c>ConfigurationWarnings</c> and the next source used.
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithBaseEndpoint(string? baseEndpoint)
    {
        this.Options.BaseEndpoint = baseEndpoint;
        return this;
    }

    /// <summary>
    /// The full URL of this signal, used exactly as given; wins over <see cref="WithBaseEndpoint"/>. Null or empty
    /// leaves it to the environment.
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithSignalEndpoint(string? signalEndpoint)
    {
        this.Options.SignalEndpoint = signalEndpoint;
        return this;
    }

    /// <summary>
    /// Adds a header sent with every request, replacing one of the same name (names compare without case); its
    /// value is never logged. Headers given in code replace those of <c>OTEL_EXPORTER_OTLP_HEADERS</c> (they are not
    /// merged). A null value is sent as an empty one; a header that cannot be sent (a name that is not an HTTP
    /// token, a value with line breaks) is skipped with a configuration warning.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public OtlpExporterBuilder<TExporter> WithHeader(string name, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        this.Options.Headers[name] = value ?? string.Empty;
        return this;
    }

    /// <summary>A callback giving headers before every export (for tokens that expire); see <see cref="OtlpExporterOptions.HeaderProvider"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="provider"/> is null.</exception>
    public OtlpExporterBuilder<TExporter> WithHeaderProvider(Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>> provider)
    {
        this.Options.HeaderProvider = provider ?? throw new ArgumentNullException(nameof(provider));
        return this;
    }

    /// <summary>
    /// How long one export request may take, retries included for <c>ExportAsync</c>; <see cref="TimeSpan.Zero"/> or
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for no limit. Another negative value, or one over 2^31 - 1 ms, is
    /// reported in <c>ConfigurationWarnings</c> and the environment's value or the default (10 s) used.
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithTimeout(TimeSpan timeout)
    {
        this.Options.Timeout = timeout;
        return this;
    }

    /// <summary>Compresses requests.</summary>
    public OtlpExporterBuilder<TExporter> WithCompression(OtlpCompression compression)
    {
        this.Options.Compression = compression;
        return this;
    }

    /// <summary>
    /// Trusts the certificates of a PEM file (instead of the system's store) to verify the server. A file that cannot
    /// be read is reported in <c>ConfigurationWarnings</c> and no server is trusted. Null leaves it to the environment.
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithTrustedCertificate(string? pemFile)
    {
        this.Options.CertificateFile = pemFile;
        return this;
    }

    /// <summary>
    /// Presents a client certificate (PEM files) for mutual TLS. Files that cannot be read are reported in
    /// <c>ConfigurationWarnings</c> and no certificate is presented. Null leaves them to the environment.
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithClientCertificate(string? certificatePemFile, string? keyPemFile)
    {
        this.Options.ClientCertificateFile = certificatePemFile;
        this.Options.ClientKeyFile = keyPemFile;
        return this;
    }

    /// <summary>
    /// The <c>service.name</c> of the resource; wins over <c>OTEL_SERVICE_NAME</c>. Null or empty leaves it to the
    /// environment (else <c>unknown_service:</c> and the process name).
    /// </summary>
    public OtlpExporterBuilder<TExporter> WithServiceName(string? serviceName)
    {
        this.Options.ServiceName = serviceName;
        return this;
    }

    /// <summary>
    /// Adds a resource attribute, replacing one of the same key, here and in <c>OTEL_RESOURCE_ATTRIBUTES</c>. Its value
    /// is mapped as an activity tag's is: strings, booleans, integers up to <c>long</c>, <c>float</c> and <c>double</c>
    /// and byte arrays keep their type, other arrays are arrays of such values, anything else (<c>ulong</c>,
    /// <c>decimal</c>, enums) is its text (invariant culture), and null is an empty value.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    public OtlpExporterBuilder<TExporter> WithResourceAttribute(string key, object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        this.Options.ResourceAttributes[key] = value!;
        return this;
    }

    /// <summary>Changes any option not covered by a method; called at once, on the options collected so far.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="configure"/> is null.</exception>
    public OtlpExporterBuilder<TExporter> Configure(Action<OtlpExporterOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(this.Options);
        return this;
    }

    /// <summary>Reads these variables instead of the process environment (for tests); null reads the process environment.</summary>
    public OtlpExporterBuilder<TExporter> WithEnvironment(IReadOnlyDictionary<string, string>? environment)
    {
        this.Options.Environment = environment;
        return this;
    }

    /// <summary>
    /// Builds the exporter, which the caller disposes. Never throws for bad configuration: see its
    /// <c>ConfigurationWarnings</c>. Each call builds a new exporter from the options collected so far.
    /// </summary>
    public TExporter Build() => this.create(this.Options);
}

/// <summary>
/// The settings every OTLP exporter has, on a builder of one transport: each returns that builder, so the transport's
/// own settings can follow the shared ones in any order (<c>.WithGrpc().WithHeader(..).WithChannel(..)</c>).
/// </summary>
/// <typeparam name="TExporter">The exporter built.</typeparam>
/// <typeparam name="TBuilder">The transport's builder.</typeparam>
public abstract class OtlpTransportExporterBuilder<TExporter, TBuilder> : OtlpExporterBuilder<TExporter>
    where TBuilder : OtlpTransportExporterBuilder<TExporter, TBuilder>
{
    private protected OtlpTransportExporterBuilder(Func<OtlpExporterOptions, TExporter> create, OtlpExporterOptions options)
        : base(create, options)
    {
    }

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithBaseEndpoint"/>
    public new TBuilder WithBaseEndpoint(string? baseEndpoint) => this.Chained(base.WithBaseEndpoint(baseEndpoint));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithSignalEndpoint"/>
    public new TBuilder WithSignalEndpoint(string? signalEndpoint) => this.Chained(base.WithSignalEndpoint(signalEndpoint));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithHeader"/>
    public new TBuilder WithHeader(string name, string? value) => this.Chained(base.WithHeader(name, value));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithHeaderProvider"/>
    public new TBuilder WithHeaderProvider(Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>> provider) => this.Chained(base.WithHeaderProvider(provider));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithTimeout"/>
    public new TBuilder WithTimeout(TimeSpan timeout) => this.Chained(base.WithTimeout(timeout));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithCompression"/>
    public new TBuilder WithCompression(OtlpCompression compression) => this.Chained(base.WithCompression(compression));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithTrustedCertificate"/>
    public new TBuilder WithTrustedCertificate(string? pemFile) => this.Chained(base.WithTrustedCertificate(pemFile));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithClientCertificate"/>
    public new TBuilder WithClientCertificate(string? certificatePemFile, string? keyPemFile) => this.Chained(base.WithClientCertificate(certificatePemFile, keyPemFile));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithServiceName"/>
    public new TBuilder WithServiceName(string? serviceName) => this.Chained(base.WithServiceName(serviceName));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithResourceAttribute"/>
    public new TBuilder WithResourceAttribute(string key, object? value) => this.Chained(base.WithResourceAttribute(key, value));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.Configure"/>
    public new TBuilder Configure(Action<OtlpExporterOptions> configure) => this.Chained(base.Configure(configure));

    /// <inheritdoc cref="OtlpExporterBuilder{TExporter}.WithEnvironment"/>
    public new TBuilder WithEnvironment(IReadOnlyDictionary<string, string>? environment) => this.Chained(base.WithEnvironment(environment));

    // The shared setting was applied to this builder (the base returns itself): go on as the transport's builder.
    private TBuilder Chained(OtlpExporterBuilder<TExporter> applied) => (TBuilder)applied;
}

/// <summary>Settings of an OTLP/gRPC exporter.</summary>
/// <typeparam name="TExporter">The exporter built.</typeparam>
public sealed class OtlpGrpcExporterBuilder<TExporter> : OtlpTransportExporterBuilder<TExporter, OtlpGrpcExporterBuilder<TExporter>>
{
    internal OtlpGrpcExporterBuilder(Func<OtlpExporterOptions, TExporter> create, OtlpExporterOptions options)
        : base(create, options)
    {
    }

    /// <summary>Sends through this channel (not disposed by the exporter); the endpoint and TLS settings are then the channel's.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="channel"/> is null.</exception>
    public OtlpGrpcExporterBuilder<TExporter> WithChannel(GrpcChannel channel)
    {
        this.Options.GrpcChannel = channel ?? throw new ArgumentNullException(nameof(channel));
        return this;
    }
}

/// <summary>Settings of an OTLP/HTTP exporter.</summary>
/// <typeparam name="TExporter">The exporter built.</typeparam>
public sealed class OtlpHttpExporterBuilder<TExporter> : OtlpTransportExporterBuilder<TExporter, OtlpHttpExporterBuilder<TExporter>>
{
    internal OtlpHttpExporterBuilder(Func<OtlpExporterOptions, TExporter> create, OtlpExporterOptions options)
        : base(create, options)
    {
    }

    /// <summary>Sends through this client (not disposed by the exporter); TLS file settings do not apply to it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
    public OtlpHttpExporterBuilder<TExporter> WithHttpClient(HttpClient client)
    {
        this.Options.HttpClient = client ?? throw new ArgumentNullException(nameof(client));
        return this;
    }

    /// <summary>Creates the client with this factory (for example <c>IHttpClientFactory.CreateClient</c>); TLS file settings do not apply to its clients.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is null.</exception>
    public OtlpHttpExporterBuilder<TExporter> WithHttpClientFactory(Func<HttpClient> factory)
    {
        this.Options.HttpClientFactory = factory ?? throw new ArgumentNullException(nameof(factory));
        return this;
    }
}

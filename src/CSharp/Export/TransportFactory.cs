using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Otlp.Core;
using Otlp.Transport;

namespace Otlp.Export;

/// <summary>Builds the transport an <see cref="ExporterConfig"/> asks for: gRPC or HTTP, with TLS settings.</summary>
internal static class TransportFactory
{
    /// <summary>Gives load balancers in front of collectors a chance to spread long-lived connections.</summary>
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a gRPC connection with a call in flight may stay silent before a PING asks whether it is alive, and
    /// how long the answer may take: the Collector's own gRPC exporter's keepalive (10 s, 10 s, not without calls).
    /// </summary>
    /// <remarks>
    /// HTTP/2 sends every call over one connection, and a call that times out leaves it open: one that a balancer or a
    /// NAT forgot without a reset would take every later call until the kernel gives up on it (about 15 minutes on
    /// Linux) or its lifetime ends. Pings only while calls are in flight and silent for 10 s never trouble a gRPC
    /// server's enforcement (grpc-go refuses pings more often than every 5 minutes only when it has sent nothing since).
    /// </remarks>
    private static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Creates the transport; problems with TLS files or headers are reported through <paramref name="warn"/> and
    /// never thrown; headers from the options' header provider that cannot be sent are skipped at each send and
    /// reported through <paramref name="reportProblem"/>. The values the header provider gives are remembered in
    /// <paramref name="secrets"/>, to be scrubbed from what servers say.
    /// </summary>
    public static IExportTransport Create(ExporterConfig config, OtlpExporterOptions options, Action<string> warn, Action<string>? reportProblem = null, Diagnostics.KnownSecrets? secrets = null)
    {
        var headerProvider = options.HeaderProvider is { } given && secrets is not null ? secrets.Remembering(given) : options.HeaderProvider;
        WarnOtherTransportIgnored(config, options, warn);
        if (config.Protocol.IsGrpc)
        {
            var ownsChannel = options.GrpcChannel is null;
            if (!ownsChannel)
            {
                WarnNotApplied(TlsFiles(config), "the gRPC channel given in the options", warn);
            }

            var channel = options.GrpcChannel ?? GrpcChannel.ForAddress(config.Endpoint, new GrpcChannelOptions
            {
                HttpHandler = new FramedMessageHandler(CreateGrpcHandler(config, warn)),
                DisposeHttpClient = true,
                MaxReceiveMessageSize = HttpExportTransport.MaxResponseBytes,
                CompressionProviders = [new Grpc.Net.Compression.GzipCompressionProvider(System.IO.Compression.CompressionLevel.Fastest), new ZstdCompressionProvider()],
            });
            return new GrpcExportTransport(channel, ownsChannel, framesInPlace: ownsChannel, config.Signal, config.Compression, config.Headers, headerProvider, warn, reportProblem, config.Endpoint);
        }

        HttpClient client;
        var ownsClient = false;
        var tlsFiles = TlsFiles(config);
        // The container's client has the container's handler, which cannot apply TLS files: applying them matters
        // more than the handlers an application may have added to that client.
        var bypassContainerClient = tlsFiles is not null
            && options.HttpClientFactory is not null
            && ReferenceEquals(options.HttpClientFactory, options.ContainerHttpClientFactory);
        if (options.HttpClient is not null)
        {
            client = options.HttpClient;
            WarnNotApplied(tlsFiles, "the HttpClient given in the options", warn);
        }
        else if (options.HttpClientFactory is not null && !bypassContainerClient)
        {
            client = options.HttpClientFactory();
            WarnNotApplied(tlsFiles, "the clients of the HttpClientFactory given in the options", warn);
        }
        else
        {
            if (bypassContainerClient)
            {
                warn($"The TLS files ({tlsFiles}) apply to a client of the exporter's own, so handlers added to the '{Microsoft.Extensions.DependencyInjection.OtlpServiceCollectionExtensions.HttpClientName}' IHttpClientFactory client are not used for this exporter.");
            }

            var handler = CreateHandler(config, warn, http2: false);
            // The batch loop sends through this client synchronously: its sockets stay blocking (BlockingSockets).
            // Each connect then holds a thread while it waits, so it may not outlast the export timeout.
            handler.ConnectCallback = BlockingSockets.ConnectAsync;
            handler.ConnectTimeout = config.Timeout > TimeSpan.Zero ? config.Timeout : Timeout.InfiniteTimeSpan;
            client = new HttpClient(handler, disposeHandler: true);
            ownsClient = true;
        }

        // Timeouts are the exporter's (a token per attempt), not HttpClient's 100 s default.
        if (ownsClient)
        {
            client.Timeout = Timeout.InfiniteTimeSpan;
        }

        // Only our own client (a SocketsHttpHandler over HTTP/1.1) is known to send synchronously.
        return new HttpExportTransport(
            client, ownsClient, config.Endpoint, config.Protocol.IsHttpJson, config.Compression, RequestHeaders(config.Headers, warn), headerProvider, canBlock: ownsClient, reportProblem: reportProblem);
    }

    /// <summary>The configured headers an HTTP request can carry; the content headers (the body's, which the exporter writes) are left out and said, by name only.</summary>
    private static Header[] RequestHeaders(IReadOnlyList<Header> headers, Action<string> warn)
    {
        var kept = new List<Header>(headers.Count);
        foreach (var header in headers)
        {
            if (HttpExportTransport.IsRequestHeader(header.Name))
            {
                kept.Add(header);
            }
            else
            {
                warn($"The header '{header.Name}' {HttpExportTransport.NotARequestHeader}; it is not sent.");
            }
        }

        return [.. kept];
    }

    /// <summary>
    /// Says so when the options carry the other protocol's client: a gRPC channel given to an HTTP exporter (or an
    /// HTTP client to a gRPC one), for instance set before <c>WithHttp()</c>, would otherwise be dropped silently.
    /// </summary>
    private static void WarnOtherTransportIgnored(ExporterConfig config, OtlpExporterOptions options, Action<string> warn)
    {
        if (config.Protocol.IsGrpc)
        {
            var ownFactory = options.HttpClientFactory is not null && !ReferenceEquals(options.HttpClientFactory, options.ContainerHttpClientFactory);
            if (options.HttpClient is not null || ownFactory)
            {
                warn($"The HttpClient given in the options is not used: the protocol is {config.Protocol.Name}, which sends through a gRPC channel (WithChannel).");
            }
        }
        else if (options.GrpcChannel is not null)
        {
            warn($"The gRPC channel given in the options is not used: the protocol is {config.Protocol.Name}, which sends through an HttpClient (WithHttpClient).");
        }
    }

    /// <summary>The TLS files a configuration names, for messages (paths only), or null when it names none.</summary>
    private static string? TlsFiles(ExporterConfig config)
    {
        var named = new[]
        {
            config.CertificateFile is { Value: var ca } ? $"trusted certificate '{ca}'" : null,
            config.ClientCertificateFile is { Value: var certificate } ? $"client certificate '{certificate}'" : null,
            config.ClientKeyFile is { Value: var key } ? $"client key '{key}'" : null,
        }.OfType<string>().ToArray();
        return named.Length == 0 ? null : string.Join(", ", named);
    }

    private static void WarnNotApplied(string? tlsFiles, string client, Action<string> warn)
    {
        if (tlsFiles is not null)
        {
            warn($"The TLS files ({tlsFiles}) are not applied to {client}, which brings its own handler: configure TLS there.");
        }
    }

    private static SocketsHttpHandler CreateGrpcHandler(ExporterConfig config, Action<string> warn)
    {
        var handler = CreateHandler(config, warn, http2: true);
        handler.ConnectCallback = OwnConnections.ConnectAsync;
        handler.KeepAlivePingDelay = KeepAlivePingDelay;
        handler.KeepAlivePingTimeout = KeepAlivePingTimeout;
        handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        return handler;
    }

    private static SocketsHttpHandler CreateHandler(ExporterConfig config, Action<string> warn, bool http2)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = ConnectionLifetime,
            EnableMultipleHttp2Connections = http2,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            // An export is a POST whose success means the server accepted the data. Following a redirect would turn
            // it into a body-less GET on 301/302/303 (whose 200 would count as delivered) and send the configured
            // headers (credentials) to whatever host the Location names: a 3xx is reported as a failure instead.
            AllowAutoRedirect = false,
        };

        if (config.CertificateFile is { Value: var caFile })
        {
            var trusted = LoadCertificates(caFile, warn);
            if (trusted is not null)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
                    ValidateWithCustomRoots(certificate, presented, errors, trusted);
            }
        }

        if (config.ClientCertificateFile is { Value: var certFile })
        {
            var keyFile = config.ClientKeyFile?.Value;
            try
            {
                var certificate = keyFile is null
                    ? X509Certificate2.CreateFromPemFile(certFile)
                    : X509Certificate2.CreateFromPemFile(certFile, keyFile);

                // An ephemeral key from PEM cannot be used by SslStream on every platform; re-import it. The other
                // certificates of the file (the chain to the CA the server trusts) are sent with it: a server that
                // trusts only the root cannot verify a certificate an intermediate CA issued without them.
                var leaf = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
                var inFile = new X509Certificate2Collection();
                inFile.ImportFromPemFile(certFile);
                var chain = new X509Certificate2Collection();
                foreach (var other in inFile)
                {
                    if (other.Thumbprint != leaf.Thumbprint)
                    {
                        chain.Add(other);
                    }
                }

                handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(leaf, chain, offline: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                // The runtime's message for an encrypted key speaks of malformed content: say what it is.
                var encrypted = KeyIsEncrypted(keyFile ?? certFile) ? "the private key is encrypted, which is not supported: give an unencrypted PKCS#8 or RSA key; " : string.Empty;
                warn($"The client certificate '{certFile}' (key '{keyFile ?? "in the same file"}') could not be loaded ({encrypted}{e.Message}); connecting without one.");
            }
        }

        return handler;
    }

    private static X509Certificate2Collection? LoadCertificates(string file, Action<string> warn)
    {
        try
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(file);
            if (collection.Count == 0)
            {
                warn($"The trusted certificate file '{file}' holds no certificate; no server certificate will be trusted.");
            }

            return collection;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            // Failing closed: with an unreadable CA file nothing is trusted, so no data goes to an unverified server.
            warn($"The trusted certificate file '{file}' could not be read ({e.Message}); no server certificate will be trusted.");
            return [];
        }
    }

    private static bool KeyIsEncrypted(string file)
    {
        try
        {
            return File.ReadAllText(file).Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the server's certificate chains to one of the <paramref name="trusted"/> roots (the CA file) and names
    /// the host. The intermediates the server sent with its certificate (<paramref name="presented"/>'s extra store)
    /// help build the chain, as they do for the system's roots; they are never trusted themselves.
    /// </summary>
    private static bool ValidateWithCustomRoots(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (certificate is null || trusted.Count == 0 || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }
}

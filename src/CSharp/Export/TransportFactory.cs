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

    /// <summary>Creates the transport; problems with TLS files are reported through <paramref name="warn"/> and never thrown.</summary>
    public static IExportTransport Create(ExporterConfig config, OtlpExporterOptions options, Action<string> warn)
    {
        if (config.Protocol.IsGrpc)
        {
            var ownsChannel = options.GrpcChannel is null;
            var channel = options.GrpcChannel ?? GrpcChannel.ForAddress(config.Endpoint, new GrpcChannelOptions
            {
                HttpHandler = CreateGrpcHandler(config, warn),
                DisposeHttpClient = true,
                MaxReceiveMessageSize = HttpExportTransport.MaxResponseBytes,
                CompressionProviders = [new Grpc.Net.Compression.GzipCompressionProvider(System.IO.Compression.CompressionLevel.Fastest), new ZstdCompressionProvider()],
            });
            return new GrpcExportTransport(channel, ownsChannel, config.Signal, config.Compression, config.Headers, options.HeaderProvider);
        }

        HttpClient client;
        var ownsClient = false;
        if (options.HttpClient is not null)
        {
            client = options.HttpClient;
        }
        else if (options.HttpClientFactory is not null)
        {
            client = options.HttpClientFactory();
        }
        else
        {
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
            client, ownsClient, config.Endpoint, config.Protocol.IsHttpJson, config.Compression, config.Headers, options.HeaderProvider, canBlock: ownsClient);
    }

    private static SocketsHttpHandler CreateGrpcHandler(ExporterConfig config, Action<string> warn)
    {
        var handler = CreateHandler(config, warn, http2: true);
        handler.ConnectCallback = OwnConnections.ConnectAsync;
        return handler;
    }

    private static SocketsHttpHandler CreateHandler(ExporterConfig config, Action<string> warn, bool http2)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = ConnectionLifetime,
            EnableMultipleHttp2Connections = http2,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };

        if (config.CertificateFile is { Value: var caFile })
        {
            var trusted = LoadCertificates(caFile, warn);
            if (trusted is not null)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    ValidateWithCustomRoots(certificate, errors, trusted);
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

                // An ephemeral key from PEM cannot be used by SslStream on every platform; re-import it.
                handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null)];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                warn($"The client certificate '{certFile}' (key '{keyFile ?? "in the same file"}') could not be loaded ({e.Message}); connecting without one.");
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

    private static bool ValidateWithCustomRoots(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (certificate is null || trusted.Count == 0 || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }
}

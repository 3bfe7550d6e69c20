/// TLS from the exporter's side: a custom trusted CA file, a wrong CA refused, and mutual TLS with a client
/// certificate from PEM files. Certificates are generated for each run; the receiver is on loopback.
module Otlp.Tests.TlsTests

open System
open System.Collections.Generic
open System.IO
open System.Net
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Threading.Tasks
open Expecto
open Microsoft.Extensions.DependencyInjection
open Otlp
open Otlp.Core
open Otlp.Testing

/// A self-signed certificate for 127.0.0.1 and its PEM files (certificate, key) in a temporary folder.
type private Issued = { Certificate: X509Certificate2; CertificateFile: string; KeyFile: string }

let private folder = lazy (Directory.CreateTempSubdirectory("otlp-tls-").FullName)

let private issue (name: string) (server: bool) =
    use key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
    let request = CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256)
    let names = SubjectAlternativeNameBuilder()
    names.AddIpAddress IPAddress.Loopback
    names.AddDnsName "localhost"
    request.CertificateExtensions.Add(names.Build())
    let usages = OidCollection()
    usages.Add(Oid(if server then "1.3.6.1.5.5.7.3.1" else "1.3.6.1.5.5.7.3.2")) |> ignore
    request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension(usages, false))
    use created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 1.0)
    let certificateFile = Path.Combine(folder.Value, name + ".pem")
    let keyFile = Path.Combine(folder.Value, name + ".key")
    File.WriteAllText(certificateFile, created.ExportCertificatePem())
    File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem())
    { Certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null)
      CertificateFile = certificateFile
      KeyFile = keyFile }

let private server = lazy (issue "otlp-receiver" true)
let private client = lazy (issue "otlp-exporter" false)
let private stranger = lazy (issue "stranger" true)

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private request =
    Request.ofSpans
        (Resource.ofServiceName "tls")
        (InstrumentationScope.create "tls" "1.0")
        [ { Span.Empty with TraceId = { High = 1UL; Low = 2UL }; SpanId = { Value = 3UL }; Name = "secure" } ]

let private start (options: LoopbackReceiverOptions) : Task<LoopbackReceiver> = LoopbackReceiver.StartAsync options

let private export (receiver: LoopbackReceiver) protocol (configure: OtlpExporterOptions -> unit) =
    task {
        use exporter =
            OtlpExporter.ForTraces()
                .Configure(fun o ->
                    o.Protocol <- Nullable protocol
                    o.BaseEndpoint <- (if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()
                    o.Environment <- noEnvironment
                    o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0)
                    configure o)
                .Build()
        let! (result: OtlpExportResult) = exporter.ExportAsync request
        return result
    }

/// A receiver serving the server certificate that accepts only the exporter's client certificate.
let private mutualTlsReceiver () =
    let expected = client.Value.Certificate.Thumbprint
    LoopbackReceiverOptions()
        .WithServerCertificate(server.Value.Certificate)
        .WithClientCertificateValidation(fun (certificate: X509Certificate2) _ _ -> certificate.Thumbprint = expected)
    |> start

/// Trusts the server's certificate file and presents the client certificate from its PEM files.
let private mutualTls (o: OtlpExporterOptions) =
    o.CertificateFile <- server.Value.CertificateFile
    o.ClientCertificateFile <- client.Value.CertificateFile
    o.ClientKeyFile <- client.Value.KeyFile

/// A trace exporter to `receiver`'s endpoint for `protocol` with its scheme swapped (`http://` for `https://` and the
/// reverse), as a misconfiguration gives it, and a 1 s timeout.
let private withSchemeSwapped (receiver: LoopbackReceiver) protocol =
    let url = (if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()
    let swapped = if url.StartsWith "https://" then "http://" + url["https://".Length ..] else "https://" + url["http://".Length ..]
    OtlpExporter.ForTraces()
        .Configure(fun o ->
            o.Protocol <- Nullable protocol
            o.BaseEndpoint <- swapped
            o.Environment <- noEnvironment
            o.Timeout <- Nullable(TimeSpan.FromSeconds 1.0))
        .Build()

[<Tests>]
let tests =
    testList "TLS" [
        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"{protocol}: a server verified with the trusted CA file receives the data" {
                let! (receiver: LoopbackReceiver) = start (LoopbackReceiverOptions().WithServerCertificate(server.Value.Certificate))
                use _ = receiver
                let! (result: OtlpExportResult) = export receiver protocol (fun o -> o.CertificateFile <- server.Value.CertificateFile)
                Expect.equal result.Status OtlpExportStatus.Success $"delivered: {result.Message}"
                Expect.equal receiver.Spans.Count 1 "arrived"
            }

            testTask $"{protocol}: a server whose certificate the trusted CA file does not hold is refused" {
                let! (receiver: LoopbackReceiver) = start (LoopbackReceiverOptions().WithServerCertificate(server.Value.Certificate))
                use _ = receiver
                let! (result: OtlpExportResult) = export receiver protocol (fun o -> o.CertificateFile <- stranger.Value.CertificateFile)
                Expect.equal result.Status OtlpExportStatus.Failure "refused"
                Expect.equal receiver.Spans.Count 0 "nothing sent to the unverified server"
                Expect.stringContains result.Message "SecureConnectionError" "a connection that could not be secured"
                Expect.stringContains result.Message "certificate" "the runtime's reason, not only 'see inner exception'"
                Expect.isFalse (result.Message.Contains "TLS could not start") "no plain-text hint where a certificate was looked at"
            }

            testTask $"{protocol}: an http endpoint at a TLS receiver ends unanswered, pointing at https://" {
                let! (receiver: LoopbackReceiver) = start (LoopbackReceiverOptions().WithServerCertificate(server.Value.Certificate))
                use _ = receiver
                use exporter = withSchemeSwapped receiver protocol
                let! (result: OtlpExportResult) = exporter.ExportAsync request
                Expect.equal result.Status OtlpExportStatus.Failure "not delivered"
                // Contains, not starts with: on a loaded machine the deadline may cut a retry off, and the result then
                // begins with the timeout and quotes this attempt after it.
                Expect.stringContains result.Message "Could not reach http://" "no answer came"
                Expect.isFalse (result.Message.Contains "answered") "not 'answered gRPC Unavailable'"
                Expect.stringContains result.Message "if it uses TLS, its endpoint starts with https://" "the way out"
                Expect.equal exporter.Statistics.DroppedPermanentFailure 0L "retried as a connection failure"
                Expect.equal receiver.Requests.Count 0 "nothing arrived"
            }

            testTask $"{protocol}: an https endpoint at a plain-text receiver is a connection TLS could not start, pointing at http://" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _ = receiver
                use exporter = withSchemeSwapped receiver protocol
                let! (result: OtlpExportResult) = exporter.ExportAsync request
                Expect.equal result.Status OtlpExportStatus.Failure "not delivered"
                Expect.stringContains result.Message "Could not reach https://" "no answer came"
                Expect.isFalse (result.Message.Contains "answered") "not 'answered gRPC Internal'"
                Expect.stringContains result.Message "SecureConnectionError: The SSL connection could not be established: " "the kind and the runtime's reason"
                Expect.stringContains result.Message "if the receiver is plain text, its endpoint starts with http://" "the way out"
                Expect.equal exporter.Statistics.DroppedPermanentFailure 0L "retried as a connection failure, not a permanent one"
                Expect.equal receiver.Requests.Count 0 "nothing arrived"
            }

            testTask $"{protocol}: mutual TLS presents the client certificate from PEM files" {
                let! (receiver: LoopbackReceiver) = mutualTlsReceiver ()
                use _ = receiver
                let! (result: OtlpExportResult) = export receiver protocol mutualTls
                Expect.equal result.Status OtlpExportStatus.Success $"delivered: {result.Message}"
                Expect.equal receiver.Requests[0].ClientCertificate.Thumbprint client.Value.Certificate.Thumbprint "the client certificate"
            }

            testTask $"{protocol}: mutual TLS without a client certificate is refused" {
                let options =
                    LoopbackReceiverOptions()
                        .WithServerCertificate(server.Value.Certificate)
                        .WithClientCertificateValidation(fun _ _ _ -> true)
                let! (receiver: LoopbackReceiver) = start options
                use _ = receiver
                let! (result: OtlpExportResult) = export receiver protocol (fun o -> o.CertificateFile <- server.Value.CertificateFile)
                Expect.equal result.Status OtlpExportStatus.Failure "refused"
            }

        testTask "the batch loop's blocking send over HTTPS verifies the server and presents the client certificate" {
            // The loop sends synchronously over the exporter's own client, whose sockets are blocking: TLS is
            // negotiated on them with the synchronous calls.
            let! (receiver: LoopbackReceiver) = mutualTlsReceiver ()
            use _ = receiver
            use exporter =
                OtlpExporter.ForTraces()
                    .Configure(fun o ->
                        o.Protocol <- Nullable OtlpProtocol.HttpProtobuf
                        o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                        o.Environment <- noEnvironment
                        mutualTls o)
                    .Build()
            let scope = InstrumentationScope.create "tls" "1.0"
            for span in request.ResourceSpans[0].ScopeSpans[0].Spans do
                Expect.isTrue (exporter.Offer(span, scope)) "queued"
            let! flushed = exporter.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (1L, 0L) "exported by the loop"
            Expect.equal receiver.Spans.Count 1 "arrived"
            Expect.equal receiver.Requests[0].ClientCertificate.Thumbprint client.Value.Certificate.Thumbprint "the client certificate"
        }

        testTask "AddOtlpExporters applies the TLS files of the configuration, with a client of the exporter's own" {
            let! (receiver: LoopbackReceiver) = mutualTlsReceiver ()
            use _ = receiver
            use provider =
                Containers.exportersFrom
                    [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString()
                      "OTEL_EXPORTER_OTLP_CERTIFICATE", server.Value.CertificateFile
                      "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client.Value.CertificateFile
                      "OTEL_EXPORTER_OTLP_CLIENT_KEY", client.Value.KeyFile ]
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "are not used for this exporter") "says the container's client is not used"
            let! (result: OtlpExportResult) = exporter.ExportAsync request
            Expect.equal result.Status OtlpExportStatus.Success $"delivered: {result.Message}"
            Expect.equal receiver.Requests[0].ClientCertificate.Thumbprint client.Value.Certificate.Thumbprint "the client certificate"
        }

        testCase "TLS files beside an application's HttpClient, client factory or gRPC channel are reported as not applied" <| fun () ->
            use application = new Net.Http.HttpClient()
            use channel = Grpc.Net.Client.GrpcChannel.ForAddress("https://127.0.0.1:4317")
            let withFiles (o: OtlpExporterOptions) =
                o.Environment <- noEnvironment
                o.CertificateFile <- server.Value.CertificateFile
            let given = OtlpExporter.ForTraces().WithHttp().Configure(fun o -> withFiles o; o.HttpClient <- application).Build()
            let made = OtlpExporter.ForTraces().WithHttp().Configure(fun o -> withFiles o; o.HttpClientFactory <- (fun () -> application)).Build()
            let grpc = OtlpExporter.ForTraces().WithGrpc().Configure(fun o -> withFiles o; o.GrpcChannel <- channel).Build()
            let plain = OtlpExporter.ForTraces().WithHttp().Configure(fun o -> o.Environment <- noEnvironment; o.HttpClient <- application).Build()
            try
                for exporter, what in [ given, "the HttpClient given"; made, "the clients of the HttpClientFactory"; grpc, "the gRPC channel given" ] do
                    let warnings = exporter.ConfigurationWarnings
                    Expect.exists warnings (fun w -> w.Contains what && w.Contains server.Value.CertificateFile) $"warned for {what}: {warnings}"
                Expect.isEmpty plain.ConfigurationWarnings "no TLS files, no warning"
            finally
                for exporter in [ given; made; grpc; plain ] do
                    exporter.DisposeAsync().AsTask().Wait()

        testTask "an unreadable trusted CA file fails closed, with a warning" {
            let! (receiver: LoopbackReceiver) = start (LoopbackReceiverOptions().WithServerCertificate(server.Value.Certificate))
            use _ = receiver
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithTrustedCertificate(Path.Combine(folder.Value, "missing.pem"))
                    .Configure(fun o ->
                        o.Environment <- noEnvironment
                        o.Timeout <- Nullable(TimeSpan.FromSeconds 1.0))
                    .Build()
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "missing.pem") "warned"
            let! (result: OtlpExportResult) = exporter.ExportAsync request
            Expect.equal result.Status OtlpExportStatus.Failure "nothing trusted"
        }
    ]

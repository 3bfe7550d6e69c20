/// Diagnostics and client certificates as documented: problems of different kinds each said, configuration
/// warnings said once as what they are, and a client certificate's chain presented with it.
module Otlp.Tests.DiagnosticsTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics.Tracing
open System.IO
open System.Net
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Threading.Tasks
open Expecto
open Otlp
open Otlp.Core
open Otlp.Testing

let private folder = lazy (Directory.CreateTempSubdirectory("otlp-diagnostics-").FullName)
let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private collectingLogger (into: ConcurrentQueue<string>) =
    { new Microsoft.Extensions.Logging.ILogger with
        member _.BeginScope _ = null
        member _.IsEnabled _ = true
        member _.Log(_, _, state, error, formatter) = into.Enqueue(formatter.Invoke(state, error)) }

let private sans (request: CertificateRequest) =
    let names = SubjectAlternativeNameBuilder()
    names.AddIpAddress IPAddress.Loopback
    names.AddDnsName "localhost"
    request.CertificateExtensions.Add(names.Build())

let private eku (request: CertificateRequest) (oid: string) =
    let usages = OidCollection()
    usages.Add(Oid oid) |> ignore
    request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension(usages, false))

let private reload (c: X509Certificate2) = X509CertificateLoader.LoadPkcs12(c.Export(X509ContentType.Pkcs12), null)

let private ca (name: string) (issuer: X509Certificate2 option) =
    let key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
    let request = CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256)
    request.CertificateExtensions.Add(X509BasicConstraintsExtension(true, false, 0, true))
    request.CertificateExtensions.Add(X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign ||| X509KeyUsageFlags.CrlSign, true))
    request.CertificateExtensions.Add(X509SubjectKeyIdentifierExtension(request.PublicKey, false))
    match issuer with
    | None -> reload (request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 2.0))
    | Some i ->
        let serial = Array.init 8 (fun n -> byte (n + 1))
        use made = request.Create(i, DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 1.5, serial)
        reload (made.CopyWithPrivateKey key)

[<Tests>]
let tests =
    testList "Diagnostics and client certificates" [
        testCase "problems that differ after a long endpoint explanation (a 503, then a 401) are each said" <| fun () ->
            let lines = ConcurrentQueue<string>()
            let log = Otlp.Diagnostics.ProblemLog("traces", collectingLogger lines, TimeProvider.System)
            let endpoint = "https://otlp-gateway.example.com:4318/v1/traces (from OTEL_EXPORTER_OTLP_ENDPOINT with 'v1/traces' appended)"
            log.Write $"{endpoint} answered HTTP 503 Service Unavailable"
            log.Write $"{endpoint} answered HTTP 401 Unauthorized: invalid api key"
            let written = List.ofSeq lines
            Expect.equal written.Length 2 $"a 401 after a 503 is a different problem and should be logged: {written}"

        testCase "a configuration warning goes to the event source once, as a configuration problem, not an export problem" <| fun () ->
            let events = ConcurrentQueue<int * string>()
            use listener =
                { new EventListener() with
                    override this.OnEventSourceCreated source =
                        if source.Name = "Otlp" then this.EnableEvents(source, EventLevel.Verbose)
                    override _.OnEventWritten e =
                        if e.EventSource.Name = "Otlp" then
                            events.Enqueue(e.EventId, String.Join("|", e.Payload |> Seq.map string)) }
            let marker = "review-marker-missing-ca.pem"
            use exporter =
                OtlpExporter.ForTraces().WithHttp()
                    .WithTrustedCertificate(Path.Combine(folder.Value, marker))
                    .Configure(fun o -> o.Environment <- noEnvironment)
                    .Build()
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains marker) "warned"
            let mine = events |> Seq.filter (fun (_, p) -> p.Contains marker) |> List.ofSeq
            Expect.equal (mine |> List.map fst) [ 2 ] $"one ConfigurationProblem event, no ExportProblem event: {mine}"


        testCase "an encrypted client key is reported as encrypted, and the exporter is still built, without it" <| fun () ->
            let key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
            let request = CertificateRequest("CN=review-enc", key, HashAlgorithmName.SHA256)
            let cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 1.0)
            let certFile = Path.Combine(folder.Value, "review-enc.pem")
            let keyFile = Path.Combine(folder.Value, "review-enc.key")
            File.WriteAllText(certFile, cert.ExportCertificatePem())
            File.WriteAllText(keyFile, key.ExportEncryptedPkcs8PrivateKeyPem("pw".AsSpan(), PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)))
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint("https://127.0.0.1:1")
                    .WithClientCertificate(certFile, keyFile)
                    .Configure(fun o -> o.Environment <- noEnvironment)
                    .Build()
            let warnings = List.ofSeq exporter.ConfigurationWarnings
            Expect.exists warnings (fun w -> w.Contains "encrypted") $"says the key is encrypted: {warnings}"

        for protocol in [ OtlpProtocol.Grpc; OtlpProtocol.HttpProtobuf ] do
            testTask $"{protocol}: the client certificate chain of the PEM file is presented with the certificate" {
                let root = ca "review-root" None
                let intermediate = ca "review-intermediate" (Some root)
                // The server's certificate: self-signed, trusted through the CA file.
                let serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256)
                let serverRequest = CertificateRequest("CN=review-server", serverKey, HashAlgorithmName.SHA256)
                sans serverRequest
                eku serverRequest "1.3.6.1.5.5.7.3.1"
                let serverCert = reload (serverRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 1.0))
                let serverFile = Path.Combine(folder.Value, $"review-server-{protocol}.pem")
                File.WriteAllText(serverFile, serverCert.ExportCertificatePem())
                // The client's certificate: issued by the intermediate; the PEM file holds the chain (leaf, intermediate).
                let clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256)
                let clientRequest = CertificateRequest("CN=review-client", clientKey, HashAlgorithmName.SHA256)
                eku clientRequest "1.3.6.1.5.5.7.3.2"
                clientRequest.CertificateExtensions.Add(X509BasicConstraintsExtension(false, false, 0, false))
                let leaf = clientRequest.Create(intermediate, DateTimeOffset.UtcNow.AddDays -0.5, DateTimeOffset.UtcNow.AddDays 1.0, [| 9uy; 8uy; 7uy |])
                let chainFile = Path.Combine(folder.Value, $"review-client-chain-{protocol}.pem")
                let keyFile = Path.Combine(folder.Value, $"review-client-{protocol}.key")
                File.WriteAllText(chainFile, leaf.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem())
                File.WriteAllText(keyFile, clientKey.ExportPkcs8PrivateKeyPem())
                let sentIntermediates = ConcurrentQueue<string>()
                let options =
                    LoopbackReceiverOptions()
                        .WithServerCertificate(serverCert)
                        .WithClientCertificateValidation(fun (certificate: X509Certificate2) (chain: X509Chain) _ ->
                            // A server trusting only the root: it can verify the client only with the intermediate the client sends.
                            use own = new X509Chain()
                            own.ChainPolicy.TrustMode <- X509ChainTrustMode.CustomRootTrust
                            own.ChainPolicy.CustomTrustStore.Add root |> ignore
                            own.ChainPolicy.RevocationMode <- X509RevocationMode.NoCheck
                            if not (isNull chain) then own.ChainPolicy.ExtraStore.AddRange chain.ChainPolicy.ExtraStore
                            for c in own.ChainPolicy.ExtraStore do sentIntermediates.Enqueue c.Subject
                            own.Build certificate)
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync options
                use _ = receiver
                use exporter =
                    OtlpExporter.ForTraces()
                        .Configure(fun o ->
                            o.Protocol <- Nullable protocol
                            o.BaseEndpoint <- (if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()
                            o.Environment <- noEnvironment
                            o.Timeout <- Nullable(TimeSpan.FromSeconds 3.0)
                            o.CertificateFile <- serverFile
                            o.ClientCertificateFile <- chainFile
                            o.ClientKeyFile <- keyFile)
                        .Build()
                Expect.isEmpty exporter.ConfigurationWarnings "files loaded"
                let request =
                    Request.ofSpans (Resource.ofServiceName "tls") (InstrumentationScope.create "tls" "1.0")
                        [ { Span.Empty with TraceId = { High = 1UL; Low = 2UL }; SpanId = { Value = 3UL }; Name = "chain" } ]
                let! (result: OtlpExportResult) = exporter.ExportAsync request
                Expect.equal result.Status OtlpExportStatus.Success $"delivered with the chain (intermediates the server saw: {List.ofSeq sentIntermediates}): {result.Message}"
            }
    ]

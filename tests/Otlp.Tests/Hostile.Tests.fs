/// Odd and hostile answers, and the application's own odd parts (its HttpClient, its header provider), against the
/// transports: every one ends as a result that says what happened, within the export's time, never as an exception.
module Otlp.Tests.HostileTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Net
open System.Net.Sockets
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.AspNetCore.Http
open Microsoft.AspNetCore.Server.Kestrel.Core
open Otlp
open Otlp.Core
open Otlp.Testing
open Otlp.Tests.AnswersTests

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

let private spans count =
    Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..count -> (Gen.sampleWithSize 12 1 Generators.span)[0] ]

/// A Kestrel server on the loopback answering every request with `handler`, with its listen options (for TLS).
type private Server(protocols: HttpProtocols, handler: HttpContext -> Task, ?tls: ListenOptions -> unit) =
    let builder = WebApplication.CreateEmptyBuilder(WebApplicationOptions())
    do builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration() |> ignore
    let mutable listen: ListenOptions = null
    do
        builder.WebHost.ConfigureKestrel(fun k ->
            k.Listen(IPAddress.Loopback, 0, fun l ->
                l.Protocols <- protocols
                tls |> Option.iter (fun configure -> configure l)
                listen <- l))
        |> ignore
    let app = builder.Build()
    do app.Run(RequestDelegate handler)
    do app.StartAsync().GetAwaiter().GetResult()
    // The port the system gave: the listen options hold it once the server has started.
    member _.Url =
        let scheme = if tls.IsSome then "https" else "http"
        $"{scheme}://127.0.0.1:{listen.IPEndPoint.Port}"
    interface IAsyncDisposable with
        member _.DisposeAsync() = ValueTask(app.StopAsync())

/// A TCP server that accepts connections, reads what comes and never answers.
type private SilentServer() =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    let stop = new CancellationTokenSource()
    let clients = ConcurrentBag<TcpClient>()
    do
        listener.Start()
        let accept () : Task =
            task {
                try
                    while true do
                        let! client = listener.AcceptTcpClientAsync(stop.Token)
                        clients.Add client
                        let drain () : Task =
                            task {
                                let buffer = Array.zeroCreate 65536
                                try
                                    let mutable open' = true
                                    while open' do
                                        let! n = client.GetStream().ReadAsync(buffer, 0, buffer.Length)
                                        open' <- n > 0
                                with _ -> ()
                            }
                        Task.Run drain |> ignore
                with _ -> ()
            }
        Task.Run accept |> ignore
    member _.Url = $"http://127.0.0.1:{(listener.LocalEndpoint :?> IPEndPoint).Port}"
    interface IAsyncDisposable with
        member _.DisposeAsync() =
            stop.Cancel()
            listener.Stop()
            for c in clients do c.Dispose()
            ValueTask.CompletedTask

let private exporterTo (protocol: OtlpProtocol) (url: string) (configure: OtlpExporterOptions -> unit) =
    OtlpExporter.ForTraces().Configure(fun o ->
        o.Protocol <- protocol
        o.BaseEndpoint <- url
        o.Environment <- noEnvironment
        o.Timeout <- Nullable(TimeSpan.FromSeconds 5.0)
        configure o).Build()

let private receiverUrl (receiver: LoopbackReceiver) protocol =
    (if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()

/// The export's result; an exception escaping it (none may) fails the test, naming it.
let private exportNeverThrowing (exporter: OtlpTraceExporter) (request: ExportTraceServiceRequest) (cancellation: CancellationToken) =
    task {
        try
            return! exporter.ExportAsync(request, cancellation)
        with e ->
            return failtest $"ExportAsync threw {e.GetType().Name}: {e.Message}"
    }

let private headers (pairs: (string * string) list) =
    Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
        ValueTask<IEnumerable<KeyValuePair<string, string>>>([ for k, v in pairs -> KeyValuePair(k, v) ] :> IEnumerable<_>))

[<Tests>]
let tests =
    testSequenced <| testList "Hostile answers" [
        testTask "gRPC: a trailers-only UNAVAILABLE whose status details are not base64 is still retried" {
            // The client decodes every binary header of a trailers-only answer before it reads the status; one it
            // cannot decode made the answer INTERNAL, which is not retried.
            use server =
                new Server(HttpProtocols.Http2, fun context ->
                    context.Response.ContentType <- "application/grpc"
                    context.Response.Headers["grpc-status"] <- "14"
                    context.Response.Headers["grpc-message"] <- "restarting"
                    context.Response.Headers["grpc-status-details-bin"] <- "!!!!"
                    Task.CompletedTask)
            use exporter = exporterTo OtlpProtocol.Grpc server.Url ignore
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.isGreaterThan result.Attempts 1 "UNAVAILABLE is retried"
            Expect.stringContains result.Message "Unavailable" "the server's status, not INTERNAL"
        }

        testTask "HTTP: the application's HttpClient ending a request on its own timeout is a failed attempt, retried, never an exception" {
            use server = new SilentServer()
            let client () = new Http.HttpClient(Timeout = TimeSpan.FromMilliseconds 300.0)
            use direct = exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o -> o.HttpClient <- client ())
            let problems = ConcurrentQueue<string>()
            direct.Statistics.add_Problem(fun m -> problems.Enqueue m)
            let! (result: OtlpExportResult) = exportNeverThrowing direct (spans 1) CancellationToken.None
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.isGreaterThan result.Attempts 1 "retried within the exporter's timeout"
            // The last attempt may end by the exporter's own deadline instead; the client's timeouts are said.
            Expect.exists problems (fun p -> p.Contains "HttpClient.Timeout") "said"

            use batched =
                exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o ->
                    o.HttpClient <- client ()
                    o.BatchExportTimeout <- Nullable(TimeSpan.FromSeconds 3.0))
            batched.Offer((Gen.sampleWithSize 12 1 Generators.span)[0], InstrumentationScope.Empty) |> ignore
            let! (_: bool) = batched.ForceFlushAsync(TimeSpan.FromSeconds 20.0)
            Expect.equal batched.Statistics.DroppedPermanentFailure 0L "not a permanent failure"
            Expect.equal batched.Statistics.Dropped 1L "dropped once its retries ran out"
        }

        testTask "a direct export split into parts is bounded by one exporter timeout, not one a part" {
            use server = new SilentServer()
            use exporter =
                exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o ->
                    o.MaxRequestBytes <- Nullable 1024
                    o.Timeout <- Nullable(TimeSpan.FromMilliseconds 600.0))
            let span = (Gen.sampleWithSize 12 1 Generators.span)[0]
            // Four spans of about 650 bytes: each fits a part alone, two never do. The generated span's other text
            // (trace state, status message) is emptied too: long, it made a span too large alone, dropped at once.
            let sized = { span with Name = String('n', 600); TraceState = ""; Status = Status.Empty; Attributes = [||]; Events = [||]; Links = [||] }
            let big = Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..4 -> sized ]
            let watch = Diagnostics.Stopwatch.StartNew()
            let! (result: OtlpExportResult) = exportNeverThrowing exporter big CancellationToken.None
            Expect.equal result.Status OtlpExportStatus.Failure "nothing answered"
            Expect.isLessThan watch.Elapsed.TotalSeconds 1.8 "within about one timeout (four would be 2.4 s)"
            Expect.equal exporter.Statistics.Dropped 4L "every span counted once"
        }

        testTask "HTTP: a 200 whose body is cut short delivered the data: not sent again" {
            use server = new RawServer(fun _ -> "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100\r\nConnection: close\r\n\r\nabc")
            use exporter = exporterTo OtlpProtocol.HttpProtobuf server.Url ignore
            let problems = ConcurrentQueue<string>()
            exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal (result.Status, result.Attempts, server.Requests.Length) (OtlpExportStatus.Success, 1, 1) "the status decides"
            Expect.exists problems (fun p -> p.Contains "could not be read") "the unread body said"
        }

        for encoding in [ "gzip"; "zstd" ] do
            testTask $"gRPC: a {encoding} answer that inflates far past the response limit fails the call without being held" {
                // An empty response padded with 64 MiB of zeros in an unknown field, compressed to a few KB: within
                // the client's receive limit on the wire, sixteen times over it once inflated.
                let inflated = 64 * 1024 * 1024
                let compressed =
                    use output = new IO.MemoryStream()
                    do
                        use compressing: IO.Stream =
                            if encoding = "gzip" then new IO.Compression.GZipStream(output, IO.Compression.CompressionLevel.Optimal, true)
                            else new ZstdSharp.CompressionStream(output, 3, 0, true)
                        // Field 15, length-delimited, then the length 2^26 as a varint.
                        compressing.Write([| 0x7Auy; 0x80uy; 0x80uy; 0x80uy; 0x20uy |], 0, 5)
                        let zeros = Array.zeroCreate<byte> (1024 * 1024)
                        for _ in 1 .. inflated / zeros.Length do
                            compressing.Write(zeros, 0, zeros.Length)
                    output.ToArray()
                use server =
                    new Server(HttpProtocols.Http2, fun context ->
                        task {
                            context.Response.ContentType <- "application/grpc"
                            context.Response.Headers["grpc-encoding"] <- encoding
                            let prefix = Array.zeroCreate<byte> 5
                            prefix[0] <- 1uy
                            Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(prefix.AsSpan(1), compressed.Length)
                            do! context.Response.Body.WriteAsync(prefix, 0, prefix.Length)
                            do! context.Response.Body.WriteAsync(compressed, 0, compressed.Length)
                            context.Response.AppendTrailer("grpc-status", "0")
                        })
                use exporter = exporterTo OtlpProtocol.Grpc server.Url ignore
                let before = GC.GetTotalAllocatedBytes true
                let! (result: OtlpExportResult) = exportNeverThrowing exporter (spans 1) CancellationToken.None
                let allocated = GC.GetTotalAllocatedBytes true - before
                // Grpc.Net.Client bounds the inflated message by its receive limit (the exporter's 4 MiB).
                Expect.equal result.Status OtlpExportStatus.Failure $"the answer cannot be read: {result.Message}"
                Expect.stringContains result.Message "exceeds the maximum" "refused for its size"
                Expect.stringContains result.Message "the client refused it" "said to be the client's refusal, not the server's status"
                Expect.isLessThan allocated (int64 inflated / 4L) $"the inflated answer was not held ({allocated} bytes allocated)"
            }

        testTask "HTTP: the application's decompressing client and a 200 with a corrupt gzip body: the status decides" {
            use server =
                new Server(HttpProtocols.Http1, fun context ->
                    task {
                        context.Response.ContentType <- "application/x-protobuf"
                        context.Response.Headers["Content-Encoding"] <- "gzip"
                        let garbage = Array.init 64 (fun i -> byte (i * 7 + 1))
                        do! context.Response.Body.WriteAsync(garbage, 0, garbage.Length)
                    })
            let client = new Http.HttpClient(new Http.HttpClientHandler(AutomaticDecompression = DecompressionMethods.All))
            use exporter = exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o -> o.HttpClient <- client)
            let! (result: OtlpExportResult) = exportNeverThrowing exporter (spans 1) CancellationToken.None
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Success, 1) "delivered"
        }

        testTask "a header provider's null value is sent as an empty one, over HTTP and gRPC alike" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                receiver.Clear()
                use exporter = exporterTo protocol (receiverUrl receiver protocol) (fun o -> o.HeaderProvider <- headers [ "x-empty", null; "x-set", "1" ])
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (result: OtlpExportResult) = exportNeverThrowing exporter (spans 1) CancellationToken.None
                Expect.equal result.Status OtlpExportStatus.Success $"{protocol}: delivered"
                let request = receiver.Requests[0]
                Expect.equal (request.Header "x-set") "1" $"{protocol}: the other header"
                Expect.isTrue (request.Headers.ContainsKey "x-empty") $"{protocol}: the empty one sent"
                Expect.isEmpty problems $"{protocol}: nothing to report: {List.ofSeq problems}"
        }

        testTask "a header provider's content header (Content-Type) is skipped and said, and the other headers sent" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                receiver.Clear()
                use exporter =
                    exporterTo protocol (receiverUrl receiver protocol) (fun o ->
                        o.HeaderProvider <- headers [ "Content-Language", "en"; "authorization", "Bearer t0ken" ])
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (result: OtlpExportResult) = exportNeverThrowing exporter (spans 1) CancellationToken.None
                Expect.equal result.Status OtlpExportStatus.Success $"{protocol}: delivered"
                Expect.exists receiver.Requests (fun r -> r.Headers.ContainsKey "authorization") $"{protocol}: the other header sent"
                if protocol = OtlpProtocol.HttpProtobuf then
                    Expect.exists problems (fun p -> p.Contains "'Content-Language'" && not (p.Contains "en;")) "said, by name"
        }

        test "a configured content header is reported as not sent, by name only" {
            use exporter = exporterTo OtlpProtocol.HttpProtobuf "http://127.0.0.1:9" (fun o -> o.Headers["Content-Type"] <- "s3cr3t-value")
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "'Content-Type'") "reported"
            Expect.all exporter.ConfigurationWarnings (fun w -> not (w.Contains "s3cr3t")) "the value never shown"
        }

        testTask "a header provider that does not heed its token cannot hold the export past its timeout" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                use exporter =
                    exporterTo protocol (receiverUrl receiver protocol) (fun o ->
                        o.Timeout <- Nullable(TimeSpan.FromSeconds 1.0)
                        o.HeaderProvider <-
                            Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
                                ValueTask<IEnumerable<KeyValuePair<string, string>>>(
                                    task {
                                        do! Task.Delay 6000
                                        return [ KeyValuePair("authorization", "Bearer t") ] :> IEnumerable<_>
                                    })))
                let watch = Diagnostics.Stopwatch.StartNew()
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal result.Status OtlpExportStatus.Failure $"{protocol}: failed"
                Expect.isLessThan watch.Elapsed.TotalSeconds 3.0 $"{protocol}: within the 1 s timeout and a margin"
        }

        testTask "no export timeout and a server's delay of years: ExportAsync waits, cancellable, and never throws" {
            use server = new RawServer(fun _ -> "HTTP/1.1 503 Unavailable\r\nRetry-After: 99999999\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            let environment = Dictionary<string, string>(dict [ "OTEL_EXPORTER_OTLP_TIMEOUT", "0" ]) :> IReadOnlyDictionary<string, string>
            use exporter = exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o -> o.Environment <- environment; o.Timeout <- Nullable())
            let cancel = new CancellationTokenSource(TimeSpan.FromSeconds 1.0)
            let! (result: OtlpExportResult) = exportNeverThrowing exporter (spans 1) cancel.Token
            Expect.equal (result.Status, result.Attempts) (OtlpExportStatus.Failure, 1) "given up when cancelled"
            cancel.Dispose()
        }

        testTask "server text in problems is made printable and bounded: no forged log lines" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let forged = "first line\n2026-01-01 ERROR forged log line \u202E" + String('z', 200_000)
            for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
                receiver.Enqueue(Reply.PartialSuccess(1L, forged), Reply.GrpcStatus(Grpc.Core.StatusCode.InvalidArgument, "bad\nforged line"))
                use exporter = exporterTo protocol (receiverUrl receiver protocol) ignore
                let problems = ConcurrentQueue<string>()
                exporter.Statistics.add_Problem(fun m -> problems.Enqueue m)
                let! (_: OtlpExportResult) = exporter.ExportAsync(spans 2)
                let! (_: OtlpExportResult) = exporter.ExportAsync(spans 2)
                Expect.isNonEmpty problems $"{protocol}: reported"
                Expect.all problems (fun p -> not (p.Contains '\n') && not (p.Contains '\u202E') && p.Length < 5000) $"{protocol}: printable and bounded"
        }

        testTask "TLS: a CA file holding only the root trusts a server that sends its intermediate with its certificate" {
            let request (name: string) (authority: bool) =
                let key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
                let request = CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256)
                request.CertificateExtensions.Add(X509BasicConstraintsExtension(authority, false, 0, true))
                if authority then
                    request.CertificateExtensions.Add(X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign ||| X509KeyUsageFlags.CrlSign, true))
                else
                    let names = SubjectAlternativeNameBuilder()
                    names.AddIpAddress IPAddress.Loopback
                    request.CertificateExtensions.Add(names.Build())
                    let serverAuth = OidCollection()
                    serverAuth.Add(Oid "1.3.6.1.5.5.7.3.1") |> ignore
                    request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension(serverAuth, false))
                request.CertificateExtensions.Add(X509SubjectKeyIdentifierExtension(request.PublicKey, false))
                key, request
            let now = DateTimeOffset.UtcNow
            let _, rootRequest = request "hostile-root" true
            let root = rootRequest.CreateSelfSigned(now.AddDays -1.0, now.AddDays 10.0)
            let intermediateKey, intermediateRequest = request "hostile-intermediate" true
            let intermediate = intermediateRequest.Create(root, now.AddDays -1.0, now.AddDays 5.0, [| 1uy; 2uy; 3uy |])
            let leafKey, leafRequest = request "hostile-leaf" false
            let leaf = leafRequest.Create(intermediate.CopyWithPrivateKey intermediateKey, now.AddDays -1.0, now.AddDays 2.0, [| 4uy; 5uy; 6uy |])
            let leafWithKey = X509CertificateLoader.LoadPkcs12(leaf.CopyWithPrivateKey(leafKey).Export(X509ContentType.Pkcs12), null)
            let caFile = IO.Path.Combine(IO.Path.GetTempPath(), $"otlp-root-{Guid.NewGuid():N}.pem")
            IO.File.WriteAllText(caFile, root.ExportCertificatePem())
            try
                let tls (listen: ListenOptions) =
                    listen.UseHttps(fun (https: Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions) ->
                        https.ServerCertificate <- leafWithKey
                        https.ServerCertificateChain <- X509Certificate2Collection intermediate)
                    |> ignore
                use server = new Server(HttpProtocols.Http1, (fun _ -> Task.CompletedTask), tls)
                use exporter = exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o -> o.CertificateFile <- caFile)
                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                Expect.equal result.Status OtlpExportStatus.Success $"trusted through the intermediate: {result.Message}"
            finally
                IO.File.Delete caFile
        }

        testTask "HTTP: a 200 whose body trickles on for ever is bounded by the timeout" {
            use server =
                new Server(HttpProtocols.Http1, fun context ->
                    task {
                        context.Response.ContentType <- "application/x-protobuf"
                        try
                            while not context.RequestAborted.IsCancellationRequested do
                                do! context.Response.Body.WriteAsync([| 0uy |], 0, 1, context.RequestAborted)
                                do! context.Response.Body.FlushAsync(context.RequestAborted)
                                do! Task.Delay(50, context.RequestAborted)
                        with _ -> ()
                    })
            use exporter = exporterTo OtlpProtocol.HttpProtobuf server.Url (fun o -> o.Timeout <- Nullable(TimeSpan.FromSeconds 1.0))
            let watch = Diagnostics.Stopwatch.StartNew()
            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.isLessThan watch.Elapsed.TotalSeconds 4.0 "within the timeout and a margin"
        }
    ]

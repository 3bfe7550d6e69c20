/// Raw clients of the receiver (HttpClient, Grpc.Net.Client over byte arrays), sample data and certificates.
module Otlp.Testing.Tests.Clients

open System
open System.IO
open System.IO.Compression
open System.Net
open System.Net.Http
open System.Net.Http.Headers
open System.Net.Security
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Google.Protobuf
open Grpc.Core
open Grpc.Net.Client
open Otlp.Core
open Otlp.Testing

// ---------------------------------------------------------------------------------------------------------
// Sample data

/// An export request of any signal, with its two encodings.
type Sample =
    | TraceSample of ExportTraceServiceRequest
    | MetricsSample of ExportMetricsServiceRequest
    | LogsSample of ExportLogsServiceRequest

    member this.Signal =
        match this with
        | TraceSample _ -> Traces
        | MetricsSample _ -> Metrics
        | LogsSample _ -> Logs

    member this.Proto =
        match this with
        | TraceSample r -> ProtoEncoder.traceRequestToBytes r
        | MetricsSample r -> ProtoEncoder.metricsRequestToBytes r
        | LogsSample r -> ProtoEncoder.logsRequestToBytes r

    member this.Json =
        match this with
        | TraceSample r -> OtlpJson.traceRequestToBytes r
        | MetricsSample r -> OtlpJson.metricsRequestToBytes r
        | LogsSample r -> OtlpJson.logsRequestToBytes r

/// The decoded model of a received request, re-encoded as protobuf: the encoder is deterministic, so equal
/// bytes mean the receiver decoded what was sent.
let reencoded (request: ReceivedRequest) =
    match request.Signal with
    | Traces -> ProtoEncoder.traceRequestToBytes request.TraceRequest
    | Metrics -> ProtoEncoder.metricsRequestToBytes request.MetricsRequest
    | Logs -> ProtoEncoder.logsRequestToBytes request.LogsRequest

/// A few generated requests of a signal, from a fixed seed so that failures replay.
let samples (signal: Signal) (count: int) =
    let seed = FsCheck.Rnd 20261128UL

    match signal with
    | Traces -> Gen.sampleWithSeed seed 12 count Generators.traceRequest |> Array.map TraceSample
    | Metrics -> Gen.sampleWithSeed seed 12 count Generators.metricsRequest |> Array.map MetricsSample
    | Logs -> Gen.sampleWithSeed seed 12 count Generators.logsRequest |> Array.map LogsSample

let span (name: string) =
    { Span.Empty with
        TraceId = { High = 1UL; Low = 2UL }
        SpanId = { Value = 3UL }
        Name = name
        StartTimeUnixNano = 1_000UL
        EndTimeUnixNano = 2_000UL }

/// A request holding spans with these names.
let spans (names: string list) =
    TraceSample(Request.ofSpans (Resource.ofServiceName "tests") (InstrumentationScope.create "tests" "1") (List.map span names))

/// A request holding one gauge with `points` data points.
let gauge (points: int) =
    let point i =
        { Attributes = [||]
          StartTimeUnixNano = 0UL
          TimeUnixNano = uint64 (i + 1)
          Value = AsInt(int64 i)
          Exemplars = [||]
          Flags = 0u }

    let metric =
        { Name = "queue.length"
          Description = ""
          Unit = "1"
          Data = MetricData.Gauge(Array.init points point)
          Metadata = [||] }

    MetricsSample(Request.ofMetrics Resource.Empty InstrumentationScope.Empty [ metric ])

/// A request holding log records with these bodies.
let logs (bodies: string list) =
    let records = bodies |> List.map (fun b -> { LogRecord.Empty with Body = AnyValue.String b })
    LogsSample(Request.ofLogRecords Resource.Empty InstrumentationScope.Empty records)

// ---------------------------------------------------------------------------------------------------------
// Compression

let gzip (bytes: byte array) =
    use output = new MemoryStream()

    do
        use zip = new GZipStream(output, CompressionLevel.Fastest, true)
        zip.Write(bytes, 0, bytes.Length)

    output.ToArray()

let zstd (bytes: byte array) =
    use compressor = new ZstdSharp.Compressor()
    compressor.Wrap(ReadOnlySpan bytes).ToArray()

/// The client side of `grpc-encoding: zstd`.
type ZstdProvider() =
    interface Grpc.Net.Compression.ICompressionProvider with
        member _.EncodingName = "zstd"

        member _.CreateCompressionStream(stream, _) =
            new ZstdSharp.CompressionStream(stream, leaveOpen = true)

        member _.CreateDecompressionStream(stream) =
            new ZstdSharp.DecompressionStream(stream, leaveOpen = true)

// ---------------------------------------------------------------------------------------------------------
// HTTP

let protobuf = "application/x-protobuf"
let json = "application/json"

/// A POST of `body` with `contentType` to `uri` over HTTP/2 only (no fallback to HTTP/1.1), for the caller to send.
let http2Post (uri: Uri) (contentType: string) (body: byte array) =
    let request = new HttpRequestMessage(HttpMethod.Post, uri)
    request.Version <- HttpVersion.Version20
    request.VersionPolicy <- HttpVersionPolicy.RequestVersionExact
    request.Content <- new ByteArrayContent(body)
    request.Content.Headers.TryAddWithoutValidation("content-type", contentType) |> ignore
    request

/// Posts a body with a content type, an optional content encoding and extra headers.
let post
    (client: HttpClient)
    (url: Uri)
    (contentType: string)
    (encoding: string)
    (headers: (string * string) list)
    (body: byte array)
    =
    task {
        use request = new HttpRequestMessage(HttpMethod.Post, url)
        let content = new ByteArrayContent(body)
        content.Headers.ContentType <- MediaTypeHeaderValue.Parse contentType

        if encoding <> "" then
            content.Headers.ContentEncoding.Add encoding

        request.Content <- content

        for name, value in headers do
            request.Headers.TryAddWithoutValidation(name, value) |> ignore

        return! client.SendAsync request
    }

/// Posts a sample to its signal's URL as protobuf or JSON.
let postSample (client: HttpClient) (receiver: LoopbackReceiver) (asJson: bool) (sample: Sample) =
    if asJson then
        post client (receiver.HttpUrl sample.Signal) json "" [] sample.Json
    else
        post client (receiver.HttpUrl sample.Signal) protobuf "" [] sample.Proto

let bodyOf (response: HttpResponseMessage) =
    response.Content.ReadAsByteArrayAsync()

// ---------------------------------------------------------------------------------------------------------
// gRPC

let private bytesMarshaller = Marshallers.Create<byte array>(id, id)

let serviceName (signal: Signal) =
    match signal with
    | Traces -> "opentelemetry.proto.collector.trace.v1.TraceService"
    | Metrics -> "opentelemetry.proto.collector.metrics.v1.MetricsService"
    | Logs -> "opentelemetry.proto.collector.logs.v1.LogsService"

let exportMethod (signal: Signal) =
    Method<byte array, byte array>(MethodType.Unary, serviceName signal, "Export", bytesMarshaller, bytesMarshaller)

/// A channel to the receiver's gRPC endpoint that can compress with gzip and zstd.
let channel (receiver: LoopbackReceiver) (handler: HttpMessageHandler) =
    let options = GrpcChannelOptions()
    options.CompressionProviders <- [| Grpc.Net.Compression.GzipCompressionProvider(CompressionLevel.Fastest); ZstdProvider() |]

    if not (isNull handler) then
        options.HttpHandler <- handler

    GrpcChannel.ForAddress(receiver.GrpcEndpoint, options)

/// Calls Export with raw protobuf bytes; `encoding` ("" for none) compresses the message.
let export (channel: GrpcChannel) (signal: Signal) (encoding: string) (headers: (string * string) list) (payload: byte array) =
    let metadata = Metadata()

    if encoding <> "" then
        metadata.Add("grpc-internal-encoding-request", encoding)

    for name, value in headers do
        metadata.Add(name, value)

    channel.CreateCallInvoker().AsyncUnaryCall(exportMethod signal, null, CallOptions(metadata), payload)

/// The 5-byte gRPC message prefix and the message, uncompressed.
let grpcFrame (message: byte array) =
    let frame = Array.zeroCreate (5 + message.Length)
    Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(Span(frame, 1, 4), message.Length)
    Array.blit message 0 frame 5 message.Length
    frame

// ---------------------------------------------------------------------------------------------------------
// google.rpc.Status, read back by hand as the receiver writes it

let private fields (bytes: byte array) =
    let input = new CodedInputStream(bytes)

    [ let mutable tag = input.ReadTag()

      while tag <> 0u do
          let number = WireFormat.GetTagFieldNumber tag

          match WireFormat.GetTagWireType tag with
          | WireFormat.WireType.Varint -> yield number, box (input.ReadInt64())
          | WireFormat.WireType.LengthDelimited -> yield number, box (input.ReadBytes().ToByteArray())
          | other -> failwith $"unexpected wire type {other}"

          tag <- input.ReadTag() ]

/// Code, message and the RetryInfo delay (if any) of a `google.rpc.Status`.
let readStatus (bytes: byte array) =
    let all = fields bytes

    let code =
        all |> List.tryPick (fun (n, v) -> if n = 1 then Some(unbox<int64> v) else None) |> Option.defaultValue 0L

    let message =
        all
        |> List.tryPick (fun (n, v) -> if n = 2 then Some(Text.Encoding.UTF8.GetString(unbox<byte array> v)) else None)
        |> Option.defaultValue ""

    let retryDelay =
        all
        |> List.tryPick (fun (n, v) ->
            if n <> 3 then
                None
            else
                let any = fields (unbox<byte array> v)
                let typeUrl = any |> List.pick (fun (n, v) -> if n = 1 then Some(Text.Encoding.UTF8.GetString(unbox<byte array> v)) else None)
                Expect.equal typeUrl "type.googleapis.com/google.rpc.RetryInfo" "the detail is a RetryInfo"
                let retryInfo = any |> List.pick (fun (n, v) -> if n = 2 then Some(unbox<byte array> v) else None)
                let duration = fields retryInfo |> List.pick (fun (n, v) -> if n = 1 then Some(unbox<byte array> v) else None)
                let parts = fields duration
                let seconds = parts |> List.tryPick (fun (n, v) -> if n = 1 then Some(unbox<int64> v) else None) |> Option.defaultValue 0L
                let nanos = parts |> List.tryPick (fun (n, v) -> if n = 2 then Some(unbox<int64> v) else None) |> Option.defaultValue 0L
                Some(TimeSpan.FromSeconds(float seconds) + TimeSpan.FromTicks(nanos / 100L)))

    int code, message, retryDelay

// ---------------------------------------------------------------------------------------------------------
// Certificates

/// A self-signed certificate for 127.0.0.1 and localhost, for server or client authentication.
let certificate (name: string) (server: bool) =
    use key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
    let request = CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256)
    let names = SubjectAlternativeNameBuilder()
    names.AddIpAddress IPAddress.Loopback
    names.AddDnsName "localhost"
    request.CertificateExtensions.Add(names.Build())
    let usage = if server then "1.3.6.1.5.5.7.3.1" else "1.3.6.1.5.5.7.3.2"
    request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension((let oids = OidCollection() in oids.Add(Oid usage) |> ignore; oids), false))
    use created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays -1.0, DateTimeOffset.UtcNow.AddDays 1.0)
    // A round trip through PKCS#12 gives a key that SslStream can use on every platform.
    X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null)

/// A handler that trusts exactly `server` and presents `client` (when not null).
let tlsHandler (server: X509Certificate2) (client: X509Certificate2) =
    let handler = new SocketsHttpHandler()

    handler.SslOptions.RemoteCertificateValidationCallback <-
        RemoteCertificateValidationCallback(fun _ certificate _ _ ->
            not (isNull certificate) && certificate.GetCertHashString() = server.Thumbprint)

    if not (isNull client) then
        handler.SslOptions.ClientCertificates <- X509CertificateCollection([| client :> X509Certificate |])

    handler

/// Runs `action`, expecting it to fail with an exception of type 'E (or derived), and returns that exception.
let throwsT<'E when 'E :> exn> (action: unit -> Task) (message: string) : Task<'E> =
    task {
        let! outcome =
            task {
                try
                    do! action ()
                    return None
                with e ->
                    return Some e
            }

        return
            match outcome with
            | Some(:? 'E as e) -> e
            | Some(:? AggregateException as e) when (e.InnerException :? 'E) -> e.InnerException :?> 'E
            | Some other -> failtestf "%s: expected %s, got %s: %s" message typeof<'E>.Name (other.GetType().Name) other.Message
            | None -> failtestf "%s: expected %s, but nothing was thrown" message typeof<'E>.Name
    }

/// Starts a receiver with these options for the duration of `body`.
let withOptions (options: LoopbackReceiverOptions) (body: LoopbackReceiver -> Task<unit>) =
    task {
        let! receiver = LoopbackReceiver.StartAsync options

        try
            do! body receiver
        finally
            (receiver :> IDisposable).Dispose()
    }

/// Starts a plain receiver for the duration of `body`.
let withReceiver (body: LoopbackReceiver -> Task<unit>) = withOptions (LoopbackReceiverOptions()) body

/// One HttpClient for the plain-text tests (HTTP/1.1, no automatic decompression).
let http = new HttpClient(new SocketsHttpHandler(AutomaticDecompression = DecompressionMethods.None))

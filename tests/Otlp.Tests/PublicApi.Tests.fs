/// The public surface as a first-time user meets it: that what the XML docs promise holds (argument checks,
/// defaults, what is never thrown or shown).
module Otlp.Tests.PublicApiTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics.Tracing
open System.Threading.Tasks
open Expecto
open Otlp
open Otlp.Core
open Otlp.Diagnostics

/// A port nothing listens on.
let private closedPort () =
    let listener = new Net.Sockets.TcpListener(Net.IPAddress.Loopback, 0)
    listener.Start()
    let port = (listener.LocalEndpoint :?> Net.IPEndPoint).Port
    listener.Stop()
    port

/// A logger that keeps every message it is given, with the exception's text.
let private collectingLogger (into: ConcurrentQueue<string>) =
    { new Microsoft.Extensions.Logging.ILogger with
        member _.BeginScope _ = null
        member _.IsEnabled _ = true
        member _.Log(_, _, state, error, formatter) =
            into.Enqueue(formatter.Invoke(state, error) + (if isNull error then "" else " " + string error)) }

let private span name =
    { Span.Empty with TraceId = { High = 7UL; Low = 8UL }; SpanId = { Value = 9UL }; Name = name }

/// A server that keeps each request's URL and headers and answers success, as OTLP/HTTP or as OTLP/gRPC.
type private Answering(grpc: bool) =
    inherit Net.Http.HttpMessageHandler()
    let seen = ConcurrentQueue<string * string list>()

    member _.Seen = List.ofSeq seen

    override _.SendAsync(request, _) =
        let headers = [ for h in request.Headers -> $"{h.Key}={String.Join(',', h.Value)}" ]
        seen.Enqueue(request.RequestUri.ToString(), headers)
        let response = new Net.Http.HttpResponseMessage(Net.HttpStatusCode.OK, Version = Net.HttpVersion.Version20)
        if grpc then
            response.Content <- new Net.Http.ByteArrayContent([| 0uy; 0uy; 0uy; 0uy; 0uy |])
            response.Content.Headers.ContentType <- Net.Http.Headers.MediaTypeHeaderValue "application/grpc"
            response.TrailingHeaders.Add("grpc-status", "0")
        else
            response.Content <- new Net.Http.ByteArrayContent([||])
            response.Content.Headers.ContentType <- Net.Http.Headers.MediaTypeHeaderValue "application/x-protobuf"
        Task.FromResult response

/// Whether `t` is, or is built from, a type of FSharp.Core (an option, a list, a function, unit).
let rec private fromFSharpCore (t: Type) =
    not (isNull t)
    && ((not (isNull t.Namespace) && t.Namespace.StartsWith("Microsoft.FSharp", StringComparison.Ordinal))
        || (t.IsGenericType && t.GetGenericArguments() |> Array.exists fromFSharpCore)
        || ((t.IsArray || t.IsByRef) && fromFSharpCore (t.GetElementType())))

[<Tests>]
let tests =
    testSequenced <| testList "Public API" [
        // STYLE.md, the boundary between F# and C#: "No FSharp.Core types in the C# package's public API".
        test "the C# package's public members use no FSharp.Core type" {
            let flags = Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Instance ||| Reflection.BindingFlags.Static ||| Reflection.BindingFlags.DeclaredOnly
            let leaks =
                [ for t in typeof<OtlpExporter>.Assembly.GetExportedTypes() do
                    if fromFSharpCore t.BaseType then $"{t.FullName}: its base type"
                    for m in t.GetMembers flags do
                        let types =
                            match m with
                            | :? Reflection.MethodBase as mb ->
                                [ for p in mb.GetParameters() do
                                      yield p.ParameterType
                                  match mb with
                                  | :? Reflection.MethodInfo as mi -> yield mi.ReturnType
                                  | _ -> () ]
                            | :? Reflection.PropertyInfo as p -> [ p.PropertyType ]
                            | :? Reflection.FieldInfo as f -> [ f.FieldType ]
                            | :? Reflection.EventInfo as e -> [ e.EventHandlerType ]
                            | _ -> []
                        if types |> List.exists fromFSharpCore then $"{t.FullName}.{m.Name}" ]
            Expect.isEmpty leaks "public members with FSharp.Core types"
            Expect.isTrue (fromFSharpCore typeof<int option>) "the check sees an option"
            Expect.isTrue (fromFSharpCore typeof<Collections.Generic.List<int list>>) "and one inside a generic"
        }

        for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
            testTask $"header values, good and bad, from code, environment and provider, appear on no diagnostic surface ({protocol})" {
                // Each secret is distinct, so a leak names the path it took.
                let secret i = $"S3CR3T{i}x9q"
                let environment =
                    dict [ "OTEL_EXPORTER_OTLP_HEADERS", $"api-key={secret 1},Authorization: Basic {secret 2},k=%%zz{secret 3}"
                           "OTEL_EXPORTER_OTLP_TRACES_HEADERS", $"bad key={secret 4},x={secret 13}%%"
                           "OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem" ]
                    |> Dictionary
                let logged = ConcurrentQueue<string>()
                let problems = ConcurrentQueue<string>()
                let events = new Otlp.Tests.ApiTests.ProblemListener()
                use _events = { new IAsyncDisposable with member _.DisposeAsync() = events.Dispose(); ValueTask.CompletedTask }
                let mutable built = Unchecked.defaultof<OtlpTraceExporter>
                let thrown =
                    try
                        built <-
                            OtlpExporter.ForTraces()
                                .WithBaseEndpoint($"http://user:{secret 11}@127.0.0.1:{closedPort ()}/?key={secret 12}")
                                .WithHeader("x-token", secret 5)
                                .WithHeader($"Authorization: Bearer {secret 6}", "v")
                                .WithHeader("x-bad", $"{secret 7}\r\n")
                                .WithHeaderProvider(fun _ ->
                                    ValueTask<IEnumerable<KeyValuePair<string, string>>>(
                                        [ KeyValuePair("x-provided", secret 8 + "\n")
                                          KeyValuePair($"Authorization: {secret 9}", "v")
                                          KeyValuePair("x-ok", secret 10) ]))
                                .WithClientCertificate("/no/such/client.pem", "/no/such/client.key")
                                .Configure(fun o ->
                                    o.Protocol <- Nullable protocol
                                    o.Environment <- environment
                                    o.Logger <- collectingLogger logged
                                    o.Timeout <- Nullable(TimeSpan.FromMilliseconds 300.0)
                                    o.ScheduledDelay <- Nullable(TimeSpan.FromMilliseconds 10.0))
                                .Build()
                        None
                    with e -> Some e
                Expect.isNone thrown "Build never throws for bad configuration"
                use exporter = built
                exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
                let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
                exporter.Offer(span "y", InstrumentationScope.Empty) |> ignore
                let! (_: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 5.0)
                Expect.equal result.Status OtlpExportStatus.Failure "nothing listens"
                Expect.isNonEmpty exporter.ConfigurationWarnings "the bad settings are reported"
                Expect.isNonEmpty problems "the failures are reported"
                let surfaces =
                    [ "Destination", exporter.Destination
                      "ToString", exporter.ToString()
                      "Config.display", Config.display exporter.Configuration
                      "Config.ToString", exporter.Configuration.ToString()
                      "result", string result
                      "Statistics", string exporter.Statistics ]
                    @ [ for w in exporter.ConfigurationWarnings -> "ConfigurationWarnings", w ]
                    @ [ for p in problems -> "Problem", p ]
                    @ [ for l in logged -> "ILogger", l ]
                    @ [ for m in events.Messages -> "EventSource", m ]
                for (surface, text) in surfaces do
                    for i in 1..13 do
                        Expect.isFalse (text.Contains(secret i)) $"secret {i} in {surface}: {text}"
            }
    
        testTask "Offer refuses a null item or scope at the call, so one bad call cannot fail a batch of others' items" {
            let! (receiver: Otlp.Testing.LoopbackReceiver) = Otlp.Testing.LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(Dictionary<string, string>()).Build()
            Expect.throwsT<ArgumentNullException> (fun () -> exporter.Offer(Unchecked.defaultof<Span>, InstrumentationScope.Empty) |> ignore) "null item"
            Expect.throwsT<ArgumentNullException> (fun () -> exporter.Offer(span "a", Unchecked.defaultof<InstrumentationScope>) |> ignore) "null scope"
            Expect.isTrue (exporter.Offer(span "b", InstrumentationScope.Empty)) "a good item is queued"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (exporter.Statistics.Exported, exporter.Statistics.Dropped) (1L, 0L) "the good item is exported, nothing dropped"
        }

        test "Offer on the metrics exporter, which does not batch, throws InvalidOperationException naming what to use instead" {
            use exporter = OtlpExporter.ForMetrics().WithEnvironment(Dictionary<string, string>()).Build()
            let metric = { Name = "m"; Description = ""; Unit = ""; Data = MetricData.Gauge [||]; Metadata = [||] }
            let error = Expect.throwsC (fun () -> exporter.Offer(metric, InstrumentationScope.Empty) |> ignore) id
            Expect.isTrue (error :? InvalidOperationException) "InvalidOperationException"
            Expect.stringContains error.Message "ExportAsync" "names the way that works"
        }
    
        test "an enum value no member names (an integer cast to it) is warned about and counts as unset" {
            let environment = dict [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc" ] |> Dictionary
            use exporter =
                OtlpExporter.ForTraces().Configure(fun o ->
                    o.Environment <- environment
                    o.Protocol <- Nullable(enum<OtlpProtocol> 42)
                    o.Compression <- Nullable(enum<OtlpCompression> 7)).Build()
            Expect.isTrue exporter.Configuration.Exporter.Protocol.IsGrpc "the environment's protocol"
            Expect.isTrue exporter.Configuration.Exporter.Compression.IsNone "no compression"
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "Protocol (42)") "the protocol warned about"
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "Compression (7)") "the compression warned about"
        }

        testTask "a transport's builder keeps its type through the shared settings, so its own settings may come last" {
            let provider = Func<Threading.CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
                ValueTask<IEnumerable<KeyValuePair<string, string>>>([ KeyValuePair("from-provider", "p") ]))
            let http = new Answering(false)
            let httpBuilder: OtlpHttpExporterBuilder<OtlpTraceExporter> =
                OtlpExporter.ForTraces().WithHttp()
                    .WithEnvironment(Dictionary<string, string>()).WithBaseEndpoint("http://collector:4318")
                    .WithSignalEndpoint(null).WithHeader("k", "v").WithHeaderProvider(provider)
                    .WithTimeout(TimeSpan.FromSeconds 5.0).WithCompression(OtlpCompression.None)
                    .WithTrustedCertificate(null).WithClientCertificate(null, null).WithServiceName("svc")
                    .WithResourceAttribute("a", 1).Configure(ignore)
            let client = new Net.Http.HttpClient(http)
            use overClient = httpBuilder.WithHttpClient(client).Build()
            let grpc = new Answering(true)
            let channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://collector:4317", Grpc.Net.Client.GrpcChannelOptions(HttpHandler = grpc))
            let grpcBuilder: OtlpGrpcExporterBuilder<OtlpTraceExporter> =
                OtlpExporter.ForTraces().WithGrpc().WithEnvironment(Dictionary<string, string>()).WithHeader("k", "v")
            use overChannel = grpcBuilder.WithChannel(channel).Build()
            for exporter in [ overClient; overChannel ] do
                Expect.isTrue (exporter.Offer(span "s", InstrumentationScope.Empty)) "queued"
                let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
                Expect.isTrue flushed "flushed"
                Expect.equal exporter.Statistics.Exported 1L "exported"
            match http.Seen, grpc.Seen with
            | [ (url, headers) ], [ (grpcUrl, grpcHeaders) ] ->
                Expect.equal url "http://collector:4318/v1/traces" "the shared endpoint, through the application's client"
                Expect.contains headers "k=v" "the shared header"
                Expect.contains headers "from-provider=p" "the provider's header"
                Expect.equal grpcUrl "http://collector:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export" "through the application's channel"
                Expect.contains grpcHeaders "k=v" "the shared header over gRPC"
            | other -> failtest $"one request each, got {other}"
            let attribute key = overClient.Resource.Attributes |> Array.find (fun a -> a.Key = key)
            Expect.equal (attribute "service.name").Value (AnyValue.String "svc") "the service name"
            Expect.equal (attribute "a").Value (AnyValue.Int 1L) "the resource attribute"
            channel.Dispose()
            client.Dispose()
        }

        test "a gRPC exporter's destination says whether it uses TLS (its own channel), else what the given channel knows" {
            let environment = Dictionary<string, string>()
            for scheme in [ "http"; "https" ] do
                use exporter = OtlpExporter.ForTraces().WithEnvironment(environment).WithGrpc().WithBaseEndpoint($"{scheme}://collector:4317").Build()
                Expect.stringStarts
                    exporter.Destination
                    $"gRPC {scheme}://collector:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export ("
                    "the scheme, the host and the call's path"
            use channel = Grpc.Net.Client.GrpcChannel.ForAddress("https://elsewhere:4317")
            use given = OtlpExporter.ForTraces().WithEnvironment(environment).WithGrpc().WithChannel(channel).Build()
            Expect.stringStarts given.Destination "gRPC elsewhere:4317 /opentelemetry.proto.collector.trace.v1.TraceService/Export" "the channel's target, no scheme guessed"
        }

        test "builder methods: null for an optional setting leaves it to the environment, null for a required argument throws" {
            let environment =
                dict [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"; "OTEL_SERVICE_NAME", "from-env" ] |> Dictionary
            use exporter =
                OtlpExporter.ForTraces().WithEnvironment(environment)
                    .WithBaseEndpoint(null).WithSignalEndpoint(null).WithServiceName(null)
                    .WithTrustedCertificate(null).WithClientCertificate(null, null)
                    .WithHeader("k", null).WithResourceAttribute("empty", null).Build()
            Expect.stringContains exporter.Destination "http://env:4318/v1/traces" "the environment's endpoint"
            Expect.isEmpty exporter.ConfigurationWarnings "nothing to warn about"
            let attribute key = exporter.Resource.Attributes |> Array.find (fun a -> a.Key = key)
            Expect.equal (attribute "service.name").Value (AnyValue.String "from-env") "the environment's service name"
            Expect.equal (attribute "empty").Value AnyValue.Empty "a null attribute value is empty"
            let builder = OtlpExporter.ForTraces()
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithHeader(null, "v") |> ignore) "header name"
            Expect.throwsT<ArgumentException> (fun () -> builder.WithHeader("", "v") |> ignore) "empty header name"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithResourceAttribute(null, "v") |> ignore) "attribute key"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithHeaderProvider(null) |> ignore) "header provider"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.Configure(null) |> ignore) "configure"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithGrpc().WithChannel(null) |> ignore) "channel"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithHttp().WithHttpClient(null) |> ignore) "client"
            Expect.throwsT<ArgumentNullException> (fun () -> builder.WithHttp().WithHttpClientFactory(null) |> ignore) "client factory"
        }
    ]

/// The container and builder surface as the documentation promises it: redirects off on the container's client,
/// AddOtlp's Logs switch, configuration problems said once, the logger's own settings kept, and a client of the
/// other protocol never dropped silently.
module Otlp.Tests.RegistrationTests

open System
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open Expecto
open Microsoft.Extensions.Configuration
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Microsoft.Extensions.Logging
open Microsoft.Extensions.Options
open Otlp
open Otlp.Core
open Otlp.Logging
open Otlp.Testing
open Otlp.Tests.AnswersTests

let private status (code: int) (reason: string) (headers: string) =
    $"HTTP/1.1 {code} {reason}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"

let private span name =
    { Span.Empty with
        TraceId = TraceId.FromBytes(Guid.NewGuid().ToByteArray())
        SpanId = { Value = 7UL }
        Name = name
        StartTimeUnixNano = 1UL
        EndTimeUnixNano = 2UL }

let private config (pairs: (string * string) list) =
    ConfigurationBuilder().AddInMemoryCollection(dict pairs).Build() :> IConfiguration

[<Tests>]
let tests =
    testSequenced <| testList "Registration" [
        // docs/exporters.md "Redirects are not followed ... The clients and channels the exporter makes turn automatic
        // redirects off"; DI section: "HTTP exporters take their HttpClient from IHttpClientFactory (client name Otlp)".
        testTask "an exporter of AddOtlpExporters does not follow a redirect: nothing, and no header, goes to the Location" {
            use target = new RawServer(fun _ -> status 200 "OK" "")
            use redirecting = new RawServer(fun _ -> status 307 "Temporary Redirect" $"Location: http://127.0.0.1:{target.Port}/elsewhere\r\n")
            let services = ServiceCollection()
            services.AddOtlpExporters(fun o ->
                o.BaseEndpoint <- redirecting.Url
                o.Headers["api-key"] <- "s3cr3t"
                o.Environment <- Dictionary<string, string>()) |> ignore
            use provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
            Expect.equal target.Requests.Length 0 "nothing (no data, no api-key) sent to the Location"
            Expect.equal result.Status OtlpExportStatus.Failure "a 3xx is a permanent failure"
        }

        // docs/exporters.md, DI: the container's Otlp client "never logs a header's value".
        testTask "the container's Otlp client never logs a header's value, whatever the application's defaults for every client" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let logged = System.Collections.Concurrent.ConcurrentQueue<string>()
            let collecting =
                { new ILoggerProvider with
                    member _.CreateLogger category =
                        { new ILogger with
                            member _.BeginScope _ = null
                            member _.IsEnabled _ = true
                            member _.Log(_, _, state, error, formatter) = logged.Enqueue(category + ": " + formatter.Invoke(state, error)) }
                    member _.Dispose() = () }
            let services = ServiceCollection()
            services.AddLogging(fun b -> b.SetMinimumLevel(LogLevel.Trace).AddProvider(collecting) |> ignore) |> ignore
            // An application whose clients log every header's value.
            services.ConfigureHttpClientDefaults(fun b -> b.RedactLoggedHeaders(fun (_: string) -> false) |> ignore) |> ignore
            services.AddOtlpExporters(fun o ->
                o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                o.Headers["api-key"] <- "s3cr3t-header-value"
                o.Environment <- Dictionary<string, string>()) |> ignore
            use provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
            Expect.equal result.Status OtlpExportStatus.Success "delivered"
            let lines = List.ofSeq logged
            Expect.exists lines (fun l -> l.Contains "api-key") $"the factory logged the request's headers, by name: {lines}"
            Expect.all lines (fun l -> not (l.Contains "s3cr3t-header-value")) "never a header's value"
        }

        // docs/exporters.md, DI: a handler added to every client applies to the Otlp client, its exceptions are retried
        // failures, and ConfigureAdditionalHttpMessageHandlers takes such handlers off.
        testTask "a handler added to every client fails the Otlp client's exports without throwing, and can be taken off it" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exportWith (takeOff: bool) =
                task {
                    let services = ServiceCollection()
                    services.ConfigureHttpClientDefaults(fun b ->
                        b.AddHttpMessageHandler(fun () ->
                            { new Net.Http.DelegatingHandler() with
                                member _.SendAsync(_, _) = raise (InvalidOperationException "The circuit is open.") })
                        |> ignore) |> ignore
                    services.AddOtlpExporters(fun o ->
                        o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                        // Longer than the first retry's delay (at most 1 s), so that there is always a retry.
                        o.Timeout <- Nullable(TimeSpan.FromMilliseconds 1500.0)
                        o.Environment <- Dictionary<string, string>()) |> ignore
                    if takeOff then
                        services.AddHttpClient(OtlpServiceCollectionExtensions.HttpClientName)
                            .ConfigureAdditionalHttpMessageHandlers(fun handlers _ -> handlers.Clear()) |> ignore
                    use provider = services.BuildServiceProvider()
                    let exporter = provider.GetRequiredService<OtlpTraceExporter>()
                    return! exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
                }
            let! (failed: OtlpExportResult) = exportWith false
            Expect.equal failed.Status OtlpExportStatus.Failure "the application's handler failed it"
            Expect.stringContains failed.Message "The circuit is open." "the result says why"
            Expect.isGreaterThan failed.Attempts 1 "retried"
            let! (delivered: OtlpExportResult) = exportWith true
            Expect.equal delivered.Status OtlpExportStatus.Success "delivered once the handler is taken off"
        }

        // docs/usage.md (AddOtlp options: "... `Logs` (on)"); OtlpPipelineOptions.Logs: "Whether log entries are exported".
        testTask "services.AddOtlp with Logs = false exports no log entries" {
            // How many log records one entry logged through a host with `logs` set makes arrive.
            let arrivedWith (logs: bool) =
                task {
                    let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                    use _receiver = receiver
                    let services = ServiceCollection()
                    services
                        .AddSingleton<IConfiguration>(config [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString() ])
                        .AddOtlp(fun o -> o.Logs <- logs) |> ignore
                    let provider = services.BuildServiceProvider()
                    use _provider = provider
                    let hosted = provider.GetServices<IHostedService>() |> List.ofSeq
                    for h in hosted do do! h.StartAsync CancellationToken.None
                    provider.GetRequiredService<ILogger<OtlpPipeline>>().LogWarning("exported only with Logs on")
                    for h in hosted do do! h.StopAsync CancellationToken.None
                    return receiver.LogRecords.Count
                }
            let! withLogs = arrivedWith true
            Expect.equal withLogs 1 "the same host with Logs on exports the entry (the check below can see one)"
            let! withoutLogs = arrivedWith false
            Expect.equal withoutLogs 0 "Logs = false: nothing exported"
        }

        // Otlp section values that cannot be read are "said in each exporter's ConfigurationWarnings" (once).
        test "services.AddOtlp reports a bad Otlp section value once per exporter" {
            let services = ServiceCollection()
            services.AddSingleton<IConfiguration>(config [ "Otlp:Timeout", "soon" ]).AddOtlp() |> ignore
            use provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            let said = exporter.ConfigurationWarnings |> Seq.filter (fun w -> w.StartsWith "Otlp:Timeout") |> List.ofSeq
            Expect.equal said.Length 1 "said once"
        }

        test "AddOtlpExporters called twice reports a bad Otlp section value once" {
            let services = ServiceCollection()
            services.AddSingleton<IConfiguration>(config [ "Otlp:Timeout", "soon" ]).AddOtlpExporters().AddOtlpExporters() |> ignore
            use provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            let said = exporter.ConfigurationWarnings |> Seq.filter (fun w -> w.StartsWith "Otlp:Timeout") |> List.ofSeq
            Expect.equal said.Length 1 "said once"
        }

        // docs/usage.md: "Logs alone: builder.Logging.AddOtlp(o => o.IncludeScopes = true);" combined with services.AddOtlp().
        test "Logging.AddOtlp(IncludeScopes = true) stands after services.AddOtlp(), which does not set it" {
            let services = ServiceCollection()
            services.AddLogging(fun b -> b.AddOtlp(fun o -> o.IncludeScopes <- true) |> ignore) |> ignore
            services.AddOtlp() |> ignore
            use provider = services.BuildServiceProvider()
            let options = provider.GetRequiredService<IOptions<OtlpLoggerOptions>>().Value
            Expect.isTrue options.IncludeScopes "the logging callback's IncludeScopes kept"
        }

        // docs/exporters.md, connections: "open no new request on a connection older than five minutes"; Redirects:
        // "The clients and channels the exporter makes turn automatic redirects off". The container's "Otlp" client,
        // held for the exporter's life.
        test "the container's Otlp client keeps its primary handler, with automatic redirects off" {
            let services = ServiceCollection()
            services.AddOtlpExporters(fun o -> o.BaseEndpoint <- "http://127.0.0.1:4318"; o.Environment <- Dictionary<string, string>()) |> ignore
            use provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            let flags = Reflection.BindingFlags.Instance ||| Reflection.BindingFlags.NonPublic ||| Reflection.BindingFlags.Public
            let field (o: obj) (pred: Type -> bool) =
                let rec find (t: Type) =
                    if isNull t then null
                    else
                        match t.GetFields(flags) |> Array.tryFind (fun f -> pred f.FieldType) with
                        | Some f -> f.GetValue o
                        | None -> find t.BaseType
                find (o.GetType())
            let transport = field exporter (fun t -> t.Name = "IExportTransport")
            let client = field transport (fun t -> t = typeof<Net.Http.HttpClient>) :?> Net.Http.HttpClient
            let mutable handler = field client (fun t -> t = typeof<Net.Http.HttpMessageHandler>) :?> Net.Http.HttpMessageHandler
            while (handler :? Net.Http.DelegatingHandler) do
                handler <- (handler :?> Net.Http.DelegatingHandler).InnerHandler
            let redirects, lifetime =
                match handler with
                | :? Net.Http.SocketsHttpHandler as h -> h.AllowAutoRedirect, h.PooledConnectionLifetime
                | :? Net.Http.HttpClientHandler as h ->
                    let inner = field h (fun t -> t = typeof<Net.Http.SocketsHttpHandler>) :?> Net.Http.SocketsHttpHandler
                    h.AllowAutoRedirect, inner.PooledConnectionLifetime
                | other -> failtest $"unexpected {other}"
            Expect.isFalse redirects "redirects off"
            // The lifetime is the factory's (2 min in .NET 10): connections are recycled at least as often as the
            // exporter's own clients recycle theirs.
            Expect.isTrue
                (lifetime <> Timeout.InfiniteTimeSpan && lifetime <= TimeSpan.FromMinutes 5.0)
                $"connections recycled within five minutes ({lifetime})"
        }

        // docs/exporters.md: settings of one transport are offered only on its builder; builders "silently ignoring input".
        test "a gRPC channel given before WithHttp() is reported as not used, as an HttpClient given to a gRPC exporter is" {
            use channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:4317")
            use exporter =
                OtlpExporter.ForTraces().WithGrpc().WithChannel(channel).WithHttp()
                    .WithEnvironment(Dictionary<string, string>()).Build()
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "gRPC channel given in the options is not used") "the unused channel is said"
            use grpc =
                OtlpExporter.ForTraces().WithHttp().WithHttpClient(new Net.Http.HttpClient()).WithGrpc()
                    .WithEnvironment(Dictionary<string, string>()).Build()
            Expect.exists grpc.ConfigurationWarnings (fun w -> w.Contains "HttpClient given in the options is not used") "the unused client is said"
        }
    ]

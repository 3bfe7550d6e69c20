/// The public surface around the exporters: self-telemetry, dependency injection, header providers.
module Otlp.Tests.ApiTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics.Metrics
open System.Diagnostics.Tracing
open System.Threading.Tasks
open Expecto
open Microsoft.Extensions.DependencyInjection
open Otlp
open Otlp.Core
open Otlp.Diagnostics
open Otlp.Testing
open Otlp.Tests.Support

let private startReceiver () : Task<LoopbackReceiver> = LoopbackReceiver.StartAsync()

let private noEnvironment = Dictionary<string, string>() :> IReadOnlyDictionary<string, string>

/// An application's HttpClient whose handler counts the requests it sees through its SendAsync (and only there).
let private countingClient () =
    let sent = ref 0
    let handler =
        { new Net.Http.DelegatingHandler(new Net.Http.SocketsHttpHandler()) with
            member _.SendAsync(request, token) =
                Threading.Interlocked.Increment(&sent.contents) |> ignore
                base.SendAsync(request, token) }
    new Net.Http.HttpClient(handler), sent

/// What a resilience pipeline's open circuit throws from its handler: an exception of its own, not an HTTP one.
type private CircuitOpenException(message: string) =
    inherit Exception(message)

/// An application's HttpClient whose handlers fail the first `failures` requests as an open circuit does.
let private failingClient (failures: int) =
    let seen = ref 0
    let handler =
        { new Net.Http.DelegatingHandler(new Net.Http.SocketsHttpHandler()) with
            member _.SendAsync(request, token) =
                if Threading.Interlocked.Increment(&seen.contents) <= failures then
                    Task.FromException<Net.Http.HttpResponseMessage>(CircuitOpenException "The circuit is now open and is not allowing calls.")
                else
                    base.SendAsync(request, token) }
    new Net.Http.HttpClient(handler), seen

/// A trace exporter over HTTP to `receiver` through the application's `client`.
let private exporterThrough (client: Net.Http.HttpClient) (receiver: LoopbackReceiver) =
    OtlpExporter.ForTraces().WithHttp().WithHttpClient(client).WithBaseEndpoint(receiver.HttpEndpoint.ToString())
        .Configure(fun o -> o.Environment <- noEnvironment).Build()

let private span name =
    { Span.Empty with TraceId = { High = 7UL; Low = 8UL }; SpanId = { Value = 9UL }; Name = name }

/// Collects the events of the Otlp event source (also used by the public API tests).
type ProblemListener() =
    inherit EventListener()
    member val Messages = ConcurrentQueue<string>()
    override this.OnEventSourceCreated source =
        if source.Name = OtlpSelfTelemetry.Name then this.EnableEvents(source, EventLevel.Verbose)
    override this.OnEventWritten event =
        this.Messages.Enqueue(String.Join(" ", event.Payload |> Seq.map string))

[<Tests>]
let tests =
    testSequenced <| testList "Api" [
        testTask "exports and drops are reported on the Otlp meter, tagged with the signal and reason" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let measurements = ConcurrentQueue<string * int64 * string>()
            let listener = new MeterListener()
            use _listener = disposing listener
            listener.InstrumentPublished <- fun instrument l -> if instrument.Meter.Name = OtlpSelfTelemetry.Name then l.EnableMeasurementEvents instrument
            listener.SetMeasurementEventCallback<int64>(fun instrument value tags _ ->
                let pairs = tags.ToArray()
                let tagText = String.Join(",", pairs |> Array.map (fun t -> $"{t.Key}={t.Value}"))
                measurements.Enqueue(instrument.Name, value, tagText))
            listener.Start()
            receiver.Enqueue(Reply.PartialSuccess(1L, "one too old"))
            use exporter =
                OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            let records = [| for i in 1..3 -> { LogRecord.Empty with Body = AnyValue.String $"r{i}" } |]
            let! (_: OtlpExportResult) = exporter.ExportAsync(Request.ofLogRecords Resource.Empty InstrumentationScope.Empty records)
            let seen = List.ofSeq measurements
            Expect.contains seen ("otlp.exporter.items.exported", 2L, "otlp.signal=logs") "exported"
            Expect.contains seen ("otlp.exporter.items.dropped", 1L, "otlp.signal=logs,otlp.reason=rejected_by_server") "rejected"
        }

        testTask "problems reach the Otlp event source without header values" {
            let listener = new ProblemListener()
            use _listener = disposing listener
            let secret = "very-secret-token"
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint("http://127.0.0.1:1").WithHeader("authorization", secret)
                    .Configure(fun o ->
                        o.Environment <- noEnvironment
                        o.Timeout <- Nullable(TimeSpan.FromMilliseconds 300.0)).Build()
            let! (_: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
            let messages = List.ofSeq listener.Messages
            Expect.exists messages (fun m -> m.Contains "127.0.0.1:1") "the failure is reported"
            for m in messages do Expect.isFalse (m.Contains secret) "no secret"
        }

        testTask "the logger gets one warning per kind of problem per minute, the Problem event every one" {
            let logged = ConcurrentQueue<string>()
            let logger =
                { new Microsoft.Extensions.Logging.ILogger with
                    member _.BeginScope _ = null
                    member _.IsEnabled _ = true
                    member _.Log(_, _, state, _, formatter) = logged.Enqueue(formatter.Invoke(state, null)) }
            let events = ref 0
            // Answers the receiver gives at once and that are not retried: each export meets exactly one problem,
            // whatever the machine's load (a refused connection under a short timeout could also time out: a
            // second kind).
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            receiver.Enqueue(Reply.HttpStatus 400, Reply.HttpStatus 400, Reply.HttpStatus 400, Reply.HttpStatus 404)
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .Configure(fun o ->
                        o.Environment <- noEnvironment
                        o.Logger <- logger).Build()
            exporter.Statistics.add_Problem(fun _ -> Threading.Interlocked.Increment(&events.contents) |> ignore)
            for _ in 1..3 do
                let! (_: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
                ()
            Expect.equal logged.Count 1 "three of one kind: written once"
            let! (_: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
            Expect.equal logged.Count 2 "another kind: written too"
            Expect.all logged (fun m -> m.Contains "HTTP 400" || m.Contains "HTTP 404") $"the statuses: {String.Join(' ', logged)}"
            Expect.equal events.Value 4 "every problem raised"
        }

        testTask "an HttpClient passed in is used as is and not disposed with the exporter" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let client, sent = countingClient ()
            use _client = disposing client
            let exporter = exporterThrough client receiver
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "own client" ])
            Expect.equal result.Status OtlpExportStatus.Success "delivered"
            do! exporter.DisposeAsync()
            Expect.equal sent.Value 1 "through the given client"
            // A disposed client would throw here.
            let! (response: Net.Http.HttpResponseMessage) = client.GetAsync(receiver.HttpEndpoint)
            response.Dispose()
            Expect.equal sent.Value 2 "the client still sends after the exporter is disposed"
        }

        testTask "a configured User-Agent is sent instead of the exporter's own, over HTTP and gRPC" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            for grpc in [ false; true ] do
                receiver.Clear()
                use exporter =
                    OtlpExporter.ForTraces().Configure(fun o ->
                        o.Protocol <- (if grpc then OtlpProtocol.Grpc else OtlpProtocol.HttpProtobuf)
                        o.BaseEndpoint <- (if grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint).ToString()
                        o.Headers["User-Agent"] <- "checkout/2.1"
                        o.Environment <- noEnvironment).Build()
                let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "ua" ])
                Expect.equal result.Status OtlpExportStatus.Success "delivered"
                let sent = receiver.Requests[0].Header "user-agent"
                // Over gRPC the client puts its own product first (grpc-dotnet/...), whatever the metadata says.
                if grpc then Expect.stringEnds sent " checkout/2.1" $"the configured one after the client's: {sent}"
                else Expect.equal sent "checkout/2.1" "the configured one"
                Expect.isFalse (sent.Contains "OTel-OTLP-Exporter-Dotnet") $"grpc {grpc}: not the exporter's as well: {sent}"
        }

        test "resource attributes given in code are mapped as activity tags are" {
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithEnvironment(Dictionary<string, string>())
                    .WithResourceAttribute("ints", [| 1; 2 |])
                    .WithResourceAttribute("mixed", [| box "x"; box 3L; null |])
                    .WithResourceAttribute("bytes", [| 1uy; 2uy |])
                    .WithResourceAttribute("long", 5L)
                    .WithResourceAttribute("float", 2.5f)
                    .WithResourceAttribute("ulong", UInt64.MaxValue)
                    .WithResourceAttribute("decimal", 1.25m)
                    .WithResourceAttribute("empty", null)
                    .Build()
            let value key = (exporter.Resource.Attributes |> Array.find (fun a -> a.Key = key)).Value
            Expect.equal (value "ints") (AnyValue.Array [| AnyValue.Int 1L; AnyValue.Int 2L |]) "an int array, element by element"
            Expect.equal (value "mixed") (AnyValue.Array [| AnyValue.String "x"; AnyValue.Int 3L; AnyValue.Empty |]) "each element its own type"
            Expect.equal (value "bytes") (AnyValue.Bytes [| 1uy; 2uy |]) "bytes"
            Expect.equal (value "long") (AnyValue.Int 5L) "long"
            Expect.equal (value "float") (AnyValue.Double 2.5) "float"
            Expect.equal (value "ulong") (AnyValue.String "18446744073709551615") "ulong as text, as a tag"
            Expect.equal (value "decimal") (AnyValue.String "1.25") "decimal as text, as a tag"
            Expect.equal (value "empty") AnyValue.Empty "null"
        }

        test "a request limit under the smallest is raised to it, with a configuration warning" {
            use exporter =
                OtlpExporter.ForTraces().WithHttp().Configure(fun o ->
                    o.Environment <- noEnvironment
                    o.MaxRequestBytes <- Nullable 100).Build()
            Expect.equal exporter.MaxRequestBytes OtlpTraceExporter.MinRequestBytes "raised"
            Expect.contains
                exporter.ConfigurationWarnings
                "MaxRequestBytes: 100 is less than 1024, the smallest request limit; using 1024."
                "warned"
            use fine = OtlpExporter.ForTraces().WithHttp().Configure(fun o -> o.Environment <- noEnvironment; o.MaxRequestBytes <- Nullable 1024).Build()
            Expect.isEmpty fine.ConfigurationWarnings "the smallest itself is fine"
        }

        testTask "a handler of the application's client failing with an exception of its own is retried, not thrown" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let client, seen = failingClient 1
            use _client = disposing client
            use exporter = exporterThrough client receiver
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "after the circuit" ])
            Expect.equal (result.Status, result.Attempts, seen.Value) (OtlpExportStatus.Success, 2, 2) "failed once, then delivered"
            Expect.equal receiver.Spans.Count 1 "the span arrived"
        }

        testTask "a handler of the application's client that always fails: a failure that says why, the items counted" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let client, seen = failingClient Int32.MaxValue
            use _client = disposing client
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithHttpClient(client).WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    // Longer than the first retry's delay (at most 1 s), so that there is always a retry.
                    .WithTimeout(TimeSpan.FromMilliseconds 1500.0)
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            let! (result: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "a"; span "b" ])
            Expect.equal result.Status OtlpExportStatus.Failure "failed"
            Expect.isGreaterThan seen.Value 1 "retried"
            Expect.stringContains result.Message "CircuitOpenException" $"names the handler's exception: {result.Message}"
            Expect.equal exporter.Statistics.Dropped 2L "both spans counted as dropped"
            Expect.equal receiver.Spans.Count 0 "nothing arrived"
        }

        testTask "batched exports through an application's client go through its handlers' SendAsync" {
            // The batch loop sends synchronously only with the exporter's own client: a handler that overrides
            // SendAsync alone would be skipped by a synchronous Send (DelegatingHandler.Send calls the inner one).
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let client, sent = countingClient ()
            use _client = disposing client
            let exporter = exporterThrough client receiver
            Expect.isTrue (exporter.Offer(span "batched", InstrumentationScope.create "app" "1")) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal sent.Value 1 "through the handler's SendAsync"
            Expect.equal receiver.Spans.Count 1 "delivered"
            do! exporter.DisposeAsync()
        }

        testTask "a header provider that completes later still sets its headers on the batch loop's synchronous sends" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let provider =
                Func<Threading.CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun token ->
                    ValueTask<IEnumerable<KeyValuePair<string, string>>>(
                        task {
                            do! Task.Delay(20, token)
                            return [ KeyValuePair("authorization", "Bearer later") ] :> IEnumerable<_>
                        }))
            use exporter =
                OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithHeaderProvider(provider)
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            Expect.isTrue (exporter.Offer(span "batched", InstrumentationScope.create "app" "1")) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
            Expect.equal (receiver.Requests |> Seq.map (fun r -> r.Header "authorization") |> List.ofSeq) [ "Bearer later" ] "the provider's header"
        }

        testTask "a header provider is called before every export and its headers win" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let calls = ref 0
            let provider =
                Func<Threading.CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
                    let n = Threading.Interlocked.Increment(&calls.contents)
                    ValueTask<IEnumerable<KeyValuePair<string, string>>>([ KeyValuePair("authorization", $"Bearer token-{n}") ] :> IEnumerable<_>))
            use exporter =
                OtlpExporter.ForTraces().WithGrpc().WithBaseEndpoint(receiver.GrpcEndpoint.ToString())
                    .WithHeader("authorization", "Bearer static").WithHeaderProvider(provider)
                    .Configure(fun o -> o.Environment <- noEnvironment).Build()
            for _ in 1..2 do
                let! (_: OtlpExportResult) = exporter.ExportAsync(Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span "x" ])
                ()
            Expect.equal (receiver.Requests |> Seq.map (fun r -> r.Header "authorization") |> List.ofSeq) [ "Bearer token-1"; "Bearer token-2" ] "fresh tokens"
        }

        testTask "a container disposed synchronously flushes its exporters and throws nothing" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            let services = ServiceCollection()
            services.AddOtlpExporters(fun o ->
                o.BaseEndpoint <- receiver.HttpEndpoint.ToString()
                o.Environment <- Dictionary<string, string>()) |> ignore
            services.AddOtlp(fun o -> o.Sources.Add "Test.SyncDispose") |> ignore
            let provider = services.BuildServiceProvider()
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            provider.GetRequiredService<Otlp.Tracing.OtlpTracer>() |> ignore
            provider.GetRequiredService<Otlp.Metrics.OtlpMetrics>() |> ignore
            Expect.isTrue (exporter.Offer(span "queued at disposal", InstrumentationScope.create "di" "1")) "offered"
            // As a console application's `using var provider = ...` does.
            provider.Dispose()
            Expect.equal (receiver.Spans |> Seq.map (fun s -> s.Name) |> List.ofSeq) [ "queued at disposal" ] "flushed by the disposal"
        }

        testTask "AddOtlpExporters takes settings from IConfiguration and sends through IHttpClientFactory" {
            let! (receiver: LoopbackReceiver) = startReceiver ()
            use _ = receiver
            use provider =
                Containers.exportersFrom
                    [ "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.ToString()
                      "OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme"
                      "Otlp:ServiceName", "di-service" ]
            let exporter = provider.GetRequiredService<OtlpTraceExporter>()
            Expect.stringContains exporter.Destination (receiver.HttpUrl(Signal.Traces).ToString()) "endpoint from IConfiguration"
            Expect.isTrue (exporter.Offer(span "via DI", InstrumentationScope.create "di" "1")) "offered"
            let! (_: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            let request = receiver.Requests[0]
            Expect.equal (request.Header "x-tenant") "acme" "header from IConfiguration"
            let serviceName = request.TraceRequest.ResourceSpans[0].Resource.Attributes |> Array.find (fun kv -> kv.Key = "service.name")
            Expect.equal serviceName.Value (AnyValue.String "di-service") "service name from the Otlp section"
        }
    ]

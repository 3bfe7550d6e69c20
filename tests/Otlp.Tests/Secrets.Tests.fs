/// Secrets (header values, credentials in the endpoint's user-info, query or fragment, what a server echoes back)
/// never reach an observable output: configuration warnings, displays, the event source, the logger, the Problem
/// event, export results and the exceptions configuration may throw.
module Otlp.Tests.SecretsTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics.Tracing
open System.Text
open System.Threading
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Otlp
open Otlp.Core
open Otlp.Testing

/// The distinctive secret every scenario plants.
let private secret = "Zq7Sekr1tVal"

/// Everything the Otlp event source says, while a test runs.
type private Events() =
    inherit EventListener()
    let said = ConcurrentQueue<string>()
    member _.Said = List.ofSeq said
    override this.OnEventSourceCreated source =
        if source.Name = "Otlp" then this.EnableEvents(source, EventLevel.Verbose)
    override _.OnEventWritten e =
        if not (isNull e.Payload) then
            said.Enqueue(String.Join("|", e.Payload |> Seq.map string))

let private collectingLogger (into: ConcurrentQueue<string>) =
    { new Microsoft.Extensions.Logging.ILogger with
        member _.BeginScope _ = null
        member _.IsEnabled _ = true
        member _.Log(_, _, state, error, formatter) =
            into.Enqueue(formatter.Invoke(state, error) + (if isNull error then "" else error.ToString())) }

/// Fails naming the first output that holds the secret.
let private expectNoSecret (what: string) (outputs: (string * string) seq) =
    for name, text in outputs do
        if not (isNull text) && text.Contains(secret, StringComparison.OrdinalIgnoreCase) then
            failtest $"{what}: the secret is in {name}: {text}"

let private spans count =
    Request.ofSpans Resource.Empty InstrumentationScope.Empty [ for _ in 1..count -> (Gen.sampleWithSize 12 1 Generators.span)[0] ]

/// Builds a traces exporter with `configure`, and lists every output it has after `act`. A configuration the
/// exporter refuses is an output too (its exception's text); an exception from `act` or from reading the outputs
/// fails the test: the exporter must report its problems, never throw them.
let private observe (configure: OtlpExporterOptions -> unit) (act: OtlpTraceExporter -> Task<string list>) =
    task {
        use events = new Events()
        let logged = ConcurrentQueue<string>()
        let problems = ConcurrentQueue<string>()
        let outputs = List<string * string>()
        let built =
            try
                OtlpExporter.ForTraces().Configure(fun o ->
                    o.Environment <- Dictionary<string, string>()
                    o.Timeout <- Nullable(TimeSpan.FromSeconds 2.0)
                    o.Logger <- collectingLogger logged
                    configure o).Build()
                |> Some
            with e ->
                outputs.Add("an exception", e.ToString())
                None
        match built with
        | None -> ()
        | Some exporter ->
            try
                exporter.Statistics.add_Problem(fun p -> problems.Enqueue p)
                let! extra = act exporter
                for e in extra do outputs.Add("an export result", e)
                outputs.Add("the destination", exporter.Destination)
                outputs.Add("the exporter's ToString", exporter.ToString())
                outputs.Add("the configuration's ToString", exporter.Configuration.ToString())
                outputs.Add("the configuration's %A", sprintf "%A" exporter.Configuration)
                outputs.Add("the exporter configuration's %A", sprintf "%A" exporter.Configuration.Exporter)
                for w in exporter.ConfigurationWarnings do outputs.Add("a configuration warning", w)
            finally
                exporter.Dispose()
        for p in problems do outputs.Add("a Problem", p)
        for l in logged do outputs.Add("the log", l)
        for s in events.Said do outputs.Add("the event source", s)
        return List.ofSeq outputs
    }

let private noAct = fun (_: OtlpTraceExporter) -> Task.FromResult<string list> []

let private environmentCases =
    [ "a header value with a bad escape", [ "OTEL_EXPORTER_OTLP_HEADERS", $"api-key={secret}%%zz" ]
      "a header list with ':' for '='", [ "OTEL_EXPORTER_OTLP_HEADERS", $"Authorization: Bearer {secret}" ]
      "a header name holding the secret, with a bad escape in its value", [ "OTEL_EXPORTER_OTLP_HEADERS", $"api-key {secret}=%%G0" ]
      "a header name holding the secret after a space", [ "OTEL_EXPORTER_OTLP_TRACES_HEADERS", $"Authorization Bearer {secret}=x" ]
      "a header value with a line break", [ "OTEL_EXPORTER_OTLP_TRACES_HEADERS", $"api-key={secret}%%0A" ]
      "a header value with non-ASCII", [ "OTEL_EXPORTER_OTLP_HEADERS", $"api-key={secret}%%C3%%A9" ]
      "an endpoint with user-info and a bad port", [ "OTEL_EXPORTER_OTLP_ENDPOINT", $"http://user:{secret}@collector:port/" ]
      "an endpoint with user-info and a bad scheme", [ "OTEL_EXPORTER_OTLP_ENDPOINT", $"ftp://user:{secret}@collector/" ]
      "an endpoint with user-info and a typo in '://'", [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", $"http//user:{secret}@collector:4318/v1/traces" ]
      "an endpoint with user-info and one '/'", [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", $"http:/user:{secret}@collector:4318/v1/traces" ]
      "an endpoint with user-info", [ "OTEL_EXPORTER_OTLP_ENDPOINT", $"http://user:{secret}@collector:4318" ]
      "an endpoint with a key in the query", [ "OTEL_EXPORTER_OTLP_ENDPOINT", $"http://collector:4318/?api-key={secret}" ]
      "an endpoint with a bare key as its query", [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", $"http://collector:4318/v1/traces?{secret}" ]
      "an endpoint with a key in the fragment", [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", $"http://collector:4318/v1/traces#token={secret}" ]
      "an invalid endpoint with a key in the query", [ "OTEL_EXPORTER_OTLP_ENDPOINT", $"collector:4318?api-key={secret}" ]
      "a gRPC endpoint without a scheme, with user-info",
      [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"; "OTEL_EXPORTER_OTLP_ENDPOINT", $"user:{secret}@collector:4317" ] ]

[<Tests>]
let tests =
    testSequenced <| testList "Secrets never appear in diagnostics" [
        for name, variables in environmentCases do
            testTask $"the environment: {name}" {
                let environment = Dictionary<string, string>(dict variables)
                let! outputs = observe (fun o -> o.Environment <- environment) noAct
                expectNoSecret name outputs
            }

        for name, configure in
            [ "a code header whose name holds the secret", (fun (o: OtlpExporterOptions) -> o.Headers[$"x-key {secret}"] <- "v")
              "a code header whose value has a line break", (fun o -> o.Headers["x-key"] <- $"{secret}\r\n")
              "a code content header", (fun o -> o.Headers["Content-Type"] <- secret)
              "a code base endpoint with user-info and query", (fun o -> o.BaseEndpoint <- $"http://u:{secret}@collector:4318/?k={secret}")
              "a code signal endpoint with a bare query", (fun o -> o.SignalEndpoint <- $"http://collector:4318/v1/traces?{secret}")
              "a code signal endpoint that is not a URL", (fun o -> o.SignalEndpoint <- $"u:{secret}@/nowhere")
              "a client key file password-like path", (fun o -> o.ClientKeyFile <- "/nonexistent/key.pem"; o.ClientCertificateFile <- "/nonexistent/cert.pem") ] do
            testTask $"code: {name}" {
                let! outputs = observe configure noAct
                expectNoSecret name outputs
            }

        test "the overrides' and the header's displays hide the secrets" {
            let overrides =
                { ConfigOverrides.Empty with
                    BaseEndpoint = Some $"http://u:{secret}@collector:4318/?k={secret}"
                    SignalEndpoint = Some $"http://collector:4318/v1/traces?{secret}"
                    Headers = Some [| { Name = "api-key"; Value = secret } |] }
            expectNoSecret "ConfigOverrides" [ "its ToString", overrides.ToString(); "its %A", sprintf "%A" overrides ]
            let resolved = Config.resolve (Dictionary<string, string>()) overrides Signal.Traces
            expectNoSecret "Config" [ "its %A", sprintf "%A" resolved.Value; "its diagnostics", sprintf "%A" resolved.Diagnostics ]
        }

        test "a server quoting only the credentials of a scheme-and-credentials header, configured or provided" {
            let overrides = { ConfigOverrides.Empty with Headers = Some [| { Name = "authorization"; Value = $"Bearer {secret}" } |] }
            let config = (Config.resolve (Dictionary<string, string>()) overrides Signal.Traces).Value.Exporter
            let secrets = Otlp.Diagnostics.KnownSecrets(config)
            let provided = $"{secret}Provided"
            secrets.Remember $"Basic {provided}"
            expectNoSecret
                "scrubbed"
                [ "a configured token quoted alone", secrets.Scrub $"token '{secret}' has expired"
                  "a provided token quoted alone", secrets.Scrub $"credentials {provided} refused" ]
            Expect.equal (secrets.Scrub "Bearer tokens expire") "Bearer tokens expire" "the scheme's name alone is not a secret"
        }

        testTask "an unreachable endpoint with user-info and a query key: results, problems, logs and events" {
            let! outputs =
                observe
                    (fun o ->
                        o.SignalEndpoint <- $"http://user:{secret}@127.0.0.1:9/v1/traces?api-key={secret}"
                        o.Headers["api-key"] <- secret)
                    (fun exporter ->
                        task {
                            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                            return [ result.Message; string result ]
                        })
            expectNoSecret "an unreachable endpoint" outputs
        }

        for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.HttpJson; OtlpProtocol.Grpc ] do
            testTask $"{protocol}: a server that echoes the configured header and the provider's token back" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                let echo = $"invalid api key '{secret}' (token Bearer {secret}-provided)"
                let failure =
                    if protocol = OtlpProtocol.Grpc then
                        Reply.GrpcStatus(Grpc.Core.StatusCode.Unauthenticated, echo)
                    else
                        Reply.HttpStatus(401).WithBody(Encoding.UTF8.GetBytes($"{{\"code\":16,\"message\":\"{echo}\"}}"), "application/json")
                receiver.Enqueue(failure, Reply.PartialSuccess(1L, echo))
                let url = if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint
                let provider =
                    Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
                        ValueTask<IEnumerable<KeyValuePair<string, string>>>(
                            [ KeyValuePair("authorization", $"Bearer {secret}-provided") ] :> IEnumerable<_>))
                let! outputs =
                    observe
                        (fun o ->
                            o.Protocol <- protocol
                            o.BaseEndpoint <- url.ToString()
                            o.Headers["api-key"] <- secret
                            o.HeaderProvider <- provider)
                        (fun exporter ->
                            task {
                                let! (first: OtlpExportResult) = exporter.ExportAsync(spans 1)
                                let! (second: OtlpExportResult) = exporter.ExportAsync(spans 2)
                                return [ first.Message; string first; second.Message; string second ]
                            })
                Expect.exists receiver.Requests (fun r -> r.Header "api-key" = secret) "the header was sent"
                expectNoSecret $"{protocol} echo" outputs
            }

        for protocol in [ OtlpProtocol.HttpProtobuf; OtlpProtocol.Grpc ] do
            testTask $"{protocol}: a secret echoed where the server's text is cut to its bound leaves not even its start" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                // The secret straddles the 1,024 characters a server's text is cut to.
                let echo = String('x', Otlp.Core.ResponseBody.MaxMessageChars - 4) + $"{secret} refused"
                let failure =
                    if protocol = OtlpProtocol.Grpc then
                        Reply.GrpcStatus(Grpc.Core.StatusCode.Unauthenticated, echo)
                    else
                        Reply.HttpStatus(401).WithBody(Encoding.UTF8.GetBytes($"{{\"code\":16,\"message\":\"{echo}\"}}"), "application/json")
                receiver.Enqueue failure
                let url = if protocol = OtlpProtocol.Grpc then receiver.GrpcEndpoint else receiver.HttpEndpoint
                let! outputs =
                    observe
                        (fun o ->
                            o.Protocol <- protocol
                            o.BaseEndpoint <- url.ToString()
                            o.Headers["api-key"] <- secret)
                        (fun exporter ->
                            task {
                                let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                                return [ result.Message; string result ]
                            })
                let start = secret.Substring(0, 4)
                for (name: string), (text: string) in outputs do
                    if not (isNull text) && text.Contains(start, StringComparison.Ordinal) then
                        failtest $"the secret's start is in {name}: ...{text.Substring(max 0 (text.Length - 60))}"
            }

        testTask "a header provider's header that cannot be sent, and a provider that throws with its token" {
            let provider =
                Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
                    ValueTask<IEnumerable<KeyValuePair<string, string>>>(
                        [ KeyValuePair("x-token", $"{secret}\n"); KeyValuePair($"bad name {secret}", "v") ] :> IEnumerable<_>))
            let! outputs =
                observe
                    (fun o ->
                        o.BaseEndpoint <- "http://127.0.0.1:9"
                        o.HeaderProvider <- provider)
                    (fun exporter ->
                        task {
                            let! (result: OtlpExportResult) = exporter.ExportAsync(spans 1)
                            return [ result.Message ]
                        })
            expectNoSecret "a provider's bad header" outputs
        }
    ]

namespace Otlp.Core

open System
open System.Collections.Generic
open System.Globalization
open Otlp.Core.ConfigInternals

[<RequireQualifiedAccess>]
module Headers =

    [<CompiledName("Format")>]
    let format (headers: Header seq) =
        if isNull headers then
            ""
        else
            headers
            |> Seq.map (fun h -> ((if isNull h.Name then "" else h.Name), (if isNull h.Value then "" else h.Value)))
            |> formatList

    // RFC 9110 token: what an HTTP header name (and a gRPC metadata key) may be made of.
    let private isTokenChar (c: char) = Char.IsAsciiLetterOrDigit c || "!#$%&'*+-.^_`|~".Contains c

    /// A key as a diagnostic may show it: up to its first character a header name cannot have, since a misplaced
    /// separator ("Authorization: Bearer <token>=...") puts the credential itself into the key.
    let private shownKey (key: string) =
        match key |> Seq.tryFindIndex (isTokenChar >> not) with
        | None -> $"key '{key}'"
        | Some 0 -> "a key that starts with a character a header name cannot have, not shown"
        | Some at -> $"key '{key.Substring(0, at)}', the rest not shown"

    [<CompiledName("Parse")>]
    let parse (setting: string) (text: string) =
        let pairs, errors = parseList (if isNull text then "" else text)

        { Value = pairs |> Array.map (fun (name, value) -> { Name = name; Value = value })
          Diagnostics =
            errors
            |> List.map (fun e ->
                let entry =
                    match e.Key with
                    | Some key -> $"entry {e.Position} ({shownKey key})"
                    | None -> $"entry {e.Position}"

                // The whole variable may be a secret, so the value shown is always the redaction mark.
                { Setting = setting
                  Value = Redacted
                  Problem = $"{entry} {e.Problem}"
                  Outcome = "skipping that entry" })
            |> Array.ofList }

    let private isToken (name: string) =
        name <> "" && String.forall isTokenChar name

    /// A header name that is not a token, described without what follows its first bad character: a misplaced
    /// separator ("Authorization: Basic ...") puts the credential itself into the "name".
    let private describeBadName (name: string) =
        let bad = name |> Seq.tryFindIndex (isTokenChar >> not)

        match bad with
        | None -> "an empty header name"
        | Some 0 -> "a header name that starts with a character a header name cannot have (the rest is not shown)"
        | Some at ->
            let shown = name.Substring(0, at)
            let what = if Char.IsWhiteSpace name[at] then "a space" else $"'{name[at]}'"
            $"a header name '{shown}' followed by {what}, which a header name cannot have (the rest is not shown)"

    // What HTTP/1.1, HTTP/2 and gRPC metadata all accept in a header value: visible ASCII, spaces and tabs. The
    // runtime refuses anything else (non-ASCII from percent-decoding, line breaks) on every send.
    let private isValueChar (c: char) = (c >= ' ' && c <= '~') || c = '\t'

    [<CompiledName("Problem")>]
    let problem (name: string) (value: string) =
        if isNull name || not (isToken name) then
            let shown = describeBadName (if isNull name then String.Empty else name)
            Some $"has {shown}"
        elif not (isNull value) && not (String.forall isValueChar value) then
            Some $"has a value for the header '{name}' with characters a header value cannot have (only visible ASCII, spaces and tabs; the value is not shown)"
        else
            None

[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Config =

    [<CompiledName("SignalPath")>]
    let signalPath signal =
        match signal with
        | Traces -> "v1/traces"
        | Metrics -> "v1/metrics"
        | Logs -> "v1/logs"

    let private signalWord signal =
        match signal with
        | Traces -> "TRACES"
        | Metrics -> "METRICS"
        | Logs -> "LOGS"

    let private genericVariable suffix = "OTEL_EXPORTER_OTLP_" + suffix
    let private signalVariable signal suffix = $"OTEL_EXPORTER_OTLP_{signalWord signal}_{suffix}"

    // Exactly one '/' between the base and the signal path; the base path is kept (exporter spec, "Endpoint
    // URLs for OTLP/HTTP").
    let private appendPath (baseUri: Uri) (path: string) =
        if path = "" then
            baseUri
        else
            // The query stays after the path (some ingest URLs carry their key there); the fragment, never sent, goes.
            let left = baseUri.GetLeftPart UriPartial.Path
            Uri((if left.EndsWith "/" then left else left + "/") + path + baseUri.Query)

    [<CompiledName("DefaultEndpoint")>]
    let defaultEndpoint (protocol: Protocol) signal =
        if protocol.IsHttp then appendPath (Uri "http://localhost:4318") (signalPath signal)
        else Uri "http://localhost:4317"

    [<CompiledName("MaxQueueSize")>]
    let maxQueueSize = 1 <<< 20

    [<CompiledName("ProtocolPortMismatch")>]
    let protocolPortMismatch (protocol: Protocol) (endpoint: Uri) =
        // A port written in the URL, not the scheme's default (80, 443), which says nothing.
        match (if endpoint.IsDefaultPort then -1 else endpoint.Port), protocol with
        | 4317, p when p.IsHttp ->
            Some $"port 4317 is OTLP/gRPC's default, but the protocol is {p.Name} (OTLP/HTTP's default port is 4318; or set the protocol to grpc)"
        | 4318, p when p.IsGrpc ->
            Some "port 4318 is OTLP/HTTP's default, but the protocol is grpc (OTLP/gRPC's default port is 4317; or set the protocol to http/protobuf)"
        | _ -> None

    let private parseUrl (raw: string) : Result<Uri, string> =
        match Uri.TryCreate(raw.Trim(), UriKind.Absolute) with
        | true, uri when uri.Scheme <> Uri.UriSchemeHttp && uri.Scheme <> Uri.UriSchemeHttps ->
            Error $"has the scheme '{uri.Scheme}', but an OTLP endpoint must be an http or https URL"
        | true, uri when uri.Host = "" -> Error "has no host"
        | true, uri -> Ok uri
        | _ -> Error "is not an absolute URL"

    let private protocols =
        [ "grpc", Protocol.Grpc; "http/protobuf", Protocol.HttpProtobuf; "http/json", Protocol.HttpJson ]

    let private compressions = [ "none", Compression.None; "gzip", Compression.Gzip; "zstd", Compression.Zstd ]

    let private temporalities =
        [ "cumulative", TemporalityPreference.Cumulative
          "delta", TemporalityPreference.Delta
          "lowmemory", TemporalityPreference.LowMemory ]

    let private exemplarFilters =
        [ "trace_based", ExemplarFilter.TraceBased
          "always_on", ExemplarFilter.AlwaysOn
          "always_off", ExemplarFilter.AlwaysOff ]

    let private histogramAggregations =
        [ "explicit_bucket_histogram", HistogramAggregation.ExplicitBucketHistogram
          "base2_exponential_bucket_histogram", HistogramAggregation.Base2ExponentialBucketHistogram ]

    let private samplers =
        [ "always_on", SamplerKind.AlwaysOn
          "always_off", SamplerKind.AlwaysOff
          "traceidratio", SamplerKind.TraceIdRatio
          "parentbased_always_on", SamplerKind.ParentBasedAlwaysOn
          "parentbased_always_off", SamplerKind.ParentBasedAlwaysOff
          "parentbased_traceidratio", SamplerKind.ParentBasedTraceIdRatio ]

    let private nameOf table value =
        table |> List.find (fun (_, v) -> v = value) |> fst

    /// The headers that can be sent, and a diagnostic for each that cannot (never showing a value).
    let private checkHeaders (setting: string) (headers: Header array) =
        let problems = headers |> Array.map (fun h -> h, (if isNull h.Name then Some "" else Headers.problem h.Name h.Value))
        let valid = problems |> Array.choose (fun (h, p) -> if p.IsNone && not (isNull h.Value) then Some h else None)

        let invalid =
            problems
            |> Array.choose (fun (h, p) ->
                match p with
                | Some text when not (isNull h.Name) ->
                    Some
                        { Setting = setting
                          Value = Redacted
                          Problem = text
                          Outcome = "skipping that header" }
                | _ -> None)
            |> List.ofArray

        valid, invalid

    /// Headers given with none usable count as unset, so the next source (the generic variable) is used; an empty
    /// setting given on purpose (no entries, nothing wrong) still means no headers.
    let private usable (valid: Header array) (problems: int) =
        if valid.Length = 0 && problems > 0 then Error "has no usable header" else Ok valid

    let private headerVariable env name : Candidate<Header array> option =
        lookup env name
        |> Option.map (fun raw ->
            let parsed = Headers.parse name raw
            let valid, badHeaders = checkHeaders name parsed.Value

            { Source = SettingSource.Environment name
              Setting = name
              Shown = Redacted
              Parsed = usable valid (parsed.Diagnostics.Length + badHeaders.Length)
              Notes = List.ofArray parsed.Diagnostics @ badHeaders })

    let private headerCode (headers: Header array option) : Candidate<Header array> option =
        match headers with
        | Some array when not (isNull array) ->
            let setting = "ConfigOverrides.Headers"
            let valid, badHeaders = checkHeaders setting array

            Some
                { Source = SettingSource.Code "Headers"
                  Setting = setting
                  Shown = Redacted
                  Parsed = usable valid badHeaders.Length
                  Notes = badHeaders }
        | _ -> None

    let private showHeaders (headers: Header array) =
        if headers.Length = 0 then "no headers"
        else headers |> Array.map (fun h -> h.Redacted) |> String.concat ","

    let private showPath (path: string option) = defaultArg path "none"

    let private resolveExporter env (o: ConfigOverrides) signal =
        // Every exporter option: code, then the signal's variable, then the generic one.
        let setting suffix redact parse code =
            [ code
              fromVariable env (signalVariable signal suffix) redact parse
              fromVariable env (genericVariable suffix) redact parse ]

        let protocol =
            setting "PROTOCOL" false (parseEnum protocols) (fromCode "Protocol" (fun (p: Protocol) -> p.Name) Ok o.Protocol)
            |> choose (fun p -> p.Name) Protocol.HttpProtobuf

        let path = if protocol.Value.IsHttp then signalPath signal else ""

        let insecure =
            [ fromCode "Insecure" string Ok o.Insecure
              boolVariable env (signalVariable signal "INSECURE")
              boolVariable env (genericVariable "INSECURE") ]
            |> choose (fun b -> if b then "true" else "false") false

        let endpoint =
            // A gRPC endpoint may come without a scheme ("collector:4317"), as older configurations give it; the
            // insecure option then says whether it is plain text or TLS. It applies to nothing else.
            let target (raw: string) =
                let text = raw.Trim()
                if protocol.Value.IsGrpc && not (text.Contains "://") then
                    (if insecure.Value then "http://" else "https://") + text
                else
                    text

            let asIs rule (raw: string) = parseUrl (target raw) |> Result.map (fun uri -> uri, rule)
            let appended rule (raw: string) = parseUrl (target raw) |> Result.map (fun uri -> appendPath uri path, rule)
            let signalName = signalVariable signal "ENDPOINT"
            let genericName = genericVariable "ENDPOINT"

            // Shown through ConfigText.endpoint: an endpoint's user-info or query may hold a credential.
            [ fromCode "SignalEndpoint" ConfigText.endpoint (asIs EndpointRule.CodeSignalEndpoint) (codeString o.SignalEndpoint)
              fromCode "BaseEndpoint" ConfigText.endpoint (appended (EndpointRule.CodeBaseEndpoint path)) (codeString o.BaseEndpoint)
              fromVariableShown env signalName ConfigText.endpoint (asIs (EndpointRule.SignalVariable signalName))
              fromVariableShown env genericName ConfigText.endpoint (appended (EndpointRule.GenericVariable(genericName, path))) ]
            |> chooseWith
                (fun (uri: Uri, rule: EndpointRule) _ -> $"'{ConfigText.endpoint uri.AbsoluteUri}' ({rule.Description})")
                (defaultEndpoint protocol.Value signal, EndpointRule.Default path)

        let headers =
            [ headerCode o.Headers; headerVariable env (signalVariable signal "HEADERS"); headerVariable env (genericVariable "HEADERS") ]
            |> choose showHeaders [||]

        let timeout =
            setting "TIMEOUT" false parseTimeout (fromCode "Timeout" showMillis checkTimeout o.Timeout)
            |> choose showMillis (TimeSpan.FromMilliseconds 10000.0)

        let compression =
            setting "COMPRESSION" false (parseEnum compressions) (fromCode "Compression" (fun (c: Compression) -> c.Name) Ok o.Compression)
            |> choose (fun c -> c.Name) Compression.None

        let file suffix field (code: string option) =
            setting suffix false (fun raw -> Ok(Some(raw.Trim()))) (fromCode field id (fun s -> Ok(Some s)) (codeString code))
            |> choose showPath None

        let certificate = file "CERTIFICATE" "CertificateFile" o.CertificateFile
        let clientKey = file "CLIENT_KEY" "ClientKeyFile" o.ClientKeyFile
        let clientCertificate = file "CLIENT_CERTIFICATE" "ClientCertificateFile" o.ClientCertificateFile
        let uri, rule = endpoint.Value

        // A key alone proves nothing: mTLS needs the certificate it belongs to (a certificate file may hold its key).
        let keyWithoutCertificate =
            match clientKey.Value, clientCertificate.Value with
            | Some path, None ->
                [ { Setting = settingName clientKey.Source
                    Value = path
                    Problem = "is set without a client certificate (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, or ClientCertificateFile)"
                    Outcome = "sending no client certificate" } ]
            | _ -> []

        // A diagnostic about the endpoint used, on its setting, showing it redacted (a mistyped scheme can put
        // user-info into the path, so the problem never quotes the URL's parts itself).
        let aboutEndpoint problem outcome =
            { Setting = settingName endpoint.Source
              Value = ConfigText.endpoint uri.AbsoluteUri
              Problem = problem
              Outcome = outcome }

        // The commonest OTLP mistake: the other protocol's well-known port. Said, not changed: a receiver may serve
        // either protocol on any port.
        let portMismatch =
            protocolPortMismatch protocol.Value uri
            |> Option.map (fun mismatch -> aboutEndpoint $"may be meant for the other protocol: {mismatch}" "sending to it as given")
            |> Option.toList

        // gRPC calls go to /<package>.<service>/<method> at the root of the host, whatever path the address has
        // (Grpc.Net.Client, as gRPC's protocol, ignores it): a path there was meant for something else.
        let unusedGrpcPath =
            if protocol.Value.IsGrpc && uri.AbsolutePath <> "/" then
                [ aboutEndpoint
                      "has a path, which gRPC does not use: its calls go to the root of the host (/opentelemetry.proto.collector...)"
                      "sending without it" ]
            else
                []

        let config =
            { Signal = signal
              Protocol = protocol.Value
              Endpoint = uri
              EndpointRule = rule
              Headers = headers.Value
              Timeout = timeout.Value
              Compression = compression.Value
              Insecure = insecure.Value
              CertificateFile = certificate.Value
              ClientKeyFile = (if keyWithoutCertificate.IsEmpty then clientKey.Value else None)
              ClientCertificateFile = clientCertificate.Value }

        config,
        protocol.Diagnostics
        @ endpoint.Diagnostics
        @ headers.Diagnostics
        @ timeout.Diagnostics
        @ compression.Diagnostics
        @ insecure.Diagnostics
        @ certificate.Diagnostics
        @ clientKey.Diagnostics
        @ clientCertificate.Diagnostics
        @ keyWithoutCertificate
        @ portMismatch
        @ unusedGrpcPath

    // Over gRPC the next batch is encoded in time the loop would spend waiting on an asynchronous send; over HTTP
    // the loop's own blocking send is cheaper than handing each request to a send thread (docs/benchmarks.md).
    [<CompiledName("EncodesAheadByDefault")>]
    let encodesAheadByDefault (protocol: Protocol) =
        match protocol with
        | Protocol.Grpc -> true
        | Protocol.HttpProtobuf
        | Protocol.HttpJson -> false

    let private resolveBatch env (o: ConfigOverrides) (protocol: Protocol) (prefix: string) (defaultDelay: int) =
        let delay =
            [ fromCode "BatchScheduleDelay" showMillis (checkDuration 0) o.BatchScheduleDelay
              fromVariable env (prefix + "_SCHEDULE_DELAY") false (parseDuration 0) ]
            |> choose showMillis (TimeSpan.FromMilliseconds(float defaultDelay))

        let timeout =
            [ fromCode "BatchExportTimeout" showMillis checkTimeout o.BatchExportTimeout
              fromVariable env (prefix + "_EXPORT_TIMEOUT") false parseTimeout ]
            |> choose showMillis (TimeSpan.FromMilliseconds 30000.0)

        let queue =
            [ fromCode "BatchMaxQueueSize" string (checkInt 1) o.BatchMaxQueueSize
              fromVariable env (prefix + "_MAX_QUEUE_SIZE") false (parseInt 1) ]
            |> choose string 2048

        let queueSize, queueCap =
            if queue.Value <= maxQueueSize then
                queue.Value, []
            else
                maxQueueSize,
                [ { Setting = settingName queue.Source
                    Value = string queue.Value
                    Problem = $"is more than the {maxQueueSize} items a queue holds at most"
                    Outcome = $"using {maxQueueSize}" } ]

        let batchVariable = prefix + "_MAX_EXPORT_BATCH_SIZE"

        let batch =
            [ fromCode "BatchMaxExportBatchSize" string (checkInt 1) o.BatchMaxExportBatchSize
              fromVariable env batchVariable false (parseInt 1) ]
            |> choose string 512

        // The spec: the batch size must not exceed the queue size; it is capped rather than rejected.
        let clamped, clampDiagnostics =
            if batch.Value <= queueSize then
                batch.Value, []
            else
                let setting =
                    match batch.Source with
                    | SettingSource.Default -> batchVariable
                    | source -> settingName source

                let shown =
                    match batch.Source with
                    | SettingSource.Default -> $"{batch.Value} (the default)"
                    | _ -> string batch.Value

                queueSize,
                [ { Setting = setting
                    Value = shown
                    Problem = $"is larger than the maximum queue size {queueSize} ({queue.Source.Description})"
                    Outcome = $"using {queueSize}, so that a batch fits in the queue" } ]

        // Not in the specification: its processors export one batch at a time, which stays the default.
        let concurrent =
            [ fromCode "BatchMaxConcurrentExports" string (checkInt 1) o.BatchMaxConcurrentExports
              fromVariable env (prefix + "_MAX_CONCURRENT_EXPORTS") false (parseInt 1) ]
            |> choose string 1

        // Not in the specification either, and in code only: the next batch is encoded while the last one is sent;
        // requests still go one at a time (MaxConcurrentExports).
        let encodeAhead =
            [ fromCode "BatchEncodeAhead" string Ok o.BatchEncodeAhead ] |> choose string (encodesAheadByDefault protocol)

        { ScheduleDelay = delay.Value
          ExportTimeout = timeout.Value
          MaxQueueSize = queueSize
          MaxExportBatchSize = clamped
          MaxConcurrentExports = concurrent.Value
          EncodeAhead = encodeAhead.Value },
        delay.Diagnostics
        @ timeout.Diagnostics
        @ queue.Diagnostics
        @ queueCap
        @ batch.Diagnostics
        @ clampDiagnostics
        @ concurrent.Diagnostics
        @ encodeAhead.Diagnostics

    let private readerSettings env (o: ConfigOverrides) =
        let interval =
            [ fromCode "MetricExportInterval" showMillis (checkDuration 1) o.MetricExportInterval
              fromVariable env "OTEL_METRIC_EXPORT_INTERVAL" false (parseDuration 1) ]
            |> choose showMillis (TimeSpan.FromMilliseconds 60000.0)

        let timeout =
            [ fromCode "MetricExportTimeout" showMillis checkTimeout o.MetricExportTimeout
              fromVariable env "OTEL_METRIC_EXPORT_TIMEOUT" false parseTimeout ]
            |> choose showMillis (TimeSpan.FromMilliseconds 30000.0)

        let temporality =
            [ fromCode "TemporalityPreference" (nameOf temporalities) Ok o.TemporalityPreference
              fromVariable env "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" false (parseEnum temporalities) ]
            |> choose (nameOf temporalities) TemporalityPreference.Cumulative

        let histogram =
            [ fromCode "DefaultHistogramAggregation" (nameOf histogramAggregations) Ok o.DefaultHistogramAggregation
              fromVariable
                  env
                  "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
                  false
                  (parseEnum histogramAggregations) ]
            |> choose (nameOf histogramAggregations) HistogramAggregation.ExplicitBucketHistogram

        { ExportInterval = interval.Value
          ExportTimeout = timeout.Value
          TemporalityPreference = temporality.Value
          DefaultHistogramAggregation = histogram.Value },
        interval.Diagnostics @ timeout.Diagnostics @ temporality.Diagnostics @ histogram.Diagnostics

    let private showRatio (ratio: float) = ratio.ToString("R", CultureInfo.InvariantCulture)

    let private checkRatio (ratio: float) =
        if Double.IsNaN ratio || ratio < 0.0 || ratio > 1.0 then Error "is not a probability in [0, 1]"
        else Ok ratio

    let private parseRatio (raw: string) =
        let mutable value = 0.0

        if Double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, &value) then checkRatio value
        else Error "is not a number"

    let private isRatioSampler kind =
        kind = SamplerKind.TraceIdRatio || kind = SamplerKind.ParentBasedTraceIdRatio

    let private resolveSampler env (o: ConfigOverrides) =
        let kind =
            [ fromCode "Sampler" (fun (s: SamplerConfig) -> s.Kind.Name) (fun s -> checkRatio s.Ratio |> Result.map (fun _ -> s)) o.Sampler
              fromVariable env "OTEL_TRACES_SAMPLER" false (parseEnum samplers >> Result.map (fun k -> { Kind = k; Ratio = 1.0 })) ]
            |> choose (fun s -> s.Kind.Name) { Kind = SamplerKind.ParentBasedAlwaysOn; Ratio = 1.0 }

        let argName = "OTEL_TRACES_SAMPLER_ARG"

        // The argument is read only with a sampler from OTEL_TRACES_SAMPLER, and only the ratio samplers take one.
        match kind.Source, lookup env argName with
        | SettingSource.Environment _, Some _ when isRatioSampler kind.Value.Kind ->
            let ratio = [ fromVariable env argName false parseRatio ] |> choose showRatio 1.0
            { kind.Value with Ratio = ratio.Value }, kind.Diagnostics @ ratio.Diagnostics
        | source, Some raw ->
            let reason =
                match source with
                | SettingSource.Environment _ -> $"is not used by the sampler '{kind.Value.Kind.Name}'"
                | SettingSource.Code _ -> "is not used because the sampler is set in code"
                | SettingSource.Default when (lookup env "OTEL_TRACES_SAMPLER").IsSome ->
                    "is not used because OTEL_TRACES_SAMPLER names no sampler this SDK has (the default sampler is used)"
                | SettingSource.Default -> "is not used because OTEL_TRACES_SAMPLER is not set"

            kind.Value,
            kind.Diagnostics
            @ [ { Setting = argName
                  Value = raw
                  Problem = reason
                  Outcome = "ignoring it" } ]
        | _, None -> kind.Value, kind.Diagnostics

    // Later layers replace earlier values of the same key but keep the key's first position.
    let private upsert (attributes: List<KeyValue>) (attribute: KeyValue) =
        match attributes.FindIndex(fun kv -> kv.Key = attribute.Key) with
        | -1 -> attributes.Add attribute
        | index -> attributes[index] <- attribute

    let private resolveResource env (o: ConfigOverrides) =
        let variable = "OTEL_RESOURCE_ATTRIBUTES"

        let fromVariable, variableDiagnostics =
            match lookup env variable with
            | None -> [||], []
            | Some raw ->
                match parseList raw with
                | pairs, [] -> pairs, []
                | _, errors ->
                    // Resource SDK: on any error the whole value is discarded.
                    [||],
                    errors
                    |> List.map (fun e ->
                        { Setting = variable
                          Value = raw
                          Problem = $"entry {e.Position} {e.Problem}"
                          Outcome = "ignoring the whole variable" })

        let codeAttributes, codeDiagnostics =
            match o.ResourceAttributes with
            | Some array when not (isNull array) ->
                let valid = array |> Array.filter (fun kv -> not (String.IsNullOrEmpty kv.Key))

                let dropped =
                    if valid.Length = array.Length then
                        []
                    else
                        [ { Setting = "ConfigOverrides.ResourceAttributes"
                            Value = $"{array.Length - valid.Length} attribute(s)"
                            Problem = "have an empty key"
                            Outcome = "skipping them" } ]

                valid, dropped
            | _ -> [||], []

        // No fallback service.name here: ResourceDefaults.complete gives it, naming the process, which a service
        // name configured as "unknown_service" must not get.
        let attributes = List<KeyValue>()

        for key, value in fromVariable do
            upsert attributes (KeyValue.string key value)

        lookup env "OTEL_SERVICE_NAME"
        |> Option.iter (fun name -> upsert attributes (KeyValue.string "service.name" (name.Trim())))

        for attribute in codeAttributes do
            upsert attributes { attribute with Value = (if isNull (box attribute.Value) then AnyValue.Empty else attribute.Value) }

        codeString o.ServiceName
        |> Option.iter (fun name -> upsert attributes (KeyValue.string "service.name" name))

        attributes.ToArray(), variableDiagnostics @ codeDiagnostics

    [<CompiledName("ResolveMetricReader")>]
    let resolveMetricReader (environment: IReadOnlyDictionary<string, string>) exportInterval exportTimeout =
        let overrides = { ConfigOverrides.Empty with MetricExportInterval = exportInterval; MetricExportTimeout = exportTimeout }
        let reader, diagnostics = readerSettings environment overrides
        { Value = reader; Diagnostics = Array.ofList diagnostics }

    [<CompiledName("ResolveExemplarFilter")>]
    let resolveExemplarFilter (environment: IReadOnlyDictionary<string, string>) (filter: ExemplarFilter option) =
        let resolved =
            [ fromCode "ExemplarFilter" (nameOf exemplarFilters) Ok filter
              fromVariable environment "OTEL_METRICS_EXEMPLAR_FILTER" false (parseEnum exemplarFilters) ]
            |> choose (nameOf exemplarFilters) ExemplarFilter.TraceBased

        { Value = resolved.Value; Diagnostics = Array.ofList resolved.Diagnostics }

    [<CompiledName("Resolve")>]
    let resolve (environment: IReadOnlyDictionary<string, string>) (overrides: ConfigOverrides) (signal: Signal) =
        let o = if isNull (box overrides) then ConfigOverrides.Empty else overrides
        let exporter, exporterDiagnostics = resolveExporter environment o signal

        let processing, processingDiagnostics =
            match signal with
            | Traces -> resolveBatch environment o exporter.Protocol "OTEL_BSP" 5000 |> fun (b, d) -> Processing.Batch b, d
            | Logs -> resolveBatch environment o exporter.Protocol "OTEL_BLRP" 1000 |> fun (b, d) -> Processing.Batch b, d
            | Metrics -> readerSettings environment o |> fun (r, d) -> Processing.PeriodicReader r, d

        let disabled =
            [ fromCode "Disabled" string Ok o.Disabled; boolVariable environment "OTEL_SDK_DISABLED" ]
            |> choose (fun b -> if b then "true" else "false") false

        let resource, resourceDiagnostics = resolveResource environment o
        let sampler, samplerDiagnostics = resolveSampler environment o

        { Value =
            { Exporter = exporter
              Processing = processing
              Disabled = disabled.Value
              Resource = resource
              Sampler = sampler }
          Diagnostics =
            exporterDiagnostics
            @ processingDiagnostics
            @ disabled.Diagnostics
            @ resourceDiagnostics
            @ samplerDiagnostics
            |> Array.ofList }

    [<CompiledName("FromEnvironment")>]
    let fromEnvironment environment signal = resolve environment ConfigOverrides.Empty signal

    [<CompiledName("Display")>]
    let display (config: Config) = config.ToString()

namespace Otlp.Core

// The values of the exporter configuration: what `Config.resolve` produces and what code may override.
// This file holds types only (and their display); a signature file would repeat it verbatim, so the docs live
// here. The rules that fill these values are in Config.fs.

open System
open System.Globalization

/// Text helpers of the configuration displays.
module internal ConfigText =
    /// Milliseconds as the variables write them, or "no limit" for an infinite timeout.
    let millis (span: TimeSpan) =
        if span = Threading.Timeout.InfiniteTimeSpan then "no limit"
        else span.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms"

    /// A boolean as the variables write it.
    let flag (value: bool) = if value then "true" else "false"

    /// An endpoint as messages may show it: scheme, host, port and path as given; the user-info (`user:password@`),
    /// every value of the query (and a query item without a name: a bare key) and the fragment read "[redacted]", as
    /// they hold credentials as often as not. Works on text that is not a valid URL too, as a warning about a bad
    /// endpoint shows the text it could not use: there everything before the last '@' ahead of the query is taken
    /// for user-info (`http//user:password@host`, a typo, has no "://" to find the authority by).
    let endpoint (text: string) =
        if String.IsNullOrEmpty text then
            text
        else
            let fragmentStart = text.IndexOf '#'
            let withoutFragment = if fragmentStart < 0 then text else text.Substring(0, fragmentStart)
            let fragment = if fragmentStart < 0 then "" else "#[redacted]"
            let queryStart = withoutFragment.IndexOf '?'
            let beforeQuery = if queryStart < 0 then withoutFragment else withoutFragment.Substring(0, queryStart)

            let schemeEnd = beforeQuery.IndexOf("://", StringComparison.Ordinal)
            let authorityStart = if schemeEnd >= 0 then schemeEnd + 3 else 0

            let withoutUser =
                match beforeQuery.LastIndexOf '@' with
                | at when at >= authorityStart -> beforeQuery.Substring(0, authorityStart) + "[redacted]" + beforeQuery.Substring at
                | _ -> beforeQuery

            let query =
                if queryStart < 0 then
                    ""
                else
                    withoutFragment.Substring(queryStart + 1).Split '&'
                    |> Array.map (fun pair ->
                        match pair.IndexOf '=' with
                        | _ when pair = "" -> pair
                        | -1 -> "[redacted]"
                        | eq -> pair.Substring(0, eq + 1) + "[redacted]")
                    |> String.concat "&"
                    |> (+) "?"

            withoutUser + query + fragment

/// The transport and encoding of an OTLP exporter (`OTEL_EXPORTER_OTLP_PROTOCOL`).
[<RequireQualifiedAccess>]
type Protocol =
    /// Protobuf over gRPC (`grpc`); default endpoint `http://localhost:4317`, no path appended.
    | Grpc
    /// Protobuf over HTTP (`http/protobuf`), the spec's default; default endpoint `http://localhost:4318`.
    | HttpProtobuf
    /// JSON over HTTP (`http/json`); default endpoint `http://localhost:4318`.
    | HttpJson

    /// The value as written in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    member this.Name =
        match this with
        | Grpc -> "grpc"
        | HttpProtobuf -> "http/protobuf"
        | HttpJson -> "http/json"

    /// True for the two HTTP protocols, to whose base endpoint the signal path is appended.
    member this.IsHttp =
        match this with
        | Grpc -> false
        | HttpProtobuf
        | HttpJson -> true

/// Compression of export requests (`OTEL_EXPORTER_OTLP_COMPRESSION`).
[<RequireQualifiedAccess>]
type Compression =
    /// No compression (`none`), the default.
    | None
    /// gzip (`gzip`), the only method the spec names.
    | Gzip
    /// Zstandard (`zstd`), allowed by the spec as an SDK-specific extra.
    | Zstd

    /// The value as written in `OTEL_EXPORTER_OTLP_COMPRESSION`.
    member this.Name =
        match this with
        | None -> "none"
        | Gzip -> "gzip"
        | Zstd -> "zstd"

/// A request header (gRPC metadata or HTTP header). Its value may be a secret: `ToString` and `%A` show the
/// name only.
[<StructuredFormatDisplay("{Redacted}")>]
type Header =
    {
        /// The header name.
        Name: string
        /// The header value, percent-decoded.
        Value: string
    }

    /// `name=[redacted]`: the form used in every display of a header.
    member this.Redacted = this.Name + "=[redacted]"

    override this.ToString() = this.Redacted

/// Where the value of a setting came from.
[<RequireQualifiedAccess>]
type SettingSource =
    /// From a programmatic override; the field of `ConfigOverrides`.
    | Code of field: string
    /// From an environment variable.
    | Environment of variable: string
    /// The spec's default.
    | Default

    /// A readable phrase: "from code (ConfigOverrides.Timeout)", "from OTEL_EXPORTER_OTLP_TIMEOUT", "the default".
    member this.Description =
        match this with
        | Code field -> $"from code (ConfigOverrides.{field})"
        | Environment variable -> $"from {variable}"
        | Default -> "the default"

/// A problem found in the configuration and what was done about it. Configuration never fails: a bad value is
/// replaced (by the next source in precedence or the default) and reported here; a valid value that looks mistaken
/// (an endpoint on the other protocol's default port) is used as given and reported too. Header values never appear.
type Diagnostic =
    {
        /// The environment variable (`OTEL_EXPORTER_OTLP_TIMEOUT`) or code option (`ConfigOverrides.Timeout`).
        Setting: string
        /// The offending value as given, or `[redacted]` for headers.
        Value: string
        /// What is wrong with it.
        Problem: string
        /// What was used instead, or that the value is used as given.
        Outcome: string
    }

    /// One readable sentence with the four parts.
    member this.Message = $"{this.Setting}='{this.Value}' {this.Problem}; {this.Outcome}."

    override this.ToString() = this.Message

/// A resolved value and the diagnostics met while resolving it.
type Resolved<'T> =
    {
        /// The value; always valid.
        Value: 'T
        /// Problems found and what was done about each; empty when the input was clean.
        Diagnostics: Diagnostic array
    }

/// Which rule produced the endpoint URL, kept so a later transport error can say which URL was used and why.
[<RequireQualifiedAccess>]
type EndpointRule =
    /// `ConfigOverrides.SignalEndpoint`, a full per-signal URL used as is.
    | CodeSignalEndpoint
    /// `ConfigOverrides.BaseEndpoint` with the signal path appended (empty for gRPC).
    | CodeBaseEndpoint of appendedPath: string
    /// `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT`, used as is.
    | SignalVariable of variable: string
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` with the signal path appended (empty for gRPC).
    | GenericVariable of variable: string * appendedPath: string
    /// The protocol's default endpoint with the signal path appended (empty for gRPC).
    | Default of appendedPath: string

    /// A readable phrase, e.g. "from OTEL_EXPORTER_OTLP_ENDPOINT with 'v1/traces' appended".
    member this.Description =
        let appended path = if path = "" then "" else $" with '{path}' appended"

        match this with
        | CodeSignalEndpoint -> "from code (ConfigOverrides.SignalEndpoint), used as is"
        | CodeBaseEndpoint path -> "from code (ConfigOverrides.BaseEndpoint)" + appended path
        | SignalVariable variable -> $"from {variable}, used as is"
        | GenericVariable(variable, path) -> $"from {variable}" + appended path
        | Default path -> "the default" + appended path

/// The settings of one signal's OTLP exporter. `ToString` and `%A` show the endpoint redacted and no header value.
[<StructuredFormatDisplay("{Shown}")>]
type ExporterConfig =
    {
        /// The signal exported.
        Signal: Signal
        /// Transport and encoding.
        Protocol: Protocol
        /// The URL requests go to: for HTTP the full URL of the signal, for gRPC the server address.
        Endpoint: Uri
        /// How `Endpoint` was obtained.
        EndpointRule: EndpointRule
        /// Headers sent with every request (values are secrets: never print them).
        Headers: Header array
        /// How long one export may take; `Timeout.InfiniteTimeSpan` when configured as 0 (no limit).
        Timeout: TimeSpan
        /// Compression of request bodies.
        Compression: Compression
        /// For gRPC: whether an endpoint given without a scheme is reached over plain text (`http://`) rather than
        /// TLS; already applied to `Endpoint`, whose own scheme otherwise decides.
        Insecure: bool
        /// Path of the trusted certificate (PEM) used to verify the server; carried, never read here.
        CertificateFile: string option
        /// Path of the client's private key (PEM) for mTLS; carried, never read here.
        ClientKeyFile: string option
        /// Path of the client's certificate chain (PEM) for mTLS; carried, never read here.
        ClientCertificateFile: string option
    }

    /// The endpoint and the rule that produced it, for messages such as a 404 warning.
    member this.EndpointExplanation = $"{ConfigText.endpoint this.Endpoint.AbsoluteUri} ({this.EndpointRule.Description})"

    override this.ToString() =
        let millis = ConfigText.millis

        let headers =
            if this.Headers.Length = 0 then "none"
            else this.Headers |> Array.map (fun h -> h.Redacted) |> String.concat ", "

        let path (file: string option) = defaultArg file "none"
        let signal = (sprintf "%A" this.Signal).ToLowerInvariant()

        $"{signal} exporter: {this.Protocol.Name} to {this.EndpointExplanation}; headers: {headers}; "
        + $"timeout: {millis this.Timeout}; compression: {this.Compression.Name}; insecure: {ConfigText.flag this.Insecure}; "
        + $"certificate: {path this.CertificateFile}; client key: {path this.ClientKeyFile}; "
        + $"client certificate: {path this.ClientCertificateFile}"

    // `%A` would print the record's fields, the endpoint's user-info and query among them.
    member internal this.Shown = this.ToString()

/// Settings of a batching processor (`OTEL_BSP_*` for spans, `OTEL_BLRP_*` for log records).
type BatchConfig =
    {
        /// Delay between two consecutive exports.
        ScheduleDelay: TimeSpan
        /// How long one export may take; `Timeout.InfiniteTimeSpan` for no limit.
        ExportTimeout: TimeSpan
        /// Items kept at most while waiting to be exported; positive.
        MaxQueueSize: int
        /// Items sent at most in one export; positive and never above `MaxQueueSize`.
        MaxExportBatchSize: int
        /// Batches being exported at once at most; 1 (the default, as the specification's processors do) sends
        /// them one after another. More lets the next batch be encoded and sent while earlier ones are still on the
        /// wire (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`, an extension also read by the Rust SDK, and
        /// `OTEL_BLRP_MAX_CONCURRENT_EXPORTS`).
        MaxConcurrentExports: int
        /// Whether the next batch is encoded while the last one is sent, so that at saturation encoding and sending
        /// overlap; requests still go `MaxConcurrentExports` at a time. It holds one batch more out of the queue
        /// while it waits. In code only (`ConfigOverrides.BatchEncodeAhead`); by default true over gRPC and false
        /// over HTTP (`Config.encodesAheadByDefault`).
        EncodeAhead: bool
    }

/// The temporality a metrics exporter asks for (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
[<RequireQualifiedAccess>]
type TemporalityPreference =
    /// Cumulative for every instrument kind (`cumulative`), the default.
    | Cumulative
    /// Delta for counters, asynchronous counters and histograms; cumulative for up-down counters (`delta`).
    | Delta
    /// Delta for synchronous counters and histograms, cumulative otherwise (`lowmemory`).
    | LowMemory

/// The default aggregation of histogram instruments (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`).
[<RequireQualifiedAccess>]
type HistogramAggregation =
    /// Explicit bucket boundaries (`explicit_bucket_histogram`), the default.
    | ExplicitBucketHistogram
    /// Base-2 exponential buckets (`base2_exponential_bucket_histogram`).
    | Base2ExponentialBucketHistogram

/// Which measurements may become exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`; metrics SDK specification,
/// "ExemplarFilter").
[<RequireQualifiedAccess>]
type ExemplarFilter =
    /// Those recorded while a sampled span is current (`trace_based`), the default.
    | TraceBased
    /// Every measurement (`always_on`).
    | AlwaysOn
    /// None: no exemplars, and no cost for them (`always_off`).
    | AlwaysOff

/// Settings of the periodic metric reader and the metrics exporter's aggregation preferences.
type MetricReaderConfig =
    {
        /// Time between the start of two exports (`OTEL_METRIC_EXPORT_INTERVAL`).
        ExportInterval: TimeSpan
        /// How long one export may take (`OTEL_METRIC_EXPORT_TIMEOUT`); `Timeout.InfiniteTimeSpan` for no limit.
        ExportTimeout: TimeSpan
        /// Temporality asked of the SDK's aggregation.
        TemporalityPreference: TemporalityPreference
        /// Default aggregation of histograms.
        DefaultHistogramAggregation: HistogramAggregation
    }

/// How the items of a signal reach the exporter.
[<RequireQualifiedAccess>]
type Processing =
    /// Spans and log records are batched (`OTEL_BSP_*` or `OTEL_BLRP_*`).
    | Batch of BatchConfig
    /// Metrics are collected and exported periodically (`OTEL_METRIC_EXPORT_*`).
    | PeriodicReader of MetricReaderConfig

/// The sampler of a tracer (`OTEL_TRACES_SAMPLER`).
[<RequireQualifiedAccess>]
type SamplerKind =
    /// `always_on`.
    | AlwaysOn
    /// `always_off`.
    | AlwaysOff
    /// `traceidratio`: keep the ratio of traces given by `SamplerConfig.Ratio`.
    | TraceIdRatio
    /// `parentbased_always_on`, the default.
    | ParentBasedAlwaysOn
    /// `parentbased_always_off`.
    | ParentBasedAlwaysOff
    /// `parentbased_traceidratio`: follow the parent; roots by `SamplerConfig.Ratio`.
    | ParentBasedTraceIdRatio

    /// The value as written in `OTEL_TRACES_SAMPLER`.
    member this.Name =
        match this with
        | AlwaysOn -> "always_on"
        | AlwaysOff -> "always_off"
        | TraceIdRatio -> "traceidratio"
        | ParentBasedAlwaysOn -> "parentbased_always_on"
        | ParentBasedAlwaysOff -> "parentbased_always_off"
        | ParentBasedTraceIdRatio -> "parentbased_traceidratio"

/// A sampler and its argument, for a tracer built later.
type SamplerConfig =
    {
        /// Which sampler.
        Kind: SamplerKind
        /// Probability in [0, 1] used by the two ratio samplers (`OTEL_TRACES_SAMPLER_ARG`); 1.0 otherwise.
        Ratio: float
    }

/// The complete configuration of one signal: its exporter and the SDK settings that concern it. `ToString` and `%A`
/// show the endpoint redacted and no header value.
[<StructuredFormatDisplay("{Shown}")>]
type Config =
    {
        /// The OTLP exporter of the signal.
        Exporter: ExporterConfig
        /// Batching (traces, logs) or periodic reading (metrics).
        Processing: Processing
        /// `OTEL_SDK_DISABLED`: when true a no-op SDK is to be used.
        Disabled: bool
        /// Resource attributes; `service.name` is always present.
        Resource: KeyValue array
        /// Sampler for a tracer (the same for every signal).
        Sampler: SamplerConfig
    }

    override this.ToString() =
        let processing =
            match this.Processing with
            | Processing.Batch b ->
                $"batch: delay {ConfigText.millis b.ScheduleDelay}, export timeout {ConfigText.millis b.ExportTimeout}, "
                + $"queue {b.MaxQueueSize}, batch {b.MaxExportBatchSize}, concurrent exports {b.MaxConcurrentExports}"
                + (if b.EncodeAhead then ", encoding ahead" else "")
            | Processing.PeriodicReader r ->
                $"periodic reader: interval {ConfigText.millis r.ExportInterval}, export timeout {ConfigText.millis r.ExportTimeout}, "
                + $"temporality {r.TemporalityPreference}, histograms {r.DefaultHistogramAggregation}"

        let resource =
            this.Resource
            |> Array.map (fun kv ->
                match kv.Value with
                | AnyValue.String s -> $"{kv.Key}={s}"
                | other -> $"{kv.Key}={other}")
            |> String.concat ", "

        $"{this.Exporter}\n{processing}\ndisabled: {ConfigText.flag this.Disabled}; sampler: {this.Sampler.Kind.Name} "
        + $"(ratio {this.Sampler.Ratio.ToString(CultureInfo.InvariantCulture)})\nresource: {resource}"

    member internal this.Shown = this.ToString()

/// Settings given in code. They win over every environment variable; `None` (or an empty string, or null from
/// C#) leaves the setting to the environment and the defaults. `ToString` and `%A` list the settings given, the
/// endpoints redacted and the headers by name only.
[<StructuredFormatDisplay("{Shown}")>]
type ConfigOverrides =
    {
        /// The protocol.
        Protocol: Protocol option
        /// A base URL: for HTTP the signal path (`v1/traces`, ...) is appended, as for `OTEL_EXPORTER_OTLP_ENDPOINT`.
        BaseEndpoint: string option
        /// The full URL of this signal, used as is, as for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; wins over
        /// `BaseEndpoint`.
        SignalEndpoint: string option
        /// Headers; replace (not merge with) those of the environment.
        Headers: Header array option
        /// Export timeout; zero or `Timeout.InfiniteTimeSpan` means no limit, another negative value is reported and not used.
        Timeout: TimeSpan option
        /// Compression.
        Compression: Compression option
        /// gRPC without transport security, for an endpoint given without a scheme.
        Insecure: bool option
        /// Trusted certificate file.
        CertificateFile: string option
        /// Client key file.
        ClientKeyFile: string option
        /// Client certificate file.
        ClientCertificateFile: string option
        /// Disable the SDK.
        Disabled: bool option
        /// `service.name`; wins over every other source of it.
        ServiceName: string option
        /// Resource attributes; merged over those of the environment (same key: code wins).
        ResourceAttributes: KeyValue array option
        /// The sampler and its ratio.
        Sampler: SamplerConfig option
        /// Delay between batch exports (traces and logs).
        BatchScheduleDelay: TimeSpan option
        /// Timeout of one batch export (traces and logs); zero or `Timeout.InfiniteTimeSpan` means no limit.
        BatchExportTimeout: TimeSpan option
        /// Queue size of the batch processor (traces and logs).
        BatchMaxQueueSize: int option
        /// Batch size of the batch processor (traces and logs).
        BatchMaxExportBatchSize: int option
        /// Batches exported at once at most by the batch processor (traces and logs).
        BatchMaxConcurrentExports: int option
        /// Whether the batch processor encodes the next batch while the last one is sent (traces and logs).
        BatchEncodeAhead: bool option
        /// Interval of the periodic metric reader.
        MetricExportInterval: TimeSpan option
        /// Timeout of one metric export; zero or `Timeout.InfiniteTimeSpan` means no limit.
        MetricExportTimeout: TimeSpan option
        /// Temporality preference of the metrics exporter.
        TemporalityPreference: TemporalityPreference option
        /// Default histogram aggregation.
        DefaultHistogramAggregation: HistogramAggregation option
    }

    /// No overrides: everything comes from the environment or the defaults.
    static member Empty =
        { Protocol = None
          BaseEndpoint = None
          SignalEndpoint = None
          Headers = None
          Timeout = None
          Compression = None
          Insecure = None
          CertificateFile = None
          ClientKeyFile = None
          ClientCertificateFile = None
          Disabled = None
          ServiceName = None
          ResourceAttributes = None
          Sampler = None
          BatchScheduleDelay = None
          BatchExportTimeout = None
          BatchMaxQueueSize = None
          BatchMaxExportBatchSize = None
          BatchMaxConcurrentExports = None
          BatchEncodeAhead = None
          MetricExportInterval = None
          MetricExportTimeout = None
          TemporalityPreference = None
          DefaultHistogramAggregation = None }

    override this.ToString() =
        let show name (shown: string option) = shown |> Option.map (fun s -> $"{name} = {s}")
        let any (value: 'T option) = value |> Option.map (fun v -> sprintf "%A" v)

        let given =
            [ show "Protocol" (this.Protocol |> Option.map _.Name)
              show "BaseEndpoint" (this.BaseEndpoint |> Option.map ConfigText.endpoint)
              show "SignalEndpoint" (this.SignalEndpoint |> Option.map ConfigText.endpoint)
              show "Headers" (this.Headers |> Option.map (fun hs -> if isNull hs then "null" else hs |> Array.map (fun h -> if isNull (box h) then "null" else h.Redacted) |> String.concat ", "))
              show "Timeout" (this.Timeout |> Option.map ConfigText.millis)
              show "Compression" (this.Compression |> Option.map _.Name)
              show "Insecure" (this.Insecure |> Option.map ConfigText.flag)
              show "CertificateFile" this.CertificateFile
              show "ClientKeyFile" this.ClientKeyFile
              show "ClientCertificateFile" this.ClientCertificateFile
              show "Disabled" (this.Disabled |> Option.map ConfigText.flag)
              show "ServiceName" this.ServiceName
              show "ResourceAttributes" (any this.ResourceAttributes)
              show "Sampler" (any this.Sampler)
              show "BatchScheduleDelay" (this.BatchScheduleDelay |> Option.map ConfigText.millis)
              show "BatchExportTimeout" (this.BatchExportTimeout |> Option.map ConfigText.millis)
              show "BatchMaxQueueSize" (any this.BatchMaxQueueSize)
              show "BatchMaxExportBatchSize" (any this.BatchMaxExportBatchSize)
              show "BatchMaxConcurrentExports" (any this.BatchMaxConcurrentExports)
              show "BatchEncodeAhead" (this.BatchEncodeAhead |> Option.map ConfigText.flag)
              show "MetricExportInterval" (this.MetricExportInterval |> Option.map ConfigText.millis)
              show "MetricExportTimeout" (this.MetricExportTimeout |> Option.map ConfigText.millis)
              show "TemporalityPreference" (any this.TemporalityPreference)
              show "DefaultHistogramAggregation" (any this.DefaultHistogramAggregation) ]
            |> List.choose id

        "ConfigOverrides { " + String.concat "; " given + " }"

    member internal this.Shown = this.ToString()

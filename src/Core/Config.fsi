namespace Otlp.Core

open System
open System.Collections.Generic

/// The header lists of `OTEL_EXPORTER_OTLP_HEADERS` and its per-signal variants: `k1=v1,k2=v2` in the format of
/// W3C Baggage without metadata, keys and values percent-encoded UTF-8.
[<RequireQualifiedAccess>]
module Headers =

    /// Formats headers as `k1=v1,k2=v2`. Every octet outside W3C Baggage's `baggage-octet` range, and also '%'
    /// and '=', is percent-encoded (in keys and values), so `parse` gives back exactly the same names and values
    /// for any strings without unpaired surrogates (those are not UTF-8 and become U+FFFD).
    [<CompiledName("Format")>]
    val format: headers: Header seq -> string

    /// Parses `k1=v1,k2=v2`: entries split at ',', key and value at the first '=', surrounding whitespace
    /// trimmed, then both percent-decoded (invalid UTF-8 becomes U+FFFD). Blank entries are skipped silently; an
    /// entry without '=', with an empty key or with a bad percent escape is skipped and reported under `setting`
    /// (the variable name). Diagnostics may name a key, never a value. Never throws; null reads as empty.
    [<CompiledName("Parse")>]
    val parse: setting: string -> text: string -> Resolved<Header array>

    /// Why a header cannot be sent, or None when it can: its name must be an RFC 9110 token (what HTTP and gRPC
    /// accept), its value visible ASCII, spaces and tabs (the runtime refuses anything else, line breaks included,
    /// on every send). The reason names the header only up to its first bad character, as a misplaced separator
    /// puts a credential into the "name"; it never shows the value.
    [<CompiledName("Problem")>]
    val problem: name: string -> value: string -> string option

/// Resolution of the whole configuration of one signal from the environment and code.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Config =

    /// The path appended to a base endpoint for HTTP: `v1/traces`, `v1/metrics` or `v1/logs`.
    [<CompiledName("SignalPath")>]
    val signalPath: signal: Signal -> string

    /// The default endpoint: `http://localhost:4317` for gRPC; `http://localhost:4318/` plus the signal path for
    /// HTTP.
    [<CompiledName("DefaultEndpoint")>]
    val defaultEndpoint: protocol: Protocol -> signal: Signal -> Uri

    /// Why `endpoint` looks meant for the other protocol, or None: its port is written and is the other protocol's
    /// well-known one (4317 is OTLP/gRPC's, 4318 OTLP/HTTP's), the commonest OTLP misconfiguration. A hint only:
    /// a receiver may serve either protocol on any port, so nothing is changed for it; `resolve` reports it as a
    /// diagnostic, and a failed export repeats it.
    [<CompiledName("ProtocolPortMismatch")>]
    val protocolPortMismatch: protocol: Protocol -> endpoint: Uri -> string option

    /// The most items a batch processor queues (2^20): a larger `OTEL_BSP_MAX_QUEUE_SIZE` or
    /// `OTEL_BLRP_MAX_QUEUE_SIZE` (or its code setting) is lowered to it with a diagnostic. The queue is allocated
    /// whole when the first item comes, on the application's thread, and no exporter keeps up with more.
    [<CompiledName("MaxQueueSize")>]
    val maxQueueSize: int

    /// Whether a batch processor encodes the next batch while the last one is sent, unless code says
    /// (`ConfigOverrides.BatchEncodeAhead`): true over gRPC, whose client sends without holding the loop's thread;
    /// false over HTTP, where the loop sends each request itself and encoding ahead would cost a second thread's
    /// hand-offs and more CPU a span, for a throughput gain measured in some runs only (docs/benchmarks.md).
    [<CompiledName("EncodesAheadByDefault")>]
    val encodesAheadByDefault: protocol: Protocol -> bool

    /// The configuration of `signal`. Each setting is taken from, in order: `overrides` (code), the per-signal
    /// variable (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`), the generic variable (`OTEL_EXPORTER_OTLP_TIMEOUT`), the
    /// spec's default. A value that is invalid is skipped as if unset (the next source is used) and reported in
    /// the diagnostics with what was used instead; nothing throws. Empty and whitespace-only values are unset.
    ///
    /// Endpoint: `overrides.SignalEndpoint` and `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT` are used as is;
    /// `overrides.BaseEndpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT` and the default get the signal path appended after
    /// exactly one '/' when the protocol is HTTP (the base path is kept). URLs must be absolute http or https
    /// URLs with a host; a query is kept (after the appended path). `ExporterConfig.EndpointRule` records the rule used.
    ///
    /// Processing: `OTEL_BSP_*` for traces, `OTEL_BLRP_*` for logs (batch size above queue size is clamped to the
    /// queue size), `OTEL_METRIC_EXPORT_*` and the metrics preferences for metrics. Resource: `service.name` from
    /// `overrides.ServiceName`, else `overrides.ResourceAttributes`, else `OTEL_SERVICE_NAME`, else
    /// `OTEL_RESOURCE_ATTRIBUTES`, else none (`ResourceDefaults.complete` adds the fallback, which names the process);
    /// other attributes merge with code winning. An
    /// `OTEL_RESOURCE_ATTRIBUTES` with any bad entry is ignored whole (Resource SDK). Sampler:
    /// `OTEL_TRACES_SAMPLER`, and `OTEL_TRACES_SAMPLER_ARG` only for the ratio samplers.
    ///
    /// SDK-wide settings (resource, sampler, `OTEL_SDK_DISABLED`) are resolved for every signal, so resolving
    /// several signals repeats their diagnostics: `Array.distinct` removes the repeats.
    [<CompiledName("Resolve")>]
    val resolve:
        environment: IReadOnlyDictionary<string, string> -> overrides: ConfigOverrides -> signal: Signal -> Resolved<Config>

    /// The periodic reader's settings with an export interval and timeout given in code (a metrics pipeline's own
    /// options) over the environment's, checked as `resolve` checks `ConfigOverrides.MetricExportInterval` and
    /// `MetricExportTimeout`: an interval under 1 ms or a negative timeout is reported and not used; a zero timeout,
    /// or `Timeout.InfiniteTimeSpan` (the runtime's way of saying so), means no limit.
    [<CompiledName("ResolveMetricReader")>]
    val resolveMetricReader:
        environment: IReadOnlyDictionary<string, string> ->
        exportInterval: TimeSpan option ->
        exportTimeout: TimeSpan option ->
            Resolved<MetricReaderConfig>

    /// The exemplar filter: `filter` (given in code, as `OtlpMetricsOptions.ExemplarFilter`) over
    /// `OTEL_METRICS_EXEMPLAR_FILTER` (`trace_based`, `always_on`, `always_off`, without case) over the default,
    /// `trace_based`; an unknown value is reported and not used.
    [<CompiledName("ResolveExemplarFilter")>]
    val resolveExemplarFilter:
        environment: IReadOnlyDictionary<string, string> -> filter: ExemplarFilter option -> Resolved<ExemplarFilter>

    /// `resolve` without code overrides.
    [<CompiledName("FromEnvironment")>]
    val fromEnvironment: environment: IReadOnlyDictionary<string, string> -> signal: Signal -> Resolved<Config>

    /// A multi-line description of a configuration for logs; header values are redacted.
    [<CompiledName("Display")>]
    val display: config: Config -> string

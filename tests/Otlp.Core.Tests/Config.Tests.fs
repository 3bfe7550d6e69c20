module Otlp.Core.Tests.ConfigTests

// Table rows cite the rule they check. Sources, by section:
// - OTLP exporter spec (specification/protocol/exporter.md): "Configuration Options", "Endpoint URLs for
//   OTLP/HTTP", "Specify Protocol", "Specifying headers via environment variables".
// - SDK environment variables spec (specification/configuration/sdk-environment-variables.md): "Parsing empty
//   value", "Boolean", "Numeric", "Duration", "Timeout", "Enum", "General SDK Configuration", "Batch Span
//   Processor", "Batch LogRecord Processor", "Periodic exporting MetricReader".
// - Resource SDK spec (specification/resource/sdk.md): "Specifying resource information via an environment
//   variable".
// - OTLP metrics exporter spec (specification/metrics/sdk_exporters/otlp.md): temporality preference and default
//   histogram aggregation.

open System
open System.Collections.Generic
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core

let env (pairs: (string * string) list) : IReadOnlyDictionary<string, string> = Map.ofList pairs :> _

let resolve pairs overrides signal = Config.resolve (env pairs) overrides signal

let resolveEnv pairs signal = resolve pairs ConfigOverrides.Empty signal

let exporter pairs signal = (resolveEnv pairs signal).Value.Exporter

let diagnosticsOf pairs signal = (resolveEnv pairs signal).Diagnostics

/// One test per row, named by the rule it checks; the row's name is also the failure message.
let table name (run: 'Input -> 'Output) (rows: (string * 'Input * 'Output) list) =
    testList name [ for rule, input, expected in rows -> test rule { Expect.equal (run input) expected rule } ]

let ms (value: float) = TimeSpan.FromMilliseconds value

let batchOf (config: Config) =
    match config.Processing with
    | Processing.Batch batch -> batch
    | Processing.PeriodicReader _ -> failwith "expected batch processing"

let readerOf (config: Config) =
    match config.Processing with
    | Processing.PeriodicReader reader -> reader
    | Processing.Batch _ -> failwith "expected a periodic reader"

let serviceName (config: Config) =
    config.Resource
    |> Array.filter (fun kv -> kv.Key = "service.name")
    |> Array.map (fun kv -> kv.Value)

let resourceStrings (config: Config) =
    config.Resource
    |> Array.map (fun kv ->
        match kv.Value with
        | AnyValue.String s -> kv.Key, s
        | other -> kv.Key, string other)
    |> List.ofArray

// ---------------------------------------------------------------------------------------------------------
// Tables

let endpointRows =
    let http = "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    let grpc = "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"

    [ "Configuration Options: the OTLP/HTTP default endpoint is http://localhost:4318, with the traces path appended",
      ([], Traces),
      "http://localhost:4318/v1/traces"
      "Configuration Options: the OTLP/gRPC default endpoint is http://localhost:4317, no path appended",
      ([ grpc ], Traces),
      "http://localhost:4317/"
      "Endpoint URLs for OTLP/HTTP: the generic endpoint is a base URL, traces go to v1/traces relative to it",
      ([ http; "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ], Traces),
      "http://collector:4318/v1/traces"
      "Endpoint URLs for OTLP/HTTP: metrics go to v1/metrics relative to the base URL",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ], Metrics),
      "http://collector:4318/v1/metrics"
      "Endpoint URLs for OTLP/HTTP: logs go to v1/logs relative to the base URL",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ], Logs),
      "http://collector:4318/v1/logs"
      "Endpoint URLs for OTLP/HTTP: a base path is kept and the signal path follows it",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base" ], Traces),
      "http://collector:4318/base/v1/traces"
      "Endpoint URLs for OTLP/HTTP: a base ending in '/' gets no second slash",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/" ], Traces),
      "http://collector:4318/base/v1/traces"
      "Endpoint URLs for OTLP/HTTP: the per-signal URL is used as is, without a path added",
      ([ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://collector.example.com/custom/path" ], Traces),
      "https://collector.example.com/custom/path"
      "Endpoint URLs for OTLP/HTTP: a per-signal URL without path uses the root path",
      ([ "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318" ], Metrics),
      "http://collector:4318/"
      "Configuration Options: the per-signal endpoint takes precedence over the generic one",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"; "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/in" ],
       Logs),
      "http://logs:9999/in"
      "Configuration Options: another signal's variable does not apply",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"; "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/in" ],
       Traces),
      "http://generic:4318/v1/traces"
      "Configuration Options (gRPC): the endpoint is a target, no signal path is appended",
      ([ grpc; "OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317" ], Metrics),
      "https://collector:4317/"
      "Parsing empty value: an empty per-signal endpoint is unset, so the generic one is used",
      ([ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""; "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318" ], Traces),
      "http://generic:4318/v1/traces"
      "Configuration Options: the endpoint must be an http or https URL, so ftp falls back to the default",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:21" ], Traces),
      "http://localhost:4318/v1/traces"
      "Configuration Options: an unparsable per-signal endpoint is unset, so the generic one is used",
      ([ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"; "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318" ], Traces),
      "http://generic:4318/v1/traces"
      "Configuration Options: scheme, host, port and path are honoured; a base endpoint's query stays after the signal path",
      ([ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/otlp?token=1" ], Traces),
      "http://collector:4318/otlp/v1/traces?token=1"
      "Configuration Options: a per-signal endpoint with a query is used as is",
      ([ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://ingest.example.com/v1/traces?api-key=abc" ], Traces),
      "https://ingest.example.com/v1/traces?api-key=abc"
      "Configuration Options (insecure): a gRPC endpoint without a scheme is plain text when insecure is true",
      ([ grpc; "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"; "OTEL_EXPORTER_OTLP_INSECURE", "true" ], Traces),
      "http://collector:4317/"
      "Configuration Options (insecure): a gRPC endpoint without a scheme uses TLS by default",
      ([ grpc; "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4317" ], Traces),
      "https://collector:4317/"
      "Configuration Options (insecure): the per-signal flag decides for the per-signal endpoint's signal",
      ([ grpc
         "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", " 10.0.0.7:4317 "
         "OTEL_EXPORTER_OTLP_INSECURE", "true"
         "OTEL_EXPORTER_OTLP_LOGS_INSECURE", "false" ],
       Logs),
      "https://10.0.0.7:4317/"
      "Configuration Options (insecure): an https scheme takes precedence over insecure",
      ([ grpc; "OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"; "OTEL_EXPORTER_OTLP_INSECURE", "true" ], Traces),
      "https://collector:4317/"
      "Configuration Options (insecure): an http scheme takes precedence over insecure being false",
      ([ grpc; "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"; "OTEL_EXPORTER_OTLP_INSECURE", "false" ], Traces),
      "http://collector:4317/"
      "Configuration Options (insecure): an OTLP/HTTP endpoint must have a scheme, so one without falls back to the default",
      ([ http; "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"; "OTEL_EXPORTER_OTLP_INSECURE", "true" ], Traces),
      "http://localhost:4318/v1/traces" ]

let endpointRuleRows =
    [ "Configuration Options: the rule names the generic variable and the appended path",
      [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ],
      "from OTEL_EXPORTER_OTLP_ENDPOINT with 'v1/traces' appended"
      "Configuration Options: the rule says a per-signal URL is used as is",
      [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces" ],
      "from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is"
      "Configuration Options: the rule says when the default was used",
      [],
      "the default with 'v1/traces' appended" ]

let codeEndpointRows =
    let envBoth =
        [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"; "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://signal:4318/x" ]

    [ "Code equivalent of OTEL_EXPORTER_OTLP_ENDPOINT: BaseEndpoint gets the signal path and wins over every variable",
      (envBoth, { ConfigOverrides.Empty with BaseEndpoint = Some "http://code:4318/base" }),
      ("http://code:4318/base/v1/traces", EndpointRule.CodeBaseEndpoint "v1/traces")
      "Code equivalent of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: SignalEndpoint is used as is",
      (envBoth, { ConfigOverrides.Empty with SignalEndpoint = Some "http://code:4318/exact" }),
      ("http://code:4318/exact", EndpointRule.CodeSignalEndpoint)
      "Code: SignalEndpoint wins over BaseEndpoint, as the per-signal variable wins over the generic one",
      ([],
       { ConfigOverrides.Empty with
           SignalEndpoint = Some "http://signal:1/exact"
           BaseEndpoint = Some "http://base:2" }),
      ("http://signal:1/exact", EndpointRule.CodeSignalEndpoint)
      "Code: an invalid BaseEndpoint is skipped like an invalid variable",
      (envBoth, { ConfigOverrides.Empty with BaseEndpoint = Some "nonsense" }),
      ("http://signal:4318/x", EndpointRule.SignalVariable "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ]

let protocolRows =
    [ "Specify Protocol: with no configuration the default is http/protobuf", [], Protocol.HttpProtobuf
      "Specify Protocol: 'grpc' is protobuf over gRPC", [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc" ], Protocol.Grpc
      "Specify Protocol: 'http/json' is JSON over HTTP", [ "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json" ], Protocol.HttpJson
      "Enum: values are read case-insensitively", [ "OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON" ], Protocol.HttpJson
      "Enum: an unknown value is ignored with a warning, leaving the default",
      [ "OTEL_EXPORTER_OTLP_PROTOCOL", "http" ],
      Protocol.HttpProtobuf
      "Configuration Options: the per-signal protocol overrides the generic one",
      [ "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"; "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc" ],
      Protocol.Grpc
      "Enum: an unknown per-signal value is ignored, so the generic one applies",
      [ "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"; "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc/json" ],
      Protocol.HttpJson ]

let headerRows =
    let h name value = { Name = name; Value = value }

    [ "Specifying headers: a list of key=value pairs separated by commas",
      "api-key=abc,tenant=t1",
      [ h "api-key" "abc"; h "tenant" "t1" ]
      "W3C Baggage: whitespace around keys and values is trimmed", "  api-key = abc ,  tenant=t1 ", [ h "api-key" "abc"; h "tenant" "t1" ]
      "W3C Baggage: values are percent-decoded UTF-8", "a=x%2Cy%3Dz%20%C3%A9", [ h "a" "x,y=z é" ]
      "W3C Baggage: the value runs from the first '=' to the next ','", "auth=Basic YWJj==", [ h "auth" "Basic YWJj==" ]
      "W3C Baggage: an entry without '=' is skipped, the others kept", "a=1,broken,b=2", [ h "a" "1"; h "b" "2" ]
      "W3C Baggage: an entry with an empty key is skipped", "=1,b=2", [ h "b" "2" ]
      "W3C Baggage: a bad percent escape skips its entry", "a=%zz,b=2", [ h "b" "2" ]
      "W3C Baggage: blank entries (a trailing comma) are ignored", "a=1,,b=2,", [ h "a" "1"; h "b" "2" ]
      "W3C Baggage: an empty value is a value", "a=", [ h "a" "" ] ]

let headerResolutionRows =
    let h name value = { Name = name; Value = value }

    [ "Configuration Options: the per-signal headers replace the generic ones",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "a=1"; "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "b=2" ],
      [ h "b" "2" ]
      "Configuration Options: without per-signal headers the generic ones apply",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "a=1"; "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2" ],
      [ h "a" "1" ]
      "HTTP header names are tokens: a name with a space is skipped",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "bad name=1,good=2" ],
      [ h "good" "2" ]
      "Header values are visible ASCII, spaces and tabs: a decoded non-ASCII value is skipped, not sent to fail",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "x-a=%E2%82%AC,x-b=Basic%20YWJj,x-c=line%0Abreak" ],
      [ h "x-b" "Basic YWJj" ]
      "Parsing: per-signal headers of which none can be used count as unset, so the generic ones apply",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"; "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "api-key" ],
      [ h "api-key" "secret" ]
      "Parsing: per-signal headers with a usable entry replace the generic ones, bad entries skipped",
      [ "OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"; "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "broken,tenant=t1" ],
      [ h "tenant" "t1" ] ]

let timeoutRows =
    [ "Configuration Options: the default timeout is 10s", [], ms 10000.0
      "Timeout: an integer number of milliseconds", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "2500" ], ms 2500.0
      "Timeout: zero means no limit", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "0" ], Threading.Timeout.InfiniteTimeSpan
      "Timeout: a negative value is ignored with a warning and the default used", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "-5" ], ms 10000.0
      "Numeric: an unparsable value is ignored with a warning", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "10s" ], ms 10000.0
      "Numeric: a fraction is not an integer", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "1.5" ], ms 10000.0
      "Integer: values above 2^31 - 1 are out of range", [ "OTEL_EXPORTER_OTLP_TIMEOUT", "2147483648" ], ms 10000.0
      "Configuration Options: the per-signal timeout overrides the generic one",
      [ "OTEL_EXPORTER_OTLP_TIMEOUT", "1000"; "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000" ],
      ms 2000.0
      "Numeric: an invalid per-signal value is treated as not set, so the generic value applies",
      [ "OTEL_EXPORTER_OTLP_TIMEOUT", "1000"; "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "abc" ],
      ms 1000.0 ]

let compressionRows =
    [ "Configuration Options: with no value compression is disabled", [], Compression.None
      "Configuration Options: gzip is the specified compression", [ "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip" ], Compression.Gzip
      "Configuration Options: SDKs may support other methods; zstd is one", [ "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd" ], Compression.Zstd
      "Enum: 'none' is the null value", [ "OTEL_EXPORTER_OTLP_COMPRESSION", "none" ], Compression.None
      "Enum: an unknown compression is ignored with a warning", [ "OTEL_EXPORTER_OTLP_COMPRESSION", "brotli" ], Compression.None
      "Configuration Options: the per-signal compression overrides the generic one",
      [ "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"; "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none" ],
      Compression.None ]

let booleanRows =
    [ "Boolean: unset is false", [], (false, 0)
      "Boolean: 'true' is true", [ "OTEL_EXPORTER_OTLP_INSECURE", "true" ], (true, 0)
      "Boolean: 'TRUE' is true, case-insensitively", [ "OTEL_EXPORTER_OTLP_INSECURE", "TRUE" ], (true, 0)
      "Boolean: 'False' is false without a warning", [ "OTEL_EXPORTER_OTLP_INSECURE", "False" ], (false, 0)
      "Boolean: '1' is not a true value; false, with a warning", [ "OTEL_EXPORTER_OTLP_INSECURE", "1" ], (false, 1)
      "Boolean: 'yes' is false, with a warning", [ "OTEL_EXPORTER_OTLP_INSECURE", "yes" ], (false, 1)
      "Parsing empty value: empty is unset, so false without a warning", [ "OTEL_EXPORTER_OTLP_INSECURE", "" ], (false, 0)
      "Configuration Options: the per-signal insecure flag overrides the generic one",
      [ "OTEL_EXPORTER_OTLP_INSECURE", "true"; "OTEL_EXPORTER_OTLP_TRACES_INSECURE", "false" ],
      (false, 0) ]

let certificateRows =
    [ "Configuration Options: certificate file per signal",
      [ "OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic.pem"; "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces.pem" ],
      (Some "/traces.pem", None, None)
      "Configuration Options: client key and client certificate files are carried as given",
      [ "OTEL_EXPORTER_OTLP_CLIENT_KEY", "/key.pem"; "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/cert.pem" ],
      (None, Some "/key.pem", Some "/cert.pem")
      "Configuration Options: a client key without its certificate is not used (with a warning)",
      [ "OTEL_EXPORTER_OTLP_CLIENT_KEY", "/key.pem" ],
      (None, None, None)
      "Configuration Options: a client certificate without a key file is carried (the file may hold its key)",
      [ "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/both.pem" ],
      (None, None, Some "/both.pem")
      "Configuration Options: certificate files have no default", [], (None, None, None) ]

let batchRows =
    let b delay timeout queue size =
        { ScheduleDelay = ms delay
          ExportTimeout = ms timeout
          MaxQueueSize = queue
          MaxExportBatchSize = size
          MaxConcurrentExports = 1
          // The default over HTTP/protobuf, the default protocol.
          EncodeAhead = false }

    [ "Batch Span Processor: defaults 5000, 30000, 2048, 512", ([], Traces), b 5000.0 30000.0 2048 512
      "Batch LogRecord Processor: defaults 1000, 30000, 2048, 512", ([], Logs), b 1000.0 30000.0 2048 512
      "Batch Span Processor: every variable read",
      ([ "OTEL_BSP_SCHEDULE_DELAY", "100"
         "OTEL_BSP_EXPORT_TIMEOUT", "200"
         "OTEL_BSP_MAX_QUEUE_SIZE", "300"
         "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "40" ],
       Traces),
      b 100.0 200.0 300 40
      "Batch LogRecord Processor: OTEL_BLRP_* for logs, OTEL_BSP_* ignored",
      ([ "OTEL_BLRP_SCHEDULE_DELAY", "7"; "OTEL_BSP_SCHEDULE_DELAY", "100" ], Logs),
      b 7.0 30000.0 2048 512
      "Batch Span Processor: the maximum batch size must not exceed the queue size; capped to it",
      ([ "OTEL_BSP_MAX_QUEUE_SIZE", "100"; "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400" ], Traces),
      b 5000.0 30000.0 100 100
      "Batch Span Processor: the default batch size is capped by a smaller queue",
      ([ "OTEL_BSP_MAX_QUEUE_SIZE", "10" ], Traces),
      b 5000.0 30000.0 10 10
      "Batch Span Processor: a queue larger than a queue holds at most is lowered to it",
      ([ "OTEL_BSP_MAX_QUEUE_SIZE", "2147483647"; "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2147483647" ], Traces),
      b 5000.0 30000.0 Config.maxQueueSize Config.maxQueueSize
      "Batch Span Processor: queue sizes must be positive; 0 is ignored",
      ([ "OTEL_BSP_MAX_QUEUE_SIZE", "0" ], Traces),
      b 5000.0 30000.0 2048 512
      "Timeout: a zero export timeout means no limit",
      ([ "OTEL_BLRP_EXPORT_TIMEOUT", "0" ], Logs),
      { b 1000.0 0.0 2048 512 with ExportTimeout = Threading.Timeout.InfiniteTimeSpan }
      "Duration: a negative schedule delay is ignored with a warning",
      ([ "OTEL_BSP_SCHEDULE_DELAY", "-1" ], Traces),
      b 5000.0 30000.0 2048 512
      "Extension: OTEL_BSP_MAX_CONCURRENT_EXPORTS lets several span batches be exported at once",
      ([ "OTEL_BSP_MAX_CONCURRENT_EXPORTS", "4" ], Traces),
      { b 5000.0 30000.0 2048 512 with MaxConcurrentExports = 4 }
      "Extension: OTEL_BLRP_MAX_CONCURRENT_EXPORTS for logs, OTEL_BSP_MAX_CONCURRENT_EXPORTS ignored",
      ([ "OTEL_BLRP_MAX_CONCURRENT_EXPORTS", "2"; "OTEL_BSP_MAX_CONCURRENT_EXPORTS", "8" ], Logs),
      { b 1000.0 30000.0 2048 512 with MaxConcurrentExports = 2 }
      "Extension: concurrent exports must be at least 1; 0 is ignored",
      ([ "OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0" ], Traces),
      b 5000.0 30000.0 2048 512 ]

let metricReaderRows =
    let r interval timeout temporality histogram =
        { ExportInterval = ms interval
          ExportTimeout = ms timeout
          TemporalityPreference = temporality
          DefaultHistogramAggregation = histogram }

    let cumulative = TemporalityPreference.Cumulative
    let explicitBuckets = HistogramAggregation.ExplicitBucketHistogram

    [ "Periodic exporting MetricReader: defaults 60000 and 30000; cumulative; explicit buckets",
      [],
      r 60000.0 30000.0 cumulative explicitBuckets
      "Periodic exporting MetricReader: interval and timeout read in milliseconds",
      [ "OTEL_METRIC_EXPORT_INTERVAL", "1000"; "OTEL_METRIC_EXPORT_TIMEOUT", "500" ],
      r 1000.0 500.0 cumulative explicitBuckets
      "OTLP metrics exporter: temporality preference 'delta', read case-insensitively",
      [ "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta" ],
      r 60000.0 30000.0 TemporalityPreference.Delta explicitBuckets
      "OTLP metrics exporter: temporality preference 'lowmemory'",
      [ "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LOWMEMORY" ],
      r 60000.0 30000.0 TemporalityPreference.LowMemory explicitBuckets
      "OTLP metrics exporter: an unknown temporality preference is ignored with a warning",
      [ "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes" ],
      r 60000.0 30000.0 cumulative explicitBuckets
      "OTLP metrics exporter: base2_exponential_bucket_histogram as default aggregation",
      [ "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "base2_exponential_bucket_histogram" ],
      r 60000.0 30000.0 cumulative HistogramAggregation.Base2ExponentialBucketHistogram ]

let resourceRows =
    [ "Resource SDK: without any service name, none is resolved (ResourceDefaults gives the fallback)", ([], ConfigOverrides.Empty), []
      "Resource SDK: OTEL_RESOURCE_ATTRIBUTES holds key=value pairs, values percent-decoded",
      ([ "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod, team = a%2Cb" ], ConfigOverrides.Empty),
      [ "deployment.environment", "prod"; "team", "a,b" ]
      "General SDK Configuration: OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES",
      ([ "OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes,x=1"; "OTEL_SERVICE_NAME", "from-variable" ],
       ConfigOverrides.Empty),
      [ "service.name", "from-variable"; "x", "1" ]
      "Resource SDK: on a decoding error the whole OTEL_RESOURCE_ATTRIBUTES is discarded",
      ([ "OTEL_RESOURCE_ATTRIBUTES", "a=1,b=%zz"; "OTEL_SERVICE_NAME", "svc" ], ConfigOverrides.Empty),
      [ "service.name", "svc" ]
      "Code over environment: ServiceName in code wins over OTEL_SERVICE_NAME",
      ([ "OTEL_SERVICE_NAME", "from-variable" ], { ConfigOverrides.Empty with ServiceName = Some "from-code" }),
      [ "service.name", "from-code" ]
      "Code over environment: code attributes replace same-key environment attributes",
      ([ "OTEL_RESOURCE_ATTRIBUTES", "a=env,b=env" ],
       { ConfigOverrides.Empty with ResourceAttributes = Some [| KeyValue.string "b" "code" |] }),
      [ "a", "env"; "b", "code" ]
      "Resource SDK: a service name configured as unknown_service is kept as configured",
      ([ "OTEL_SERVICE_NAME", "unknown_service" ], ConfigOverrides.Empty),
      [ "service.name", "unknown_service" ] ]

let samplerRows =
    let s kind ratio = { Kind = kind; Ratio = ratio }

    [ "General SDK Configuration: the default sampler is parentbased_always_on", [], (s SamplerKind.ParentBasedAlwaysOn 1.0, 0)
      "General SDK Configuration: always_off", [ "OTEL_TRACES_SAMPLER", "always_off" ], (s SamplerKind.AlwaysOff 1.0, 0)
      "General SDK Configuration: traceidratio with a probability argument in [0..1]",
      [ "OTEL_TRACES_SAMPLER", "traceidratio"; "OTEL_TRACES_SAMPLER_ARG", "0.25" ],
      (s SamplerKind.TraceIdRatio 0.25, 0)
      "General SDK Configuration: the ratio defaults to 1.0 if the argument is unset",
      [ "OTEL_TRACES_SAMPLER", "parentbased_traceidratio" ],
      (s SamplerKind.ParentBasedTraceIdRatio 1.0, 0)
      "General SDK Configuration: invalid sampler input is logged and ignored, as if the argument were unset",
      [ "OTEL_TRACES_SAMPLER", "traceidratio"; "OTEL_TRACES_SAMPLER_ARG", "1.5" ],
      (s SamplerKind.TraceIdRatio 1.0, 1)
      "General SDK Configuration: the argument is used only if OTEL_TRACES_SAMPLER is set",
      [ "OTEL_TRACES_SAMPLER_ARG", "0.5" ],
      (s SamplerKind.ParentBasedAlwaysOn 1.0, 1)
      "Enum: an unknown sampler is ignored with a warning", [ "OTEL_TRACES_SAMPLER", "sometimes" ], (s SamplerKind.ParentBasedAlwaysOn 1.0, 1) ]

let disabledRows =
    [ "General SDK Configuration: OTEL_SDK_DISABLED defaults to false", [], false
      "General SDK Configuration: 'true' disables the SDK", [ "OTEL_SDK_DISABLED", "true" ], true
      "General SDK Configuration: any other value leaves the SDK enabled", [ "OTEL_SDK_DISABLED", "1" ], false ]

// ---------------------------------------------------------------------------------------------------------
// Generators

let interestingFragments =
    [ "="; ","; "%"; " "; "\t"; ";"; "\""; "\\"; "%20"; "%zz"; "é"; "日本"; "😀"; "a"; "Z"; "0"; "-"; "+"; "" ]

/// Strings made of fragments that stress the list format, mixed with arbitrary strings.
let trickyString =
    let arbitrary = ArbMap.defaults |> ArbMap.generate<string> |> Gen.map (fun s -> if isNull s then "" else s)

    Gen.oneof [ Gen.elements interestingFragments; arbitrary ]
    |> Gen.listOf
    |> Gen.map String.Concat

/// Replaces unpaired surrogates, which no UTF-8 format can carry.
let wellFormed (s: string) =
    let chars = s.ToCharArray()

    for i in 0 .. chars.Length - 1 do
        let c = chars[i]

        let paired =
            (Char.IsHighSurrogate c && i + 1 < chars.Length && Char.IsLowSurrogate chars[i + 1])
            || (Char.IsLowSurrogate c && i > 0 && Char.IsHighSurrogate chars[i - 1])

        if Char.IsSurrogate c && not paired then chars[i] <- '?'

    String(chars)

let secret = Gen.choose (100000, 999999) |> Gen.map (fun n -> $"SECRET{n}s3cr3t")

/// Every variable the configuration reads, so "never throws" covers them all.
let allVariables =
    [ for suffix in [ "ENDPOINT"; "PROTOCOL"; "HEADERS"; "TIMEOUT"; "COMPRESSION"; "INSECURE"; "CERTIFICATE"; "CLIENT_KEY"; "CLIENT_CERTIFICATE" ] do
          "OTEL_EXPORTER_OTLP_" + suffix

          for signal in [ "TRACES"; "METRICS"; "LOGS" ] do
              $"OTEL_EXPORTER_OTLP_{signal}_{suffix}"
      for prefix in [ "OTEL_BSP"; "OTEL_BLRP" ] do
          for suffix in [ "SCHEDULE_DELAY"; "EXPORT_TIMEOUT"; "MAX_QUEUE_SIZE"; "MAX_EXPORT_BATCH_SIZE"; "MAX_CONCURRENT_EXPORTS" ] do
              $"{prefix}_{suffix}"
      "OTEL_METRIC_EXPORT_INTERVAL"
      "OTEL_METRIC_EXPORT_TIMEOUT"
      "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
      "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"
      "OTEL_SERVICE_NAME"
      "OTEL_RESOURCE_ATTRIBUTES"
      "OTEL_SDK_DISABLED"
      "OTEL_TRACES_SAMPLER"
      "OTEL_TRACES_SAMPLER_ARG"
      "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
      "OTEL_ATTRIBUTE_COUNT_LIMIT"
      "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"
      "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"
      "OTEL_SPAN_EVENT_COUNT_LIMIT"
      "OTEL_SPAN_LINK_COUNT_LIMIT"
      "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"
      "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"
      "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT"
      "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT" ]

let signals = Gen.elements [ Traces; Metrics; Logs ]

/// Values likely to hit every parser branch, plus anything at all (null included).
let anyValue =
    Gen.frequency
        [ 3, trickyString
          1, Gen.constant null
          2,
          Gen.elements
              [ "0"; "-1"; "2147483648"; "1e3"; "true"; "grpc"; "http://x"; "http://[::1"; "a=b"; "0.5"; "NaN"; " " ] ]

// ---------------------------------------------------------------------------------------------------------

/// A source that is unset (None), set to a valid value (Some true) or set to an invalid one (Some false); in code
/// the invalid form is a negative TimeSpan.
let sourceState = Gen.elements [ None; Some true; Some false ]

let subsetsOfSources = Gen.zip3 (Gen.elements [ true; false ]) (Gen.elements [ true; false ]) (Gen.elements [ true; false ])

[<Tests>]
let tests =
    testList "Config" [
        table "endpoint" (fun (pairs, signal) -> (exporter pairs signal).Endpoint.AbsoluteUri) endpointRows

        table "endpoint rule" (fun pairs -> (exporter pairs Traces).EndpointRule.Description) endpointRuleRows

        table "code endpoints"
            (fun (pairs, overrides) ->
                let e = (resolve pairs overrides Traces).Value.Exporter
                e.Endpoint.AbsoluteUri, e.EndpointRule)
            codeEndpointRows

        table "protocol" (fun pairs -> (exporter pairs Traces).Protocol) protocolRows

        table "header parsing" (fun text -> (Headers.parse "OTEL_EXPORTER_OTLP_HEADERS" text).Value |> List.ofArray) headerRows

        table "header resolution" (fun pairs -> (exporter pairs Metrics).Headers |> List.ofArray) headerResolutionRows

        table "timeout" (fun pairs -> (exporter pairs Traces).Timeout) timeoutRows

        table "compression" (fun pairs -> (exporter pairs Traces).Compression) compressionRows

        table "boolean" (fun pairs -> (exporter pairs Traces).Insecure, (diagnosticsOf pairs Traces).Length) booleanRows

        table "certificates"
            (fun pairs ->
                let e = exporter pairs Traces
                e.CertificateFile, e.ClientKeyFile, e.ClientCertificateFile)
            certificateRows

        table "batch" (fun (pairs, signal) -> batchOf (resolveEnv pairs signal).Value) batchRows

        table "metric reader" (fun pairs -> readerOf (resolveEnv pairs Metrics).Value) metricReaderRows

        table "resource" (fun (pairs, overrides) -> resourceStrings (resolve pairs overrides Logs).Value) resourceRows

        table "sampler"
            (fun pairs ->
                let resolved = resolveEnv pairs Traces
                resolved.Value.Sampler, resolved.Diagnostics.Length)
            samplerRows

        table "sdk disabled" (fun pairs -> (resolveEnv pairs Logs).Value.Disabled) disabledRows

        testList "diagnostics" [
            test "a bad timeout names the variable, the value and what was used instead" {
                let diagnostics = diagnosticsOf [ "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"; "OTEL_EXPORTER_OTLP_TIMEOUT", "1234" ] Traces

                Expect.equal
                    (diagnostics |> Array.map (fun d -> d.Setting, d.Value, d.Outcome))
                    [| "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon", "using '1234 ms' from OTEL_EXPORTER_OTLP_TIMEOUT" |]
                    "one diagnostic"
            }

            test "a duration written with a unit is rejected, as the specification's plain milliseconds ask, and the warning says what to write" {
                let problemOf variable value signal =
                    (diagnosticsOf [ variable, value ] signal |> Array.exactlyOne).Problem
                Expect.equal
                    (problemOf "OTEL_EXPORTER_OTLP_TIMEOUT" "10s" Traces)
                    "is not a whole number of milliseconds, the unit of this setting (for 10s, write 10000)"
                    "seconds"
                Expect.stringContains (problemOf "OTEL_BSP_SCHEDULE_DELAY" "500ms" Traces) "(for 500ms, write 500)" "milliseconds with their unit"
                Expect.stringContains (problemOf "OTEL_METRIC_EXPORT_INTERVAL" "1.5 min" Metrics) "(for 1.5 min, write 90000)" "a fraction of minutes"
                Expect.stringContains (problemOf "OTEL_BLRP_EXPORT_TIMEOUT" "2h" Logs) "(for 2h, write 7200000)" "hours"
                Expect.equal (problemOf "OTEL_EXPORTER_OTLP_TIMEOUT" "soon" Traces) "is not a whole number of milliseconds from 0 to 2147483647" "no unit to convert"
                Expect.equal (problemOf "OTEL_EXPORTER_OTLP_TIMEOUT" "1000h" Traces) "is not a whole number of milliseconds from 0 to 2147483647" "too long for the setting: no suggestion"
                Expect.equal (exporter [ "OTEL_EXPORTER_OTLP_TIMEOUT", "3s" ] Traces).Timeout (ms 10000.0) "the default (10 s) is used, not the value read with its unit"
            }

            test "a sampler argument beside a sampler this SDK does not have says so, not that no sampler is set" {
                let d =
                    diagnosticsOf [ "OTEL_TRACES_SAMPLER", "jaeger_remote"; "OTEL_TRACES_SAMPLER_ARG", "0.5" ] Traces
                    |> Array.find (fun d -> d.Setting = "OTEL_TRACES_SAMPLER_ARG")

                Expect.stringContains d.Problem "names no sampler" "the reason"
                Expect.isFalse (d.Problem.Contains "not set") "not the unset variable's reason"
            }

            test "a bad endpoint says which URL is used and by which rule" {
                let d = diagnosticsOf [ "OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318" ] Logs |> Array.exactlyOne

                Expect.equal d.Setting "OTEL_EXPORTER_OTLP_ENDPOINT" "setting"
                Expect.stringContains d.Message "'http://localhost:4318/v1/logs' (the default with 'v1/logs' appended)" "outcome"
            }

            test "a clamped batch size is reported with the queue size used" {
                let d = diagnosticsOf [ "OTEL_BSP_MAX_QUEUE_SIZE", "100"; "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400" ] Traces |> Array.exactlyOne

                Expect.equal (d.Setting, d.Value, d.Outcome) ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400", "using 100, so that a batch fits in the queue") "clamp"
            }

            test "a queue size over the most a queue holds is reported with the size used" {
                let d = diagnosticsOf [ "OTEL_BLRP_MAX_QUEUE_SIZE", "100000000" ] Logs |> Array.exactlyOne

                Expect.equal (d.Setting, d.Value, d.Outcome) ("OTEL_BLRP_MAX_QUEUE_SIZE", "100000000", "using 1048576") "capped"
            }

            test "concurrent exports given in code win over the variable; a bad variable is reported" {
                let resolved =
                    resolve
                        [ "OTEL_BSP_MAX_CONCURRENT_EXPORTS", "many" ]
                        { ConfigOverrides.Empty with BatchMaxConcurrentExports = Some 3 }
                        Traces

                Expect.equal (batchOf resolved.Value).MaxConcurrentExports 3 "code wins"
                let d = resolved.Diagnostics |> Array.exactlyOne
                Expect.equal (d.Setting, d.Value) ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "many") "the variable is reported"
            }

            test "encoding ahead is on by default over gRPC and off over HTTP, for spans and log records; code decides otherwise" {
                for signal in [ Traces; Logs ] do
                    for protocol, expected in [ "grpc", true; "http/protobuf", false; "http/json", false ] do
                        let env = [ "OTEL_EXPORTER_OTLP_PROTOCOL", protocol ]
                        let byDefault = resolve env ConfigOverrides.Empty signal
                        Expect.equal (batchOf byDefault.Value).EncodeAhead expected $"{signal} over {protocol}: the default"
                        Expect.equal (Config.encodesAheadByDefault byDefault.Value.Exporter.Protocol) expected "the rule it follows"
                        Expect.isEmpty byDefault.Diagnostics "a default is nothing to report"

                        for fromCode in [ true; false ] do
                            let set = resolve env { ConfigOverrides.Empty with BatchEncodeAhead = Some fromCode } signal
                            Expect.equal (batchOf set.Value).EncodeAhead fromCode $"{signal} over {protocol}: code wins"
                            Expect.isEmpty set.Diagnostics "nothing to report"
                            Expect.equal (set.Value.ToString().Contains "encoding ahead") fromCode "described only when on"

                    // The protocol from code decides the default as the variable's does.
                    let grpcFromCode = resolve [] { ConfigOverrides.Empty with Protocol = Some Protocol.Grpc } signal
                    Expect.isTrue (batchOf grpcFromCode.Value).EncodeAhead $"{signal}: gRPC from code"
            }

            test "an invalid value below the winning source is still reported" {
                let resolved =
                    resolve [ "OTEL_EXPORTER_OTLP_COMPRESSION", "lz4" ] { ConfigOverrides.Empty with Compression = Some Compression.Gzip } Traces

                Expect.equal resolved.Value.Exporter.Compression Compression.Gzip "code wins"
                Expect.equal (resolved.Diagnostics |> Array.map (fun d -> d.Setting)) [| "OTEL_EXPORTER_OTLP_COMPRESSION" |] "env reported"
            }

            test "a client key without a client certificate is reported" {
                let environment = Dictionary<string, string>()
                environment["OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"] <- "/key.pem"
                let resolved = Config.resolve environment ConfigOverrides.Empty Logs
                Expect.exists resolved.Diagnostics (fun d -> d.Setting = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY" && d.Problem.Contains "without a client certificate") "reported"
            }

            test "a malformed header entry is reported by position, with the value redacted" {
                let d = (Headers.parse "OTEL_EXPORTER_OTLP_HEADERS" "a=1,Bearer xyz").Diagnostics |> Array.exactlyOne

                Expect.equal (d.Value, d.Problem) ("[redacted]", "entry 2 has no '='") "diagnostic"
            }

            test "an endpoint on the other protocol's default port is reported, and used as given" {
                let http = resolveEnv [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317" ] Traces
                Expect.equal http.Value.Exporter.Endpoint.AbsoluteUri "http://collector:4317/v1/traces" "used as given"
                let d = http.Diagnostics |> Array.exactlyOne
                Expect.equal (d.Setting, d.Value) ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317/v1/traces") "the endpoint's setting and URL"
                Expect.stringContains d.Message "port 4317 is OTLP/gRPC's default, but the protocol is http/protobuf (OTLP/HTTP's default port is 4318; or set the protocol to grpc)" "the mismatch and the two ways out"

                let grpc =
                    resolve [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc" ] { ConfigOverrides.Empty with SignalEndpoint = Some "https://collector:4318" } Logs
                Expect.equal grpc.Value.Exporter.Endpoint.AbsoluteUri "https://collector:4318/" "used as given"
                let d = grpc.Diagnostics |> Array.exactlyOne
                Expect.equal d.Setting "ConfigOverrides.SignalEndpoint" "a code option is named as such"
                Expect.stringContains d.Message "port 4318 is OTLP/HTTP's default, but the protocol is grpc" "the mismatch"
            }

            test "a gRPC endpoint's path is reported as unused; an HTTP one's is the URL" {
                let grpc = resolveEnv [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"; "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://gateway.example.com/otlp/v1/traces" ] Traces
                let d = grpc.Diagnostics |> Array.exactlyOne
                Expect.equal (d.Setting, d.Value) ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://gateway.example.com/otlp/v1/traces") "the endpoint's setting"
                Expect.stringContains d.Message "'https://gateway.example.com/otlp/v1/traces' has a path, which gRPC does not use" "the path and why"
                for root in [ "https://gateway.example.com"; "https://gateway.example.com/" ] do
                    Expect.isEmpty (diagnosticsOf [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"; "OTEL_EXPORTER_OTLP_ENDPOINT", root ] Traces) $"{root}: no path, nothing to say"
                Expect.isEmpty (diagnosticsOf [ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://gateway.example.com/otlp/v1/traces" ] Traces) "over HTTP the path is the URL's"
            }

            test "a clean environment gives no diagnostics for any signal" {
                for signal in [ Traces; Metrics; Logs ] do
                    Expect.isEmpty (diagnosticsOf [] signal) $"{signal}"
            }
        ]

        testList "display" [
            test "the display of a configuration names headers but hides their values" {
                let config = (resolveEnv [ "OTEL_EXPORTER_OTLP_HEADERS", "api-key=hunter2" ] Traces).Value
                let text = Config.display config

                Expect.stringContains text "api-key=[redacted]" "name shown"
                Expect.isFalse (text.Contains "hunter2") "value hidden"
                Expect.isFalse ((sprintf "%A" config).Contains "hunter2") "value hidden from %A too"
            }

            test "the display explains the endpoint for a later transport warning" {
                let e = exporter [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/base" ] Traces
                Expect.equal e.EndpointExplanation "http://c:4318/base/v1/traces (from OTEL_EXPORTER_OTLP_ENDPOINT with 'v1/traces' appended)" "explanation"
            }
        ]

        testList "properties" [
            testProperty "the timeout comes from code, else the signal variable, else the generic one, else the default" <|
                Prop.forAll (Arb.fromGen (Gen.zip subsetsOfSources signals)) (fun ((code, specific, generic), signal) ->
                    let word = (sprintf "%A" signal).ToUpperInvariant()

                    let pairs =
                        [ if specific then $"OTEL_EXPORTER_OTLP_{word}_TIMEOUT", "2000"
                          if generic then "OTEL_EXPORTER_OTLP_TIMEOUT", "3000" ]

                    let overrides = { ConfigOverrides.Empty with Timeout = (if code then Some(ms 1000.0) else None) }
                    let expected = if code then 1000.0 elif specific then 2000.0 elif generic then 3000.0 else 10000.0
                    (resolve pairs overrides signal).Value.Exporter.Timeout = ms expected)

            testProperty "an invalid source counts as unset: the first valid source in precedence order wins" <|
                Prop.forAll (Arb.fromGen (Gen.zip (Gen.zip3 sourceState sourceState sourceState) signals)) (fun ((code, specific, generic), signal) ->
                    let word = (sprintf "%A" signal).ToUpperInvariant()
                    let text valid (value: string) = if valid then value else "-" + value

                    let pairs =
                        [ match specific with
                          | Some valid -> $"OTEL_EXPORTER_OTLP_{word}_TIMEOUT", text valid "2000"
                          | None -> ()
                          match generic with
                          | Some valid -> "OTEL_EXPORTER_OTLP_TIMEOUT", text valid "3000"
                          | None -> () ]

                    let overrides =
                        { ConfigOverrides.Empty with Timeout = code |> Option.map (fun valid -> ms (if valid then 1000.0 else -1000.0)) }

                    let expected =
                        [ code, 1000.0; specific, 2000.0; generic, 3000.0 ]
                        |> List.tryPick (fun (source, value) -> if source = Some true then Some value else None)
                        |> Option.defaultValue 10000.0

                    let invalidCount = [ code; specific; generic ] |> List.filter ((=) (Some false)) |> List.length
                    let resolved = resolve pairs overrides signal
                    resolved.Value.Exporter.Timeout = ms expected && resolved.Diagnostics.Length = invalidCount)

            testProperty "the endpoint comes from code, else the signal variable, else the generic one, else the default" <|
                Prop.forAll (Arb.fromGen (Gen.zip subsetsOfSources signals)) (fun ((code, specific, generic), signal) ->
                    let word = (sprintf "%A" signal).ToUpperInvariant()

                    let pairs =
                        [ if specific then $"OTEL_EXPORTER_OTLP_{word}_ENDPOINT", "http://specific:1/s"
                          if generic then "OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:2" ]

                    let overrides = { ConfigOverrides.Empty with BaseEndpoint = (if code then Some "http://code:3" else None) }
                    let path = Config.signalPath signal

                    let expected =
                        if code then $"http://code:3/{path}"
                        elif specific then "http://specific:1/s"
                        elif generic then $"http://generic:2/{path}"
                        else $"http://localhost:4318/{path}"

                    (resolve pairs overrides signal).Value.Exporter.Endpoint.AbsoluteUri = expected)

            testProperty "a gRPC host and port without a scheme is reached over plain text exactly when insecure is true" <|
                Prop.forAll
                    (Arb.fromGen (Gen.zip3 (Gen.elements [ "collector"; "otel.example.com"; "10.1.2.3"; "localhost" ]) (Gen.choose (1, 65535)) (Gen.optionOf (Gen.elements [ true; false ]))))
                    (fun (host, port, insecure) ->
                        let pairs =
                            [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
                              "OTEL_EXPORTER_OTLP_ENDPOINT", $"{host}:{port}"
                              match insecure with
                              | Some flag -> "OTEL_EXPORTER_OTLP_INSECURE", (if flag then "true" else "false")
                              | None -> () ]

                        let resolved = resolve pairs ConfigOverrides.Empty Traces
                        let scheme = if insecure = Some true then "http" else "https"
                        // OTLP/HTTP's default port with gRPC is reported (used all the same), and nothing else.
                        let reported = resolved.Diagnostics |> Array.map (fun d -> d.Setting)
                        resolved.Value.Exporter.Endpoint.AbsoluteUri = $"{scheme}://{host}:{port}/"
                        && reported = (if port = 4318 then [| "OTEL_EXPORTER_OTLP_ENDPOINT" |] else [||]))

            testProperty "an endpoint is reported as likely meant for the other protocol exactly when its written port is that protocol's default" <|
                Prop.forAll
                    (Arb.fromGen (
                        Gen.zip3
                            (Gen.elements [ "grpc"; "http/protobuf"; "http/json" ])
                            (Gen.oneof [ Gen.elements [ Some 4317; Some 4318; Some 80; Some 443; None ]; Gen.choose (1, 65535) |> Gen.map Some ])
                            (Gen.elements [ "http"; "https" ])))
                    (fun (protocol, port, scheme) ->
                        let url = match port with Some p -> $"{scheme}://collector:{p}" | None -> $"{scheme}://collector"
                        let resolved = resolveEnv [ "OTEL_EXPORTER_OTLP_PROTOCOL", protocol; "OTEL_EXPORTER_OTLP_ENDPOINT", url ] Traces
                        let mismatched = (port = Some 4317 && protocol <> "grpc") || (port = Some 4318 && protocol = "grpc")
                        let reported = resolved.Diagnostics |> Array.filter (fun d -> d.Problem.StartsWith "may be meant for the other protocol")
                        reported.Length = (if mismatched then 1 else 0)
                        && resolved.Diagnostics.Length = reported.Length
                        && resolved.Value.Exporter.Endpoint.Host = "collector")

            testProperty "headers come from code, else the signal variable, else the generic one, else none" <|
                Prop.forAll (Arb.fromGen (Gen.zip subsetsOfSources signals)) (fun ((code, specific, generic), signal) ->
                    let word = (sprintf "%A" signal).ToUpperInvariant()

                    let pairs =
                        [ if specific then $"OTEL_EXPORTER_OTLP_{word}_HEADERS", "from=specific"
                          if generic then "OTEL_EXPORTER_OTLP_HEADERS", "from=generic" ]

                    let overrides =
                        { ConfigOverrides.Empty with Headers = (if code then Some [| { Name = "from"; Value = "code" } |] else None) }

                    let expected =
                        if code then [| "code" |] elif specific then [| "specific" |] elif generic then [| "generic" |] else [||]

                    ((resolve pairs overrides signal).Value.Exporter.Headers |> Array.map (fun h -> h.Value)) = expected)

            testProperty "the sampler ratio and batch delay follow code over environment over default" <|
                Prop.forAll (Arb.fromGen (Gen.zip (Gen.elements [ true; false ]) (Gen.elements [ true; false ]))) (fun (code, variable) ->
                    let pairs =
                        [ if variable then
                              "OTEL_BSP_SCHEDULE_DELAY", "42"
                              "OTEL_TRACES_SAMPLER", "traceidratio"
                              "OTEL_TRACES_SAMPLER_ARG", "0.25" ]
                    let overrides =
                        { ConfigOverrides.Empty with
                            BatchScheduleDelay = (if code then Some(ms 7.0) else None)
                            Sampler = (if code then Some { Kind = SamplerKind.ParentBasedTraceIdRatio; Ratio = 0.5 } else None) }
                    let expectedDelay = if code then 7.0 elif variable then 42.0 else 5000.0
                    let expectedSampler =
                        if code then { Kind = SamplerKind.ParentBasedTraceIdRatio; Ratio = 0.5 }
                        elif variable then { Kind = SamplerKind.TraceIdRatio; Ratio = 0.25 }
                        else { Kind = SamplerKind.ParentBasedAlwaysOn; Ratio = 1.0 }
                    let resolved = (resolve pairs overrides Traces).Value
                    (batchOf resolved).ScheduleDelay = ms expectedDelay && resolved.Sampler = expectedSampler)

            testProperty "header lists survive format then parse, whatever their keys and values" <|
                Prop.forAll
                    (Arb.fromGen (Gen.listOf (Gen.zip trickyString trickyString)))
                    (fun pairs ->
                        let headers =
                            pairs
                            |> List.map (fun (k, v) -> { Name = wellFormed k; Value = wellFormed v })
                            |> List.filter (fun h -> h.Name <> "")

                        let parsed = Headers.parse "X" (Headers.format headers)
                        List.ofArray parsed.Value = headers && Array.isEmpty parsed.Diagnostics)

            testProperty "resolving never throws, whatever string any variable holds" <|
                Prop.forAll
                    (Arb.fromGen (Gen.zip (Gen.listOf (Gen.zip (Gen.elements allVariables) anyValue)) signals))
                    (fun (pairs, signal) ->
                        let environment = Dictionary<string, string>()

                        for name, value in pairs do
                            environment[name] <- value

                        let resolved = Config.resolve environment ConfigOverrides.Empty signal
                        let limits = Limits.fromEnvironment environment
                        // Touch every diagnostic and the display, which must not throw either.
                        resolved.Diagnostics |> Array.iter (fun d -> d.Message |> ignore)
                        limits.Diagnostics |> Array.iter (fun d -> d.Message |> ignore)
                        Config.display resolved.Value |> ignore
                        resolved.Value.Exporter.Endpoint.IsAbsoluteUri)

            testProperty "no diagnostic and no display ever contains a header value" (
                let entry =
                    Gen.oneof
                        [ secret |> Gen.map (fun s -> $"key={s}")
                          secret |> Gen.map (fun s -> s)
                          secret |> Gen.map (fun s -> $"={s}")
                          secret |> Gen.map (fun s -> $"bad key={s}")
                          secret |> Gen.map (fun s -> "k=" + s + "%zz")
                          secret |> Gen.map (fun s -> "k=%" + s)
                          // A colon where the '=' belongs puts the credential into the header's name.
                          secret |> Gen.map (fun s -> $"Authorization: Basic {s}==")
                          secret |> Gen.map (fun s -> $"api-key:{s}=x")
                          trickyString ]

                let variable = Gen.elements [ "OTEL_EXPORTER_OTLP_HEADERS"; "OTEL_EXPORTER_OTLP_TRACES_HEADERS"; "OTEL_EXPORTER_OTLP_LOGS_HEADERS" ]
                let setting = Gen.zip variable (Gen.listOf entry |> Gen.map (String.concat ","))
                let codeHeader = Gen.zip trickyString secret |> Gen.map (fun (name, value) -> { Name = name; Value = value })

                Prop.forAll
                    (Arb.fromGen (Gen.zip3 (Gen.listOf setting) (Gen.listOf codeHeader) signals))
                    (fun (settings, codeHeaders, signal) ->
                        let environment = Dictionary<string, string>()

                        for name, value in settings do
                            environment[name] <- value

                        let secrets =
                            [ for _, value in settings do
                                  for part in value.Split([| "SECRET" |], StringSplitOptions.None) |> Array.skip 1 do
                                      if part.Length >= 6 then
                                          yield "SECRET" + part.Substring(0, 6)
                              for h in codeHeaders do
                                  yield h.Value ]

                        let overrides =
                            { ConfigOverrides.Empty with Headers = (if codeHeaders.IsEmpty then None else Some(Array.ofList codeHeaders)) }

                        let resolved = Config.resolve environment overrides signal
                        let texts = Config.display resolved.Value :: [ for d in resolved.Diagnostics -> d.Message ]

                        secrets |> List.forall (fun s -> texts |> List.forall (fun text -> not (text.Contains s)))))

            testProperty "no diagnostic and no display ever contains an endpoint's user-info or query values" (
                let endpoint =
                    Gen.oneof
                        [ secret |> Gen.map (fun s -> $"http://user:{s}@collector:4318")
                          secret |> Gen.map (fun s -> $"https://{s}@collector/otlp/")
                          secret |> Gen.map (fun s -> $"http://collector:4318/v1/traces?api-key={s}")
                          secret |> Gen.map (fun s -> $"https://collector?a=1&token={s}#part")
                          secret |> Gen.map (fun s -> $"collector:4317?token={s}")
                          secret |> Gen.map (fun s -> $"ht tp://u:{s}@collector")
                          secret |> Gen.map (fun s -> $"http://u:{s}@")
                          secret |> Gen.map (fun s -> $"http//u:{s}@collector:4318/v1/traces")
                          secret |> Gen.map (fun s -> $"http:/u:{s}@collector:4318")
                          secret |> Gen.map (fun s -> $"https://collector:4318/v1/traces?{s}")
                          secret |> Gen.map (fun s -> $"https://collector:4318/v1/traces#token={s}")
                          trickyString ]

                let variable =
                    Gen.elements [ "OTEL_EXPORTER_OTLP_ENDPOINT"; "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"; "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" ]

                let fromCode = Gen.oneof [ Gen.constant None; endpoint |> Gen.map Some ]

                Prop.forAll
                    (Arb.fromGen (Gen.zip3 (Gen.listOf (Gen.zip variable endpoint)) (Gen.zip fromCode fromCode) (Gen.zip signals (Gen.elements [ "grpc"; "http/protobuf" ]))))
                    (fun (settings, (baseEndpoint, signalEndpoint), (signal, protocol)) ->
                        let environment = Dictionary<string, string>()
                        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] <- protocol

                        for name, value in settings do
                            environment[name] <- value

                        let secretsIn (text: string) =
                            [ for part in text.Split([| "SECRET" |], StringSplitOptions.None) |> Array.skip 1 do
                                  if part.Length >= 6 then
                                      yield "SECRET" + part.Substring(0, 6) ]

                        let secrets =
                            [ for _, value in settings do
                                  yield! secretsIn value
                              for value in [ baseEndpoint; signalEndpoint ] |> List.choose id do
                                  yield! secretsIn value ]

                        let overrides = { ConfigOverrides.Empty with BaseEndpoint = baseEndpoint; SignalEndpoint = signalEndpoint }
                        let resolved = Config.resolve environment overrides signal
                        let texts =
                            Config.display resolved.Value
                            :: resolved.Value.Exporter.EndpointExplanation
                            :: [ for d in resolved.Diagnostics -> d.Message ]

                        secrets |> List.forall (fun s -> texts |> List.forall (fun text -> not (text.Contains s)))))

            test "a malformed header entry's key is shown only up to its first character a header name cannot have" {
                let parsed = Headers.parse "OTEL_EXPORTER_OTLP_HEADERS" "Authorization Bearer t0k3n-value=%G0"
                let messages = [ for d in parsed.Diagnostics -> d.Message ]
                Expect.exists messages (fun m -> m.Contains "key 'Authorization'") $"the key's start named: {messages}"
                Expect.all messages (fun m -> not (m.Contains "t0k3n")) $"the rest not shown: {messages}"
            }

            test "an endpoint's user-info and query values are shown redacted, the rest as given" {
                let shown (text: string) =
                    let environment = Dictionary<string, string>()
                    environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] <- text
                    let resolved = Config.resolve environment ConfigOverrides.Empty Traces
                    resolved.Value.Exporter.EndpointExplanation, [ for d in resolved.Diagnostics -> d.Message ]

                let explanation, _ = shown "https://user:pw@collector:4318/v1/traces"
                Expect.stringStarts explanation "https://[redacted]@collector:4318/v1/traces" "user-info redacted"
                let explanation, _ = shown "https://collector:4318/v1/traces?api-key=abc&x"
                Expect.stringStarts explanation "https://collector:4318/v1/traces?api-key=[redacted]&[redacted]" "query values redacted, a bare one too"
                let explanation, _ = shown "https://collector:4318/v1/traces#access_token=abc"
                Expect.stringStarts explanation "https://collector:4318/v1/traces#[redacted] " "the fragment redacted"
                let _, diagnostics = shown "http//user:pw@collector:4318/v1/traces"
                Expect.exists diagnostics (fun m -> m.Contains "'[redacted]@collector:4318/v1/traces'") "user-info of a malformed URL redacted"
                let _, diagnostics = shown "ftp://collector/?api-key=abc"
                Expect.exists diagnostics (fun m -> m.Contains "?api-key=[redacted]") "query value redacted in the warning"
            }
        ]
    ]

/// From collected points to the OTLP model (metrics data model, "Sums", "Gauge", "Histogram",
/// "ExponentialHistogram"): a stream's points become one `Metric`, and metrics are grouped by meter into
/// `ScopeMetrics` under one `ResourceMetrics`. Pure.
///
/// ```
///   Point array + stream (name, description, unit, kind, temporality) ──toMetric──> Metric
///   (scope, Metric array) list ──request resource──> ExportMetricsServiceRequest
/// ```
[<RequireQualifiedAccess>]
module Otlp.Core.MetricStreams

/// True when a stream of this kind, aggregated as a sum, is monotonic: Counter and ObservableCounter.
val isMonotonic: kind: Aggregation.InstrumentKind -> bool

/// The metric of one stream's points, or None when there are none. Number points of gauges make a `Gauge`,
/// of the counters a `Sum` with `IsMonotonic` from `isMonotonic kind` and the given temporality; histogram
/// points make a `Histogram`, exponential ones an `ExponentialHistogram`, with the given temporality.
/// Throws ArgumentException when the points are of different types.
val toMetric:
    name: string ->
    description: string ->
    unit: string ->
    kind: Aggregation.InstrumentKind ->
    temporality: AggregationTemporality ->
    points: Aggregation.Point array ->
        Metric option

/// The instrumentation scope of a meter: its name, version and tags.
val scope: meterName: string -> meterVersion: string -> tags: KeyValue array -> InstrumentationScope

/// One request holding the metrics under `resource`, one `ScopeMetrics` per scope in order of first
/// appearance (scopes compared by value), metrics in the order given. Scopes without metrics are left out; no scope
/// has a schema URL (see `requestWithSchemaUrls`).
val request: resource: Resource -> metrics: (InstrumentationScope * Metric) seq -> ExportMetricsServiceRequest

/// As `request`, each metric given with its scope and the schema URL of its meter's telemetry (empty for none):
/// one `ScopeMetrics` per scope and schema URL, which is its `schema_url`.
val requestWithSchemaUrls:
    resource: Resource -> metrics: (InstrumentationScope * string * Metric) seq -> ExportMetricsServiceRequest

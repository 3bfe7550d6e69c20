/// Splitting export requests that are too large to send.
///
/// A request whose encoding exceeds the receiver's limit (64 MiB by default, before and after compression) is
/// never sent whole: its items are split in halves, keeping their resource, scope and order, until every part
/// fits. Only an item that does not fit even alone is dropped, and counted. The test of "fits" is the caller's
/// (it may encode and compress), so the rule stays here and the bytes stay with the caller.
[<RequireQualifiedAccess>]
module Otlp.Core.Split

/// The parts of a trace request that fit, in order, and the number of spans dropped because one alone did not fit.
val traceRequest:
    fits: (ExportTraceServiceRequest -> bool) -> request: ExportTraceServiceRequest -> ExportTraceServiceRequest list * int

/// The parts of a metrics request that fit, and the number of data points dropped. Metrics are kept whole when
/// they fit; a metric that does not fit alone is divided by its data points (each part keeps its name, unit,
/// temporality and the rest), so that only a data point that does not fit alone is dropped.
val metricsRequest:
    fits: (ExportMetricsServiceRequest -> bool) -> request: ExportMetricsServiceRequest -> ExportMetricsServiceRequest list * int

/// The parts of a logs request that fit, and the number of log records dropped.
val logsRequest:
    fits: (ExportLogsServiceRequest -> bool) -> request: ExportLogsServiceRequest -> ExportLogsServiceRequest list * int

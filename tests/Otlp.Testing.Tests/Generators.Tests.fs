/// The generators keep their promise: everything they make (and every smaller candidate their shrinkers offer)
/// follows the MUST rules of the OTLP protos, and together they reach every corner of the valid space.
module Otlp.Testing.Tests.Generators

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Testing

// ---------------------------------------------------------------------------------------------------------
// The rules, as functions from a value to the list of rules it breaks (empty: valid)

/// common.proto: attribute keys (and the keys of a KeyValueList) MUST be unique, at every level of nesting.
let rec private keyValues (where: string) (list: KeyValue array) =
    [ for key, n in Array.countBy _.Key list do
          if n > 1 then $"{where}: key \"{key}\" appears {n} times"
      for kv in list do
          yield! anyValue where kv.Value ]

and private anyValue (where: string) (value: AnyValue) =
    match value with
    | AnyValue.KvList list -> keyValues $"{where} (kvlist)" list
    | AnyValue.Array values -> values |> Seq.collect (anyValue where) |> List.ofSeq
    | _ -> []

/// trace.proto: a span and a link name a trace and a span, and a span ends no earlier than it starts.
let private span (s: Span) =
    [ if s.TraceId.IsEmpty then "span: all-zero trace id"
      if s.SpanId.IsEmpty then "span: all-zero span id"
      if s.EndTimeUnixNano < s.StartTimeUnixNano then "span: ends before it starts"
      if not (Enum.IsDefined s.Kind) then $"span: kind {int s.Kind}"
      if not (Enum.IsDefined s.Status.Code) then $"span: status code {int s.Status.Code}"
      yield! keyValues "span" s.Attributes
      for e in s.Events do
          yield! keyValues "span event" e.Attributes
      for l in s.Links do
          if l.TraceId.IsEmpty || l.SpanId.IsEmpty then "link: all-zero id"
          yield! keyValues "link" l.Attributes ]

/// metrics.proto: "A point is considered invalid when one of the recognized value fields is not present",
/// and the same of an exemplar.
let private exemplars (where: string) (list: Exemplar array) =
    [ for e in list do
          if e.Value = NoValue then $"{where} exemplar: no value"
          yield! keyValues $"{where} exemplar" e.FilteredAttributes ]

let private numberPoint (p: NumberDataPoint) =
    [ if p.Value = NoValue then "number point: no value"
      yield! keyValues "number point" p.Attributes
      yield! exemplars "number point" p.Exemplars ]

/// metrics.proto: "If count is zero then this field [sum] must be zero."
let private sumOfEmpty (where: string) (count: uint64) (sum: float voption) =
    match sum with
    | ValueSome s when count = 0UL && s <> 0.0 -> [ $"{where}: count 0 with sum {s}" ]
    | _ -> []

/// metrics.proto, HistogramDataPoint: bucket_counts has one more element than explicit_bounds (both empty when
/// there are no buckets), the bounds are strictly increasing, and count is the sum of the bucket counts.
let private histogramPoint (p: HistogramDataPoint) =
    [ if p.BucketCounts.Length = 0 && p.ExplicitBounds.Length <> 0 then "histogram: bounds without buckets"
      if p.BucketCounts.Length <> 0 && p.BucketCounts.Length <> p.ExplicitBounds.Length + 1 then
          $"histogram: {p.BucketCounts.Length} buckets for {p.ExplicitBounds.Length} bounds"
      if p.ExplicitBounds |> Array.pairwise |> Array.exists (fun (a, b) -> not (a < b)) then
          "histogram: bounds not strictly increasing"
      if p.BucketCounts.Length <> 0 && p.Count <> Array.sum p.BucketCounts then
          $"histogram: count {p.Count} is not the sum of the buckets"
      yield! sumOfEmpty "histogram" p.Count p.Sum
      yield! keyValues "histogram point" p.Attributes
      yield! exemplars "histogram point" p.Exemplars ]

/// metrics.proto, ExponentialHistogramDataPoint: count is zero_count plus every positive and negative bucket.
let private exponentialPoint (p: ExponentialHistogramDataPoint) =
    [ let total = p.ZeroCount + Array.sum p.Positive.BucketCounts + Array.sum p.Negative.BucketCounts
      if p.Count <> total then $"exponential histogram: count {p.Count}, buckets and zero count {total}"
      yield! sumOfEmpty "exponential histogram" p.Count p.Sum
      yield! keyValues "exponential histogram point" p.Attributes
      yield! exemplars "exponential histogram point" p.Exemplars ]

/// metrics.proto, SummaryDataPoint: quantiles in [0, 1] and strictly increasing, their values never negative.
let private summaryPoint (p: SummaryDataPoint) =
    [ for q in p.QuantileValues do
          if not (q.Quantile >= 0.0 && q.Quantile <= 1.0) then $"summary: quantile {q.Quantile}"
          if q.Value < 0.0 then $"summary: negative value {q.Value} at quantile {q.Quantile}"
      if p.QuantileValues |> Array.pairwise |> Array.exists (fun (a, b) -> not (a.Quantile < b.Quantile)) then
          "summary: quantiles not strictly increasing"
      yield! sumOfEmpty "summary" p.Count (ValueSome p.Sum)
      yield! keyValues "summary point" p.Attributes ]

/// metrics.proto: AGGREGATION_TEMPORALITY_UNSPECIFIED "MUST not be used".
let private temporality (where: string) (t: AggregationTemporality) =
    [ if t <> AggregationTemporality.Delta && t <> AggregationTemporality.Cumulative then
          $"{where}: temporality {int t}" ]

let private metric (m: Metric) =
    [ yield! keyValues "metric metadata" m.Metadata
      match m.Data with
      | MetricData.NoData -> ()
      | MetricData.Gauge points -> yield! points |> Seq.collect numberPoint
      | MetricData.Sum sum ->
          yield! temporality "sum" sum.AggregationTemporality
          yield! sum.DataPoints |> Seq.collect numberPoint
      | MetricData.Histogram h ->
          yield! temporality "histogram" h.AggregationTemporality
          yield! h.DataPoints |> Seq.collect histogramPoint
      | MetricData.ExponentialHistogram h ->
          yield! temporality "exponential histogram" h.AggregationTemporality
          yield! h.DataPoints |> Seq.collect exponentialPoint
      | MetricData.Summary points -> yield! points |> Seq.collect summaryPoint ]

let private logRecord (r: LogRecord) =
    [ if not (Enum.IsDefined r.SeverityNumber) then $"log record: severity {int r.SeverityNumber}"
      yield! anyValue "log body" r.Body
      yield! keyValues "log record" r.Attributes ]

let private envelope (resource: Resource) (scope: InstrumentationScope) =
    keyValues "resource" resource.Attributes @ keyValues "scope" scope.Attributes

let private traceRequest (request: ExportTraceServiceRequest) =
    [ for rs in request.ResourceSpans do
          for ss in rs.ScopeSpans do
              yield! envelope rs.Resource ss.Scope
              yield! ss.Spans |> Seq.collect span ]

let private metricsRequest (request: ExportMetricsServiceRequest) =
    [ for rm in request.ResourceMetrics do
          for sm in rm.ScopeMetrics do
              yield! envelope rm.Resource sm.Scope
              yield! sm.Metrics |> Seq.collect metric ]

let private logsRequest (request: ExportLogsServiceRequest) =
    [ for rl in request.ResourceLogs do
          for sl in rl.ScopeLogs do
              yield! envelope rl.Resource sl.Scope
              yield! sl.LogRecords |> Seq.collect logRecord ]

// ---------------------------------------------------------------------------------------------------------
// Properties

let private config =
    { FsCheckConfig.defaultConfig with
        maxTest = 300
        endSize = 60
        arbitrary = [ typeof<OtlpArbitraries> ] }

let private valid (broken: string list) =
    Prop.label (String.Join("; ", broken |> List.truncate 5)) (List.isEmpty broken)

/// A property that every value of `gen`, and every shrink candidate of it, is valid.
let private validWithShrinks name (rules: 'a -> string list) (shrink: 'a -> seq<'a>) =
    testPropertyWithConfig config name (fun (request: 'a) ->
        valid (rules request @ (shrink request |> Seq.truncate 200 |> Seq.collect rules |> List.ofSeq)))

let private validity =
    [ validWithShrinks "Trace requests and their shrinks follow the OTLP rules" traceRequest Generators.shrinkTraceRequest
      validWithShrinks "Metrics requests and their shrinks follow the OTLP rules" metricsRequest Generators.shrinkMetricsRequest
      validWithShrinks "Logs requests and their shrinks follow the OTLP rules" logsRequest Generators.shrinkLogsRequest

      testPropertyWithConfig config "Attributes never repeat a key, at any depth" (fun () ->
          Prop.forAll (Arb.fromGen Generators.attributes) (fun list -> valid (keyValues "attributes" list)))

      testPropertyWithConfig config "Text is well-formed UTF-16: every surrogate is half of a pair" (fun () ->
          Prop.forAll (Arb.fromGen Generators.text) (fun text ->
              let utf8 = Text.UTF8Encoding(false, true)
              try utf8.GetByteCount text >= 0 with :? ArgumentException -> false))

      testPropertyWithConfig config "A partial success never rejects a negative number of items" (fun () ->
          Prop.forAll (Arb.fromGen Generators.partialSuccess) (fun p -> p.Rejected >= 0L))

      test "Registered as the signature file shows, OtlpArbitraries gives properties valid model arguments" {
          let registered = Config.QuickThrowOnFailure.WithArbitrary([ typeof<OtlpArbitraries> ]).WithMaxTest(100).WithQuietOnSuccess(true)

          Check.One(
              registered,
              fun (s: Span) (request: ExportMetricsServiceRequest) -> List.isEmpty (span s) && List.isEmpty (metricsRequest request)
          )
      } ]

// ---------------------------------------------------------------------------------------------------------
// Reach: a few thousand samples contain each kind of edge case at least once

let private sample (count: int) (gen: Gen<'a>) =
    Gen.sampleWithSeed (Rnd 20261129UL) 50 count gen

let private reaches (what: string) (found: bool) = Expect.isTrue found $"the generators reach {what}"

let private reach =
    [ test "Text reaches the empty string, long strings and characters outside the Basic Multilingual Plane" {
          let texts = sample 3000 Generators.text
          reaches "the empty string" (texts |> Array.contains "")
          reaches "strings of thousands of characters" (texts |> Array.exists (fun t -> t.Length >= 1000))
          reaches "surrogate pairs" (texts |> Array.exists (fun t -> t |> Seq.exists Char.IsHighSurrogate))
      }

      test "Values reach every AnyValue kind, numeric extremes and empty containers" {
          let values = sample 5000 Generators.anyValue
          let has f = values |> Array.exists f
          reaches "no value" (has (fun v -> v = AnyValue.Empty))
          reaches "strings" (has (function AnyValue.String _ -> true | _ -> false))
          reaches "true and false" (has ((=) (AnyValue.Bool true)) && has ((=) (AnyValue.Bool false)))
          reaches "Int64.MinValue and MaxValue" (has ((=) (AnyValue.Int Int64.MinValue)) && has ((=) (AnyValue.Int Int64.MaxValue)))
          reaches "NaN" (has (function AnyValue.Double d -> Double.IsNaN d | _ -> false))
          reaches "both infinities" (has ((=) (AnyValue.Double infinity)) && has ((=) (AnyValue.Double -infinity)))
          reaches "negative zero" (has ((=) (AnyValue.Double -0.0)))
          reaches "empty bytes" (has ((=) (AnyValue.Bytes [||])))
          reaches "bytes" (has (function AnyValue.Bytes b -> b.Length > 0 | _ -> false))
          reaches "empty arrays" (has ((=) (AnyValue.Array [||])))
          reaches "empty kvlists" (has ((=) (AnyValue.KvList [||])))
          reaches "kvlists nested in arrays"
              (has (function AnyValue.Array vs -> vs |> Array.exists (function AnyValue.KvList l -> l.Length > 0 | _ -> false) | _ -> false))
      }

      test "Spans reach every kind and status code, events and links with attributes, dropped counts and flags" {
          let spans = sample 2000 Generators.span
          for kind in Enum.GetValues<SpanKind>() do
              reaches $"span kind {kind}" (spans |> Array.exists (fun s -> s.Kind = kind))
          for code in Enum.GetValues<StatusCode>() do
              reaches $"status {code}" (spans |> Array.exists (fun s -> s.Status.Code = code))
          reaches "events with attributes" (spans |> Array.exists (fun s -> s.Events |> Array.exists (fun e -> e.Attributes.Length > 0)))
          reaches "links with attributes" (spans |> Array.exists (fun s -> s.Links |> Array.exists (fun l -> l.Attributes.Length > 0)))
          reaches "dropped counts" (spans |> Array.exists (fun s -> s.DroppedAttributesCount > 0u && s.DroppedEventsCount > 0u && s.DroppedLinksCount > 0u))
          reaches "root spans" (spans |> Array.exists (fun s -> s.ParentSpanId.IsEmpty))
          reaches "remote parents" (spans |> Array.exists (fun s -> s.Flags &&& 0x300u = 0x300u))
      }

      test "Metrics reach every type, both temporalities and monotonicities, and the edge cases of each" {
          let data = sample 4000 Generators.metric |> Array.map _.Data
          let sums = data |> Array.choose (function MetricData.Sum s -> Some s | _ -> None)
          let histograms = data |> Array.collect (function MetricData.Histogram h -> h.DataPoints | _ -> [||])
          let exponential = data |> Array.collect (function MetricData.ExponentialHistogram h -> h.DataPoints | _ -> [||])
          let summaries = data |> Array.collect (function MetricData.Summary p -> p | _ -> [||])
          reaches "gauges" (data |> Array.exists (function MetricData.Gauge p -> p.Length > 0 | _ -> false))
          for t in [ AggregationTemporality.Delta; AggregationTemporality.Cumulative ] do
              for monotonic in [ true; false ] do
                  reaches $"{t} sums, monotonic {monotonic}"
                      (sums |> Array.exists (fun s -> s.AggregationTemporality = t && s.IsMonotonic = monotonic))
          reaches "histograms without buckets" (histograms |> Array.exists (fun p -> p.BucketCounts.Length = 0))
          reaches "histograms with one bucket and no bounds" (histograms |> Array.exists (fun p -> p.BucketCounts.Length = 1))
          reaches "histograms with empty buckets" (histograms |> Array.exists (fun p -> p.BucketCounts.Length > 1 && Array.contains 0UL p.BucketCounts))
          reaches "histograms without min and max" (histograms |> Array.exists (fun p -> p.Min.IsNone && p.Max.IsNone))
          reaches "histograms with min and max" (histograms |> Array.exists (fun p -> p.Min.IsSome && p.Max.IsSome))
          reaches "bounds below zero, fractional and infinite"
              (histograms |> Array.exists (fun p -> p.ExplicitBounds |> Array.exists (fun b -> b < 0.0))
               && histograms |> Array.exists (fun p -> p.ExplicitBounds |> Array.exists (fun b -> b <> floor b))
               && histograms |> Array.exists (fun p -> p.ExplicitBounds |> Array.exists Double.IsInfinity))
          let hasCount (at: uint64) (counts: uint64 array) = counts |> Array.exists (fun c -> c >= at)
          reaches "bucket counts of 6 and 8 bytes" (histograms |> Array.exists (fun p -> hasCount (1UL <<< 35) p.BucketCounts)
                                                    && histograms |> Array.exists (fun p -> hasCount ((1UL <<< 56) - 1UL) p.BucketCounts))
          reaches "exponential bucket and zero counts past 2^35"
              (exponential |> Array.exists (fun p -> hasCount (1UL <<< 35) p.Positive.BucketCounts)
               && exponential |> Array.exists (fun p -> p.ZeroCount >= (1UL <<< 35)))
          for p in histograms do
              let bounds = p.ExplicitBounds
              Expect.isTrue (bounds |> Array.pairwise |> Array.forall (fun (a, b) -> a < b)) $"bounds strictly increasing: {bounds}"
              if p.BucketCounts.Length > 0 then
                  Expect.equal p.BucketCounts.Length (bounds.Length + 1) "one more bucket than bounds"
                  Expect.equal p.Count (Array.sum p.BucketCounts) "the count is the buckets' sum"
          for p in exponential do
              Expect.equal p.Count (p.ZeroCount + Array.sum p.Positive.BucketCounts + Array.sum p.Negative.BucketCounts) "the count is the buckets' sum"
          reaches "exponential histograms with positive and negative buckets"
              (exponential |> Array.exists (fun p -> p.Positive.BucketCounts.Length > 0 && p.Negative.BucketCounts.Length > 0))
          reaches "exponential histograms with only a zero count" (exponential |> Array.exists (fun p -> p.Count > 0UL && p.Count = p.ZeroCount))
          reaches "exponential histograms of count zero" (exponential |> Array.exists (fun p -> p.Count = 0UL))
          reaches "scale -10" (exponential |> Array.exists (fun p -> p.Scale = -10))
          reaches "scale 20" (exponential |> Array.exists (fun p -> p.Scale = 20))
          reaches "summaries with quantiles 0 and 1"
              (summaries |> Array.exists (fun p -> p.QuantileValues |> Array.exists (fun q -> q.Quantile = 0.0) && p.QuantileValues |> Array.exists (fun q -> q.Quantile = 1.0)))
          let points = data |> Array.collect (function MetricData.Gauge p -> p | MetricData.Sum s -> s.DataPoints | _ -> [||])
          reaches "exemplars" (points |> Array.exists (fun p -> p.Exemplars.Length > 0))
          reaches "int and double values" (points |> Array.exists (fun p -> p.Value.IsAsInt) && points |> Array.exists (fun p -> p.Value.IsAsDouble))
      }

      test "Log records reach every severity and bodies of every kind" {
          let records = sample 3000 Generators.logRecord
          for severity in Enum.GetValues<SeverityNumber>() do
              reaches $"severity {severity}" (records |> Array.exists (fun r -> r.SeverityNumber = severity))
          reaches "no body" (records |> Array.exists (fun r -> r.Body = AnyValue.Empty))
          reaches "kvlist bodies" (records |> Array.exists (fun r -> match r.Body with AnyValue.KvList _ -> true | _ -> false))
          reaches "array bodies" (records |> Array.exists (fun r -> match r.Body with AnyValue.Array _ -> true | _ -> false))
          reaches "bytes bodies" (records |> Array.exists (fun r -> match r.Body with AnyValue.Bytes _ -> true | _ -> false))
          reaches "trace context" (records |> Array.exists (fun r -> not r.TraceId.IsEmpty && not r.SpanId.IsEmpty))
      }

      test "Ids are never all-zero where the generators promise an id" {
          reaches "no zero trace id" (sample 5000 Generators.traceId |> Array.forall (fun id -> not id.IsEmpty))
          reaches "no zero span id" (sample 5000 Generators.spanId |> Array.forall (fun id -> not id.IsEmpty))
          reaches "absent optional ids" (sample 100 Generators.optionalSpanId |> Array.exists _.IsEmpty)
      } ]

[<Tests>]
let tests = testList "Generators" [ testList "validity" validity; testList "reach" reach ]

namespace Otlp.Testing

open System
open FsCheck
open FsCheck.FSharp
open Otlp.Core

[<RequireQualifiedAccess>]
module Generators =
    // Array lengths grow with FsCheck's size but stay small enough that thousands of requests run in seconds.
    let private arrayOfMax (max: int) (g: Gen<'a>) =
        Gen.sized (fun size -> gen {
            let bound = min max (size / 4 + 1)
            let! n = Gen.frequency [ 2, Gen.constant 0; 5, Gen.choose (1, bound) ]
            return! Gen.arrayOfLength n g
        })

    let private asciiChar = Gen.choose (0x20, 0x7E) |> Gen.map char

    // Non-ASCII text: two- and three-byte UTF-8, CJK, and emoji as surrogate pairs (four-byte UTF-8).
    let private unicodeRune =
        Gen.elements [ "é"; "ü"; "ß"; "κ"; "Ж"; "€"; "日"; "本"; "語"; "😀"; "🚀"; "𝄞"; "\u0000"; "\t"; "\n"; "\""; "\\"; "\u007f"; "\u2028" ]

    let private asciiText = Gen.sized (fun size -> gen {
        let! n = Gen.choose (0, min 40 (size + 1))
        let! chars = Gen.arrayOfLength n asciiChar
        return String chars
    })

    let private unicodeText = gen {
        let! n = Gen.choose (1, 12)
        let! runes = Gen.arrayOfLength n (Gen.oneof [ unicodeRune; asciiChar |> Gen.map string ])
        return String.Concat runes
    }

    let private longText = gen {
        let! n = Gen.choose (1_000, 20_000)
        let! c = asciiChar
        let! tail = unicodeText
        return String(c, n) + tail
    }

    // Between short and long: the encoders' one-piece writers switch paths around 124 to 128 characters.
    let private midText = gen {
        let! n = Gen.choose (41, 400)
        let! chars = Gen.arrayOfLength n asciiChar
        let! tail = Gen.oneof [ Gen.constant ""; unicodeText ]
        return String chars + tail
    }

    [<CompiledName("Text")>]
    let text =
        Gen.frequency [ 2, Gen.constant ""; 10, asciiText; 4, unicodeText; 2, midText; 1, longText ]

    [<CompiledName("Key")>]
    let key =
        Gen.frequency [
            1, Gen.constant ""
            12, Gen.elements [ "service.name"; "http.method"; "http.status_code"; "db.system"; "k"; "retry"; "user.id" ]
            4, asciiText
            2, unicodeText
        ]

    [<CompiledName("Double")>]
    let double =
        Gen.frequency [
            6, ArbMap.defaults |> ArbMap.generate<float>
            1, Gen.elements [ nan; infinity; -infinity; 0.0; -0.0; Double.Epsilon; Double.MaxValue; Double.MinValue; 1.0; -1.5; 0.1 ]
        ]

    // Plain (not optional, not oneof) double fields: proto3 does not write a zero of either sign, so -0.0 reads
    // back as 0.0. Valid data for those fields is generated without -0.0, so round trips are exact.
    let private plainDouble = double |> Gen.map (fun d -> if d = 0.0 then 0.0 else d)

    [<CompiledName("Int64")>]
    let int64 =
        Gen.frequency [
            6, ArbMap.defaults |> ArbMap.generate<int64>
            2, Gen.elements [ 0L; 1L; -1L; Int64.MinValue; Int64.MaxValue; 127L; 128L; 16384L; -129L ]
        ]

    [<CompiledName("Uint64")>]
    let uint64 =
        Gen.frequency [
            6, ArbMap.defaults |> ArbMap.generate<uint64>
            2, Gen.elements [ 0UL; 1UL; UInt64.MaxValue; 127UL; 128UL; 1UL <<< 35 ]
        ]

    let private uint32 =
        Gen.frequency [
            4, Gen.constant 0u
            4, Gen.choose (1, 1000) |> Gen.map Operators.uint32
            1, Gen.elements [ UInt32.MaxValue; 0x80u; 0x4000u ]
        ]

    [<CompiledName("TimeUnixNano")>]
    let timeUnixNano =
        Gen.frequency [
            1, Gen.constant 0UL
            8, Gen.choose64 (1_500_000_000_000_000_000L, 1_900_000_000_000_000_000L) |> Gen.map Operators.uint64
            1, Gen.elements [ 1UL; UInt64.MaxValue ]
        ]

    let private nonZero (g: Gen<uint64>) = g |> Gen.map (fun v -> if v = 0UL then 1UL else v)

    [<CompiledName("TraceId")>]
    let traceId =
        Gen.map2 (fun high low -> { High = high; Low = low }) uint64 (nonZero uint64)

    [<CompiledName("SpanId")>]
    let spanId = nonZero uint64 |> Gen.map (fun v -> { Value = v })

    [<CompiledName("OptionalTraceId")>]
    let optionalTraceId = Gen.frequency [ 1, Gen.constant TraceId.Empty; 2, traceId ]

    [<CompiledName("OptionalSpanId")>]
    let optionalSpanId = Gen.frequency [ 1, Gen.constant SpanId.Empty; 2, spanId ]

    [<CompiledName("Bytes")>]
    let bytes = Gen.sized (fun size -> gen {
        let! n = Gen.frequency [ 1, Gen.constant 0; 4, Gen.choose (1, min 64 (size + 1)) ]
        return! Gen.arrayOfLength n (Gen.choose (0, 255) |> Gen.map byte)
    })

    let private scalarValue =
        Gen.frequency [
            1, Gen.constant AnyValue.Empty
            6, text |> Gen.map AnyValue.String
            2, Gen.elements [ true; false ] |> Gen.map AnyValue.Bool
            3, int64 |> Gen.map AnyValue.Int
            3, double |> Gen.map AnyValue.Double
            1, bytes |> Gen.map AnyValue.Bytes
        ]

    // common.proto: the keys of an attribute list, and of a KeyValueList, MUST be unique; the first one stays.
    let private uniqueKeys (list: KeyValue array) = Array.distinctBy _.Key list

    let rec private valueOfDepth depth : Gen<AnyValue> =
        if depth <= 0 then
            scalarValue
        else
            let inner = valueOfDepth (depth - 1)
            Gen.frequency [
                8, scalarValue
                1, arrayOfMax 5 inner |> Gen.map AnyValue.Array
                1,
                arrayOfMax 5 (Gen.map2 (fun k v -> { Key = k; Value = v }) key inner)
                |> Gen.map (uniqueKeys >> AnyValue.KvList)
            ]

    [<CompiledName("AnyValue")>]
    let anyValue = valueOfDepth 3

    [<CompiledName("KeyValue")>]
    let keyValue = Gen.map2 (fun k v -> { Key = k; Value = v }) key anyValue

    [<CompiledName("Attributes")>]
    let attributes = arrayOfMax 12 keyValue |> Gen.map uniqueKeys

    [<CompiledName("Scope")>]
    let scope = gen {
        let! name = Gen.frequency [ 1, Gen.constant ""; 4, key ]
        let! version = Gen.frequency [ 2, Gen.constant ""; 1, Gen.elements [ "1.0.0"; "2.4.1-beta" ] ]
        let! rich = Gen.frequency [ 3, Gen.constant false; 1, Gen.constant true ]
        if rich then
            let! attrs = attributes
            let! dropped = uint32
            return { Name = name; Version = version; Attributes = attrs; DroppedAttributesCount = dropped }
        else
            return { InstrumentationScope.Empty with Name = name; Version = version }
    }

    let private entityRef = gen {
        let! schemaUrl = Gen.frequency [ 2, Gen.constant ""; 1, text ]
        let! kind = Gen.elements [ "service"; "host"; "k8s.pod"; "" ]
        let! ids = arrayOfMax 3 key
        let! descriptions = arrayOfMax 3 key
        return { SchemaUrl = schemaUrl; Type = kind; IdKeys = ids; DescriptionKeys = descriptions }
    }

    [<CompiledName("Resource")>]
    let resource =
        Gen.frequency [
            1, Gen.constant Resource.Empty
            6,
            gen {
                let! attrs = attributes
                let! dropped = uint32
                let! refs = Gen.frequency [ 4, Gen.constant [||]; 1, arrayOfMax 2 entityRef ]
                return { Attributes = attrs; DroppedAttributesCount = dropped; EntityRefs = refs }
            }
        ]

    let private schemaUrl =
        Gen.frequency [ 3, Gen.constant ""; 1, Gen.constant "https://opentelemetry.io/schemas/1.26.0"; 1, text ]

    let private traceState =
        Gen.frequency [ 3, Gen.constant ""; 1, Gen.elements [ "vendor=abc"; "a=1,b=2"; "rojo=00f067aa0ba902b7" ]; 1, text ]

    let private flags =
        Gen.frequency [
            3, Gen.constant 0u
            3, Gen.elements [ 1u; 0x101u; 0x301u; 0x100u ]
            1, ArbMap.defaults |> ArbMap.generate<uint32>
        ]

    let private spanEvent = gen {
        let! time = timeUnixNano
        let! name = key
        let! attrs = attributes
        let! dropped = uint32
        return { TimeUnixNano = time; Name = name; Attributes = attrs; DroppedAttributesCount = dropped }
    }

    let private spanLink = gen {
        let! traceId = traceId
        let! spanId = spanId
        let! state = traceState
        let! attrs = attributes
        let! dropped = uint32
        let! flags = flags
        return
            { TraceId = traceId
              SpanId = spanId
              TraceState = state
              Attributes = attrs
              DroppedAttributesCount = dropped
              Flags = flags }
    }

    [<CompiledName("Span")>]
    let span = gen {
        let! traceId = traceId
        let! spanId = spanId
        let! state = traceState
        let! parent = optionalSpanId
        let! flags = flags
        let! name = text
        let! kind = Gen.choose (0, 5) |> Gen.map enum<SpanKind>
        let! start = timeUnixNano
        let! duration = Gen.frequency [ 1, Gen.constant 0UL; 4, Gen.choose (1, 1_000_000_000) |> Gen.map Operators.uint64 ]
        let! attrs = attributes
        let! droppedAttributes = uint32
        let! events = arrayOfMax 4 spanEvent
        let! droppedEvents = uint32
        let! links = arrayOfMax 3 spanLink
        let! droppedLinks = uint32
        let! code = Gen.choose (0, 2) |> Gen.map enum<StatusCode>
        let! message = Gen.frequency [ 3, Gen.constant ""; 1, text ]
        return
            { TraceId = traceId
              SpanId = spanId
              TraceState = state
              ParentSpanId = parent
              Flags = flags
              Name = name
              Kind = kind
              StartTimeUnixNano = start
              EndTimeUnixNano = if start > UInt64.MaxValue - duration then start else start + duration
              Attributes = attrs
              DroppedAttributesCount = droppedAttributes
              Events = events
              DroppedEventsCount = droppedEvents
              Links = links
              DroppedLinksCount = droppedLinks
              Status = { Message = message; Code = code } }
    }

    // metrics.proto: a point (or exemplar) "is considered invalid when one of the recognized value fields is
    // not present", so valid data always has one.
    let private numberValue =
        Gen.frequency [
            1, double |> Gen.map AsDouble
            1, int64 |> Gen.map AsInt
        ]

    let private exemplar = gen {
        let! attrs = attributes
        let! time = timeUnixNano
        let! value = numberValue
        let! spanId = optionalSpanId
        let! traceId = optionalTraceId
        return { FilteredAttributes = attrs; TimeUnixNano = time; Value = value; SpanId = spanId; TraceId = traceId }
    }

    let private exemplars = Gen.frequency [ 3, Gen.constant [||]; 1, arrayOfMax 3 exemplar ]

    let private pointFlags = Gen.frequency [ 6, Gen.constant 0u; 1, Gen.constant DataPointFlags.NoRecordedValueMask ]

    let private pointTimes = gen {
        let! start = timeUnixNano
        let! elapsed = Gen.choose (0, 60_000) |> Gen.map (fun ms -> Operators.uint64 ms * 1_000_000UL)
        return start, (if start > UInt64.MaxValue - elapsed then start else start + elapsed)
    }

    let private numberPoint = gen {
        let! attrs = attributes
        let! start, time = pointTimes
        let! value = numberValue
        let! exemplars = exemplars
        let! flags = pointFlags
        return
            { Attributes = attrs
              StartTimeUnixNano = start
              TimeUnixNano = time
              Value = value
              Exemplars = exemplars
              Flags = flags }
    }

    let private optionalDouble = Gen.frequency [ 1, Gen.constant ValueNone; 3, double |> Gen.map ValueSome ]

    // A bucket or zero count: mostly small, sometimes at a varint length's edge or far beyond it (2^35 and 2^56 - 1
    // take 6 and 8 bytes). A point sums at most 41 of them (13 explicit buckets; 20 positive, 20 negative and the zero
    // count of an exponential point), which stays below 2^62: the point's count never wraps.
    let private count =
        Gen.frequency [
            8, Gen.choose (0, 1000) |> Gen.map Operators.uint64
            1, Gen.elements [ 127UL; 128UL; 16_383UL; 16_384UL; 1UL <<< 35; (1UL <<< 56) - 1UL ]
        ]

    // Explicit bounds: strictly increasing doubles of any size and sign (not NaN, which has no order), infinities
    // included; the count is the wanted one at most, since equal draws collapse into one bound.
    let private explicitBounds (wanted: int) =
        Gen.arrayOfLength wanted double
        |> Gen.map (fun drawn ->
            let sorted = drawn |> Array.filter (Double.IsNaN >> not) |> Array.sort
            [| for i in 0 .. sorted.Length - 1 do
                   if i = 0 || sorted[i - 1] < sorted[i] then sorted[i] |])

    // metrics.proto, of histogram, exponential histogram and summary points: "If count is zero then this field
    // [sum] must be zero."
    let private sumOfCount (count: uint64) (sum: float voption) =
        if count = 0UL then sum |> ValueOption.map (fun _ -> 0.0) else sum

    let private histogramPoint = gen {
        let! attrs = attributes
        let! start, time = pointTimes
        let! wantedBounds = Gen.frequency [ 1, Gen.constant -1; 4, Gen.choose (0, 12) ]
        // -1 stands for "no buckets at all", which the spec allows (only count, sum, min and max).
        let! bounds = if wantedBounds <= 0 then Gen.constant [||] else explicitBounds wantedBounds
        let! counts = if wantedBounds < 0 then Gen.constant [||] else Gen.arrayOfLength (bounds.Length + 1) count
        let! extraCount = count
        let total = if counts.Length = 0 then extraCount else Array.sum counts
        let! sum = optionalDouble
        let! exemplars = exemplars
        let! flags = pointFlags
        let! min = optionalDouble
        let! max = optionalDouble
        return
            { Attributes = attrs
              StartTimeUnixNano = start
              TimeUnixNano = time
              Count = total
              Sum = sumOfCount total sum
              BucketCounts = counts
              ExplicitBounds = bounds
              Exemplars = exemplars
              Flags = flags
              Min = min
              Max = max }
    }

    let private buckets =
        Gen.frequency [
            1, Gen.constant ExponentialBuckets.Empty
            4,
            gen {
                let! offset = Gen.frequency [ 4, Gen.choose (-200, 200); 1, Gen.elements [ Int32.MinValue; Int32.MaxValue; -1; 0 ] ]
                let! counts = arrayOfMax 20 count
                return { Offset = offset; BucketCounts = counts }
            }
        ]

    let private exponentialPoint = gen {
        let! attrs = attributes
        let! start, time = pointTimes
        let! sum = optionalDouble
        let! scale = Gen.frequency [ 4, Gen.choose (-10, 20); 1, Gen.elements [ Int32.MinValue; Int32.MaxValue; 0 ] ]
        // Sometimes nothing was recorded: count zero, with or without (all-zero) buckets.
        let! empty = Gen.frequency [ 1, Gen.constant true; 6, Gen.constant false ]
        let zeroed (b: ExponentialBuckets) = if empty then { b with BucketCounts = Array.map (fun _ -> 0UL) b.BucketCounts } else b
        let! zeroCount = if empty then Gen.constant 0UL else count
        let! positive = buckets |> Gen.map zeroed
        let! negative = buckets |> Gen.map zeroed
        let total = zeroCount + Array.sum positive.BucketCounts + Array.sum negative.BucketCounts
        let! flags = pointFlags
        let! exemplars = exemplars
        let! min = optionalDouble
        let! max = optionalDouble
        let! zeroThreshold = Gen.frequency [ 3, Gen.constant 0.0; 1, plainDouble ]
        return
            { Attributes = attrs
              StartTimeUnixNano = start
              TimeUnixNano = time
              Count = total
              Sum = sumOfCount total sum
              Scale = scale
              ZeroCount = zeroCount
              Positive = positive
              Negative = negative
              Flags = flags
              Exemplars = exemplars
              Min = min
              Max = max
              ZeroThreshold = zeroThreshold }
    }

    let private summaryPoint = gen {
        let! attrs = attributes
        let! start, time = pointTimes
        let! count = uint64
        let! sum = plainDouble
        // metrics.proto: quantiles are in [0, 1] and strictly increasing; "Quantile values must NOT be negative".
        let! quantiles = arrayOfMax 5 (Gen.elements [ 0.0; 0.5; 0.9; 0.99; 1.0 ]) |> Gen.map (Array.distinct >> Array.sort)
        // Negated rather than `abs`, which would also clear the sign bit of NaN and make a NaN that OTLP/JSON
        // cannot carry (it reads "NaN" back as the canonical one).
        let! values = Gen.arrayOfLength quantiles.Length (plainDouble |> Gen.map (fun v -> if v < 0.0 then -v else v))
        let! flags = pointFlags
        return
            { Attributes = attrs
              StartTimeUnixNano = start
              TimeUnixNano = time
              Count = count
              Sum = (if count = 0UL then 0.0 else sum)
              QuantileValues = Array.map2 (fun q v -> { Quantile = q; Value = v }) quantiles values
              Flags = flags }
    }

    // metrics.proto: AGGREGATION_TEMPORALITY_UNSPECIFIED "MUST not be used".
    let private temporality = Gen.elements [ AggregationTemporality.Delta; AggregationTemporality.Cumulative ]

    let private metricData =
        Gen.frequency [
            1, Gen.constant MetricData.NoData
            4, arrayOfMax 6 numberPoint |> Gen.map MetricData.Gauge
            4,
            gen {
                let! points = arrayOfMax 6 numberPoint
                let! temporality = temporality
                let! monotonic = Gen.elements [ true; false ]
                return MetricData.Sum { DataPoints = points; AggregationTemporality = temporality; IsMonotonic = monotonic }
            }
            3,
            Gen.map2
                (fun points t -> MetricData.Histogram { DataPoints = points; AggregationTemporality = t })
                (arrayOfMax 4 histogramPoint)
                temporality
            3,
            Gen.map2
                (fun points t -> MetricData.ExponentialHistogram { DataPoints = points; AggregationTemporality = t })
                (arrayOfMax 4 exponentialPoint)
                temporality
            2, arrayOfMax 4 summaryPoint |> Gen.map MetricData.Summary
        ]

    [<CompiledName("Metric")>]
    let metric = gen {
        let! name = key
        let! description = Gen.frequency [ 2, Gen.constant ""; 1, text ]
        let! unit = Gen.elements [ ""; "1"; "ms"; "By"; "{request}"; "s" ]
        let! data = metricData
        let! metadata = Gen.frequency [ 4, Gen.constant [||]; 1, attributes ]
        return { Name = name; Description = description; Unit = unit; Data = data; Metadata = metadata }
    }

    [<CompiledName("LogRecord")>]
    let logRecord = gen {
        let! time = Gen.frequency [ 1, Gen.constant 0UL; 4, timeUnixNano ]
        let! observed = timeUnixNano
        let! severity = Gen.choose (0, 24) |> Gen.map enum<SeverityNumber>
        let! severityText = Gen.elements [ ""; "Information"; "WARN"; "error"; "Trace" ]
        let! body = Gen.frequency [ 1, Gen.constant AnyValue.Empty; 4, text |> Gen.map AnyValue.String; 2, anyValue ]
        let! attrs = attributes
        let! dropped = uint32
        let! flags = Gen.frequency [ 3, Gen.constant 0u; 1, Gen.elements [ 1u; 0xFFu ] ]
        let! traceId = optionalTraceId
        let! spanId = optionalSpanId
        let! eventName = Gen.frequency [ 4, Gen.constant ""; 1, key ]
        return
            { TimeUnixNano = time
              ObservedTimeUnixNano = observed
              SeverityNumber = severity
              SeverityText = severityText
              Body = body
              Attributes = attrs
              DroppedAttributesCount = dropped
              Flags = flags
              TraceId = traceId
              SpanId = spanId
              EventName = eventName }
    }

    [<CompiledName("TraceRequest")>]
    let traceRequest = gen {
        let scopeSpans = gen {
            let! scope = scope
            let! spans = arrayOfMax 8 span
            let! url = schemaUrl
            return { Scope = scope; Spans = spans; SchemaUrl = url }
        }
        let resourceSpans = gen {
            let! resource = resource
            let! scopes = arrayOfMax 3 scopeSpans
            let! url = schemaUrl
            return { Resource = resource; ScopeSpans = scopes; SchemaUrl = url }
        }
        let! resources = arrayOfMax 3 resourceSpans
        return { ResourceSpans = resources }
    }

    [<CompiledName("MetricsRequest")>]
    let metricsRequest = gen {
        let scopeMetrics = gen {
            let! scope = scope
            let! metrics = arrayOfMax 6 metric
            let! url = schemaUrl
            return { Scope = scope; Metrics = metrics; SchemaUrl = url }
        }
        let resourceMetrics = gen {
            let! resource = resource
            let! scopes = arrayOfMax 3 scopeMetrics
            let! url = schemaUrl
            return { Resource = resource; ScopeMetrics = scopes; SchemaUrl = url }
        }
        let! resources = arrayOfMax 3 resourceMetrics
        return { ResourceMetrics = resources }
    }

    [<CompiledName("LogsRequest")>]
    let logsRequest = gen {
        let scopeLogs = gen {
            let! scope = scope
            let! records = arrayOfMax 8 logRecord
            let! url = schemaUrl
            return { Scope = scope; LogRecords = records; SchemaUrl = url }
        }
        let resourceLogs = gen {
            let! resource = resource
            let! scopes = arrayOfMax 3 scopeLogs
            let! url = schemaUrl
            return { Resource = resource; ScopeLogs = scopes; SchemaUrl = url }
        }
        let! resources = arrayOfMax 3 resourceLogs
        return { ResourceLogs = resources }
    }

    [<CompiledName("PartialSuccess")>]
    let partialSuccess =
        Gen.frequency [
            1, Gen.constant PartialSuccess.Empty
            // A count of rejected items, never negative; the complement keeps Int64.MaxValue among the extremes.
            1, Gen.map2 (fun n m -> { Rejected = (if n < 0L then ~~~n else n); ErrorMessage = m }) int64 text
        ]

    // Shrinking: first drop whole elements of an array, then shrink the elements that remain.
    let private shrinkArray (shrinkItem: 'a -> seq<'a>) (items: 'a array) =
        seq {
            if items.Length > 0 then
                yield [||]
                if items.Length > 1 then
                    yield items[.. items.Length / 2 - 1]
                    yield items[items.Length / 2 ..]
                for i in 0 .. items.Length - 1 do
                    yield Array.removeAt i items
                for i in 0 .. items.Length - 1 do
                    for smaller in shrinkItem items[i] do
                        yield Array.updateAt i smaller items
        }

    let private simplerSpan (s: Span) =
        seq {
            if s.Attributes.Length > 0 || s.Events.Length > 0 || s.Links.Length > 0 then
                yield { s with Attributes = [||]; Events = [||]; Links = [||] }
            if s.Name <> "" then yield { s with Name = "" }
        }

    let private simplerMetric (m: Metric) =
        seq {
            if m.Data <> MetricData.NoData then yield { m with Data = MetricData.NoData }
            if m.Name <> "" || m.Description <> "" then yield { m with Name = ""; Description = "" }
        }

    let private simplerLogRecord (r: LogRecord) =
        seq {
            if r.Attributes.Length > 0 then yield { r with Attributes = [||] }
            if r.Body <> AnyValue.Empty then yield { r with Body = AnyValue.Empty }
        }

    let private simplerResource (r: Resource) =
        seq { if r <> Resource.Empty then yield Resource.Empty }

    [<CompiledName("ShrinkTraceRequest")>]
    let shrinkTraceRequest (request: ExportTraceServiceRequest) =
        let shrinkScope (s: ScopeSpans) =
            shrinkArray simplerSpan s.Spans |> Seq.map (fun spans -> { s with Spans = spans })
        let shrinkResource (r: ResourceSpans) =
            Seq.append
                (simplerResource r.Resource |> Seq.map (fun res -> { r with Resource = res }))
                (shrinkArray shrinkScope r.ScopeSpans |> Seq.map (fun scopes -> { r with ScopeSpans = scopes }))
        shrinkArray shrinkResource request.ResourceSpans |> Seq.map (fun rs -> { ResourceSpans = rs })

    [<CompiledName("ShrinkMetricsRequest")>]
    let shrinkMetricsRequest (request: ExportMetricsServiceRequest) =
        let shrinkScope (s: ScopeMetrics) =
            shrinkArray simplerMetric s.Metrics |> Seq.map (fun metrics -> { s with Metrics = metrics })
        let shrinkResource (r: ResourceMetrics) =
            Seq.append
                (simplerResource r.Resource |> Seq.map (fun res -> { r with Resource = res }))
                (shrinkArray shrinkScope r.ScopeMetrics |> Seq.map (fun scopes -> { r with ScopeMetrics = scopes }))
        shrinkArray shrinkResource request.ResourceMetrics |> Seq.map (fun rs -> { ResourceMetrics = rs })

    [<CompiledName("ShrinkLogsRequest")>]
    let shrinkLogsRequest (request: ExportLogsServiceRequest) =
        let shrinkScope (s: ScopeLogs) =
            shrinkArray simplerLogRecord s.LogRecords |> Seq.map (fun records -> { s with LogRecords = records })
        let shrinkResource (r: ResourceLogs) =
            Seq.append
                (simplerResource r.Resource |> Seq.map (fun res -> { r with Resource = res }))
                (shrinkArray shrinkScope r.ScopeLogs |> Seq.map (fun scopes -> { r with ScopeLogs = scopes }))
        shrinkArray shrinkResource request.ResourceLogs |> Seq.map (fun rs -> { ResourceLogs = rs })

[<Sealed; AbstractClass>]
type OtlpArbitraries =
    static member AnyValue() = Arb.fromGen Generators.anyValue
    static member KeyValue() = Arb.fromGen Generators.keyValue
    static member TraceId() = Arb.fromGen Generators.traceId
    static member SpanId() = Arb.fromGen Generators.spanId
    static member Resource() = Arb.fromGen Generators.resource
    static member Span() = Arb.fromGen Generators.span
    static member Metric() = Arb.fromGen Generators.metric
    static member LogRecord() = Arb.fromGen Generators.logRecord
    static member TraceRequest() = Arb.fromGenShrink (Generators.traceRequest, Generators.shrinkTraceRequest)
    static member MetricsRequest() = Arb.fromGenShrink (Generators.metricsRequest, Generators.shrinkMetricsRequest)
    static member LogsRequest() = Arb.fromGenShrink (Generators.logsRequest, Generators.shrinkLogsRequest)
    static member PartialSuccess() = Arb.fromGen Generators.partialSuccess

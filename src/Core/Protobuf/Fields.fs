/// Field numbers of the OTLP messages, named `Message_Field` after the proto paths, and the wire types they
/// use. This is the one place that knows them: the encoder, the decoder and any encoder of another source
/// (such as .NET's Activity) take them from here.
[<RequireQualifiedAccess>]
module internal Otlp.Core.Protobuf.Fields

// Wire types (protobuf encoding spec).
[<Literal>]
let WireVarint = 0
[<Literal>]
let WireFixed64 = 1
[<Literal>]
let WireLengthDelimited = 2
[<Literal>]
let WireFixed32 = 5

// common/v1
[<Literal>]
let AnyValue_String_Value = 1
[<Literal>]
let AnyValue_Bool_Value = 2
[<Literal>]
let AnyValue_Int_Value = 3
[<Literal>]
let AnyValue_Double_Value = 4
[<Literal>]
let AnyValue_Array_Value = 5
[<Literal>]
let AnyValue_Kvlist_Value = 6
[<Literal>]
let AnyValue_Bytes_Value = 7
[<Literal>]
let ArrayValue_Values = 1
[<Literal>]
let KeyValueList_Values = 1
[<Literal>]
let KeyValue_Key = 1
[<Literal>]
let KeyValue_Value = 2
[<Literal>]
let InstrumentationScope_Name = 1
[<Literal>]
let InstrumentationScope_Version = 2
[<Literal>]
let InstrumentationScope_Attributes = 3
[<Literal>]
let InstrumentationScope_Dropped_Attributes_Count = 4
[<Literal>]
let EntityRef_Schema_Url = 1
[<Literal>]
let EntityRef_Type = 2
[<Literal>]
let EntityRef_Id_Keys = 3
[<Literal>]
let EntityRef_Description_Keys = 4

// resource/v1
[<Literal>]
let Resource_Attributes = 1
[<Literal>]
let Resource_Dropped_Attributes_Count = 2
[<Literal>]
let Resource_Entity_Refs = 3

// trace/v1
[<Literal>]
let ResourceSpans_Resource = 1
[<Literal>]
let ResourceSpans_Scope_Spans = 2
[<Literal>]
let ResourceSpans_Schema_Url = 3
[<Literal>]
let ScopeSpans_Scope = 1
[<Literal>]
let ScopeSpans_Spans = 2
[<Literal>]
let ScopeSpans_Schema_Url = 3
[<Literal>]
let Span_Trace_Id = 1
[<Literal>]
let Span_Span_Id = 2
[<Literal>]
let Span_Trace_State = 3
[<Literal>]
let Span_Parent_Span_Id = 4
[<Literal>]
let Span_Name = 5
[<Literal>]
let Span_Kind = 6
[<Literal>]
let Span_Start_Time_Unix_Nano = 7
[<Literal>]
let Span_End_Time_Unix_Nano = 8
[<Literal>]
let Span_Attributes = 9
[<Literal>]
let Span_Dropped_Attributes_Count = 10
[<Literal>]
let Span_Events = 11
[<Literal>]
let Span_Dropped_Events_Count = 12
[<Literal>]
let Span_Links = 13
[<Literal>]
let Span_Dropped_Links_Count = 14
[<Literal>]
let Span_Status = 15
[<Literal>]
let Span_Flags = 16
[<Literal>]
let Event_Time_Unix_Nano = 1
[<Literal>]
let Event_Name = 2
[<Literal>]
let Event_Attributes = 3
[<Literal>]
let Event_Dropped_Attributes_Count = 4
[<Literal>]
let Link_Trace_Id = 1
[<Literal>]
let Link_Span_Id = 2
[<Literal>]
let Link_Trace_State = 3
[<Literal>]
let Link_Attributes = 4
[<Literal>]
let Link_Dropped_Attributes_Count = 5
[<Literal>]
let Link_Flags = 6
[<Literal>]
let Status_Message = 2
[<Literal>]
let Status_Code = 3

// metrics/v1
[<Literal>]
let ResourceMetrics_Resource = 1
[<Literal>]
let ResourceMetrics_Scope_Metrics = 2
[<Literal>]
let ResourceMetrics_Schema_Url = 3
[<Literal>]
let ScopeMetrics_Scope = 1
[<Literal>]
let ScopeMetrics_Metrics = 2
[<Literal>]
let ScopeMetrics_Schema_Url = 3
[<Literal>]
let Metric_Name = 1
[<Literal>]
let Metric_Description = 2
[<Literal>]
let Metric_Unit = 3
[<Literal>]
let Metric_Gauge = 5
[<Literal>]
let Metric_Sum = 7
[<Literal>]
let Metric_Histogram = 9
[<Literal>]
let Metric_Exponential_Histogram = 10
[<Literal>]
let Metric_Summary = 11
[<Literal>]
let Metric_Metadata = 12
[<Literal>]
let Gauge_Data_Points = 1
[<Literal>]
let Sum_Data_Points = 1
[<Literal>]
let Sum_Aggregation_Temporality = 2
[<Literal>]
let Sum_Is_Monotonic = 3
[<Literal>]
let Histogram_Data_Points = 1
[<Literal>]
let Histogram_Aggregation_Temporality = 2
[<Literal>]
let ExponentialHistogram_Data_Points = 1
[<Literal>]
let ExponentialHistogram_Aggregation_Temporality = 2
[<Literal>]
let Summary_Data_Points = 1
[<Literal>]
let NumberDataPoint_Start_Time_Unix_Nano = 2
[<Literal>]
let NumberDataPoint_Time_Unix_Nano = 3
[<Literal>]
let NumberDataPoint_As_Double = 4
[<Literal>]
let NumberDataPoint_Exemplars = 5
[<Literal>]
let NumberDataPoint_As_Int = 6
[<Literal>]
let NumberDataPoint_Attributes = 7
[<Literal>]
let NumberDataPoint_Flags = 8
[<Literal>]
let HistogramDataPoint_Start_Time_Unix_Nano = 2
[<Literal>]
let HistogramDataPoint_Time_Unix_Nano = 3
[<Literal>]
let HistogramDataPoint_Count = 4
[<Literal>]
let HistogramDataPoint_Sum = 5
[<Literal>]
let HistogramDataPoint_Bucket_Counts = 6
[<Literal>]
let HistogramDataPoint_Explicit_Bounds = 7
[<Literal>]
let HistogramDataPoint_Exemplars = 8
[<Literal>]
let HistogramDataPoint_Attributes = 9
[<Literal>]
let HistogramDataPoint_Flags = 10
[<Literal>]
let HistogramDataPoint_Min = 11
[<Literal>]
let HistogramDataPoint_Max = 12
[<Literal>]
let ExponentialHistogramDataPoint_Attributes = 1
[<Literal>]
let ExponentialHistogramDataPoint_Start_Time_Unix_Nano = 2
[<Literal>]
let ExponentialHistogramDataPoint_Time_Unix_Nano = 3
[<Literal>]
let ExponentialHistogramDataPoint_Count = 4
[<Literal>]
let ExponentialHistogramDataPoint_Sum = 5
[<Literal>]
let ExponentialHistogramDataPoint_Scale = 6
[<Literal>]
let ExponentialHistogramDataPoint_Zero_Count = 7
[<Literal>]
let ExponentialHistogramDataPoint_Positive = 8
[<Literal>]
let ExponentialHistogramDataPoint_Negative = 9
[<Literal>]
let ExponentialHistogramDataPoint_Flags = 10
[<Literal>]
let ExponentialHistogramDataPoint_Exemplars = 11
[<Literal>]
let ExponentialHistogramDataPoint_Min = 12
[<Literal>]
let ExponentialHistogramDataPoint_Max = 13
[<Literal>]
let ExponentialHistogramDataPoint_Zero_Threshold = 14
[<Literal>]
let Buckets_Offset = 1
[<Literal>]
let Buckets_Bucket_Counts = 2
[<Literal>]
let SummaryDataPoint_Start_Time_Unix_Nano = 2
[<Literal>]
let SummaryDataPoint_Time_Unix_Nano = 3
[<Literal>]
let SummaryDataPoint_Count = 4
[<Literal>]
let SummaryDataPoint_Sum = 5
[<Literal>]
let SummaryDataPoint_Quantile_Values = 6
[<Literal>]
let SummaryDataPoint_Attributes = 7
[<Literal>]
let SummaryDataPoint_Flags = 8
[<Literal>]
let ValueAtQuantile_Quantile = 1
[<Literal>]
let ValueAtQuantile_Value = 2
[<Literal>]
let Exemplar_Time_Unix_Nano = 2
[<Literal>]
let Exemplar_As_Double = 3
[<Literal>]
let Exemplar_Span_Id = 4
[<Literal>]
let Exemplar_Trace_Id = 5
[<Literal>]
let Exemplar_As_Int = 6
[<Literal>]
let Exemplar_Filtered_Attributes = 7

// logs/v1
[<Literal>]
let ResourceLogs_Resource = 1
[<Literal>]
let ResourceLogs_Scope_Logs = 2
[<Literal>]
let ResourceLogs_Schema_Url = 3
[<Literal>]
let ScopeLogs_Scope = 1
[<Literal>]
let ScopeLogs_Log_Records = 2
[<Literal>]
let ScopeLogs_Schema_Url = 3
[<Literal>]
let LogRecord_Time_Unix_Nano = 1
[<Literal>]
let LogRecord_Severity_Number = 2
[<Literal>]
let LogRecord_Severity_Text = 3
[<Literal>]
let LogRecord_Body = 5
[<Literal>]
let LogRecord_Attributes = 6
[<Literal>]
let LogRecord_Dropped_Attributes_Count = 7
[<Literal>]
let LogRecord_Flags = 8
[<Literal>]
let LogRecord_Trace_Id = 9
[<Literal>]
let LogRecord_Span_Id = 10
[<Literal>]
let LogRecord_Observed_Time_Unix_Nano = 11
[<Literal>]
let LogRecord_Event_Name = 12

// collector/*/v1: requests hold one repeated field; responses one partial success.
[<Literal>]
let ExportTraceServiceRequest_Resource_Spans = 1
[<Literal>]
let ExportMetricsServiceRequest_Resource_Metrics = 1
[<Literal>]
let ExportLogsServiceRequest_Resource_Logs = 1
[<Literal>]
let ExportServiceResponse_Partial_Success = 1
[<Literal>]
let PartialSuccess_Rejected = 1
[<Literal>]
let PartialSuccess_Error_Message = 2

/// ILogger entries to OTLP log records: a table of entries and the records that arrive at the receiver.
module Otlp.Tests.LoggingTests

open System
open System.Collections.Generic
open System.Diagnostics
open Expecto
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Core
open Otlp.Logging
open Otlp.Testing
open Otlp.Tests.Support

let private moment = DateTimeOffset(2026, 3, 4, 5, 6, 7, 89, TimeSpan.Zero)

let private nanos = uint64 (moment.UtcTicks - DateTime.UnixEpoch.Ticks) * 100UL

type private FixedClock() =
    inherit TimeProvider()
    override _.GetUtcNow() = moment

let private kv key value = { Key = key; Value = value }

let private str (s: string) = AnyValue.String s

let private record severity text body attributes =
    { LogRecord.Empty with
        TimeUnixNano = nanos
        ObservedTimeUnixNano = nanos
        SeverityNumber = severity
        SeverityText = text
        Body = body
        Attributes = Array.ofList attributes }

/// An exception whose Message and ToString are the application's code, and throw.
type private FaultyException() =
    inherit Exception()
    override _.Message = raise (InvalidOperationException "no message")
    override _.ToString() = raise (InvalidOperationException "no text")

let private thrown () =
    try
        invalidOp "boom"
    with e ->
        e

/// Rows: what the entry is, how it is logged, the record expected.
let private rows: (string * (ILogger -> unit) * (unit -> LogRecord)) list =
    let error = thrown ()
    let levels: (string * (ILogger -> unit) * (unit -> LogRecord)) list =
        [ for level, number in
              [ LogLevel.Trace, SeverityNumber.Trace; LogLevel.Debug, SeverityNumber.Debug; LogLevel.Information, SeverityNumber.Info
                LogLevel.Warning, SeverityNumber.Warn; LogLevel.Error, SeverityNumber.Error; LogLevel.Critical, SeverityNumber.Fatal ] ->
              $"{level} has severity number {int number} and text {level}",
              (fun (l: ILogger) -> l.Log(level, "plain")),
              (fun () -> record number (string level) (str "plain") [ kv "{OriginalFormat}" (str "plain") ]) ]
    levels @
    [ "the body is the formatted message; the template and the values are attributes",
      (fun (l: ILogger) -> l.LogInformation("Order {OrderId} received with {Count} items", 1042, 3)),
      (fun () ->
          record SeverityNumber.Info "Information" (str "Order 1042 received with 3 items")
              [ kv "OrderId" (AnyValue.Int 1042L); kv "Count" (AnyValue.Int 3L); kv "{OriginalFormat}" (str "Order {OrderId} received with {Count} items") ])
      "a null value is an attribute with an empty value (an empty value MUST be passed on)",
      (fun (l: ILogger) -> l.LogInformation("User {Name} from {Place}", null, "here")),
      (fun () ->
          record SeverityNumber.Info "Information" (str "User (null) from here")
              [ kv "Name" AnyValue.Empty; kv "Place" (str "here"); kv "{OriginalFormat}" (str "User {Name} from {Place}") ])
      "structured values keep their types; arrays become arrays; other objects their text",
      (fun (l: ILogger) -> l.LogWarning("{S} {B} {L} {D} {F} {Arr} {Day}", "s", true, Int64.MaxValue, 0.25, 1.5f, [| 1; 2 |], DayOfWeek.Friday)),
      (fun () ->
          record SeverityNumber.Warn "Warning" (str "s True 9223372036854775807 0.25 1.5 1, 2 Friday")
              [ kv "S" (str "s"); kv "B" (AnyValue.Bool true); kv "L" (AnyValue.Int Int64.MaxValue); kv "D" (AnyValue.Double 0.25)
                kv "F" (AnyValue.Double 1.5); kv "Arr" (AnyValue.Array [| AnyValue.Int 1L; AnyValue.Int 2L |]); kv "Day" (str "Friday")
                kv "{OriginalFormat}" (str "{S} {B} {L} {D} {F} {Arr} {Day}") ])
      "the event id is an attribute and its name the record's event name",
      (fun (l: ILogger) -> l.LogInformation(EventId(42, "OrderPlaced"), "placed")),
      (fun () ->
          { record SeverityNumber.Info "Information" (str "placed") [ kv "{OriginalFormat}" (str "placed"); kv "logrecord.event.id" (AnyValue.Int 42L) ] with
              EventName = "OrderPlaced" })
      "an exception gives exception.type (the type's full name), exception.message and exception.stacktrace",
      (fun (l: ILogger) -> l.LogError(error, "Payment failed")),
      (fun () ->
          record SeverityNumber.Error "Error" (str "Payment failed")
              [ kv "{OriginalFormat}" (str "Payment failed"); kv "exception.type" (str "System.InvalidOperationException")
                kv "exception.message" (str "boom"); kv "exception.stacktrace" (str (error.ToString())) ])
      "the key-value pairs of active scopes are attributes (scopes are opted into)",
      (fun (l: ILogger) ->
          use _scope = l.BeginScope(dict [ "RequestId", box "r-1" ])
          l.LogInformation("in scope")),
      (fun () -> record SeverityNumber.Info "Information" (str "in scope") [ kv "{OriginalFormat}" (str "in scope"); kv "RequestId" (str "r-1") ])
      "a key repeated by nested scopes and the entry is written once, with the entry's own value",
      (fun (l: ILogger) ->
          use _outer = l.BeginScope(dict [ "RequestId", box "outer" ])
          use _inner = l.BeginScope(dict [ "RequestId", box "inner" ])
          l.LogInformation("{RequestId}", "state")),
      (fun () -> record SeverityNumber.Info "Information" (str "state") [ kv "RequestId" (str "state"); kv "{OriginalFormat}" (str "{RequestId}") ])
      "a key repeated by nested scopes only is written once, with the innermost scope's value",
      (fun (l: ILogger) ->
          use _outer = l.BeginScope(dict [ "RequestId", box "outer" ])
          use _inner = l.BeginScope(dict [ "RequestId", box "inner" ])
          l.LogInformation("in scopes")),
      (fun () -> record SeverityNumber.Info "Information" (str "in scopes") [ kv "{OriginalFormat}" (str "in scopes"); kv "RequestId" (str "inner") ])
      "a template naming a placeholder twice gives one attribute, the first value",
      (fun (l: ILogger) -> l.LogInformation("{A} then {A}", 1, 2)),
      (fun () -> record SeverityNumber.Info "Information" (str "1 then 2") [ kv "A" (AnyValue.Int 1L); kv "{OriginalFormat}" (str "{A} then {A}") ])
      "the trace context of Activity.Current is the record's",
      (fun (l: ILogger) ->
          use activity = (new Activity("request")).SetIdFormat(ActivityIdFormat.W3C).Start()
          activity.ActivityTraceFlags <- ActivityTraceFlags.Recorded
          l.LogInformation("traced {Id}", activity.TraceId.ToHexString() + "/" + activity.SpanId.ToHexString())),
      (fun () -> record SeverityNumber.Info "Information" AnyValue.Empty [])  // checked separately below
    ]

[<Tests>]
let tests =
    testSequenced <| testList "Bridge logging" [
        test "every level maps to the data model's severity and its name; levels past Critical have no severity" {
            let expected =
                [ LogLevel.Trace, SeverityNumber.Trace, "Trace"; LogLevel.Debug, SeverityNumber.Debug, "Debug"
                  LogLevel.Information, SeverityNumber.Info, "Information"; LogLevel.Warning, SeverityNumber.Warn, "Warning"
                  LogLevel.Error, SeverityNumber.Error, "Error"; LogLevel.Critical, SeverityNumber.Fatal, "Critical"
                  LogLevel.None, SeverityNumber.Unspecified, "None"; enum<LogLevel> 42, SeverityNumber.Unspecified, "42"
                  enum<LogLevel> -1, SeverityNumber.Unspecified, "-1" ]
            let actual = expected |> List.map (fun (level, _, _) -> level, LogRecordConverter.Severity level, LogRecordConverter.SeverityText level)
            Expect.equal actual expected "severity number and text of each level"
        }

        test "an exception's stack trace is read under the invariant UI culture, whatever the thread's, which is kept" {
            let cultureSeen = ref ""
            let probe =
                { new Exception("probe") with
                    override _.ToString() =
                        cultureSeen.Value <- Globalization.CultureInfo.CurrentUICulture.Name
                        "probe text" }
            let before = Globalization.CultureInfo.CurrentUICulture
            Globalization.CultureInfo.CurrentUICulture <- Globalization.CultureInfo.GetCultureInfo "de-DE"
            try
                Expect.equal (LogRecordConverter.ExceptionStacktrace probe) "probe text" "its text"
                Expect.equal cultureSeen.Value "" "read under the invariant culture"
                Expect.equal Globalization.CultureInfo.CurrentUICulture.Name "de-DE" "the thread's culture is back"
            finally
                Globalization.CultureInfo.CurrentUICulture <- before
        }

        testTask "each entry of the table arrives as the expected record, with the category as scope" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let factory =
                LoggerFactory.Create(fun b ->
                    b.SetMinimumLevel(LogLevel.Trace).AddOtlp(exporter, fun o -> o.IncludeScopes <- true; o.TimeProvider <- FixedClock()) |> ignore)
            use _factory = disposing factory
            let logger = factory.CreateLogger("Shop.Orders")
            for _, log, _ in rows do log logger
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            Expect.isTrue flushed "flushed"
            let records = receiver.LogRecords
            Expect.equal records.Count rows.Length "one record per entry"
            for (name, _, expected), actual in Seq.zip (List.take (rows.Length - 1) rows) records do
                Otlp.Core.Tests.Common.expectSame actual (expected ()) name
            let traced = records[records.Count - 1]
            let ids = match traced.Attributes |> Array.find (fun a -> a.Key = "Id") with { Value = AnyValue.String s } -> s | _ -> ""
            Expect.equal $"{traced.TraceId.ToHex()}/{traced.SpanId.ToHex()}" ids "trace and span id of Activity.Current"
            Expect.equal traced.Flags 1u "sampled flag"
            Expect.isTrue records[0].TraceId.IsEmpty "no trace context outside an activity"
            let scope = receiver.Requests[0].LogsRequest.ResourceLogs[0].ScopeLogs[0].Scope
            Expect.equal scope.Name "Shop.Orders" "category"
        }

        for json in [ false; true ] do
            testTask $"IncludeEventId = false leaves the event id out and keeps its name as the event name (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForLogs().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter, fun o -> o.IncludeEventId <- false) |> ignore)
                use _factory = disposing factory
                factory.CreateLogger("C").LogInformation(EventId(42, "OrderPlaced"), "placed")
                let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                let r = receiver.LogRecords[0]
                Expect.equal (r.Attributes, r.EventName) ([| kv "{OriginalFormat}" (str "placed") |], "OrderPlaced") "no id, the name kept"
            }

        testTask "scopes are left out unless asked for, and log record limits apply" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter =
                OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString())
                    .WithEnvironment(environment [ "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "2" ]).Build()
            let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter) |> ignore)
            use _factory = disposing factory
            let logger = factory.CreateLogger("C")
            do
                use _scope = logger.BeginScope(dict [ "RequestId", box "r-1" ])
                logger.LogInformation("{A} {B} {C}", 1, 2, 3)
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let r = receiver.LogRecords[0]
            Expect.equal r.Attributes [| kv "A" (AnyValue.Int 1L); kv "B" (AnyValue.Int 2L) |] "two attributes kept, no scope"
            Expect.equal r.DroppedAttributesCount 2u "C and the template dropped"
        }

        for json in [ false; true ] do
            testTask $"an exception whose Message and ToString throw is logged with texts that say so (JSON {json})" {
                let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
                use _receiver = receiver
                use exporter =
                    OtlpExporter.ForLogs().WithHttp(json).WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
                let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter) |> ignore)
                use _factory = disposing factory
                let logger = factory.CreateLogger("C")
                logger.LogError(FaultyException(), "failed")
                logger.LogInformation("after")
                let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
                Expect.isTrue flushed "flushed"
                Expect.equal exporter.Statistics.Exported 2L "both records exported: the faulty one did not fail the batch"
                let attribute key = receiver.LogRecords[0].Attributes |> Array.find (fun a -> a.Key = key) |> fun a -> a.Value
                Expect.equal (attribute "exception.message") (str "(FaultyException.Message threw InvalidOperationException)") "message"
                Expect.equal (attribute "exception.stacktrace") (str "(FaultyException.ToString threw InvalidOperationException)") "stack trace"
                Expect.equal receiver.LogRecords[1].Body (str "after") "the next record"
            }

        testTask "with OTEL_SDK_DISABLED the provider's loggers are disabled" {
            use exporter = OtlpExporter.ForLogs().WithEnvironment(environment [ "OTEL_SDK_DISABLED", "true" ]).Build()
            let provider = new OtlpLoggerProvider(exporter)
            use _provider = disposing provider
            Expect.isFalse ((provider.CreateLogger "C").IsEnabled LogLevel.Critical) "disabled"
            return ()
        }
    ]

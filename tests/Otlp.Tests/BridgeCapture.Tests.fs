/// What the bridges take from the application and when: a log entry's state read at the log call (not at export,
/// when the objects it reads may be gone), and the exporter's own requests never exported, whoever records them.
module Otlp.Tests.BridgeCaptureTests

open System
open System.Collections
open System.Collections.Generic
open System.Diagnostics
open System.Net
open System.Net.Http
open System.Threading
open System.Threading.Tasks
open Expecto
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.AspNetCore.Http
open Microsoft.AspNetCore.Server.Kestrel.Core
open Microsoft.Extensions.Logging
open Otlp
open Otlp.Core
open Otlp.Logging
open Otlp.Testing
open Otlp.Tracing
open Otlp.Tests.Support

/// A request log's state that reads its path when indexed, as ASP.NET Core's HostingRequestStartingLog reads the
/// live HttpRequest (and Microsoft.Extensions.Telemetry's pooled LoggerMessageState is reused): `path ()` gives the
/// path at the time of reading.
type private LiveState(path: unit -> string) =
    interface IReadOnlyList<KeyValuePair<string, obj>> with
        member _.Count = 2
        member _.Item
            with get index =
                match index with
                | 0 -> KeyValuePair("Path", box (path ()))
                | 1 -> KeyValuePair("{OriginalFormat}", box "Request {Path}")
                | _ -> raise (IndexOutOfRangeException())
        member this.GetEnumerator() : IEnumerator<KeyValuePair<string, obj>> =
            (Seq.init 2 (fun i -> (this :> IReadOnlyList<KeyValuePair<string, obj>>)[i])).GetEnumerator()
        member this.GetEnumerator() : IEnumerator =
            ((this :> IEnumerable<KeyValuePair<string, obj>>).GetEnumerator()) :> IEnumerator

/// A handler on the exporter's HttpClient that logs (as a resilience / logging handler added to every client does).
type private LoggingHandler(log: unit -> ILogger) =
    inherit DelegatingHandler(new HttpClientHandler())
    override _.SendAsync(request, token) =
        log().LogInformation("Sending {Method} {Uri}", request.Method, request.RequestUri)
        base.SendAsync(request, token)
    override _.Send(request, token) =
        log().LogInformation("Sending {Method} {Uri}", request.Method, request.RequestUri)
        base.Send(request, token)

let private attr (r: LogRecord) key =
    r.Attributes |> Array.tryFind (fun a -> a.Key = key) |> Option.map (fun a -> a.Value)

[<Tests>]
let tests =
    testSequenced <| testList "Bridge capture" [
        testTask "a log state read lazily is captured at the log call: its values are those of the call, not later ones" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter) |> ignore)
            use _factory = disposing factory
            let logger = factory.CreateLogger("C")
            let holder = ref "/first"
            logger.Log(LogLevel.Information, EventId(0), LiveState(fun () -> holder.Value), null, Func<_, _, _>(fun _ _ -> "Request /first"))
            holder.Value <- "/second"
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let r = receiver.LogRecords[0]
            Expect.equal (attr r "Path") (Some(AnyValue.String "/first")) "the path at the log call"
        }

        testTask "a log state that cannot be read once its request ended is read at the call: no record of the batch is lost" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let factory = LoggerFactory.Create(fun b -> b.AddOtlp(exporter) |> ignore)
            use _factory = disposing factory
            let logger = factory.CreateLogger("C")
            logger.LogInformation("before")
            let disposed = ref false
            logger.Log(LogLevel.Information, EventId(0), LiveState(fun () -> if disposed.Value then raise (ObjectDisposedException "HttpContext") else "/x"), null, Func<_, _, _>(fun _ _ -> "Request /x"))
            disposed.Value <- true
            logger.LogInformation("after")
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let bodies = [ for r in receiver.LogRecords -> r.Body ]
            Expect.isTrue flushed "flushed"
            Expect.equal
                bodies
                [ AnyValue.String "before"; AnyValue.String "Request /x"; AnyValue.String "after" ]
                $"every record of the batch arrives, the one whose state was read at the call too (stats exported={exporter.Statistics.Exported} dropped={exporter.Statistics.Dropped} problems={exporter.Statistics.Problems})"
            let read = receiver.LogRecords[1]
            Expect.equal (attr read "Path") (Some(AnyValue.String "/x")) "its state as it was at the call"
        }

        testTask "ASP.NET Core's 'Request starting' records arrive, each with its own request's path" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            let problems = System.Collections.Concurrent.ConcurrentQueue<string>()
            exporter.Statistics.add_Problem(Action<string>(problems.Enqueue))
            let builder = WebApplication.CreateEmptyBuilder(WebApplicationOptions())
            builder.WebHost.UseKestrelCore() |> ignore
            let mutable listen: ListenOptions = null
            builder.WebHost.ConfigureKestrel(fun k -> k.Listen(IPAddress.Loopback, 0, fun l -> listen <- l)) |> ignore
            builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Information).AddOtlp(exporter) |> ignore
            let app = builder.Build()
            app.Run(RequestDelegate(fun ctx -> ctx.Response.WriteAsync("ok")))
            do! app.StartAsync()
            let client = new HttpClient()
            use _client = disposing client
            for path in [ "/one"; "/two"; "/three" ] do
                let! (_: string) = client.GetStringAsync($"http://127.0.0.1:{listen.IPEndPoint.Port}{path}")
                ()
            do! app.StopAsync()
            let! (flushed: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let starting =
                [ for r in receiver.LogRecords do
                    match r.Body with
                    | AnyValue.String s when s.StartsWith "Request starting" -> yield s, attr r "Path"
                    | _ -> () ]
            let joined = String.Join(" | ", problems)
            Expect.isTrue flushed "flushed"
            Expect.equal (List.length starting) 3 $"three 'Request starting' records (exported={exporter.Statistics.Exported}, dropped={exporter.Statistics.Dropped}, all={receiver.LogRecords.Count}, problems={joined})"
            for body, path in starting do
                let expected = (body.Split(' ')[4]).Replace($"http://127.0.0.1:{listen.IPEndPoint.Port}", "")
                Expect.equal path (Some(AnyValue.String expected)) $"the record '{body}' carries its own path"
        }

        testTask "the exporter's own HTTP requests are not exported when another listener records them" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            use exporter = OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment []).Build()
            // Another tracing library (the OpenTelemetry SDK, an APM agent) recording HttpClient activities.
            let other =
                new ActivityListener(
                    ShouldListenTo = (fun s -> s.Name = "System.Net.Http"),
                    Sample = (fun _ -> ActivitySamplingResult.AllDataAndRecorded),
                    SampleUsingParentId = (fun _ -> ActivitySamplingResult.AllDataAndRecorded))
            ActivitySource.AddActivityListener other
            use _other = disposing other
            let name = $"Test.Capture.{Guid.NewGuid():N}"
            let source = new ActivitySource(name)
            use _source = disposing source
            let tracer = OtlpTracer.Start(exporter, name, "System.Net.Http")
            use _tracer = disposing tracer
            do
                use _ = source.StartActivity("application")
                ()
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            do! Task.Delay 200
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let names = [ for s in receiver.Spans -> s.Name ]
            Expect.equal names [ "application" ] "only the application's span; none for the exporter's own requests"
        }

        testTask "entries logged within the exporter's own requests, whatever their category, are not exported" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let mutable factory: ILoggerFactory = null
            let handler = new LoggingHandler(fun () -> factory.CreateLogger("MyCompany.Http.Logging"))
            use exporter =
                OtlpExporter.ForLogs().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithEnvironment(environment [])
                    .WithHttpClient(new HttpClient(handler)).Build()
            factory <- LoggerFactory.Create(fun b -> b.AddOtlp(exporter) |> ignore)
            use _factory = disposing factory
            factory.CreateLogger("App").LogInformation("application")
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            do! Task.Delay 200
            let! (_: bool) = exporter.ForceFlushAsync(Nullable(TimeSpan.FromSeconds 10.0))
            let bodies = [ for r in receiver.LogRecords -> r.Body ]
            Expect.equal bodies [ AnyValue.String "application" ] "only the application's entry"
        }
    ]

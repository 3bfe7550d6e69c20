/// The exporter's send thread: while the batch loop encodes ahead, its requests are sent blocking, one at a time and
/// in order, on a thread of the exporter's own rather than through the application's thread pool.
module Otlp.Tests.SendThreadTests

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Diagnostics
open System.Threading
open System.Threading.Tasks
open Expecto
open Otlp
open Otlp.Core
open Otlp.Runtime
open Otlp.Testing
open Otlp.Tests.Support
open Otlp.Transport

/// Where a send ran: the payload's first byte, the thread's id and name, and whether it was a pool thread.
type private Seen = { Payload: byte; ThreadId: int; ThreadName: string; Pooled: bool }

/// A transport that sends blocking: it notes each send, holds the first until `firstMayEnd`, and answers 200, or
/// throws `failure` when given.
type private NotingTransport(firstMayEnd: Task, failure: exn option, blocks: bool) =
    let seen = ConcurrentQueue<Seen>()
    let mutable running = 0
    let mutable mostAtOnce = 0

    member _.Seen = List.ofSeq seen
    member _.MostAtOnce = mostAtOnce

    member private _.Send(payload: OutgoingPayload) =
        let now = Interlocked.Increment &running
        mostAtOnce <- max mostAtOnce now
        let current = Thread.CurrentThread
        seen.Enqueue { Payload = payload.Bytes.Span[0]; ThreadId = current.ManagedThreadId; ThreadName = current.Name; Pooled = current.IsThreadPoolThread }
        if seen.Count = 1 then firstMayEnd.Wait()
        Interlocked.Decrement &running |> ignore
        match failure with
        | Some e -> raise e
        | None -> TransportResult.Response(200, false, ReadOnlyMemory.Empty)

    interface IExportTransport with
        member _.Destination = "test"
        member this.SendAsync(payload, _, _) = ValueTask<TransportResult>(this.Send payload)
        member this.TrySendBlocking(payload, _, result) =
            if blocks then
                result <- this.Send payload
                true
            else
                result <- Unchecked.defaultof<TransportResult>
                false
        member _.SendsBlocking = blocks
        member _.Dispose() = ()

let private payload (b: byte) = OutgoingPayload.Of(ReadOnlyMemory [| b |])

/// The name of the thread a task's continuation runs on when it may run where the task completes.
let private continuedOn (send: Task<TransportResult>) =
    send.ContinueWith((fun (_: Task<TransportResult>) -> Thread.CurrentThread.Name), TaskContinuationOptions.ExecuteSynchronously)

/// An HTTP (or gRPC) exporter to `receiver` whose header provider notes the thread each send asks it on.
let private exporterNotingThreads (receiver: LoopbackReceiver) (grpc: bool) (configure: OtlpExporterOptions -> unit) =
    let threads = ConcurrentQueue<string * bool>()
    let provider =
        Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>>(fun _ ->
            threads.Enqueue(Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread)
            ValueTask<IEnumerable<KeyValuePair<string, string>>>(Seq.empty))
    let options (o: OtlpExporterOptions) =
        o.Environment <- Dictionary<string, string>()
        configure o
    let exporter =
        if grpc then OtlpExporter.ForTraces().WithGrpc().WithBaseEndpoint(receiver.GrpcEndpoint.ToString()).WithHeaderProvider(provider).Configure(options).Build()
        else OtlpExporter.ForTraces().WithHttp().WithBaseEndpoint(receiver.HttpEndpoint.ToString()).WithHeaderProvider(provider).Configure(options).Build()
    exporter, threads

let private span (name: string) =
    { Span.Empty with TraceId = { High = 7UL; Low = 8UL }; SpanId = { Value = 9UL }; Name = name }

/// Offers `count` spans one flush after another (each a batch of its own) and the threads the sends were asked on.
let private exportBatches (exporter: OtlpTraceExporter) (threads: ConcurrentQueue<string * bool>) (count: int) =
    task {
        for i in 1..count do
            Expect.isTrue (exporter.Offer(span $"span {i}", InstrumentationScope.create "app" "1")) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
        return List.ofSeq threads
    }

/// Offers `count` stopped activities, as the tracer does (each its own batch, written straight from the activity),
/// and the threads the sends were asked on.
let private exportActivities (exporter: OtlpTraceExporter) (threads: ConcurrentQueue<string * bool>) (count: int) =
    task {
        let source = new ActivitySource($"Test.SendThread.{Guid.NewGuid():N}")
        use _source = disposing source
        let origin, listener = tracedSource source
        use _listener = disposing listener
        for i in 1..count do
            let activity = source.StartActivity $"activity {i}"
            activity.Stop()
            Expect.isTrue (exporter.OfferDeferred(activity, origin)) "offered"
            let! (flushed: bool) = exporter.ForceFlushAsync(TimeSpan.FromSeconds 10.0)
            Expect.isTrue flushed "flushed"
        return List.ofSeq threads
    }

[<Tests>]
let tests =
    testList "Send thread" [
        testTask "sends run one at a time, in the order handed over, on a named thread that is not the pool's, and so do their continuations" {
            let firstMayEnd = TaskCompletionSource()
            let transport = new NotingTransport(firstMayEnd.Task, None, true)
            let sender = new BlockingSendThread("Otlp test send")
            use _sender = disposing sender
            let sends = [ for b in 0uy..4uy -> sender.TrySend(transport, payload b, CancellationToken.None) ]
            let continuations = sends |> List.map continuedOn
            // The first send holds the thread: the others wait their turn behind it.
            let started = Stopwatch.StartNew()
            while transport.Seen.IsEmpty && started.Elapsed < TimeSpan.FromSeconds 10.0 do
                do! Task.Delay 5
            do! Task.Delay 50
            Expect.equal transport.Seen.Length 1 "one send at a time"
            firstMayEnd.SetResult()
            let! (results: TransportResult array) = Task.WhenAll sends
            Expect.isTrue (results |> Array.forall (fun r -> r.Kind = TransportResultKind.Response && r.StatusCode = 200)) "each answered"
            let seen = transport.Seen
            Expect.equal (seen |> List.map _.Payload) [ 0uy..4uy ] "in the order handed over"
            Expect.equal (seen |> List.map _.ThreadId |> List.distinct |> List.length) 1 "on one thread"
            Expect.isFalse (seen |> List.exists _.Pooled) "not a pool thread"
            Expect.equal (seen |> List.map _.ThreadName |> List.distinct) [ "Otlp test send" ] "named"
            Expect.equal transport.MostAtOnce 1 "never two at once"
            let! (names: string array) = Task.WhenAll continuations
            Expect.equal (List.ofArray names |> List.distinct) [ "Otlp test send" ] "a continuation runs where its send ended"
        }

        testTask "once disposed, a send is refused with nothing sent, and one handed over before still ends" {
            let firstMayEnd = TaskCompletionSource()
            let transport = new NotingTransport(firstMayEnd.Task, None, true)
            let sender = new BlockingSendThread("Otlp test send")
            let first = sender.TrySend(transport, payload 1uy, CancellationToken.None)
            let second = sender.TrySend(transport, payload 2uy, CancellationToken.None)
            sender.Dispose()
            Expect.isNull (sender.TrySend(transport, payload 3uy, CancellationToken.None)) "refused"
            firstMayEnd.SetResult()
            let! (_: TransportResult array) = Task.WhenAll [ first; second ]
            Expect.equal (transport.Seen |> List.map _.Payload) [ 1uy; 2uy ] "the sends handed over before, and only those"
        }

        testTask "a transport's exception faults its send's task, and the thread goes on with the next" {
            let broken = new NotingTransport(Task.CompletedTask, Some(InvalidOperationException "a bug"), true)
            let working = new NotingTransport(Task.CompletedTask, None, true)
            let sender = new BlockingSendThread("Otlp test send")
            use _sender = disposing sender
            let failed = sender.TrySend(broken, payload 1uy, CancellationToken.None)
            let next = sender.TrySend(working, payload 2uy, CancellationToken.None)
            let! (thrown: exn option) =
                task {
                    try
                        let! _ = failed
                        return None
                    with e ->
                        return Some e
                }
            Expect.isTrue (match thrown with Some(:? InvalidOperationException) -> true | _ -> false) $"the transport's exception: {thrown}"
            let! (result: TransportResult) = next
            Expect.equal result.StatusCode 200 "the next still sent"
        }

        testTask "a transport that cannot block is still sent, asynchronously, from the thread" {
            let transport = new NotingTransport(Task.CompletedTask, None, false)
            let sender = new BlockingSendThread("Otlp test send")
            use _sender = disposing sender
            let! (result: TransportResult) = sender.TrySend(transport, payload 1uy, CancellationToken.None)
            Expect.equal result.StatusCode 200 "sent"
            Expect.equal (transport.Seen |> List.map _.ThreadName) [ "Otlp test send" ] "from the thread"
        }

        testTask "encoding ahead, the batch loop's HTTP requests are sent by the exporter's send thread, never from the pool" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let exporter, threads = exporterNotingThreads receiver false (fun o -> o.EncodeAhead <- Nullable true)
            // Spans of the model go through the grouped path, activities straight into the request: both hand over.
            let! (seen: (string * bool) list) = exportBatches exporter threads 3
            let! (all: (string * bool) list) = exportActivities exporter threads 3
            do! exporter.DisposeAsync()
            Expect.equal seen [ for _ in 1..3 -> "Otlp traces send", false ] "each span's send on the send thread"
            Expect.equal all [ for _ in 1..6 -> "Otlp traces send", false ] "each activity's too"
            Expect.equal receiver.Spans.Count 6 "delivered"
        }

        testTask "two exports at a time, not encoding ahead (the default over HTTP), or gRPC: the send thread is not used" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            for grpc, configure, case in
                [ false, (fun (o: OtlpExporterOptions) -> o.MaxConcurrentExports <- Nullable 2), "two at a time"
                  false, (fun (o: OtlpExporterOptions) -> o.EncodeAhead <- Nullable false), "not encoding ahead"
                  false, ignore, "the default over HTTP"
                  true, ignore, "gRPC" ] do
                let exporter, threads = exporterNotingThreads receiver grpc configure
                let! (seen: (string * bool) list) = exportBatches exporter threads 2
                do! exporter.DisposeAsync()
                Expect.equal seen.Length 2 $"{case}: asked once a send"
                Expect.isFalse (seen |> List.exists (fun (name, _) -> name = "Otlp traces send")) $"{case}: not the send thread ({seen})"
                if not grpc && case <> "two at a time" then
                    Expect.equal (seen |> List.map fst |> List.distinct) [ "Otlp batch export" ] "the loop's thread, blocking"
            Expect.equal receiver.Spans.Count 8 "all delivered"
        }
    ]

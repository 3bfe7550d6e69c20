/// Every item offered is accounted for: exported, or dropped once under one reason, whatever the server does.
module Otlp.Tests.DropsTests

open System
open System.Collections.Generic
open System.Threading.Tasks
open Expecto
open FsCheck.FSharp
open Otlp
open Otlp.Core
open Otlp.Testing


/// A random script of replies: successes, retryable and permanent failures, partial successes (rejected counts
/// in and out of range), resets, and answers slower than the exporter waits.
let private script (random: Random) (length: int) =
    [| for _ in 1..length ->
           match random.Next 7 with
           | 0 -> Reply.Ok
           | 1 -> Reply.GrpcStatus(Grpc.Core.StatusCode.Unavailable, "busy").WithRetryAfter(TimeSpan.FromMilliseconds 5.0)
           | 2 -> Reply.GrpcStatus(Grpc.Core.StatusCode.InvalidArgument, "no")
           | 3 -> Reply.PartialSuccess(int64 (random.Next(-2, 12)), "some refused")
           | 4 -> Reply.Reset
           | 5 -> Reply.Delay(TimeSpan.FromMilliseconds 400.0)
           | _ -> Reply.Ok |]

[<Tests>]
let tests =
    testSequenced <| testList "Drops are counted" [
        testTask "offered = exported + dropped by reason, under a random script of server faults (seeds 1 to 6)" {
            let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
            use _receiver = receiver
            let reasons = HashSet<string>()
            for seed in 1..6 do
                let random = Random seed
                receiver.Clear()
                receiver.Enqueue(script random 40)
                use exporter =
                    OtlpExporter.ForTraces().WithGrpc().WithBaseEndpoint(receiver.GrpcEndpoint.ToString()).Configure(fun o ->
                        o.Environment <- Dictionary<string, string>()
                        o.Timeout <- Nullable(TimeSpan.FromMilliseconds 200.0)
                        o.BatchExportTimeout <- Nullable(TimeSpan.FromMilliseconds 600.0)
                        o.ScheduledDelay <- Nullable(TimeSpan.FromMilliseconds 5.0)
                        o.MaxQueueSize <- Nullable 20
                        o.MaxExportBatchSize <- Nullable 8
                        // Small requests: batches split, and a large span is too large alone.
                        o.MaxRequestBytes <- Nullable 1024).Build()
                let offered = 30 + random.Next 60
                let spans = Gen.sampleWithSize 40 offered Generators.span
                for i in 1..offered do
                    exporter.Offer(spans[i - 1], InstrumentationScope.Empty) |> ignore
                    if i % 10 = 0 then do! Task.Delay(random.Next 30)
                let! (_: bool) = exporter.ShutdownAsync(TimeSpan.FromSeconds 20.0)
                let s = exporter.Statistics
                let byReason =
                    s.DroppedQueueFull + s.DroppedShutDown + s.DroppedPermanentFailure + s.DroppedRetriesExhausted
                    + s.DroppedDeadlineExceeded + s.RejectedByServer + s.DroppedTooLarge
                let shown =
                    $"seed {seed}: offered {offered}, exported {s.Exported}, queue full {s.DroppedQueueFull}, shut down {s.DroppedShutDown}, "
                    + $"permanent {s.DroppedPermanentFailure}, retries {s.DroppedRetriesExhausted}, deadline {s.DroppedDeadlineExceeded}, "
                    + $"rejected {s.RejectedByServer}, too large {s.DroppedTooLarge}"
                Expect.equal s.Dropped byReason $"Dropped is the sum of its reasons ({shown})"
                Expect.equal (s.Exported + s.Dropped) (int64 offered) $"every item offered is accounted for once ({shown})"
                for name, count in
                    [ "exported", s.Exported; "queue full", s.DroppedQueueFull; "permanent", s.DroppedPermanentFailure
                      "deadline", s.DroppedDeadlineExceeded; "retries", s.DroppedRetriesExhausted; "rejected", s.RejectedByServer
                      "too large", s.DroppedTooLarge; "shut down", s.DroppedShutDown ] do
                    if count > 0L then reasons.Add name |> ignore
            // The scripts reach the paths they are meant to: not a vacuous sum.
            for reason in [ "exported"; "queue full"; "permanent"; "rejected"; "too large" ] do
                Expect.contains reasons reason $"the seeds reach '{reason}' (reached: {List.ofSeq reasons})"
        }
    ]

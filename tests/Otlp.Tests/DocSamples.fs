/// The F# samples of docs/, as written there (their inputs as parameters), so that one that no longer compiles
/// fails the build. Nothing here runs; the C# samples are in tests/Samples.
module Otlp.Tests.DocSamples

open Otlp.Core

/// docs/usage.md, "From F#".
module Usage =
    open Otlp
    open Otlp.Tracing

    let fromFSharp (traceId: TraceId) (spanId: SpanId) (t0: uint64) (t1: uint64) =
        let exporter = OtlpExporter.ForTraces().Build()
        use tracer = OtlpTracer.Start(exporter, "MyCompany.*")
        // ... instrumented code using ActivitySource; or a span built by hand (ids and times are yours):
        let span = { Span.Empty with TraceId = traceId; SpanId = spanId; Name = "by hand"; StartTimeUnixNano = t0; EndTimeUnixNano = t1 }
        exporter.Offer(span, InstrumentationScope.create "MyCompany.Jobs" "1.0.0") |> ignore
        exporter.ForceFlushAsync().Wait()

/// docs/receiver.md, "From F#".
module Receiver =
    open Otlp.Testing

    let fromFSharp () =
        task {
            use! receiver = LoopbackReceiver.StartAsync()
            receiver.Enqueue(Traces, Reply.GrpcStatus(Grpc.Core.StatusCode.Unavailable, "busy"))

            // Configure the code under test with receiver.GrpcEndpoint, then run it.

            let! _spans = receiver.WaitForSpansAsync 3
            for request in receiver.Requests do
                printfn "%O" request // signal, transport, encoding, items and reply; never header values
        }

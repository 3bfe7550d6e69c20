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

/// docs/conformance.md, "A codec's law": compiled as written, and run below with OTLP/JSON as "your" codec.
module Conformance =
    open System
    open Expecto
    open Otlp.Testing

    let config = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<OtlpArbitraries> ] }

    let codecTests (decode: byte array -> 'Mine) (encode: 'Mine -> byte array) =
        testPropertyWithConfig config "reads and writes back every valid trace request" (fun (request: ExportTraceServiceRequest) ->
            let mine = decode (ProtoEncoder.traceRequestToBytes request)
            match ProtoDecoder.traceRequest (ReadOnlyMemory(encode mine)) with
            | Error e -> failwithf "the bytes written back do not decode: %A" e
            | Ok again -> Equivalence.firstDifference request again |> Option.iter failwith)

    let private orFail (result: Result<'a, DecodeError>) =
        match result with
        | Ok value -> value
        | Error e -> failwithf "%A" e

    /// The sample's law, with protobuf read and OTLP/JSON written as the decoder, and the reverse as the encoder.
    [<Tests>]
    let jsonAsYourCodec =
        testList
            "Doc samples: conformance.md, with the JSON codec as the one under test"
            [ codecTests
                  (fun protobuf -> ProtoDecoder.traceRequest (ReadOnlyMemory protobuf) |> orFail |> OtlpJson.traceRequestToBytes)
                  (fun json -> OtlpJson.readTraceRequest (ReadOnlyMemory json) |> orFail |> ProtoEncoder.traceRequestToBytes) ]

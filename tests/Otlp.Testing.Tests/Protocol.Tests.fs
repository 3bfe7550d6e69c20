/// The receiver answers what a real OTLP receiver answers, per the OTLP/HTTP and OTLP/gRPC sections of the
/// protocol specification and the gRPC protocol itself.
module Otlp.Testing.Tests.Protocol

open System
open System.IO
open System.Net
open System.Net.Http
open System.Threading.Tasks
open Expecto
open Grpc.Core
open Otlp.Core
open Otlp.Testing
open Otlp.Testing.Tests.Clients

let private sample = spans [ "a" ]

/// A compression provider under a name the receiver does not know, which leaves the bytes as they are.
type private UnknownEncoding() =
    interface Grpc.Net.Compression.ICompressionProvider with
        member _.EncodingName = "snappy"
        member _.CreateCompressionStream(stream, _) = stream
        member _.CreateDecompressionStream(stream) = stream

let private http =
    [ testTask "Another method on a signal's path is refused with 405" {
          do!
              withReceiver (fun receiver ->
                  task {
                      for signal in [ Traces; Metrics; Logs ] do
                          use! response = http.GetAsync(receiver.HttpUrl signal)
                          Expect.equal response.StatusCode HttpStatusCode.MethodNotAllowed "405"
                          Expect.sequenceEqual response.Content.Headers.Allow [ "POST" ] "Allow: POST, as RFC 9110 requires"

                      use put = new HttpRequestMessage(HttpMethod.Put, receiver.HttpUrl Traces, Content = new ByteArrayContent(sample.Proto))
                      use! response = http.SendAsync put
                      Expect.equal response.StatusCode HttpStatusCode.MethodNotAllowed "405 for PUT too"
                      Expect.isEmpty receiver.Requests "not an OTLP request, so not recorded"
                  })
      }

      testTask "An unknown path is refused with 404" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (Uri(receiver.HttpEndpoint, "v1/profiles")) protobuf "" [] sample.Proto
                      Expect.equal response.StatusCode HttpStatusCode.NotFound "404"
                      // A collector's paths are exact: another letter case or a trailing slash is not a signal's.
                      for near in [ "V1/TRACES"; "v1/Traces"; "v1/traces/"; "v1/logs/" ] do
                          use! response = post http (Uri(receiver.HttpEndpoint, near)) protobuf "" [] sample.Proto
                          Expect.equal response.StatusCode HttpStatusCode.NotFound $"404 for {near}"
                      Expect.isEmpty receiver.Requests "none recorded"
                  })
      }

      testTask "An empty protobuf body is a valid empty request" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Traces) protobuf "" [] [||]
                      Expect.equal response.StatusCode HttpStatusCode.OK "200"
                      Expect.isTrue receiver.Requests[0].Accepted "accepted"
                  })
      }

      test "An informational 1xx status cannot be scripted: it is never a final reply" {
          for status in [ 99; 100; 103; 199; 600 ] do
              Expect.throwsT<ArgumentOutOfRangeException> (fun () -> Reply.HttpStatus status |> ignore) $"{status} is refused"

          for status in [ 200; 302; 599 ] do
              Expect.equal (Reply.HttpStatus status).StatusCode status $"{status} is a reply"
      }

      testTask "A compressed body that decompresses to more than the size limit is refused with 413" {
          do!
              withOptions (LoopbackReceiverOptions().WithMaxRequestBodySize 1000L) (fun receiver ->
                  task {
                      // Logs requests of exactly `size` bytes: a schema URL of the right length.
                      let request size =
                          ProtoEncoder.logsRequestToBytes
                              { ResourceLogs = [| { Resource = Resource.Empty; ScopeLogs = [||]; SchemaUrl = String('a', size - 6) } |] }

                      Expect.equal (request 1000).Length 1000 "a request of 1000 bytes"

                      for encoding, compress in [ "gzip", gzip; "zstd", zstd ] do
                          receiver.Clear()
                          let body = compress (request 1001)
                          Expect.isLessThan body.Length 1000 "the compressed body is under the limit"
                          use! refused = post http (receiver.HttpUrl Logs) protobuf encoding [] body
                          Expect.equal refused.StatusCode HttpStatusCode.RequestEntityTooLarge $"{encoding}: 413"
                          let! status = bodyOf refused
                          let code, message, _ = readStatus status
                          Expect.equal code (int StatusCode.ResourceExhausted) "a google.rpc.Status saying RESOURCE_EXHAUSTED"
                          Expect.stringContains message "1000 bytes" "and why"
                          Expect.isFalse receiver.Requests[0].Accepted "refused"
                          Expect.isNotNull receiver.Requests[0].Error "recorded with the reason"

                          use! accepted = post http (receiver.HttpUrl Logs) protobuf encoding [] (compress (request 1000))
                          Expect.equal accepted.StatusCode HttpStatusCode.OK $"{encoding}: exactly the limit is accepted"
                  })
      }

      testTask "A scripted 204 reaches the client as a 204 without a body" {
          do!
              withReceiver (fun receiver ->
                  task {
                      for asJson in [ false; true ] do
                          receiver.Enqueue(Reply.HttpStatus 204)
                          use! response = postSample http receiver asJson sample
                          Expect.equal response.StatusCode HttpStatusCode.NoContent "204"
                          let! body = bodyOf response
                          Expect.isEmpty body "no body"
                  })
      } ]

let private grpc =
    [ testTask "A gRPC message in an unknown encoding fails with UNIMPLEMENTED" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let options = Grpc.Net.Client.GrpcChannelOptions()
                      options.CompressionProviders <- [| UnknownEncoding() |]
                      use channel = Grpc.Net.Client.GrpcChannel.ForAddress(receiver.GrpcEndpoint, options)
                      let metadata = Metadata()
                      metadata.Add("grpc-internal-encoding-request", "snappy")
                      let call = channel.CreateCallInvoker().AsyncUnaryCall(exportMethod Traces, null, CallOptions(metadata), sample.Proto)
                      let! error = throwsT<RpcException> (fun () -> call.ResponseAsync :> Task) "refused"
                      Expect.equal error.StatusCode StatusCode.Unimplemented "UNIMPLEMENTED"
                  })
      }

      testTask "An unknown gRPC method fails with UNIMPLEMENTED" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use channel = channel receiver null
                      let m = Method<byte array, byte array>(MethodType.Unary, serviceName Traces, "Other", Marshallers.Create(id, id), Marshallers.Create(id, id))
                      let call = channel.CreateCallInvoker().AsyncUnaryCall(m, null, CallOptions(), sample.Proto)
                      let! error = throwsT<RpcException> (fun () -> call.ResponseAsync :> Task) "refused"
                      Expect.equal error.StatusCode StatusCode.Unimplemented "UNIMPLEMENTED"
                  })
      }

      testTask "A gRPC message over the size limit fails with RESOURCE_EXHAUSTED" {
          do!
              withOptions (LoopbackReceiverOptions().WithMaxRequestBodySize 1000L) (fun receiver ->
                  task {
                      use channel = channel receiver null
                      let call = export channel Logs "" [] (Array.zeroCreate 1001)
                      let! error = throwsT<RpcException> (fun () -> call.ResponseAsync :> Task) "refused"
                      Expect.equal error.StatusCode StatusCode.ResourceExhausted "RESOURCE_EXHAUSTED"
                      Expect.isEmpty receiver.Requests "not recorded"

                      // The limit is on the message, as gRPC's own limit: the 5-byte prefix does not count.
                      let atLimit =
                          ProtoEncoder.logsRequestToBytes
                              { ResourceLogs = [| { Resource = Resource.Empty; ScopeLogs = [||]; SchemaUrl = String('a', 994) } |] }

                      Expect.equal atLimit.Length 1000 "a message of 1000 bytes"
                      let! _ = (export channel Logs "" [] atLimit).ResponseAsync
                      Expect.equal receiver.Requests.Count 1 "a message of exactly the limit is served"
                  })
      } ]

let private endpoints =
    [ testTask "OTLP/HTTP sent to the gRPC endpoint is refused with 415, as a gRPC server refuses what is not gRPC" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use client = new HttpClient()
                      use request = http2Post (Uri(receiver.GrpcEndpoint, "v1/traces")) protobuf sample.Proto
                      use! response = client.SendAsync request
                      Expect.equal response.StatusCode HttpStatusCode.UnsupportedMediaType "415"
                      Expect.isEmpty receiver.Requests "not an OTLP/gRPC request, so not recorded"
                  })
      } ]

let private lifetime =
    [ testTask "Under many parallel requests each scripted reply is consumed exactly once" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue [| for _ in 1..60 -> Reply.HttpStatus 503 |]
                      use grpc = channel receiver null

                      let send i =
                          task {
                              if i % 2 = 0 then
                                  use! response = postSample Clients.http receiver (i % 4 = 0) (spans [ string i ])
                                  return response.StatusCode = HttpStatusCode.OK
                              else
                                  try
                                      let! _ = (export grpc Traces "" [] (spans [ string i ]).Proto).ResponseAsync
                                      return true
                                  with :? RpcException as e when e.StatusCode = StatusCode.Unavailable ->
                                      return false
                          }

                      let! outcomes = Task.WhenAll [ for i in 0..199 -> send i ]
                      Expect.equal (outcomes |> Array.filter not |> Array.length) 60 "60 requests got the 503"
                      Expect.equal receiver.PendingReplies 0 "every scripted reply was used"
                      let requests = receiver.Requests
                      Expect.equal [ for r in requests -> r.Index ] [ 0..199 ] "each request recorded once, in order"
                      Expect.equal (requests |> Seq.filter _.Accepted |> Seq.length) 140 "the others were accepted"
                      Expect.equal receiver.Spans.Count 140 "with their spans"
                  })
      }

      testTask "Disposing twice is harmless and frees both ports for a new receiver" {
          let! (first: LoopbackReceiver) = LoopbackReceiver.StartAsync()
          let grpcPort, httpPort = first.GrpcEndpoint.Port, first.HttpEndpoint.Port
          do! first.DisposeAsync()
          do! first.DisposeAsync()
          (first :> IDisposable).Dispose()

          do!
              withOptions (LoopbackReceiverOptions().WithPorts(grpcPort, httpPort)) (fun second ->
                  task {
                      Expect.equal second.GrpcEndpoint.Port grpcPort "the same gRPC port"
                      use! response = postSample Clients.http second false sample
                      Expect.equal response.StatusCode HttpStatusCode.OK "the new receiver serves"
                  })
      } ]

[<Tests>]
let tests =
    testList "Receiver protocol" [ testList "HTTP" http; testList "gRPC" grpc; testList "endpoints" endpoints; testList "lifetime" lifetime ]

/// TLS with a generated server certificate, and mutual TLS with a client certificate.
module Otlp.Testing.Tests.Tls

open System
open System.Net
open System.Net.Http
open System.Security.Cryptography.X509Certificates
open System.Threading.Tasks
open Expecto
open Otlp.Core
open Otlp.Testing
open Otlp.Testing.Tests.Clients

let private serverCertificate = lazy (certificate "otlp-receiver" true)
let private clientCertificate = lazy (certificate "otlp-exporter" false)
let private strangerCertificate = lazy (certificate "stranger" false)

let private sample = spans [ "secure" ]

[<Tests>]
let tests =
    testList
        "Receiver TLS"
        [ testTask "With a server certificate both endpoints are https and serve HTTP and gRPC" {
              let server = serverCertificate.Force()

              do!
                  withOptions (LoopbackReceiverOptions().WithServerCertificate server) (fun receiver ->
                      task {
                          Expect.equal receiver.HttpEndpoint.Scheme "https" "https"
                          Expect.equal receiver.GrpcEndpoint.Scheme "https" "https"
                          use client = new HttpClient(tlsHandler server null)
                          use! response = postSample client receiver false sample
                          Expect.equal response.StatusCode HttpStatusCode.OK "HTTP over TLS"
                          use channel = channel receiver (tlsHandler server null)
                          let! _ = (export channel Traces "" [] sample.Proto).ResponseAsync
                          use request = http2Post (receiver.HttpUrl Traces) protobuf sample.Proto
                          use! http2 = client.SendAsync request
                          Expect.equal http2.Version HttpVersion.Version20 "OTLP/HTTP over HTTP/2 with TLS"
                          Expect.equal http2.StatusCode HttpStatusCode.OK "accepted"
                          Expect.equal receiver.Spans.Count 3 "all arrived"
                          Expect.isNull receiver.Requests[0].ClientCertificate "no client certificate was asked for"
                      })
          }

          testTask "A gRPC call to the HTTP endpoint fails with UNIMPLEMENTED, even over HTTP/2 with TLS" {
              let server = serverCertificate.Force()

              do!
                  withOptions (LoopbackReceiverOptions().WithServerCertificate server) (fun receiver ->
                      task {
                          let options = Grpc.Net.Client.GrpcChannelOptions(HttpHandler = tlsHandler server null)
                          use wrong = Grpc.Net.Client.GrpcChannel.ForAddress(receiver.HttpEndpoint, options)
                          let call = wrong.CreateCallInvoker().AsyncUnaryCall(exportMethod Traces, null, Grpc.Core.CallOptions(), sample.Proto)
                          let! error = throwsT<Grpc.Core.RpcException> (fun () -> call.ResponseAsync :> Task) "refused"
                          Expect.equal error.StatusCode Grpc.Core.StatusCode.Unimplemented "UNIMPLEMENTED, as from a collector's HTTP port"
                          Expect.isEmpty receiver.Requests "not recorded"
                      })
          }

          testTask "A plain-text client cannot talk to a TLS receiver" {
              do!
                  withOptions (LoopbackReceiverOptions().WithServerCertificate(serverCertificate.Force())) (fun receiver ->
                      task {
                          let plain = UriBuilder(receiver.HttpUrl Traces, Scheme = "http").Uri
                          use client = new HttpClient()

                          let! _ =
                              throwsT<HttpRequestException> (fun () -> post client plain protobuf "" [] sample.Proto :> Task)
                                  "refused"

                          Expect.isEmpty receiver.Requests "nothing was received"
                      })
          }

          testTask "With mutual TLS a trusted client certificate is accepted and recorded" {
              let server = serverCertificate.Force()
              let client = clientCertificate.Force()

              let options =
                  LoopbackReceiverOptions()
                      .WithServerCertificate(server)
                      .WithClientCertificateValidation(fun presented _ _ -> presented.Thumbprint = client.Thumbprint)

              do!
                  withOptions options (fun receiver ->
                      task {
                          use http = new HttpClient(tlsHandler server client)
                          use! response = postSample http receiver true sample
                          Expect.equal response.StatusCode HttpStatusCode.OK "accepted"
                          use channel = channel receiver (tlsHandler server client)
                          let! _ = (export channel Traces "" [] sample.Proto).ResponseAsync
                          Expect.equal receiver.Requests.Count 2 "both requests were recorded"

                          for request in receiver.Requests do
                              Expect.equal request.ClientCertificate.Thumbprint client.Thumbprint "the client certificate is kept"
                      })
          }

          testTask "With mutual TLS a client without a certificate or with an untrusted one is refused" {
              let server = serverCertificate.Force()
              let client = clientCertificate.Force()

              let options =
                  LoopbackReceiverOptions()
                      .WithServerCertificate(server)
                      .WithClientCertificateValidation(fun presented _ _ -> presented.Thumbprint = client.Thumbprint)

              do!
                  withOptions options (fun receiver ->
                      task {
                          for presented in [ null; strangerCertificate.Force() ] do
                              use http = new HttpClient(tlsHandler server presented)

                              let! _ =
                                  throwsT<HttpRequestException> (fun () -> postSample http receiver false sample :> Task)
                                      "refused during the handshake"

                              ()

                          Expect.isEmpty receiver.Requests "nothing was received"
                      })
          }

          test "Client certificates without a server certificate are refused up front" {
              let options =
                  LoopbackReceiverOptions().WithClientCertificateValidation(fun _ _ _ -> true)

              Expect.throws (fun () -> LoopbackReceiver.StartAsync(options).GetAwaiter().GetResult() |> ignore) "no TLS"
          } ]

/// Requests of every signal over every transport arrive, decode to what was sent, and are kept for assertions.
module Otlp.Testing.Tests.Transport

open System
open System.Net
open System.Threading
open System.Threading.Tasks
open Expecto
open Grpc.Core
open Otlp.Core
open Otlp.Testing
open Otlp.Testing.Tests.Clients

let private signals = [ Traces; Metrics; Logs ]

let private expectDecodedAsSent (received: ReceivedRequest) (sample: Sample) =
    Expect.isNull received.Error "the request decoded"
    Expect.equal received.Signal sample.Signal "the signal is the endpoint's"
    Expect.equal (reencoded received) sample.Proto "the decoded request is the one sent"

let private roundTrips =
    [ for signal in signals do
          testTask $"{signal} requests sent over gRPC arrive decoded as they were sent" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          use grpc = channel receiver null
                          let sent = samples signal 3

                          for sample in sent do
                              let! response = (export grpc signal "" [] sample.Proto).ResponseAsync
                              Expect.isEmpty response "an OK reply has an empty response"

                          let received = receiver.Requests
                          Expect.equal received.Count sent.Length "every request is kept"

                          for request, sample in Seq.zip received sent do
                              expectDecodedAsSent request sample
                              Expect.equal request.Transport Transport.Grpc "the transport is gRPC"
                              Expect.equal request.Path $"/{serviceName signal}/Export" "the path is the method's"
                              Expect.isTrue request.Accepted "an OK reply accepts the request"
                              Expect.equal request.Payload sample.Proto "the payload is the message"
                              Expect.equal request.Body (grpcFrame sample.Proto) "the body is the framed message"
                      })
          }

          testTask $"{signal} requests posted as protobuf arrive decoded and get a protobuf response" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          let sent = samples signal 3

                          for sample in sent do
                              use! response = postSample http receiver false sample
                              Expect.equal response.StatusCode HttpStatusCode.OK "200"
                              Expect.equal (string response.Content.Headers.ContentType) protobuf "protobuf reply"
                              let! body = bodyOf response
                              Expect.isEmpty body "full success is an empty message"

                          Expect.equal receiver.Requests.Count sent.Length "every request was recorded"

                          for request, sample in Seq.zip receiver.Requests sent do
                              expectDecodedAsSent request sample
                              Expect.equal request.Transport Transport.HttpProtobuf "HTTP with protobuf"
                              Expect.equal request.Body sample.Proto "the body is kept as sent"
                      })
          }

          testTask $"{signal} requests posted as JSON arrive decoded and get a JSON response" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          let sent = samples signal 3

                          for sample in sent do
                              use! response = postSample http receiver true sample
                              Expect.equal response.StatusCode HttpStatusCode.OK "200"
                              Expect.equal (string response.Content.Headers.ContentType) json "JSON reply"
                              let! body = bodyOf response
                              Expect.equal (Text.Encoding.UTF8.GetString body) "{}" "full success is an empty object"

                          Expect.equal receiver.Requests.Count sent.Length "every request was recorded"

                          for request, sample in Seq.zip receiver.Requests sent do
                              expectDecodedAsSent request sample
                              Expect.equal request.Transport Transport.HttpJson "HTTP with JSON"
                              Expect.equal request.Payload sample.Json "the payload is the JSON sent"
                      })
          } ]

let private compression =
    [ for encoding, compress in [ "gzip", gzip; "zstd", zstd ] do
          testTask $"HTTP bodies compressed with {encoding} are decompressed and the raw body is kept" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          let sample = (samples Metrics 1)[0]
                          let compressed = compress sample.Proto
                          use! response = post http (receiver.HttpUrl Metrics) protobuf encoding [] compressed
                          Expect.equal response.StatusCode HttpStatusCode.OK "200"
                          let request = receiver.Requests[0]
                          Expect.equal request.ContentEncoding encoding "the encoding is kept"
                          Expect.equal request.Body compressed "the body as received"
                          Expect.equal request.Payload sample.Proto "the payload decompressed"
                          expectDecodedAsSent request sample
                      })
          }

          testTask $"gRPC messages compressed with {encoding} are decompressed and the raw body is kept" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          use grpc = channel receiver null
                          let sample = (samples Logs 1)[0]
                          let! _ = (export grpc Logs encoding [] sample.Proto).ResponseAsync
                          let request = receiver.Requests[0]
                          Expect.equal request.ContentEncoding encoding "grpc-encoding is kept"
                          Expect.equal request.Body[0] 1uy "the compressed flag of the frame is set"
                          Expect.equal request.Payload sample.Proto "the payload decompressed"
                          expectDecodedAsSent request sample
                      })
          }

      testTask "A JSON body compressed with gzip is decompressed" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let sample = (samples Traces 1)[0]
                      use! response = post http (receiver.HttpUrl Traces) json "gzip" [] (gzip sample.Json)
                      Expect.equal response.StatusCode HttpStatusCode.OK "200"
                      expectDecodedAsSent receiver.Requests[0] sample
                  })
      } ]

let private refusals =
    [ testTask "Another content type is refused with 415 and kept with its reason" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Traces) "text/plain" "" [] "hello"B
                      Expect.equal response.StatusCode HttpStatusCode.UnsupportedMediaType "415"
                      let request = receiver.Requests[0]
                      Expect.stringContains request.Error "text/plain" "the reason names the content type"
                      Expect.isFalse request.Accepted "not accepted"
                  })
      }

      testTask "An undecodable protobuf body is refused with 400 and a google.rpc.Status saying why" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.HttpStatus 503)
                      use! response = post http (receiver.HttpUrl Logs) protobuf "" [] [| 0x0Auy; 0xFFuy |]
                      Expect.equal response.StatusCode HttpStatusCode.BadRequest "400"
                      let! body = bodyOf response
                      let code, message, _ = readStatus body
                      Expect.equal code (int StatusCode.InvalidArgument) "INVALID_ARGUMENT in the status"
                      Expect.stringContains message "ExportLogsServiceRequest" "the message says what could not be decoded"
                      Expect.isNotNull receiver.Requests[0].Error "the request is kept with its error"
                      Expect.equal receiver.PendingReplies 1 "a refused request consumes no scripted reply"
                  })
      }

      testTask "An undecodable JSON body is refused with 400 and a JSON status" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Metrics) json "" [] "{\"resourceMetrics\":"B
                      Expect.equal response.StatusCode HttpStatusCode.BadRequest "400"
                      let! body = response.Content.ReadAsStringAsync()
                      Expect.stringContains body "\"code\":3" "INVALID_ARGUMENT in the JSON status"
                  })
      }

      testTask "A body that is not really gzip is refused with 400" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Traces) protobuf "gzip" [] [| 1uy; 2uy; 3uy |]
                      Expect.equal response.StatusCode HttpStatusCode.BadRequest "400"
                      Expect.stringContains receiver.Requests[0].Error "gzip" "the reason names the encoding"
                  })
      }

      testTask "An unknown content encoding is refused with 400" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Traces) protobuf "br" [] [||]
                      Expect.equal response.StatusCode HttpStatusCode.BadRequest "400"
                      Expect.stringContains receiver.Requests[0].Error "'br'" "the reason names the encoding"
                  })
      }

      testTask "An undecodable gRPC message fails with INVALID_ARGUMENT" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use grpc = channel receiver null

                      let! error =
                          throwsT<RpcException> (fun () ->
                              (export grpc Traces "" [] [| 0x0Auy; 0x05uy; 1uy |]).ResponseAsync :> Task)
                              "the call fails"

                      Expect.equal error.StatusCode StatusCode.InvalidArgument "INVALID_ARGUMENT"
                      Expect.stringContains error.Status.Detail "ExportTraceServiceRequest" "the message says what could not be decoded"
                      Expect.equal receiver.Requests.Count 1 "the request is kept"
                  })
      } ]

let private recording =
    [ testTask "Every header is kept, so that tests can check authorization and user agent" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let headers = [ "Authorization", "Bearer secret-token"; "User-Agent", "my-exporter/1.2" ]
                      use! _ = post http (receiver.HttpUrl Traces) protobuf "" headers (spans [ "a" ]).Proto
                      use grpc = channel receiver null
                      let! _ = (export grpc Traces "" [ "api-key", "k-123" ] (spans [ "b" ]).Proto).ResponseAsync
                      let httpRequest, grpcRequest = receiver.Requests[0], receiver.Requests[1]
                      Expect.equal (httpRequest.Header "authorization") "Bearer secret-token" "names are case-insensitive"
                      Expect.equal httpRequest.Headers["User-Agent"] "my-exporter/1.2" "user agent"
                      Expect.equal (grpcRequest.Header "api-key") "k-123" "gRPC metadata is kept"
                      Expect.stringStarts (grpcRequest.Header "content-type") "application/grpc" "gRPC content type"
                      Expect.isNull (httpRequest.Header "x-absent") "an absent header is null"
                  })
      }

      testTask "The receiver starts no server activities, so a tracer in the same process does not record its requests" {
          let serverActivities = System.Collections.Concurrent.ConcurrentQueue<string>()
          let listener =
              new System.Diagnostics.ActivityListener(
                  ShouldListenTo = (fun _ -> true),
                  Sample = (fun _ -> System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded),
                  ActivityStarted =
                      fun activity ->
                          if activity.Kind = System.Diagnostics.ActivityKind.Server then
                              serverActivities.Enqueue activity.OperationName
              )

          System.Diagnostics.ActivitySource.AddActivityListener listener
          // A subscriber to ASP.NET Core's diagnostic listener makes a host start activities without an ActivitySource.
          let subscription =
              System.Diagnostics.DiagnosticListener.AllListeners.Subscribe(
                  { new IObserver<System.Diagnostics.DiagnosticListener> with
                      member _.OnNext listener =
                          if listener.Name = "Microsoft.AspNetCore" then
                              listener.Subscribe(
                                  { new IObserver<Collections.Generic.KeyValuePair<string, obj>> with
                                      member _.OnNext _ = ()
                                      member _.OnError _ = ()
                                      member _.OnCompleted() = () }
                              )
                              |> ignore

                      member _.OnError _ = ()
                      member _.OnCompleted() = () }
              )

          try
              do!
                  withReceiver (fun receiver ->
                      task {
                          use! _ = post http (receiver.HttpUrl Traces) protobuf "" [] (spans [ "a" ]).Proto
                          use grpc = channel receiver null
                          let! _ = (export grpc Traces "" [] (spans [ "b" ]).Proto).ResponseAsync
                          Expect.equal receiver.Requests.Count 2 "both requests arrived"
                      })
          finally
              subscription.Dispose()
              listener.Dispose()

          Expect.isEmpty (List.ofSeq serverActivities) "no server activity was started"
      }

      testTask "Descriptions of requests never show header values" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let headers = [ "Authorization", "Bearer hidden-value" ]
                      use! _ = post http (receiver.HttpUrl Traces) "text/plain" "" headers [||]
                      Expect.isFalse ((string receiver.Requests[0]).Contains "hidden-value") "ToString"

                      let! error =
                          throwsT<TimeoutException> (fun () ->
                              receiver.WaitForSpansAsync(1, TimeSpan.FromMilliseconds 50.0) :> Task)
                              "the wait times out"

                      Expect.isFalse (error.Message.Contains "hidden-value") "timeout message"
                  })
      }

      testTask "Spans, metrics and log records are flattened across requests and transports" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use grpc = channel receiver null
                      let! _ = (export grpc Traces "" [] (spans [ "a"; "b" ]).Proto).ResponseAsync
                      use! _ = postSample http receiver true (spans [ "c" ])
                      use! _ = postSample http receiver false (gauge 4)
                      let! _ = (export grpc Metrics "" [] (gauge 2).Proto).ResponseAsync
                      use! _ = postSample http receiver false (logs [ "x"; "y"; "z" ])
                      Expect.equal [ for s in receiver.Spans -> s.Name ] [ "a"; "b"; "c" ] "spans in arrival order"
                      Expect.equal receiver.Metrics.Count 2 "two metrics"
                      Expect.equal receiver.MetricDataPointCount 6 "six data points"

                      Expect.equal
                          [ for r in receiver.LogRecords -> r.Body ]
                          [ AnyValue.String "x"; AnyValue.String "y"; AnyValue.String "z" ]
                          "log records"

                      Expect.equal [ for r in receiver.Requests -> r.ItemCount ] [ 2; 1; 4; 2; 3 ] "items per request"
                      receiver.Clear()
                      Expect.isEmpty receiver.Requests "Clear forgets the requests"
                      Expect.isEmpty receiver.Spans "and their spans"
                  })
      }

      testTask "Waits complete as soon as enough has arrived" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let waitSpans = receiver.WaitForSpansAsync(3, TimeSpan.FromSeconds 10.0)
                      let waitPoints = receiver.WaitForMetricDataPointsAsync(2, TimeSpan.FromSeconds 10.0)
                      let waitLogs = receiver.WaitForLogRecordsAsync(1, TimeSpan.FromSeconds 10.0)
                      let waitRequests = receiver.WaitForRequestsAsync(4, TimeSpan.FromSeconds 10.0)
                      Expect.isFalse waitSpans.IsCompleted "nothing arrived yet"
                      use! _ = postSample http receiver false (spans [ "a"; "b" ])
                      Expect.isFalse waitSpans.IsCompleted "two spans are not three"
                      use! _ = postSample http receiver false (spans [ "c" ])
                      use! _ = postSample http receiver false (gauge 2)
                      use! _ = postSample http receiver true (logs [ "x" ])
                      let! all = waitSpans
                      Expect.equal all.Count 3 "three spans"
                      let! metrics = waitPoints
                      Expect.equal metrics.Count 1 "one metric"
                      let! records = waitLogs
                      Expect.equal records.Count 1 "one record"
                      let! requests = waitRequests
                      Expect.equal requests.Count 4 "four requests"
                      let! again = receiver.WaitForSpansAsync 3
                      Expect.equal again.Count 3 "an already satisfied wait completes at once"
                  })
      }

      testTask "A wait that times out says what it waited for and lists what did arrive" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use! _ = postSample http receiver false (spans [ "only" ])
                      use! _ = post http (receiver.HttpUrl Logs) "text/plain" "" [] [||]

                      let! error =
                          throwsT<TimeoutException> (fun () ->
                              receiver.WaitForSpansAsync(5, TimeSpan.FromMilliseconds 200.0) :> Task)
                              "the wait times out"

                      Expect.stringContains error.Message "5 spans but got 1" "what was expected and what came"
                      Expect.stringContains error.Message "2 requests arrived" "how many requests"
                      Expect.stringContains error.Message "#1 Logs" "each request is listed"
                      Expect.stringContains error.Message "text/plain" "with the reason it was refused"
                  })
      }

      testTask "A wait on an idle receiver times out saying that nothing arrived" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let! error =
                          throwsT<TimeoutException> (fun () ->
                              receiver.WaitForLogRecordsAsync(1, TimeSpan.FromMilliseconds 100.0) :> Task)
                              "the wait times out"

                      Expect.stringContains error.Message "no request arrived" "nothing arrived"
                      Expect.stringContains error.Message (string receiver.HttpEndpoint) "where it listened"
                  })
      }

      testTask "A wait ends with OperationCanceledException when its token is cancelled" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds 100.0)

                      let! _ =
                          throwsT<OperationCanceledException> (fun () ->
                              receiver.WaitForRequestsAsync(1, TimeSpan.FromSeconds 30.0, cancellation.Token) :> Task)
                              "the wait is cancelled"

                      ()
                  })
      }

      testTask "The F# example of docs/receiver.md works as written" {
          // A plain task, as in the example: `use!` disposes the receiver at the end.
          do!
              task {
                  use! receiver = LoopbackReceiver.StartAsync()
                  receiver.Enqueue(Traces, Reply.GrpcStatus(StatusCode.Unavailable, "busy"))
                  use grpc = channel receiver null
                  let send names = (export grpc Traces "" [] (spans names).Proto).ResponseAsync :> Task
                  let! refused = throwsT<RpcException> (fun () -> send [ "a" ]) "the scripted error"
                  Expect.equal refused.StatusCode StatusCode.Unavailable "UNAVAILABLE as scripted"
                  do! send [ "a"; "b"; "c" ]
                  let! all = receiver.WaitForSpansAsync 3
                  Expect.equal [ for s in all -> s.Name ] [ "a"; "b"; "c" ] "only the accepted retry counts"
                  Expect.equal receiver.Requests.Count 2 "both attempts are recorded"
              }
      }

      testTask "Concurrent requests are all recorded, each with its own index" {
          do!
              withReceiver (fun receiver ->
                  task {
                      use grpc = channel receiver null

                      let sends =
                          [ for i in 0..19 ->
                                if i % 2 = 0 then
                                    task {
                                        use! response = postSample http receiver (i % 4 = 0) (spans [ string i ])
                                        Expect.equal response.StatusCode HttpStatusCode.OK "200"
                                    }
                                else
                                    task {
                                        let! _ = (export grpc Traces "" [] (spans [ string i ]).Proto).ResponseAsync
                                        ()
                                    } ]

                      let! _ = Task.WhenAll sends
                      let requests = receiver.Requests
                      Expect.equal [ for r in requests -> r.Index ] [ 0..19 ] "indices follow arrival order"
                      Expect.equal (set [ for s in receiver.Spans -> s.Name ]) (set [ for i in 0..19 -> string i ]) "every span"
                  })
      }

      testTask "A body over the size limit is refused with 413 and not recorded" {
          do!
              withOptions (LoopbackReceiverOptions().WithMaxRequestBodySize 1000L) (fun receiver ->
                  task {
                      use! response = post http (receiver.HttpUrl Logs) protobuf "" [] (Array.zeroCreate 5000)
                      Expect.equal response.StatusCode HttpStatusCode.RequestEntityTooLarge "413"
                      let! body = bodyOf response
                      let code, message, _ = readStatus body
                      Expect.equal code (int StatusCode.ResourceExhausted) "a google.rpc.Status saying RESOURCE_EXHAUSTED"
                      Expect.stringContains message "1000 bytes" "and why"
                      use! overJson = post http (receiver.HttpUrl Logs) json "" [] (Array.create 5000 (byte ' '))
                      Expect.equal overJson.StatusCode HttpStatusCode.RequestEntityTooLarge "413 over JSON too"
                      let! text = overJson.Content.ReadAsStringAsync()
                      Expect.stringContains text "\"code\":8" "RESOURCE_EXHAUSTED in a JSON status"
                      Expect.isEmpty receiver.Requests "not recorded"
                  })
      }

      testTask "Two receivers listen on distinct free ports of 127.0.0.1" {
          do!
              withReceiver (fun first ->
                  withReceiver (fun second ->
                      task {
                          let ports =
                              [ first.GrpcEndpoint; first.HttpEndpoint; second.GrpcEndpoint; second.HttpEndpoint ]
                              |> List.map _.Port

                          Expect.equal (List.distinct ports).Length 4 "four distinct ports"

                          for uri in [ first.GrpcEndpoint; first.HttpEndpoint ] do
                              Expect.equal uri.Host "127.0.0.1" "loopback only"
                              Expect.equal uri.Scheme "http" "plain text without a certificate"
                      }))
      } ]

[<Tests>]
let tests =
    testList "Receiver transports" (roundTrips @ compression @ refusals @ recording)

/// Scripted replies are observed by clients exactly as scripted, on HTTP and on gRPC.
module Otlp.Testing.Tests.Faults

open System
open System.Diagnostics
open System.Net
open System.Net.Http
open System.Threading
open System.Threading.Tasks
open Expecto
open Grpc.Core
open Otlp.Core
open Otlp.Testing
open Otlp.Testing.Tests.Clients

let private sample = spans [ "s" ]

let private grpcFails (grpc: Grpc.Net.Client.GrpcChannel) =
    throwsT<RpcException> (fun () -> (export grpc Traces "" [] sample.Proto).ResponseAsync :> Task) "the call fails"

let private http =
    [ testTask "An HTTP status with Retry-After in seconds reaches the client with a google.rpc.Status body" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds 1.5))
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.ServiceUnavailable "503"
                      Expect.equal (response.Headers.RetryAfter.Delta) (Nullable(TimeSpan.FromSeconds 2.0)) "rounded up"
                      let! body = bodyOf response
                      let code, _, _ = readStatus body
                      Expect.equal code (int StatusCode.Unavailable) "the status code is UNAVAILABLE"
                      Expect.isEmpty receiver.Spans "a refused request feeds no span"
                      Expect.isFalse receiver.Requests[0].Accepted "and is not accepted"
                  })
      }

      testTask "An HTTP status with Retry-After as an HTTP-date reaches the client" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let date = DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero)
                      receiver.Enqueue(Reply.HttpStatus(429).WithRetryAfter(date))
                      use! response = postSample Clients.http receiver true sample
                      Expect.equal response.StatusCode HttpStatusCode.TooManyRequests "429"
                      Expect.equal (response.Headers.GetValues "Retry-After" |> Seq.head) "Wed, 02 Jan 2030 03:04:05 GMT" "HTTP-date"
                      let! body = response.Content.ReadAsStringAsync()
                      Expect.stringContains body "\"code\":14" "a JSON status for a JSON request"
                  })
      }

      testTask "An HTTP status with a given body sends that body" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.HttpStatus(500).WithBody("oops"B, "text/plain"))
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.InternalServerError "500"
                      let! body = response.Content.ReadAsStringAsync()
                      Expect.equal body "oops" "the body"
                      Expect.equal (string response.Content.Headers.ContentType) "text/plain" "its content type"
                  })
      }

      testTask "A gRPC status scripted for an HTTP request is sent as its HTTP status, with Retry-After" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.GrpcStatus(StatusCode.ResourceExhausted, "slow down").WithRetryAfter(TimeSpan.FromSeconds 3.0))
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.TooManyRequests "RESOURCE_EXHAUSTED is 429"
                      Expect.equal response.Headers.RetryAfter.Delta (Nullable(TimeSpan.FromSeconds 3.0)) "Retry-After"
                      let! body = bodyOf response
                      let code, message, delay = readStatus body
                      Expect.equal code (int StatusCode.ResourceExhausted) "the code"
                      Expect.equal message "slow down" "the message"
                      Expect.equal delay (Some(TimeSpan.FromSeconds 3.0)) "the RetryInfo"
                  })
      }

      testTask "A partial success is sent as a protobuf or JSON response" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.PartialSuccess(2L, "two dropped"), Reply.PartialSuccess(0L, "a warning"))
                      use! response = postSample Clients.http receiver false sample
                      let! body = bodyOf response
                      let decoded = ProtoDecoder.traceResponse (ReadOnlyMemory body)
                      Expect.equal decoded (Ok { PartialSuccess = { Rejected = 2L; ErrorMessage = "two dropped" } }) "protobuf"
                      use! response = postSample Clients.http receiver true sample
                      let! body = bodyOf response
                      let decoded = OtlpJson.readTraceResponse (ReadOnlyMemory body)
                      Expect.equal decoded (Ok { PartialSuccess = { Rejected = 0L; ErrorMessage = "a warning" } }) "JSON"
                      Expect.equal receiver.Spans.Count 2 "a partial success still accepts the request"
                  })
      }

      testTask "Garbage is a 200 whose body is neither a protobuf nor a JSON response" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Garbage(), Reply.Garbage 10)
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.OK "200"
                      let! body = bodyOf response
                      Expect.equal body.Length 64 "64 bytes by default"
                      Expect.isError (ProtoDecoder.traceResponse (ReadOnlyMemory body)) "not protobuf"
                      use! response = postSample Clients.http receiver true sample
                      let! body = bodyOf response
                      Expect.equal body.Length 10 "the length asked for"
                      Expect.isError (OtlpJson.readTraceResponse (ReadOnlyMemory body)) "not JSON"
                  })
      }

      testTask "An oversized reply is a valid response of at least the size asked for" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Oversized 100_000, Reply.Oversized 50_000)
                      use! response = postSample Clients.http receiver false sample
                      let! body = bodyOf response
                      Expect.isGreaterThanOrEqual body.Length 100_000 "large"
                      Expect.isOk (ProtoDecoder.traceResponse (ReadOnlyMemory body)) "valid protobuf"
                      use! response = postSample Clients.http receiver true sample
                      let! body = bodyOf response
                      Expect.isGreaterThanOrEqual body.Length 50_000 "large"
                      Expect.isOk (OtlpJson.readTraceResponse (ReadOnlyMemory body)) "valid JSON"
                  })
      }

      testTask "A reset ends the HTTP request with an exception and is still recorded" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue Reply.Reset
                      use client = new HttpClient()

                      let! _ =
                          throwsT<HttpRequestException> (fun () -> postSample client receiver false sample :> Task) "reset"

                      Expect.equal receiver.Requests.Count 1 "the attempt is recorded"
                      Expect.equal receiver.Requests[0].Reply.Kind ReplyKind.Reset "with the fault applied"
                      Expect.isEmpty receiver.Spans "nothing accepted"
                  })
      }

      testTask "A delay holds the reply back for that long" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Delay(TimeSpan.FromMilliseconds 300.0))
                      let clock = Stopwatch.StartNew()
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.OK "then OK"
                      Expect.isGreaterThanOrEqual clock.ElapsedMilliseconds 290L "after the delay"
                  })
      }

      testTask "A client that gives up during a delay gets no reply and its data is not accepted" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0))
                      use client = new HttpClient()
                      use giveUp = new System.Threading.CancellationTokenSource()
                      use request = new HttpRequestMessage(HttpMethod.Post, receiver.HttpUrl Traces)
                      request.Content <- new ByteArrayContent(sample.Proto)
                      request.Content.Headers.TryAddWithoutValidation("content-type", protobuf) |> ignore
                      let sending = client.SendAsync(request, giveUp.Token)
                      // Give up only once the request has arrived, however slow the machine.
                      let! _ = receiver.WaitForRequestsAsync(1, TimeSpan.FromSeconds 10.0)
                      giveUp.Cancel()
                      let! _ = throwsT<TaskCanceledException> (fun () -> sending :> Task) "the client gave up"
                      Expect.equal receiver.Requests.Count 1 "the attempt is recorded"
                      Expect.isEmpty receiver.Spans "nothing accepted"
                      use! response = postSample Clients.http receiver false sample
                      Expect.equal response.StatusCode HttpStatusCode.OK "the next request is answered at once"
                      Expect.equal receiver.Spans.Count 1 "and accepted"
                  })
      }

      testTask "Replies are consumed one per request, the signal's script before the shared one, then OK" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.HttpStatus 502, Reply.HttpStatus 504)
                      receiver.Enqueue(Logs, Reply.HttpStatus 401)
                      Expect.equal receiver.PendingReplies 3 "three pending"
                      let statuses = ResizeArray()

                      for sample in [ logs [ "a" ]; logs [ "b" ]; gauge 1; logs [ "c" ] ] do
                          use! response = postSample Clients.http receiver false sample
                          statuses.Add(int response.StatusCode)

                      Expect.equal (List.ofSeq statuses) [ 401; 502; 504; 200 ] "in order"
                      Expect.equal receiver.PendingReplies 0 "all consumed"

                      Expect.equal
                          [ for r in receiver.Requests -> r.Reply.StatusCode ]
                          [ 401; 502; 504; 0 ]
                          "each request records its reply"
                  })
      } ]

let private grpc =
    [ testTask "A gRPC status with RetryInfo reaches Grpc.Net.Client with the details in its trailers" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.GrpcStatus(StatusCode.Unavailable, "try later").WithRetryAfter(TimeSpan.FromMilliseconds 1500.0))
                      use channel = channel receiver null
                      let! error = grpcFails channel
                      Expect.equal error.StatusCode StatusCode.Unavailable "UNAVAILABLE"
                      Expect.equal error.Status.Detail "try later" "the message"
                      let details = error.Trailers.GetValueBytes "grpc-status-details-bin"
                      Expect.isNotNull details "grpc-status-details-bin is sent"
                      let code, message, delay = readStatus details
                      Expect.equal code (int StatusCode.Unavailable) "status code in the details"
                      Expect.equal message "try later" "status message in the details"
                      Expect.equal delay (Some(TimeSpan.FromMilliseconds 1500.0)) "the retry delay"
                      Expect.isFalse receiver.Requests[0].Accepted "not accepted"
                  })
      }

      testTask "A gRPC error is a Trailers-Only response on the wire: status in the headers, no body, no trailers" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.GrpcStatus(StatusCode.Unavailable, "busy").WithRetryAfter(TimeSpan.FromSeconds 1.0))
                      use client = new HttpClient()
                      let url = Uri(receiver.GrpcEndpoint, $"{serviceName Traces}/Export")
                      use request = http2Post url "application/grpc" (grpcFrame sample.Proto)
                      request.Headers.TryAddWithoutValidation("te", "trailers") |> ignore
                      use! response = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead)
                      let! body = bodyOf response
                      Expect.equal response.Version HttpVersion.Version20 "HTTP/2"
                      Expect.equal response.StatusCode HttpStatusCode.OK "gRPC errors travel in a 200"
                      let header name = response.Headers.GetValues name |> Seq.head
                      Expect.equal (header "grpc-status") "14" "grpc-status in the headers"
                      Expect.equal (header "grpc-message") "busy" "grpc-message in the headers"
                      Expect.isTrue (response.Headers.Contains "grpc-status-details-bin") "details in the headers"
                      Expect.isEmpty body "no message"
                      Expect.isEmpty response.TrailingHeaders "no trailers after the headers"
                  })
      }

      testTask "An HTTP status scripted for a gRPC request is sent as the gRPC status it maps to" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.HttpStatus 429, Reply.HttpStatus 401, Reply.HttpStatus(503).WithRetryAfter(TimeSpan.FromSeconds 4.0))
                      use channel = channel receiver null
                      let! first = grpcFails channel
                      Expect.equal first.StatusCode StatusCode.Unavailable "429 is UNAVAILABLE"
                      let! second = grpcFails channel
                      Expect.equal second.StatusCode StatusCode.Unauthenticated "401 is UNAUTHENTICATED"
                      let! third = grpcFails channel
                      let _, _, delay = readStatus (third.Trailers.GetValueBytes "grpc-status-details-bin")
                      Expect.equal delay (Some(TimeSpan.FromSeconds 4.0)) "Retry-After becomes RetryInfo"
                  })
      }

      testTask "A retry date over gRPC becomes a RetryInfo of the time left until it" {
          do!
              withReceiver (fun receiver ->
                  task {
                      let date = DateTimeOffset.UtcNow.AddSeconds 30.0
                      receiver.Enqueue(Reply.GrpcStatus(StatusCode.Unavailable, "later").WithRetryAfter date)
                      use channel = channel receiver null
                      let! error = grpcFails channel
                      let _, _, delay = readStatus (error.Trailers.GetValueBytes "grpc-status-details-bin")
                      let seconds = delay |> Option.map _.TotalSeconds |> Option.defaultValue 0.0
                      Expect.isTrue (seconds > 20.0 && seconds <= 30.0) $"about 30 s left, got {seconds}"
                  })
      }

      testTask "A partial success over gRPC is in the response message" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Traces, Reply.PartialSuccess(1L, "one span too old"))
                      use channel = channel receiver null
                      let! response = (export channel Traces "" [] sample.Proto).ResponseAsync
                      let decoded = ProtoDecoder.traceResponse (ReadOnlyMemory response)
                      Expect.equal decoded (Ok { PartialSuccess = { Rejected = 1L; ErrorMessage = "one span too old" } }) "decoded"
                  })
      }

      testTask "Garbage over gRPC is an OK call whose message does not decode" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Garbage 32)
                      use channel = channel receiver null
                      let! response = (export channel Traces "" [] sample.Proto).ResponseAsync
                      Expect.equal response.Length 32 "32 bytes"
                      Expect.isError (ProtoDecoder.traceResponse (ReadOnlyMemory response)) "does not decode"
                  })
      }

      testTask "An oversized gRPC reply exceeds the client's default 4 MiB limit" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Oversized())
                      use channel = channel receiver null
                      let! error = grpcFails channel
                      Expect.equal error.StatusCode StatusCode.ResourceExhausted "RESOURCE_EXHAUSTED"
                  })
      }

      testTask "A reset fails the gRPC call and is still recorded" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue Reply.Reset
                      use channel = channel receiver null
                      let! error = grpcFails channel
                      Expect.notEqual error.StatusCode StatusCode.OK "not OK"
                      Expect.equal receiver.Requests.Count 1 "recorded"
                      Expect.isEmpty receiver.Spans "nothing accepted"
                      let! _ = (export channel Traces "" [] sample.Proto).ResponseAsync
                      Expect.equal receiver.Spans.Count 1 "the channel works again for the next call"
                  })
      }

      testTask "A delay over gRPC outlasts a shorter deadline, which the client sees as DEADLINE_EXCEEDED" {
          do!
              withReceiver (fun receiver ->
                  task {
                      receiver.Enqueue(Reply.Delay(TimeSpan.FromSeconds 20.0), Reply.Delay(TimeSpan.FromMilliseconds 200.0))
                      use channel = channel receiver null
                      let invoker = channel.CreateCallInvoker()
                      let deadline = CallOptions(deadline = Nullable(DateTime.UtcNow.AddSeconds 1.0))

                      let! error =
                          throwsT<RpcException> (fun () ->
                              invoker.AsyncUnaryCall(exportMethod Traces, null, deadline, sample.Proto).ResponseAsync :> Task)
                              "deadline"

                      Expect.equal error.StatusCode StatusCode.DeadlineExceeded "DEADLINE_EXCEEDED"
                      let clock = Stopwatch.StartNew()
                      let! _ = (export channel Traces "" [] sample.Proto).ResponseAsync
                      Expect.isGreaterThanOrEqual clock.ElapsedMilliseconds 190L "the second call waited its delay"
                      Expect.equal receiver.Spans.Count 1 "only the answered call is accepted"
                      Expect.equal receiver.Requests.Count 2 "both attempts are recorded"
                  })
      } ]

/// A gRPC status scripted for an OTLP/HTTP request is answered with the HTTP status the Collector's OTLP receiver
/// answers it with, so that a retry test scripted with it sees what a Collector would send.
let private grpcStatusOverHttp =
    [ for code, expected in
          [ StatusCode.Cancelled, 503; StatusCode.DeadlineExceeded, 503; StatusCode.Aborted, 503; StatusCode.OutOfRange, 503
            StatusCode.Unavailable, 503; StatusCode.DataLoss, 503; StatusCode.ResourceExhausted, 429
            StatusCode.InvalidArgument, 400; StatusCode.Unauthenticated, 401; StatusCode.PermissionDenied, 403
            StatusCode.Unimplemented, 404; StatusCode.Internal, 500; StatusCode.FailedPrecondition, 500
            StatusCode.NotFound, 500; StatusCode.AlreadyExists, 500; StatusCode.Unknown, 500 ] do
          testTask $"{code} is answered over HTTP with {expected}, as the Collector answers it" {
              do!
                  withReceiver (fun receiver ->
                      task {
                          receiver.Enqueue(Reply.GrpcStatus(code, "scripted"))
                          use! response = postSample Clients.http receiver false sample
                          Expect.equal (int response.StatusCode) expected "the Collector's status"
                      })
          } ]

[<Tests>]
let tests =
    testList "Receiver faults" [ testList "HTTP" http; testList "gRPC" grpc; testList "gRPC status over HTTP" grpcStatusOverHttp ]

/// How raw transport results become export outcomes: the core's retry rules applied by the facade.
module Otlp.Tests.InterpreterTests

open System
open System.Collections.Generic
open System.Net.Http
open Expecto
open Otlp.Core
open Otlp.Export
open Otlp.Transport

let private config (environment: (string * string) list) signal =
    let env = Dictionary<string, string>(dict environment) :> IReadOnlyDictionary<string, string>
    (Config.resolve env ConfigOverrides.Empty signal).Value.Exporter

let private now = DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero)

let private http status = TransportResult.Response(status, false, ReadOnlyMemory.Empty)

let private grpc status = TransportResult.Response(status, true, ReadOnlyMemory.Empty)

let private interpret result = ExportInterpreter.Interpret(result, config [] Signal.Traces, now, 10)

[<Tests>]
let tests =
    testList "Interpreter" [
        test "HTTP 200 with an empty body is a success" {
            Expect.equal (interpret (http 200)).Outcome Batching.ExportOutcome.Succeeded "outcome"
        }

        test "the wall clock is read only to date a Retry-After" {
            // Almost every answer has no Retry-After: reading the clock for each would cost every export a call.
            let reads = ref 0
            let counting =
                { new TimeProvider() with
                    member _.GetUtcNow() =
                        reads.Value <- reads.Value + 1
                        now }
            let exporter = config [] Signal.Traces
            Expect.equal (ExportInterpreter.Interpret(http 200, exporter, counting, 10)).Outcome Batching.ExportOutcome.Succeeded "a success"
            Expect.equal (ExportInterpreter.Interpret(http 503, exporter, counting, 10)).Outcome (Batching.ExportOutcome.RetryableFailure None) "a 503 without a delay"
            Expect.equal reads.Value 0 "no read without a Retry-After"
            let dated = TransportResult(Kind = TransportResultKind.Response, StatusCode = 429, RetryAfter = "Sat, 28 Nov 2026 12:00:30 GMT")
            Expect.equal (ExportInterpreter.Interpret(dated, exporter, counting, 10)).Outcome (Batching.ExportOutcome.RetryableFailure(Some 30000L)) "dated from the clock"
            Expect.equal reads.Value 1 "one read for the date"
        }

        test "HTTP 503 with Retry-After in seconds is retryable after that delay" {
            let attempt = interpret (TransportResult(Kind = TransportResultKind.Response, StatusCode = 503, RetryAfter = "7"))
            Expect.equal attempt.Outcome (Batching.ExportOutcome.RetryableFailure(Some 7000L)) "outcome"
        }

        test "HTTP 429 with Retry-After as a date is retryable until that date" {
            let attempt = interpret (TransportResult(Kind = TransportResultKind.Response, StatusCode = 429, RetryAfter = "Sat, 28 Nov 2026 12:00:30 GMT"))
            Expect.equal attempt.Outcome (Batching.ExportOutcome.RetryableFailure(Some 30000L)) "outcome"
        }

        test "HTTP 400 is a permanent failure" {
            Expect.equal (interpret (http 400)).Outcome Batching.ExportOutcome.PermanentFailure "outcome"
        }

        test "HTTP 404 names the URL, the rule that produced it, and the option to use instead" {
            let exporter = config [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/v1/traces" ] Signal.Traces
            let attempt = ExportInterpreter.Interpret(http 404, exporter, now, 10)
            let problem = attempt.Problem
            Expect.stringContains problem "http://collector:4318/v1/traces/v1/traces" "the URL used"
            Expect.stringContains problem "OTEL_EXPORTER_OTLP_ENDPOINT" "the rule"
            Expect.stringContains problem "signal endpoint" "the advice"
        }

        test "gRPC UNAVAILABLE is retryable and INVALID_ARGUMENT is permanent" {
            Expect.equal (interpret (grpc 14)).Outcome (Batching.ExportOutcome.RetryableFailure None) "unavailable"
            Expect.equal (interpret (grpc 3)).Outcome Batching.ExportOutcome.PermanentFailure "invalid argument"
        }

        test "gRPC RESOURCE_EXHAUSTED is retryable only with RetryInfo, after its delay" {
            // google.rpc.Status { code = 8; details = [ Any { type_url = RetryInfo; value = { retry_delay { seconds = 2 } } } ] }
            let retryInfo = [| 0x0Auy; 0x02uy; 0x08uy; 0x02uy |]
            let typeUrl = Text.Encoding.ASCII.GetBytes "type.googleapis.com/google.rpc.RetryInfo"
            let any = Array.concat [ [| 0x0Auy; byte typeUrl.Length |]; typeUrl; [| 0x12uy; byte retryInfo.Length |]; retryInfo ]
            let status = Array.concat [ [| 0x08uy; 0x08uy; 0x1Auy; byte any.Length |]; any ]
            Expect.equal (interpret (grpc 8)).Outcome Batching.ExportOutcome.PermanentFailure "without RetryInfo"
            let withInfo = interpret (TransportResult(Kind = TransportResultKind.Response, StatusCode = 8, IsGrpc = true, GrpcStatusDetails = status))
            Expect.equal withInfo.Outcome (Batching.ExportOutcome.RetryableFailure(Some 2000L)) "with RetryInfo"
        }

        test "a connection failure is retryable and says which endpoint could not be reached" {
            let attempt = interpret (TransportResult.Failed(TransportResultKind.ConnectionFailed, "Connection refused"))
            Expect.equal attempt.Outcome (Batching.ExportOutcome.RetryableFailure None) "outcome"
            Expect.stringContains attempt.Problem "http://localhost:4318/v1/traces" "endpoint"
        }

        test "a failure at the other protocol's default port says so; one at a matching port does not" {
            let refused = TransportResult.Failed(TransportResultKind.ConnectionFailed, "Connection reset by peer")
            let httpToGrpcPort = config [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317" ] Signal.Traces
            let attempt = ExportInterpreter.Interpret(refused, httpToGrpcPort, now, 10)
            Expect.equal attempt.Outcome (Batching.ExportOutcome.RetryableFailure None) "still retried: the hint changes nothing"
            Expect.stringContains attempt.Problem "Connection reset by peer. Note: port 4317 is OTLP/gRPC's default, but the protocol is http/protobuf" "the hint after the failure"

            let grpcToHttpPort = config [ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"; "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ] Signal.Logs
            let answered = ExportInterpreter.Interpret(grpc 12, grpcToHttpPort, now, 10)
            Expect.equal answered.Outcome Batching.ExportOutcome.PermanentFailure "UNIMPLEMENTED stays permanent"
            Expect.stringContains answered.Problem "Note: port 4318 is OTLP/HTTP's default, but the protocol is grpc" "the hint after the server's answer"

            for matching in [ config [ "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318" ] Signal.Traces; config [] Signal.Traces ] do
                Expect.isFalse ((ExportInterpreter.Interpret(refused, matching, now, 10)).Problem.Contains "Note:") "no hint where the port matches"
                Expect.isFalse ((ExportInterpreter.Interpret(http 400, matching, now, 10)).Problem.Contains "Note:") "nor for an answer"
        }

        test "a request without an answer is described with the causes its message leaves out, once each" {
            let tls =
                HttpRequestException(
                    HttpRequestError.SecureConnectionError,
                    "The SSL connection could not be established, see inner exception.",
                    Security.Authentication.AuthenticationException "Cannot determine the frame size or a corrupted frame was received.")
            Expect.equal
                (UnansweredRequest.Describe tls)
                "SecureConnectionError: The SSL connection could not be established: Cannot determine the frame size or a corrupted frame was received (TLS could not start: if the receiver is plain text, its endpoint starts with http://)."
                "TLS that never started"
            let certificate =
                HttpRequestException(
                    HttpRequestError.SecureConnectionError,
                    "The SSL connection could not be established, see inner exception.",
                    Security.Authentication.AuthenticationException "The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot")
            Expect.equal
                (UnansweredRequest.Describe certificate)
                "SecureConnectionError: The SSL connection could not be established: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot."
                "a certificate problem, no plain-text hint"
            let refused =
                HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (collector:4318)", Net.Sockets.SocketException(111))
            Expect.stringStarts (UnansweredRequest.Describe refused) "ConnectionError: Connection refused (collector:4318)" "the kind first"
            Expect.equal ((UnansweredRequest.Describe refused).Split("Connection refused").Length) 2 "a cause the message already says is not repeated"
            Expect.equal (UnansweredRequest.Describe(HttpRequestException "Something broke.")) "Something broke." "no kind to name"
            Expect.equal
                (UnansweredRequest.Describe(HttpRequestException(HttpRequestError.ConnectionError, "Connection refused 127.0.0.1:9 (127.0.0.1:9)")))
                "ConnectionError: Connection refused 127.0.0.1:9."
                "the endpoint the handler appends is not said twice"

            // A TLS port's close racing HTTP/2's handshake: the runtime gives no kind, only its message.
            let handshake = HttpRequestException "An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake."
            Expect.stringEnds
                (UnansweredRequest.Describe(handshake, Uri "http://collector:4317"))
                "(the server ended the connection without an answer: if it uses TLS, its endpoint starts with https://)."
                "an unfinished handshake over http points at https"
            Expect.isFalse ((UnansweredRequest.Describe(handshake, Uri "https://collector:4317")).Contains "https://") "not over https"

            // A hostile server's bytes quoted in the runtime's message: one bounded line, as the server's own text is.
            let quoted = HttpRequestException(HttpRequestError.InvalidResponse, "Received an invalid header line: 'x\r\nInjected: " + String('a', 5000) + "'.")
            let described = UnansweredRequest.Describe quoted
            Expect.isFalse (described.Contains '\r' || described.Contains '\n') "one line"
            Expect.isLessThanOrEqual described.Length (ResponseBody.MaxMessageChars + 16) "bounded"

            let ended = HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.")
            Expect.stringContains (UnansweredRequest.Describe(ended, Uri "http://collector:4318")) "if it uses TLS, its endpoint starts with https://" "plain text ended unanswered: the TLS hint"
            Expect.equal (UnansweredRequest.Describe(ended, Uri "https://collector:4318")) "ResponseEnded: The response ended prematurely." "over TLS already: no hint"
            Expect.equal (UnansweredRequest.Describe ended) "ResponseEnded: The response ended prematurely." "no endpoint known: no hint"
        }

        test "a success whose body was too large to read is a success, with a note" {
            let attempt = interpret (TransportResult(Kind = TransportResultKind.Response, StatusCode = 200, BodyNotRead = "its body exceeded the limit"))
            Expect.equal attempt.Outcome Batching.ExportOutcome.Succeeded "delivered"
            Expect.stringContains attempt.Problem "partial success" "what is unknown said"
        }

        test "a retryable status is retried even when its body was too large to read" {
            let attempt = interpret (TransportResult(Kind = TransportResultKind.Response, StatusCode = 503, BodyNotRead = "its body exceeded the limit"))
            Expect.equal attempt.Outcome (Batching.ExportOutcome.RetryableFailure None) "retried"
            Expect.stringContains attempt.Problem "exceeded the limit" "said"
        }

        test "a partial success in a protobuf body reports the rejected count and message" {
            let body = ProtoEncoder.traceResponseToBytes { PartialSuccess = { Rejected = 3L; ErrorMessage = "bad span" } }
            let attempt = interpret (TransportResult.Response(200, false, ReadOnlyMemory body))
            Expect.equal attempt.Outcome (Batching.ExportOutcome.PartiallySucceeded(3, 0, 0)) "outcome"
            Expect.stringContains attempt.Problem "bad span" "message"
        }

        test "a partial success in a JSON body is read as JSON" {
            let body = OtlpJson.logsResponseToBytes { PartialSuccess = { Rejected = 2L; ErrorMessage = "too old" } }
            let result = TransportResult(Kind = TransportResultKind.Response, StatusCode = 200, Body = ReadOnlyMemory body, ContentType = "application/json")
            let attempt = ExportInterpreter.Interpret(result, config [] Signal.Logs, now, 10)
            Expect.equal attempt.Outcome (Batching.ExportOutcome.PartiallySucceeded(2, 0, 0)) "outcome"
        }

        test "a rejected count beyond the items sent, or negative, is brought into [0, items sent]" {
            for rejected, expected in [ 20L, Batching.ExportOutcome.PartiallySucceeded(10, 0, 0); -5L, Batching.ExportOutcome.Succeeded; 10L, Batching.ExportOutcome.PartiallySucceeded(10, 0, 0) ] do
                let body = ProtoEncoder.traceResponseToBytes { PartialSuccess = { Rejected = rejected; ErrorMessage = "odd" } }
                let attempt = interpret (TransportResult.Response(200, false, ReadOnlyMemory body))
                Expect.equal attempt.Outcome expected $"outcome of {rejected}"
                Expect.equal attempt.Rejected (min 10 (max 0 (int rejected))) $"rejected of {rejected}"
        }

        test "a warning without rejections is a success that still reports its message" {
            let body = ProtoEncoder.traceResponseToBytes { PartialSuccess = { Rejected = 0L; ErrorMessage = "deprecated field" } }
            let attempt = interpret (TransportResult.Response(200, false, ReadOnlyMemory body))
            Expect.equal attempt.Outcome Batching.ExportOutcome.Succeeded "outcome"
            Expect.stringContains attempt.Problem "deprecated field" "message"
        }

        test "a JSON partial success without a content type is read in the request's encoding, JSON" {
            let body = OtlpJson.logsResponseToBytes { PartialSuccess = { Rejected = 2L; ErrorMessage = "too old" } }
            let result = TransportResult(Kind = TransportResultKind.Response, StatusCode = 200, Body = ReadOnlyMemory body)
            let attempt = ExportInterpreter.Interpret(result, config [ "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json" ] Signal.Logs, now, 10)
            Expect.equal attempt.Outcome (Batching.ExportOutcome.PartiallySucceeded(2, 0, 0)) "outcome"
            Expect.stringContains attempt.Problem "too old" "message"
        }

        test "an HTTP failure's google.rpc.Status message is in the description, cleaned and cut at 1 KB" {
            let status (message: string) =
                use buffer = new IO.MemoryStream()
                let output = new Google.Protobuf.CodedOutputStream(buffer)
                output.WriteTag(1, Google.Protobuf.WireFormat.WireType.Varint)
                output.WriteInt32 3
                output.WriteTag(2, Google.Protobuf.WireFormat.WireType.LengthDelimited)
                output.WriteString message
                output.Flush()
                buffer.ToArray()
            let failure body contentType =
                TransportResult(Kind = TransportResultKind.Response, StatusCode = 400, Message = "Bad Request", Body = ReadOnlyMemory body, ContentType = contentType)
            let attempt = interpret (failure (status "span 3: invalid\r\ntrace id") "application/x-protobuf")
            Expect.equal attempt.Outcome Batching.ExportOutcome.PermanentFailure "outcome"
            Expect.stringContains attempt.Problem "answered HTTP 400 Bad Request: span 3: invalid  trace id" "the message, one line"
            let huge = interpret (failure (status (String('x', 100_000))) null)
            Expect.stringContains huge.Problem (String('x', 1024) + "…") "cut"
            Expect.isFalse (huge.Problem.Contains(String('x', 1025))) "at 1 KB"
            let json = Text.Encoding.UTF8.GetBytes "{\"code\":8,\"message\":\"slow down\"}"
            let throttled = ExportInterpreter.Interpret(
                TransportResult(Kind = TransportResultKind.Response, StatusCode = 429, Body = ReadOnlyMemory json, ContentType = "application/json"), config [] Signal.Traces, now, 10)
            Expect.stringContains throttled.Problem "HTTP 429: slow down" "JSON body"
            let page = interpret (failure (Text.Encoding.ASCII.GetBytes "<html>bad gateway</html>") "text/html")
            Expect.isTrue (page.Problem.EndsWith "Bad Request") "a page of another type is not decoded"
        }

        test "an unreadable success body is still a success" {
            let attempt = interpret (TransportResult.Response(200, false, ReadOnlyMemory [| 0xFFuy; 0xFFuy |]))
            Expect.equal attempt.Outcome Batching.ExportOutcome.Succeeded "outcome"
            Expect.isNotNull attempt.Problem "reported"
        }
    ]

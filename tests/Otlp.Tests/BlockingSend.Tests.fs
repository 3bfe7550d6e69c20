/// The HTTP transport's blocking send (the batch loop's): it answers on the calling thread, ends at its deadline
/// whatever the server does, and is used only where it is known to work.
module Otlp.Tests.BlockingSendTests

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Net.Http
open System.Net.Sockets
open System.Text
open System.Threading
open System.Threading.Tasks
open Expecto
open Otlp.Core
open Otlp.Testing
open Otlp.Transport

/// A transport to `url` over a client of its own on a SocketsHttpHandler with blocking sockets, as the exporter
/// makes it.
let private transportTo (url: Uri) (canBlock: bool) =
    let handler = new SocketsHttpHandler(ConnectCallback = Func<_, _, _>(fun context token -> BlockingSockets.ConnectAsync(context, token)))
    new HttpExportTransport(
        new HttpClient(handler, Timeout = Timeout.InfiniteTimeSpan), true, url, false, Compression.None,
        Array.empty<Header>, null, canBlock)

/// A loopback receiver that first answers `replies`, and a transport to its traces URL (see `transportTo`).
let private receiverAnswering (replies: Reply list) (canBlock: bool) =
    task {
        let! (receiver: LoopbackReceiver) = LoopbackReceiver.StartAsync()
        for reply in replies do receiver.Enqueue reply
        return receiver, transportTo (Uri(receiver.HttpEndpoint, "v1/traces")) canBlock
    }

/// Sends `payload` blocking, with `deadline`, on a thread of its own: whether it could, the result, and how long
/// the call itself took. A call still blocked after 20 seconds fails the test instead of hanging it.
let private sendBlocking (transport: HttpExportTransport) (payload: byte array) (deadline: TimeSpan) =
    let send () =
        use cancel = new CancellationTokenSource(deadline)
        let clock = Stopwatch.StartNew()
        let mutable result = Unchecked.defaultof<TransportResult>
        let blocked = transport.TrySendBlocking(OutgoingPayload.Of(ReadOnlyMemory payload), cancel.Token, &result)
        blocked, result, clock.Elapsed
    Task.Factory.StartNew(send, TaskCreationOptions.LongRunning).WaitAsync(TimeSpan.FromSeconds 20.0)

/// A server on 127.0.0.1 that reads one request and writes `answer` (raw HTTP/1.1), then holds the connection open
/// without another byte until the test ends: a server that stalls in the middle of its answer.
let private stallingServer (answer: string) (stop: CancellationToken) =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    listener.Start()
    let port = (listener.LocalEndpoint :?> IPEndPoint).Port
    let serving =
        task {
            use! (client: TcpClient) = listener.AcceptTcpClientAsync(stop)
            let stream = client.GetStream()
            let buffer = Array.zeroCreate<byte> 65536
            let! _ = stream.ReadAsync(buffer, 0, buffer.Length, stop)
            do! stream.WriteAsync(Encoding.ASCII.GetBytes answer, stop)
            try
                do! Task.Delay(Timeout.Infinite, stop)
            with :? OperationCanceledException ->
                ()
            listener.Stop()
        }
    Uri $"http://127.0.0.1:{port}/v1/traces", serving

[<Tests>]
let tests =
    testSequenced <| testList "HttpTransport.blocking" [
        testTask "a blocking send returns the server's answer itself, after waiting for it" {
            let! (receiver: LoopbackReceiver), transport = receiverAnswering [ Reply.Delay(TimeSpan.FromMilliseconds 300.0) ] true
            use _receiver = receiver
            // An empty message is a valid, empty export request.
            let! (blocked: bool), (result: TransportResult), (took: TimeSpan) = sendBlocking transport [||] (TimeSpan.FromSeconds 10.0)
            Expect.isTrue blocked "sent blocking"
            Expect.equal (result.Kind, result.StatusCode) (TransportResultKind.Response, 200) "the answer"
            Expect.isGreaterThanOrEqual took (TimeSpan.FromMilliseconds 250.0) "the call itself waited for the delayed answer"
            Expect.equal receiver.Requests.Count 1 "received once"
            transport.Dispose()
        }

        testTask "a blocking send ends at its deadline when the server does not answer" {
            let! (receiver: LoopbackReceiver), transport = receiverAnswering [ Reply.Delay(TimeSpan.FromSeconds 30.0) ] true
            use _receiver = receiver
            let! (blocked: bool), (result: TransportResult), (took: TimeSpan) = sendBlocking transport [||] (TimeSpan.FromMilliseconds 300.0)
            Expect.isTrue blocked "sent blocking"
            Expect.equal result.Kind TransportResultKind.Cancelled "cancelled at the deadline"
            Expect.isLessThan took (TimeSpan.FromSeconds 5.0) "bounded by the deadline"
            transport.Dispose()
        }

        testTask "a blocking send ends at its deadline when the answer's body stalls" {
            let stop = new CancellationTokenSource()
            // The head promises 100 bytes; 10 come, then nothing: a read without a token would wait forever.
            let url, serving = stallingServer "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789" stop.Token
            let transport = transportTo url true
            let! (blocked: bool), (result: TransportResult), (took: TimeSpan) = sendBlocking transport [| 1uy |] (TimeSpan.FromMilliseconds 300.0)
            Expect.isTrue blocked "sent blocking"
            Expect.equal result.Kind TransportResultKind.Cancelled "cancelled at the deadline"
            Expect.isLessThan took (TimeSpan.FromSeconds 5.0) "bounded by the deadline"
            stop.Cancel()
            do! serving
            transport.Dispose()
            stop.Dispose()
        }

        testCase "the exporter's own connections have blocking sockets that carry bytes" <| fun () ->
            use listener = new TcpListener(IPAddress.Loopback, 0)
            listener.Start()
            let endpoint = DnsEndPoint("localhost", (listener.LocalEndpoint :?> IPEndPoint).Port)
            let connecting = BlockingSockets.ConnectAsync(endpoint, CancellationToken.None).AsTask()
            Expect.isTrue (connecting.Wait(TimeSpan.FromSeconds 10.0)) "connected"
            use stream = connecting.Result :?> NetworkStream
            Expect.isTrue stream.Socket.Blocking "a blocking socket"
            Expect.isTrue stream.Socket.NoDelay "no delay before small writes"
            use accepted = listener.AcceptTcpClient()
            stream.Write([| 42uy |], 0, 1)
            let received = Array.zeroCreate<byte> 1
            let count = accepted.GetStream().Read(received, 0, 1)
            Expect.equal (count, received[0]) (1, 42uy) "the connection carries bytes"

        testCase "a host's addresses are tried in turn until one accepts, and the last failure is reported" <| fun () ->
            use listener = new TcpListener(IPAddress.Loopback, 0)
            listener.Start()
            let port = (listener.LocalEndpoint :?> IPEndPoint).Port
            // Nothing listens on 127.0.0.2 (the listener is bound to 127.0.0.1 alone): that connect is refused.
            let refused = IPAddress.Parse "127.0.0.2"
            use stream = BlockingSockets.ConnectFirst([| refused; IPAddress.Loopback |], port, CancellationToken.None) :?> NetworkStream
            Expect.equal (stream.Socket.RemoteEndPoint :?> IPEndPoint).Address IPAddress.Loopback "connected to the second address"
            let failure = Expect.throwsC (fun () -> BlockingSockets.ConnectFirst([| refused |], port, CancellationToken.None) |> ignore) id
            Expect.isTrue (failure :? SocketException) $"the failure itself, not {failure.GetType().Name}"

        testCase "a connect that hangs holds a thread of its own, not the caller's, and ends when its token fires" <| fun () ->
            // A listener that never accepts, its backlog filled: the kernel then drops further connection attempts,
            // and a connect waits for a retransmission that never gets an answer.
            use listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            listener.Bind(IPEndPoint(IPAddress.Loopback, 0))
            listener.Listen 1
            let port = (listener.LocalEndPoint :?> IPEndPoint).Port
            let fillers = [ for _ in 1..8 -> new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp, Blocking = false) ]
            for filler in fillers do
                try filler.Connect(IPEndPoint(IPAddress.Loopback, port)) with :? SocketException -> ()
            use cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds 500.0)
            let clock = Stopwatch.StartNew()
            let connecting = BlockingSockets.ConnectAsync(DnsEndPoint("127.0.0.1", port), cancel.Token).AsTask()
            Expect.isFalse connecting.IsCompleted "the call returned while the connect waits"
            Expect.isLessThan clock.Elapsed (TimeSpan.FromMilliseconds 400.0) "the caller was not held"
            let ended = try connecting.Wait(TimeSpan.FromSeconds 20.0) with _ -> true
            for filler in fillers do filler.Dispose()
            Expect.isTrue ended "the connect ended"
            Expect.isTrue connecting.IsCanceled $"cancelled, not {connecting.Status}"
            Expect.isGreaterThanOrEqual clock.Elapsed (TimeSpan.FromMilliseconds 400.0) "waited for the token"
            Expect.isLessThan clock.Elapsed (TimeSpan.FromSeconds 5.0) "ended by the token"

        testTask "a transport not made able to block says so and sends nothing" {
            let! (receiver: LoopbackReceiver), transport = receiverAnswering [] false
            use _receiver = receiver
            let! (blocked: bool), (_: TransportResult), (_: TimeSpan) = sendBlocking transport [||] (TimeSpan.FromSeconds 10.0)
            Expect.isFalse blocked "refused"
            let! (result: TransportResult) = transport.SendAsync(OutgoingPayload.Of(ReadOnlyMemory [||]), Timeout.InfiniteTimeSpan, CancellationToken.None)
            Expect.equal (result.Kind, result.StatusCode) (TransportResultKind.Response, 200) "the asynchronous send works"
            Expect.equal receiver.Requests.Count 1 "only the asynchronous send arrived"
            transport.Dispose()
        }
    ]

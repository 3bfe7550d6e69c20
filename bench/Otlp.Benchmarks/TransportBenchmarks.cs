using System.Net;
using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using Otlp.Benchmarks.Fixtures;
using Otlp.Core;
using Otlp.Export;
using Otlp.Transport;

namespace Otlp.Benchmarks;

/// <summary>
/// The transports alone, to see where the end-to-end time of gRPC goes: the request of one batch of 512 spans, as
/// this exporter encodes it, sent over loopback to the end-to-end receiver (<see cref="ReceiverProcess"/>) again
/// and again, with nothing encoded during the measurement. Four ways of sending the same bytes:
/// <list type="bullet">
/// <item>HTTP/1.1 POST through HttpClient on a default handler, synchronously (as the official exporter sends
/// OTLP/HTTP);</item>
/// <item>this exporter's HTTP transport built as the exporter builds it, sending blocking as its batch loop does
/// (its own client, whose connections keep blocking sockets);</item>
/// <item>HTTP/2 POST through HttpClient of the request with the 5-byte gRPC prefix already in front, with the
/// response and its trailers read: what the official exporter's gRPC client does, with no copy of the message
/// (it serializes into its own framed buffer);</item>
/// <item>this exporter's gRPC transport (Grpc.Net.Client), built as the exporter builds it, sending from a pooled
/// buffer as the exporter does (the message framed in the room in front of it, with no copy);</item>
/// <item>the same transport sending bytes with no room in front (as over a channel the application gives): the
/// client copies the message into its own framing buffer.</item>
/// </list>
/// One operation is one request; the CPU us/item column is this process's CPU time per request over the whole run.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
public class TransportBenchmarks
{
    /// <summary>Requests sent per invocation.</summary>
    public const int Requests = 8;

    private ReceiverProcess? receiver;
    private byte[] request = [];
    private byte[] framed = [];
    private PooledBuffer? pooled;
    private HttpClient? http1;
    private HttpClient? http2;
    private Uri? http1Url;
    private Uri? http2Url;
    private IExportTransport? grpc;
    private IExportTransport? ownHttp;
    private readonly CpuMeter cpu = new();
    private string? measured;

    [GlobalSetup]
    public void Setup()
    {
        this.receiver = ReceiverProcess.Start();
        this.request = EncodedBatch();
        this.framed = new byte[this.request.Length + 5];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(this.framed.AsSpan(1), (uint)this.request.Length);
        this.request.CopyTo(this.framed, 5);
        this.pooled = new PooledBuffer(this.request.Length);
        this.request.CopyTo(this.pooled.GetSpan(this.request.Length));
        this.pooled.Advance(this.request.Length);

        this.http1 = new HttpClient(new SocketsHttpHandler());
        this.http1Url = new Uri(this.receiver.HttpEndpoint, "v1/traces");
        this.http2 = new HttpClient(new SocketsHttpHandler());
        this.http2Url = new Uri(this.receiver.GrpcEndpoint, GrpcExportTransport.ServiceName(Signal.Traces) + "/Export");

        this.grpc = TransportAsBuilt(grpc: true, this.receiver.GrpcEndpoint);
        this.ownHttp = TransportAsBuilt(grpc: false, this.receiver.HttpEndpoint);

        if (!this.SendHttp1() || !this.SendOwnHttpBlocking() || !this.SendHttp2Framed() || !this.SendGrpc() || !this.SendGrpcClientFramed())
        {
            throw new InvalidOperationException("A request to the receiver failed.");
        }

        this.cpu.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (this.measured is not null)
        {
            this.cpu.Stop(Report.Key(this.measured));
        }

        this.grpc?.Dispose();
        this.ownHttp?.Dispose();
        this.pooled?.Dispose();
        this.http1?.Dispose();
        this.http2?.Dispose();
        this.receiver?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "HTTP/1.1 POST (HttpClient, default handler, as the official exporter)")]
    public void Http1Post() => this.Repeat(nameof(this.Http1Post), this.SendHttp1);

    [Benchmark(OperationsPerInvoke = Requests, Description = "Otlp HTTP transport, blocking send (as its batch loop)")]
    public void OtlpHttpTransportBlocking() => this.Repeat(nameof(this.OtlpHttpTransportBlocking), this.SendOwnHttpBlocking);

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "HTTP/2 POST, gRPC-framed (HttpClient, as the official exporter)")]
    public void Http2FramedPost() => this.Repeat(nameof(this.Http2FramedPost), this.SendHttp2Framed);

    [Benchmark(OperationsPerInvoke = Requests, Description = "Otlp gRPC transport (Grpc.Net.Client)")]
    public void OtlpGrpcTransport() => this.Repeat(nameof(this.OtlpGrpcTransport), this.SendGrpc);

    [Benchmark(OperationsPerInvoke = Requests, Description = "Otlp gRPC transport, the client framing the message")]
    public void OtlpGrpcTransportClientFramed() => this.Repeat(nameof(this.OtlpGrpcTransportClientFramed), this.SendGrpcClientFramed);

    /// <summary>This exporter's transport to <paramref name="endpoint"/>, built as the exporter builds it.</summary>
    private static IExportTransport TransportAsBuilt(bool grpc, Uri endpoint)
    {
        var exporter = Ours.TraceExporter(grpc, endpoint);
        try
        {
            return TransportFactory.Create(exporter.Configuration.Exporter, new OtlpExporterOptions(), _ => { });
        }
        finally
        {
            exporter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Repeat(string method, Func<bool> send)
    {
        this.measured = method;
        for (var i = 0; i < Requests; i++)
        {
            if (!send())
            {
                throw new InvalidOperationException("A request failed.");
            }
        }

        this.cpu.Add(Requests);
    }

    /// <summary>The request this exporter encodes for the end-to-end batch, captured on its way out.</summary>
    private static byte[] EncodedBatch()
    {
        var capture = new CapturingHandler();
        var exporter = OtlpExporter.ForTraces().WithHttp().WithHttpClientFactory(capture.CreateClient).WithBaseEndpoint("http://localhost:4318").Build();
        try
        {
            var items = Ours.SpanItems(exporter, Workload.StoppedActivities("Orders.Api", Workload.BatchSize));
            if (!exporter.ExportBatchAsync(items).GetAwaiter().GetResult().IsSucceeded || capture.Body is null)
            {
                throw new InvalidOperationException("The batch could not be encoded.");
            }

            return capture.Body;
        }
        finally
        {
            exporter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private bool SendHttp1()
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, this.http1Url) { Content = new ByteArrayContent(this.request) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = this.http1!.Send(message, HttpCompletionOption.ResponseContentRead);
        return response.IsSuccessStatusCode;
    }

    private bool SendOwnHttpBlocking() =>
        this.ownHttp!.TrySendBlocking(this.request, CancellationToken.None, out var result)
        && result is { Kind: TransportResultKind.Response, StatusCode: 200 };

    private bool SendHttp2Framed()
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, this.http2Url)
        {
            Content = new ByteArrayContent(this.framed),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = this.http2!.SendAsync(message, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
        _ = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        return response.TrailingHeaders.TryGetValues("grpc-status", out var status) && status.FirstOrDefault() == "0";
    }

    private bool SendGrpc() => this.grpc!.SendAsync(this.pooled!.Outgoing, Timeout.InfiniteTimeSpan, CancellationToken.None).GetAwaiter().GetResult() is
        { Kind: TransportResultKind.Response, StatusCode: 0 };

    private bool SendGrpcClientFramed() => this.grpc!.SendAsync(this.request, Timeout.InfiniteTimeSpan, CancellationToken.None).GetAwaiter().GetResult() is
        { Kind: TransportResultKind.Response, StatusCode: 0 };

    /// <summary>Keeps the last request body and answers an empty success.</summary>
    private sealed class CapturingHandler : HttpMessageHandler
    {
        public byte[]? Body { get; private set; }

        public HttpClient CreateClient() => new(this, disposeHandler: false);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            this.Body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var content = new ByteArrayContent([]);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }
    }
}

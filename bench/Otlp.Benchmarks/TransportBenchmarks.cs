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
/// and again, with nothing encoded during the measurement. Three ways of sending the same bytes:
/// <list type="bullet">
/// <item>HTTP/1.1 POST through HttpClient (the transport of OTLP/HTTP);</item>
/// <item>HTTP/2 POST through HttpClient of the request with the 5-byte gRPC prefix already in front, with the
/// response and its trailers read: what the official exporter's gRPC client does, with no copy of the message
/// (it serializes into its own framed buffer);</item>
/// <item>this exporter's gRPC transport (Grpc.Net.Client), built as the exporter builds it.</item>
/// </list>
/// One operation is one request.
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
    private HttpClient? http1;
    private HttpClient? http2;
    private Uri? http1Url;
    private Uri? http2Url;
    private IExportTransport? grpc;

    [GlobalSetup]
    public void Setup()
    {
        this.receiver = ReceiverProcess.Start();
        this.request = EncodedBatch();
        this.framed = new byte[this.request.Length + 5];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(this.framed.AsSpan(1), (uint)this.request.Length);
        this.request.CopyTo(this.framed, 5);

        this.http1 = new HttpClient(new SocketsHttpHandler());
        this.http1Url = new Uri(this.receiver.HttpEndpoint, "v1/traces");
        this.http2 = new HttpClient(new SocketsHttpHandler());
        this.http2Url = new Uri(this.receiver.GrpcEndpoint, GrpcExportTransport.ServiceName(Signal.Traces) + "/Export");

        var exporter = Ours.TraceExporter(grpc: true, this.receiver.GrpcEndpoint);
        this.grpc = TransportFactory.Create(exporter.Configuration.Exporter, new OtlpExporterOptions(), _ => { });
        exporter.DisposeAsync().AsTask().GetAwaiter().GetResult();

        if (!this.SendHttp1() || !this.SendHttp2Framed() || !this.SendGrpc())
        {
            throw new InvalidOperationException("A request to the receiver failed.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        this.grpc?.Dispose();
        this.http1?.Dispose();
        this.http2?.Dispose();
        this.receiver?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Requests, Description = "HTTP/1.1 POST (HttpClient)")]
    public void Http1Post() => Repeat(this.SendHttp1);

    [Benchmark(Baseline = true, OperationsPerInvoke = Requests, Description = "HTTP/2 POST, gRPC-framed (HttpClient, as the official exporter)")]
    public void Http2FramedPost() => Repeat(this.SendHttp2Framed);

    [Benchmark(OperationsPerInvoke = Requests, Description = "Otlp gRPC transport (Grpc.Net.Client)")]
    public void OtlpGrpcTransport() => Repeat(this.SendGrpc);

    private static void Repeat(Func<bool> send)
    {
        for (var i = 0; i < Requests; i++)
        {
            if (!send())
            {
                throw new InvalidOperationException("A request failed.");
            }
        }
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

    private bool SendGrpc() => this.grpc!.SendAsync(this.request, CancellationToken.None).GetAwaiter().GetResult() is
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

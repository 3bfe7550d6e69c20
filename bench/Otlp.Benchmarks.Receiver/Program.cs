// The end-to-end benchmarks' receiver, in a process of its own so that its work is not counted in the
// exporters' process CPU time. It answers every OTLP export with success after reading the body, and keeps
// nothing: unlike Otlp.Testing's LoopbackReceiver, which decodes and keeps every request, its cost stays the same
// however long a benchmark runs, and it is the same for both exporters.
//
// On start it prints one line `grpc=<url> http=<url>` and serves until its standard input closes or says "stop".
//
// Kestrel serves gRPC; OTLP/HTTP is served by BlockingHttpReceiver, a thread per connection (see there why), or by
// Kestrel too with OTLP_BENCH_RECEIVER_HTTP=kestrel, as the end-to-end results before 2026-12-02 were measured.
// Kestrel reads its sockets in blocks of 64 KB (see LargeBlockMemoryPool), BlockingHttpReceiver into a buffer of the
// same size; OTLP_BENCH_RECEIVER_BLOCK=<bytes> sets another size for both, and 0 gives Kestrel's own 4 KB blocks (the
// end-to-end results before 2026-12-01 were measured with them) and the blocking receiver 64 KB.
using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Otlp.Benchmarks.Receiver;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var blockSize = int.TryParse(Environment.GetEnvironmentVariable("OTLP_BENCH_RECEIVER_BLOCK"), out var size) ? size : 64 * 1024;
if (blockSize > 0)
{
    builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(new LargeBlockMemoryPoolFactory(blockSize));
}

var kestrelHttp = Environment.GetEnvironmentVariable("OTLP_BENCH_RECEIVER_HTTP") == "kestrel";
using var blockingHttp = kestrelHttp ? null : BlockingHttpReceiver.Start(blockSize > 0 ? blockSize : 64 * 1024);

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = null;
    // gRPC without TLS is HTTP/2 with prior knowledge, which Kestrel serves only on an HTTP/2-only endpoint.
    kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
    if (kestrelHttp)
    {
        kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
    }
});

var app = builder.Build();

// An empty Export*ServiceResponse is an empty protobuf message: zero bytes, which is full success.
byte[] grpcEmptyMessage = [0, 0, 0, 0, 0];

app.MapPost("/opentelemetry.proto.collector.{signal}.v1.{service}/Export", async (HttpContext context) =>
{
    await Discard(context.Request.Body);
    context.Response.ContentType = "application/grpc";
    context.Response.AppendTrailer("grpc-status", "0");
    await context.Response.Body.WriteAsync(grpcEmptyMessage);
});

app.MapPost("/v1/{signal}", async (HttpContext context) =>
{
    await Discard(context.Request.Body);
    context.Response.ContentType = "application/x-protobuf";
    context.Response.ContentLength = 0;
});

await app.StartAsync();
var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
var httpAddress = blockingHttp?.Address ?? addresses[1];
Console.WriteLine($"grpc={addresses[0]}/ http={httpAddress}/");
Console.Out.Flush();

while (Console.ReadLine() is { } line && line.Trim() != "stop")
{
}

await app.StopAsync();

static async Task Discard(Stream body)
{
    var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    try
    {
        while (await body.ReadAsync(buffer) > 0)
        {
        }
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
}

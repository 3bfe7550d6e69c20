using System.Diagnostics;

namespace Otlp.Benchmarks.Fixtures;

/// <summary>
/// The end-to-end receiver (bench/Otlp.Benchmarks.Receiver) in a process of its own, so that its CPU time is not
/// the exporter's: started with <c>dotnet &lt;its dll&gt;</c>, its endpoints read from the first line it prints,
/// stopped on dispose.
/// </summary>
public sealed class ReceiverProcess : IDisposable
{
    /// <summary>
    /// When set, to the line a running receiver printed (<c>grpc=... http=...</c>), <see cref="Start"/> uses that
    /// receiver instead of starting one (the processes of an isolated alternation share one, warm).
    /// </summary>
    public const string RunningVariable = "OTLP_BENCH_RECEIVER_AT";

    private const string AssemblyName = "Otlp.Benchmarks.Receiver";

    // Null for a receiver another process started (RunningVariable), which this one leaves running.
    private readonly Process? process;

    private ReceiverProcess(Process? process, Uri grpc, Uri http, string line)
    {
        this.process = process;
        this.GrpcEndpoint = grpc;
        this.HttpEndpoint = http;
        this.Line = line;
    }

    /// <summary>The line the receiver printed, for <see cref="RunningVariable"/>.</summary>
    public string Line { get; }

    /// <summary>The base URL of OTLP/gRPC (HTTP/2 without TLS).</summary>
    public Uri GrpcEndpoint { get; }

    /// <summary>The base URL of OTLP/HTTP (HTTP/1.1 without TLS), to which <c>v1/traces</c> is appended.</summary>
    public Uri HttpEndpoint { get; }

    /// <summary>Starts the receiver and waits for its endpoints (or uses the one <see cref="RunningVariable"/> names).</summary>
    public static ReceiverProcess Start()
    {
        if (Environment.GetEnvironmentVariable(RunningVariable) is { Length: > 0 } running)
        {
            return Parse(null, running);
        }

        var info = new ProcessStartInfo("dotnet", [FindAssembly()])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the receiver.");
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is not { } first || !first.StartsWith("grpc=", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"The receiver did not report its endpoints (it printed '{(line.IsCompleted ? line.Result : null)}').");
        }

        return Parse(process, first);
    }

    private static ReceiverProcess Parse(Process? process, string line)
    {
        var fields = line.Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => new Uri(f[1]));
        return new ReceiverProcess(process, fields["grpc"], fields["http"], line);
    }

    /// <summary>Asks the receiver to stop, and kills it if it has not within a few seconds.</summary>
    public void Dispose()
    {
        if (this.process is null)
        {
            return;
        }

        try
        {
            this.process.StandardInput.WriteLine("stop");
            this.process.StandardInput.Close();
            if (!this.process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                this.process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }

        this.process.Dispose();
    }

    /// <summary>
    /// The receiver's dll. The build copies it to bench/Otlp.Benchmarks.Receiver/bin/&lt;configuration&gt;; the
    /// benchmark processes run from folders BenchmarkDotNet generates, so it is looked for from this assembly's
    /// folder upwards, then from the current one.
    /// </summary>
    private static string FindAssembly()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("OTLP_BENCH_RECEIVER");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var configuration in new[] { "Release", "Debug" })
                {
                    var candidate = Path.Combine(dir.FullName, "bench", AssemblyName, "bin", configuration, "net10.0", AssemblyName + ".dll");
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
        }

        throw new FileNotFoundException($"{AssemblyName}.dll not found: build bench/{AssemblyName} (Release), or set OTLP_BENCH_RECEIVER to its path.");
    }
}

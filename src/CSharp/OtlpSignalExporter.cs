using System.Buffers;
using Otlp.Core;
using Otlp.Export;
using Otlp.Runtime;
using Otlp.Transport;

namespace Otlp;

/// <summary>
/// An OTLP exporter of one signal: sends requests directly (<see cref="ExportAsync"/>) or batches items in the
/// background (<see cref="Offer"/>), over the protocol, endpoint and settings resolved from code and environment.
/// Retries (exponential backoff with jitter, honouring the server's Retry-After or RetryInfo) are on, as the
/// specification asks. Nothing here throws for network or server problems; every dropped item is counted in
/// <see cref="Statistics"/>.
/// </summary>
/// <typeparam name="TRequest">The export request of the signal.</typeparam>
/// <typeparam name="TItem">The item the signal batches (a span, a log record).</typeparam>
public abstract partial class OtlpSignalExporter<TRequest, TItem> : IAsyncDisposable, IDisposable
{
    // Results are immutable, and nearly every export ends this way: shared.
    private static readonly OtlpExportResult DeliveredAtFirstAttempt = new(OtlpExportStatus.Success, 0, null, 1);

    private readonly IExportTransport transport;
    private readonly Diagnostics.KnownSecrets secrets;
    // Made once: every export's answer is read with it.
    private readonly Func<string, string> scrub;
    private readonly TimeProvider time;
    private readonly Retry.Policy retryPolicy = Retry.Policy.Default;
    private readonly Lock lifecycle = new();
    private BatchExportProcessor<ScopedItem<TItem>>? processor;

    // Set by the first shutdown or disposal, under `lifecycle`: from then on no processor is created, so an offer to
    // an exporter that never had one is dropped and counted instead of starting a loop nobody will stop.
    private bool closed;
    private readonly Runtime.SpareCancellation sendCancels;

    // Sends the batch loop's requests blocking while it encodes ahead, when the transport can; null when it cannot.
    private readonly Runtime.BlockingSendThread? sendThread;
    private readonly List<string> warnings;
    private static readonly Task<Batching.ExportOutcome> SucceededTask = Task.FromResult(Batching.ExportOutcome.Succeeded);

    private volatile int lastPayloadBytes = 4096;

    private protected OtlpSignalExporter(OtlpExporterOptions options, Signal signal)
    {
        ArgumentNullException.ThrowIfNull(options);
        var resolved = ExporterSetup.Resolve(options, signal);
        this.Configuration = resolved.Value;
        this.EnvironmentVariables = options.Environment ?? ExporterSetup.ReadProcessEnvironment();
        this.warnings = options.SectionWarnings
            .Concat(ExporterSetup.UndefinedValues(options))
            .Concat(resolved.Diagnostics.Select(d => d.Message))
            .ToList();

        // The SDK's limits (OTEL_*_LIMIT) are read with the exporter's settings and applied by the tracer and the
        // logger provider that offer to it: a bad value is this exporter's configuration problem too.
        var limits = LimitsModule.FromEnvironment(this.EnvironmentVariables);
        this.Limits = limits.Value;
        this.warnings.AddRange(limits.Diagnostics.Where(d => LimitConcerns(signal, d.Setting)).Select(d => d.Message));

        this.time = options.TimeProvider ?? TimeProvider.System;
        this.sendCancels = new Runtime.SpareCancellation(this.time);
        this.Statistics = new ExportStatistics(signal.IsTraces ? "traces" : signal.IsMetrics ? "metrics" : "logs");
        this.MaxRequestBytes = Math.Max(MinRequestBytes, options.MaxRequestBytes ?? 64 * 1024 * 1024);
        if (options.MaxRequestBytes < MinRequestBytes)
        {
            this.warnings.Add($"MaxRequestBytes: {options.MaxRequestBytes} is less than {MinRequestBytes}, the smallest request limit; using {MinRequestBytes}.");
        }
        var log = new Diagnostics.ProblemLog(this.Statistics.Signal, options.Logger, this.time);
        this.Statistics.UseLog(log);
        // A server may echo a credential back in what it says: every problem and result is scrubbed of the known ones.
        this.secrets = new Diagnostics.KnownSecrets(resolved.Value.Exporter);
        this.Statistics.UseSecrets(this.secrets);
        this.scrub = this.secrets.Scrub;
        this.transport = TransportFactory.Create(resolved.Value.Exporter, options, this.warnings.Add, this.Statistics.ReportProblem, this.secrets);
        this.sendThread = this.transport.SendsBlocking ? new Runtime.BlockingSendThread($"Otlp {this.Statistics.Signal} send") : null;
        this.Resource = new Resource(
            ResourceDefaults.Complete(ProcessName(), OtlpInfo.Version, resolved.Value.Resource), 0u, []);
        foreach (var warning in this.warnings)
        {
            Diagnostics.OtlpEventSource.Log.ConfigurationProblem(this.Statistics.Signal, warning);
            log.WriteConfiguration(warning);
        }
    }

    /// <summary>
    /// Where requests go and why: the transport (HTTP or gRPC), the URL, and the rule that produced it; user
    /// information and query values of the URL are shown as <c>[redacted]</c>.
    /// </summary>
    public string Destination => $"{this.transport.Destination} ({this.Configuration.Exporter.EndpointRule.Description})";

    /// <summary>
    /// Problems found in the configuration and what was used instead, and settings that look mistaken though they are
    /// used (an endpoint on the other protocol's default port); header values never appear.
    /// </summary>
    public IReadOnlyList<string> ConfigurationWarnings => this.warnings;

    /// <summary>Counts of exported and dropped items, and the problems met.</summary>
    public ExportStatistics Statistics { get; }

    /// <summary>The resource every batched item is exported with (<c>service.name</c> and the configured attributes).</summary>
    public Resource Resource { get; }

    /// <summary>
    /// True when <c>OTEL_SDK_DISABLED</c> is true: <see cref="Offer"/> then refuses every item without counting it as
    /// dropped and sends nothing, and the tracer, logger and metrics built on this exporter stay off. A direct
    /// <c>ExportAsync</c> call still sends the request it is given.
    /// </summary>
    public bool IsDisabled => this.Configuration.Disabled;

    /// <summary>The resolved configuration, for diagnostics (its display redacts header values).</summary>
    internal Config Configuration { get; }

    /// <summary>The environment variables the configuration was read from, for the SDK settings read beside it (limits).</summary>
    internal IReadOnlyDictionary<string, string> EnvironmentVariables { get; }

    /// <summary>The span and log record limits of <see cref="EnvironmentVariables"/> (<c>OTEL_*_LIMIT</c>), for the tracer and logger provider.</summary>
    internal Limits Limits { get; }

    /// <summary>
    /// The largest request sent, before and after compression (the usual receiver limit). Larger requests are
    /// split; an item that alone exceeds it is dropped and counted.
    /// </summary>
    public int MaxRequestBytes { get; }

    /// <summary>The smallest <see cref="MaxRequestBytes"/>: a smaller limit is raised to it, with a configuration warning.</summary>
    public const int MinRequestBytes = 1024;

    /// <summary>
    /// Sends <paramref name="request"/> now, retrying retryable failures until the exporter timeout. A request
    /// over <see cref="MaxRequestBytes"/> is sent as several smaller ones, one after another, within that one
    /// timeout. Never throws for network or server problems: they are in the result. Cancelling
    /// <paramref name="cancellationToken"/> ends the export with a failure result too. After <see cref="ShutdownAsync"/> or disposal it sends nothing and returns a failure, its
    /// items counted as dropped. Thread-safe.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    public async Task<OtlpExportResult> ExportAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (parts, tooLarge) = this.Prepare(request);
        if (tooLarge > 0)
        {
            this.Statistics.CountDropped(Batching.DropReason.TooLarge, tooLarge);
        }

        var rejected = (long)tooLarge;
        var attempts = 0;
        var messages = new List<string>();
        var failed = false;
        // The exporter timeout bounds the whole call: the parts of a split request share it.
        var deadline = Runtime.Deadlines.After(this.NowMs(), this.Configuration.Exporter.Timeout);
        try
        {
            foreach (var (part, payload) in parts)
            {
                var result = await this.SendWithRetriesAsync(payload.Outgoing, owned: null, this.CountItems(part), cancellationToken, deadline).ConfigureAwait(false);
                attempts += result.Attempts;
                rejected += result.Rejected;
                failed |= result.Status == OtlpExportStatus.Failure;
                if (result.Message is not null)
                {
                    messages.Add(result.Message);
                }
            }
        }
        finally
        {
            Release(parts);
        }

        if (tooLarge > 0)
        {
            messages.Add($"{tooLarge} item(s) were larger than {this.MaxRequestBytes} bytes alone and were dropped.");
        }

        var status = failed ? OtlpExportStatus.Failure
            : rejected > 0 || messages.Count > 0 ? OtlpExportStatus.PartialSuccess
            : OtlpExportStatus.Success;
        return new OtlpExportResult(status, rejected, messages.Count == 0 ? null : this.secrets.Scrub(string.Join(" ", messages)), attempts);
    }

    /// <summary>
    /// Encodes a request into pooled buffers, split into parts that fit when it is too large, and the number of
    /// items too large to send alone (for the caller to count). The caller returns the buffers with
    /// <see cref="Release"/> after the last send attempt.
    /// </summary>
    private (List<(TRequest Part, PooledBuffer Payload)> Parts, int TooLarge) Prepare(TRequest request)
    {
        var json = this.Configuration.Exporter.Protocol.IsHttpJson;
        var payload = this.NewBuffer();
        this.Encode(request, json, payload);
        var limit = this.PayloadLimit;
        if (payload.WrittenCount <= limit)
        {
            this.lastPayloadBytes = payload.WrittenCount;
            return ([(request, payload)], 0);
        }

        // The whole request's buffer measures the candidate parts, then each part gets a buffer of its own.
        var result = new List<(TRequest Part, PooledBuffer Payload)>();
        using (payload)
        {
            var (parts, tooLarge) = this.Split(request, part =>
            {
                payload.Clear();
                this.Encode(part, json, payload);
                return payload.WrittenCount <= limit;
            });
            foreach (var part in parts)
            {
                var buffer = this.NewBuffer();
                this.Encode(part, json, buffer);
                result.Add((part, buffer));
            }

            return (result, tooLarge);
        }
    }

    /// <summary>
    /// Sends a protobuf request that <paramref name="write"/> encodes straight from the signal's sources (without
    /// the model), with retries as <see cref="ExportAsync"/>, as <paramref name="sending"/> (to be awaited once); false,
    /// having sent nothing, when the protocol is JSON or the request is larger than one request may be (the caller then
    /// takes the model path, which splits).
    /// </summary>
    private protected bool TrySendEncoded(Action<IBufferWriter<byte>> write, int items, CancellationToken cancellationToken, out ValueTask<OtlpExportResult> sending)
    {
        sending = default;
        if (this.Configuration.Exporter.Protocol.IsHttpJson)
        {
            return false;
        }

        var payload = this.NewBuffer();
        try
        {
            write(payload);
        }
        catch
        {
            payload.Dispose();
            throw;
        }

        if (payload.WrittenCount > this.PayloadLimit)
        {
            payload.Dispose();
            return false;
        }

        this.lastPayloadBytes = payload.WrittenCount;
        sending = this.SendWithRetriesAsync(payload.Outgoing, payload, items, cancellationToken);
        return true;
    }

    /// <summary>A pooled buffer the size of the last request, which is usually the size of the next.</summary>
    private PooledBuffer NewBuffer() => new(Math.Min(this.lastPayloadBytes + (this.lastPayloadBytes / 8), this.MaxRequestBytes));

    /// <summary>Returns the buffers of <see cref="Prepare"/> to the pool.</summary>
    private static void Release(List<(TRequest Part, PooledBuffer Payload)> parts)
    {
        foreach (var (_, payload) in parts)
        {
            payload.Dispose();
        }
    }

    /// <summary>
    /// The largest encoded request before compression. With compression a margin is kept so the compressed body
    /// also stays within <see cref="MaxRequestBytes"/> (see <see cref="PayloadLimitFor"/>).
    /// </summary>
    private int PayloadLimit => PayloadLimitFor(this.MaxRequestBytes, this.Configuration.Exporter.Compression);

    /// <summary>
    /// The largest encoded request before compression for a limit of <paramref name="maxRequestBytes"/>: the limit
    /// itself, or with compression the limit less the most the compressor adds to data that does not compress, so
    /// that the body sent stays within the limit too. zstd adds at most 1/256 of the input and 64 bytes; gzip at
    /// its fastest level writes fixed Huffman codes, up to 9 bits a byte (1/8 more), rather than stored blocks.
    /// 32 bytes more are kept for the frames. (A fixed kilobyte once made the limit negative at the 1 KiB floor,
    /// so that every item was too large, and too small a margin for gzip on large requests.)
    /// </summary>
    internal static int PayloadLimitFor(int maxRequestBytes, Compression compression) =>
        compression.IsGzip ? (int)((maxRequestBytes - 96L) * 8 / 9)
        : compression.IsZstd ? maxRequestBytes - (maxRequestBytes / 256) - 96
        : maxRequestBytes;

    /// <summary>A send refused because the exporter is shut down: its items are counted dropped, as a batched item would be.</summary>
    private OtlpExportResult RefuseClosed(int items, int attempts)
    {
        this.Statistics.CountDropped(Batching.DropReason.ShutDown, items);
        return new OtlpExportResult(OtlpExportStatus.Failure, items, "The exporter is shut down.", attempts);
    }

    /// <summary>
    /// Queues <paramref name="item"/> of <paramref name="scope"/> for a batched export in the background. Never
    /// blocks; false when the item was dropped (queue full, shut down, SDK disabled). Thread-safe. It throws only
    /// for a programmer error: <see cref="ArgumentNullException"/> for a null item or scope, and
    /// <see cref="InvalidOperationException"/> on an <see cref="OtlpMetricExporter"/>, which does not batch.
    /// </summary>
    public bool Offer(TItem item, InstrumentationScope scope)
    {
        // Checked here: a null found at export would fail the whole batch, other callers' items included.
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(scope);
        if (this.IsDisabled)
        {
            return false;
        }

        var origin = Volatile.Read(ref this.lastDirectOrigin);
        if (origin is null || !ReferenceEquals(origin.Scope, scope))
        {
            origin = new ItemOrigin<TItem>(scope, null, deferred: false);
            Volatile.Write(ref this.lastDirectOrigin, origin);
        }

        return this.Enqueue(new ScopedItem<TItem>(origin, item));
    }

    // The origin of the last item offered directly: items mostly come from one scope at a time.
    private ItemOrigin<TItem>? lastDirectOrigin;

    /// <summary>
    /// Queues <paramref name="source"/> (an Activity, a log entry) to be exported on the export task: the
    /// application thread only pays for the queue write. A signal that can encode the source directly does so
    /// when the conversion's target in <paramref name="origin"/> tells it how (see <see cref="TryEncodeDirect"/>);
    /// otherwise the conversion turns it into an item. Same guarantees as <see cref="Offer"/>.
    /// </summary>
    internal bool OfferDeferred(object source, ItemOrigin<TItem> origin)
    {
        if (this.IsDisabled)
        {
            return false;
        }

        return this.Enqueue(new ScopedItem<TItem>(origin, source));
    }

    /// <summary>
    /// When set, offered items go to this function instead of the queue, so that the benchmarks export exactly
    /// what the front ends (<c>OtlpTracer</c>, <c>OtlpLoggerProvider</c>) queue, through <see cref="ExportBatchAsync(ScopedItem{TItem}[], bool, CancellationToken)"/>.
    /// </summary>
    internal Func<ScopedItem<TItem>, bool>? CaptureOffered { get; set; }

    private bool Enqueue(ScopedItem<TItem> item)
    {
        if (this.CaptureOffered is { } capture)
        {
            return capture(item);
        }

        if (Volatile.Read(ref this.processor) is { } running)
        {
            return running.Offer(item);
        }

        if (!Volatile.Read(ref this.startFailed) && this.StartProcessor() is { } started)
        {
            return started.Offer(item);
        }

        this.Statistics.CountDropped(
            Volatile.Read(ref this.startFailed) ? Batching.DropReason.PermanentFailure : Batching.DropReason.ShutDown, 1);
        return false;
    }

    // Set when the batch export could not start: items offered from then on are dropped and counted at once.
    private bool startFailed;

    /// <summary>Run just before the processor is created (the tests make it fail there).</summary>
    internal Action? BeforeProcessorStarts { get; set; }

    /// <summary>
    /// The processor, created by the first offer; null once the exporter is shut down or disposed, or when it could
    /// not be created.
    /// </summary>
    private BatchExportProcessor<ScopedItem<TItem>>? StartProcessor()
    {
        lock (this.lifecycle)
        {
            if (this.processor is null && !this.closed && !this.startFailed)
            {
                try
                {
                    this.BeforeProcessorStarts?.Invoke();
                    Volatile.Write(ref this.processor, this.CreateProcessor());
                }
                catch (Exception e) when (this.Configuration.Processing is Processing.Batch)
                {
                    // The queue could not be allocated or the export thread not started: the offering thread is the
                    // application's (a log call, an Activity's end), which must not see it. Said once, never retried.
                    Volatile.Write(ref this.startFailed, true);
                    this.Statistics.ReportProblem(
                        $"The batch export could not start ({e.GetType().Name}: {e.Message}); every item offered is dropped and counted.");
                }
            }

            return this.processor;
        }
    }

    /// <summary>Refuses to create a processor from now on; the one created before, if any, and whether it was closed already.</summary>
    private (BatchExportProcessor<ScopedItem<TItem>>? Processor, bool WasClosed) Close()
    {
        lock (this.lifecycle)
        {
            var wasClosed = this.closed;
            this.closed = true;
            return (this.processor, wasClosed);
        }
    }

    /// <summary>
    /// Exports one batch now as the background processor exports it (deferred conversion, grouping by scope,
    /// encoding, splitting, sending; one attempt), without the queue, on the calling thread as on the processor's
    /// own: with <paramref name="mayBlock"/>, as with one export at a time, the send may block it; without, as with
    /// several, it does not. For the benchmarks.
    /// </summary>
    internal Task<Batching.ExportOutcome> ExportBatchAsync(ScopedItem<TItem>[] items, bool mayBlock = true, CancellationToken cancellationToken = default) =>
        this.ExportBatchAttemptAsync(items, 1, mayBlock, this.Configuration.Exporter.Timeout, cancellationToken, turn: null);

    /// <summary>
    /// As <see cref="ExportBatchAsync(ScopedItem{TItem}[], bool, CancellationToken)"/>, with the batch's request sent
    /// when <paramref name="turn"/> begins, as the processor's loop exports when it encodes ahead (sends never
    /// blocking). For the benchmarks.
    /// </summary>
    internal Task<Batching.ExportOutcome> ExportBatchAsync(ScopedItem<TItem>[] items, Runtime.ExportTurn turn) =>
        this.ExportBatchAttemptAsync(items, 1, mayBlock: false, turn.Limit, turn.Token, turn);

    /// <summary>
    /// Exports every item offered so far; true when all of it was exported or dropped in time, false after shutdown.
    /// Returns by the timeout (null: no limit) even while a send is in progress; that send goes on within the export
    /// timeout. Cancelling <paramref name="cancellationToken"/> stops the wait with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public Task<bool> ForceFlushAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Volatile.Read(ref this.processor) is { } running
            ? running.ForceFlushAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken)
            : Task.FromResult(!Volatile.Read(ref this.closed)); // after shutdown, as a batch loop answers: false

    /// <summary>
    /// Flushes, then stops accepting items (later ones are dropped and counted); true when it finished in time. At the
    /// timeout (null: no limit) the exports still in flight are cancelled, a send in progress included,
    /// and their items counted as dropped (deadline exceeded): it then returns false, within the timeout and a
    /// fraction of a second. A call after a shutdown has finished returns false (already shut down). Cancelling
    /// <paramref name="cancellationToken"/> stops the wait with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public Task<bool> ShutdownAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        this.Close() switch
        {
            ({ } running, _) => running.ShutdownAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellationToken),
            (null, var wasClosed) => Task.FromResult(!wasClosed),
        };

    /// <summary>Shuts down (flushing what is queued within the batch export timeout) and releases the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (this.Close().Processor is { } running)
            {
                await running.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // The export loop ended with an error of its own (a bug): said, not thrown into the host's shutdown.
            this.Statistics.ReportProblem($"The export loop had failed ({e.GetType().Name}: {e.Message}).");
        }
        finally
        {
            this.sendThread?.Dispose();
            this.transport.Dispose();
            this.sendCancels.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// As <see cref="DisposeAsync"/>, blocking the caller until done: at most the batch export timeout for the
    /// flush, at which the exports still in flight are cancelled. For callers that dispose synchronously (a container in a
    /// <c>using</c> statement); prefer <see cref="DisposeAsync"/>.
    /// </summary>
    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Encodes a request into <paramref name="output"/> as protobuf or, when <paramref name="json"/>, as OTLP/JSON.</summary>
    private protected abstract void Encode(TRequest request, bool json, IBufferWriter<byte> output);

    /// <summary>
    /// Writes the protobuf request of a batch straight from its items' sources, without the model, when the
    /// signal knows how (every item an Activity offered by the tracer); false, having written nothing useful, to
    /// take the model path.
    /// </summary>
    private protected virtual bool TryEncodeDirect(ScopedItem<TItem>[] items, IBufferWriter<byte> output) => false;

    /// <summary>The items of a request (spans, data points, log records).</summary>
    private protected abstract int CountItems(TRequest request);

    /// <summary>The core's split of a request into parts that <paramref name="fits"/>, and the items too large alone.</summary>
    private protected abstract (IReadOnlyList<TRequest> Parts, int TooLarge) Split(TRequest request, Func<TRequest, bool> fits);

    /// <summary>One request holding the items of <paramref name="groups"/> under <paramref name="resource"/>, grouped by scope in order of first appearance.</summary>
    private protected abstract TRequest Group(Resource resource, IReadOnlyList<(InstrumentationScope Scope, string SchemaUrl, TItem[] Items)> groups);

    /// <summary>Whether a limit variable applies to what <paramref name="signal"/> exports: spans and their events and links, or log records.</summary>
    private static bool LimitConcerns(Signal signal, string setting) =>
        setting.StartsWith("OTEL_ATTRIBUTE_", StringComparison.Ordinal)
            ? !signal.IsMetrics
            : signal.IsTraces
                ? setting.StartsWith("OTEL_SPAN_", StringComparison.Ordinal) || setting.StartsWith("OTEL_EVENT_", StringComparison.Ordinal) || setting.StartsWith("OTEL_LINK_", StringComparison.Ordinal)
                : signal.IsLogs && setting.StartsWith("OTEL_LOGRECORD_", StringComparison.Ordinal);

    private static string ProcessName()
    {
        try
        {
            return System.Diagnostics.Process.GetCurrentProcess().ProcessName;
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException or System.ComponentModel.Win32Exception)
        {
            return string.Empty;
        }
    }
}

using System.Buffers;
using Microsoft.FSharp.Core;
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
public abstract class OtlpSignalExporter<TRequest, TItem> : IAsyncDisposable, IDisposable
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
        this.MaxRequestBytes = Math.Max(1024, options.MaxRequestBytes ?? 64 * 1024 * 1024);
        var log = new Diagnostics.ProblemLog(this.Statistics.Signal, options.Logger, this.time);
        this.Statistics.UseLog(log);
        // A server may echo a credential back in what it says: every problem and result is scrubbed of the known ones.
        this.secrets = new Diagnostics.KnownSecrets(resolved.Value.Exporter);
        this.Statistics.UseSecrets(this.secrets);
        this.scrub = this.secrets.Scrub;
        this.transport = TransportFactory.Create(resolved.Value.Exporter, options, this.warnings.Add, this.Statistics.ReportProblem, this.secrets);
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

    /// <summary>Problems found in the configuration and what was used instead; header values never appear.</summary>
    public IReadOnlyList<string> ConfigurationWarnings => this.warnings;

    /// <summary>Counts of exported and dropped items, and the problems met.</summary>
    public ExportStatistics Statistics { get; }

    /// <summary>The resource every batched item is exported with (<c>service.name</c> and the configured attributes).</summary>
    public Resource Resource { get; }

    /// <summary>True when <c>OTEL_SDK_DISABLED</c> is true: <see cref="Offer"/> then drops nothing and sends nothing.</summary>
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

    /// <summary>
    /// Sends <paramref name="request"/> now, retrying retryable failures until the exporter timeout. A request
    /// over <see cref="MaxRequestBytes"/> is sent as several smaller ones. Never throws for network or server
    /// problems: they are in the result. Cancelling <paramref name="cancellationToken"/> ends the export with a
    /// failure result too. After <see cref="ShutdownAsync"/> or disposal it sends nothing and returns a failure, its
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
        try
        {
            foreach (var (part, payload) in parts)
            {
                var result = await this.SendWithRetriesAsync(payload.Outgoing, owned: null, this.CountItems(part), cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Sends one encoded request, retrying until it is delivered, given up, past the exporter timeout or cancelled;
    /// <paramref name="owned"/>, when given, is the payload's buffer, released when the export ends.
    /// </summary>
    private async ValueTask<OtlpExportResult> SendWithRetriesAsync(OutgoingPayload payload, PooledBuffer? owned, int items, CancellationToken cancellationToken)
    {
        var timeout = this.Configuration.Exporter.Timeout;
        var now = this.NowMs();
        var deadline = Runtime.Deadlines.After(now, timeout);
        // One source ends every attempt: the deadline is the export's, not an attempt's, and the caller's token
        // cancels it too. The source of the last export is used again when it never fired (SpareCancellation).
        var limit = Runtime.Deadlines.Remaining(deadline, now);
        var sendCancel = this.sendCancels.Take();
        if (limit != Timeout.InfiniteTimeSpan)
        {
            sendCancel.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, limit.TotalMilliseconds)));
        }

        var callerCancels = cancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), sendCancel);
        // What the last attempt that was answered (or refused) said: when the deadline cuts off the attempt after
        // it, the result still names why the export was being retried (a gateway's 503, an UNAVAILABLE).
        string? answeredProblem = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (Volatile.Read(ref this.closed))
                {
                    return this.RefuseClosed(items, attempt - 1);
                }

                if (attempt > 1)
                {
                    this.Statistics.CountRetry();
                }

                var started = this.time.GetTimestamp();
                TransportResult result;
                try
                {
                    using (Diagnostics.ExporterOwnWork.Begin())
                    {
                        result = await this.transport.SendAsync(payload, Runtime.Deadlines.Remaining(deadline, this.NowMs()), sendCancel.Token).ConfigureAwait(false);
                    }
                }
                catch (ObjectDisposedException) when (Volatile.Read(ref this.closed))
                {
                    // Disposed during the send: the transport's client is gone, and the items with it.
                    return this.RefuseClosed(items, attempt);
                }

                var interpreted = ExportInterpreter.Interpret(result, this.Configuration.Exporter, this.time.GetUtcNow(), items, this.scrub);
                this.Statistics.RecordAttempt(this.time.GetElapsedTime(started), interpreted.Classification.IsSuccess);
                if (interpreted.Problem is not null)
                {
                    this.Statistics.ReportProblem(interpreted.Problem);
                }

                var decision = Retry.decide(
                    this.retryPolicy, attempt, interpreted.Classification, this.NowMs(), deadline, Random.Shared.NextDouble());
                if (decision.IsDone)
                {
                    // The count within [0, items] (Batching.partialOutcome), never the server's number as it is.
                    var rejected = interpreted.Rejected;
                    this.Statistics.CountExported(items - rejected);
                    if (rejected > 0)
                    {
                        this.Statistics.CountDropped(Batching.DropReason.RejectedByServer, rejected);
                    }

                    return interpreted.PartialSuccess is { } partial
                        ? new OtlpExportResult(OtlpExportStatus.PartialSuccess, rejected, partial.ErrorMessage, attempt)
                        : attempt == 1 ? DeliveredAtFirstAttempt : new OtlpExportResult(OtlpExportStatus.Success, 0, null, attempt);
                }

                if (result.Kind != TransportResultKind.Cancelled)
                {
                    answeredProblem = interpreted.Problem;
                }

                if (decision is Retry.Decision.RetryAfter retry && !cancellationToken.IsCancellationRequested)
                {
                    try
                    {
                        await this.DelayAsync(retry.delayMs, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }

                var giveUp = decision as Retry.Decision.GiveUp;
                var reason = giveUp is null ? "cancelled" : GiveUpText(giveUp.Item);
                this.Statistics.CountDropped(
                    giveUp is null || giveUp.Item.IsDeadlineExceeded ? Batching.DropReason.DeadlineExceeded
                    : giveUp.Item.IsAttemptsExhausted ? Batching.DropReason.RetriesExhausted
                    : Batching.DropReason.PermanentFailure,
                    items);
                var problem = result.Kind == TransportResultKind.Cancelled && answeredProblem is not null
                    ? $"{interpreted.Problem} The attempt before it: {answeredProblem}"
                    : interpreted.Problem;
                return new OtlpExportResult(OtlpExportStatus.Failure, items, $"{problem} (gave up: {reason})", attempt);
            }
        }
        finally
        {
            // The caller's registration is gone: nothing cancels the source through this export any more.
            callerCancels.Dispose();
            this.sendCancels.Return(sendCancel, reuse: !Volatile.Read(ref this.closed));
            owned?.Dispose();
        }
    }

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

        if ((Volatile.Read(ref this.processor) ?? this.StartProcessor()) is { } running)
        {
            return running.Offer(item);
        }

        this.Statistics.CountDropped(Batching.DropReason.ShutDown, 1);
        return false;
    }

    /// <summary>The processor, created by the first offer; null once the exporter is shut down or disposed.</summary>
    private BatchExportProcessor<ScopedItem<TItem>>? StartProcessor()
    {
        lock (this.lifecycle)
        {
            if (this.processor is null && !this.closed)
            {
                Volatile.Write(ref this.processor, this.CreateProcessor());
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
        if (this.Close().Processor is { } running)
        {
            await running.DisposeAsync().ConfigureAwait(false);
        }

        this.transport.Dispose();
        this.sendCancels.Dispose();
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
    private protected abstract TRequest Group(Resource resource, IReadOnlyList<(InstrumentationScope Scope, TItem[] Items)> groups);

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

    private static string GiveUpText(Retry.GiveUpReason reason) =>
        reason.IsAttemptsExhausted ? "no attempts left"
        : reason.IsDeadlineExceeded ? "the timeout would pass before the next attempt"
        : "the error is permanent";

    private long NowMs() => (long)this.time.GetElapsedTime(0).TotalMilliseconds;

    /// <summary>
    /// Waits <paramref name="delayMs"/> on the clock. A timer may fire up to a tick of the kernel's coarse clock early
    /// (10 ms on some machines), and a server's retry delay is honoured in full: the wait goes on until the clock says so.
    /// </summary>
    private async Task DelayAsync(long delayMs, CancellationToken cancellationToken)
    {
        var until = this.NowMs() + delayMs;
        do
        {
            // In steps a timer takes (a server may ask for a delay of weeks when the export has no time limit).
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(until - this.NowMs(), 1, int.MaxValue)), this.time, cancellationToken).ConfigureAwait(false);
        }
        while (this.NowMs() < until);
    }

    private BatchExportProcessor<ScopedItem<TItem>> CreateProcessor()
    {
        var batch = this.Configuration.Processing is Processing.Batch b
            ? b.Item
            : throw new InvalidOperationException(
                "The metrics exporter does not batch: send metrics with ExportAsync, or let OtlpMetrics collect and export them.");
        var settings = new Batching.Settings(
            batch.MaxQueueSize,
            (long)batch.ScheduleDelay.TotalMilliseconds,
            batch.MaxExportBatchSize,
            Runtime.Deadlines.ToMilliseconds(batch.ExportTimeout),
            batch.MaxConcurrentExports,
            batch.EncodeAhead,
            this.retryPolicy);

        // One export at a time, not encoding ahead: its send may block the loop's thread, which would start no other
        // export meanwhile. Otherwise the loop must go on to encode the next batch while a send waits, so sends
        // never block it.
        var mayBlock = batch.MaxConcurrentExports == 1 && !batch.EncodeAhead;
        return new BatchExportProcessor<ScopedItem<TItem>>(
            settings,
            (items, attempt, turn) =>
                this.ExportBatchAttemptAsync(items, attempt, mayBlock, turn.Limit, turn.Token, turn.WaitsForSlot ? turn : null),
            this.Configuration.Exporter.Timeout,
            this.time,
            this.Statistics);
    }

    /// <summary>
    /// One attempt at a batch, on a thread that exists to export (the processor's loop): when
    /// <paramref name="mayBlock"/>, its sends may block that thread instead of handing their I/O between pool threads.
    /// With a <paramref name="turn"/>, the request is sent when the turn begins, and the attempt's time (then
    /// <see cref="Runtime.ExportTurn.Limit"/>) starts there; a turn comes only with sends that never block (the
    /// loop goes on encoding the next batch meanwhile), so <paramref name="mayBlock"/> is false then.
    /// </summary>
    private Task<Batching.ExportOutcome> ExportBatchAttemptAsync(ScopedItem<TItem>[] items, int attempt, bool mayBlock, TimeSpan limit, CancellationToken cancellationToken, Runtime.ExportTurn? turn)
    {
        if (attempt > 1)
        {
            this.Statistics.CountRetry();
        }

        // The usual batch: written straight from its sources into one request, sent as one part. A send that
        // finishes at once with success (an in-process network, a fast collector) is answered with a shared task.
        if (this.TryPrepareDirect(items) is { } direct)
        {
            // The send releases the payload when it ends; one that is still running is its own task.
            var send = this.SendPartAsync(direct.Outgoing, items.Length, attempt, mayBlock, limit, cancellationToken, turn, owned: direct);
            if (!send.IsCompletedSuccessfully)
            {
                return send.AsTask();
            }

            var outcome = send.Result;
            return outcome.IsSucceeded ? SucceededTask : Task.FromResult(outcome);
        }

        return this.ExportPartsAsync(items, attempt, mayBlock, limit, cancellationToken, turn);
    }

    /// <summary>The outcome of an attempt that was cancelled while it waited for its turn (shutdown's deadline): nothing was sent.</summary>
    private static readonly Batching.ExportOutcome CancelledBeforeSending = Batching.ExportOutcome.NewRetryableFailure(FSharpOption<long>.None);

    /// <summary>A batch through the model: grouped, encoded, split when too large, sent part by part.</summary>
    private async Task<Batching.ExportOutcome> ExportPartsAsync(ScopedItem<TItem>[] items, int attempt, bool mayBlock, TimeSpan limit, CancellationToken cancellationToken, Runtime.ExportTurn? turn)
    {
        var deadline = Runtime.Deadlines.After(this.NowMs(), limit);
        // A batch too large for one request goes as several; a failure of any part makes the batch fail (its
        // retry may send the parts that succeeded again: duplicates are preferred to loss).
        // Items too large alone are found again on every attempt: the outcome names them, and the machine counts them
        // once, when the batch ends (so does it the server's rejections).
        var (groups, unreadable) = this.GroupByScope(items);
        if (groups.Count == 0)
        {
            return Batching.ExportOutcome.NewPartiallySucceeded(0, 0, unreadable);
        }

        var (parts, tooLarge) = this.Prepare(this.Group(this.Resource, groups));
        var rejected = 0;
        try
        {
            if (turn is not null)
            {
                // Every part is sent in the one turn, whose time starts now.
                if (!await turn.BeginSendAsync().ConfigureAwait(false))
                {
                    return CancelledBeforeSending;
                }

                deadline = Runtime.Deadlines.After(this.NowMs(), turn.Limit);
            }

            foreach (var (part, payload) in parts)
            {
                var timeLeft = Runtime.Deadlines.Remaining(deadline, this.NowMs());
                var outcome = await this.SendPartAsync(payload.Outgoing, this.CountItems(part), attempt, mayBlock, timeLeft, cancellationToken).ConfigureAwait(false);
                if (outcome is Batching.ExportOutcome.PartiallySucceeded partial)
                {
                    rejected += partial.rejected;
                }
                else if (!outcome.IsSucceeded)
                {
                    return outcome;
                }
            }
        }
        finally
        {
            Release(parts);
        }

        return rejected > 0 || tooLarge > 0 || unreadable > 0
            ? Batching.ExportOutcome.NewPartiallySucceeded(rejected, tooLarge, unreadable)
            : Batching.ExportOutcome.Succeeded;
    }

    /// <summary>
    /// A batch's request encoded straight from its sources, when the signal can (activities, log entries) and the
    /// request fits in one part; null otherwise (the batch then goes through the model, split when too large).
    /// </summary>
    private PooledBuffer? TryPrepareDirect(ScopedItem<TItem>[] items)
    {
        if (this.Configuration.Exporter.Protocol.IsHttpJson)
        {
            return null;
        }

        var payload = this.NewBuffer();
        try
        {
            if (this.TryEncodeDirect(items, payload) && payload.WrittenCount <= this.PayloadLimit)
            {
                this.lastPayloadBytes = payload.WrittenCount;
                return payload;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An item whose reading throws (an application object that misbehaves): the model's path reads the items
            // one by one, and leaves out only the ones that throw (GroupByScope).
        }

        payload.Dispose();
        return null;
    }

    /// <summary>
    /// One send of one encoded part of a batch, interpreted as the batch machine wants it; blocking the export
    /// thread when <paramref name="mayBlock"/> and the transport can send that way. <paramref name="items"/> is the
    /// number of items in the part, which bounds a partial success's rejected count; <paramref name="timeLeft"/> is
    /// what is left of the attempt's time (the token ends the send then). With a <paramref name="turn"/>, the send
    /// waits for it to begin and takes its time from it (nothing is sent when it is cancelled meanwhile);
    /// <paramref name="owned"/>, when given, is the payload's buffer, released when the send ends.
    /// </summary>
    private async ValueTask<Batching.ExportOutcome> SendPartAsync(
        OutgoingPayload payload,
        int items,
        int attempt,
        bool mayBlock,
        TimeSpan timeLeft,
        CancellationToken cancellationToken,
        Runtime.ExportTurn? turn = null,
        PooledBuffer? owned = null)
    {
        try
        {
            if (turn is not null)
            {
                if (!await turn.BeginSendAsync().ConfigureAwait(false))
                {
                    return CancelledBeforeSending;
                }

                // A turn comes only with sends that never block (the loop encodes the next batch meanwhile).
                mayBlock = false;
                timeLeft = turn.Limit;
            }

            var started = this.time.GetTimestamp();
            TransportResult result;
            using (Diagnostics.ExporterOwnWork.Begin())
            {
                result = mayBlock && this.transport.TrySendBlocking(payload, cancellationToken, out var sent)
                    ? sent
                    : await this.transport.SendAsync(payload, timeLeft, cancellationToken).ConfigureAwait(false);
            }

            var interpreted = ExportInterpreter.Interpret(result, this.Configuration.Exporter, this.time.GetUtcNow(), items, this.scrub);
            this.Statistics.RecordAttempt(this.time.GetElapsedTime(started), interpreted.Classification.IsSuccess);
            if (interpreted.Problem is not null)
            {
                this.Statistics.ReportProblem(attempt > 1 ? $"{interpreted.Problem} (attempt {attempt})" : interpreted.Problem);
            }

            return interpreted.Outcome;
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <summary>
    /// The batch's items by scope, in order, each deferred one read from its source now; an item whose reading throws
    /// (an application object that misbehaves, such as an activity whose tags another thread changes) is left out and
    /// counted in the second value, so that it alone is lost, and said (the exception's type only: its message may
    /// hold the application's values).
    /// </summary>
    private (List<(InstrumentationScope Scope, TItem[] Items)> Groups, int Unreadable) GroupByScope(ScopedItem<TItem>[] items)
    {
        var order = new List<InstrumentationScope>();
        var groups = new Dictionary<InstrumentationScope, List<TItem>>(ReferenceEqualityComparer.Instance);
        var unreadable = 0;
        Exception? first = null;
        foreach (var item in items)
        {
            TItem read;
            try
            {
                read = item.Convert is null ? item.Item : item.Convert(item.Source!);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                unreadable++;
                first ??= e;
                continue;
            }

            if (!groups.TryGetValue(item.Scope, out var list))
            {
                list = [];
                groups[item.Scope] = list;
                order.Add(item.Scope);
            }

            list.Add(read);
        }

        if (first is not null)
        {
            this.Statistics.ReportProblem(
                $"{unreadable} item(s) of a batch threw {first.GetType().Name} as they were read for export and were left out; the rest of the batch is sent.");
        }

        return (order.Select(scope => (scope, groups[scope].ToArray())).ToList(), unreadable);
    }
}

/// <summary>
/// Where queued items come from: their scope and, for items given as a source (an Activity, a log entry), the
/// conversion of that source. One is shared by the items of a scope, so that a queued item is two references: the
/// application thread stores two instead of four, and the queue's arrays are half as large.
/// </summary>
internal sealed class ItemOrigin<TItem>
{
    /// <summary>The origin of items given directly, or of deferred items when <paramref name="deferred"/>.</summary>
    /// <param name="scope">The scope of the items.</param>
    /// <param name="convert">Turns a deferred item's source into the item, on the export task; its target
    /// (<c>ActivitySpans</c>, <c>LogEntries</c>) also carries the limits a direct encoder applies instead.</param>
    /// <param name="deferred">Whether the items are given as sources.</param>
    public ItemOrigin(InstrumentationScope scope, Func<object, TItem>? convert, bool deferred)
    {
        this.Scope = scope;
        this.Convert = convert;
        this.Deferred = deferred;
    }

    /// <summary>The scope.</summary>
    public InstrumentationScope Scope { get; }

    /// <summary>The conversion of a deferred item's source; null for items given directly.</summary>
    public Func<object, TItem>? Convert { get; }

    /// <summary>Whether the items are given as sources (converted or encoded at export).</summary>
    public bool Deferred { get; }
}

/// <summary>An item with the instrumentation scope that produced it, or the source it is converted from at export.</summary>
internal readonly struct ScopedItem<TItem>
{
    private readonly ItemOrigin<TItem> origin;
    private readonly object? value;

    /// <summary>An item of <paramref name="origin"/>: the item itself, or its source when the origin is deferred.</summary>
    public ScopedItem(ItemOrigin<TItem> origin, object? value)
    {
        this.origin = origin;
        this.value = value;
    }

    /// <summary>An item with an origin of its own (for tests): <paramref name="item"/>, or <paramref name="source"/> when not null.</summary>
    public ScopedItem(InstrumentationScope scope, TItem item, object? source, Func<object, TItem>? convert)
        : this(new ItemOrigin<TItem>(scope, convert, source is not null), source ?? item)
    {
    }

    /// <summary>Where the item came from.</summary>
    public ItemOrigin<TItem> Origin => this.origin;

    /// <summary>The scope.</summary>
    public InstrumentationScope Scope => this.origin.Scope;

    /// <summary>The item, when given directly; default for a deferred one.</summary>
    public TItem Item => this.origin.Deferred ? default! : (TItem)this.value!;

    /// <summary>The source of a deferred item (an Activity, a log entry), converted by <see cref="Convert"/>; null otherwise.</summary>
    public object? Source => this.origin.Deferred ? this.value : null;

    /// <summary>Turns <see cref="Source"/> into the item, on the export task; null for an item given directly.</summary>
    public Func<object, TItem>? Convert => this.origin.Convert;
}

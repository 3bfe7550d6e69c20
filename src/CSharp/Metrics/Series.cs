using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Otlp.Core;
using Otlp.Core.Protobuf;

namespace Otlp.Metrics;

/// <summary>
/// One series of a metric stream: a mutable accumulator of the measurements since the last collection, written by
/// any thread without a lock shared with other series, and snapshotted (then reset) by the collection as a core
/// <see cref="Aggregation.Aggregation"/>. The collection alone touches <see cref="State"/>.
/// </summary>
/// <remarks>
/// A series of a delta stream that stays idle for a whole interval is retired: removed from its stream, then marked
/// with <see cref="Retire"/>. A writer that reaches a retired series gets false from <c>Record</c> and looks the
/// series up again (finding or creating a fresh one), so no measurement lands in a series nobody collects.
/// </remarks>
internal abstract class Series
{
    private int updated;
    private int retired;

    // The attributes as their point's repeated field, written by the core's rules at the first collection and copied
    // after that: they never change, and writing them again was a fifth of a collection's time.
    private EncodedAttributes? encodedAttributes;

    // Made by the first measurement offered as an exemplar: series never offered one (no sampled span current, or
    // the filter off) hold none.
    private SeriesExemplars? exemplars;

    protected Series(KeyValue[] attributes, ulong createdUnixNano)
    {
        this.Attributes = attributes;
        this.CreatedUnixNano = createdUnixNano;
    }

    /// <summary>The series' attributes, as exported.</summary>
    public KeyValue[] Attributes { get; }

    /// <summary>When the series was created: the start time of its cumulative points.</summary>
    public ulong CreatedUnixNano { get; }

    /// <summary>What the core remembers of the series between collections; null before its first collection.</summary>
    public Aggregation.SeriesState? State { get; set; }

    /// <summary>
    /// The point of the current collection when the core collected the series (observations, exponential
    /// histograms); null when the series reports its own state (<see cref="Take"/>).
    /// </summary>
    public Aggregation.Point? Pending { get; set; }

    /// <summary>The exemplars of the point of the current collection, when the series reports its own state.</summary>
    public Exemplar[] PointExemplars { get; private set; } = [];

    /// <summary>
    /// Offers a measurement, already recorded, as an exemplar to the series' reservoir, which the first offer makes
    /// with <paramref name="make"/> (see <see cref="SeriesExemplars.Offer"/>).
    /// </summary>
    public void OfferExemplar(
        Func<SeriesExemplars> make,
        double position,
        NumberValue value,
        System.Diagnostics.Activity? activity,
        ReadOnlySpan<KeyValuePair<string, object?>> tags,
        Func<string, bool> keeps,
        Func<ulong> now)
    {
        var reservoir = Volatile.Read(ref this.exemplars)
            ?? Interlocked.CompareExchange(ref this.exemplars, make(), null)
            ?? this.exemplars!;
        reservoir.Offer(position, value, activity, tags, keeps, now);
    }

    /// <summary>
    /// <paramref name="point"/>, collected by the core from this series' measurements, with the exemplars kept since
    /// the last collection.
    /// </summary>
    public Aggregation.Point WithExemplars(Aggregation.Point point) =>
        this.TakeExemplars() is { Length: > 0 } taken ? Exemplars.withExemplars(taken, point) : point;

    private Exemplar[] TakeExemplars() => Volatile.Read(ref this.exemplars)?.Take() ?? [];

    /// <summary>Writes the exemplars of the point of the current collection as the repeated <paramref name="field"/>.</summary>
    protected void WriteExemplars(ProtoWriter writer, int field)
    {
        foreach (var exemplar in this.PointExemplars)
        {
            MetricFields.exemplar(writer, field, exemplar);
        }
    }

    /// <summary>The start time of the point of the current collection, when the series reports its own state.</summary>
    public ulong PointStartUnixNano { get; private set; }

    /// <summary>The time of the point of the current collection, when the series reports its own state.</summary>
    public ulong PointTimeUnixNano { get; private set; }

    /// <summary>
    /// True when the series keeps what it reports itself (<see cref="Take"/>, <see cref="WriteReported"/>), so that a
    /// collection needs no core value: sums, last values, explicit-bucket histograms.
    /// </summary>
    public virtual bool ReportsItself => false;

    /// <summary>
    /// Writes the series' attributes as the repeated <paramref name="field"/> of its point: encoded with the core's
    /// rules (<c>CommonFields.keyValues</c>) the first time, the same bytes copied after that.
    /// </summary>
    protected void WriteAttributes(ProtoWriter writer, int field)
    {
        // One collection writes at a time; a race would only encode twice. The pair is published as one reference.
        if (this.encodedAttributes is { } encoded && encoded.Field == field)
        {
            writer.RawPadded(encoded.Padded, encoded.Length);
            return;
        }

        var start = writer.Position;
        CommonFields.keyValues(writer, field, this.Attributes);
        var written = writer.Written[start..];
        this.encodedAttributes = new EncodedAttributes(field, ProtoWriter.Padded(written), written.Length);
    }

    /// <summary>True when the reported state is empty, as <see cref="Aggregation.isEmpty"/> says of it.</summary>
    public virtual bool ReportedIsEmpty => throw new NotSupportedException();

    /// <summary>
    /// The accumulator of a stream's aggregation; <paramref name="retirable"/> when it may be retired (a series of
    /// a delta stream), which costs its writers a count of who is inside.
    /// </summary>
    public static Series Create(Aggregation.Shape shape, KeyValue[] attributes, ulong createdUnixNano, bool retirable) => shape switch
    {
        Aggregation.Shape.LongSum s => new LongSumSeries(s.monotonic, attributes, createdUnixNano, retirable),
        Aggregation.Shape.DoubleSum s => new DoubleSumSeries(s.monotonic, attributes, createdUnixNano, retirable),
        Aggregation.Shape.ExplicitHistogram h => new ExplicitHistogramSeries(h.bounds, attributes, createdUnixNano),
        Aggregation.Shape.ExponentialHistogram e => new ExponentialHistogramSeries(e.maxSize, e.maxScale, attributes, createdUnixNano),
        _ => new LastValueSeries(attributes, createdUnixNano),
    };

    /// <summary>Adds an integer measurement (finite by construction); false when the series is retired and the measurement was not taken.</summary>
    public abstract bool Record(long value);

    /// <summary>Adds a finite double measurement; false when the series is retired and the measurement was not taken.</summary>
    public abstract bool Record(double value);

    /// <summary>
    /// Marks the series retired (after its stream forgot it) and returns what writers racing with the retirement
    /// recorded since the last snapshot: once this returns, no measurement reaches the series any more.
    /// </summary>
    public Aggregation.Aggregation Retire()
    {
        this.MarkRetired();
        return this.SnapshotAndReset();
    }

    /// <summary>
    /// As <see cref="Retire"/> for a series that reports itself: what racing writers recorded becomes the reported
    /// (delta) state; true when it is not empty.
    /// </summary>
    public bool RetireAndTake(ulong startUnixNano, ulong timeUnixNano)
    {
        this.MarkRetired();
        this.Take(cumulative: false, startUnixNano, timeUnixNano);
        return !this.ReportedIsEmpty;
    }

    /// <summary>
    /// Moves the measurements since the last collection into the reported state, as the core's collection of a
    /// measured series does (<see cref="Aggregation.collect"/>): merged into the reported total when
    /// <paramref name="cumulative"/>, replacing it otherwise; the accumulator starts afresh. The point gets the
    /// given times. Allocates nothing.
    /// </summary>
    public void Take(bool cumulative, ulong startUnixNano, ulong timeUnixNano)
    {
        this.TakeInto(cumulative);
        this.PointExemplars = this.TakeExemplars();
        this.Pending = null;
        this.PointStartUnixNano = startUnixNano;
        this.PointTimeUnixNano = timeUnixNano;
    }

    /// <summary>The point of the current collection as the repeated <paramref name="field"/> of its metric's data.</summary>
    public void WritePoint(ProtoWriter writer, int field)
    {
        switch (this.Pending)
        {
            case null:
                this.WriteReported(writer, field);
                break;
            case Aggregation.Point.Number n:
                MetricFields.numberPoint(writer, field, n.Item);
                break;
            case Aggregation.Point.Histogram h:
                MetricFields.histogramPoint(writer, field, h.Item);
                break;
            case Aggregation.Point.Exponential e:
                MetricFields.exponentialPoint(writer, field, e.Item);
                break;
        }
    }

    /// <summary>The point of the current collection as the model's point (the core's <see cref="Aggregation.toPoint"/> of the reported state).</summary>
    public Aggregation.Point ToPoint()
    {
        if (this.Pending is { } pending)
        {
            return pending;
        }

        var point = Aggregation.toPoint(this.Attributes, this.PointStartUnixNano, this.PointTimeUnixNano, this.Reported());
        return this.PointExemplars.Length == 0 ? point : Exemplars.withExemplars(this.PointExemplars, point);
    }

    /// <summary>Merges (cumulative) or moves (delta) the accumulator into the reported state, and resets it.</summary>
    protected virtual void TakeInto(bool cumulative) => throw new NotSupportedException();

    /// <summary>The reported state as the core's aggregation, for the model path.</summary>
    protected virtual Aggregation.Aggregation Reported() => throw new NotSupportedException();

    /// <summary>Writes the reported state as a data point with the core's field rules.</summary>
    protected virtual void WriteReported(ProtoWriter writer, int field) => throw new NotSupportedException();

    /// <summary>True once the series was retired: no measurement lands in it any more.</summary>
    public bool IsRetired => Volatile.Read(ref this.retired) == 1;

    /// <summary>Sets the retired flag so that every writer either sees it or has finished writing.</summary>
    protected virtual void MarkRetired() => Interlocked.Exchange(ref this.retired, 1);

    /// <summary>True, and cleared, when something was recorded since the last call.</summary>
    public bool TakeUpdated() => Interlocked.Exchange(ref this.updated, 0) == 1;

    /// <summary>The measurements since the last snapshot, which start afresh.</summary>
    public abstract Aggregation.Aggregation SnapshotAndReset();

    protected void MarkUpdated()
    {
        // A plain read first: once set, the hot path does not write the shared cache line again.
        if (Volatile.Read(ref this.updated) == 0)
        {
            Volatile.Write(ref this.updated, 1);
        }
    }
}

/// <summary>
/// Lets lock-free writers and a retirement agree: a writer announces itself, then checks the retired flag; the
/// retirement sets the flag, then waits until no writer is inside. Both steps are full fences, so either the writer
/// sees the flag (and records elsewhere) or the retirement waits for its write to finish (and snapshots it).
/// </summary>
internal sealed class WriterGate
{
    private int inside;
    private int closed;

    /// <summary>True when the writer may write (it must then call <see cref="Exit"/>); false once closed.</summary>
    public bool Enter()
    {
        Interlocked.Increment(ref this.inside);
        if (Volatile.Read(ref this.closed) == 1)
        {
            Interlocked.Decrement(ref this.inside);
            return false;
        }

        return true;
    }

    public void Exit() => Interlocked.Decrement(ref this.inside);

    /// <summary>Refuses new writers and waits for those inside to finish.</summary>
    public void Close()
    {
        Interlocked.Exchange(ref this.closed, 1);
        var spin = default(SpinWait);
        while (Volatile.Read(ref this.inside) != 0)
        {
            spin.SpinOnce();
        }
    }
}

/// <summary>
/// A sum, recorded without a lock. Only a series that can be retired (of a delta stream) counts its writers through a
/// <see cref="WriterGate"/>: the two extra interlocked operations per measurement were most of what recording cost
/// beyond the lookup.
/// </summary>
internal abstract class LockFreeSumSeries(KeyValue[] attributes, ulong created, bool retirable) : Series(attributes, created)
{
    /// <summary>The gate recordings pass through; null when the series is never retired.</summary>
    protected readonly WriterGate? writers = retirable ? new() : null;

    protected override void MarkRetired()
    {
        var gate = this.writers ?? throw new InvalidOperationException("A series made not retirable (of a cumulative stream) was retired.");
        base.MarkRetired();
        gate.Close();
    }
}

/// <summary>A sum of integers: Interlocked, no lock.</summary>
internal sealed class LongSumSeries(bool monotonic, KeyValue[] attributes, ulong created, bool retirable) : LockFreeSumSeries(attributes, created, retirable)
{
    private long total;
    private long reported;

    public override bool Record(long value)
    {
        var gate = this.writers;
        if (gate is not null && !gate.Enter())
        {
            return false;
        }

        Interlocked.Add(ref this.total, value);
        this.MarkUpdated();
        gate?.Exit();
        return true;
    }

    public override bool Record(double value) =>
        // As the core's long sum: truncated toward zero, ignored outside the int64 range.
        value is not (> -9.2233720368547758e18 and < 9.2233720368547758e18) || this.Record((long)value);

    public override Aggregation.Aggregation SnapshotAndReset() =>
        Aggregation.ofLongSum(monotonic, Interlocked.Exchange(ref this.total, 0));

    public override bool ReportsItself => true;

    public override bool ReportedIsEmpty => this.reported == 0;

    protected override void TakeInto(bool cumulative)
    {
        // As the core's merge of long sums: the total wraps around.
        var since = Interlocked.Exchange(ref this.total, 0);
        this.reported = cumulative ? unchecked(this.reported + since) : since;
    }

    protected override Aggregation.Aggregation Reported() => Aggregation.ofLongSum(monotonic, this.reported);

    protected override void WriteReported(ProtoWriter writer, int field)
    {
        var point = MetricFields.beginNumberPoint(writer, field, this.PointStartUnixNano, this.PointTimeUnixNano);
        this.WriteExemplars(writer, Fields.NumberDataPoint_Exemplars);
        MetricFields.asInt(writer, this.reported);
        this.WriteAttributes(writer, Fields.NumberDataPoint_Attributes);
        MetricFields.endNumberPoint(writer, point, 0u);
    }
}

/// <summary>A sum of doubles: a compare-and-swap loop, no lock.</summary>
internal sealed class DoubleSumSeries(bool monotonic, KeyValue[] attributes, ulong created, bool retirable) : LockFreeSumSeries(attributes, created, retirable)
{
    private double total;
    private double reported;

    public override bool Record(long value) => this.Record((double)value);

    public override bool Record(double value)
    {
        var gate = this.writers;
        if (gate is not null && !gate.Enter())
        {
            return false;
        }

        var seen = Volatile.Read(ref this.total);
        while (true)
        {
            var found = Interlocked.CompareExchange(ref this.total, seen + value, seen);
            if (BitConverter.DoubleToInt64Bits(found) == BitConverter.DoubleToInt64Bits(seen))
            {
                break;
            }

            seen = found;
        }

        this.MarkUpdated();
        gate?.Exit();
        return true;
    }

    public override Aggregation.Aggregation SnapshotAndReset() =>
        Aggregation.ofDoubleSum(monotonic, Interlocked.Exchange(ref this.total, 0.0));

    public override bool ReportsItself => true;

    public override bool ReportedIsEmpty => this.reported == 0.0;

    protected override void TakeInto(bool cumulative)
    {
        var since = Interlocked.Exchange(ref this.total, 0.0);
        this.reported = cumulative ? this.reported + since : since;
    }

    protected override Aggregation.Aggregation Reported() => Aggregation.ofDoubleSum(monotonic, this.reported);

    protected override void WriteReported(ProtoWriter writer, int field)
    {
        var point = MetricFields.beginNumberPoint(writer, field, this.PointStartUnixNano, this.PointTimeUnixNano);
        MetricFields.asDouble(writer, this.reported);
        this.WriteExemplars(writer, Fields.NumberDataPoint_Exemplars);
        this.WriteAttributes(writer, Fields.NumberDataPoint_Attributes);
        MetricFields.endNumberPoint(writer, point, 0u);
    }
}

/// <summary>The last value, integer or double.</summary>
internal sealed class LastValueSeries(KeyValue[] attributes, ulong created) : Series(attributes, created)
{
    private readonly Lock gate = new();
    private bool hasValue;
    private bool isLong;
    private long longValue;
    private double doubleValue;
    private bool reportedHasValue;
    private bool reportedIsLong;
    private long reportedLong;
    private double reportedDouble;

    public override bool Record(long value)
    {
        lock (this.gate)
        {
            if (this.IsRetired)
            {
                return false;
            }

            (this.hasValue, this.isLong, this.longValue) = (true, true, value);
            this.MarkUpdated();
            return true;
        }
    }

    public override bool Record(double value)
    {
        lock (this.gate)
        {
            if (this.IsRetired)
            {
                return false;
            }

            (this.hasValue, this.isLong, this.doubleValue) = (true, false, value);
            this.MarkUpdated();
            return true;
        }
    }

    protected override void MarkRetired()
    {
        lock (this.gate)
        {
            base.MarkRetired();
        }
    }

    public override Aggregation.Aggregation SnapshotAndReset()
    {
        lock (this.gate)
        {
            if (!this.hasValue)
            {
                return Aggregation.lastValue;
            }

            this.hasValue = false;
            return Aggregation.ofLastValue(this.isLong
                ? Aggregation.Measurement.NewLong(this.longValue)
                : Aggregation.Measurement.NewDouble(this.doubleValue));
        }
    }

    public override bool ReportsItself => true;

    public override bool ReportedIsEmpty => !this.reportedHasValue;

    protected override void TakeInto(bool cumulative)
    {
        lock (this.gate)
        {
            // As the core's merge of last values: a later empty value keeps the earlier one (cumulative only).
            if (this.hasValue || !cumulative)
            {
                (this.reportedHasValue, this.reportedIsLong, this.reportedLong, this.reportedDouble) =
                    (this.hasValue, this.isLong, this.longValue, this.doubleValue);
            }

            this.hasValue = false;
        }
    }

    protected override Aggregation.Aggregation Reported() =>
        !this.reportedHasValue ? Aggregation.lastValue
        : Aggregation.ofLastValue(this.reportedIsLong
            ? Aggregation.Measurement.NewLong(this.reportedLong)
            : Aggregation.Measurement.NewDouble(this.reportedDouble));

    protected override void WriteReported(ProtoWriter writer, int field)
    {
        var point = MetricFields.beginNumberPoint(writer, field, this.PointStartUnixNano, this.PointTimeUnixNano);
        if (this.reportedHasValue && !this.reportedIsLong)
        {
            MetricFields.asDouble(writer, this.reportedDouble);
        }

        this.WriteExemplars(writer, Fields.NumberDataPoint_Exemplars);
        if (this.reportedHasValue && this.reportedIsLong)
        {
            MetricFields.asInt(writer, this.reportedLong);
        }

        this.WriteAttributes(writer, Fields.NumberDataPoint_Attributes);
        MetricFields.endNumberPoint(writer, point, this.reportedHasValue ? 0u : DataPointFlags.NoRecordedValueMask);
    }
}

/// <summary>An explicit-bucket histogram: bucket counts, count, sum, min and max under the series' lock.</summary>
internal sealed class ExplicitHistogramSeries(double[] bounds, KeyValue[] attributes, ulong created) : Series(attributes, created)
{
    private readonly Lock gate = new();
    private readonly ulong[] counts = new ulong[bounds.Length + 1];
    private readonly ulong[] reportedCounts = new ulong[bounds.Length + 1];
    private ulong count;
    private double sum;
    private double min = double.PositiveInfinity;
    private double max = double.NegativeInfinity;
    private ulong reportedCount;
    private double reportedSum;
    private double reportedMin = double.PositiveInfinity;
    private double reportedMax = double.NegativeInfinity;

    public override bool Record(long value) => this.Record((double)value);

    public override bool Record(double value)
    {
        // The bucket rule lives in the core; finding the bucket needs no lock.
        var bucket = Aggregation.explicitBucketIndex(bounds, value);
        lock (this.gate)
        {
            if (this.IsRetired)
            {
                return false;
            }

            this.counts[bucket]++;
            this.count++;
            this.sum += value;
            // Math.Min and Math.Max as the core's F# min and max, so that 0.0 and -0.0 resolve alike.
            this.min = Math.Min(this.min, value);
            this.max = Math.Max(this.max, value);
            this.MarkUpdated();
            return true;
        }
    }

    protected override void MarkRetired()
    {
        lock (this.gate)
        {
            base.MarkRetired();
        }
    }

    public override Aggregation.Aggregation SnapshotAndReset()
    {
        lock (this.gate)
        {
            var snapshot = Aggregation.ofExplicitHistogram(bounds, this.counts, this.count, this.sum, this.min, this.max);
            Array.Clear(this.counts);
            (this.count, this.sum, this.min, this.max) = (0, 0.0, double.PositiveInfinity, double.NegativeInfinity);
            return snapshot;
        }
    }

    public override bool ReportsItself => true;

    public override bool ReportedIsEmpty => this.reportedCount == 0;

    protected override void TakeInto(bool cumulative)
    {
        lock (this.gate)
        {
            // As the core's snapshot (an empty accumulator holds sum 0, min +inf, max -inf) and merge.
            // The counts are moved and cleared in one pass (a call to clear a few dozen bytes cost more than the pass).
            Span<ulong> counts = this.counts;
            var reported = this.reportedCounts.AsSpan(0, counts.Length);
            if (cumulative)
            {
                MoveAdding(counts, reported);
                this.reportedCount += this.count;
                this.reportedSum += this.sum;
                this.reportedMin = Math.Min(this.reportedMin, this.min);
                this.reportedMax = Math.Max(this.reportedMax, this.max);
            }
            else
            {
                for (var i = 0; i < counts.Length; i++)
                {
                    reported[i] = counts[i];
                    counts[i] = 0;
                }

                (this.reportedCount, this.reportedSum, this.reportedMin, this.reportedMax) = (this.count, this.sum, this.min, this.max);
            }

            (this.count, this.sum, this.min, this.max) = (0, 0.0, double.PositiveInfinity, double.NegativeInfinity);
        }
    }

    /// <summary>
    /// Adds each count to its reported total and clears it, four at a time where the machine has 256-bit vectors
    /// (the default 16 boundaries make 17 counts: four steps and one count).
    /// </summary>
    private static void MoveAdding(Span<ulong> counts, Span<ulong> reported)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var from = ref MemoryMarshal.GetReference(counts);
            ref var into = ref MemoryMarshal.GetReference(reported);
            for (; i <= counts.Length - Vector256<ulong>.Count; i += Vector256<ulong>.Count)
            {
                var at = (nuint)i;
                (Vector256.LoadUnsafe(ref into, at) + Vector256.LoadUnsafe(ref from, at)).StoreUnsafe(ref into, at);
                Vector256<ulong>.Zero.StoreUnsafe(ref from, at);
            }
        }

        for (; i < counts.Length; i++)
        {
            reported[i] += counts[i];
            counts[i] = 0;
        }
    }

    protected override Aggregation.Aggregation Reported() =>
        Aggregation.ofExplicitHistogram(bounds, this.reportedCounts, this.reportedCount, this.reportedSum, this.reportedMin, this.reportedMax);

    protected override void WriteReported(ProtoWriter writer, int field)
    {
        var known = this.reportedCount != 0;
        var point = MetricFields.beginHistogramPoint(
            writer, field, this.PointStartUnixNano, this.PointTimeUnixNano, this.reportedCount, known, this.reportedSum, this.reportedCounts, bounds);
        this.WriteExemplars(writer, Fields.HistogramDataPoint_Exemplars);
        this.WriteAttributes(writer, Fields.HistogramDataPoint_Attributes);
        MetricFields.endHistogramPoint(writer, point, 0u, known, this.reportedMin, known, this.reportedMax);
    }
}

/// <summary>
/// A base-2 exponential histogram with the core's rules: the bucket index from <see cref="Aggregation.exponentialIndex"/>,
/// and when a value would need more than maxSize buckets in its sign, both signs are downscaled in place by the
/// fewest halvings that make it fit. Only such a rescale moves counts; nothing is allocated after construction.
/// </summary>
internal sealed class ExponentialHistogramSeries : Series
{
    private readonly Lock gate = new();
    private readonly int maxScale;
    private readonly Buckets positive;
    private readonly Buckets negative;
    private int scale;
    private ulong zeroCount;
    private ulong count;
    private double sum;
    private double min = double.PositiveInfinity;
    private double max = double.NegativeInfinity;

    public ExponentialHistogramSeries(int maxSize, int maxScale, KeyValue[] attributes, ulong created)
        : base(attributes, created)
    {
        // The core's normalization of the settings, so both agree on the range and the starting scale.
        this.MaxSize = Math.Max(4, maxSize);
        this.maxScale = Math.Clamp(maxScale, -10, 20);
        this.scale = this.maxScale;
        this.positive = new Buckets(this.MaxSize);
        this.negative = new Buckets(this.MaxSize);
        this.RequestedMaxSize = maxSize;
        this.RequestedMaxScale = maxScale;
    }

    private int MaxSize { get; }

    private int RequestedMaxSize { get; }

    private int RequestedMaxScale { get; }

    public override bool Record(long value) => this.Record((double)value);

    public override bool Record(double value)
    {
        lock (this.gate)
        {
            if (this.IsRetired)
            {
                return false;
            }

            this.count++;
            this.sum += value;
            // Math.Min and Math.Max as the core's F# min and max, so that 0.0 and -0.0 resolve alike.
            this.min = Math.Min(this.min, value);
            this.max = Math.Max(this.max, value);
            if (value == 0.0)
            {
                this.zeroCount++;
            }
            else
            {
                var target = value > 0 ? this.positive : this.negative;
                var index = Aggregation.exponentialIndex(this.scale, Math.Abs(value));
                var halvings = target.HalvingsToInclude(index, this.MaxSize);
                if (halvings > 0)
                {
                    this.positive.Downscale(halvings);
                    this.negative.Downscale(halvings);
                    this.scale -= halvings;
                    index >>= halvings;
                }

                target.Increment(index);
            }

            this.MarkUpdated();
            return true;
        }
    }

    protected override void MarkRetired()
    {
        lock (this.gate)
        {
            base.MarkRetired();
        }
    }

    public override Aggregation.Aggregation SnapshotAndReset()
    {
        lock (this.gate)
        {
            var snapshot = Aggregation.ofExponentialHistogram(
                this.RequestedMaxSize, this.RequestedMaxScale, this.scale, this.zeroCount,
                this.positive.Low, this.positive.ToArray(), this.negative.Low, this.negative.ToArray(),
                this.count, this.sum, this.min, this.max);
            this.positive.Clear();
            this.negative.Clear();
            this.scale = this.maxScale;
            (this.zeroCount, this.count, this.sum, this.min, this.max) = (0, 0, 0.0, double.PositiveInfinity, double.NegativeInfinity);
            return snapshot;
        }
    }

    /// <summary>The buckets of one sign: counts[i] is bucket Low + i; empty when High &lt; Low.</summary>
    private sealed class Buckets(int size)
    {
        private readonly ulong[] counts = new ulong[size];

        public int Low { get; private set; }

        public int High { get; private set; } = -1;

        private bool IsEmpty => this.High < this.Low;

        /// <summary>The halvings after which [Low, High] and <paramref name="index"/> fit in <paramref name="maxSize"/> buckets.</summary>
        public int HalvingsToInclude(int index, int maxSize)
        {
            if (this.IsEmpty)
            {
                return 0;
            }

            long low = Math.Min(this.Low, index);
            long high = Math.Max(this.High, index);
            var k = 0;
            while ((high >> k) - (low >> k) + 1 > maxSize)
            {
                k++;
            }

            return k;
        }

        public void Increment(int index)
        {
            if (this.IsEmpty)
            {
                this.Low = this.High = index;
            }
            else if (index < this.Low)
            {
                // Make room at the front: the range fits, so the shifted counts stay inside the array.
                var shift = this.Low - index;
                Array.Copy(this.counts, 0, this.counts, shift, this.High - this.Low + 1);
                Array.Clear(this.counts, 0, shift);
                this.Low = index;
            }
            else if (index > this.High)
            {
                this.High = index;
            }

            this.counts[index - this.Low]++;
        }

        /// <summary>Merges each run of 2^k buckets into one, in place: bucket i goes to i >> k.</summary>
        public void Downscale(int k)
        {
            if (this.IsEmpty)
            {
                return;
            }

            var newLow = this.Low >> k;
            var length = this.High - this.Low + 1;
            for (var i = 0; i < length; i++)
            {
                // The target never lies after the source, so ascending order reads every count before it is overwritten.
                var target = ((this.Low + i) >> k) - newLow;
                var c = this.counts[i];
                this.counts[i] = 0;
                this.counts[target] += c;
            }

            this.High = (this.High >> k);
            this.Low = newLow;
        }

        public ulong[] ToArray() => this.IsEmpty ? [] : this.counts.AsSpan(0, this.High - this.Low + 1).ToArray();

        public void Clear()
        {
            Array.Clear(this.counts);
            this.Low = 0;
            this.High = -1;
        }
    }
}

/// <summary>The encoded attributes of a series as the repeated field <see cref="Field"/> of its point.</summary>
/// <param name="Field">The point's attributes field they were written as.</param>
/// <param name="Padded">The fields' bytes, tags included, with the slack <see cref="ProtoWriter.RawPadded"/> reads past them.</param>
/// <param name="Length">How many bytes of <paramref name="Padded"/> are the fields'.</param>
internal sealed record EncodedAttributes(int Field, byte[] Padded, int Length);

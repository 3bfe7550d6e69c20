using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.FSharp.Core;
using Otlp.Core;
using Otlp.Core.Protobuf;
using Otlp.Tracing;

namespace Otlp.Metrics;

/// <summary>
/// One metric stream (an instrument seen through a view, or several identical instruments): its series keyed by
/// attributes under the stream's cardinality limit, and their collection into one <see cref="Metric"/>.
/// </summary>
/// <remarks>
/// Recording to an existing series is a lookup in a <see cref="ConcurrentDictionary{TKey, TValue}"/> by the
/// measurement's own tag span (no key is built, nothing is allocated) and an update under that series' own lock, or
/// Interlocked for sums. Only a new series takes the stream's lock, to build its key once and apply the limit.
/// </remarks>
internal sealed class MetricStream
{
    // The overflow series keeps none of a measurement's attributes: its exemplars keep them all.
    private static readonly Func<string, bool> KeepsNone = static _ => false;

    private readonly ConcurrentDictionary<SeriesKey, Series> series;
    private readonly ConcurrentDictionary<SeriesKey, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> lookup;
    private readonly SeriesKeyComparer comparer;
    private readonly Lock gate = new();
    private readonly Aggregation.Shape shape;
    private readonly MeasurementDrops drops;
    private readonly Func<ulong> now;
    private readonly bool monotonic;
    private readonly bool direct;

    // Makes a series' exemplars (the core's reservoirs, or a view's own) at its first offer. Null when no measurement
    // of the stream can become an exemplar (the filter is off, the instrument is observable, or a view keeps none):
    // recording then pays one null check for exemplars. Otherwise it reads Activity.Current once; only a measurement
    // the filter lets through goes on to OfferExemplar.
    private readonly Func<SeriesExemplars>? newExemplars;
    private readonly bool exemplarsNeedSampledSpan;

    // When the stream (its first instrument) was created: where the cumulative points of observable series first
    // observed in the first collection start (metrics SDK specification, "Start timestamps").
    private readonly ulong createdUnixNano;

    // The series with a point in the current collection, reused from one collection to the next (collections
    // never run at once). Held in a struct so that adding one is a plain store: into a Series[] every store of a
    // subclass went through the runtime's covariance check.
    private readonly List<Collected> collected = [];

    // The series of a measured stream in order of creation, for the collection to walk (cheaper than walking the
    // concurrent dictionary's buckets): appended under the gate, taken by the collection as a snapshot under the
    // gate, and cleared of retired series by the collection alone.
    private (SeriesKey Key, Series Series)[] measured = new (SeriesKey, Series)[8];
    private int measuredCount;
    private int lastDataBytes;
    private Dictionary<(object Source, SeriesKey Full), (SeriesKey Kept, Aggregation.Measurement Value)> observed = [];

    // Delta sums of observable instruments: the total last observed of each full attribute set, for each to report
    // its own change (the core's Aggregation.observedDelta); null for every other stream. Used by collections only.
    private readonly Dictionary<(object Source, SeriesKey Full), Aggregation.ObservedTotal>? lastObserved;
    private Series? overflow;
    private int count;

    public MetricStream(
        Views.StreamConfig config,
        Instruments.Instrument instrument,
        InstrumentationScope scope,
        string schemaUrl,
        AggregationTemporality temporality,
        MeasurementDrops drops,
        Func<ulong> now,
        ExemplarFilter exemplarFilter)
    {
        this.Config = config;
        this.Kind = instrument.Kind;
        this.Scope = scope;
        this.SchemaUrl = schemaUrl;
        this.Temporality = temporality;
        this.drops = drops;
        this.now = now;
        this.createdUnixNano = now();
        this.shape = Aggregation.shape(config.Aggregation);
        this.comparer = new SeriesKeyComparer(config.AttributeKeys?.Value);
        this.series = new ConcurrentDictionary<SeriesKey, Series>(this.comparer);
        this.lookup = this.series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        this.IsObservable = instrument.Kind.IsObservableCounter || instrument.Kind.IsObservableUpDownCounter || instrument.Kind.IsObservableGauge;

        // A counter cannot go down (API specification, "Counter"): negative measurements are dropped and counted.
        this.monotonic = instrument.Kind.IsCounter;

        // Sums, last values and explicit histograms of synchronous instruments keep their reported state
        // themselves; observations and exponential histograms are collected by the core.
        this.direct = !this.IsObservable && !this.shape.IsExponentialHistogram;
        this.IsGauge = instrument.Kind.IsGauge || instrument.Kind.IsObservableGauge;
        if (this.IsObservable && temporality == AggregationTemporality.Delta && (this.shape.IsLongSum || this.shape.IsDoubleSum))
        {
            this.lastObserved = [];
        }

        // Observations come from callbacks at collection, outside the context of the work they describe: they
        // offer no exemplars.
        this.newExemplars = exemplarFilter.IsAlwaysOff || this.IsObservable || config.Exemplars?.Value is not { } reservoir
            ? null
            : SeriesExemplars.Maker(reservoir, this.shape, config.Name, drops);
        this.exemplarsNeedSampledSpan = exemplarFilter.IsTraceBased;
    }

    /// <summary>True for the streams of gauges: their points go in a Gauge, not a Sum.</summary>
    public bool IsGauge { get; }

    /// <summary>The number of points the last <see cref="Gather"/> collected.</summary>
    public int CollectedPoints => this.collected.Count;

    /// <summary>The stream's name, description, unit, aggregation, allow-list and limit.</summary>
    public Views.StreamConfig Config { get; }

    /// <summary>The kind of the instrument(s) feeding it.</summary>
    public Aggregation.InstrumentKind Kind { get; }

    /// <summary>The meter's scope.</summary>
    public InstrumentationScope Scope { get; }

    /// <summary>The schema URL of the meter's telemetry (<c>Meter.TelemetrySchemaUrl</c>); empty for none.</summary>
    public string SchemaUrl { get; }

    /// <summary>The temporality of its points.</summary>
    public AggregationTemporality Temporality { get; }

    /// <summary>True for the streams of observable instruments: their measurements are observations.</summary>
    public bool IsObservable { get; }

    /// <summary>
    /// Series held now, the overflow series included (idle delta series are retired at collections, observable
    /// series not observed in a collection are forgotten by it).
    /// </summary>
    public int SeriesCount => Volatile.Read(ref this.count) + (Volatile.Read(ref this.overflow) is null ? 0 : 1);

    /// <summary>Records (or, for an observable instrument, observes) an integer measurement of <paramref name="source"/>.</summary>
    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object source)
    {
        if (this.monotonic && value < 0)
        {
            this.drops.Negative(this.Config.Name);
            return;
        }

        if (this.IsObservable)
        {
            this.Observe(Aggregation.Measurement.NewLong(value), tags, source);
            return;
        }

        // A series retired meanwhile refuses the measurement; it is gone from the dictionary by then, so the
        // lookup finds (or makes) its successor.
        Series recorded;
        while (!(recorded = this.Find(tags)).Record(value))
        {
        }

        if (this.newExemplars is not null)
        {
            this.MayOfferExemplar(recorded, value, NumberValue.NewAsInt(value), tags);
        }
    }

    /// <summary>Records (or, for an observable instrument, observes) a double measurement of <paramref name="source"/>.</summary>
    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object source)
    {
        if (!double.IsFinite(value))
        {
            this.drops.NonFinite(this.Config.Name);
            return;
        }

        if (this.monotonic && value < 0)
        {
            this.drops.Negative(this.Config.Name);
            return;
        }

        if (this.IsObservable)
        {
            this.Observe(Aggregation.Measurement.NewDouble(value), tags, source);
            return;
        }

        // A series retired meanwhile refuses the measurement; it is gone from the dictionary by then, so the
        // lookup finds (or makes) its successor.
        Series recorded;
        while (!(recorded = this.Find(tags)).Record(value))
        {
        }

        if (this.newExemplars is not null)
        {
            this.MayOfferExemplar(recorded, value, NumberValue.NewAsDouble(value), tags);
        }
    }

    /// <summary>
    /// Offers a recorded measurement to its series' exemplars when the filter lets it through: always, or (trace
    /// based) when the current activity is recorded (sampled). In line, so that a measurement made outside any
    /// activity pays one read of <see cref="System.Diagnostics.Activity.Current"/> and no call.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void MayOfferExemplar(Series recorded, double position, NumberValue value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var activity = System.Diagnostics.Activity.Current;
        if (!this.exemplarsNeedSampledSpan || activity is { Recorded: true })
        {
            this.OfferExemplar(recorded, position, value, activity, tags);
        }
    }

    /// <summary>
    /// Offers a measurement made while <paramref name="activity"/> was current: the exemplar keeps its span's ids, and
    /// the measurement's attributes its series does not (all of them for the overflow series).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void OfferExemplar(
        Series recorded, double position, NumberValue value, System.Diagnostics.Activity? activity, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var keeps = ReferenceEquals(recorded, this.overflow) ? KeepsNone : this.comparer.KeepsKey;
        recorded.OfferExemplar(this.newExemplars!, position, value, activity, tags, keeps, this.now);
    }

    /// <summary>
    /// Collects the stream at <paramref name="nowUnixNano"/>: every series with a point moves its measurements into
    /// what it reports, ready for <see cref="WriteMetric"/> or <see cref="ToMetric"/>; returns the number of points.
    /// </summary>
    /// <param name="nowUnixNano">The collection's time.</param>
    /// <param name="previousUnixNano">The previous collection's time (or the reader's start): where delta points start.</param>
    public int Gather(ulong nowUnixNano, ulong previousUnixNano)
    {
        this.collected.Clear();
        if (this.IsObservable)
        {
            this.GatherObservations(nowUnixNano, previousUnixNano);
        }
        else
        {
            this.GatherMeasurements(nowUnixNano, previousUnixNano);
        }

        return this.collected.Count;
    }

    /// <summary>The points of the last <see cref="Gather"/> as a model metric; null when there are none.</summary>
    public Metric? ToMetric()
    {
        if (this.collected.Count == 0)
        {
            return null;
        }

        var points = new Aggregation.Point[this.collected.Count];
        for (var i = 0; i < points.Length; i++)
        {
            points[i] = this.collected[i].Series.ToPoint();
        }

        var metric = MetricStreams.toMetric(this.Config.Name, this.Config.Description, this.Config.Unit, this.Kind, this.Temporality, points);
        return metric?.Value;
    }

    /// <summary>
    /// Writes the points of the last <see cref="Gather"/> as one metric inside a ScopeMetrics, with the core's field
    /// rules: the bytes the model encoder writes for <see cref="ToMetric"/>. Nothing is written when there are no
    /// points; nothing is allocated.
    /// </summary>
    public void WriteMetric(ProtoWriter writer)
    {
        if (this.collected.Count == 0)
        {
            return;
        }

        // The length bytes reserved for the metric and its data: from their size at the last collection (series
        // rarely change from one to the next), or expected from the points the first time.
        var first = this.collected[0].Series;
        var expected = this.lastDataBytes > 0
            ? this.lastDataBytes
            : MetricFields.expectedDataBytes(this.collected.Count, first.Attributes.Length, this.shape is Aggregation.Shape.ExplicitHistogram h ? h.bounds.Length + 1 : 0);
        var metricGuess = Guess.ofLength(expected + 64);
        var dataGuess = Guess.ofLength(expected);
        var metric = MetricFields.beginMetric(writer, this.Config.Name, this.Config.Description, this.Config.Unit, metricGuess);
        var start = writer.Position;

        // The points of a stream are all of one type: the core's (Pending) or the series' own, of the stream's shape.
        if (first.Pending is Aggregation.Point.Exponential)
        {
            var exponential = MetricFields.beginExponentialHistogram(writer, dataGuess);
            this.WritePoints(writer, Fields.ExponentialHistogram_Data_Points);
            MetricFields.endExponentialHistogram(writer, exponential, this.Temporality, dataGuess);
        }
        else if (first.Pending is Aggregation.Point.Histogram || (first.Pending is null && this.shape.IsExplicitHistogram))
        {
            var histogram = MetricFields.beginHistogram(writer, dataGuess);
            this.WritePoints(writer, Fields.Histogram_Data_Points);
            MetricFields.endHistogram(writer, histogram, this.Temporality, dataGuess);
        }
        else if (this.IsGauge)
        {
            var gauge = MetricFields.beginGauge(writer, dataGuess);
            this.WritePoints(writer, Fields.Gauge_Data_Points);
            MetricFields.endGauge(writer, gauge, dataGuess);
        }
        else
        {
            var sum = MetricFields.beginSum(writer, dataGuess);
            this.WritePoints(writer, Fields.Sum_Data_Points);
            MetricFields.endSum(writer, sum, this.Temporality, MetricStreams.isMonotonic(this.Kind), dataGuess);
        }

        this.lastDataBytes = writer.Position - start;
        MetricFields.endMetric(writer, metric, metricGuess);
    }

    private void WritePoints(ProtoWriter writer, int field)
    {
        foreach (var s in CollectionsMarshal.AsSpan(this.collected))
        {
            s.Series.WritePoint(writer, field);
        }
    }

    private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        this.lookup.TryGetValue(tags, out var found) ? found : this.Add(tags);

    private Series Add(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = this.comparer.Create(tags);
        lock (this.gate)
        {
            return this.SeriesOf(key, this.now()) ?? this.Overflow(this.now());
        }
    }

    /// <summary>
    /// The series of a key, created while fewer than the limit exist; null past it. The overflow series comes on top:
    /// no overflow while the distinct attribute sets are at most the limit (metrics SDK specification, "Overflow
    /// attribute").
    /// </summary>
    private Series? SeriesOf(SeriesKey key, ulong startUnixNano)
    {
        if (this.series.TryGetValue(key, out var existing))
        {
            return existing;
        }

        if (this.count >= this.Config.CardinalityLimit)
        {
            return null;
        }

        // Only the series of a delta stream are ever retired (when idle for an interval).
        var created = Series.Create(this.shape, TagValues.ToAttributes(key.Tags), startUnixNano, retirable: this.Temporality == AggregationTemporality.Delta);
        this.series[key] = created;
        if (this.measuredCount == this.measured.Length)
        {
            // A new array, so that a collection walking the one it took is not disturbed.
            var larger = new (SeriesKey, Series)[this.measured.Length * 2];
            this.measured.AsSpan().CopyTo(larger);
            this.measured = larger;
        }

        this.measured[this.measuredCount++] = (key, created);
        Volatile.Write(ref this.count, this.count + 1);
        return created;
    }

    private Series Overflow(ulong startUnixNano)
    {
        if (this.overflow is null)
        {
            this.drops.Overflowed(this.Config.Name, this.Config.CardinalityLimit);
            Volatile.Write(ref this.overflow, Series.Create(this.shape, Aggregation.overflowAttributes, startUnixNano, retirable: false));
        }

        return this.overflow;
    }

    private void Observe(Aggregation.Measurement measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object source)
    {
        var full = SeriesKey.From(tags, static _ => true);
        var kept = this.Config.AttributeKeys is null ? full : this.comparer.Create(tags);
        lock (this.gate)
        {
            // One instrument observing the same attributes twice in a collection: its last observation counts.
            this.observed[(source, full)] = (kept, measurement);
        }
    }

    private void GatherMeasurements(ulong now, ulong previous)
    {
        var delta = this.Temporality == AggregationTemporality.Delta;
        (SeriesKey Key, Series Series)[] all;
        int count;
        lock (this.gate)
        {
            (all, count) = (this.measured, this.measuredCount);
        }

        var retired = 0;
        foreach (var (key, s) in all.AsSpan(0, count))
        {
            // A cumulative series reports its total at every collection, measured since or not: its flag is not
            // taken (an interlocked exchange per series), and stays set, so its writers do not write it again.
            if (!delta || s.TakeUpdated())
            {
                this.TakeMeasured(s, now, previous);
            }
            else
            {
                // Idle for a whole interval: a delta series has nothing to carry over, so it is retired and its
                // memory freed; a later measurement of these attributes starts a new series. What writers racing
                // with the retirement recorded is reported now.
                lock (this.gate)
                {
                    this.series.TryRemove(key, out _);
                    Volatile.Write(ref this.count, this.count - 1);
                }

                retired++;

                if (this.direct)
                {
                    if (s.RetireAndTake(this.DeltaStart(previous), now))
                    {
                        this.collected.Add(new Collected(s));
                    }
                }
                else
                {
                    var racing = s.Retire();
                    if (!Aggregation.isEmpty(racing))
                    {
                        s.Pending = s.WithExemplars(this.CollectOne(s, Aggregation.Input.NewMeasured(racing), now, previous));
                        this.collected.Add(new Collected(s));
                    }
                }
            }
        }

        if (retired > 0)
        {
            this.ForgetRetired(retired);
        }

        if (Volatile.Read(ref this.overflow) is { } o && (!delta || o.TakeUpdated()))
        {
            this.TakeMeasured(o, now, previous);
        }
    }

    /// <summary>
    /// Leaves the <paramref name="retired"/> series this collection retired out of <see cref="measured"/>, keeping the
    /// others' order. They are the only retired ones there: every collection that retires series forgets them.
    /// </summary>
    private void ForgetRetired(int retired)
    {
        lock (this.gate)
        {
            // Into a new array, sized for the series left (so that it shrinks after a burst of attribute sets): a
            // series created meanwhile is appended under the gate, so none is lost, and no walk of the old array can
            // be running (collections never run at once).
            var left = this.measuredCount - retired;
            var kept = new (SeriesKey, Series)[Math.Max(8, (int)BitOperations.RoundUpToPowerOf2((uint)left))];
            var at = 0;
            foreach (var entry in this.measured.AsSpan(0, this.measuredCount))
            {
                if (!entry.Series.IsRetired)
                {
                    kept[at++] = entry;
                }
            }

            (this.measured, this.measuredCount) = (kept, at);
        }
    }

    /// <summary>The point of a series with measurements: from its own state when it reports itself, else from the core.</summary>
    private void TakeMeasured(Series s, ulong now, ulong previous)
    {
        if (this.direct)
        {
            // As the core's collection: cumulative points start when the series did, delta points at the previous
            // collection (a synchronous series is collected or retired at every collection).
            // A series created by a writer racing with this collection (after its time was read) starts at it.
            var cumulative = this.Temporality != AggregationTemporality.Delta;
            s.Take(cumulative, cumulative ? Math.Min(s.CreatedUnixNano, now) : this.DeltaStart(previous), now);
        }
        else
        {
            s.Pending = s.WithExemplars(this.CollectOne(s, Aggregation.Input.NewMeasured(s.SnapshotAndReset()), now, previous));
        }

        this.collected.Add(new Collected(s));
    }

    private void GatherObservations(ulong now, ulong previous)
    {
        Dictionary<(object Source, SeriesKey Full), (SeriesKey Kept, Aggregation.Measurement Value)> batch;
        lock (this.gate)
        {
            batch = this.observed;
            this.observed = [];
        }

        // A series first observed now starts at the stream's creation in the first collection interval, else at the
        // previous collection (metrics SDK specification, "Start timestamps"), so never after this collection.
        var start = this.DeltaStart(previous);

        // Observations that share a series (identical instruments feeding one stream, or attribute sets a view's
        // allow-list makes equal) add up for sums; for gauges one of them stays. Past the limit the same happens
        // in the overflow series, so that no observed total is lost. The batch holds the observations in the order
        // they came (a dictionary without removals enumerates in insertion order), so the attribute sets observed
        // first keep their own series (the specification's preference for asynchronous instruments), whether or
        // not they had one before.
        var bySeries = new Dictionary<Series, Aggregation.Aggregation>(ReferenceEqualityComparer.Instance);
        var kept = 0;
        Series? overflowed = null;
        lock (this.gate)
        {
            foreach (var (observedKey, (key, measurement)) in batch)
            {
                Series target;
                if (this.series.TryGetValue(key, out var existing) && bySeries.ContainsKey(existing))
                {
                    target = existing;
                }
                else if (kept < this.Config.CardinalityLimit)
                {
                    target = existing ?? this.NewObservedSeries(key, start);
                    kept++;
                }
                else
                {
                    target = overflowed ??= this.Overflow(start);
                }

                var observation = this.lastObserved is null ? this.Observation(measurement) : this.ObservedDelta(observedKey, measurement);
                bySeries[target] = bySeries.TryGetValue(target, out var earlier) && !this.shape.IsLastValue
                    ? Aggregation.merge(earlier, observation)
                    : observation;
            }

            // An asynchronous instrument reports exactly the attribute sets it observed in this collection: every
            // other series (and the overflow series) is forgotten, freeing its place under the limit; observed
            // again later, its attributes start a new series.
            foreach (var (key, s) in this.series)
            {
                if (!bySeries.ContainsKey(s))
                {
                    this.series.TryRemove(key, out _);
                }
            }

            Volatile.Write(ref this.count, this.series.Count);
            if (overflowed is null)
            {
                Volatile.Write(ref this.overflow, null);
            }
        }

        if (this.lastObserved is not null)
        {
            this.RememberUnobserved(batch);
        }

        foreach (var (target, observation) in bySeries)
        {
            // The deltas of a delta sum are taken per attribute set already: the series reports their sum as it is.
            var input = this.lastObserved is null ? Aggregation.Input.NewObserved(observation) : Aggregation.Input.NewMeasured(observation);
            target.Pending = this.CollectOne(target, input, now, previous);
            this.collected.Add(new Collected(target));
        }
    }

    /// <summary>
    /// The change of one full attribute set's total since its own last observation (its whole total the first
    /// time), remembered for the next: the delta it adds to the series it shares, kept or overflow.
    /// </summary>
    private Aggregation.Aggregation ObservedDelta((object Source, SeriesKey Full) key, Aggregation.Measurement measurement)
    {
        var previous = this.lastObserved!.TryGetValue(key, out var known)
            ? FSharpValueOption<Aggregation.ObservedTotal>.NewValueSome(known)
            : FSharpValueOption<Aggregation.ObservedTotal>.ValueNone;
        var (delta, remembered) = Aggregation.observedDelta(previous, this.Observation(measurement));
        this.lastObserved[key] = remembered;
        return delta;
    }

    /// <summary>
    /// Keeps the totals of the attribute sets this collection did not observe (they contribute nothing now, and
    /// only their change when observed again), forgetting those unobserved for too long so that memory holds only
    /// the sets of recent collections.
    /// </summary>
    private void RememberUnobserved(Dictionary<(object Source, SeriesKey Full), (SeriesKey Kept, Aggregation.Measurement Value)> batch)
    {
        List<(object, SeriesKey)>? forgotten = null;
        foreach (var (key, memory) in this.lastObserved!)
        {
            if (batch.ContainsKey(key))
            {
                continue;
            }

            var missed = Aggregation.missedCollection(memory);
            if (Aggregation.isForgotten(missed))
            {
                (forgotten ??= []).Add(key);
            }
            else
            {
                // In place: a store to an existing entry does not disturb the enumeration.
                CollectionsMarshal.GetValueRefOrNullRef(this.lastObserved, key) = missed;
            }
        }

        foreach (var key in forgotten ?? [])
        {
            this.lastObserved.Remove(key);
        }
    }

    /// <summary>
    /// Where a delta point starts: the previous collection, or the stream's creation when that is later (the
    /// instrument's first collection interval; metrics SDK specification, "Start timestamps").
    /// </summary>
    private ulong DeltaStart(ulong previous) => Math.Max(this.createdUnixNano, previous);

    private Series NewObservedSeries(SeriesKey key, ulong startUnixNano)
    {
        var created = Series.Create(this.shape, TagValues.ToAttributes(key.Tags), startUnixNano, retirable: false);
        this.series[key] = created;
        return created;
    }

    private Aggregation.Aggregation Observation(Aggregation.Measurement measurement) => this.shape switch
    {
        Aggregation.Shape.LongSum s => Aggregation.ofLongSum(s.monotonic, measurement is Aggregation.Measurement.Long l ? l.Item : (long)((Aggregation.Measurement.Double)measurement).Item),
        Aggregation.Shape.DoubleSum s => Aggregation.ofDoubleSum(s.monotonic, measurement is Aggregation.Measurement.Double d ? d.Item : ((Aggregation.Measurement.Long)measurement).Item),
        _ => Aggregation.record(measurement, this.Config.Aggregation),
    };

    private Aggregation.Point CollectOne(Series s, Aggregation.Input input, ulong now, ulong previous)
    {
        // Cumulative points start when the series did (never after this collection: a writer racing with it may
        // have created the series after its time was read); delta points where the interval did: the previous
        // collection, or for an observable series first observed in this one, its start.
        var start = Math.Min(s.CreatedUnixNano, now);
        s.State ??= new Aggregation.SeriesState(start, this.IsObservable ? Math.Max(previous, start) : this.DeltaStart(previous), this.Config.Aggregation);
        var (point, state) = Aggregation.collect(this.Temporality, s.Attributes, input, s.State, now);
        s.State = state;
        return point;
    }
}

/// <summary>A series with a point in the current collection.</summary>
/// <param name="Series">The series.</param>
internal readonly record struct Collected(Series Series);

/// <summary>
/// Counts the measurements a listener drops (NaN or infinite values, negative values of counters) and notes the
/// metrics that overflowed their cardinality limit; writes one warning per metric and reason, and reports each
/// drop on the <c>Otlp</c> meter (<c>otlp.metrics.measurements.dropped</c>).
/// </summary>
internal sealed class MeasurementDrops(Action<string> warn)
{
    private static readonly KeyValuePair<string, object?> NonFiniteReason = new("otlp.reason", "non_finite");
    private static readonly KeyValuePair<string, object?> NegativeReason = new("otlp.reason", "negative_counter_value");
    private static readonly KeyValuePair<string, object?> FailedReason = new("otlp.reason", "recording_failed");
    private readonly ConcurrentDictionary<(string Metric, string Reason), bool> warned = new();
    private long nonFinite;
    private long negative;
    private long failed;
    private long reservoirFailures;

    public long NonFiniteCount => Interlocked.Read(ref this.nonFinite);

    public long NegativeCount => Interlocked.Read(ref this.negative);

    public long FailedCount => Interlocked.Read(ref this.failed);

    public void NonFinite(string metric)
    {
        Interlocked.Increment(ref this.nonFinite);
        Diagnostics.OtlpSelfTelemetry.MeasurementsDropped.Add(1, NonFiniteReason);
        this.WarnOnce(metric, "non_finite", $"Metric '{metric}': NaN and infinite measurements are dropped.");
    }

    public void Negative(string metric)
    {
        Interlocked.Increment(ref this.negative);
        Diagnostics.OtlpSelfTelemetry.MeasurementsDropped.Add(1, NegativeReason);
        this.WarnOnce(metric, "negative", $"Metric '{metric}': negative measurements of a counter are dropped.");
    }

    /// <summary>A measurement whose recording threw (the application's code in it: a tag value's Equals), of <paramref name="fault"/> (an exception type's name).</summary>
    public void Failed(string metric, string fault)
    {
        Interlocked.Increment(ref this.failed);
        try
        {
            Diagnostics.OtlpSelfTelemetry.MeasurementsDropped.Add(1, FailedReason);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An application's listener of the Otlp meter: called here from a catch on the recording thread, what it
            // throws would reach the application's Add.
        }

        this.WarnOnce(metric, "failed:" + fault, $"Metric '{metric}': a measurement could not be recorded ({fault} was thrown, by a tag value's Equals or the like); such measurements are dropped.");
    }

    /// <summary>Calls to a view's own exemplar reservoir (or its factory) that failed.</summary>
    public long ReservoirFailures => Interlocked.Read(ref this.reservoirFailures);

    public void ReservoirFailed(string metric, string what)
    {
        Interlocked.Increment(ref this.reservoirFailures);
        this.WarnOnce(metric, "reservoir", $"Metric '{metric}': its view's exemplar reservoir failed ({what}); the exemplars it had are lost, the measurements are recorded.");
    }

    public void ReservoirOverfull(string metric, int returned, int limit) =>
        this.WarnOnce(
            metric,
            "reservoir-overfull",
            $"Metric '{metric}': its view's exemplar reservoir returned {returned} exemplars for one point; the first {limit} are kept.");

    public void Overflowed(string metric, int limit) =>
        this.WarnOnce(
            metric,
            "overflow",
            $"Metric '{metric}' reached its cardinality limit of {limit} series: measurements of new attribute sets go to the series otel.metric.overflow=true.");

    private void WarnOnce(string metric, string reason, string message)
    {
        if (this.warned.TryAdd((metric, reason), true))
        {
            warn(message);
        }
    }
}

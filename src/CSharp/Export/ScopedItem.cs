using Otlp.Core;

namespace Otlp;

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
    /// <param name="schemaUrl">The schema URL of the scope's telemetry (an ActivitySource's
    /// <c>TelemetrySchemaUrl</c>); empty for none.</param>
    public ItemOrigin(InstrumentationScope scope, Func<object, TItem>? convert, bool deferred, string schemaUrl = "")
    {
        this.Scope = scope;
        this.Convert = convert;
        this.Deferred = deferred;
        this.SchemaUrl = schemaUrl;
    }

    /// <summary>The scope.</summary>
    public InstrumentationScope Scope { get; }

    /// <summary>The schema URL of the scope's telemetry, sent as its scope message's <c>schema_url</c>; empty for none.</summary>
    public string SchemaUrl { get; }

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

    /// <summary>The schema URL of the scope's telemetry; empty for none.</summary>
    public string SchemaUrl => this.origin.SchemaUrl;

    /// <summary>The item, when given directly; default for a deferred one.</summary>
    public TItem Item => this.origin.Deferred ? default! : (TItem)this.value!;

    /// <summary>The source of a deferred item (an Activity, a log entry), converted by <see cref="Convert"/>; null otherwise.</summary>
    public object? Source => this.origin.Deferred ? this.value : null;

    /// <summary>Turns <see cref="Source"/> into the item, on the export task; null for an item given directly.</summary>
    public Func<object, TItem>? Convert => this.origin.Convert;
}

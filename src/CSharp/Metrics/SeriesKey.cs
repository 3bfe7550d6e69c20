using System.Runtime.CompilerServices;

namespace Otlp.Metrics;

/// <summary>
/// The attributes that identify a series: sorted by key (ordinally), each key once (its last value), only the keys a
/// view keeps. Built once, when a series is created.
/// </summary>
internal sealed class SeriesKey
{
    private SeriesKey(KeyValuePair<string, object?>[] tags, int hash)
    {
        this.Tags = tags;
        this.Hash = hash;
    }

    /// <summary>The tags, sorted by key.</summary>
    public KeyValuePair<string, object?>[] Tags { get; }

    /// <summary>The order-insensitive hash, the same as <see cref="SeriesKeyComparer"/> computes from a span.</summary>
    public int Hash { get; }

    /// <summary>Same tags (sorted, so compared in order) with equal values.</summary>
    public override bool Equals(object? obj)
    {
        if (ReferenceEquals(this, obj))
        {
            return true;
        }

        if (obj is not SeriesKey other || other.Hash != this.Hash || other.Tags.Length != this.Tags.Length)
        {
            return false;
        }

        for (var i = 0; i < this.Tags.Length; i++)
        {
            if (!string.Equals(this.Tags[i].Key, other.Tags[i].Key, StringComparison.Ordinal) || !object.Equals(this.Tags[i].Value, other.Tags[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The order-insensitive hash.</summary>
    public override int GetHashCode() => this.Hash;

    /// <summary>The key of a measurement's tags, keeping those <paramref name="keeps"/> accepts.</summary>
    public static SeriesKey From(ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps)
    {
        var kept = new List<KeyValuePair<string, object?>>(tags.Length);
        foreach (var tag in tags)
        {
            if (tag.Key is null || !keeps(tag.Key))
            {
                continue;
            }

            // The last value of a repeated key counts, as in the core's attribute sets.
            var at = kept.FindIndex(t => string.Equals(t.Key, tag.Key, StringComparison.Ordinal));
            if (at >= 0)
            {
                kept[at] = tag;
            }
            else
            {
                kept.Add(tag);
            }
        }

        var sorted = kept.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var hash = 0;
        foreach (var tag in sorted)
        {
            hash += SeriesKeyComparer.HashOf(tag);
        }

        return new SeriesKey(sorted, hash);
    }
}

/// <summary>
/// Compares series keys with each other and with the tags of a measurement as the runtime hands them over
/// (<see cref="ReadOnlySpan{T}"/>), in any order, so that finding an existing series allocates nothing: the
/// hash is a sum of per-tag hashes, and equality finds each of the key's tags among the measurement's.
/// </summary>
internal sealed class SeriesKeyComparer : IEqualityComparer<SeriesKey>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, SeriesKey>
{
    private readonly string[]? allowed;

    /// <summary>A comparer keeping only <paramref name="allowed"/> keys (sorted ordinally), or every key for null.</summary>
    public SeriesKeyComparer(string[]? allowed)
    {
        this.allowed = allowed;
        this.KeepsKey = this.Keeps;
    }

    /// <summary>The allow-list as a function.</summary>
    public Func<string, bool> KeepsKey { get; }

    /// <summary>
    /// The hash of one tag: the (randomized) string hash of its key mixed with its value's hash, not linearly, so that
    /// swapping values between keys changes the sum. String hashes come from <see cref="StringHashes"/>.
    /// </summary>
    public static int HashOf(KeyValuePair<string, object?> tag)
    {
        var value = tag.Value switch
        {
            null => 0,
            string text => StringHashes.Of(text),
            var other => other.GetHashCode(),
        };
        return unchecked((int)(((uint)StringHashes.Of(tag.Key) ^ ((uint)value * 0x85EBCA6Bu)) * 0xC2B2AE35u));
    }

    public bool Equals(SeriesKey? x, SeriesKey? y) => x is null ? y is null : x.Equals(y);

    public int GetHashCode(SeriesKey key) => key.Hash;

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = 0;
        foreach (var tag in tags)
        {
            if (tag.Key is not null && this.Keeps(tag.Key))
            {
                hash += HashOf(tag);
            }
        }

        return hash;
    }

    /// <summary>
    /// Equal when the measurement has as many kept tags as the key and each of the key's (distinct) keys is among
    /// them with an equal value: then the kept tags are the key's, in some order. Repeated keys in a measurement
    /// may miss here; the slow path then finds the series by its built key.
    /// </summary>
    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> tags, SeriesKey key)
    {
        // The common case first: every tag kept, in the key's (sorted) order, pair by pair equal. The key's keys
        // are distinct, so then the measurement's are the key's.
        var keyTags = key.Tags;
        if (this.allowed is null && tags.Length == keyTags.Length)
        {
            var same = 0;
            while (same < tags.Length
                && string.Equals(tags[same].Key, keyTags[same].Key, StringComparison.Ordinal)
                && object.Equals(tags[same].Value, keyTags[same].Value))
            {
                same++;
            }

            if (same == tags.Length)
            {
                return true;
            }
        }

        var kept = 0;
        foreach (var tag in tags)
        {
            if (tag.Key is not null && this.Keeps(tag.Key))
            {
                kept++;
            }
        }

        if (kept != key.Tags.Length)
        {
            return false;
        }

        foreach (var wanted in key.Tags)
        {
            var found = false;
            foreach (var tag in tags)
            {
                if (string.Equals(tag.Key, wanted.Key, StringComparison.Ordinal) && object.Equals(tag.Value, wanted.Value))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    public SeriesKey Create(ReadOnlySpan<KeyValuePair<string, object?>> tags) => SeriesKey.From(tags, this.KeepsKey);

    private bool Keeps(string key) => this.allowed is null || Array.BinarySearch(this.allowed, key, StringComparer.Ordinal) >= 0;
}

/// <summary>
/// The string hash of text met again and again by reference (tag keys, and values such as routes and region names,
/// are usually literals or cached strings), remembered per thread by the string's identity: hashing the
/// characters was most of the cost of finding a series. A small direct-mapped table; a miss hashes and replaces.
/// </summary>
internal static class StringHashes
{
    private const int Slots = 1024;

    [ThreadStatic]
    private static Entry[]? entries;

    /// <summary>The same value as <see cref="string.GetHashCode()"/>.</summary>
    public static int Of(string text)
    {
        var table = entries ??= new Entry[Slots];
        ref var entry = ref table[RuntimeHelpers.GetHashCode(text) & (Slots - 1)];
        if (ReferenceEquals(entry.Text, text))
        {
            return entry.Hash;
        }

        var hash = text.GetHashCode();
        entry = new Entry(text, hash);
        return hash;
    }

    private readonly record struct Entry(string? Text, int Hash);
}

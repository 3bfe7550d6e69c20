using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Otlp.Metrics;

/// <summary>
/// The attributes that identify a series: sorted by key (ordinally), each key once (its last value), only the keys a
/// view keeps. Built once, when a series is created. It is the exported attribute set: tags with a null value or an
/// empty key are not part of it (they are not exported), and values that export alike are equal
/// (<see cref="SeriesValues"/>). Arrays are copied, so that the caller may reuse its own.
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
            if (!string.Equals(this.Tags[i].Key, other.Tags[i].Key, StringComparison.Ordinal) || !SeriesValues.Equal(this.Tags[i].Value, other.Tags[i].Value))
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
        // An array is copied: the caller may change its own afterwards.
        var sorted = LastOfEachKey(tags, keeps, copyArrays: true).ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var hash = 0;
        var strings = StringHashes.OfThisThread;
        foreach (var tag in sorted)
        {
            hash += SeriesKeyComparer.HashOf(tag, strings);
        }

        return new SeriesKey(sorted, hash);
    }

    /// <summary>
    /// The exported tags whose keys <paramref name="keeps"/> accepts, each key once at its first place with the value
    /// of its last (as in the core's attribute sets); arrays copied when <paramref name="copyArrays"/>.
    /// </summary>
    public static List<KeyValuePair<string, object?>> LastOfEachKey(ReadOnlySpan<KeyValuePair<string, object?>> tags, Func<string, bool> keeps, bool copyArrays)
    {
        var kept = new List<KeyValuePair<string, object?>>(tags.Length);
        foreach (var tag in tags)
        {
            if (!SeriesKeyComparer.IsExported(tag) || !keeps(tag.Key))
            {
                continue;
            }

            var own = copyArrays && tag.Value is Array array ? new KeyValuePair<string, object?>(tag.Key, array.Clone()) : tag;
            var at = kept.FindIndex(t => string.Equals(t.Key, tag.Key, StringComparison.Ordinal));
            if (at >= 0)
            {
                kept[at] = own;
            }
            else
            {
                kept.Add(own);
            }
        }

        return kept;
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
    /// swapping values between keys changes the sum. String hashes come from <see cref="StringHashes"/>; values that
    /// export alike hash alike (<see cref="SeriesValues.Hash"/>).
    /// </summary>
    /// <param name="tag">The tag.</param>
    /// <param name="strings">This thread's table of string hashes (<see cref="StringHashes.OfThisThread"/>), read once
    /// per measurement rather than once per string: each read of a thread-static is a lookup of its own.</param>
    public static int HashOf(KeyValuePair<string, object?> tag, StringHashes.Table strings)
    {
        // The common types first, in line; the others (and the integers that hash as the long they export as).
        var value = tag.Value switch
        {
            null => 0,
            string text => strings.Of(text),
            long n => n.GetHashCode(),
            int n => ((long)n).GetHashCode(),
            double d => d.GetHashCode(),
            bool b => b.GetHashCode(),
            var other => SeriesValues.Hash(other),
        };
        return unchecked((int)(((uint)strings.Of(tag.Key) ^ ((uint)value * 0x85EBCA6Bu)) * 0xC2B2AE35u));
    }

    /// <summary>True for a tag that is exported, and so part of a series' key: a key that is not empty, a value that is not null.</summary>
    public static bool IsExported(KeyValuePair<string, object?> tag) => !string.IsNullOrEmpty(tag.Key) && tag.Value is not null;

    public bool Equals(SeriesKey? x, SeriesKey? y) => x is null ? y is null : x.Equals(y);

    public int GetHashCode(SeriesKey key) => key.Hash;

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = 0;
        var strings = StringHashes.OfThisThread;
        foreach (var tag in tags)
        {
            if (IsExported(tag) && this.Keeps(tag.Key))
            {
                hash += HashOf(tag, strings);
            }
        }

        return hash;
    }

    /// <summary>
    /// Equal when the measurement has as many kept tags as the key and each of the key's (distinct) keys is among
    /// them with an equal value: then the kept tags are the key's, in some order. Repeated keys in a measurement
    /// may miss here; the slow path then finds the series by its built key. Tags that are not exported (null values,
    /// empty keys) are not counted.
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
                && (object.Equals(tags[same].Value, keyTags[same].Value) || SeriesValues.Alike(tags[same].Value, keyTags[same].Value)))
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
            if (IsExported(tag) && this.Keeps(tag.Key))
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
                if (string.Equals(tag.Key, wanted.Key, StringComparison.Ordinal) && SeriesValues.Equal(tag.Value, wanted.Value))
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
/// Equality and hashes of tag values as they are exported (<see cref="Tracing.TagValues.ToAnyValue"/>): the integers up
/// to <c>long</c> as the long they export as, <c>float</c> as the double, a <c>char</c> as its one-character string,
/// arrays by their elements under the same rules (empty arrays of any type alike; an array of other elements,
/// each exported as its own type, element by element under these rules);
/// anything else by its own equality.
/// </summary>
internal static class SeriesValues
{
    private enum Elements
    {
        Integral,
        Floating,
        Text,
        Boolean,
        Other,
    }

    /// <summary>Equal as exported: <see cref="object.Equals(object, object)"/> first, then <see cref="Alike"/>.</summary>
    public static bool Equal(object? a, object? b) => object.Equals(a, b) || Alike(a, b);

    /// <summary>
    /// True for values <see cref="object.Equals(object, object)"/> finds different but that export alike: an int and
    /// a long of one value, a float and its double, a char and its string, arrays of equal elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool Alike(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return false;
        }

        if (Integral(a, out var x))
        {
            return Integral(b, out var y) && x == y;
        }

        if (Floating(a, out var d))
        {
            return Floating(b, out var e) && d.Equals(e);
        }

        if (a is Array first)
        {
            return b is Array second && ArraysEqual(first, second);
        }

        // Strings, chars and every other value exported as its text (ulong, decimal, enums, the application's own
        // types) are alike when their texts are.
        return ExportedText(a) is { } x2 && ExportedText(b) is { } y2 && string.Equals(x2, y2, StringComparison.Ordinal);
    }

    /// <summary>
    /// The text <paramref name="value"/> is exported as (<c>TagValues.ToAnyValue</c>): a string itself, a char's,
    /// any other value's invariant text; null for numbers, booleans and arrays, which are exported as themselves.
    /// </summary>
    private static string? ExportedText(object value) => value switch
    {
        string s => s,
        char c => c.ToString(),
        bool or Array => null,
        _ when Integral(value, out _) || Floating(value, out _) => null,
        _ => Tracing.TagValues.Text(value),
    };

    /// <summary>The hash of a value that is not one of the common types, consistent with <see cref="Equal"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Hash(object value)
    {
        if (Integral(value, out var n))
        {
            return n.GetHashCode();
        }

        if (Floating(value, out var d))
        {
            return d.GetHashCode();
        }

        return value switch
        {
            string s => StringHashes.OfThisThread.Of(s),
            char c => string.GetHashCode(MemoryMarshal.CreateReadOnlySpan(ref c, 1)),
            Array array => ArrayHash(array),
            bool b => b.GetHashCode(),
            // Exported as its text: hashed as that text, as the string it equals is.
            _ => Tracing.TagValues.Text(value).GetHashCode(),
        };
    }

    private static bool Integral(object value, out long n)
    {
        switch (value)
        {
            case long l: n = l; return true;
            case int i: n = i; return true;
            case short s: n = s; return true;
            case byte b: n = b; return true;
            case sbyte b: n = b; return true;
            case ushort s: n = s; return true;
            case uint i: n = i; return true;
            default: n = 0; return false;
        }
    }

    private static bool Floating(object value, out double d)
    {
        switch (value)
        {
            case double x: d = x; return true;
            case float f: d = f; return true;
            default: d = 0; return false;
        }
    }

    private static Elements KindOf(Array array)
    {
        // The exact element type: the runtime lets a ulong[] pass as a long[] (and uint[] as int[]).
        var type = array.GetType().GetElementType();
        return type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(byte)
                || type == typeof(sbyte) || type == typeof(ushort) || type == typeof(uint) ? Elements.Integral
            : type == typeof(double) || type == typeof(float) ? Elements.Floating
            : type == typeof(string) || type == typeof(char) ? Elements.Text
            : type == typeof(bool) ? Elements.Boolean
            : Elements.Other;
    }

    private static bool ArraysEqual(Array x, Array y)
    {
        // A byte[] is exported as bytes, alike only another byte[] of the same bytes (an empty one too).
        var (xBytes, yBytes) = (x.GetType() == typeof(byte[]), y.GetType() == typeof(byte[]));
        if (xBytes || yBytes)
        {
            return xBytes && yBytes && Unsafe.As<byte[]>(x).AsSpan().SequenceEqual(Unsafe.As<byte[]>(y));
        }

        // Empty arrays export alike whatever their element type.
        if (x.Length != y.Length)
        {
            return false;
        }

        if (x.Length == 0)
        {
            return true;
        }

        var kind = KindOf(x);
        var other = KindOf(y);
        if (kind == Elements.Other || other == Elements.Other)
        {
            // An array of other elements (object[], enums, decimals) exports each element as its own type: equal when
            // each pair of elements exports alike.
            for (var i = 0; i < x.Length; i++)
            {
                var (a, b) = (x.GetValue(i), y.GetValue(i));
                if (a is null || b is null ? !(a is null && b is null) : !Equal(a, b))
                {
                    return false;
                }
            }

            return true;
        }

        if (IsTextual(kind) && IsTextual(other))
        {
            // Arrays of strings or chars are exported as arrays of texts.
            for (var i = 0; i < x.Length; i++)
            {
                if (!string.Equals(ElementText(x, i, kind), ElementText(y, i, other), StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        if (kind != other)
        {
            return false;
        }

        for (var i = 0; i < x.Length; i++)
        {
            var same = kind switch
            {
                Elements.Integral => IntegralAt(x, i) == IntegralAt(y, i),
                Elements.Floating => FloatingAt(x, i).Equals(FloatingAt(y, i)),
                Elements.Text => TextAt(x, i, out var cx).SequenceEqual(TextAt(y, i, out var cy)) && (cx is not null) == (cy is not null),
                Elements.Boolean => ((bool[])x)[i] == ((bool[])y)[i],
                _ => Equal(x.GetValue(i), y.GetValue(i)),
            };
            if (!same)
            {
                return false;
            }
        }

        return true;
    }

    private static int ArrayHash(Array array)
    {
        // Not the element type: empty arrays of any type are equal.
        var kind = KindOf(array);
        var hash = array.Length;
        for (var i = 0; i < array.Length; i++)
        {
            var element = kind switch
            {
                Elements.Integral => IntegralAt(array, i).GetHashCode(),
                Elements.Floating => FloatingAt(array, i).GetHashCode(),
                Elements.Boolean => ((bool[])array)[i].GetHashCode(),

                Elements.Text => string.GetHashCode(ElementText(array, i, kind)),

                // Other elements are exported as their own types: hashed as the arrays of those types hash them.
                _ => OtherElementHash(array.GetValue(i)),
            };
            hash = HashCode.Combine(hash, element);
        }

        return hash;
    }

    private static bool IsTextual(Elements kind) => kind is Elements.Text;

    /// <summary>
    /// The hash of an element of an array of other elements, as an array of its exported type hashes it: integers as
    /// their long, floating points as their double, booleans as such, anything else (a null as empty) as its text.
    /// </summary>
    private static int OtherElementHash(object? element) =>
        element is null ? string.GetHashCode(ReadOnlySpan<char>.Empty)
        : Integral(element, out var n) ? n.GetHashCode()
        : Floating(element, out var d) ? d.GetHashCode()
        : element is bool b ? b.GetHashCode()
        : string.GetHashCode(ExportedText(element) ?? Tracing.TagValues.Text(element));

    /// <summary>The text an element of a textual array is exported as; null for a null element.</summary>
    private static string? ElementText(Array array, int i, Elements kind) =>
        kind == Elements.Text
            ? (array is string[] strings ? strings[i] : Unsafe.As<char[]>(array)[i].ToString())
            : array.GetValue(i) is { } element ? Tracing.TagValues.Text(element) : null;

    private static long IntegralAt(Array array, int i)
    {
        var type = array.GetType();
        return type == typeof(long[]) ? Unsafe.As<long[]>(array)[i]
            : type == typeof(int[]) ? Unsafe.As<int[]>(array)[i]
            : type == typeof(short[]) ? Unsafe.As<short[]>(array)[i]
            : type == typeof(byte[]) ? Unsafe.As<byte[]>(array)[i]
            : type == typeof(sbyte[]) ? Unsafe.As<sbyte[]>(array)[i]
            : type == typeof(ushort[]) ? Unsafe.As<ushort[]>(array)[i]
            : Unsafe.As<uint[]>(array)[i];
    }

    private static double FloatingAt(Array array, int i) =>
        array.GetType() == typeof(double[]) ? Unsafe.As<double[]>(array)[i] : Unsafe.As<float[]>(array)[i];

    /// <summary>The text of a string or char element; <paramref name="present"/> null for a null string.</summary>
    private static ReadOnlySpan<char> TextAt(Array array, int i, out object? present)
    {
        if (array is string[] strings)
        {
            present = strings[i];
            return strings[i];
        }

        present = array;
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<char[]>(array)[i], 1);
    }
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
    private static Table? table;

    /// <summary>This thread's table.</summary>
    public static Table OfThisThread => table ??= new Table();

    /// <summary>One thread's remembered hashes.</summary>
    internal sealed class Table
    {
        private readonly Entry[] entries = new Entry[Slots];

        /// <summary>The same value as <see cref="string.GetHashCode()"/>.</summary>
        public int Of(string text)
        {
            ref var entry = ref this.entries[RuntimeHelpers.GetHashCode(text) & (Slots - 1)];
            if (ReferenceEquals(entry.Text, text))
            {
                return entry.Hash;
            }

            var hash = text.GetHashCode();
            entry = new Entry(text, hash);
            return hash;
        }
    }

    private readonly record struct Entry(string? Text, int Hash);
}

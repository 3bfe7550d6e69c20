using System.Globalization;
using System.Runtime.InteropServices;
using Otlp.Core;
using Otlp.Core.Protobuf;

namespace Otlp.Tracing;

/// <summary>
/// CLR values of activity tags and log state to OTLP attribute values, the way OpenTelemetry .NET converts them
/// (its <c>TagWriter</c>): strings and chars as strings; booleans; signed and unsigned integers up to 32 bits and
/// <c>long</c> as integers; <c>float</c> and <c>double</c> as doubles; <c>byte[]</c> as bytes; other arrays element by element, each element as
/// its own type (an element that is none of those as text, so an enum array is an array of names); anything else (<c>ulong</c>, <c>decimal</c>, enums, objects) through
/// <c>ToString</c> with the invariant culture (a <c>ToString</c> that throws gives a text saying so). A null value
/// is an empty AnyValue.
/// </summary>
internal static class TagValues
{
    /// <summary>
    /// The attribute value of <paramref name="value"/>; an empty AnyValue for null (common spec, "AnyValue": an empty
    /// value is meaningful and MUST be passed on to exporters).
    /// </summary>
    public static AnyValue ToAnyValue(object? value)
    {
        if (value is null)
        {
            return AnyValue.Empty;
        }

        if (Scalar(value) is { } scalar)
        {
            return scalar;
        }

        if (value.GetType() == typeof(byte[]))
        {
            // A byte sequence is bytes (attribute mapping, "Byte Sequences"), as OpenTelemetry .NET sends it. The exact
            // type: the runtime lets an sbyte[] pass as a byte[].
            return AnyValue.NewBytes(((byte[])value).AsSpan().ToArray());
        }

        if (value is Array array)
        {
            // Each element as its own type (attribute mapping, "Array Values": the rules apply to each element), so an
            // object[] of 1 and "x" is [1, "x"], as OpenTelemetry .NET sends it; an element that is no scalar is text.
            // Enumerated rather than indexed: GetValue(i) throws for a multi-dimensional or non-zero-based array,
            // which enumerates its elements in storage order.
            var items = new AnyValue[array.Length];
            var i = 0;
            foreach (var element in array)
            {
                items[i++] = element is null ? AnyValue.Empty : Scalar(element) ?? AnyValue.NewString(Text(element));
            }

            return AnyValue.NewArray(items);
        }

        return AnyValue.NewString(Text(value));
    }

    /// <summary>
    /// Attributes of key-value pairs, in order, leaving out empty keys (a null value is an empty AnyValue) and repeated
    /// ones: the first occurrence of a key is kept (common spec, "Attribute Collections": exported collections MUST
    /// hold unique keys).
    /// </summary>
    public static KeyValue[] ToAttributes(IEnumerable<KeyValuePair<string, object?>>? tags, Func<string, bool>? skip = null)
    {
        if (tags is null)
        {
            return [];
        }

        var result = new List<KeyValue>();
        foreach (var (key, value) in tags)
        {
            if (string.IsNullOrEmpty(key) || (skip is not null && skip(key)))
            {
                continue;
            }

            if (!result.Exists(kv => string.Equals(kv.Key, key, StringComparison.Ordinal)))
            {
                result.Add(new KeyValue(key, ToAnyValue(value)));
            }
        }

        return result.ToArray();
    }

    /// <summary>
    /// Writes <paramref name="key"/> and <paramref name="value"/> as one KeyValue of the repeated
    /// <paramref name="field"/>, mapped as <see cref="ToAnyValue"/> maps it and with strings cut as
    /// <c>Limits.truncateString</c> cuts them, straight into <paramref name="writer"/>: no AnyValue is built and,
    /// for strings, numbers, booleans and arrays of those, nothing is allocated. A null value is written as an empty AnyValue.
    /// Always true (kept for its callers).
    /// </summary>
    public static bool WriteAttribute(ProtoWriter writer, int field, string key, object? value, int maxLength)
    {
        // The common scalars go to the core's one-piece attribute writers; the rest value by value.
        switch (value)
        {
            case string s:
                CommonFields.attributeString(writer, field, key, Truncated(s.AsSpan(), maxLength));
                return true;
            case long n:
                CommonFields.attributeInt(writer, field, key, n);
                return true;
            case int n:
                CommonFields.attributeInt(writer, field, key, n);
                return true;
            case double d:
                CommonFields.attributeDouble(writer, field, key, d);
                return true;
            case bool b:
                CommonFields.attributeBool(writer, field, key, b);
                return true;
            case string[] strings when writer.TryStringArrayAttribute(field, key, strings, maxLength):
                return true;
        }

        var token = CommonFields.beginAttribute(writer, field, key);
        WriteValue(writer, value, maxLength);
        CommonFields.endAttribute(writer, token);
        return true;
    }

    /// <summary>
    /// The AnyValue content of a value, as <see cref="ToAnyValue"/> maps it; nothing for null (an empty AnyValue). Null
    /// is told here rather than in <see cref="WriteAttribute"/>, which is inlined into every attribute loop and is
    /// kept to the common cases.
    /// </summary>
    private static void WriteValue(ProtoWriter writer, object? value, int maxLength)
    {
        if (value is null)
        {
            return;
        }

        if (WriteScalar(writer, value, maxLength))
        {
            return;
        }

        if (value.GetType() == typeof(byte[]))
        {
            // Cut as Limits cuts bytes: to at most the value length limit.
            var bytes = (byte[])value;
            CommonFields.bytesValue(writer, bytes.AsSpan(0, Math.Min(bytes.Length, Math.Max(0, maxLength))));
            return;
        }

        if (value is Array array)
        {
            var token = CommonFields.beginArray(writer);
            WriteElements(writer, array, maxLength);
            CommonFields.endArray(writer, token);
            return;
        }

        WriteText(writer, value, maxLength);
    }

    private static void WriteElements(ProtoWriter writer, Array array, int maxLength)
    {
        // The common element types without boxing; the rest element by element as ToAnyValue does. The exact type
        // is tested because the runtime lets a ulong[] pass as a long[] (and uint[] as int[]).
        var type = array.GetType();
        switch (array)
        {
            case string[] strings:
                foreach (var s in strings)
                {
                    if (s is null)
                    {
                        CommonFields.endElement(writer, CommonFields.beginElement(writer));
                    }
                    else
                    {
                        CommonFields.stringElement(writer, Truncated(s.AsSpan(), maxLength));
                    }
                }

                return;
            case long[] longs when type == typeof(long[]):
                foreach (var n in longs)
                {
                    var element = CommonFields.beginElement(writer);
                    CommonFields.intValue(writer, n);
                    CommonFields.endElement(writer, element);
                }

                return;
            case int[] ints when type == typeof(int[]):
                foreach (var n in ints)
                {
                    var element = CommonFields.beginElement(writer);
                    CommonFields.intValue(writer, n);
                    CommonFields.endElement(writer, element);
                }

                return;
            case double[] doubles when type == typeof(double[]):
                foreach (var d in doubles)
                {
                    var element = CommonFields.beginElement(writer);
                    CommonFields.doubleValue(writer, d);
                    CommonFields.endElement(writer, element);
                }

                return;
            case bool[] bools when type == typeof(bool[]):
                foreach (var b in bools)
                {
                    var element = CommonFields.beginElement(writer);
                    CommonFields.boolValue(writer, b);
                    CommonFields.endElement(writer, element);
                }

                return;
        }

        // A one-dimensional array from 0 by index (no enumerator); any other (multi-dimensional, non-zero-based,
        // which GetValue(i) would throw for) enumerated, in storage order.
        if (type.IsSZArray)
        {
            for (var i = 0; i < array.Length; i++)
            {
                WriteElement(writer, array.GetValue(i), maxLength);
            }
        }
        else
        {
            foreach (var value in array)
            {
                WriteElement(writer, value, maxLength);
            }
        }
    }

    private static void WriteElement(ProtoWriter writer, object? value, int maxLength)
    {
        var element = CommonFields.beginElement(writer);
        if (value is not null)
        {
            if (!WriteScalar(writer, value, maxLength))
            {
                WriteText(writer, value, maxLength);
            }
        }

        CommonFields.endElement(writer, element);
    }

    private static bool WriteScalar(ProtoWriter writer, object value, int maxLength)
    {
        // The types are disjoint, so the order is only for speed: the common ones are tested first.
        switch (value)
        {
            case string s:
                WriteString(writer, s.AsSpan(), maxLength);
                return true;
            case long n:
                CommonFields.intValue(writer, n);
                return true;
            case int n:
                CommonFields.intValue(writer, n);
                return true;
            case bool b:
                CommonFields.boolValue(writer, b);
                return true;
            case double d:
                CommonFields.doubleValue(writer, d);
                return true;
            case char c:
                WriteString(writer, MemoryMarshal.CreateReadOnlySpan(ref c, 1), maxLength);
                return true;
            case sbyte n:
                CommonFields.intValue(writer, n);
                return true;
            case byte n:
                CommonFields.intValue(writer, n);
                return true;
            case short n:
                CommonFields.intValue(writer, n);
                return true;
            case ushort n:
                CommonFields.intValue(writer, n);
                return true;
            case uint n:
                CommonFields.intValue(writer, n);
                return true;
            case float f:
                CommonFields.doubleValue(writer, f);
                return true;
            default:
                return false;
        }
    }

    private static void WriteString(ProtoWriter writer, ReadOnlySpan<char> text, int maxLength) =>
        CommonFields.stringValue(writer, Truncated(text, maxLength));

    /// <summary>The text cut as <c>Limits.truncateString</c> cuts it.</summary>
    private static ReadOnlySpan<char> Truncated(ReadOnlySpan<char> text, int maxLength) =>
        text.Length <= maxLength ? text : text[..LimitsModule.truncatedLength(maxLength, text)];

    /// <summary>Any other value as its invariant text; formatted on the stack when it can be.</summary>
    private static void WriteText(ProtoWriter writer, object value, int maxLength)
    {
        if (value is ISpanFormattable formattable)
        {
            Span<char> buffer = stackalloc char[128];
            bool formatted;
            int written;
            try
            {
                formatted = formattable.TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                (formatted, written) = (false, 0);
            }

            // The count is the application's word: one past the buffer (a bug in its TryFormat) would make the
            // slice throw and fail the whole batch, so its ToString is used then.
            if (formatted && (uint)written <= (uint)buffer.Length)
            {
                WriteString(writer, buffer[..written], maxLength);
                return;
            }
        }

        WriteString(writer, Text(value).AsSpan(), maxLength);
    }

    private static AnyValue? Scalar(object value) => value switch
    {
        string s => AnyValue.NewString(s),
        char c => AnyValue.NewString(c.ToString()),
        bool b => AnyValue.NewBool(b),
        sbyte n => AnyValue.NewInt(n),
        byte n => AnyValue.NewInt(n),
        short n => AnyValue.NewInt(n),
        ushort n => AnyValue.NewInt(n),
        int n => AnyValue.NewInt(n),
        uint n => AnyValue.NewInt(n),
        long n => AnyValue.NewInt(n),
        float f => AnyValue.NewDouble(f),
        double d => AnyValue.NewDouble(d),
        _ => null,
    };

    /// <summary>
    /// The invariant text of an application's value. Its <c>ToString</c> is the application's code: when it throws,
    /// the text says so (the attribute stays, and with it the sign of the fault), rather than the whole batch failing.
    /// </summary>
    internal static string Text(object value)
    {
        try
        {
            return Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"({value.GetType().Name}.ToString threw {e.GetType().Name})";
        }
    }
}

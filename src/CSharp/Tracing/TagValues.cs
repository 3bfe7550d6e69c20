using System.Globalization;
using Otlp.Core;

namespace Otlp.Tracing;

/// <summary>
/// CLR values of activity tags and log state to OTLP attribute values, the way OpenTelemetry .NET converts them
/// (its <c>TagWriter</c>): strings and chars as strings; booleans; signed and unsigned integers up to 32 bits and
/// <c>long</c> as integers; <c>float</c> and <c>double</c> as doubles; arrays of those element by element; any
/// other array as an array of strings; anything else (<c>ulong</c>, <c>decimal</c>, enums, objects) through
/// <c>ToString</c> with the invariant culture. Null values are left out.
/// </summary>
internal static class TagValues
{
    /// <summary>The attribute value of <paramref name="value"/>, or null when it is to be left out.</summary>
    public static AnyValue? ToAnyValue(object? value)
    {
        if (value is null)
        {
            return null;
        }

        if (Scalar(value) is { } scalar)
        {
            return scalar;
        }

        if (value is Array array)
        {
            var items = new AnyValue[array.Length];
            var primitive = IsSupportedElement(array.GetType().GetElementType());
            for (var i = 0; i < items.Length; i++)
            {
                var element = array.GetValue(i);
                items[i] = element is null ? AnyValue.Empty
                    : primitive ? Scalar(element)!
                    : AnyValue.NewString(Text(element));
            }

            return AnyValue.NewArray(items);
        }

        return AnyValue.NewString(Text(value));
    }

    /// <summary>Attributes of key-value pairs, in order, leaving out null values and empty keys.</summary>
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

            if (ToAnyValue(value) is { } converted)
            {
                result.Add(new KeyValue(key, converted));
            }
        }

        return result.ToArray();
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

    private static bool IsSupportedElement(Type? type) =>
        type == typeof(string) || type == typeof(char) || type == typeof(bool)
        || type == typeof(sbyte) || type == typeof(byte) || type == typeof(short) || type == typeof(ushort)
        || type == typeof(int) || type == typeof(uint) || type == typeof(long)
        || type == typeof(float) || type == typeof(double);

    private static string Text(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
}

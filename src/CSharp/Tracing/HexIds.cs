using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Otlp.Core;

namespace Otlp.Tracing;

/// <summary>
/// Activity ids as model ids, read from the hex text the id already holds (<c>ToHexString</c> returns it without
/// allocating). <see cref="ActivityTraceId.CopyTo"/> decodes the same text but costs several times more, and an
/// exporter reads five ids per span.
/// </summary>
internal static class HexIds
{
    /// <summary>The model trace id of <paramref name="id"/>.</summary>
    public static TraceId ToTraceId(ActivityTraceId id)
    {
        var hex = id.ToHexString();
        if (hex.Length == 32 && TryParse32(hex.AsSpan(), out var high, out var low))
        {
            return new TraceId(high, low);
        }

        return FromBytes(id);
    }

    /// <summary>The model span id of <paramref name="id"/> (the default id is the empty one).</summary>
    public static SpanId ToSpanId(ActivitySpanId id)
    {
        var hex = id.ToHexString();
        if (hex.Length == 16 && TryParse(hex.AsSpan(), out var value))
        {
            return new SpanId(value);
        }

        return FromBytes(id);
    }

    /// <summary>
    /// The model ids of a trace id and two span ids (a span's own and its parent's), the same as
    /// <see cref="ToTraceId"/> and <see cref="ToSpanId"/> give; their 64 digits read in one pass where the
    /// processor has 512-bit vectors.
    /// </summary>
    public static void ToIds(ActivityTraceId traceId, ActivitySpanId spanId, ActivitySpanId otherSpanId, out TraceId trace, out SpanId span, out SpanId other)
    {
        var (traceHex, spanHex, otherHex) = (traceId.ToHexString(), spanId.ToHexString(), otherSpanId.ToHexString());
        if (Vector512.IsHardwareAccelerated && traceHex.Length == 32 && spanHex.Length == 16 && otherHex.Length == 16
            && TryParse64Vector(traceHex.AsSpan(), spanHex.AsSpan(), otherHex.AsSpan(), out var ids))
        {
            trace = new TraceId(ids.GetElement(0), ids.GetElement(1));
            span = new SpanId(ids.GetElement(2));
            other = new SpanId(ids.GetElement(3));
            return;
        }

        trace = ToTraceId(traceId);
        span = ToSpanId(spanId);
        other = ToSpanId(otherSpanId);
    }

    // The fallbacks out of line: a stack buffer inlined into a caller gives all of it a stack-guard check and a
    // larger frame to clear.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TraceId FromBytes(ActivityTraceId id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.CopyTo(bytes);
        return TraceId.FromBytes((ReadOnlySpan<byte>)bytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static SpanId FromBytes(ActivitySpanId id)
    {
        Span<byte> bytes = stackalloc byte[8];
        id.CopyTo(bytes);
        return SpanId.FromBytes((ReadOnlySpan<byte>)bytes);
    }

    /// <summary>
    /// Parses exactly 32 hex digits (either case) as a big-endian 128-bit integer, its high and low halves; false on
    /// any other character.
    /// </summary>
    public static bool TryParse32(ReadOnlySpan<char> hex, out ulong high, out ulong low)
    {
        Debug.Assert(hex.Length == 32, "Callers pass a trace id's 32 digits.");
        if (Vector256.IsHardwareAccelerated)
        {
            return TryParse32Vector(hex, out high, out low);
        }

        low = 0;
        return TryParse(hex[..16], out high) && TryParse(hex[16..], out low);
    }

    /// <summary>Parses exactly 16 hex digits (either case) as a big-endian integer; false on any other character.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParse(ReadOnlySpan<char> hex, out ulong value)
    {
        Debug.Assert(hex.Length == 16, "Callers slice 16 digits.");
        return Vector128.IsHardwareAccelerated ? TryParseVector(hex, out value) : TryParseScalar(hex, out value);
    }

    /// <summary>
    /// The 32 digits at once, as <see cref="TryParseVector"/> reads 16: in 256-bit vectors, so a trace id costs
    /// about what a span id does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryParse32Vector(ReadOnlySpan<char> hex, out ulong high, out ulong low)
    {
        ref var text = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(hex));
        var first = Vector256.LoadUnsafe(ref text);
        var second = Vector256.LoadUnsafe(ref text, 16);
        var chars = Vector256.Narrow(first, second);
        var digits = chars - Vector256.Create((byte)'0');
        var letters = (chars | Vector256.Create((byte)0x20)) - Vector256.Create((byte)'a');
        // Zero in every byte exactly when each character is a digit or a letter a-f of either case (see
        // TryParseVector), and the high bytes the narrowing dropped are zero: one test, no masks.
        var outside = Vector256.Min(Vector256.SubtractSaturate(digits, Vector256.Create((byte)9)), Vector256.SubtractSaturate(letters, Vector256.Create((byte)5)));
        if ((outside.AsUInt16() | ((first | second) & Vector256.Create((ushort)0xFF00))) != Vector256<ushort>.Zero)
        {
            (high, low) = (0, 0);
            return false;
        }

        var nibbles = Vector256.Min(digits, letters + Vector256.Create((byte)10)).AsUInt16();
        var pairs = ((nibbles << 4) | (nibbles >> 8)) & Vector256.Create((ushort)0xFF);
        var bytes = Vector256.Narrow(pairs, pairs).AsUInt64();
        // Each 16-bit lane holds two digits' byte (the first digit in its high nibble): the 16 bytes, in order.
        var (h, l) = (bytes.GetElement(0), bytes.GetElement(1));
        high = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(h) : h;
        low = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(l) : l;
        return true;
    }

    /// <summary>
    /// 32 digits then twice 16 (a trace id and two span ids) at once, as <see cref="TryParseVector"/> reads 16: each
    /// id's value as big-endian integers, the trace id's high and low halves first; false on any other character.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryParse64Vector(ReadOnlySpan<char> hex32, ReadOnlySpan<char> hex16, ReadOnlySpan<char> other16, out Vector256<ulong> values)
    {
        Debug.Assert(hex32.Length == 32 && hex16.Length == 16 && other16.Length == 16, "Callers pass a trace id's and two span ids' digits.");
        var first = Vector512.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(hex32)));
        var second = Vector512.Create(
            Vector256.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(hex16))),
            Vector256.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(other16))));
        var chars = Vector512.Narrow(first, second);
        var digits = chars - Vector512.Create((byte)'0');
        var letters = (chars | Vector512.Create((byte)0x20)) - Vector512.Create((byte)'a');
        var outside = Vector512.Min(Vector512.SubtractSaturate(digits, Vector512.Create((byte)9)), Vector512.SubtractSaturate(letters, Vector512.Create((byte)5)));
        if ((outside.AsUInt16() | ((first | second) & Vector512.Create((ushort)0xFF00))) != Vector512<ushort>.Zero)
        {
            values = default;
            return false;
        }

        var nibbles = Vector512.Min(digits, letters + Vector512.Create((byte)10)).AsUInt16();
        var pairs = ((nibbles << 4) | (nibbles >> 8)) & Vector512.Create((ushort)0xFF);
        var bytes = Vector512.Narrow(pairs, pairs).GetLower().AsUInt64();
        values = BitConverter.IsLittleEndian ? ReverseEndianness(bytes) : bytes;
        return true;
    }

    // Each 64-bit lane's bytes reversed (a big-endian id read as an integer).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> ReverseEndianness(Vector256<ulong> values) =>
        Vector256.Shuffle(values.AsByte(), Vector256.Create((byte)7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 23, 22, 21, 20, 19, 18, 17, 16, 31, 30, 29, 28, 27, 26, 25, 24)).AsUInt64();

    /// <summary>The 16 digits at once: narrowed to bytes, mapped to their values, and packed in pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryParseVector(ReadOnlySpan<char> hex, out ulong value)
    {
        ref var text = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(hex));
        var first = Vector128.LoadUnsafe(ref text);
        var second = Vector128.LoadUnsafe(ref text, 8);
        var chars = Vector128.Narrow(first, second);
        var digits = chars - Vector128.Create((byte)'0');
        var letters = (chars | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a');
        // A digit leaves `digits` at most 9, a letter of either case `letters` at most 5: the saturating subtractions
        // are zero exactly there, so their minimum is zero in every byte only when every character is one of them;
        // with the high bytes the narrowing dropped, one test and no masks (comparisons into masks, then combined,
        // made a longer chain before the branch).
        var outside = Vector128.Min(Vector128.SubtractSaturate(digits, Vector128.Create((byte)9)), Vector128.SubtractSaturate(letters, Vector128.Create((byte)5)));
        if ((outside.AsUInt16() | ((first | second) & Vector128.Create((ushort)0xFF00))) != Vector128<ushort>.Zero)
        {
            value = 0;
            return false;
        }

        // Each byte holds one digit's value: a digit's `letters` wraps to 207 or more, a letter's `digits` is at least 17,
        // so the smaller of the two is the value. Each 16-bit lane holds two digits, the first in its low byte.
        var nibbles = Vector128.Min(digits, letters + Vector128.Create((byte)10)).AsUInt16();
        var pairs = ((nibbles << 4) | (nibbles >> 8)) & Vector128.Create((ushort)0xFF);
        var bytes = Vector128.Narrow(pairs, pairs).AsUInt64().ToScalar();
        value = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(bytes) : bytes;
        return true;
    }

    /// <summary>The same, a digit at a time.</summary>
    internal static bool TryParseScalar(ReadOnlySpan<char> hex, out ulong value)
    {
        ref var digits = ref MemoryMarshal.GetReference(Digits);
        ulong result = 0;
        var invalid = 0;
        for (var i = 0; i < 16; i++)
        {
            // Characters past 0xFF map to 0xFF through the clamp, which marks them invalid.
            var digit = Unsafe.Add(ref digits, (nint)Math.Min((uint)hex[i], 0xFFu));
            invalid |= digit;
            result = (result << 4) | (uint)(digit & 0xF);
        }

        value = result;
        return (invalid & 0xF0) == 0;
    }

    // 0xFF for a non-digit, else the digit's value.
    private static ReadOnlySpan<byte> Digits =>
    [
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 255, 255, 255, 255, 255,
        255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
}

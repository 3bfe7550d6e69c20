using System.Runtime.InteropServices;

namespace Otlp.Transport;

/// <summary>
/// An encoded request as a transport receives it: its bytes and, when they come from a
/// <see cref="Export.PooledBuffer"/>, the room that buffer keeps free in front of them, where a transport may write a
/// frame prefix (gRPC's message header) to send the framed message without copying it. Bytes from anywhere else have
/// no such room: the bytes in front of them are not the payload's to write.
/// </summary>
internal readonly struct OutgoingPayload
{
    private readonly int roomInFront;

    private OutgoingPayload(ReadOnlyMemory<byte> bytes, int roomInFront)
    {
        this.Bytes = bytes;
        this.roomInFront = roomInFront;
    }

    /// <summary>The encoded request.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The length of the encoded request.</summary>
    public int Length => this.Bytes.Length;

    /// <summary>A payload with no room in front of it.</summary>
    public static implicit operator OutgoingPayload(ReadOnlyMemory<byte> bytes) => Of(bytes);

    /// <summary>A payload with no room in front of it.</summary>
    public static implicit operator OutgoingPayload(byte[] bytes) => Of(bytes);

    /// <summary>A payload of <paramref name="bytes"/>, with no room in front of them.</summary>
    public static OutgoingPayload Of(ReadOnlyMemory<byte> bytes) => new(bytes, 0);

    /// <summary>
    /// The bytes at <paramref name="offset"/> of <paramref name="array"/>, whose owner keeps the
    /// <paramref name="roomInFront"/> bytes before them free for a frame prefix.
    /// </summary>
    public static OutgoingPayload WithRoomInFront(byte[] array, int offset, int length, int roomInFront)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(roomInFront, offset);
        return new(new ReadOnlyMemory<byte>(array, offset, length), roomInFront);
    }

    /// <summary>
    /// Writes <paramref name="prefix"/> into the room directly in front of the bytes and gives the prefix and the
    /// bytes as one span of memory; false, writing nothing, when the payload has less room than the prefix needs.
    /// </summary>
    public bool TryFrame(ReadOnlySpan<byte> prefix, out ReadOnlyMemory<byte> framed)
    {
        if (prefix.Length > this.roomInFront || !MemoryMarshal.TryGetArray(this.Bytes, out var segment) || segment.Array is null)
        {
            framed = default;
            return false;
        }

        var start = segment.Offset - prefix.Length;
        prefix.CopyTo(segment.Array.AsSpan(start, prefix.Length));
        framed = new ReadOnlyMemory<byte>(segment.Array, start, prefix.Length + segment.Count);
        return true;
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Otlp.Transport;

namespace Otlp.Export;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays of <see cref="ArrayPool{T}.Shared"/>: an encoded request lives
/// here from encoding until its last send attempt, then goes back to the pool with <see cref="Dispose"/>. The
/// written bytes start <see cref="RoomInFront"/> bytes into the array, so that a transport can frame them in place.
/// </summary>
internal sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
{
    // Arrays never to be returned to the pool (see Quarantine); weak, so they are collected when unused.
    private static readonly ConditionalWeakTable<byte[], object> Quarantined = new();
    private static readonly object Marker = new();

    /// <summary>
    /// The bytes kept free in front of what is written: room for gRPC's 5-byte message header (a compression flag
    /// and the length), so the gRPC transport sends the framed message from this array instead of a copy.
    /// </summary>
    public const int RoomInFront = FramedMessageHandler.MessageHeaderLength;

    private byte[] array;

    // Where the written bytes end in the array: they start at RoomInFront.
    private int end = RoomInFront;

    /// <summary>A buffer with room for at least <paramref name="capacity"/> bytes.</summary>
    public PooledBuffer(int capacity = 4096)
    {
        this.array = ArrayPool<byte>.Shared.Rent(Math.Max(256, capacity) + RoomInFront);
    }

    /// <summary>The bytes written.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => new(this.array, RoomInFront, this.end - RoomInFront);

    /// <summary>The bytes written, with the room in front of them, for a transport.</summary>
    public OutgoingPayload Outgoing => OutgoingPayload.WithRoomInFront(this.array, RoomInFront, this.end - RoomInFront, RoomInFront);

    /// <summary>The number of bytes written.</summary>
    public int WrittenCount => this.end - RoomInFront;

    /// <summary>Forgets what was written, keeping the array.</summary>
    public void Clear() => this.end = RoomInFront;

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > this.array.Length - this.end)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }

        this.end += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        this.Ensure(sizeHint);
        return this.array.AsMemory(this.end);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        this.Ensure(sizeHint);
        return this.array.AsSpan(this.end);
    }

    /// <summary>
    /// Keeps the array under <paramref name="memory"/> out of the pool for good: something may still read it after
    /// its buffer is disposed (a request body a handler is still copying).
    /// </summary>
    public static void Quarantine(ReadOnlyMemory<byte> memory)
    {
        if (MemoryMarshal.TryGetArray(memory, out var segment) && segment.Array is { } array)
        {
            Quarantined.AddOrUpdate(array, Marker);
        }
    }

    /// <summary>Returns the array to the pool, unless quarantined; the buffer must not be used afterwards.</summary>
    public void Dispose()
    {
        var returned = this.array;
        this.array = [];
        this.end = RoomInFront;
        if (returned.Length > 0 && !Quarantined.TryGetValue(returned, out _))
        {
            ArrayPool<byte>.Shared.Return(returned);
        }
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(1, sizeHint);
        if (this.array.Length - this.end >= needed)
        {
            return;
        }

        var next = ArrayPool<byte>.Shared.Rent(checked(Math.Max(this.end + needed, this.array.Length * 2)));
        this.array.AsSpan(RoomInFront, this.end - RoomInFront).CopyTo(next.AsSpan(RoomInFront));
        if (this.array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(this.array);
        }

        this.array = next;
    }
}

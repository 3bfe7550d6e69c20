using System.Runtime.InteropServices;

namespace Otlp.Runtime;

/// <summary>
/// A bounded FIFO for many writers and one reader, without locks: each slot carries a sequence number that says
/// whether it is free for the writer of a position or holds the item of the reader's position (D. Vyukov's bounded
/// queue). A write claims a position with one compare-and-swap and never waits; a full ring refuses the item.
/// </summary>
/// <remarks>
/// Replaces a bounded <c>Channel</c> on the application's threads: its writes take a lock that the background
/// reader also takes for every item, so writers contended with the reader and with each other.
/// </remarks>
/// <typeparam name="T">The item.</typeparam>
internal sealed class BoundedRing<T>
{
    private readonly Slot[] slots;
    private readonly int mask;
    private RingPositions positions;

    /// <summary>A ring holding at least <paramref name="capacity"/> items (rounded up to a power of two).</summary>
    public BoundedRing(int capacity)
    {
        var size = (int)Math.Min(1L << 30, Math.Max(2, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity))));
        this.slots = new Slot[size];
        this.mask = size - 1;
        for (var i = 0; i < size; i++)
        {
            this.slots[i].Sequence = i;
        }
    }

    /// <summary>The most items the ring holds.</summary>
    public int Capacity => this.slots.Length;

    /// <summary>Adds <paramref name="item"/> at the tail; false, having changed nothing, when the ring is full. Any thread.</summary>
    public bool TryWrite(T item)
    {
        var position = Volatile.Read(ref this.positions.Write);
        while (true)
        {
            ref var slot = ref this.slots[position & this.mask];
            var gap = Volatile.Read(ref slot.Sequence) - position;
            if (gap == 0)
            {
                var seen = Interlocked.CompareExchange(ref this.positions.Write, position + 1, position);
                if (seen == position)
                {
                    slot.Item = item;
                    // Publishes the item: the reader takes the slot only once it sees this sequence.
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = seen;
            }
            else if (gap < 0)
            {
                // The slot still holds the item of the previous lap: full.
                return false;
            }
            else
            {
                position = Volatile.Read(ref this.positions.Write);
            }
        }
    }

    /// <summary>
    /// Takes the item at the head; false when the ring is empty or the writer of the head has claimed it but not
    /// yet stored its item (it will be there on a later read). The one reader only.
    /// </summary>
    public bool TryRead(out T item)
    {
        var position = this.positions.Read;
        ref var slot = ref this.slots[position & this.mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            item = default!;
            return false;
        }

        item = slot.Item;
        // Let go of the item for the collector, then hand the slot to the writer of the next lap.
        slot.Item = default!;
        Volatile.Write(ref slot.Sequence, position + this.slots.Length);
        this.positions.Read = position + 1;
        return true;
    }

    private struct Slot
    {
        public long Sequence;
        public T Item;
    }
}

/// <summary>
/// The writers' and the reader's positions of a <see cref="BoundedRing{T}"/>, on cache lines of their own, away from
/// the ring's other fields (outside the ring's class, as a type nested in a generic one cannot have an explicit layout).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct RingPositions
{
    /// <summary>The next position a writer claims.</summary>
    [FieldOffset(64)]
    public long Write;

    /// <summary>The next position the reader takes.</summary>
    [FieldOffset(128)]
    public long Read;
}

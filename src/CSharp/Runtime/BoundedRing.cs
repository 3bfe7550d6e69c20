using System.Runtime.InteropServices;

namespace Otlp.Runtime;

/// <summary>What became of a write into a <see cref="BoundedRing{T}"/>.</summary>
internal enum RingWrite
{
    /// <summary>The item is in the ring.</summary>
    Written,

    /// <summary>Refused: the ring holds its limit.</summary>
    Full,

    /// <summary>Refused: the ring was closed.</summary>
    Closed,
}

/// <summary>
/// A bounded FIFO for many writers and one reader, without locks: each slot carries a sequence number that says
/// whether it is free for the writer of a position or holds the item of the reader's position (D. Vyukov's bounded
/// queue). A write claims a position with one compare-and-swap and never waits; a full ring refuses the item.
/// </summary>
/// <remarks>
/// Replaces a bounded <c>Channel</c> on the application's threads: its writes take a lock that the background
/// reader also takes for every item, so writers contended with the reader and with each other.
///
/// The ring is the whole queue's gate, so that a writer does one atomic operation: items the reader has taken still
/// count against the limit until it releases them (<see cref="ReleaseUpTo"/>), as they wait further on; the reader
/// may ask the writer that brings the ring to a count to wake it (<see cref="ArmWake"/>); and closing the ring
/// (<see cref="Close"/>) says exactly which writes got in.
/// </remarks>
/// <typeparam name="T">The item.</typeparam>
internal sealed class BoundedRing<T>
{
    // Set in the write position by Close: a writer's compare-and-swap then fails, and it sees the ring closed.
    private const long ClosedFlag = 1L << 62;
    private const long Disarmed = long.MaxValue;
    private readonly Slot[] slots;
    private readonly int mask;
    private RingPositions positions;

    /// <summary>A ring that holds at most <paramref name="limit"/> items, counting those taken but not yet released.</summary>
    public BoundedRing(int limit)
    {
        limit = Math.Max(1, limit);
        var size = (int)Math.Min(1L << 30, Math.Max(2, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)limit)));
        this.Limit = Math.Min(limit, size);
        this.slots = new Slot[size];
        this.mask = size - 1;
        for (var i = 0; i < size; i++)
        {
            this.slots[i].Sequence = i;
        }

        this.positions.WakeAt = Disarmed;
    }

    /// <summary>The most items the ring holds, counting those taken but not yet released.</summary>
    public int Limit { get; }

    /// <summary>How many writes got in so far (the next write's position).</summary>
    public long Written => Volatile.Read(ref this.positions.Write) & ~ClosedFlag;

    /// <summary>How many items the reader has taken so far. The reader only.</summary>
    public long Taken => this.positions.Read;

    /// <summary>Items written and not yet taken, also those whose writer has not finished storing them. The reader only.</summary>
    public long Count => this.Written - this.positions.Read;

    /// <summary>
    /// Adds <paramref name="item"/> at the tail unless the ring holds its limit or is closed, having changed nothing
    /// then. <paramref name="wakeReader"/> says that this write brought the ring to the count the reader armed
    /// (<see cref="ArmWake"/>): the caller wakes it. Any thread.
    /// </summary>
    public RingWrite TryWrite(T item, out bool wakeReader)
    {
        wakeReader = false;
        var position = Volatile.Read(ref this.positions.Write);
        while (true)
        {
            if ((position & ClosedFlag) != 0)
            {
                return RingWrite.Closed;
            }

            if (position - Volatile.Read(ref this.positions.Released) >= this.Limit)
            {
                return RingWrite.Full;
            }

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
                    // After the compare-and-swap (a full fence): either this sees the reader's arming, or the reader,
                    // which arms before it looks at the write position, sees this write.
                    wakeReader = position + 1 >= Volatile.Read(ref this.positions.WakeAt)
                        && Interlocked.Exchange(ref this.positions.WakeAt, Disarmed) != Disarmed;
                    return RingWrite.Written;
                }

                position = seen;
            }
            else if (gap < 0)
            {
                // The slot still holds the item of the previous lap (only with a limit above the reader's releases).
                return RingWrite.Full;
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

    /// <summary>
    /// The items before <paramref name="position"/> (at most <see cref="Taken"/>) stop counting against the limit:
    /// they have left the queue the ring gates. Positions only move forward. The reader only.
    /// </summary>
    public void ReleaseUpTo(long position) =>
        Volatile.Write(ref this.positions.Released, Math.Clamp(position, this.positions.Released, this.positions.Read));

    /// <summary>
    /// Asks the writer whose write brings <see cref="Written"/> to <paramref name="written"/> or beyond to wake the
    /// reader (<see cref="TryWrite"/>'s <c>wakeReader</c>), once; false, arming nothing, when that many writes got in
    /// already. The reader only, before it sleeps; <see cref="Disarm"/> when it wakes.
    /// </summary>
    public bool ArmWake(long written)
    {
        // A full fence between the arming and the look at the write position (see TryWrite).
        Interlocked.Exchange(ref this.positions.WakeAt, written);
        if (this.Written >= written)
        {
            this.Disarm();
            return false;
        }

        return true;
    }

    /// <summary>Withdraws the reader's request to be woken, if no writer took it up. The reader only.</summary>
    public void Disarm() => Interlocked.Exchange(ref this.positions.WakeAt, Disarmed);

    /// <summary>
    /// Refuses every write from now on (<see cref="RingWrite.Closed"/>) and returns how many got in before: the
    /// reader takes exactly those, waiting for any still being stored. Idempotent.
    /// </summary>
    public long Close() => Interlocked.Or(ref this.positions.Write, ClosedFlag) & ~ClosedFlag;

    private struct Slot
    {
        public long Sequence;
        public T Item;
    }
}

/// <summary>
/// The positions of a <see cref="BoundedRing{T}"/>, on cache lines apart from each other and from the ring's other
/// fields (outside the ring's class, as a type nested in a generic one cannot have an explicit layout): the writers'
/// position, changed by every write; the reader's, changed by every read; and the two the reader sets now and then
/// and every writer reads.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct RingPositions
{
    /// <summary>The next position a writer claims, with the closed flag.</summary>
    [FieldOffset(64)]
    public long Write;

    /// <summary>The next position the reader takes.</summary>
    [FieldOffset(128)]
    public long Read;

    /// <summary>The positions before this one no longer count against the limit.</summary>
    [FieldOffset(192)]
    public long Released;

    /// <summary>The write count whose writer wakes the reader; <see cref="long.MaxValue"/> when the reader is not waiting for one.</summary>
    [FieldOffset(200)]
    public long WakeAt;
}

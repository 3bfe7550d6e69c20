using System.Numerics;
using System.Runtime.CompilerServices;

namespace Otlp.Runtime;

/// <summary>
/// A count added to by many threads at once (application threads offering items): one cell per processor, each on a
/// cache line of its own, so that threads on different processors do not take the same line from one another at
/// every add. Reading sums the cells; it sees every add that happened before it.
/// </summary>
internal sealed class StripedCounter
{
    // 16 longs (128 bytes) per cell: a cache line and its neighbour, which the processor may fetch with it.
    private const int CellShift = 4;

    private readonly long[] cells;
    private readonly int mask;

    public StripedCounter()
    {
        var count = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 1024));
        this.mask = count - 1;
        this.cells = new long[(count + 1) << CellShift];
    }

    /// <summary>The sum of every add so far.</summary>
    public long Value
    {
        get
        {
            var sum = 0L;
            for (var cell = 0; cell <= this.mask; cell++)
            {
                sum += Interlocked.Read(ref this.cells[(cell + 1) << CellShift]);
            }

            return sum;
        }
    }

    /// <summary>Adds one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment() => this.Add(1);

    /// <summary>Adds <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long count) =>
        // The cell of the processor the thread runs on now; a thread moved meanwhile only shares a line for once.
        // Cell 0 is left empty, so that no cell shares a line with the array's length.
        Interlocked.Add(ref this.cells[((Thread.GetCurrentProcessorId() & this.mask) + 1) << CellShift], count);
}

using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Otlp.Benchmarks.Receiver;

/// <summary>
/// Kestrel's memory pools, made with blocks of <see cref="BlockSize"/> bytes instead of its own 4 KB ones.
/// </summary>
/// <remarks>
/// Kestrel's socket transport receives into the free memory of its input pipe's last block, so with 4 KB blocks a
/// 375 KB export takes about 92 <c>recv</c> calls, each with its hand-offs; on this kind of virtual machine a system
/// call and a task switch are costly, and the receiver, sharing the two cores with the exporter measured, then took
/// more of them than either exporter. With 64 KB blocks a request is about 6 reads, as a collector reading a body
/// into a large buffer does. The pipe still asks for at most 4 KB; a block larger than asked is what lets one
/// receive take more.
/// </remarks>
internal sealed class LargeBlockMemoryPoolFactory(int blockSize) : IMemoryPoolFactory<byte>
{
    /// <summary>The size of every block the pools lend.</summary>
    public int BlockSize { get; } = blockSize;

    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool(this.BlockSize);
}

/// <summary>A pool of pinned blocks of one size, each lent whole whatever size is asked up to it.</summary>
internal sealed class LargeBlockMemoryPool(int blockSize) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> free = new();

    /// <inheritdoc />
    public override int MaxBufferSize => blockSize;

    /// <inheritdoc />
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > blockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks are {blockSize} bytes.");
        }

        if (!this.free.TryDequeue(out var block))
        {
            // Pinned, as Kestrel's own blocks are, so that a socket operation does not pin each one again.
            block = new Block(this, GC.AllocateUninitializedArray<byte>(blockSize, pinned: true));
        }

        block.Lent = true;
        return block;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        this.free.Clear();
    }

    private sealed class Block(LargeBlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        public bool Lent { get; set; }

        public Memory<byte> Memory => array;

        public void Dispose()
        {
            if (this.Lent)
            {
                this.Lent = false;
                pool.free.Enqueue(this);
            }
        }
    }
}

namespace Otlp.Core.Protobuf

open System
open System.Buffers
open System.Buffers.Binary
open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Text

/// Sizes of protobuf encodings (protobuf encoding spec: varints, tags, length-delimited fields).
module internal WireSize =
    /// Bytes of the unsigned varint of `value`.
    let inline varint64 (value: uint64) = ((63 - BitOperations.LeadingZeroCount(value ||| 1UL)) / 7) + 1

    /// Bytes of the unsigned varint of `value`.
    let inline varint32 (value: uint32) = ((31 - BitOperations.LeadingZeroCount(value ||| 1u)) / 7) + 1

    /// Bytes of an int32 or enum value: negative values are sign-extended to 10 bytes, as protobuf does.
    let inline int32 (value: int) = if value < 0 then 10 else varint32 (uint32 value)

    /// Bytes of the tag of `field`.
    let inline tag (field: int) = varint32 (uint32 (field <<< 3))

    /// Bytes of a length-delimited field with `length` bytes of content, tag included.
    let inline delimited (field: int) (length: int) = tag field + varint32 (uint32 length) + length

    /// UTF-8 bytes of a string; null counts as empty.
    let inline utf8 (text: string) = if isNull text then 0 else Encoding.UTF8.GetByteCount text


/// A single-pass protobuf writer: nested messages and strings reserve a guessed number of length bytes, the
/// content is written after them, and the minimal varint length is written on the way out, moving the content
/// when the length needs more or fewer bytes than guessed. Output is therefore minimal and byte-identical to
/// Google.Protobuf's, with no size pass.
///
/// It writes into the caller's array (`Start`) while that has room and moves to an array from the shared pool
/// when it runs out. Positions (`Position`, the tokens of `BeginMessage`) are relative to the start, so they stay
/// valid across that move.
[<Sealed; AllowNullLiteral>]
type internal ProtoWriter() =
    let mutable buffer: byte array = Array.Empty()
    let mutable origin = 0
    let mutable position = 0
    let mutable capacity = 0
    let mutable pooled = false

    /// Targets `target[offset .. offset + count - 1]`, which the writer does not own.
    member _.Start(target: byte array, offset: int, count: int) =
        buffer <- target
        origin <- offset
        position <- 0
        capacity <- count
        pooled <- false

    /// Bytes written since `Start`.
    member _.Position = position

    /// True when the output outgrew the caller's array and is in a pooled array (read it with `Written`).
    member _.Moved = pooled

    /// The bytes written since `Start`, wherever they are.
    member _.Written = ReadOnlySpan<byte>(buffer, origin, position)

    /// Returns a pooled array, if any, and drops the reference to the caller's array.
    member _.Release() =
        if pooled then ArrayPool<byte>.Shared.Return buffer
        buffer <- Array.Empty()
        origin <- 0
        position <- 0
        capacity <- 0
        pooled <- false

    /// Starts writing into the memory `output` offers now, without asking it for more; finish with `FinishInto`.
    member this.StartInto(output: IBufferWriter<byte>) =
        let memory = output.GetMemory()
        let mutable segment = ArraySegment<byte>()
        if MemoryMarshal.TryGetArray<byte>(Memory.op_Implicit memory, &segment) then
            this.Start(segment.Array, segment.Offset, segment.Count)
        else
            this.Start(Array.Empty(), 0, 0)

    /// Commits what was written since `StartInto` to `output` (copying it there if the writer had to move) and
    /// releases the writer's arrays; returns the number of bytes written.
    member this.FinishInto(output: IBufferWriter<byte>) =
        let total = position
        if pooled then ReadOnlySpan<byte>(buffer, origin, total).CopyTo(output.GetSpan total)
        if total > 0 then output.Advance total
        this.Release()
        total

    /// Makes room for `count` more bytes, moving what is written to a larger pooled array.
    member _.Grow(count: int) =
        let needed = position + count
        let size = max 256 (max needed (if capacity > (Int32.MaxValue / 2) then Int32.MaxValue else capacity * 2))
        let next = ArrayPool<byte>.Shared.Rent size
        Span<byte>(buffer, origin, position).CopyTo(Span<byte>(next))
        if pooled then ArrayPool<byte>.Shared.Return buffer
        buffer <- next
        origin <- 0
        capacity <- next.Length
        pooled <- true

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member private this.Ensure(count: int) =
        if capacity - position < count then this.Grow count

    member private this.Varint32Slow(value: uint32) =
        this.Ensure 5
        let mutable v = value
        let mutable i = origin + position
        while v >= 0x80u do
            buffer[i] <- byte (v ||| 0x80u)
            i <- i + 1
            v <- v >>> 7
        buffer[i] <- byte v
        position <- i + 1 - origin

    // Most varints written are one byte (tags of fields 1 to 15, small lengths and counts): that case is inlined.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Varint32(value: uint32) =
        if value < 0x80u && position < capacity then
            buffer[origin + position] <- byte value
            position <- position + 1
        else
            this.Varint32Slow value

    member this.Varint64(value: uint64) =
        this.Ensure 10
        let mutable v = value
        let mutable i = origin + position
        while v >= 0x80UL do
            buffer[i] <- byte (v ||| 0x80UL)
            i <- i + 1
            v <- v >>> 7
        buffer[i] <- byte v
        position <- i + 1 - origin

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Tag(field: int, wireType: int) = this.Varint32(uint32 ((field <<< 3) ||| wireType))

    member this.Fixed32(value: uint32) =
        this.Ensure 4
        BinaryPrimitives.WriteUInt32LittleEndian(Span(buffer, origin + position, 4), value)
        position <- position + 4

    member this.Fixed64(value: uint64) =
        this.Ensure 8
        BinaryPrimitives.WriteUInt64LittleEndian(Span(buffer, origin + position, 8), value)
        position <- position + 8

    member this.Double(value: float) = this.Fixed64(uint64 (BitConverter.DoubleToInt64Bits value))

    /// Writes `count` bytes of the length prefix at `at` (a relative position) for `length` bytes of content.
    member private _.PutLength(at: int, length: int) =
        let mutable v = uint32 length
        let mutable i = origin + at
        while v >= 0x80u do
            buffer[i] <- byte (v ||| 0x80u)
            i <- i + 1
            v <- v >>> 7
        buffer[i] <- byte v

    /// Puts the length of the content from `start` to the current position in the `guess` bytes before `start`,
    /// moving the content when the minimal varint of the length is not `guess` bytes long.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member private this.Close(start: int, guess: int) =
        let length = position - start
        if guess = 1 && length < 0x80 then
            buffer[origin + start - 1] <- byte length
        else
            this.CloseSlow(start, guess, length)

    member private this.CloseSlow(start: int, guess: int, length: int) =
        let needed = WireSize.varint32 (uint32 length)
        if needed <> guess then
            if needed > guess then this.Ensure(needed - guess)
            // Span.CopyTo handles the overlap in both directions.
            Span<byte>(buffer, origin + start, length).CopyTo(Span<byte>(buffer, origin + start - guess + needed, length))
            position <- position + needed - guess
        this.PutLength(start - guess, length)

    /// Starts a nested message: writes the tag and reserves `guess` length bytes (1 to 5); returns the token for
    /// `EndMessage`. The guess only affects speed: a wrong one costs a move of the content.
    member this.BeginMessage(field: int, guess: int) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure guess
        position <- position + guess
        position

    /// Ends the nested message begun with `token` and the same `guess`.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.EndMessage(token: int, guess: int) = this.Close(token, guess)

    /// Writes a length-delimited field of UTF-8 text (written even when empty; presence is the caller's rule).
    member this.StringField(field: int, text: ReadOnlySpan<char>) =
        this.Tag(field, Fields.WireLengthDelimited)
        // UTF-8 takes at least one byte per UTF-16 unit and at most three, so the prefix is guessed from the
        // unit count (exact for ASCII) and room is made for the longest encoding plus one more prefix byte.
        let guess = WireSize.varint32 (uint32 text.Length)
        let most = text.Length * 3
        this.Ensure(guess + 1 + most)
        let start = position + guess
        let written = Encoding.UTF8.GetBytes(text, Span<byte>(buffer, origin + start, most))
        position <- start + written
        this.Close(start, guess)

    /// Writes a length-delimited field of raw bytes (written even when empty).
    member this.BytesField(field: int, bytes: ReadOnlySpan<byte>) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Varint32(uint32 bytes.Length)
        this.Ensure bytes.Length
        bytes.CopyTo(Span<byte>(buffer, origin + position, bytes.Length))
        position <- position + bytes.Length

    /// Writes a trace id as a 16-byte length-delimited field.
    member this.TraceIdField(field: int, high: uint64, low: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure 17
        let i = origin + position
        buffer[i] <- 16uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, i + 1, 8), high)
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, i + 9, 8), low)
        position <- position + 17

    /// Writes a span id as an 8-byte length-delimited field.
    member this.SpanIdField(field: int, value: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure 9
        let i = origin + position
        buffer[i] <- 8uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, i + 1, 8), value)
        position <- position + 9

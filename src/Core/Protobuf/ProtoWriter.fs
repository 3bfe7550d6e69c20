namespace Otlp.Core.Protobuf

open System
open System.Buffers
open System.Buffers.Binary
open System.Numerics
open System.Runtime.Intrinsics
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


/// ASCII text narrowed to bytes, 16 characters at a time: most OTLP text (keys, names, ids, paths) is ASCII, and
/// copying it costs a fraction of a general UTF-8 transcoding call.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
module internal Ascii =
    /// The characters of `source` from `start` up to the first that is not ASCII (or `length`) narrowed into
    /// `destination`; the index where it stopped. Out of line: the vector paths come here only for text that is
    /// not all ASCII.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let narrowFrom (source: byref<uint16>) (destination: byref<byte>) (start: int) (length: int) : int =
        let mutable i = start
        while i < length && Unsafe.Add(&source, i) < 0x80us do
            Unsafe.Add(&destination, i) <- byte (Unsafe.Add(&source, i))
            i <- i + 1
        i

    /// Copies the ASCII prefix of `text` into `destination` (which has room for all of it, one byte per character)
    /// and returns its length: `text.Length` when the whole text is ASCII. Text of 4 characters or more is copied
    /// in chunks, the last one overlapping the one before, so no character is copied one at a time unless the
    /// text is not all ASCII.
    // Inlined: called for nearly every key and value, most of them a few characters long. Each length's path gives
    // its own result, with no index shared between the paths: inlined into the large attribute loops, a shared one
    // lived on the stack, stored and read back on every text.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let narrowPrefix (text: ReadOnlySpan<char>) (destination: byref<byte>) : int =
        let source = &Unsafe.As<char, uint16>(&MemoryMarshal.GetReference text)
        let length = text.Length
        if length > 32 then
            let high = Vector128.Create 0xFF80us
            // Where the first chunk holding a unit that is not ASCII starts; `length` when there is none.
            let mutable stop = length
            let mutable next = 0
            while next < length do
                // The last chunk ends at the end of the text, overlapping what was copied before it.
                let at = if next + 16 <= length then next else length - 16
                let a = Vector128.LoadUnsafe(&source, unativeint at)
                let b = Vector128.LoadUnsafe(&source, unativeint (at + 8))
                if Vector128.EqualsAll((a ||| b) &&& high, Vector128<uint16>.Zero) then
                    Vector128.Narrow(a, b).StoreUnsafe(&destination, unativeint at)
                    next <- at + 16
                else
                    stop <- at
                    next <- length
            if stop = length then length else narrowFrom &source &destination stop length
        elif length >= 16 then
            // The first and the last 16 units, overlapping in the middle: one test and two stores, no loop
            // (most semantic-convention keys and many values are this long).
            let a = Vector128.LoadUnsafe(&source)
            let b = Vector128.LoadUnsafe(&source, 8un)
            let c = Vector128.LoadUnsafe(&source, unativeint (length - 16))
            let d = Vector128.LoadUnsafe(&source, unativeint (length - 8))
            if Vector128.EqualsAll(((a ||| b) ||| (c ||| d)) &&& Vector128.Create 0xFF80us, Vector128<uint16>.Zero) then
                Vector128.Narrow(a, b).StoreUnsafe(&destination)
                Vector128.Narrow(c, d).StoreUnsafe(&destination, unativeint (length - 16))
                length
            else
                narrowFrom &source &destination 0 length
        elif length >= 8 then
            let a = Vector128.LoadUnsafe(&source)
            let b = Vector128.LoadUnsafe(&source, unativeint (length - 8))
            if Vector128.EqualsAll((a ||| b) &&& Vector128.Create 0xFF80us, Vector128<uint16>.Zero) then
                let narrowed = Vector128.Narrow(a, b).AsUInt64()
                Unsafe.WriteUnaligned(&destination, narrowed.GetElement 0)
                Unsafe.WriteUnaligned(&Unsafe.Add(&destination, length - 8), narrowed.GetElement 1)
                length
            else
                narrowFrom &source &destination 0 length
        elif length >= 4 then
            // The first and the last 4 units in one vector register: the scalar shifts and masks of a
            // narrowing need more registers than the large attribute loops have free, and spilled there.
            let units =
                Vector128.Create(
                    Unsafe.ReadUnaligned<uint64>(&Unsafe.As<uint16, byte>(&source)),
                    Unsafe.ReadUnaligned<uint64>(&Unsafe.As<uint16, byte>(&Unsafe.Add(&source, length - 4)))).AsUInt16()
            if Vector128.EqualsAll(units &&& Vector128.Create 0xFF80us, Vector128<uint16>.Zero) then
                let narrowed = Vector128.Narrow(units, units).AsUInt32()
                Unsafe.WriteUnaligned(&destination, narrowed.GetElement 0)
                Unsafe.WriteUnaligned(&Unsafe.Add(&destination, length - 4), narrowed.GetElement 1)
                length
            else
                narrowFrom &source &destination 0 length
        else
            // Up to 3 characters, one at a time up to the first that is not ASCII.
            let mutable i = 0
            while i < length && Unsafe.Add(&source, i) < 0x80us do
                Unsafe.Add(&destination, i) <- byte (Unsafe.Add(&source, i))
                i <- i + 1
            i


/// Stores of one-piece writes: a run of fields written at indexes from `ProtoWriter.Room` into the buffer
/// `ProtoWriter.Base`, with one room check for the whole run and the index kept in a local, then committed with
/// `ProtoWriter.Commit`. Each store returns the index after what it wrote. Tags take one byte (fields 1 to 15)
/// unless the name says otherwise.
[<System.Runtime.CompilerServices.SkipLocalsInit>]
module internal Put =
    /// The one-byte tag of `field` (1 to 15) with `wireType`.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let tag (b: byref<byte>) (i: int) (field: int) (wireType: int) =
        Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| wireType)
        i + 1

    /// The two-byte tag of `field` (16 to 2047) with `wireType`.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let tag2 (b: byref<byte>) (i: int) (field: int) (wireType: int) =
        let key = (field <<< 3) ||| wireType
        Unsafe.Add(&b, i) <- byte (key ||| 0x80)
        Unsafe.Add(&b, i + 1) <- byte (key >>> 7)
        i + 2

    /// A little-endian 64-bit value.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let fixed64 (b: byref<byte>) (i: int) (value: uint64) =
        Unsafe.WriteUnaligned(&Unsafe.Add(&b, i), (if BitConverter.IsLittleEndian then value else BinaryPrimitives.ReverseEndianness value))
        i + 8

    /// A little-endian 32-bit value.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let fixed32 (b: byref<byte>) (i: int) (value: uint32) =
        Unsafe.WriteUnaligned(&Unsafe.Add(&b, i), (if BitConverter.IsLittleEndian then value else BinaryPrimitives.ReverseEndianness value))
        i + 4

    /// A 64-bit value in network order (the bytes of an id).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let bigEndian64 (b: byref<byte>) (i: int) (value: uint64) =
        Unsafe.WriteUnaligned(&Unsafe.Add(&b, i), (if BitConverter.IsLittleEndian then BinaryPrimitives.ReverseEndianness value else value))
        i + 8

    /// An unsigned varint (at most 10 bytes).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let varint (b: byref<byte>) (i: int) (value: uint64) =
        let mutable v = value
        let mutable i = i
        while v >= 0x80UL do
            Unsafe.Add(&b, i) <- byte (v ||| 0x80UL)
            i <- i + 1
            v <- v >>> 7
        Unsafe.Add(&b, i) <- byte v
        i + 1

    /// The trace id `field` (1 to 15): 18 bytes.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let traceIdField (b: byref<byte>) (i: int) (field: int) (high: uint64) (low: uint64) =
        Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
        Unsafe.Add(&b, i + 1) <- 16uy
        bigEndian64 &b (bigEndian64 &b (i + 2) high) low

    /// The span id `field` (1 to 15): 10 bytes.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let spanIdField (b: byref<byte>) (i: int) (field: int) (value: uint64) =
        Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
        Unsafe.Add(&b, i + 1) <- 8uy
        bigEndian64 &b (i + 2) value

    /// The length-delimited `field` (1 to 15) holding `text` when it is ASCII and shorter than 128 characters
    /// (room for 2 + its length); -1 otherwise, when what was stored must not be committed.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let asciiField (b: byref<byte>) (i: int) (field: int) (text: ReadOnlySpan<char>) =
        let units = text.Length
        Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
        Unsafe.Add(&b, i + 1) <- byte units
        if units < 128 && Ascii.narrowPrefix text (&Unsafe.Add(&b, i + 2)) = units then i + 2 + units else -1

    /// The first `length` bytes from `source` (bytes encoded beforehand, readable 32 bytes past `length`) stored
    /// from `i` in 16-byte chunks, the first two without a test; room for 32 bytes more than `length`. The index
    /// after the bytes.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let chunks (b: byref<byte>) (i: int) (source: byref<byte>) (length: int) =
        Vector128.LoadUnsafe(&source).StoreUnsafe(&b, unativeint i)
        Vector128.LoadUnsafe(&source, 16un).StoreUnsafe(&b, unativeint (i + 16))
        let mutable copied = 32
        while copied < length do
            Vector128.LoadUnsafe(&source, unativeint copied).StoreUnsafe(&b, unativeint (i + copied))
            copied <- copied + 16
        i + length


/// One kept encoding of `KnownText`: the text (by reference), the field it was written as, and where its bytes are
/// in the arena. One struct per slot, so a lookup touches one array element.
[<Struct; NoEquality; NoComparison>]
type internal KnownEntry =
    { mutable Text: string
      /// The attribute key the text was written with, for a whole attribute kept (`ProtoWriter.KnownStringAttribute`); null for a field.
      mutable Key: string
      mutable Field: int
      mutable Offset: int
      mutable Length: int }


/// The encoded fields of text a writer meets again and again by reference (attribute keys, event names: string
/// literals of the instrumentation), and whole attributes of such text with a given key (a log record's message
/// template), kept so that writing one is a copy. Keyed by the string's identity, never
/// its content, so a lookup costs no hashing of the text. A string is kept only when met twice in a row in its
/// slot, so text made afresh for each item (never the same reference twice) costs a lookup and nothing more;
/// the encoded bytes live in one arena, cleared when full, so the cache never allocates after it is made.
[<Sealed; AllowNullLiteral>]
type internal KnownText() =
    /// Text longer than this is never kept as a field.
    [<Literal>]
    static let MaxKept = 64

    [<Literal>]
    static let Slots = 1024

    member val Entries: KnownEntry array = Array.zeroCreate Slots
    member val Seen: string array = Array.zeroCreate Slots
    // Room for 32 more bytes than are kept, so a kept encoding can be copied in whole 16-byte chunks.
    member val Arena: byte array = Array.zeroCreate (32 * 1024 + 32)
    member val Used = 0 with get, set

    /// Text longer than this is never kept as a field.
    static member MaxLength = MaxKept

    /// Set in the field number of a kept whole attribute (field numbers are below 2^29), so it never matches a field.
    static member AttributeMark = 1 <<< 30

    /// The slot of `text` (not null, not empty) written as `field`: a hash of its length and three of its
    /// characters, which are read from the string's first cache line or two, without a call. Different strings
    /// may share a slot; the entry is still matched by identity.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member _.SlotOf(text: string, field: int) =
        let length = text.Length
        let first = &MemoryMarshal.GetReference(text.AsSpan())
        let hash =
            (uint32 length * 0x9E3779B1u)
            ^^^ (uint32 first * 0x85EBCA77u)
            ^^^ (uint32 (Unsafe.Add(&first, length >>> 1)) * 0xC2B2AE3Du)
            ^^^ (uint32 (Unsafe.Add(&first, length - 1)) * 0x27D4EB2Fu)
            ^^^ uint32 field
        int ((hash ^^^ (hash >>> 15)) &&& uint32 (Slots - 1))

    /// True when `slot` keeps the encoding of `text` as `field`.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Holds(slot: int, text: string, field: int) =
        let entry = &this.Entries[slot]
        Object.ReferenceEquals(entry.Text, text) && entry.Field = field

    /// Keeps `encoded` as the field `field` of `text` (written with the attribute key `key`, or null) in `slot`,
    /// clearing the cache when the arena is full.
    member this.Keep(slot: int, text: string, key: string, field: int, encoded: ReadOnlySpan<byte>) =
        if this.Used + encoded.Length > this.Arena.Length - 32 then
            Array.Clear this.Entries
            this.Used <- 0
        encoded.CopyTo(Span<byte>(this.Arena, this.Used, encoded.Length))
        this.Entries[slot] <- { Text = text; Key = key; Field = field; Offset = this.Used; Length = encoded.Length }
        this.Used <- this.Used + encoded.Length


/// An integer attribute with a constant key that a source writes on many items (a key of its own, such as a log
/// record's event id), encoded once up to its value for each length the value's varint can have: the KeyValue's tag
/// and length, the key field, the value's tag and length and the int member's tag. Writing one is then a copy of
/// that head and the varint, rather than a narrowing of the key's characters and a computation of each length every
/// time. The heads lie in one array, each at a multiple of `Stride` and padded to it, with 32 bytes of slack at the
/// end, so a head is copied in whole 16-byte chunks.
[<Sealed; AllowNullLiteral>]
type internal EncodedIntAttribute(field: int, key: string) =
    let utf8 = Encoding.UTF8.GetBytes(if isNull key then "" else key)
    // The KeyValue's tag and length, the key field, the value's tag and length, the member's tag; then a varint.
    let length = 2 + 2 + utf8.Length + 3
    let stride = (length + 15) / 16 * 16
    // Heads only when every one fits the one-piece form (a one-byte tag, every length one byte, the key not empty).
    let heads =
        if field < 1 || field > 15 || utf8.Length = 0 || length - 2 + 10 > 127 then Array.Empty()
        else
            let all = Array.zeroCreate (10 * stride + 32)
            for varint in 1..10 do
                let head =
                    Array.concat [
                        [| byte ((field <<< 3) ||| Fields.WireLengthDelimited); byte (length - 2 + varint)
                           byte ((Fields.KeyValue_Key <<< 3) ||| Fields.WireLengthDelimited); byte utf8.Length |]
                        utf8
                        [| byte ((Fields.KeyValue_Value <<< 3) ||| Fields.WireLengthDelimited); byte (1 + varint)
                           byte ((Fields.AnyValue_Int_Value <<< 3) ||| Fields.WireVarint) |] ]
                head.CopyTo(all, (varint - 1) * stride)
            all

    /// The repeated field the attribute belongs to.
    member _.Field = field

    /// The key as text.
    member _.Key = key

    /// The heads: the one for a value whose varint has `n` bytes (1 to 10) at `(n - 1) * Stride`; empty when the
    /// attribute does not fit the one-piece form (then `Length` is 0).
    member _.Heads: byte array = heads

    /// The distance between heads: the head's length rounded up to 16.
    member _.Stride = stride

    /// The length of a head (0 when there are none).
    member _.Length = if heads.Length = 0 then 0 else length


/// A run of fields that never changes, encoded once (such as a log level's severity number and text), so that
/// writing it is a copy (`Put.chunks`). The bytes are made by the field rules themselves through a writer; 32
/// bytes of slack follow them, so the copy moves whole 16-byte chunks.
[<Sealed; AllowNullLiteral>]
type internal EncodedFields(bytes: byte array) =
    let padded = Array.append bytes (Array.zeroCreate 32)

    /// The first byte of the fields, which the slack follows.
    member _.Start: byref<byte> = &MemoryMarshal.GetArrayDataReference padded

    /// The length of the fields.
    member _.Length = bytes.Length

    /// The fields.
    member _.Bytes = ReadOnlySpan<byte>(padded, 0, bytes.Length)


/// A single-pass protobuf writer: nested messages and strings reserve a guessed number of length bytes, the
/// content is written after them, and the minimal varint length is written on the way out, moving the content
/// when the length needs more or fewer bytes than guessed. Output is therefore minimal and byte-identical to
/// Google.Protobuf's, with no size pass.
///
/// It writes into the caller's array (`Start`) while that has room and moves to an array from the shared pool
/// when it runs out. Positions (`Position`, the tokens of `BeginMessage`) are relative to the start, so they stay
/// valid across that move.
///
/// Every write first makes sure of its room (`Ensure`, one comparison), then stores without bounds checks: the
/// checks the runtime would repeat on every byte are what made the writer slow. Its locals are not zeroed on entry
/// (`SkipLocalsInit`, as on the field-rule modules): F# never reads a local before writing it.
[<Sealed; AllowNullLiteral; System.Runtime.CompilerServices.SkipLocalsInit>]
type internal ProtoWriter() =
    let mutable buffer: byte array = Array.Empty()
    // Absolute indexes into `buffer`: the start of the output, the next byte, and the end of the room.
    let mutable origin = 0
    let mutable at = 0
    let mutable limit = 0
    let mutable pooled = false
    let mutable known: KnownText = null

    /// The byte at absolute index `index` of the buffer; callers have ensured it is inside the room.
    member inline private _.ByteAt(index: int) : byref<byte> =
        &Unsafe.Add(&MemoryMarshal.GetArrayDataReference buffer, index)

    /// Targets `target[offset .. offset + count - 1]`, which the writer does not own.
    member _.Start(target: byte array, offset: int, count: int) =
        if isNull target || offset < 0 || count < 0 || offset > target.Length - count then
            invalidArg (nameof target) "The target range is outside the array."
        buffer <- target
        origin <- offset
        at <- offset
        limit <- offset + count
        pooled <- false

    /// Bytes written since `Start`.
    member _.Position = at - origin

    /// True when the output outgrew the caller's array and is in a pooled array (read it with `Written`).
    member _.Moved = pooled

    /// The bytes written since `Start`, wherever they are.
    member _.Written = ReadOnlySpan<byte>(buffer, origin, at - origin)

    /// Returns a pooled array, if any, and drops the reference to the caller's array.
    member _.Release() =
        if pooled then ArrayPool<byte>.Shared.Return buffer
        buffer <- Array.Empty()
        origin <- 0
        at <- 0
        limit <- 0
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
        let total = at - origin
        if pooled then ReadOnlySpan<byte>(buffer, origin, total).CopyTo(output.GetSpan total)
        if total > 0 then output.Advance total
        this.Release()
        total

    /// Makes room for `count` more bytes, moving what is written to a larger pooled array.
    member _.Grow(count: int) =
        let written = at - origin
        let room = limit - origin
        let needed = written + count
        if needed < 0 then raise (OutOfMemoryException "A protobuf message cannot exceed 2 GiB.")
        let size = max 256 (max needed (if room > (Int32.MaxValue / 2) then Int32.MaxValue else room * 2))
        let next = ArrayPool<byte>.Shared.Rent size
        Span<byte>(buffer, origin, written).CopyTo(Span<byte>(next))
        if pooled then ArrayPool<byte>.Shared.Return buffer
        buffer <- next
        origin <- 0
        at <- written
        limit <- next.Length
        pooled <- true

    /// Makes sure `count` more bytes fit.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Ensure(count: int) =
        if limit - at < count then this.Grow count

    /// Makes room for `count` bytes and returns the absolute index of the next one: the start of a one-piece write
    /// (stores of `Put` into `Base`), which `Commit` ends. Until then nothing counts as written.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Room(count: int) =
        this.Ensure count
        at

    /// The first byte of the buffer, which the absolute indexes of `Room` and `Commit` count from. Valid until
    /// the next write that is not a store of `Put`.
    member _.Base: byref<byte> = &MemoryMarshal.GetArrayDataReference buffer

    /// Ends a one-piece write: everything up to absolute index `index` is written.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member _.Commit(index: int) = at <- index

    member private this.Varint32Slow(value: uint32) =
        this.Ensure 5
        at <- Put.varint &(MemoryMarshal.GetArrayDataReference buffer) at (uint64 value)

    // Most varints written are one byte (tags of fields 1 to 15, small lengths and counts): that case is inlined.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Varint32(value: uint32) =
        if value < 0x80u && at < limit then
            this.ByteAt(at) <- byte value
            at <- at + 1
        else
            this.Varint32Slow value

    member this.Varint64(value: uint64) =
        this.Ensure 10
        at <- Put.varint &(MemoryMarshal.GetArrayDataReference buffer) at value

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.Tag(field: int, wireType: int) = this.Varint32(uint32 ((field <<< 3) ||| wireType))

    member this.Fixed32(value: uint32) =
        this.Ensure 4
        at <- Put.fixed32 &(MemoryMarshal.GetArrayDataReference buffer) at value

    member this.Fixed64(value: uint64) =
        this.Ensure 8
        at <- Put.fixed64 &(MemoryMarshal.GetArrayDataReference buffer) at value

    member this.Double(value: float) = this.Fixed64(uint64 (BitConverter.DoubleToInt64Bits value))

    /// Puts the length of the content from `start` (relative) to the current position in the `guess` bytes before
    /// `start`, moving the content when the minimal varint of the length is not `guess` bytes long.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member private this.Close(start: int, guess: int) =
        let length = at - origin - start
        if guess = 1 && length < 0x80 then
            this.ByteAt(origin + start - 1) <- byte length
        elif guess = 2 && length >= 0x80 && length < 0x4000 then
            // The usual case of an item (a span, a log record): two bytes, as guessed.
            this.ByteAt(origin + start - 2) <- byte (length ||| 0x80)
            this.ByteAt(origin + start - 1) <- byte (length >>> 7)
        else
            this.CloseSlow(start, guess, length)

    member private this.CloseSlow(start: int, guess: int, length: int) =
        let needed = WireSize.varint32 (uint32 length)
        if needed <> guess then
            if needed > guess then this.Ensure(needed - guess)
            // Span.CopyTo handles the overlap in both directions.
            Span<byte>(buffer, origin + start, length).CopyTo(Span<byte>(buffer, origin + start - guess + needed, length))
            at <- at + needed - guess
        Put.varint &(MemoryMarshal.GetArrayDataReference buffer) (origin + start - guess) (uint64 length) |> ignore

    /// Starts a nested message: writes the tag and reserves `guess` length bytes (1 to 5); returns the token for
    /// `EndMessage`. The guess only affects speed: a wrong one costs a move of the content.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.BeginMessage(field: int, guess: int) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure guess
        at <- at + guess
        at - origin

    /// Ends the nested message begun with `token` and the same `guess`.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member this.EndMessage(token: int, guess: int) = this.Close(token, guess)

    /// Writes a length-delimited field of UTF-8 text (written even when empty; presence is the caller's rule).
    member this.StringField(field: int, text: ReadOnlySpan<char>) =
        this.Tag(field, Fields.WireLengthDelimited)
        // UTF-8 takes at least one byte per UTF-16 unit and at most three, so the prefix is guessed from the
        // unit count (exact for ASCII) and room is made for the longest encoding plus one more prefix byte.
        let units = text.Length
        let guess = WireSize.varint32 (uint32 units)
        let most = units * 3
        if most < units then raise (OutOfMemoryException "A protobuf string cannot exceed 2 GiB.")
        this.Ensure(guess + 1 + most)
        let start = at + guess
        let ascii = Ascii.narrowPrefix text (&this.ByteAt(start))
        if ascii = units then
            // All ASCII: the guessed prefix is the exact one.
            Put.varint &(MemoryMarshal.GetArrayDataReference buffer) at (uint64 units) |> ignore
            at <- start + units
        else
            let rest = Encoding.UTF8.GetBytes(text.Slice ascii, Span<byte>(buffer, start + ascii, most - ascii))
            at <- start + ascii + rest
            this.Close(start - origin, guess)

    /// Writes a length-delimited field of UTF-8 text, as `StringField`, for text the writer is likely to meet
    /// again by reference (see `KnownText`): its encoding is then copied instead of made again.
    member this.KnownStringField(field: int, text: string) =
        if isNull text || text.Length = 0 || text.Length > KnownText.MaxLength then
            this.StringField(field, (if isNull text then ReadOnlySpan.Empty else text.AsSpan()))
        else
            if isNull known then known <- KnownText()
            let slot = known.SlotOf(text, field)
            if known.Holds(slot, text, field) then
                let entry = &known.Entries[slot]
                let length = entry.Length
                this.Ensure(length + 32)
                ProtoWriter.CopyKept(&this.ByteAt(at), known, entry.Offset, length)
                at <- at + length
            else
                // Relative to the origin, which a move to a larger array changes.
                let first = at - origin
                this.StringField(field, text.AsSpan())
                this.KeepWritten(slot, text, null, field, first)

    /// After a miss in `slot`: keeps what was written since `first` (relative to the origin) as the encoding of
    /// `text` (with the attribute key `key`, or null, as `field`) when `text` was met there just before, else notes it.
    member private this.KeepWritten(slot: int, text: string, key: string, field: int, first: int) =
        if Object.ReferenceEquals(known.Seen[slot], text) then
            let written = at - origin - first
            known.Keep(slot, text, key, field, ReadOnlySpan<byte>(buffer, at - written, written))
        else
            known.Seen[slot] <- text

    /// Copies `length` kept bytes from `known`'s arena at `offset`; the destination has room for 32 bytes more.
    /// Up to 32 bytes are copied as two 16-byte chunks (the arena has the same slack), without a call.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member private CopyKept(destination: byref<byte>, known: KnownText, offset: int, length: int) =
        let source = &Unsafe.Add(&MemoryMarshal.GetArrayDataReference known.Arena, offset)
        if length <= 32 then
            Vector128.LoadUnsafe(&source).StoreUnsafe(&destination)
            Vector128.LoadUnsafe(&source, 16un).StoreUnsafe(&destination, 16un)
        else
            Unsafe.CopyBlockUnaligned(&destination, &source, uint32 length)

    // The fused attribute writers below write a whole KeyValue { key, value { one scalar member } } with one room
    // check and a local index, for the common case: an ASCII key and value, a one-byte tag, and a KeyValue shorter
    // than 128 bytes, so that every length is known from the character counts before the first byte and written in
    // place. Any other case returns false having written nothing (whatever was stored past the end is not
    // committed), and the caller writes the attribute field by field; both give the same bytes.

    /// Starts a fused KeyValue of `valueLength` bytes of AnyValue content (tag of the member included): room made,
    /// the KeyValue's tag and length, the key, the value's tag and length written from `at`; returns the index
    /// after them, or -1 (nothing committed) when the fast case does not apply.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member private this.FusedHead(field: int, key: string, valueLength: int) =
        let keyUnits = if isNull key then 0 else key.Length
        let pairLength = (if keyUnits = 0 then 0 else keyUnits + 2) + 2 + valueLength
        if field > 15 || pairLength > 127 then -1
        else
            this.Ensure(pairLength + 2)
            let b = &MemoryMarshal.GetArrayDataReference buffer
            let mutable i = at
            Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
            Unsafe.Add(&b, i + 1) <- byte pairLength
            i <- i + 2
            let mutable ascii = true
            if keyUnits > 0 then
                Unsafe.Add(&b, i) <- byte ((Fields.KeyValue_Key <<< 3) ||| Fields.WireLengthDelimited)
                Unsafe.Add(&b, i + 1) <- byte keyUnits
                ascii <- Ascii.narrowPrefix (key.AsSpan()) (&Unsafe.Add(&b, i + 2)) = keyUnits
                i <- i + 2 + keyUnits
            if not ascii then -1
            else
                Unsafe.Add(&b, i) <- byte ((Fields.KeyValue_Value <<< 3) ||| Fields.WireLengthDelimited)
                Unsafe.Add(&b, i + 1) <- byte valueLength
                i + 2

    /// Writes the attribute `field` { key, value { string_value = text } } in one go when it can (see above).
    member this.TryStringAttribute(field: int, key: string, text: ReadOnlySpan<char>) =
        let units = text.Length
        if units > 125 then false
        else
            let i = this.FusedHead(field, key, units + 2)
            if i < 0 then false
            else
                let b = &MemoryMarshal.GetArrayDataReference buffer
                Unsafe.Add(&b, i) <- byte ((Fields.AnyValue_String_Value <<< 3) ||| Fields.WireLengthDelimited)
                Unsafe.Add(&b, i + 1) <- byte units
                // Only ASCII text has as many bytes as units; anything else is left to the general writer.
                if Ascii.narrowPrefix text (&Unsafe.Add(&b, i + 2)) = units then
                    at <- i + 2 + units
                    true
                else false

    /// Writes the attribute `field` { key, value { string_value = text } } as `TryStringAttribute` does, for text the
    /// writer is likely to meet again by reference with the same key (a log record's message template, which is the
    /// same literal on every record of its call site): the whole attribute's encoding is then kept and copied (see
    /// `KnownText`). Returns false, having written nothing, where `TryStringAttribute` would.
    member this.KnownStringAttribute(field: int, key: string, text: string) =
        if isNull text || isNull key || text.Length > 125 then false
        else
            if isNull known then known <- KnownText()
            // Apart from the fields `KnownStringField` keeps for the same text.
            let mark = field ||| KnownText.AttributeMark
            let slot = known.SlotOf(text, mark)
            if known.Holds(slot, text, mark) && Object.ReferenceEquals(known.Entries[slot].Key, key) then
                let entry = &known.Entries[slot]
                let length = entry.Length
                this.Ensure(length + 32)
                let b = &MemoryMarshal.GetArrayDataReference buffer
                let source = &Unsafe.Add(&MemoryMarshal.GetArrayDataReference known.Arena, entry.Offset)
                at <- Put.chunks &b at &source length
                true
            else
                let first = at - origin
                if not (this.TryStringAttribute(field, key, text.AsSpan())) then false
                else
                    this.KeepWritten(slot, text, key, mark, first)
                    true

    /// Writes the attribute `field` { key, value { array_value { values: [ { string_value } ... ] } } } in one go
    /// when the whole attribute is under 128 bytes, all its text is ASCII, and no element is null or longer than
    /// `maxLength` (so none is truncated); otherwise returns false having written nothing.
    member this.TryStringArrayAttribute(field: int, key: string, values: string array, maxLength: int) =
        let keyUnits = if isNull key then 0 else key.Length
        let keyBytes = if keyUnits = 0 then 0 else keyUnits + 2
        // The KeyValue's content: the key field, the value's tag and length, the array's tag and length, the elements.
        if field > 15 || keyBytes + 4 > 127 then false
        else
            // One pass: the lengths, one byte each, are left open and put in at the end, when the elements are
            // written; an element that would take the KeyValue past 127 bytes ends the attempt. The array is the
            // application's and may change under us (an activity's tag array reused after it stopped): each element
            // is read once, so the lengths are those of the bytes written.
            this.Ensure(2 + 127)
            let b = &MemoryMarshal.GetArrayDataReference buffer
            let start = at
            let last = start + 2 + 127
            Unsafe.Add(&b, start) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
            let mutable i = start + 2
            let mutable ok = true
            if keyUnits > 0 then
                Unsafe.Add(&b, i) <- byte ((Fields.KeyValue_Key <<< 3) ||| Fields.WireLengthDelimited)
                Unsafe.Add(&b, i + 1) <- byte keyUnits
                ok <- Ascii.narrowPrefix (key.AsSpan()) (&Unsafe.Add(&b, i + 2)) = keyUnits
                i <- i + keyBytes
            let value = i
            Unsafe.Add(&b, value) <- byte ((Fields.KeyValue_Value <<< 3) ||| Fields.WireLengthDelimited)
            Unsafe.Add(&b, value + 2) <- byte ((Fields.AnyValue_Array_Value <<< 3) ||| Fields.WireLengthDelimited)
            i <- i + 4
            let mutable k = 0
            while ok && k < values.Length do
                let v = values[k]
                if isNull v || v.Length > maxLength || i + 4 + v.Length > last then
                    ok <- false
                else
                    Unsafe.Add(&b, i) <- byte ((Fields.ArrayValue_Values <<< 3) ||| Fields.WireLengthDelimited)
                    Unsafe.Add(&b, i + 1) <- byte (2 + v.Length)
                    Unsafe.Add(&b, i + 2) <- byte ((Fields.AnyValue_String_Value <<< 3) ||| Fields.WireLengthDelimited)
                    Unsafe.Add(&b, i + 3) <- byte v.Length
                    ok <- Ascii.narrowPrefix (v.AsSpan()) (&Unsafe.Add(&b, i + 4)) = v.Length
                    i <- i + 4 + v.Length
                    k <- k + 1
            if ok then
                Unsafe.Add(&b, start + 1) <- byte (i - start - 2)
                Unsafe.Add(&b, value + 1) <- byte (i - value - 2)
                Unsafe.Add(&b, value + 3) <- byte (i - value - 4)
                at <- i
            ok

    /// Writes the fixed64 field `timeField` (left out when 0) and the string field `nameField` (left out when
    /// empty), both with one-byte tags, as an event's time and name: with one room check when the name is ASCII
    /// and shorter than 128 characters, field by field otherwise.
    member this.TimeAndName(timeField: int, time: uint64, nameField: int, name: string) =
        let units = if isNull name then 0 else name.Length
        if units > 127 || timeField > 15 || nameField > 15 then
            if time <> 0UL then
                this.Tag(timeField, Fields.WireFixed64)
                this.Fixed64 time
            if units > 0 then this.StringField(nameField, name.AsSpan())
        else
            this.Ensure(11 + units)
            let b = &MemoryMarshal.GetArrayDataReference buffer
            let mutable i = at
            if time <> 0UL then i <- Put.fixed64 &b (Put.tag &b i timeField Fields.WireFixed64) time
            if units = 0 then at <- i
            else
                let next = Put.asciiField &b i nameField (name.AsSpan())
                if next >= 0 then at <- next
                else
                    at <- i
                    this.StringField(nameField, name.AsSpan())

    /// Writes the AnyValue `field` { string_value = text } (an array element) in one go when it is ASCII and
    /// shorter than 128 bytes with its tags; otherwise returns false having written nothing.
    member this.TryStringValueField(field: int, text: ReadOnlySpan<char>) =
        let units = text.Length
        if units > 125 || field > 15 then false
        else
            this.Ensure(units + 4)
            let b = &MemoryMarshal.GetArrayDataReference buffer
            let i = at
            Unsafe.Add(&b, i) <- byte ((field <<< 3) ||| Fields.WireLengthDelimited)
            Unsafe.Add(&b, i + 1) <- byte (units + 2)
            Unsafe.Add(&b, i + 2) <- byte ((Fields.AnyValue_String_Value <<< 3) ||| Fields.WireLengthDelimited)
            Unsafe.Add(&b, i + 3) <- byte units
            if Ascii.narrowPrefix text (&Unsafe.Add(&b, i + 4)) = units then
                at <- i + 4 + units
                true
            else false

    /// Writes the attribute `field` { key, value { int_value = value } } in one go when it can (see above).
    member this.TryIntAttribute(field: int, key: string, value: int64) =
        let length = WireSize.varint64 (uint64 value)
        let i = this.FusedHead(field, key, 1 + length)
        if i < 0 then false
        else
            let b = &MemoryMarshal.GetArrayDataReference buffer
            Unsafe.Add(&b, i) <- byte ((Fields.AnyValue_Int_Value <<< 3) ||| Fields.WireVarint)
            at <- Put.varint &b (i + 1) (uint64 value)
            true

    /// Writes the integer attribute encoded beforehand with `value`, in one go when it can (see above): its head
    /// is copied and the varint written after it.
    member this.TryIntAttributeWith(attribute: EncodedIntAttribute, value: int64) =
        let headLength = attribute.Length
        if headLength = 0 then false
        else
            // Room for whole 16-byte chunks of the head and the longest varint after it.
            this.Ensure(headLength + 10 + 32)
            let b = &MemoryMarshal.GetArrayDataReference buffer
            let i = at
            let head = &Unsafe.Add(&MemoryMarshal.GetArrayDataReference attribute.Heads, (WireSize.varint64 (uint64 value) - 1) * attribute.Stride)
            at <- Put.varint &b (Put.chunks &b i &head headLength) (uint64 value)
            true

    /// Writes the attribute `field` { key, value { double_value = value } } in one go when it can (see above).
    member this.TryDoubleAttribute(field: int, key: string, value: float) =
        let i = this.FusedHead(field, key, 9)
        if i < 0 then false
        else
            let b = &MemoryMarshal.GetArrayDataReference buffer
            Unsafe.Add(&b, i) <- byte ((Fields.AnyValue_Double_Value <<< 3) ||| Fields.WireFixed64)
            at <- Put.fixed64 &b (i + 1) (uint64 (BitConverter.DoubleToInt64Bits value))
            true

    /// Writes the attribute `field` { key, value { bool_value = value } } in one go when it can (see above).
    member this.TryBoolAttribute(field: int, key: string, value: bool) =
        let i = this.FusedHead(field, key, 2)
        if i < 0 then false
        else
            let b = &MemoryMarshal.GetArrayDataReference buffer
            Unsafe.Add(&b, i) <- byte ((Fields.AnyValue_Bool_Value <<< 3) ||| Fields.WireVarint)
            Unsafe.Add(&b, i + 1) <- (if value then 1uy else 0uy)
            at <- i + 2
            true

    /// Writes `bytes` as they are: fields this writer (or another) encoded before, copied again.
    member this.Raw(bytes: ReadOnlySpan<byte>) =
        this.Ensure bytes.Length
        bytes.CopyTo(Span<byte>(buffer, at, bytes.Length))
        at <- at + bytes.Length

    /// A copy of `bytes` with the slack `RawPadded` reads past them.
    static member Padded(bytes: ReadOnlySpan<byte>) : byte array =
        let padded = Array.zeroCreate (bytes.Length + 32)
        bytes.CopyTo(Span<byte>(padded))
        padded

    /// Writes the first `length` bytes of `padded` (made by `Padded`) as `Raw` does, in 16-byte chunks without a
    /// call: for the small encodings kept and written again on every collection (a metric series' attributes),
    /// which a call to the runtime's block copy made a tenth of a metrics flush.
    member this.RawPadded(padded: byte array, length: int) =
        if isNull padded || length < 0 || padded.Length < length + 32 then
            invalidArg (nameof padded) "The bytes must come from ProtoWriter.Padded."
        this.Ensure(length + 32)
        let b = &MemoryMarshal.GetArrayDataReference buffer
        let source = &MemoryMarshal.GetArrayDataReference padded
        at <- Put.chunks &b at &source length

    /// Writes a length-delimited field of raw bytes (written even when empty).
    member this.BytesField(field: int, bytes: ReadOnlySpan<byte>) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Varint32(uint32 bytes.Length)
        this.Ensure bytes.Length
        bytes.CopyTo(Span<byte>(buffer, at, bytes.Length))
        at <- at + bytes.Length

    /// Writes a trace id field and a span id field (each left out when zero), both with one-byte tags, with one room
    /// check: the two ids that open a span and a link.
    member this.TraceAndSpanIds(traceField: int, high: uint64, low: uint64, spanField: int, span: uint64) =
        this.Ensure 28
        let b = &MemoryMarshal.GetArrayDataReference buffer
        let mutable i = at
        if high <> 0UL || low <> 0UL then i <- Put.traceIdField &b i traceField high low
        if span <> 0UL then i <- Put.spanIdField &b i spanField span
        at <- i

    /// Writes a trace id as a 16-byte length-delimited field.
    member this.TraceIdField(field: int, high: uint64, low: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure 17
        let b = &MemoryMarshal.GetArrayDataReference buffer
        Unsafe.Add(&b, at) <- 16uy
        at <- Put.bigEndian64 &b (Put.bigEndian64 &b (at + 1) high) low

    /// Writes a span id as an 8-byte length-delimited field.
    member this.SpanIdField(field: int, value: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        this.Ensure 9
        let b = &MemoryMarshal.GetArrayDataReference buffer
        Unsafe.Add(&b, at) <- 8uy
        at <- Put.bigEndian64 &b (at + 1) value

namespace Otlp.Core.Protobuf

open System
open System.Buffers.Binary
open System.Numerics
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

/// The state of one encoding: the output array and the sizes of nested messages.
///
/// Encoding is two passes over the same values in the same order. The size pass computes every nested
/// message's size in pre-order and pushes it here; the write pass pops them in the same order to write minimal
/// length prefixes directly, so nothing is written twice or moved, and the output is sized exactly.
[<Sealed; AllowNullLiteral>]
type internal ProtoWriter() =
    let mutable sizes: int array = Array.zeroCreate 256
    let mutable reserved = 0
    let mutable consumed = 0
    let mutable buffer: byte array = Array.Empty()
    let mutable position = 0

    /// Starts a size pass.
    member _.ResetSizes() =
        reserved <- 0
        consumed <- 0

    /// Reserves the slot of a nested message entered in the size pass; set it with `SetSize` on the way out.
    member _.ReserveSize() =
        if reserved = sizes.Length then Array.Resize(&sizes, sizes.Length * 2)
        reserved <- reserved + 1
        reserved - 1

    /// Records the content size of the message that reserved `slot`.
    member _.SetSize(slot: int, size: int) = sizes[slot] <- size

    /// The content size of the next nested message, in the write pass.
    member _.NextSize() =
        consumed <- consumed + 1
        sizes[consumed - 1]

    /// True when the write pass used exactly the sizes the size pass recorded.
    member _.SizesBalanced = consumed = reserved

    /// Targets `target[offset..]` for the write pass.
    member _.Start(target: byte array, offset: int) =
        buffer <- target
        position <- offset
        consumed <- 0

    /// The position after the last byte written.
    member _.Position = position

    /// Drops the reference to the output array so a pooled writer does not keep it alive.
    member _.Release() = buffer <- Array.Empty()

    member _.Varint32(value: uint32) =
        let mutable v = value
        while v >= 0x80u do
            buffer[position] <- byte (v ||| 0x80u)
            position <- position + 1
            v <- v >>> 7
        buffer[position] <- byte v
        position <- position + 1

    member _.Varint64(value: uint64) =
        let mutable v = value
        while v >= 0x80UL do
            buffer[position] <- byte (v ||| 0x80UL)
            position <- position + 1
            v <- v >>> 7
        buffer[position] <- byte v
        position <- position + 1

    member this.Tag(field: int, wireType: int) = this.Varint32(uint32 ((field <<< 3) ||| wireType))

    member _.Fixed32(value: uint32) =
        BinaryPrimitives.WriteUInt32LittleEndian(Span(buffer, position, 4), value)
        position <- position + 4

    member _.Fixed64(value: uint64) =
        BinaryPrimitives.WriteUInt64LittleEndian(Span(buffer, position, 8), value)
        position <- position + 8

    member this.Double(value: float) = this.Fixed64(uint64 (BitConverter.DoubleToInt64Bits value))

    /// Writes the string's UTF-8 bytes, whose count the caller has already written as the length prefix.
    member _.Utf8(text: string, byteCount: int) =
        if byteCount > 0 then
            position <- position + Encoding.UTF8.GetBytes(text.AsSpan(), Span(buffer, position, byteCount))

    member _.Raw(bytes: ReadOnlySpan<byte>) =
        bytes.CopyTo(Span(buffer, position, bytes.Length))
        position <- position + bytes.Length

    /// Writes a trace id as a 16-byte length-delimited field.
    member this.TraceIdField(field: int, high: uint64, low: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        buffer[position] <- 16uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 1, 8), high)
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 9, 8), low)
        position <- position + 17

    /// Writes a span id as an 8-byte length-delimited field.
    member this.SpanIdField(field: int, value: uint64) =
        this.Tag(field, Fields.WireLengthDelimited)
        buffer[position] <- 8uy
        BinaryPrimitives.WriteUInt64BigEndian(Span(buffer, position + 1, 8), value)
        position <- position + 9

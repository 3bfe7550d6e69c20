namespace Otlp.Core.Protobuf

// The low-level half of the protobuf decoder: a forward-only reader of the wire format (protobuf encoding
// spec, https://protobuf.dev/programming-guides/encoding/) over one input buffer. It knows tags, varints,
// fixed-width values, length prefixes and how to skip unknown fields; it knows nothing of OTLP.
//
// Every read is checked against the end of the innermost message being read (`limit`), so a field can never
// run past its message, and every length is checked against the bytes left before anything is allocated:
// the memory a decode uses is bounded by a constant factor of the input's size, whatever the input.
//
// Malformed input raises `DecodeFailure`, which only the public entry points of `ProtoDecoder` catch: a
// decode is abandoned at the first error, so threading a Result through every field read would only cost
// time on the valid path.

open System
open System.Buffers.Binary
open System.Runtime.InteropServices
open System.Text
open System.Text.Unicode
open Otlp.Core

/// Raised inside the decoder to abandon a malformed input; caught by the public entry points only.
type internal DecodeFailure(error: DecodeError) =
    inherit Exception(error.Message)

    /// The error to report.
    member _.Error = error

/// Where the occurrences of a singular message field lie in the input. Protobuf merges the occurrences,
/// which is the same as reading their contents one after the other as a single message; recording them while
/// the enclosing message is read, and reading them all at its end, does that in time linear in their size
/// (merging each into the value read so far would copy that value's arrays again for every occurrence).
[<Struct; NoEquality; NoComparison>]
type internal Occurrences =
    {
        /// Buffer index of the first occurrence's content; -1 when there is none.
        Start: int
        /// Length of the first occurrence's content.
        Length: int
        /// Start and length of the later occurrences; null when there is only one.
        More: ResizeArray<struct (int * int)>
    }

    /// No occurrence.
    static member None = { Start = -1; Length = 0; More = null }

    /// How many times the field occurred.
    member o.Count =
        if o.Start < 0 then 0
        elif isNull o.More then 1
        else 1 + o.More.Count

/// A forward-only reader of protobuf wire format over `buffer[origin .. origin + length - 1]`.
/// Positions in errors are offsets from `origin`, that is, from the start of the caller's input.
[<Sealed>]
type internal ProtoReader(buffer: byte array, origin: int, length: int) =
    let mutable pos = origin
    let mutable limit = origin + length

    /// How deep groups and recursive messages (AnyValue) may nest before the input is refused: deep enough
    /// for any real payload, shallow enough that the recursion cannot exhaust the stack.
    static member MaxDepth = 64

    /// A reader over the bytes of `input`, without copying them when they live in an array.
    static member Create(input: ReadOnlyMemory<byte>) =
        let mutable segment = ArraySegment<byte>()

        if MemoryMarshal.TryGetArray(input, &segment) && not (isNull segment.Array) then
            ProtoReader(segment.Array, segment.Offset, segment.Count)
        else
            // Native or pooled memory without an array behind it: one copy, the size of the input.
            let copy = input.ToArray()
            ProtoReader(copy, 0, copy.Length)

    /// Offset of the next byte to read, from the start of the input.
    member _.Position = int64 (pos - origin)

    /// True while the current message has bytes left.
    member _.HasMore = pos < limit

    /// Abandons the decode with `message`, reported at input offset `at` (an index into the buffer).
    member _.FailAt(at: int, message: string) : 'a =
        raise (DecodeFailure { Message = message; Position = int64 (at - origin) })

    /// Abandons the decode with `message`, reported at the current position.
    member r.Fail(message: string) : 'a = r.FailAt(pos, message)

    /// A base-128 varint of at most 10 bytes. Bits beyond 64 in the tenth byte are ignored, as protobuf
    /// libraries do.
    member r.ReadVarint() : uint64 =
        if pos < limit && buffer[pos] < 0x80uy then
            let b = buffer[pos]
            pos <- pos + 1
            uint64 b
        else
            let start = pos
            let mutable result = 0UL
            let mutable shift = 0
            let mutable fin = false

            while not fin do
                if shift >= 70 then
                    r.FailAt(start, "varint longer than 10 bytes")

                if pos >= limit then
                    r.FailAt(start, "truncated varint")

                let b = buffer[pos]
                pos <- pos + 1

                if shift < 64 then
                    result <- result ||| (uint64 (b &&& 0x7Fuy) <<< shift)

                if b < 0x80uy then fin <- true else shift <- shift + 7

            result

    /// The next tag (`field <<< 3 ||| wireType`); fails on field number 0 and wire types 6 and 7.
    member r.ReadTag() : int =
        let start = pos
        let tag = r.ReadVarint()

        if tag > 0xFFFFFFFFUL then
            r.FailAt(start, $"tag {tag} does not fit in 32 bits")

        let wire = int (tag &&& 7UL)
        let field = tag >>> 3

        if field = 0UL then
            r.FailAt(start, "field number 0 is not allowed")

        if wire > 5 then
            r.FailAt(start, $"invalid wire type {wire} for field {field}")

        // Kept as the int with the tag's 32 bits; `FieldOf` reads the field number back without sign.
        int (uint32 tag)

    /// The field number of a tag read by `ReadTag` (at most 2^29 - 1).
    static member FieldOf(tag: int) = int (uint32 tag >>> 3)

    /// Fails unless the tag has the wire type `expected` for the field `name`.
    member r.Expect(tag: int, expected: int, name: string) =
        if tag &&& 7 <> expected then
            r.Fail $"{name} (field {ProtoReader.FieldOf tag}) has wire type {tag &&& 7}, expected {expected}"

    /// A length prefix, checked against the bytes left in the current message.
    member r.ReadLength() : int =
        let start = pos
        let n = r.ReadVarint()

        if int64 n < 0L then
            r.FailAt(start, $"negative length prefix {int64 n}")

        if n > uint64 Int32.MaxValue then
            r.FailAt(start, $"length prefix {n} is larger than 2^31-1")

        if int n > limit - pos then
            r.FailAt(start, $"length prefix {n} exceeds the {limit - pos} bytes left")

        int n

    member private r.Need(count: int, what: string) =
        if limit - pos < count then
            r.Fail $"truncated {what}: {count} bytes needed, {limit - pos} left"

    /// 8 little-endian bytes.
    member r.ReadFixed64Raw() : uint64 =
        r.Need(8, "fixed64")
        let v = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(buffer, pos, 8))
        pos <- pos + 8
        v

    /// 4 little-endian bytes.
    member r.ReadFixed32Raw() : uint32 =
        r.Need(4, "fixed32")
        let v = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(buffer, pos, 4))
        pos <- pos + 4
        v

    // Typed field reads: each checks the wire type of its tag first. `name` is the proto path of the field
    // ("Span.trace_id"), used only in error messages.

    /// A `fixed64` field.
    member r.Fixed64(tag: int, name: string) =
        r.Expect(tag, Fields.WireFixed64, name)
        r.ReadFixed64Raw()

    /// A `sfixed64` field.
    member r.SFixed64(tag: int, name: string) = int64 (r.Fixed64(tag, name))

    /// A `fixed32` field.
    member r.Fixed32(tag: int, name: string) =
        r.Expect(tag, Fields.WireFixed32, name)
        r.ReadFixed32Raw()

    /// A `double` field.
    member r.Double(tag: int, name: string) =
        BitConverter.Int64BitsToDouble(int64 (r.Fixed64(tag, name)))

    /// A varint field, whole.
    member r.Varint(tag: int, name: string) =
        r.Expect(tag, Fields.WireVarint, name)
        r.ReadVarint()

    /// A `uint32` field: the varint truncated to 32 bits, as protobuf does.
    member r.UInt32(tag: int, name: string) = uint32 (r.Varint(tag, name))

    /// An `int32` or enum field: the varint truncated to 32 bits, as protobuf does.
    member r.Int32(tag: int, name: string) = int (uint32 (r.Varint(tag, name)))

    /// A `sint32` field (zigzag).
    member r.SInt32(tag: int, name: string) =
        let n = uint32 (r.Varint(tag, name))
        int (n >>> 1) ^^^ -(int (n &&& 1u))

    /// An `int64` field.
    member r.Int64(tag: int, name: string) = int64 (r.Varint(tag, name))

    /// A `bool` field: any non-zero varint is true.
    member r.Bool(tag: int, name: string) = r.Varint(tag, name) <> 0UL

    /// Checks a length-delimited tag and reads its length: the start of a string, bytes or message.
    member r.Delimited(tag: int, name: string) =
        r.Expect(tag, Fields.WireLengthDelimited, name)
        r.ReadLength()

    /// A `string` field, which must be valid UTF-8 (as proto3 requires).
    member r.String(tag: int, name: string) : string =
        let n = r.Delimited(tag, name)

        if n = 0 then
            ""
        else
            let bytes = ReadOnlySpan(buffer, pos, n)

            if not (Utf8.IsValid bytes) then
                r.Fail $"invalid UTF-8 in {name}"

            let s = Encoding.UTF8.GetString bytes
            pos <- pos + n
            s

    /// A `bytes` field, as a new array.
    member r.Bytes(tag: int, name: string) : byte array =
        let n = r.Delimited(tag, name)

        if n = 0 then
            Array.Empty()
        else
            let bytes = ReadOnlySpan(buffer, pos, n).ToArray()
            pos <- pos + n
            bytes

    /// A trace id field: empty, or exactly 16 bytes.
    member r.TraceId(tag: int, name: string) : TraceId =
        let start = pos
        let n = r.Delimited(tag, name)

        if n = 0 then
            TraceId.Empty
        elif n <> 16 then
            r.FailAt(start, $"{name} must be 16 bytes or empty, got {n}")
        else
            let id = TraceId.FromBytes(ReadOnlySpan(buffer, pos, 16))
            pos <- pos + 16
            id

    /// A span id field: empty, or exactly 8 bytes.
    member r.SpanId(tag: int, name: string) : SpanId =
        let start = pos
        let n = r.Delimited(tag, name)

        if n = 0 then
            SpanId.Empty
        elif n <> 8 then
            r.FailAt(start, $"{name} must be 8 bytes or empty, got {n}")
        else
            let id = SpanId.FromBytes(ReadOnlySpan(buffer, pos, 8))
            pos <- pos + 8
            id

    /// Enters an embedded message: reads its length and makes its end the limit of further reads. Returns
    /// the enclosing limit, to give back to `Leave` once the message is read.
    member r.Enter(tag: int, name: string) : int =
        let n = r.Delimited(tag, name)
        let outer = limit
        limit <- pos + n
        outer

    /// Leaves the embedded message entered last (whose every byte has been read).
    member _.Leave(outer: int) = limit <- outer

    /// Records an occurrence of a singular message field after `seen` and moves past it, to be read with
    /// `Focus` once the enclosing message has been read.
    member r.Defer(tag: int, name: string, seen: Occurrences) : Occurrences =
        let n = r.Delimited(tag, name)
        let start = pos
        pos <- pos + n

        if seen.Start < 0 then
            { Start = start; Length = n; More = null }
        else
            let more = if isNull seen.More then ResizeArray() else seen.More
            more.Add(struct (start, n))
            { seen with More = more }

    /// The current position and limit, for `Resume` once deferred occurrences have been read.
    member _.Suspend() = struct (pos, limit)

    /// Makes occurrence `index` (from 0) of `at` the message being read.
    member _.Focus(at: Occurrences, index: int) =
        if index = 0 then
            pos <- at.Start
            limit <- at.Start + at.Length
        else
            let struct (start, n) = at.More[index - 1]
            pos <- start
            limit <- start + n

    /// Returns to the position and limit saved by `Suspend`.
    member _.Resume(struct (position: int, end': int)) =
        pos <- position
        limit <- end'

    /// The values of a repeated `fixed64` field, packed (wire type 2) or not (wire type 1), added to `acc`.
    member r.RepeatedFixed64(tag: int, name: string, acc: ResizeArray<uint64>) =
        if tag &&& 7 = Fields.WireLengthDelimited then
            let start = pos
            let n = r.ReadLength()

            if n % 8 <> 0 then
                r.FailAt(start, $"packed {name} is {n} bytes long, not a multiple of 8")

            acc.EnsureCapacity(acc.Count + n / 8) |> ignore

            for _ in 1 .. n / 8 do
                acc.Add(r.ReadFixed64Raw())
        else
            acc.Add(r.Fixed64(tag, name))

    /// The values of a repeated `double` field, packed (wire type 2) or not (wire type 1), added to `acc`.
    member r.RepeatedDouble(tag: int, name: string, acc: ResizeArray<float>) =
        if tag &&& 7 = Fields.WireLengthDelimited then
            let start = pos
            let n = r.ReadLength()

            if n % 8 <> 0 then
                r.FailAt(start, $"packed {name} is {n} bytes long, not a multiple of 8")

            acc.EnsureCapacity(acc.Count + n / 8) |> ignore

            for _ in 1 .. n / 8 do
                acc.Add(BitConverter.Int64BitsToDouble(int64 (r.ReadFixed64Raw())))
        else
            acc.Add(r.Double(tag, name))

    /// The values of a repeated `uint64` field, packed (wire type 2) or not (wire type 0), added to `acc`.
    member r.RepeatedUInt64(tag: int, name: string, acc: ResizeArray<uint64>) =
        if tag &&& 7 = Fields.WireLengthDelimited then
            let outer = r.Enter(tag, name)

            while pos < limit do
                acc.Add(r.ReadVarint())

            r.Leave outer
        else
            acc.Add(r.Varint(tag, name))

    /// Skips the value of an unknown field of any wire type, groups (deprecated, wire types 3 and 4)
    /// included, as protobuf parsers do.
    member r.Skip(tag: int) =
        match tag &&& 7 with
        | Fields.WireVarint -> r.ReadVarint() |> ignore
        | Fields.WireFixed64 ->
            r.Need(8, "fixed64")
            pos <- pos + 8
        | Fields.WireLengthDelimited ->
            let n = r.ReadLength()
            pos <- pos + n
        | Fields.WireFixed32 ->
            r.Need(4, "fixed32")
            pos <- pos + 4
        | 3 -> r.SkipGroup(ProtoReader.FieldOf tag, 1)
        | _ -> r.Fail $"end-group tag of field {ProtoReader.FieldOf tag} without a start-group tag"

    member private r.SkipGroup(field: int, depth: int) =
        if depth > ProtoReader.MaxDepth then
            r.Fail $"nesting deeper than {ProtoReader.MaxDepth} in the groups of an unknown field"

        let start = pos
        let mutable fin = false

        while not fin do
            if pos >= limit then
                r.FailAt(start, $"group of field {field} has no end-group tag")

            let tag = r.ReadTag()

            match tag &&& 7 with
            | 4 when ProtoReader.FieldOf tag = field -> fin <- true
            | 4 -> r.Fail $"end-group tag of field {ProtoReader.FieldOf tag} inside the group of field {field}"
            | 3 -> r.SkipGroup(ProtoReader.FieldOf tag, depth + 1)
            | _ -> r.Skip tag

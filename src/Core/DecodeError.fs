namespace Otlp.Core

/// Why a payload could not be decoded. Decoders return it instead of throwing, whatever the input.
type DecodeError =
    {
        /// What was wrong, for people: "length prefix 4294967295 exceeds the 12 bytes left", ...
        Message: string
        /// Byte offset in the input where the problem was found (for JSON, the reader's byte position).
        Position: int64
    }

    override this.ToString() = $"{this.Message} (at byte {this.Position})"

/// `google.rpc.Status` on the wire, for the two readers of its fields: the `RetryInfo` in its details (gRPC's
/// `grpc-status-details-bin`, `Retry`) and the message of an HTTP failure body (`ResponseBody`).
module internal Otlp.Core.RpcStatus

open Google.Protobuf

// google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }
[<Literal>]
let Code = 1

[<Literal>]
let Message = 2

[<Literal>]
let Details = 3

/// Folds over the fields of one message; `read` returns ValueNone for a field it does not want, which is then
/// skipped, as proto3 parsers skip unknown fields. Malformed bytes throw `InvalidProtocolBufferException`.
let foldFields (bytes: ByteString) (initial: 'state) (read: CodedInputStream -> int -> WireFormat.WireType -> 'state -> 'state voption) =
    use input = bytes.CreateCodedInput()
    let mutable state = initial
    let mutable tag = input.ReadTag()

    while tag <> 0u do
        match read input (WireFormat.GetTagFieldNumber tag) (WireFormat.GetTagWireType tag) state with
        | ValueSome next -> state <- next
        | ValueNone -> input.SkipLastField()

        tag <- input.ReadTag()

    state

/// The bodies of OTLP/HTTP answers that are not export responses: which encoding a body is in, and the
/// `google.rpc.Status` a server sends with a failure.
///
/// OTLP specification (opentelemetry-proto `docs/specification.md`), OTLP/HTTP "Failures": "The response body
/// for all HTTP 4xx and HTTP 5xx responses MUST be a Protobuf-encoded Status message that describes the
/// problem" (a JSON-encoded one for the JSON encoding), and "The Status.message field SHOULD contain a
/// developer-facing error message". Pure functions that never throw: bodies come from the network.
[<RequireQualifiedAccess>]
module Otlp.Core.ResponseBody

open System

/// The encoding of a response body.
[<RequireQualifiedAccess>]
type Encoding =
    /// `application/x-protobuf` (or any content type that is not JSON, for export responses).
    | Protobuf
    /// `application/json`, or any content type naming JSON.
    | Json
    /// A content type that is neither (a proxy's `text/html` page): not an OTLP body.
    | Other

/// The encoding of a body with the response's `Content-Type` media type: JSON when the type names JSON,
/// protobuf when it names protobuf, `Other` for any other type; when the response has no content type (null or
/// empty), the request's own encoding (`requestIsJson`), which a server answers in.
[<CompiledName("EncodingOf")>]
val encodingOf: contentType: string -> requestIsJson: bool -> Encoding

/// A decoded `google.rpc.Status` { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3 }.
type Status =
    {
        /// The gRPC status code the server gave (0 when absent).
        Code: int
        /// The developer-facing message, as sent (empty when absent); see `printable` before showing it.
        Message: string
        /// How many details the status carries (their contents are not decoded here).
        DetailCount: int
    }

/// Decodes a `google.rpc.Status` from a failure body in `encoding` (protobuf, or its OTLP/JSON form with
/// `code`, `message` and `details`). Unknown fields are skipped. None for an empty or malformed body, or for
/// the `Other` encoding. Never throws, whatever the bytes or their size.
[<CompiledName("TryDecodeStatus")>]
val tryDecodeStatus: body: ReadOnlyMemory<byte> * encoding: Encoding -> Status option

/// The longest server message put into a failure description, in characters: 1024.
[<Literal>]
val MaxMessageChars: int = 1024

/// `text` made safe to show in one line of a log: control characters (C0, DEL, C1, line and paragraph separators,
/// bidirectional overrides and isolates) become spaces, surrounding whitespace is trimmed, and text longer than `maxChars` is cut there
/// (never inside a surrogate pair) and ends with an ellipsis. Empty for null.
[<CompiledName("Printable")>]
val printable: maxChars: int -> text: string -> string

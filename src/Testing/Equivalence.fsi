namespace Otlp.Testing

/// Equality of OTLP model values for round-trip laws, and where two values first differ.
///
/// F#'s generated equality cannot state a round trip: inside arrays it compares doubles with `=`, for which NaN
/// is unequal to itself, and it says only "not equal". Here every double is compared by its bits (NaN equals a
/// NaN of the same bits, 0.0 differs from -0.0, as the wire keeps them apart), strings ordinally, and the answer
/// names the first field that differs:
///
/// ```fsharp
/// match Equivalence.firstDifference expected actual with
/// | None -> ()
/// | Some difference -> failwith difference // "ResourceSpans[0].ScopeSpans[1].Spans[3].Name: "a" against "b""
/// ```
///
/// Works on any F# record, union, array, primitive or string; other objects are compared with `Equals`.
[<RequireQualifiedAccess>]
module Equivalence =
    /// True when the two values are the same: every field, element and union case alike, doubles by their bits.
    [<CompiledName("Same")>]
    val same: expected: 'T -> actual: 'T -> bool

    /// None when the two values are the same; otherwise the path of the first field that differs (record fields
    /// by name, array elements by index, union cases by name) with the expected and the actual value there.
    [<CompiledName("FirstDifference")>]
    val firstDifference: expected: 'T -> actual: 'T -> string option

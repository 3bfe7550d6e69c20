namespace Otlp.Testing

open System
open System.Collections.Concurrent
open Microsoft.FSharp.Reflection

[<RequireQualifiedAccess>]
module Equivalence =
    // Reflection is slow; the readers of each record and union type are made once.
    type private RecordShape = { Names: string array; Read: obj -> objnull array }

    type private UnionShape =
        { TagOf: obj -> int
          Names: string array
          Read: (obj -> objnull array) array }

    let private records = ConcurrentDictionary<Type, RecordShape>()
    let private unions = ConcurrentDictionary<Type, UnionShape>()

    let private recordShape (t: Type) =
        records.GetOrAdd(
            t,
            fun t ->
                { Names = FSharpType.GetRecordFields(t, true) |> Array.map _.Name
                  Read = FSharpValue.PreComputeRecordReader(t, true) }
        )

    let private unionShape (t: Type) =
        unions.GetOrAdd(
            t,
            fun t ->
                let cases = FSharpType.GetUnionCases(t, true)
                { TagOf = FSharpValue.PreComputeUnionTagReader(t, true)
                  Names = cases |> Array.map _.Name
                  Read = cases |> Array.map (fun case -> FSharpValue.PreComputeUnionReader(case, true)) }
        )

    let private shown (value: objnull) =
        let text =
            match value with
            | null -> "null"
            | :? string as s -> $"\"{s}\""
            | :? float as d -> d.ToString("R", Globalization.CultureInfo.InvariantCulture)
            | :? Array as a -> $"{a.GetType().GetElementType().Name}[{a.Length}]"
            | v -> sprintf "%A" v

        if text.Length > 200 then text.Substring(0, 200) + " ..." else text

    let private differs (path: string) (expected: objnull) (actual: objnull) =
        Some $"{path}: {shown expected} expected, {shown actual} found"

    let private at (path: string) (name: string) =
        if path.Length = 0 then name else $"{path}.{name}"

    let rec private difference (path: string) (expected: objnull) (actual: objnull) : string option =
        match expected, actual with
        | null, null -> None
        | null, _
        | _, null -> differs path expected actual
        | _ when expected.GetType() <> actual.GetType() -> differs path expected actual
        | (:? float as x), (:? float as y) ->
            if BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y then None else differs path x y
        | (:? float32 as x), (:? float32 as y) ->
            if BitConverter.SingleToInt32Bits x = BitConverter.SingleToInt32Bits y then None else differs path x y
        | (:? string as x), (:? string as y) ->
            if String.Equals(x, y, StringComparison.Ordinal) then None else differs path x y
        | (:? (byte array) as x), (:? (byte array) as y) ->
            if x.AsSpan().SequenceEqual(y) then None
            else differs path (Convert.ToHexString x) (Convert.ToHexString y)
        | (:? Array as x), (:? Array as y) ->
            let common = min x.Length y.Length
            let rec element i =
                if i = common then
                    if x.Length = y.Length then None
                    else Some $"{path}: {x.Length} elements expected, {y.Length} found"
                else
                    match difference $"{path}[{i}]" (x.GetValue i) (y.GetValue i) with
                    | None -> element (i + 1)
                    | found -> found
            element 0
        | _ ->
            let t = expected.GetType()
            if t.IsPrimitive || t.IsEnum then
                if expected.Equals actual then None else differs path expected actual
            elif FSharpType.IsRecord(t, true) then
                let shape = recordShape t
                let xs, ys = shape.Read expected, shape.Read actual
                Seq.init xs.Length id
                |> Seq.tryPick (fun i -> difference (at path shape.Names[i]) xs[i] ys[i])
            elif FSharpType.IsUnion(t, true) then
                let shape = unionShape t
                let tag = shape.TagOf expected
                if tag <> shape.TagOf actual then
                    Some $"{path}: case {shape.Names[tag]} expected, {shape.Names[shape.TagOf actual]} found"
                else
                    let xs, ys = shape.Read[tag] expected, shape.Read[tag] actual
                    let casePath = at path shape.Names[tag]
                    Seq.init xs.Length id
                    |> Seq.tryPick (fun i -> difference (if xs.Length = 1 then casePath else $"{casePath}.Item{i + 1}") xs[i] ys[i])
            elif expected.Equals actual then
                None
            else
                differs path expected actual

    [<CompiledName("FirstDifference")>]
    let firstDifference (expected: 'T) (actual: 'T) =
        difference "" (box expected) (box actual)
        |> Option.map (fun text -> if text.StartsWith ':' then "(the whole value)" + text else text)

    [<CompiledName("Same")>]
    let same (expected: 'T) (actual: 'T) = (firstDifference expected actual).IsNone

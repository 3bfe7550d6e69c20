[<RequireQualifiedAccess>]
module Otlp.Core.Instruments

open System

type Instrument =
    { MeterName: string
      MeterVersion: string
      Name: string
      Unit: string
      Description: string
      Kind: Aggregation.InstrumentKind
      Integers: bool }

let private isAsciiLetter (c: char) = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')

let private isNameChar (c: char) =
    isAsciiLetter c || (c >= '0' && c <= '9') || c = '_' || c = '.' || c = '/' || c = '-'

// Metrics API specification, "Instrument name syntax": a letter, then up to 254 of letters, digits, _ . / -.
let isValidName (name: string) =
    not (isNull name)
    && name.Length >= 1
    && name.Length <= 255
    && isAsciiLetter name[0]
    && Seq.forall isNameChar name

// Metrics API specification, "Instrument unit": case-sensitive ASCII of at most 63 characters.
let isValidUnit (unit: string) =
    isNull unit || (unit.Length <= 63 && Seq.forall (fun (c: char) -> c <= '\u007f') unit)

let validate (instrument: Instrument) =
    if not (isValidName instrument.Name) then
        Error
            $"Instrument '{instrument.Name}' of meter '{instrument.MeterName}' is ignored: its name does not follow the syntax [A-Za-z][A-Za-z0-9_./-]{{0,254}}."
    elif not (isValidUnit instrument.Unit) then
        Error
            $"Instrument '{instrument.Name}' of meter '{instrument.MeterName}' is ignored: its unit is not ASCII of at most 63 characters."
    else
        Ok()

let private orEmpty (s: string) = if isNull s then "" else s

[<Sealed>]
type StreamIdentity(meterName: string, meterVersion: string, name: string, kind: Aggregation.InstrumentKind, unit: string, description: string, integers: bool) =
    member _.MeterName = meterName
    member _.MeterVersion = meterVersion
    member _.Name = name
    member _.Kind = kind
    member _.Unit = unit
    member _.Description = description
    member _.Integers = integers

    /// Same meter and same name without case: the streams would be one metric for a receiver.
    member internal _.SameName(other: StreamIdentity) =
        String.Equals(meterName, other.MeterName, StringComparison.Ordinal)
        && String.Equals(meterVersion, other.MeterVersion, StringComparison.Ordinal)
        && String.Equals(name, other.Name, StringComparison.OrdinalIgnoreCase)

    override this.Equals(other: obj) =
        match other with
        | :? StreamIdentity as that -> (this :> IEquatable<StreamIdentity>).Equals that
        | _ -> false

    override _.GetHashCode() =
        HashCode.Combine(meterName, meterVersion, StringComparer.OrdinalIgnoreCase.GetHashCode name, kind, unit, description, integers)

    interface IEquatable<StreamIdentity> with
        member this.Equals(that: StreamIdentity) =
            not (obj.ReferenceEquals(that, null))
            && this.SameName that
            && kind = that.Kind
            && integers = that.Integers
            && String.Equals(unit, that.Unit, StringComparison.Ordinal)
            && String.Equals(description, that.Description, StringComparison.Ordinal)

    override _.ToString() =
        let number = if integers then "integers" else "doubles"
        $"{name} ({kind} of {number}, unit '{unit}', description '{description}')"

let identity (instrument: Instrument) (name: string) (description: string) =
    StreamIdentity(
        orEmpty instrument.MeterName,
        orEmpty instrument.MeterVersion,
        orEmpty name,
        instrument.Kind,
        orEmpty instrument.Unit,
        orEmpty description,
        instrument.Integers
    )

[<RequireQualifiedAccess>]
type Registration =
    | New of id: int
    | Identical of id: int
    | Conflicting of id: int * warning: string

[<Sealed>]
type Registry internal (streams: (StreamIdentity * int) list, count: int) =
    member internal _.Streams = streams
    member internal _.Count = count

let emptyRegistry = Registry([], 0)

let register (identity: StreamIdentity) (registry: Registry) =
    let id = registry.Count
    let added = Registry((identity, id) :: registry.Streams, id + 1)

    match registry.Streams |> List.tryFind (fun (known, _) -> known.Equals identity) with
    | Some(_, existing) -> Registration.Identical existing, registry
    | None ->
        match registry.Streams |> List.tryFind (fun (known, _) -> known.SameName identity) with
        | Some(known, _) ->
            let warning =
                $"Duplicate instrument registration in meter '{identity.MeterName}': {identity} conflicts with {known}; both are exported as separate metrics of the same name."

            Registration.Conflicting(id, warning), added
        | None -> Registration.New id, added

let streamCount (registry: Registry) = registry.Count

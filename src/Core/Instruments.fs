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
      Integers: bool
      AdvisedBucketBoundaries: float array option }

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
    | Renamed of id: int * warning: string

/// A registered stream, with the name of the instrument it was first made for.
type internal Registered =
    { Identity: StreamIdentity
      Id: int
      InstrumentName: string }

[<Sealed>]
type Registry internal (streams: Registered list, count: int) =
    // Newest first.
    member internal _.Streams = streams
    member internal _.Count = count

let emptyRegistry = Registry([], 0)

let private duplicateWarning (identity: StreamIdentity) (known: StreamIdentity) =
    $"Duplicate instrument registration in meter '{identity.MeterName}': {identity} conflicts with {known}; both are exported as separate metrics of the same name."

/// A new stream, numbered after the others.
let private added (identity: StreamIdentity) instrumentName (registry: Registry) =
    let id = registry.Count
    id, Registry({ Identity = identity; Id = id; InstrumentName = instrumentName } :: registry.Streams, id + 1)

/// A new stream; conflicting when one of the same name (without case) but another identity exists.
let private newStream (identity: StreamIdentity) instrumentName (registry: Registry) =
    let id, next = added identity instrumentName registry

    match registry.Streams |> List.tryFind (fun known -> known.Identity.SameName identity) with
    | Some known -> Registration.Conflicting(id, duplicateWarning identity known.Identity), next
    | None -> Registration.New id, next

let register (identity: StreamIdentity) (registry: Registry) =
    match registry.Streams |> List.tryFind (fun known -> known.Identity.Equals identity) with
    | Some known -> Registration.Identical known.Id, registry
    | None -> newStream identity identity.Name registry

let private sameInstrumentWarning (instrument: Instrument) (identity: StreamIdentity) =
    $"Views make more than one stream {identity} of instrument '{instrument.Name}' of meter '{identity.MeterName}': each is kept and exported as a separate metric of the same name."

let private renamedWarning (instrument: Instrument) (identity: StreamIdentity) (known: Registered) =
    $"The stream {identity} of instrument '{instrument.Name}' of meter '{identity.MeterName}' is identical to a stream of instrument '{known.InstrumentName}' (a view gave one the other's name): the measurements of both are aggregated into one metric."

/// The stream of the `nth` identity equal to `identity` among one instrument's: the nth identical stream that
/// existed before the instrument, if any, so that a duplicate instrument's streams join the first one's in order.
let private registerNth (instrument: Instrument) (before: Registered list) (identity: StreamIdentity) nth (registry: Registry) =
    let identical =
        before |> List.filter (fun known -> known.Identity.Equals identity) |> List.sortBy (fun known -> known.Id)

    match List.tryItem nth identical with
    | Some known when String.Equals(known.InstrumentName, instrument.Name, StringComparison.OrdinalIgnoreCase) ->
        Registration.Identical known.Id, registry
    | Some known -> Registration.Renamed(known.Id, renamedWarning instrument identity known), registry
    | None when nth > 0 ->
        // Views apply independently: each makes its own stream even when they end up alike (metrics SDK
        // specification, "Measurement processing": apply the view and emit a warning).
        let id, next = added identity instrument.Name registry
        Registration.Conflicting(id, sameInstrumentWarning instrument identity), next
    | None -> newStream identity instrument.Name registry

let registerStreams (instrument: Instrument) (identities: StreamIdentity array) (registry: Registry) =
    let before = registry.Streams

    identities
    |> Array.mapi (fun i identity -> identity, identities |> Seq.take i |> Seq.filter (fun earlier -> earlier.Equals identity) |> Seq.length)
    |> Array.mapFold (fun current (identity, nth) -> registerNth instrument before identity nth current) registry

let streamCount (registry: Registry) = registry.Count

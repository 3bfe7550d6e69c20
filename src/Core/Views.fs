[<RequireQualifiedAccess>]
module Otlp.Core.Views

open System

[<RequireQualifiedAccess>]
type ViewAggregation =
    | Default
    | Drop
    | ExplicitBuckets of bounds: float array
    | Exponential of maxSize: int * maxScale: int

type View =
    { InstrumentName: string
      MeterName: string
      Kind: Aggregation.InstrumentKind option
      Name: string
      Description: string
      Aggregation: ViewAggregation
      AttributeKeys: string array option
      CardinalityLimit: int option
      ExemplarReservoirSize: int option
      ProvidedExemplarReservoir: obj option }

let select (instrumentName: string) : View =
    { InstrumentName = instrumentName
      MeterName = null
      Kind = None
      Name = null
      Description = null
      Aggregation = ViewAggregation.Default
      AttributeKeys = None
      CardinalityLimit = None
      ExemplarReservoirSize = None
      ProvidedExemplarReservoir = None }

type StreamConfig =
    { Name: string
      Description: string
      Unit: string
      Aggregation: Aggregation.Aggregation
      AttributeKeys: string array option
      CardinalityLimit: int
      Exemplars: Exemplars.Reservoir option }

// Iterative glob matching with backtracking to the last `*`: linear in practice, no regex to build.
let wildcardMatch (pattern: string) (name: string) =
    if isNull pattern || isNull name then
        false
    else
        let lower (c: char) = Char.ToLowerInvariant c
        let mutable p = 0
        let mutable n = 0
        let mutable star = -1
        let mutable mark = 0
        let mutable result = None

        while result.IsNone do
            if n < name.Length && p < pattern.Length && (pattern[p] = '?' || lower pattern[p] = lower name[n]) then
                p <- p + 1
                n <- n + 1
            elif p < pattern.Length && pattern[p] = '*' then
                star <- p
                mark <- n
                p <- p + 1
            elif n < name.Length && star >= 0 then
                p <- star + 1
                mark <- mark + 1
                n <- mark
            elif n = name.Length then
                while p < pattern.Length && pattern[p] = '*' do
                    p <- p + 1

                result <- Some(p = pattern.Length)
            else
                result <- Some false

        result.Value

let private hasWildcard (s: string) = s.IndexOfAny [| '*'; '?' |] >= 0

let selects (view: View) (instrument: Instruments.Instrument) =
    wildcardMatch view.InstrumentName instrument.Name
    && (String.IsNullOrEmpty view.MeterName
        || String.Equals(view.MeterName, instrument.MeterName, StringComparison.Ordinal))
    && (view.Kind.IsNone || view.Kind = Some instrument.Kind)

let maxExemplarReservoirSize = 1000

let private validBounds (bounds: float array) =
    not (isNull bounds)
    && bounds |> Array.forall Double.IsFinite
    && bounds |> Array.pairwise |> Array.forall (fun (a, b) -> a < b)

let problem (view: View) =
    if String.IsNullOrEmpty view.InstrumentName then
        Some "A view without an instrument name selects nothing; it is ignored."
    elif not (String.IsNullOrEmpty view.Name) && hasWildcard view.InstrumentName then
        Some
            $"The view renaming to '{view.Name}' selects instruments by the wildcard '{view.InstrumentName}', so it could give several instruments one name; it is ignored."
    elif not (String.IsNullOrEmpty view.Name) && not (Instruments.isValidName view.Name) then
        Some $"The view's stream name '{view.Name}' is not a valid instrument name; the view is ignored."
    else
        match view.Aggregation, view.ExemplarReservoirSize with
        | _, Some size when size < 0 || size > maxExemplarReservoirSize ->
            Some
                $"The view of '{view.InstrumentName}' asks for {size} exemplars per series, outside [0, {maxExemplarReservoirSize}]; it is ignored."
        | _, Some _ when view.ProvidedExemplarReservoir.IsSome ->
            Some
                $"The view of '{view.InstrumentName}' sets both an exemplar reservoir size and its own reservoir, which keeps its own; it is ignored."
        | ViewAggregation.ExplicitBuckets bounds, _ when not (validBounds bounds) ->
            Some $"The view of '{view.InstrumentName}' has histogram bounds that are not finite and strictly increasing; it is ignored."
        | _ -> None

// Advised bounds follow the same rule as a view's; bounds that break it are not used (the default bounds are).
let private advisedBounds (instrument: Instruments.Instrument) =
    match instrument.AdvisedBucketBoundaries with
    | Some bounds when validBounds bounds -> Some bounds
    | _ -> None

let private histogramKind (kind: Aggregation.InstrumentKind) =
    match kind with
    | Aggregation.InstrumentKind.Histogram
    | Aggregation.InstrumentKind.Counter -> true
    | _ -> false

let private normalizedKeys (keys: string array option) =
    keys
    |> Option.map (fun keys -> keys |> Array.filter (isNull >> not) |> Array.distinct |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b)))

let private streamOf histograms defaultLimit (instrument: Instruments.Instrument) (view: View) =
    // Metrics SDK specification, "Default Aggregation": a histogram's default is the explicit-bucket aggregation
    // "with the ExplicitBucketBoundaries advisory parameter if provided" ("Measurement processing": advisory
    // parameters MUST be honored, a view's setting of the same aspect taking precedence).
    let defaultAggregation () =
        match instrument.Kind, histograms, advisedBounds instrument with
        | Aggregation.InstrumentKind.Histogram, HistogramAggregation.ExplicitBucketHistogram, Some bounds ->
            Aggregation.explicitHistogram bounds
        | _ -> Aggregation.defaultAggregation histograms instrument.Integers instrument.Kind

    let aggregation, warning =
        match view.Aggregation with
        | ViewAggregation.ExplicitBuckets bounds when histogramKind instrument.Kind -> Aggregation.explicitHistogram bounds, None
        | ViewAggregation.Exponential(maxSize, maxScale) when histogramKind instrument.Kind ->
            Aggregation.exponentialHistogram maxSize maxScale,
            if maxSize < Aggregation.minExponentialSize then
                Some
                    $"The view of '{instrument.Name}' asks for {maxSize} exponential buckets; {Aggregation.minExponentialSize}, the fewest that always leave room to rescale, are used."
            else
                None
        | ViewAggregation.ExplicitBuckets _
        | ViewAggregation.Exponential _ ->
            defaultAggregation (),
            Some
                $"A histogram aggregation does not apply to the {instrument.Kind} '{instrument.Name}'; its default aggregation is used."
        | ViewAggregation.Default
        | ViewAggregation.Drop -> defaultAggregation (), None

    { Name = (if String.IsNullOrEmpty view.Name then instrument.Name else view.Name)
      Description = (if isNull view.Description then instrument.Description else view.Description)
      Unit = instrument.Unit
      Aggregation = aggregation
      AttributeKeys = normalizedKeys view.AttributeKeys
      CardinalityLimit = max 1 (defaultArg view.CardinalityLimit defaultLimit)
      Exemplars =
        match view.ProvidedExemplarReservoir, view.ExemplarReservoirSize with
        | Some factory, _ -> Some(Exemplars.Reservoir.Provided factory)
        | None, Some 0 -> None
        | None, Some size -> Some(Exemplars.Reservoir.Simple size)
        | None, None -> Some(Exemplars.reservoirOf (Aggregation.shape aggregation)) },
    warning

let streams histograms defaultLimit (views: View array) (instrument: Instruments.Instrument) =
    let usable = views |> Array.filter (fun v -> (problem v).IsNone)
    let problems = views |> Array.choose problem |> Array.toList
    let selecting = usable |> Array.filter (fun v -> selects v instrument)

    if selecting.Length = 0 then
        let stream, warning = streamOf histograms defaultLimit instrument (select instrument.Name)
        [| stream |], problems @ Option.toList warning
    else
        let made =
            selecting
            |> Array.filter (fun v -> v.Aggregation <> ViewAggregation.Drop)
            |> Array.map (streamOf histograms defaultLimit instrument)

        Array.map fst made, problems @ (made |> Array.choose snd |> Array.toList)

let keep (allowed: string array option) (attributes: KeyValue array) =
    match allowed with
    | None -> attributes
    | Some keys -> attributes |> Array.filter (fun kv -> Array.contains kv.Key keys)

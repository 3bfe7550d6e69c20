/// The kit's model equality: what round-trip laws need (doubles by their bits), and where values differ.
module Otlp.Testing.Tests.Equivalence

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Otlp.Core
open Otlp.Testing

type private NumberBox = { Value: float }

type private Labelled = { Text: string }

let private config =
    { FsCheckConfig.defaultConfig with
        maxTest = 200
        endSize = 60
        arbitrary = [ typeof<OtlpArbitraries> ] }

let private decoded (bytes: byte array) =
    match ProtoDecoder.traceRequest (ReadOnlyMemory bytes) with
    | Ok request -> request
    | Error e -> failwithf "%A" e

/// The request with the name of its last span changed, and the path of that span's name; None without spans.
let private renameLastSpan (request: ExportTraceServiceRequest) =
    let places =
        [ for r in 0 .. request.ResourceSpans.Length - 1 do
              for s in 0 .. request.ResourceSpans[r].ScopeSpans.Length - 1 do
                  for i in 0 .. request.ResourceSpans[r].ScopeSpans[s].Spans.Length - 1 do
                      r, s, i ]

    match List.tryLast places with
    | None -> None
    | Some(r, s, i) ->
        let resources = Array.copy request.ResourceSpans
        let scopes = Array.copy resources[r].ScopeSpans
        let spans = Array.copy scopes[s].Spans
        spans[i] <- { spans[i] with Name = spans[i].Name + "x" }
        scopes[s] <- { scopes[s] with Spans = spans }
        resources[r] <- { resources[r] with ScopeSpans = scopes }
        Some({ request with ResourceSpans = resources }, $"ResourceSpans[{r}].ScopeSpans[{s}].Spans[{i}].Name")

[<Tests>]
let tests =
    testList
        "Equivalence"
        [ testPropertyWithConfig config "A request is the same as itself after a protobuf round trip, NaNs and all" (fun (request: ExportTraceServiceRequest) ->
              let again = decoded (ProtoEncoder.traceRequestToBytes request)
              Equivalence.same request again && (Equivalence.firstDifference request again).IsNone)

          testPropertyWithConfig config "One changed field is found, and named by its path" (fun (generated: ExportTraceServiceRequest) (span: Span) ->
              // A request without spans gets one, so that every case has a field to change.
              let request =
                  match renameLastSpan generated with
                  | Some _ -> generated
                  | None -> Request.ofSpans Resource.Empty InstrumentationScope.Empty [ span ]

              match renameLastSpan request with
              | None -> failwith "the request has a span"
              | Some(changed, path) ->
                  let found = Equivalence.firstDifference request changed
                  not (Equivalence.same request changed)
                  && found.IsSome
                  && found.Value.StartsWith(path + ": ", StringComparison.Ordinal))

          test "Doubles are compared by their bits: NaN is itself, 0.0 is not -0.0" {
              Expect.isTrue (Equivalence.same [| AnyValue.Double nan |] [| AnyValue.Double nan |]) "NaN inside an array"
              Expect.isTrue (Equivalence.same { Value = nan } { Value = nan }) "NaN in a record field"
              Expect.equal (Equivalence.firstDifference (AnyValue.Double 0.0) (AnyValue.Double -0.0)) (Some "Double: 0 expected, -0 found") "signed zeros"
          }

          test "Arrays of other lengths, other union cases and nulls are told apart, with what differs" {
              Expect.equal (Equivalence.firstDifference [| 1; 2 |] [| 1 |]) (Some "(the whole value): 2 elements expected, 1 found") "lengths"
              Expect.equal
                  (Equivalence.firstDifference [| AnyValue.Int 1L |] [| AnyValue.String "1" |])
                  (Some "[0]: Int 1L expected, String \"1\" found")
                  "union cases"
              Expect.equal (Equivalence.firstDifference { Text = "a" } { Text = Unchecked.defaultof<string> }) (Some "Text: \"a\" expected, null found") "null"
              Expect.equal (Equivalence.firstDifference "e\u0301" "\u00e9") (Some "(the whole value): \"e\u0301\" expected, \"\u00e9\" found") "ordinal, not normalized"
          }
          ]

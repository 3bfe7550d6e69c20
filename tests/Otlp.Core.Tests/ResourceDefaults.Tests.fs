module Otlp.Core.Tests.ResourceDefaultsTests

open Expecto
open Otlp.Core

[<Tests>]
let tests =
    testList "ResourceDefaults" [
        test "the fallback service name names the process and comes first, and the SDK attributes are added last" {
            let completed = ResourceDefaults.complete "orders" "1.2.3" [| KeyValue.int "x" 1 |]
            Expect.equal
                completed
                [| KeyValue.string "service.name" "unknown_service:orders"
                   KeyValue.int "x" 1
                   KeyValue.string "telemetry.sdk.name" "otlp"
                   KeyValue.string "telemetry.sdk.language" "dotnet"
                   KeyValue.string "telemetry.sdk.version" "1.2.3" |]
                "completed"
        }

        test "a configured service name and configured SDK attributes are kept" {
            let given = [| KeyValue.string "service.name" "checkout"; KeyValue.string "telemetry.sdk.name" "custom" |]
            let completed = ResourceDefaults.complete "orders" "1.2.3" given
            Expect.equal completed[0] (KeyValue.string "service.name" "checkout") "service name kept"
            Expect.equal (completed |> Array.filter (fun kv -> kv.Key = "telemetry.sdk.name")) [| KeyValue.string "telemetry.sdk.name" "custom" |] "not overwritten"
            Expect.equal completed.Length 4 "language and version added"
        }

        test "without a process name the fallback is unknown_service" {
            let completed = ResourceDefaults.complete "" "1.0.0" [||]
            Expect.equal completed[0] (KeyValue.string "service.name" "unknown_service") "the bare fallback"
        }

        test "a service name configured as unknown_service is sent as configured, not as the process's fallback" {
            let completed = ResourceDefaults.complete "orders" "1.0.0" [| KeyValue.int "x" 1; KeyValue.string "service.name" "unknown_service" |]
            Expect.equal completed[0..1] [| KeyValue.int "x" 1; KeyValue.string "service.name" "unknown_service" |] "kept, in place"
            Expect.equal (completed |> Array.filter (fun kv -> kv.Key = "service.name")).Length 1 "one service.name"
        }

        testProperty "every key is there once, the configured attributes as given, in order, first or after the fallback name" <| fun (keys: string list) ->
            let given = keys |> List.filter (isNull >> not) |> List.distinct |> List.map (fun k -> KeyValue.string k "v") |> Array.ofList
            let completed = ResourceDefaults.complete "p" "1" given
            let keysOf (kvs: KeyValue array) = kvs |> Array.map (fun kv -> kv.Key)
            let configured = completed |> Array.filter (fun kv -> Array.contains kv given)
            configured = given
            && Array.distinct (keysOf completed) = keysOf completed
            && [ "service.name"; "telemetry.sdk.name"; "telemetry.sdk.language"; "telemetry.sdk.version" ]
               |> List.forall (fun k -> Array.contains k (keysOf completed))
    ]

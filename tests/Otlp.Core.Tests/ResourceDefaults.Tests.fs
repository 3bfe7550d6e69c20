module Otlp.Core.Tests.ResourceDefaultsTests

open Expecto
open Otlp.Core

[<Tests>]
let tests =
    testList "ResourceDefaults" [
        test "the fallback service name names the process, and the SDK attributes are added last" {
            let completed = ResourceDefaults.complete "orders" "1.2.3" [| KeyValue.string "service.name" "unknown_service"; KeyValue.int "x" 1 |]
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

        test "without a process name the fallback stays unknown_service" {
            let completed = ResourceDefaults.complete "" "1.0.0" [| KeyValue.string "service.name" "unknown_service" |]
            Expect.equal completed[0] (KeyValue.string "service.name" "unknown_service") "unchanged"
        }
    ]

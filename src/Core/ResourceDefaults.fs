module Otlp.Core.ResourceDefaults

[<CompiledName("Complete")>]
let complete (processName: string) (sdkVersion: string) (attributes: KeyValue array) =
    let named =
        attributes
        |> Array.map (fun kv ->
            match kv.Value with
            | AnyValue.String "unknown_service" when kv.Key = "service.name" && not (System.String.IsNullOrEmpty processName) ->
                KeyValue.string "service.name" ("unknown_service:" + processName)
            | _ -> kv)
    let missing (key: string) = named |> Array.forall (fun kv -> kv.Key <> key)
    Array.append
        named
        [| if missing "telemetry.sdk.name" then KeyValue.string "telemetry.sdk.name" "otlp"
           if missing "telemetry.sdk.language" then KeyValue.string "telemetry.sdk.language" "dotnet"
           if missing "telemetry.sdk.version" then KeyValue.string "telemetry.sdk.version" sdkVersion |]

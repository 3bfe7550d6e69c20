module Otlp.Core.ResourceDefaults

[<CompiledName("Complete")>]
let complete (processName: string) (sdkVersion: string) (attributes: KeyValue array) =
    let missing (key: string) = attributes |> Array.forall (fun kv -> kv.Key <> key)
    let fallbackName =
        if System.String.IsNullOrEmpty processName then "unknown_service" else "unknown_service:" + processName
    [| if missing "service.name" then KeyValue.string "service.name" fallbackName
       yield! attributes
       if missing "telemetry.sdk.name" then KeyValue.string "telemetry.sdk.name" "otlp"
       if missing "telemetry.sdk.language" then KeyValue.string "telemetry.sdk.language" "dotnet"
       if missing "telemetry.sdk.version" then KeyValue.string "telemetry.sdk.version" sdkVersion |]

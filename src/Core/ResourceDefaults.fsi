/// The attributes every resource of an SDK carries (OpenTelemetry Resource SDK, "SDK-provided resource
/// attributes"): a `service.name` that names the process when none was configured, and `telemetry.sdk.*`.
[<RequireQualifiedAccess>]
module Otlp.Core.ResourceDefaults

/// Completes configured resource attributes: the fallback `service.name` `unknown_service` becomes
/// `unknown_service:<processName>` (when the process name is known), and `telemetry.sdk.name` (`otlp`),
/// `telemetry.sdk.language` (`dotnet`) and `telemetry.sdk.version` are added unless already set. Order is kept;
/// the added attributes come last.
[<CompiledName("Complete")>]
val complete: processName: string -> sdkVersion: string -> attributes: KeyValue array -> KeyValue array

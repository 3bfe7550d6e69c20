/// The attributes every resource of an SDK carries (OpenTelemetry Resource SDK, "SDK-provided resource
/// attributes"): a `service.name` that names the process when none was configured, and `telemetry.sdk.*`.
[<RequireQualifiedAccess>]
module Otlp.Core.ResourceDefaults

/// Completes configured resource attributes (as `Config.resolve` gives them): without a `service.name`, the
/// fallback `unknown_service:<processName>` (`unknown_service` when the process name is unknown) comes first; a
/// configured one is kept as it is, `unknown_service` included. `telemetry.sdk.name` (`otlp`),
/// `telemetry.sdk.language` (`dotnet`) and `telemetry.sdk.version` are added last unless already set. The
/// configured attributes keep their order.
[<CompiledName("Complete")>]
val complete: processName: string -> sdkVersion: string -> attributes: KeyValue array -> KeyValue array

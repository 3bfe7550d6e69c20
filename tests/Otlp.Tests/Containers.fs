/// Exporters registered in a service container, configured through IConfiguration as an application's are.
module Otlp.Tests.Containers

open Microsoft.Extensions.Configuration
open Microsoft.Extensions.DependencyInjection

/// A container with `AddOtlpExporters` and an IConfiguration holding `settings` (keys such as `OTEL_*` or `Otlp:*`).
let exportersFrom (settings: (string * string) list) : ServiceProvider =
    let configuration = ConfigurationBuilder().AddInMemoryCollection(dict settings).Build()
    let services = ServiceCollection()
    services.AddSingleton<IConfiguration>(configuration) |> ignore
    services.AddOtlpExporters() |> ignore
    services.BuildServiceProvider()

/// The `Otlp` section of IConfiguration, read by `AddOtlpExporters` with the spellings of the OTEL_* variables.
module Otlp.Tests.SectionTests

open System
open Expecto
open Microsoft.Extensions.DependencyInjection
open Otlp
open Otlp.Core
open Otlp.Tests.Containers

let private traceExporter (settings: (string * string) list) =
    let provider = exportersFrom settings
    provider, provider.GetRequiredService<OtlpTraceExporter>()

[<Tests>]
let tests =
    testList "Otlp section" [
        test "values are read as the OTEL_* variables write them" {
            let provider, exporter =
                traceExporter
                    [ "Otlp:Protocol", "http/json"
                      "Otlp:Compression", "gzip"
                      "Otlp:Timeout", "5000"
                      "Otlp:BatchExportTimeout", "00:00:30"
                      "Otlp:MaxQueueSize", "4096"
                      "Otlp:EncodeAhead", "true"
                      "Otlp:BaseEndpoint", "http://collector:4318"
                      "Otlp:Headers:api-key", "k"
                      "Otlp:ResourceAttributes:deployment.environment", "prod" ]
            use _provider = provider
            let config = exporter.Configuration
            Expect.equal config.Exporter.Protocol Protocol.HttpJson "protocol by its specification name"
            Expect.equal config.Exporter.Compression Compression.Gzip "compression"
            Expect.equal config.Exporter.Timeout (TimeSpan.FromMilliseconds 5000.0) "a number is milliseconds, not days"
            match config.Processing with
            | Processing.Batch b ->
                Expect.equal b.ExportTimeout (TimeSpan.FromSeconds 30.0) "a time span"
                Expect.equal b.MaxQueueSize 4096 "an integer"
                Expect.isTrue b.EncodeAhead "a boolean (against the default over HTTP)"
            | other -> failtest $"batch expected, got {other}"
            Expect.equal config.Exporter.Endpoint.AbsoluteUri "http://collector:4318/v1/traces" "endpoint"
            Expect.equal [ for h in config.Exporter.Headers -> h.Name, h.Value ] [ "api-key", "k" ] "headers"
            Expect.isEmpty exporter.ConfigurationWarnings "nothing to warn about"
        }

        test "values that cannot be read are skipped with a warning, never thrown" {
            let provider, exporter =
                traceExporter
                    [ "Otlp:Protocol", "http/protobu"
                      "Otlp:Compression", "zip"
                      "Otlp:Timeout", "soon"
                      "Otlp:Insecure", "yes"
                      "Otlp:MaxQueueSize", "many"
                      "Otlp:EncodeAhead", "sometimes" ]
            use _provider = provider
            let config = exporter.Configuration
            Expect.equal config.Exporter.Protocol Protocol.HttpProtobuf "the default protocol"
            Expect.equal config.Exporter.Compression Compression.None "no compression"
            Expect.equal config.Exporter.Timeout (TimeSpan.FromSeconds 10.0) "the default timeout"
            match config.Processing with
            | Processing.Batch b -> Expect.isFalse b.EncodeAhead "the default over HTTP/protobuf"
            | other -> failtest $"batch expected, got {other}"
            for key in [ "Otlp:Protocol"; "Otlp:Compression"; "Otlp:Timeout"; "Otlp:Insecure"; "Otlp:MaxQueueSize"; "Otlp:EncodeAhead" ] do
                Expect.exists exporter.ConfigurationWarnings (fun w -> w.StartsWith key) $"{key} reported"
        }

        test "negative durations in the section are reported and not used, however large, as negative variables are" {
            // -1 would read as -1 ms, the runtime's "no limit" (Timeout.InfiniteTimeSpan); the smallest long once
            // overflowed the range check.
            for value in [ "-1"; "-5000"; "-9223372036854775808"; "-00:00:01" ] do
                let provider, exporter = traceExporter [ "Otlp:Timeout", value; "Otlp:BatchExportTimeout", value ]
                use _provider = provider
                let config = exporter.Configuration
                Expect.equal config.Exporter.Timeout (TimeSpan.FromSeconds 10.0) $"{value}: the default timeout"
                match config.Processing with
                | Processing.Batch b -> Expect.equal b.ExportTimeout (TimeSpan.FromSeconds 30.0) $"{value}: the default batch timeout"
                | other -> failtest $"batch expected, got {other}"
                for key in [ "Otlp:Timeout"; "Otlp:BatchExportTimeout" ] do
                    Expect.exists exporter.ConfigurationWarnings (fun w -> w.StartsWith key) $"{value}: {key} reported"
        }

        test "a SignalEndpoint in the section is reported as not used" {
            let provider, exporter = traceExporter [ "Otlp:SignalEndpoint", "http://collector:4318/v1/traces" ]
            use _provider = provider
            Expect.exists exporter.ConfigurationWarnings (fun w -> w.Contains "SignalEndpoint is ignored") "warned"
            Expect.equal exporter.Configuration.Exporter.Endpoint.AbsoluteUri "http://localhost:4318/v1/traces" "not used"
        }
    
        test "Headers or ResourceAttributes given as one value, as the variables write them, are reported without the value" {
            let secret = "S3CR3T-in-section"
            let provider, exporter =
                traceExporter [ "Otlp:Headers", $"api-key={secret}"; "Otlp:ResourceAttributes", "deployment.environment=prod" ]
            use _provider = provider
            Expect.isEmpty exporter.Configuration.Exporter.Headers "no header from a single value"
            for key in [ "Otlp:Headers"; "Otlp:ResourceAttributes" ] do
                Expect.exists exporter.ConfigurationWarnings (fun w -> w.StartsWith key) $"{key} reported"
            for w in exporter.ConfigurationWarnings do
                Expect.isFalse (w.Contains secret) "the value is not shown"
        }
    ]

/// Helpers the facade's tests share.
module Otlp.Tests.Support

open System
open System.Collections.Generic
open System.Diagnostics
open System.Threading.Tasks
open Otlp
open Otlp.Core
open Otlp.Tracing

/// An environment of the given variables only, instead of the process's.
let environment (pairs: (string * string) list) =
    Dictionary<string, string>(dict pairs) :> IReadOnlyDictionary<string, string>

/// Task builders dispose asynchronously; this lets them dispose factories, providers and sources too.
let disposing (d: IDisposable) =
    { new IAsyncDisposable with
        member _.DisposeAsync() =
            d.Dispose()
            ValueTask.CompletedTask }

/// What the tracer offers an exporter for the activities of `source` (the ActivitySpans conversion, read on the
/// export thread, or the direct encoder), and a listener that samples all of them in, to dispose when done.
let tracedSource (source: ActivitySource) =
    let convert = Delegate.CreateDelegate(typeof<Func<obj, Span>>, ActivitySpans(Limits.defaults.Span), "ToSpan") :?> Func<obj, Span>
    let origin = ItemOrigin<Span>(ActivityConverter.ToScope source, convert, true)
    let listener =
        new ActivityListener(
            ShouldListenTo = (fun s -> s = source),
            Sample = SampleActivity<ActivityContext>(fun _ -> ActivitySamplingResult.AllDataAndRecorded))
    ActivitySource.AddActivityListener listener
    origin, listener

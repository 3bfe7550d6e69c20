/// Helpers the facade's tests share.
module Otlp.Tests.Support

open System
open System.Collections.Generic
open System.Threading.Tasks

/// An environment of the given variables only, instead of the process's.
let environment (pairs: (string * string) list) =
    Dictionary<string, string>(dict pairs) :> IReadOnlyDictionary<string, string>

/// Task builders dispose asynchronously; this lets them dispose factories, providers and sources too.
let disposing (d: IDisposable) =
    { new IAsyncDisposable with
        member _.DisposeAsync() =
            d.Dispose()
            ValueTask.CompletedTask }

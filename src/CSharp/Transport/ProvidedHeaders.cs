namespace Otlp.Transport;

/// <summary>
/// Asks the application's header provider for its headers before a send. The provider is the application's code:
/// whatever it throws (its token service may be down) becomes a result that says so, never an exception out of the
/// export, and the attempt is retried as a connection failure is.
/// </summary>
internal static class ProvidedHeaders
{
    /// <summary>
    /// The provider's headers, listed (a lazy enumerable may throw too); or null and the failure's result when it
    /// threw or gave none. When <paramref name="blocking"/>, waits for a provider still running on the calling thread.
    /// </summary>
    public static async ValueTask<(List<KeyValuePair<string, string>>? Headers, TransportResult? Failure)> AskAsync(
        Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>> provider,
        bool blocking,
        CancellationToken cancellationToken)
    {
        try
        {
            var provided = provider(cancellationToken);
            IEnumerable<KeyValuePair<string, string>>? pairs;
            if (provided.IsCompleted)
            {
                pairs = provided.Result;
            }
            else
            {
                // A provider that does not heed the token must not hold the export past its deadline: the wait ends
                // with the token, and the provider's late answer is left to itself (its failure observed here).
                var asked = provided.AsTask();
                _ = asked.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                var waiting = asked.WaitAsync(cancellationToken);
                pairs = blocking ? waiting.GetAwaiter().GetResult() : await waiting.ConfigureAwait(false);
            }

            // A null value is an empty one, as over HTTP, whatever the transport (gRPC metadata refuses null).
            return pairs is null
                ? (null, TransportResult.Failed(TransportResultKind.HeaderProviderFailed, "the header provider gave no headers (null)."))
                : ([.. pairs.Select(static p => p.Value is null ? new KeyValuePair<string, string>(p.Key, string.Empty) : p)], null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (null, TransportResult.Failed(TransportResultKind.Cancelled, "The request was cancelled or timed out."));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The exception's own text, which is the application's; the headers it was to give are never shown.
            return (null, TransportResult.Failed(TransportResultKind.HeaderProviderFailed, $"the header provider threw {e.GetType().Name}: {e.Message}"));
        }
    }
}

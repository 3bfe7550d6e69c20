using Otlp.Core;

namespace Otlp.Diagnostics;

/// <summary>
/// The secrets an exporter knows of: its header values, the user-info and query values of its endpoint, and the
/// values its header provider gave lately. A server may echo any of them back ("invalid api key 'abc...'") in a
/// status message, a failure's body or a partial success; <see cref="Scrub"/> replaces them in such text before it
/// reaches a result, the Problem event, the event source or the log.
/// </summary>
internal sealed class KnownSecrets
{
    /// <summary>
    /// Values shorter than this are left alone: a header such as <c>x-tenant: prod</c> is no credential, and
    /// replacing every "prod" would make messages unreadable. Credentials are longer.
    /// </summary>
    internal const int Shortest = 6;

    // Provided values remembered at most: a token provider gives a new token now and then, not one per request.
    private const int MostProvided = 16;

    private readonly string[] configured;
    private readonly Queue<string> provided = new();
    private string[] all;

    public KnownSecrets(ExporterConfig config)
    {
        var values = new List<string>();
        foreach (var header in config.Headers)
        {
            Add(values, header.Value);
        }

        var endpoint = config.Endpoint;
        if (endpoint.UserInfo is { Length: > 0 } userInfo)
        {
            Add(values, userInfo);
            Add(values, Uri.UnescapeDataString(userInfo));
            foreach (var part in userInfo.Split(':'))
            {
                Add(values, part);
                Add(values, Uri.UnescapeDataString(part));
            }
        }

        foreach (var pair in endpoint.Query.TrimStart('?').Split('&'))
        {
            var value = pair.IndexOf('=') is var eq and >= 0 ? pair[(eq + 1)..] : pair;
            Add(values, value);
            Add(values, Uri.UnescapeDataString(value.Replace('+', ' ')));
        }

        this.configured = [.. values.Distinct(StringComparer.Ordinal)];
        this.all = Ordered(this.configured);
    }

    /// <summary>Remembers a value a header provider gave (a token), to be scrubbed from what servers say from now on.</summary>
    public void Remember(string? value)
    {
        var values = new List<string>(2);
        Add(values, value);
        lock (this.provided)
        {
            var added = false;
            foreach (var known in values)
            {
                if (this.provided.Contains(known, StringComparer.Ordinal) || this.configured.Contains(known, StringComparer.Ordinal))
                {
                    continue;
                }

                if (this.provided.Count == MostProvided)
                {
                    this.provided.Dequeue();
                }

                this.provided.Enqueue(known);
                added = true;
            }

            if (added)
            {
                Volatile.Write(ref this.all, Ordered([.. this.configured, .. this.provided]));
            }
        }
    }

    /// <summary><paramref name="text"/> with every known secret in it replaced by <c>[redacted]</c>.</summary>
    public string Scrub(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        foreach (var secret in Volatile.Read(ref this.all))
        {
            if (text.Contains(secret, StringComparison.Ordinal))
            {
                text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>A header provider that remembers the values it gives.</summary>
    public Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>> Remembering(
        Func<CancellationToken, ValueTask<IEnumerable<KeyValuePair<string, string>>>> provider) =>
        cancellationToken =>
        {
            var asked = provider(cancellationToken);
            return asked.IsCompletedSuccessfully ? new ValueTask<IEnumerable<KeyValuePair<string, string>>>(this.Listed(asked.Result)) : this.ListedAsync(asked);
        };

    private async ValueTask<IEnumerable<KeyValuePair<string, string>>> ListedAsync(ValueTask<IEnumerable<KeyValuePair<string, string>>> asked) =>
        this.Listed(await asked.ConfigureAwait(false));

    private IEnumerable<KeyValuePair<string, string>> Listed(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        if (pairs is null)
        {
            return pairs!;
        }

        // Listed here (a lazy enumerable is read once), its failure thrown to the caller as the provider's.
        List<KeyValuePair<string, string>> listed = [.. pairs];
        foreach (var pair in listed)
        {
            this.Remember(pair.Value);
        }

        return listed;
    }

    private static void Add(List<string> values, string? value)
    {
        if (value is { Length: >= Shortest })
        {
            values.Add(value);
            // "Bearer <token>", "Basic <credentials>": a server may quote the credentials without their scheme.
            if (value.Trim().LastIndexOf(' ') is var space and > 0 && value.Trim()[(space + 1)..] is { Length: >= Shortest } credentials)
            {
                values.Add(credentials);
            }
        }
    }

    // Longest first, so that a secret containing another is replaced whole.
    private static string[] Ordered(IEnumerable<string> values) => [.. values.OrderByDescending(v => v.Length)];
}

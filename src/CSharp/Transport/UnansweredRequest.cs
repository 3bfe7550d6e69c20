namespace Otlp.Transport;

/// <summary>
/// Describes a request that got no answer (<see cref="HttpRequestException"/>) in words a person can act on: its
/// kind, its message and the causes that message leaves out. The runtime's "The SSL connection could not be
/// established, see inner exception." says nothing by itself; what the inner exception says (an untrusted
/// certificate, a server that does not speak TLS) is what tells the two apart.
/// </summary>
internal static class UnansweredRequest
{
    private const string SeeInner = ", see inner exception.";

    // Enough for the runtime's chains (request, TLS or socket error, its cause); a deeper one is cut.
    private const int MaxCauses = 3;

    /// <summary>
    /// "SecureConnectionError: The SSL connection could not be established: Cannot determine the frame size or a
    /// corrupted frame was received (...)." The messages are the runtime's, which name the host and port, never a
    /// header. <paramref name="endpoint"/>, when known, decides which scheme the hints point at.
    /// </summary>
    public static string Describe(HttpRequestException e, Uri? endpoint = null)
    {
        var said = WithoutRepeatedEndpoint(e.Message.EndsWith(SeeInner, StringComparison.Ordinal) ? e.Message[..^SeeInner.Length] : e.Message.TrimEnd('.'));
        var text = e.HttpRequestError == HttpRequestError.Unknown ? said : $"{e.HttpRequestError}: {said}";
        var depth = 0;
        for (var cause = e.InnerException; cause is not null && depth < MaxCauses; cause = cause.InnerException, depth++)
        {
            var more = cause.Message.TrimEnd('.');
            if (more.Length > 0 && !text.Contains(more, StringComparison.Ordinal))
            {
                text += $": {more}";
            }
        }

        // TLS that failed before any certificate was looked at: most often a plain-text receiver behind an https URL.
        if (e.HttpRequestError == HttpRequestError.SecureConnectionError && !text.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            text += " (TLS could not start: if the receiver is plain text, its endpoint starts with http://)";
        }

        // Plain text that the server ended without a word, or without finishing HTTP/2's handshake: what a TLS port
        // does with a request that is not TLS. The handshake's failure comes without a kind (Unknown) when the TLS
        // server's close races the client's wait for its settings: then only the runtime's message tells it.
        if (endpoint?.Scheme == Uri.UriSchemeHttp
            && (e.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse
                || text.Contains("HTTP/2 handshake", StringComparison.OrdinalIgnoreCase)))
        {
            text += " (the server ended the connection without an answer: if it uses TLS, its endpoint starts with https://)";
        }

        // The messages may quote what a server sent (an invalid header line): printable and bounded, as its own text is.
        return Otlp.Core.ResponseBody.Printable(Otlp.Core.ResponseBody.MaxMessageChars, text + ".");
    }

    /// <summary>
    /// The message without its closing "(host:port)" when it names that endpoint already: the handler adds it to its
    /// cause's message, which may have it ("Connection refused 127.0.0.1:4318 (127.0.0.1:4318)").
    /// </summary>
    private static string WithoutRepeatedEndpoint(string message)
    {
        var open = message.LastIndexOf(" (", StringComparison.Ordinal);
        if (open <= 0 || !message.EndsWith(')'))
        {
            return message;
        }

        var endpoint = message[(open + 2)..^1];
        return endpoint.Length > 0 && message[..open].Contains(endpoint, StringComparison.Ordinal) ? message[..open] : message;
    }

    /// <summary>The first <see cref="HttpRequestException"/> in <paramref name="e"/>'s chain of causes, if any.</summary>
    public static HttpRequestException? Find(Exception? e)
    {
        for (var depth = 0; e is not null && depth <= MaxCauses; e = e.InnerException, depth++)
        {
            if (e is HttpRequestException found)
            {
                return found;
            }
        }

        return null;
    }
}

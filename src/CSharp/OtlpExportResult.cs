namespace Otlp;

/// <summary>How an export ended.</summary>
public enum OtlpExportStatus
{
    /// <summary>The server accepted everything.</summary>
    Success,

    /// <summary>
    /// The server accepted the request but rejected some items, or accepted it with a warning; or items larger than
    /// the request size limit on their own were dropped and the rest accepted.
    /// </summary>
    PartialSuccess,

    /// <summary>
    /// A request failed: a permanent error, or every allowed attempt failed (or the token was cancelled). When a
    /// request over the size limit was sent as several, the parts before or after the failed one may have been
    /// accepted: <see cref="OtlpExportResult.Rejected"/> counts the items that were not.
    /// </summary>
    Failure,
}

/// <summary>The result of <see cref="OtlpSignalExporter{TRequest, TItem}.ExportAsync"/>.</summary>
/// <param name="Status">How the export ended.</param>
/// <param name="Rejected">
/// Items not accepted: those the server rejected in a partial success, those too large to send on their own, and all
/// those of a request that failed.
/// </param>
/// <param name="Message">The server's message or a description of the failure; never contains header values.</param>
/// <param name="Attempts">Requests sent, retries included.</param>
public sealed record OtlpExportResult(OtlpExportStatus Status, long Rejected, string? Message, int Attempts);

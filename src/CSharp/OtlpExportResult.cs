namespace Otlp;

/// <summary>How an export ended.</summary>
public enum OtlpExportStatus
{
    /// <summary>The server accepted everything.</summary>
    Success,

    /// <summary>The server accepted the request but rejected some items, or accepted it with a warning.</summary>
    PartialSuccess,

    /// <summary>Nothing was accepted: a permanent error, or every allowed attempt failed.</summary>
    Failure,
}

/// <summary>The result of <see cref="OtlpSignalExporter{TRequest, TItem}.ExportAsync"/>.</summary>
/// <param name="Status">How the export ended.</param>
/// <param name="Rejected">Items the server rejected (partial success), or all items on failure.</param>
/// <param name="Message">The server's message or a description of the failure; never contains header values.</param>
/// <param name="Attempts">Requests sent, retries included.</param>
public sealed record OtlpExportResult(OtlpExportStatus Status, long Rejected, string? Message, int Attempts);

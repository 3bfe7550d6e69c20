using Microsoft.FSharp.Core;
using Otlp.Core;
using Otlp.Transport;

namespace Otlp.Export;

/// <summary>The interpreted result of one export attempt: what the batch machine needs, and what to tell people.</summary>
/// <param name="Outcome">The outcome for <see cref="Batching"/>: success, partial success, retryable or permanent failure.</param>
/// <param name="Problem">A description of a failure or warning for diagnostics, without header values; null on plain success.</param>
/// <param name="PartialSuccess">The server's partial success, when it sent one, as sent (its count may be out of range).</param>
internal sealed record ExportAttempt(Batching.ExportOutcome Outcome, string? Problem, PartialSuccess? PartialSuccess)
{
    /// <summary>The items the server rejected, within [0, items sent] (<see cref="Batching.partialOutcome"/>): the count to use.</summary>
    public int Rejected => this.Outcome is Batching.ExportOutcome.PartiallySucceeded partial ? partial.rejected : 0;

    /// <summary>The retry classification of the attempt, for <see cref="Retry.decide"/>.</summary>
    public Retry.Classification Classification =>
        this.Outcome.IsRetryableFailure
            ? Retry.Classification.NewRetryable(((Batching.ExportOutcome.RetryableFailure)this.Outcome).serverDelayMs)
            : this.Outcome.IsPermanentFailure
                ? Retry.Classification.NewPermanent(this.Problem ?? "permanent failure")
                : Retry.Classification.Success;
}

/// <summary>
/// Turns a raw <see cref="TransportResult"/> into an <see cref="ExportAttempt"/> using the core's rules: the
/// retry classification of gRPC and HTTP statuses, the server's delay (Retry-After, RetryInfo), and the partial
/// success in a successful response.
/// </summary>
internal static class ExportInterpreter
{
    /// <summary>The plain success, the answer to almost every export (records are immutable, so one is shared).</summary>
    private static readonly ExportAttempt Succeeded = new(Batching.ExportOutcome.Succeeded, null, null);

    /// <summary>
    /// Interprets <paramref name="result"/> as <see cref="Interpret(TransportResult, ExporterConfig, DateTimeOffset, int, Func{string, string}?)"/>
    /// does, reading the wall clock of <paramref name="clock"/> only for what needs it: a Retry-After that may be a
    /// date (an answer without one, almost every answer, reads no clock).
    /// </summary>
    public static ExportAttempt Interpret(TransportResult result, ExporterConfig config, TimeProvider clock, int sentItems, Func<string, string>? scrub = null) =>
        Interpret(result, config, result.RetryAfter is null ? DateTimeOffset.MinValue : clock.GetUtcNow(), sentItems, scrub);

    /// <summary>
    /// Interprets <paramref name="result"/> received at <paramref name="now"/> from <paramref name="config"/>'s endpoint,
    /// the answer to a request of <paramref name="sentItems"/> items (the bound of a partial success's rejected count).
    /// <paramref name="scrub"/> takes the known secrets out of what the server said, before that text is cut to its
    /// bound (a cut could leave the start of a secret that whole-value replacement no longer finds).
    /// </summary>
    public static ExportAttempt Interpret(TransportResult result, ExporterConfig config, DateTimeOffset now, int sentItems, Func<string, string>? scrub = null)
    {
        scrub ??= static text => text;
        switch (result.Kind)
        {
            case TransportResultKind.ConnectionFailed:
                return new ExportAttempt(
                    Batching.outcomeOf(Retry.connectionFailure),
                    WithPortHint($"Could not reach {config.EndpointExplanation}: {result.Message}", config),
                    null);
            case TransportResultKind.ProtocolRefused:
                return new ExportAttempt(
                    Batching.ExportOutcome.PermanentFailure,
                    WithPortHint($"{config.EndpointExplanation} refused the protocol: {result.Message}", config),
                    null);
            case TransportResultKind.HeaderProviderFailed:
                // Retried as a connection failure is: what the provider fetches (a token) is usually back soon.
                return new ExportAttempt(
                    Batching.ExportOutcome.NewRetryableFailure(FSharpOption<long>.None),
                    $"Nothing was sent to {ConfigText.endpoint(config.Endpoint.AbsoluteUri)}: {result.Message}",
                    null);
            case TransportResultKind.Cancelled:
                return new ExportAttempt(
                    Batching.ExportOutcome.NewRetryableFailure(FSharpOption<long>.None),
                    $"The export to {ConfigText.endpoint(config.Endpoint.AbsoluteUri)} was cancelled or did not finish in time.",
                    null);
        }

        if (result.RedirectedAsGetTo is { } followed)
        {
            // The application's client followed a redirect and re-sent the export as a GET without its body: whatever
            // that GET was answered, the data did not arrive.
            return new ExportAttempt(
                Batching.ExportOutcome.PermanentFailure,
                $"{config.EndpointExplanation} redirected the export to {Redact(followed)}, and the HttpClient given in the options followed as a GET without the data (answered HTTP {result.StatusCode}). Configure the final URL, or turn off AllowAutoRedirect on that client's handler.",
                null);
        }

        var classification = result.IsGrpc
            ? Retry.classifyGrpc(result.StatusCode, RetryInfoDelay(result))
            : Retry.classifyHttp(result.StatusCode, Retry.tryParseRetryAfter(now, result.RetryAfter));

        if (!classification.IsSuccess)
        {
            return new ExportAttempt(Batching.outcomeOf(classification), WithPortHint(DescribeFailure(result, config, scrub), config), null);
        }

        if (result.BodyNotRead is { } unread)
        {
            // Accepted: the data arrived. A partial success the body may have carried is unknown.
            return new ExportAttempt(
                Batching.ExportOutcome.Succeeded,
                $"{config.EndpointExplanation} answered HTTP {result.StatusCode}, but {unread}: a partial success in it, if any, is unknown.",
                null);
        }

        var partial = DecodePartialSuccess(result, config);
        if (partial is null)
        {
            return Succeeded;
        }

        if (!partial.Value.IsOk)
        {
            // A success whose body we cannot read is still a success: the data was accepted.
            return new ExportAttempt(
                Batching.ExportOutcome.Succeeded,
                $"The server's response body could not be read: {partial.Value.ErrorValue.Message}",
                null);
        }

        var success = partial.Value.ResultValue;
        if (success.Rejected == 0 && string.IsNullOrEmpty(success.ErrorMessage))
        {
            return Succeeded;
        }

        var outcome = Batching.partialOutcome(success.Rejected, sentItems);
        var rejected = outcome is Batching.ExportOutcome.PartiallySucceeded partialOutcome ? partialOutcome.rejected : 0;
        // The server's text, made printable and bounded before it reaches logs (line breaks, control characters).
        var said = ResponseBody.Printable(ResponseBody.MaxMessageChars, scrub(success.ErrorMessage ?? string.Empty));
        var problem = rejected > 0
            ? $"The server rejected {rejected} item(s): {said}"
            : $"The server accepted everything with a warning: {said}";
        if (success.Rejected != rejected && (success.Rejected > 0 || rejected > 0))
        {
            problem += $" (it reported {success.Rejected} rejected of {sentItems} sent)";
        }

        return new ExportAttempt(outcome, problem, success);
    }

    private static FSharpOption<long> RetryInfoDelay(TransportResult result) =>
        result.GrpcStatusDetails is { } details ? Retry.tryParseRetryInfo(details) : FSharpOption<long>.None;

    private static string DescribeFailure(TransportResult result, ExporterConfig config, Func<string, string> scrub)
    {
        if (result.IsGrpc)
        {
            var code = (Grpc.Core.StatusCode)result.StatusCode;
            return $"{config.EndpointExplanation} answered gRPC {code}: {ResponseBody.Printable(ResponseBody.MaxMessageChars, scrub(result.Message ?? string.Empty))}";
        }

        var text = string.IsNullOrEmpty(result.Message)
            ? $"{config.EndpointExplanation} answered HTTP {result.StatusCode}"
            : $"{config.EndpointExplanation} answered HTTP {result.StatusCode} {ResponseBody.Printable(ResponseBody.MaxMessageChars, scrub(result.Message))}";
        // OTLP/HTTP "Failures": the body is a google.rpc.Status whose message is meant for developers.
        var encoding = ResponseBody.EncodingOf(result.ContentType, config.Protocol.IsHttpJson);
        if (ResponseBody.TryDecodeStatus(result.Body, encoding) is { Value.Message: { Length: > 0 } message }
            && ResponseBody.Printable(ResponseBody.MaxMessageChars, scrub(message)) is { Length: > 0 } shown)
        {
            text += $": {shown}";
        }

        if (result.StatusCode is >= 300 and <= 399)
        {
            // Redirects are not followed: a POST would become a body-less GET, or carry the headers to another host.
            text += result.Location is { } location
                ? $", a redirect to {Redact(location)}, which is not followed: configure that URL if it is the collector's."
                : ", a redirect without a Location, which is not followed.";
        }

        if (result.BodyNotRead is { } unread)
        {
            text += $" ({unread})";
        }

        if (result.StatusCode == 404)
        {
            // The classic misconfiguration: a base endpoint given where a full URL was meant, or the reverse.
            text += config.EndpointRule.IsCodeSignalEndpoint || config.EndpointRule.IsSignalVariable
                ? $". This URL is used as is; if it is the collector's base address, configure it as the base endpoint so '{ConfigModule.SignalPath(config.Signal)}' is appended."
                : $". '{ConfigModule.SignalPath(config.Signal)}' was appended to the base endpoint; if the configured value was already the full URL, configure it as the signal endpoint instead.";
        }

        return text;
    }

    /// <summary>
    /// A failure's description, with the hint that the endpoint's port is the other protocol's default when it is
    /// (<see cref="ConfigModule.ProtocolPortMismatch"/>): a failed export is when people read the problem, and
    /// a gRPC port spoken to in HTTP/1.1 (or the reverse) fails in ways that do not say so.
    /// </summary>
    private static string WithPortHint(string problem, ExporterConfig config) =>
        ConfigModule.ProtocolPortMismatch(config.Protocol, config.Endpoint) is { } mismatch
            ? $"{problem.TrimEnd('.')}. Note: {mismatch.Value}."
            : problem;

    /// <summary>A URL for messages, its user-info and query values redacted (a redirect may carry credentials there).</summary>
    internal static string Redact(Uri url) => ConfigText.endpoint(url.IsAbsoluteUri ? url.AbsoluteUri : url.OriginalString);

    /// <summary>The partial success in a successful response, or null when the body is empty.</summary>
    private static FSharpResult<PartialSuccess, DecodeError>? DecodePartialSuccess(TransportResult result, ExporterConfig config)
    {
        if (result.Body.IsEmpty)
        {
            return null;
        }

        // A body without a content type is in the request's encoding: a JSON answer is not read as protobuf.
        var signal = config.Signal;
        var json = !result.IsGrpc && ResponseBody.EncodingOf(result.ContentType, config.Protocol.IsHttpJson).IsJson;
        if (signal.IsTraces)
        {
            var decoded = json ? OtlpJson.ReadTraceResponse(result.Body) : ProtoDecoder.DecodeTraceResponse(result.Body);
            return decoded.IsOk
                ? FSharpResult<PartialSuccess, DecodeError>.NewOk(decoded.ResultValue.PartialSuccess)
                : FSharpResult<PartialSuccess, DecodeError>.NewError(decoded.ErrorValue);
        }

        if (signal.IsMetrics)
        {
            var decoded = json ? OtlpJson.ReadMetricsResponse(result.Body) : ProtoDecoder.DecodeMetricsResponse(result.Body);
            return decoded.IsOk
                ? FSharpResult<PartialSuccess, DecodeError>.NewOk(decoded.ResultValue.PartialSuccess)
                : FSharpResult<PartialSuccess, DecodeError>.NewError(decoded.ErrorValue);
        }

        var logs = json ? OtlpJson.ReadLogsResponse(result.Body) : ProtoDecoder.DecodeLogsResponse(result.Body);
        return logs.IsOk
            ? FSharpResult<PartialSuccess, DecodeError>.NewOk(logs.ResultValue.PartialSuccess)
            : FSharpResult<PartialSuccess, DecodeError>.NewError(logs.ErrorValue);
    }
}

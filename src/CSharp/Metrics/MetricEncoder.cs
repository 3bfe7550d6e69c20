using System.Buffers;
using Otlp.Core;
using Otlp.Core.Protobuf;

namespace Otlp.Metrics;

/// <summary>
/// A collection of metric streams as an OTLP metrics request, written straight into a buffer from the series'
/// own state (<see cref="MetricStream.WriteMetric"/>): the bytes <see cref="MetricStream.ToMetric"/>,
/// <c>MetricStreams.requestWithSchemaUrls</c> and the model encoder give, without the model. Streams are grouped by
/// scope and schema URL in order of first appearance, as <c>MetricStreams.requestWithSchemaUrls</c> groups them
/// (scopes are interned by scope and schema URL when streams are made, so equal ones are one object). One encoder serves one listener, whose collections never run at once; nothing is
/// allocated per request once its lists have grown.
/// </summary>
internal sealed class MetricEncoder
{
    private readonly ProtoWriter writer = new();
    // The scopes of the streams with points, in order, each with its schema URL (one per scope object).
    private readonly List<(InstrumentationScope Scope, string SchemaUrl)> scopes = [];

    /// <summary>
    /// Writes one request of <paramref name="resource"/> holding the points <paramref name="streams"/> gathered last;
    /// returns the bytes written. Nothing but an empty request is written when no stream has points.
    /// </summary>
    public int WriteRequest(IBufferWriter<byte> output, Resource resource, ReadOnlySpan<MetricStream> streams)
    {
        ArgumentNullException.ThrowIfNull(output);
        this.scopes.Clear();
        foreach (var stream in streams)
        {
            if (stream.CollectedPoints > 0 && !this.HasScope(stream.Scope))
            {
                this.scopes.Add((stream.Scope, stream.SchemaUrl));
            }
        }

        var w = this.writer;
        try
        {
            w.StartInto(output);
            if (this.scopes.Count > 0)
            {
                var request = MetricFields.beginResourceMetrics(w, resource);
                foreach (var (scope, schemaUrl) in this.scopes)
                {
                    var scopeMetrics = MetricFields.beginScopeMetrics(w, scope);
                    foreach (var stream in streams)
                    {
                        if (ReferenceEquals(stream.Scope, scope))
                        {
                            stream.WriteMetric(w);
                        }
                    }

                    MetricFields.endScopeMetrics(w, scopeMetrics, schemaUrl);
                }

                MetricFields.endResourceMetrics(w, request, string.Empty);
            }

            return w.FinishInto(output);
        }
        finally
        {
            w.Release();
        }
    }

    private bool HasScope(InstrumentationScope scope)
    {
        foreach (var (known, _) in this.scopes)
        {
            if (ReferenceEquals(known, scope))
            {
                return true;
            }
        }

        return false;
    }
}

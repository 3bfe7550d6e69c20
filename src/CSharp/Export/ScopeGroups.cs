namespace Otlp.Export;

/// <summary>
/// Items of a batch grouped by scope (by reference) in order of first appearance, as the model path groups
/// them, without copying them: the first item of each group, and a link from each item to the next of its group.
/// </summary>
internal static class ScopeGroups
{
    /// <summary>
    /// Fills <paramref name="next"/> with the index of the next item of the same scope, or -1, and the start of
    /// <paramref name="firsts"/> with the index of the first item of each scope; returns the number of scopes.
    /// <paramref name="next"/>, <paramref name="firsts"/> and <paramref name="lasts"/> (scratch) are each at least
    /// as long as <paramref name="items"/>: callers rent them, so grouping allocates nothing.
    /// </summary>
    public static int Link<TItem>(ReadOnlySpan<ScopedItem<TItem>> items, Span<int> next, Span<int> firsts, Span<int> lasts)
    {
        var groups = 0;
        var group = -1;
        for (var i = 0; i < items.Length; i++)
        {
            next[i] = -1;
            if (group < 0 || !ReferenceEquals(items[firsts[group]].Scope, items[i].Scope))
            {
                group = IndexOf(items, firsts[..groups], items[i]);
            }

            if (group < 0)
            {
                group = groups++;
                firsts[group] = i;
                lasts[group] = i;
            }
            else
            {
                next[lasts[group]] = i;
                lasts[group] = i;
            }
        }

        return groups;
    }

    private static int IndexOf<TItem>(ReadOnlySpan<ScopedItem<TItem>> items, ReadOnlySpan<int> firsts, in ScopedItem<TItem> item)
    {
        for (var g = 0; g < firsts.Length; g++)
        {
            if (ReferenceEquals(items[firsts[g]].Scope, item.Scope))
            {
                return g;
            }
        }

        return -1;
    }
}

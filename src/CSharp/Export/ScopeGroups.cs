namespace Otlp.Export;

/// <summary>
/// Items of a batch grouped by scope (by reference) in order of first appearance, as the model path groups
/// them, without copying them: the first item of each group, and a link from each item to the next of its group.
/// </summary>
internal static class ScopeGroups
{
    /// <summary>
    /// Fills <paramref name="next"/> (at least as long as <paramref name="items"/>) with the index of the next
    /// item of the same scope, or -1, and returns the index of the first item of each scope.
    /// </summary>
    public static List<int> Link<TItem>(ReadOnlySpan<ScopedItem<TItem>> items, int[] next)
    {
        var firsts = new List<int>();
        var lasts = new List<int>();
        var group = -1;
        for (var i = 0; i < items.Length; i++)
        {
            next[i] = -1;
            if (group < 0 || !ReferenceEquals(items[firsts[group]].Scope, items[i].Scope))
            {
                group = IndexOf(items, firsts, items[i]);
            }

            if (group < 0)
            {
                group = firsts.Count;
                firsts.Add(i);
                lasts.Add(i);
            }
            else
            {
                next[lasts[group]] = i;
                lasts[group] = i;
            }
        }

        return firsts;
    }

    private static int IndexOf<TItem>(ReadOnlySpan<ScopedItem<TItem>> items, List<int> firsts, in ScopedItem<TItem> item)
    {
        for (var g = 0; g < firsts.Count; g++)
        {
            if (ReferenceEquals(items[firsts[g]].Scope, item.Scope))
            {
                return g;
            }
        }

        return -1;
    }
}

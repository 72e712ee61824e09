"""Cascade trees (who learned a solution from whom) and attribution of adoptions.

A cascade forest has one node per city's first adoption of a solution (a ``seed`` or ``adopt``
event). A node's parent is the event's source city; seeds and innovations (source -1) are roots.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ADOPTION_KINDS = ("seed", "adopt", "mandate")


def adoption_events(run, solution):
    """First seed/adopt event of each city for one solution, in step order."""
    s = run.solution_index(solution)
    ev = run.events
    mine = ev[(ev.solution == s) & ev.kind_name.isin(ADOPTION_KINDS)]
    return mine.sort_values(["step", "city"], kind="stable").drop_duplicates("city", keep="first")


def cascade_forest(run, solution):
    """One row per adopting city: city, parent (-1 for roots), root, depth (roots 0), step, time,
    layer_name, descendants (size of the subtree below, excluding the city) and children.

    A source city that never adopted (an inconsistency :func:`check_cascades` reports) is treated
    as a root's parent that is absent: the node becomes a root of its own tree."""
    ev = adoption_events(run, solution)
    cities = ev.city.to_numpy()
    parent_city = ev.source.to_numpy()
    pos = {c: i for i, c in enumerate(cities)}
    parent = np.array([pos.get(p, -1) if p >= 0 else -1 for p in parent_city], dtype=np.int64)

    n = len(cities)
    depth = np.full(n, -1, dtype=np.int64)
    root = np.full(n, -1, dtype=np.int64)
    order = []  # a topological order (parents first); nodes on a cycle never enter it
    children = [[] for _ in range(n)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    stack = [i for i in range(n) if parent[i] < 0]
    for i in stack:
        depth[i], root[i] = 0, i
    while stack:
        i = stack.pop()
        order.append(i)
        for c in children[i]:
            depth[c], root[c] = depth[i] + 1, root[i]
            stack.append(c)

    descendants = np.zeros(n, dtype=np.int64)
    for i in reversed(order):
        if parent[i] >= 0:
            descendants[parent[i]] += descendants[i] + 1

    return pd.DataFrame({
        "city": cities,
        "city_name": ev.city_name.to_numpy(),
        "parent": np.where(parent >= 0, cities[np.maximum(parent, 0)], -1) if n else parent,
        "source": parent_city,
        "root": np.where(root >= 0, cities[np.maximum(root, 0)], -1) if n else root,
        "depth": depth,
        "step": ev.step.to_numpy(),
        "time": ev.time.to_numpy(),
        "kind": ev.kind_name.astype(str).to_numpy(),
        "layer_name": ev.layer_name.astype(str).to_numpy(),
        "children": np.array([len(c) for c in children], dtype=np.int64),
        "descendants": descendants,
    })


def check_cascades(run, solution, forest=None):
    """Problems with the cascade of one solution, as sentences; an empty list when consistent.

    Checked: every adopter with a source has that source as its parent (the source adopted), the
    source adopted strictly earlier, no node lies on a cycle, and each city adopts once in the
    forest."""
    forest = cascade_forest(run, solution) if forest is None else forest
    problems = []
    if forest.city.duplicated().any():
        problems.append("a city appears twice in the forest")
    with_source = forest[forest.source >= 0]
    orphans = with_source[with_source.parent != with_source.source]
    if len(orphans):
        problems.append(f"{len(orphans)} adoption(s) credit a source that never adopted, "
                        f"e.g. city {int(orphans.city.iloc[0])} from {int(orphans.source.iloc[0])}")
    step_of = dict(zip(forest.city, forest.step))
    late = [c for c, p in zip(with_source.city, with_source.parent)
            if p >= 0 and step_of[p] >= step_of[c]]
    if late:
        problems.append(f"{len(late)} adoption(s) credit a source that adopted at the same step or "
                        f"later, e.g. city {int(late[0])}")
    cyc = forest[forest.depth < 0]
    if len(cyc):
        problems.append(f"{len(cyc)} node(s) lie on a cycle, e.g. city {int(cyc.city.iloc[0])}")
    return problems


def tree_summary(forest):
    """One row per tree (root city): size (nodes, root included), depth (longest path) and
    breadth (most nodes at one depth), largest first."""
    f = forest[forest.depth >= 0]
    if f.empty:
        return pd.DataFrame(columns=["root", "root_name", "size", "depth", "breadth"])
    names = dict(zip(forest.city, forest.city_name))
    per_level = f.groupby(["root", "depth"]).size()
    out = pd.DataFrame({
        "size": f.groupby("root").size(),
        "depth": f.groupby("root").depth.max(),
        "breadth": per_level.groupby(level=0).max(),
    }).reset_index()
    out.insert(1, "root_name", out.root.map(names))
    return out.sort_values(["size", "root"], ascending=[False, True]).reset_index(drop=True)


def cascade_stats(forest):
    """Whole-forest numbers: nodes, trees, maximum depth, maximum breadth (nodes at one depth in
    any tree), share of adoptions with a parent."""
    trees = tree_summary(forest)
    return {
        "adopters": int(len(forest)),
        "trees": int(len(trees)),
        "max_depth": int(trees.depth.max()) if len(trees) else 0,
        "max_breadth": int(trees.breadth.max()) if len(trees) else 0,
        "largest_tree": int(trees["size"].max()) if len(trees) else 0,
        "share_with_parent": float((forest.parent >= 0).mean()) if len(forest) else float("nan"),
    }


def top_spreaders(forest, k=10, by="descendants"):
    """Cities that seeded most adoptions: direct (``children``) and total (``descendants``)."""
    cols = ["city", "city_name", "depth", "time", "children", "descendants"]
    return forest.sort_values([by, "city"], ascending=[False, True])[cols].head(k).reset_index(drop=True)


def attribution(run, by="layer"):
    """Adoptions of each solution by the channel credited: a table solutions x channels.

    ``by="layer"``: the layer of the tie to the source, with ``seed`` for seed events,
    ``national`` for adoptions under a national mandate and ``innovation`` for other adoptions
    without a source. ``by="mechanism"``: the /events/mechanism
    names (only when the file has them)."""
    ev = run.events
    ev = ev[ev.kind_name.isin(ADOPTION_KINDS)]
    if by == "layer":
        kind = ev.kind_name.astype(str).to_numpy()
        channel = np.where(kind == "seed", "seed",
                           np.where(kind == "mandate", "national",
                                    np.where(ev.layer.to_numpy() < 0, "innovation",
                                             ev.layer_name.astype(str))))
        order = ["seed", "innovation", "national"] + run.layer_names
    elif by == "mechanism":
        if not run.has_mechanism:
            raise ValueError(f"{run.path}: the file has no /events/mechanism")
        channel = ev.mechanism_name.astype(str).to_numpy()
        order = list(pd.unique(channel))
    else:
        raise ValueError("by must be 'layer' or 'mechanism'")
    table = pd.crosstab(ev.solution_name.astype(str).to_numpy(), channel)
    table = table.reindex(index=run.solution_names, columns=[c for c in order if c in table.columns]
                          + [c for c in table.columns if c not in order], fill_value=0)
    table.index.name, table.columns.name = "solution", by
    return table.fillna(0).astype(int)

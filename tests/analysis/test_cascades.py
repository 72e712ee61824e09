"""Cascade trees consistent with the events; attribution."""

from citynet_analysis.cascades import (attribution, cascade_forest, cascade_stats, check_cascades,
                                       top_spreaders, tree_summary)
from citynet_analysis import open_run
from conftest import write_run


def test_forest_matches_events(run):
    forest = cascade_forest(run, "bike_sharing")
    ev = run.events[run.events.solution == 0]
    assert len(forest) == len(ev) == run.adopters[-1, 0]
    assert check_cascades(run, "bike_sharing", forest) == []
    # parent is the source for every adoption with a source; roots are exactly the others
    with_src = forest[forest.source >= 0]
    assert (with_src.parent == with_src.source).all()
    assert (forest[forest.source < 0].depth == 0).all()
    # depth = parent's depth + 1
    depth = dict(zip(forest.city, forest.depth))
    assert all(depth[c] == depth[p] + 1 for c, p in zip(with_src.city, with_src.parent))
    # descendants: the subtree sizes add up
    total = forest[forest.depth == 0].descendants.sum() + (forest.depth == 0).sum()
    assert total == len(forest)
    assert forest.children.sum() == len(with_src)


def test_trees_and_spreaders(run):
    forest = cascade_forest(run, "bike_sharing")
    trees = tree_summary(forest)
    assert trees["size"].sum() == len(forest)
    assert trees["size"].is_monotonic_decreasing
    stats = cascade_stats(forest)
    assert stats["max_depth"] == forest.depth.max()
    assert stats["trees"] == (forest.parent < 0).sum()
    top = top_spreaders(forest, 3)
    assert top.descendants.iloc[0] == forest.descendants.max()


def test_cycle_and_orphan_are_reported(run):
    forest = cascade_forest(run, "bike_sharing")
    bad = run.events.copy()
    # make the first two non-seed adopters each other's source: a cycle
    adopts = bad[(bad.solution == 0) & (bad.kind_name == "adopt")].index[:2]
    a, b = bad.loc[adopts[0], "city"], bad.loc[adopts[1], "city"]
    bad.loc[adopts[0], "source"], bad.loc[adopts[1], "source"] = b, a
    broken = type(run)(**{**run.__dict__, "events": bad})
    problems = check_cascades(broken, "bike_sharing")
    assert any("cycle" in p for p in problems)
    # a source that never adopted
    bad2 = run.events.copy()
    never = sorted(set(range(run.n_cities)) - set(forest.city))[0]
    bad2.loc[adopts[0], "source"] = never
    broken2 = type(run)(**{**run.__dict__, "events": bad2})
    assert any("never adopted" in p for p in check_cascades(broken2, "bike_sharing"))


def test_attribution_by_layer(run):
    table = attribution(run)
    ev = run.events
    assert table.values.sum() == len(ev)
    assert list(table.index) == run.solution_names
    assert table.loc["bike_sharing", "seed"] == 1
    assert table.loc["rare_idea"].drop("innovation").sum() == 0
    for layer in ("ring", "club"):
        if layer in table:
            assert table.loc["bike_sharing", layer] == ((ev.solution == 0) & (ev.layer_name == layer)).sum()


def test_attribution_by_mechanism(tmp_path):
    r = open_run(write_run(tmp_path / "m.h5", mechanism=True))
    table = attribution(r, by="mechanism")
    assert table.values.sum() == len(r.events)
    assert set(table.columns) <= {"independent", "social learning"}

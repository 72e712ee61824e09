"""Centralities against adoption time, rank correlations with intervals, isolated cities."""
import numpy as np
import pytest

from citynet_analysis.network import (adoption_times, centralities, centrality_vs_adoption,
                                      isolation_effect, spearman_ci, wilson)


def test_spearman_ci():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(scale=1.0, size=200)
    r = spearman_ci(x, y)
    assert r["low"] < r["rho"] < r["high"] and r["n"] == 200
    assert 0.55 < r["rho"] < 0.8
    b = spearman_ci(x, y, method="bootstrap", n_boot=300)
    assert b["low"] < r["rho"] < b["high"]
    assert abs((b["high"] - b["low"]) - (r["high"] - r["low"])) < 0.08
    perfect = spearman_ci(np.arange(10), -np.arange(10.0))
    assert perfect["rho"] == pytest.approx(-1)
    assert np.isnan(spearman_ci([1, 2], [2, 3])["rho"])


def test_wilson():
    low, high = wilson(5, 10)
    assert low < 0.5 < high and low == pytest.approx(1 - high)


def test_centralities(run):
    cent = centralities(run)
    assert list(cent.columns) == ["degree", "betweenness", "pagerank"]
    assert len(cent) == run.n_cities
    assert cent.loc[39, "degree"] == 0 and cent.loc[0, "degree"] == 5  # ring: 1, 36; club: 2, 3, 4
    assert cent.pagerank.sum() == pytest.approx(1.0)
    corr = centrality_vs_adoption(run, "bike_sharing", cent)
    assert set(corr.measure) == {"degree", "betweenness", "pagerank"}
    assert ((corr.low <= corr.rho) & (corr.rho <= corr.high)).all()


def test_isolation(run):
    iso = isolation_effect(run, "bike_sharing").set_index("group")
    assert iso.loc["isolated", "cities"] == 3 and iso.loc["connected", "cities"] == 37
    times = adoption_times(run, "bike_sharing")
    assert iso.adopters.sum() == times.notna().sum()


def test_network_functions_name_a_run_written_without_ties(run_file, tmp_path):
    import shutil

    import h5py

    from citynet_analysis.readers import CitynetInputError, open_run

    lean = tmp_path / "lean.h5"
    shutil.copy(run_file, lean)
    with h5py.File(lean, "a") as f:
        del f["network"]
    run = open_run(lean)
    assert not run.has_network and run.layers == []
    with pytest.raises(CitynetInputError, match="output.network: false"):
        isolation_effect(run, "bike_sharing")
    with pytest.raises(CitynetInputError, match="output.network: false"):
        centralities(run)

"""Sobol indices on the Ishigami function; sweep summaries and Welch differences."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from citynet_analysis.sensitivity import (ishigami, ishigami_indices, mean_ci, outcome_by_parameter,
                                          sobol_analyse, welch_difference)

# With n = 8192 scrambled Sobol base points (8192 x 5 evaluations) the estimators are within
# 0.02 of the analytic values (S1 0.314, 0.442, 0; ST 0.558, 0.442, 0.244).
TOLERANCE = 0.02


def test_ishigami_analytic():
    exact = ishigami_indices()
    assert np.allclose(exact.S1, [0.3139, 0.4424, 0.0], atol=1e-3)
    assert np.allclose(exact.ST, [0.5576, 0.4424, 0.2437], atol=1e-3)


def test_ishigami_sobol_indices():
    table = sobol_analyse(ishigami, [(-np.pi, np.pi)] * 3, 8192, names=["x1", "x2", "x3"],
                          seed=42, n_boot=200)
    exact = ishigami_indices()
    assert np.abs(table.S1.to_numpy() - exact.S1.to_numpy()).max() < TOLERANCE
    assert np.abs(table.ST.to_numpy() - exact.ST.to_numpy()).max() < TOLERANCE
    # the bootstrap intervals cover the analytic values
    assert ((table.S1_low.to_numpy() - 0.005 <= exact.S1.to_numpy())
            & (exact.S1.to_numpy() <= table.S1_high.to_numpy() + 0.005)).all()
    assert ((table.ST_low.to_numpy() - 0.005 <= exact.ST.to_numpy())
            & (exact.ST.to_numpy() <= table.ST_high.to_numpy() + 0.005)).all()


def test_mean_ci():
    r = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2
    assert r["mean"] == 2.5 and r["high"] - r["mean"] == pytest.approx(half)
    assert np.isnan(mean_ci([1.0])["low"])


def test_outcome_by_parameter():
    runs = pd.DataFrame({"q": np.repeat([0.2, 0.4], 5), "t50": np.r_[np.full(5, 10.0), np.arange(5.0)]})
    table = outcome_by_parameter(runs, "q", "t50")
    assert list(table.q) == [0.2, 0.4] and list(table.n) == [5, 5]
    assert table["mean"].tolist() == [10.0, 2.0]


def test_welch_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 30), rng.normal(0.2, 2.0, 50)
    r = welch_difference(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert r["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert r["low"] < r["difference"] < r["high"]
    assert r["difference"] == pytest.approx(a.mean() - b.mean())


def test_sweep_sobol_indices_on_a_saltelli_sweep_of_ishigami():
    """A sweep table laid out as citynet's saltelli design (A, B, AB_i per base sample), with the
    Ishigami function as the metric, gives its known indices."""
    from pathlib import Path

    from citynet_analysis.readers import Sweep
    from citynet_analysis.sensitivity import (ishigami, ishigami_indices, saltelli_matrices,
                                              sweep_sobol_indices)

    n, k = 4096, 3
    bounds = [(-np.pi, np.pi)] * k
    a, b, ab = saltelli_matrices(n, bounds, seed=1)
    rows = []
    for j in range(n):
        for block, x in enumerate([a[j], b[j]] + [ab[i][j] for i in range(k)]):
            rows.append({"point": j * (k + 2) + block, "x1": x[0], "x2": x[1], "x3": x[2],
                         "y": ishigami(np.asarray([x]))[0], "status": "done"})
    sweep = Sweep(path=Path("sweep.h5"), attrs={"design": "saltelli"}, runs=pd.DataFrame(rows),
                  parameters=["x1", "x2", "x3"], metrics=["y"])
    table = sweep_sobol_indices(sweep, "y", n_boot=0)
    exact = ishigami_indices()
    assert list(table.index) == ["x1", "x2", "x3"]
    assert np.allclose(table.S1.to_numpy(), exact.S1.to_numpy(), atol=0.03)
    assert np.allclose(table.ST.to_numpy(), exact.ST.to_numpy(), atol=0.03)


"""Network position against adoption: centralities, rank correlations, isolated cities."""
from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from .cascades import adoption_events


def adoption_times(run, solution):
    """First adoption time per city (NaN for cities that never adopted), indexed by city."""
    ev = adoption_events(run, solution)
    out = pd.Series(np.nan, index=pd.RangeIndex(run.n_cities, name="city"), name="adoption_time")
    out.iloc[ev.city.to_numpy()] = ev.time.to_numpy()
    return out


def centralities(run, layers=None, betweenness_k=None, seed=0):
    """Degree, betweenness and PageRank of every city on the union of the (non-complete) layers.

    Betweenness is exact up to 1,000 cities and estimated from ``betweenness_k`` sampled sources
    (fixed ``seed``) above, by default as many as fit in about 3 million node and tie visits
    (between 16 and 100 sources); it is normalised. PageRank uses the tie weights."""
    g = run.graph(layers)
    n = g.number_of_nodes()
    if betweenness_k is None and n > 1000:
        betweenness_k = int(np.clip(3e6 / (n + g.number_of_edges()), 16, 100))
    k = None if betweenness_k is None or betweenness_k >= n else int(betweenness_k)
    between = nx.betweenness_centrality(g, k=k, seed=seed, normalized=True)
    try:
        with warnings.catch_warnings():  # networkx 2.8 warns about its own internal call
            warnings.simplefilter("ignore", DeprecationWarning)
            pagerank = nx.pagerank(g, weight="weight")
    except nx.PowerIterationFailedConvergence:
        pagerank = {i: np.nan for i in g.nodes}
    idx = pd.RangeIndex(n, name="city")
    return pd.DataFrame({
        "degree": pd.Series(dict(g.degree()), dtype=float),
        "betweenness": pd.Series(between, dtype=float),
        "pagerank": pd.Series(pagerank, dtype=float),
    }).reindex(idx)


def spearman_ci(x, y, level=0.95, method="fisher", n_boot=2000, seed=0):
    """Spearman's rho with a confidence interval, on pairs where both are finite.

    ``method="fisher"``: z = atanh(rho) with variance 1.06 / (n - 3) (Fieller, Hartley &
    Pearson 1957, for Spearman's rho); ``"bootstrap"``: percentile interval over resampled pairs.
    Returns a dict rho, low, high, p (two-sided, from scipy), n."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    nan = {"rho": np.nan, "low": np.nan, "high": np.nan, "p": np.nan, "n": int(n)}
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return nan
    res = stats.spearmanr(x, y)
    rho, p = float(res.statistic if hasattr(res, "statistic") else res[0]), float(res.pvalue)
    alpha = 1 - level
    if method == "fisher":
        z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(1.06 / (n - 3))
        low, high = np.tanh(z - half), np.tanh(z + half)
    elif method == "bootstrap":
        rng = np.random.default_rng(seed)
        rx, ry = stats.rankdata(x), stats.rankdata(y)
        boot = []
        for _ in range(n_boot):
            i = rng.integers(0, n, n)
            if np.ptp(rx[i]) > 0 and np.ptp(ry[i]) > 0:
                boot.append(stats.spearmanr(x[i], y[i])[0])
        low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    else:
        raise ValueError("method must be 'fisher' or 'bootstrap'")
    return {"rho": rho, "low": float(low), "high": float(high), "p": p, "n": int(n)}


def centrality_vs_adoption(run, solution, cent=None, method="fisher"):
    """Spearman correlation of each centrality with adoption time, over the cities that adopted
    (excluding roots: seeds adopt by decree, not by position). Negative rho: central cities
    adopt earlier."""
    cent = centralities(run) if cent is None else cent
    times = adoption_times(run, solution)
    ev = adoption_events(run, solution)
    seeds = ev.city[ev.kind_name.astype(str) == "seed"].to_numpy()
    times.iloc[seeds] = np.nan
    rows = []
    for measure in cent.columns:
        r = spearman_ci(cent[measure], times, method=method)
        rows.append({"measure": measure, **r})
    return pd.DataFrame(rows)


def isolation_effect(run, solution, layers=None):
    """Isolated cities (no tie in any non-complete layer) against connected ones: cities, share
    that adopted (with a 95 % Wilson interval), median and mean adoption time."""
    run.require_network()
    degree = np.zeros(run.n_cities, dtype=np.int64)
    for layer in run.layers:
        if layer.complete or (layers is not None and layer.name not in layers):
            continue
        degree += layer.degree(run.n_cities)
    times = adoption_times(run, solution)
    rows = []
    for label, mask in (("isolated", degree == 0), ("connected", degree > 0)):
        t = times[mask]
        n, k = int(mask.sum()), int(t.notna().sum())
        low, high = wilson(k, n)
        rows.append({"group": label, "cities": n, "adopters": k,
                     "adoption_rate": k / n if n else np.nan, "rate_low": low, "rate_high": high,
                     "median_time": float(t.median()) if k else np.nan,
                     "mean_time": float(t.mean()) if k else np.nan})
    return pd.DataFrame(rows)


def wilson(k, n, level=0.95):
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return (np.nan, np.nan)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    phat = k / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))

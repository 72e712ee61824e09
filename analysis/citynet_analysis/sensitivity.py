"""Variance-based sensitivity (Sobol indices) and sweep summaries with confidence intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# --- Sobol indices --------------------------------------------------------------------------


def saltelli_matrices(n, bounds, seed=0, quasi=True):
    """Base samples A, B (n x d) and the d matrices AB_i (A with column i taken from B).

    ``bounds``: a list of (low, high) per input. ``quasi``: scrambled Sobol points (scipy.qmc)
    rather than pseudo-random ones. Returns (A, B, AB) with AB of shape (d, n, d)."""
    bounds = np.asarray(bounds, float)
    d = len(bounds)
    if quasi:
        from scipy.stats import qmc
        base = qmc.Sobol(2 * d, scramble=True, seed=seed).random(n)
    else:
        base = np.random.default_rng(seed).random((n, 2 * d))
    lo, hi = bounds[:, 0], bounds[:, 1]
    a = lo + base[:, :d] * (hi - lo)
    b = lo + base[:, d:] * (hi - lo)
    ab = np.repeat(a[None, :, :], d, axis=0)
    for i in range(d):
        ab[i, :, i] = b[:, i]
    return a, b, ab


def sobol_indices(f_a, f_b, f_ab, n_boot=0, level=0.95, seed=0):
    """First-order (Saltelli et al. 2010) and total (Jansen 1999) Sobol indices.

    S1_i = mean(f_B (f_ABi - f_A)) / V, ST_i = mean((f_A - f_ABi)^2) / (2 V), with V the variance
    of f_A and f_B pooled. ``f_ab`` has shape (d, n). With ``n_boot`` > 0, percentile bootstrap
    intervals over the n sample rows are added. Returns a DataFrame indexed by input number."""
    f_a, f_b, f_ab = np.asarray(f_a, float), np.asarray(f_b, float), np.asarray(f_ab, float)

    def estimate(rows):
        fa, fb, fab = f_a[rows], f_b[rows], f_ab[:, rows]
        var = np.var(np.concatenate([fa, fb]), ddof=1)
        s1 = np.mean(fb * (fab - fa), axis=1) / var
        st = 0.5 * np.mean((fa - fab) ** 2, axis=1) / var
        return s1, st

    n = len(f_a)
    s1, st = estimate(np.arange(n))
    out = pd.DataFrame({"S1": s1, "ST": st})
    if n_boot:
        rng = np.random.default_rng(seed)
        draws = [estimate(rng.integers(0, n, n)) for _ in range(n_boot)]
        q = [(1 - level) / 2, 1 - (1 - level) / 2]
        out[["S1_low", "S1_high"]] = np.quantile([d[0] for d in draws], q, axis=0).T
        out[["ST_low", "ST_high"]] = np.quantile([d[1] for d in draws], q, axis=0).T
    out.index.name = "input"
    return out


def sobol_analyse(func, bounds, n, names=None, seed=0, n_boot=0):
    """Sample with :func:`saltelli_matrices`, evaluate ``func`` (rows of X -> outputs) on A, B and
    every AB_i (n (d + 2) evaluations), and return :func:`sobol_indices`."""
    a, b, ab = saltelli_matrices(n, bounds, seed=seed)
    table = sobol_indices(func(a), func(b), np.array([func(m) for m in ab]), n_boot=n_boot, seed=seed)
    if names is not None:
        table.index = pd.Index(names, name="input")
    return table


def ishigami(x, a=7.0, b=0.1):
    """Ishigami & Homma (1990) test function on [-pi, pi]^3."""
    x = np.atleast_2d(x)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a=7.0, b=0.1):
    """Analytic first-order and total indices of the Ishigami function."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi ** 4 / 5) ** 2
    v2 = a * a / 8
    v13 = b * b * pi ** 8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return pd.DataFrame({"S1": [v1 / var, v2 / var, 0.0],
                         "ST": [(v1 + v13) / var, v2 / var, v13 / var]})


# --- sweep summaries ------------------------------------------------------------------------


def mean_ci(values, level=0.95):
    """Mean with a Student-t interval: dict n, mean, sd, low, high (interval NaN when n < 2)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": np.nan, "sd": np.nan, "low": np.nan, "high": np.nan}
    mean = float(v.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "sd": np.nan, "low": np.nan, "high": np.nan}
    sd = float(v.std(ddof=1))
    half = stats.t.ppf(1 - (1 - level) / 2, n - 1) * sd / np.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half}


def outcome_by_parameter(runs, parameter, metric, level=0.95):
    """Mean and confidence interval of ``metric`` over replications, for each value of
    ``parameter`` (rows of ``runs``, a DataFrame such as ``Sweep.runs``)."""
    rows = []
    for value, group in runs.groupby(parameter, sort=True):
        rows.append({parameter: value, **mean_ci(group[metric], level)})
    return pd.DataFrame(rows)


def welch_difference(a, b, level=0.95):
    """Difference of means a - b with a Welch (unequal variances) interval and p-value."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    na, nb = len(a), len(b)
    out = {"mean_a": a.mean() if na else np.nan, "mean_b": b.mean() if nb else np.nan,
           "n_a": na, "n_b": nb}
    out["difference"] = out["mean_a"] - out["mean_b"]
    if na < 2 or nb < 2:
        return {**out, "se": np.nan, "df": np.nan, "low": np.nan, "high": np.nan, "p": np.nan}
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    se = np.sqrt(va + vb)
    if se == 0:
        return {**out, "se": 0.0, "df": np.inf, "low": out["difference"], "high": out["difference"],
                "p": 0.0 if out["difference"] != 0 else 1.0}
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    half = stats.t.ppf(1 - (1 - level) / 2, df) * se
    p = 2 * stats.t.sf(abs(out["difference"]) / se, df)
    return {**out, "se": float(se), "df": float(df), "low": out["difference"] - half,
            "high": out["difference"] + half, "p": float(p)}


def sweep_difference(runs_a, runs_b, metrics, level=0.95):
    """Welch difference of means (b - a) of each metric between two sets of runs (e.g. the
    finished runs of two sweeps, or two scenarios' replications): one row per metric."""
    rows = []
    for metric in metrics:
        if metric in runs_a and metric in runs_b:
            r = welch_difference(runs_b[metric], runs_a[metric], level)
            rows.append({"metric": metric, "mean_a": r["mean_b"], "mean_b": r["mean_a"],
                         "n_a": r["n_b"], "n_b": r["n_a"], "difference": r["difference"],
                         "low": r["low"], "high": r["high"], "p": r["p"]})
    return pd.DataFrame(rows)


def sweep_sobol_indices(sweep, metric, n_boot=200, seed=0):
    """Sobol indices of one metric from a sweep run with ``design: {kind: saltelli}``.

    citynet orders the points of that design by base sample: point j (k + 2) + b is A_j (b = 0),
    B_j (b = 1) or A_j with parameter i taken from B_j (b = 2 + i). Replications of a point are
    averaged first. Returns the :func:`sobol_indices` table indexed by parameter name, or None when
    the sweep is not a Saltelli design or some points have no finished run."""
    if str(sweep.attrs.get("design", "")) != "saltelli" or "point" not in sweep.runs:
        return None
    k = len(sweep.parameters)
    done = sweep.done()
    means = done.groupby("point")[metric].mean()
    n_points = int(sweep.runs["point"].max()) + 1
    if n_points % (k + 2) or len(means) != n_points:
        return None
    f = means.sort_index().to_numpy().reshape(-1, k + 2)
    table = sobol_indices(f[:, 0], f[:, 1], f[:, 2:].T, n_boot=n_boot, seed=seed)
    table.index = pd.Index(sweep.parameters, name="parameter")
    return table


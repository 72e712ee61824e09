"""Adoption curves, times to a share of cities, and Bass (1969) model fits."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, asdict

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

LEVELS = (0.1, 0.5, 0.9)


def adoption_curves(run):
    """Share of cities with each solution adopted, one row per state, indexed by time."""
    return run.series_wide() / max(run.n_cities, 1)


def time_to_share(time, share, level):
    """First time the share reaches ``level``, linearly interpolated between states; NaN if never."""
    time = np.asarray(time, float)
    share = np.asarray(share, float)
    hit = np.nonzero(share >= level)[0]
    if len(hit) == 0:
        return float("nan")
    i = hit[0]
    if i == 0:
        return float(time[0])
    s0, s1 = share[i - 1], share[i]
    return float(time[i - 1] + (level - s0) / (s1 - s0) * (time[i] - time[i - 1]))


def origin_time(run, solution):
    """Time the solution originated: its earliest seed date in the scenario (``seeds[].at``, which
    may precede the simulated period), else its earliest seed or adopt event, else the first state
    with an adopter. NaN if nobody adopts."""
    s = run.solution_index(solution)
    dates = _seed_dates(run, s)
    if dates:
        return float(min(dates))
    ev = run.events
    if len(ev):
        mine = ev[(ev.solution == s) & ev.kind_name.isin(["seed", "adopt"])]
        if len(mine):
            return float(mine.time.min())
    col = run.adopters[:, s]
    hit = np.nonzero(col > 0)[0]
    return float(run.time[hit[0]]) if len(hit) else float("nan")


def _seed_dates(run, s):
    try:
        scenario = run.scenario() or {}
        seeds = scenario.get("solutions", [])[s].get("seeds") or []
        return [float(seed["at"]) for seed in seeds if isinstance(seed, dict) and "at" in seed]
    except Exception:  # yaml errors, or a scenario without the expected shape
        return []


def summary_table(run, levels=LEVELS):
    """One row per solution: final adopters and share, origin time, times to each level and the
    years from origin to each level."""
    rows = []
    shares = adoption_curves(run)
    for s, name in enumerate(run.solution_names):
        row = {"solution": name,
               "final_adopters": int(run.adopters[-1, s]) if len(run.time) else 0,
               "final_share": float(shares[name].iloc[-1]) if len(run.time) else float("nan"),
               "peak_adopters": int(run.adopters[:, s].max()) if len(run.time) else 0,
               "origin": origin_time(run, s)}
        for level in levels:
            t = time_to_share(run.time, shares[name], level)
            row[f"t{int(round(level * 100))}"] = t
            row[f"t{int(round(level * 100))}_from_origin"] = t - row["origin"]
        rows.append(row)
    return pd.DataFrame(rows)


# --- Bass model -----------------------------------------------------------------------------

def bass_share(t, p, q):
    """Bass cumulative adopted share F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}), t >= 0."""
    t = np.maximum(np.asarray(t, float), 0.0)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_cumulative(t, p, q, m, t0=0.0):
    """Expected cumulative adopters m F(t - t0)."""
    return m * bass_share(np.asarray(t, float) - t0, p, q)


@dataclass
class BassFit:
    """A Bass fit. p and q are per unit of model time; ``*_se`` are standard errors from the
    least-squares covariance (``se_m`` is 0 when m was fixed)."""

    p: float
    q: float
    m: float
    se_p: float
    se_q: float
    se_m: float
    t0: float
    m_fixed: bool
    rmse: float
    n_points: int

    def predict(self, t):
        return bass_cumulative(t, self.p, self.q, self.m, self.t0)

    @property
    def peak_time(self):
        """Time of the fastest adoption, t0 + ln(q/p) / (p+q) (t0 when q <= p)."""
        if self.q <= self.p:
            return self.t0
        return self.t0 + np.log(self.q / self.p) / (self.p + self.q)

    def as_dict(self):
        return asdict(self)


def fit_bass(time, cumulative, m=None, t0=None):
    """Fit the Bass model to cumulative adopters by nonlinear least squares.

    ``m``: market size; fixed at this value when given (e.g. the number of cities), else fitted
    between half and 100 times the largest observed count. ``t0``: the time at which the curve
    starts from zero; by default the last time with no adopter before the first adoption (or the
    first time). Returns a :class:`BassFit`; p and q are bounded to (1e-7, 5) and (0, 50) per unit
    of time, and several starting points are tried, keeping the best.
    """
    time = np.asarray(time, float)
    y = np.asarray(cumulative, float)
    ok = np.isfinite(time) & np.isfinite(y)
    time, y = time[ok], y[ok]
    if len(y) < 4 or y.max() <= 0:
        raise ValueError("a Bass fit needs at least 4 points and some adoption")
    if t0 is None:
        first = np.nonzero(y > 0)[0][0]
        t0 = time[first - 1] if first > 0 else time[0]
    keep = time >= t0
    time, y = time[keep], y[keep]
    m_fixed = m is not None
    ymax = y.max()
    span = max(time[-1] - t0, 1e-9)

    if m_fixed:
        def model(t, p, q):
            return bass_cumulative(t, p, q, m, t0)
        lower, upper = [1e-7, 0.0], [5.0, 50.0]
    else:
        def model(t, p, q, mm):
            return bass_cumulative(t, p, q, mm, t0)
        lower, upper = [1e-7, 0.0, 0.5 * ymax], [5.0, 50.0, max(100.0 * ymax, ymax + 1)]

    best = None
    for p0 in (0.001, 0.01, 0.05):
        for q_scale in (1.0, 5.0, 20.0):
            q0 = q_scale / span
            start = [p0, min(q0, 49.0)] + ([] if m_fixed else [min(max(1.2 * ymax, ymax + 1e-6), upper[2])])
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", OptimizeWarning)
                    params, cov = curve_fit(model, time, y, p0=start, bounds=(lower, upper),
                                            method="trf", x_scale="jac", ftol=1e-14, xtol=1e-14,
                                            gtol=1e-14, max_nfev=20000)
            except (RuntimeError, ValueError):
                continue
            sse = float(np.sum((model(time, *params) - y) ** 2))
            if best is None or sse < best[0]:
                best = (sse, params, cov)
    if best is None:
        raise ValueError("the Bass fit did not converge")
    sse, params, cov = best
    se = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.all(np.isfinite(cov)) else np.full(len(params), np.nan)
    return BassFit(p=float(params[0]), q=float(params[1]),
                   m=float(m if m_fixed else params[2]),
                   se_p=float(se[0]), se_q=float(se[1]), se_m=0.0 if m_fixed else float(se[2]),
                   t0=float(t0), m_fixed=m_fixed, rmse=float(np.sqrt(sse / len(y))),
                   n_points=int(len(y)))


def fit_run(run, solution, fix_m=True):
    """Bass fit of one solution of a run; m fixed to the number of cities unless ``fix_m`` is
    False."""
    s = run.solution_index(solution)
    return fit_bass(run.time, run.adopters[:, s], m=run.n_cities if fix_m else None)


def fit_all(run, fix_m=True):
    """{solution name: BassFit or None (no adoption, or no convergence)}."""
    fits = {}
    for name in run.solution_names:
        try:
            fits[name] = fit_run(run, name, fix_m=fix_m)
        except ValueError:
            fits[name] = None
    return fits

"""Simulated adoption against real adoption series (scenarios/data/adoption_histories.csv)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

HISTORIES = Path(__file__).resolve().parents[2] / "scenarios" / "data" / "adoption_histories.csv"

# Real series that count cities, for solutions of the built-in world scenario.
DEFAULT_SERIES = {
    "bike_sharing": "bikeshare_cities_world_metrobike",
    "bus_rapid_transit": "brt_cities_world_brtdata",
}


def load_histories(path=None):
    """The real series as a DataFrame, with a decimal ``when`` (year) column from ``date``:
    "YYYY-MM" is the middle of that month, "YYYY-early" a quarter in, "YYYY" mid-year."""
    frame = pd.read_csv(path or HISTORIES, dtype={"date": str})
    frame["when"] = [_decimal_year(d, y) for d, y in zip(frame["date"], frame["year"])]
    return frame


def _decimal_year(date, year):
    text = str(date) if isinstance(date, str) else ""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if m:
        return int(m.group(1)) + (int(m.group(2)) - 0.5) / 12
    if re.fullmatch(r"\d{4}-early", text):
        return int(text[:4]) + 0.25
    return float(year) + 0.5


def compare_series(run, solution, series=None, histories=None, scale=None):
    """Simulated adopters of ``solution`` at the dates of a real series.

    Simulation time must be in years (``time_unit == "year"``). Columns: when, observed,
    qualifier, unit, simulated (adopters interpolated at ``when``; NaN outside the simulated
    period), ratio (simulated / observed); with ``scale`` (the size of the real population the
    series counts from, e.g. the number of cities in the world), also ``simulated_scaled`` = the
    simulated share times ``scale``.
    """
    if run.time_unit != "year":
        raise ValueError(f"{run.path}: time unit is '{run.time_unit}', not 'year'; "
                         "real series are dated in years")
    s = run.solution_index(solution)
    name = run.solution_names[s]
    series = series or DEFAULT_SERIES.get(name)
    if series is None:
        raise ValueError(f"no real series named for solution '{name}'")
    hist = load_histories() if histories is None else histories
    obs = hist[hist["series"] == series].sort_values("when")
    if obs.empty:
        raise ValueError(f"no real series '{series}' in adoption_histories.csv")
    simulated = np.interp(obs["when"], run.time, run.adopters[:, s], left=np.nan, right=np.nan)
    out = pd.DataFrame({"when": obs["when"].to_numpy(), "observed": obs["value"].to_numpy(float),
                        "qualifier": obs["qualifier"].to_numpy(), "unit": obs["unit"].to_numpy(),
                        "simulated": simulated})
    out["ratio"] = out["simulated"] / out["observed"]
    if scale is not None:
        out["simulated_scaled"] = out["simulated"] / run.n_cities * scale
    out.attrs.update(series=series, solution=name)
    return out


def agreement(table, column="simulated"):
    """Summary of a :func:`compare_series` table: points compared and the geometric mean and range
    of simulated/observed (1 is perfect; 2 means twice as many simulated)."""
    ok = table[column].notna() & (table[column] > 0) & (table["observed"] > 0)
    r = (table.loc[ok, column] / table.loc[ok, "observed"]).to_numpy()
    if len(r) == 0:
        return {"points": 0, "geometric_mean_ratio": np.nan, "min_ratio": np.nan, "max_ratio": np.nan}
    return {"points": int(len(r)), "geometric_mean_ratio": float(np.exp(np.mean(np.log(r)))),
            "min_ratio": float(r.min()), "max_ratio": float(r.max())}

"""Figures: adoption curves with Bass predictions, attribution, centrality, reality checks,
comparisons and sweeps. Every function returns a matplotlib Figure (Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .curves import adoption_curves  # noqa: E402
from .network import adoption_times  # noqa: E402


def label(name):
    """A solution or layer name in plain words."""
    return str(name).replace("_", " ")


def time_label(run):
    return f"time ({run.time_unit})" if run.time_unit else "time"


def save(fig, path, dpi=110):
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_curves(run, fits=None, solutions=None):
    """Share of cities that adopted each solution over time; dashed: the fitted Bass curve."""
    shares = adoption_curves(run) * 100
    fig, ax = plt.subplots(figsize=(9, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(solutions or run.solution_names):
        c = colors[i % len(colors)]
        ax.plot(run.time, shares[name], color=c, lw=2, label=label(name))
        fit = (fits or {}).get(name)
        if fit is not None:
            ax.plot(run.time, fit.predict(run.time) / run.n_cities * 100, color=c, lw=1.2, ls="--",
                    label=f"Bass fit p={fit.p:.3g}, q={fit.q:.3g}")
    ax.set_ylim(0, 100)
    ax.set_xlim(run.time[0], run.time[-1])
    ax.set_xlabel(time_label(run))
    ax.set_ylabel("cities that adopted (% of all cities)")
    ax.set_title(f"Adoption over time, {run.n_cities:,} cities"
                 + (" (dashed: Bass model fit)" if fits else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2 if len(shares.columns) > 3 else 1, loc="upper left")
    fig.tight_layout()
    return fig


def plot_attribution(table):
    """Share of each solution's adoptions credited to each channel (layer, seed, innovation)."""
    shares = table.div(table.sum(axis=1).replace(0, np.nan), axis=0) * 100
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(shares) + 2))
    left = np.zeros(len(shares))
    colors = {"seed": "#d62728", "innovation": "#9e9e9e"}
    palette = iter(plt.get_cmap("tab10").colors[:3] + plt.get_cmap("tab10").colors[4:])
    y = np.arange(len(shares))
    for channel in shares.columns:
        values = shares[channel].fillna(0).to_numpy()
        color = colors.get(channel) or next(palette)
        ax.barh(y, values, left=left, color=color, label=label(channel))
        for yi, (l, v) in enumerate(zip(left, values)):
            if v >= 6:
                ax.text(l + v / 2, yi, f"{v:.0f}%", ha="center", va="center", fontsize=8, color="white")
        left += values
    ax.set_yticks(y, [label(n) for n in shares.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the solution's adoptions (%)")
    ax.set_title(f"Which channel carried each adoption ({table.columns.name or 'layer'})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 if len(shares) < 4 else -0.1),
              ncol=min(len(shares.columns), 6), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_centrality(run, solution, cent, correlations):
    """Adoption time against each centrality, one panel per measure, with Spearman's rho."""
    s = run.solution_index(solution)
    times = adoption_times(run, s)
    measures = list(cent.columns)
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 4.2), sharey=True)
    axes = np.atleast_1d(axes)
    units = {"degree": "ties", "betweenness": "share of shortest paths", "pagerank": "probability"}
    for ax, measure in zip(axes, measures):
        x = cent[measure].to_numpy(float)
        ok = np.isfinite(times.to_numpy()) & np.isfinite(x)
        ax.scatter(x[ok], times.to_numpy()[ok], s=5, alpha=0.4, linewidths=0)
        if measure != "degree" and (x[ok] > 0).any():
            ax.set_xscale("symlog", linthresh=max(np.min(x[ok][x[ok] > 0]), 1e-9))
        r = correlations.set_index("measure").loc[measure]
        ax.set_title(f"{measure}: rho = {r.rho:.2f} [{r.low:.2f}, {r.high:.2f}]", fontsize=10)
        ax.set_xlabel(f"{measure} ({units.get(measure, '')})")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"adoption {time_label(run)}")
    fig.suptitle(f"Network position against adoption time: {label(run.solution_names[s])} "
                 "(Spearman rho, 95 % CI; seeds left out)")
    fig.tight_layout()
    return fig


def plot_reality(run, table, scale=None):
    """Simulated adopters against a real series at the series' dates; with ``scale``, also the
    simulated share times ``scale`` (the size of the real population counted)."""
    s = run.solution_index(table.attrs["solution"])
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.plot(run.time, run.adopters[:, s], lw=2, label=f"simulated: {label(run.solution_names[s])}")
    if scale is not None:
        ax.plot(run.time, run.adopters[:, s] / run.n_cities * scale, lw=1.2, ls=":",
                label=f"simulated share x {scale:,.0f}")
    markers = {"exact": ("o", "black"), "approx": ("o", "none"), "more_than": ("^", "none"),
               "projected": ("x", "black"), "derived": ("s", "none")}
    for q, group in table.groupby("qualifier"):
        m, face = markers.get(q, ("D", "none"))
        ax.scatter(group.when, group.observed, marker=m, s=50, facecolors=face, edgecolors="black",
                   label=f"real ({q.replace('_', ' ')})", zorder=5)
    ax.set_xlabel("year")
    ax.set_ylabel(f"{table['unit'].iloc[0]} that adopted")
    ax.set_title(f"Simulation against reality: {table.attrs['series']}")
    ax.set_xlim(min(run.time[0], table.when.min() - 1), max(run.time[-1], table.when.max() + 1))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_compare(run_a, run_b, name_a="A", name_b="B"):
    """Adoption curves of two runs overlaid, one panel per solution they share."""
    shared = [n for n in run_a.solution_names if n in run_b.solution_names]
    cols = min(3, max(len(shared), 1))
    rows = int(np.ceil(max(len(shared), 1) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows + 0.6), squeeze=False)
    ca, cb = adoption_curves(run_a) * 100, adoption_curves(run_b) * 100
    for ax, name in zip(axes.flat, shared):
        ax.plot(run_a.time, ca[name], lw=2, label=name_a)
        ax.plot(run_b.time, cb[name], lw=2, ls="--", label=name_b)
        ax.set_title(label(name), fontsize=10)
        ax.set_ylim(0, 100)
        ax.set_xlabel(time_label(run_a))
        ax.set_ylabel("cities that adopted (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(shared):]:
        ax.axis("off")
    fig.suptitle(f"Adoption curves compared: {name_a} (solid) and {name_b} (dashed)")
    fig.tight_layout()
    return fig


def plot_sweep(summary, parameter, metric, unit=""):
    """Mean of a metric over replications against a varied parameter, with 95 % intervals."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = summary[parameter].to_numpy()
    mean = summary["mean"].to_numpy(float)
    err = np.vstack([mean - summary["low"].to_numpy(float), summary["high"].to_numpy(float) - mean])
    err = np.nan_to_num(err)
    numeric = np.issubdtype(np.asarray(x).dtype, np.number)
    xs = x if numeric else np.arange(len(x))
    ax.errorbar(xs, mean, yerr=err, marker="o", capsize=4, lw=1.5, label="mean, 95 % CI")
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in x])
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"{label(metric)}" + (f" ({unit})" if unit else ""))
    n = summary["n"].min() if len(summary) else 0
    ax.set_title(f"{label(metric)} against {parameter} (>= {n} replications per point)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sobol(table, title="Sobol sensitivity indices"):
    """First-order and total Sobol indices per input, with bootstrap intervals when present."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    y = np.arange(len(table))
    for off, col, color in ((-0.18, "S1", "#1f77b4"), (0.18, "ST", "#ff7f0e")):
        err = None
        if f"{col}_low" in table:
            err = np.vstack([table[col] - table[f"{col}_low"], table[f"{col}_high"] - table[col]])
            err = np.clip(err, 0, None)
        ax.barh(y + off, table[col], height=0.34, xerr=err, color=color,
                label={"S1": "first order S1", "ST": "total ST"}[col])
    ax.set_yticks(y, [str(i) for i in table.index])
    ax.invert_yaxis()
    ax.set_xlabel("share of output variance (fraction)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_differences(diff, name_a="A", name_b="B"):
    """Difference of means (B - A) per metric with 95 % intervals; a zero line for reference."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(diff) + 1.8))
    y = np.arange(len(diff))
    err = np.nan_to_num(np.vstack([diff["difference"] - diff["low"], diff["high"] - diff["difference"]]))
    ax.errorbar(diff["difference"], y, xerr=err, fmt="o", capsize=4, label="difference, 95 % CI")
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, [label(m) for m in diff["metric"]])
    ax.invert_yaxis()
    ax.set_xlabel(f"mean in {name_b} minus mean in {name_a} (metric units)")
    ax.set_title(f"Differences between {name_b} and {name_a}")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

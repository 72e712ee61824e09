"""A world view of where and when a solution was adopted."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mpl_toolkits.axes_grid1 import make_axes_locatable  # noqa: E402

from .network import adoption_times  # noqa: E402
from .cascades import adoption_events  # noqa: E402


def world_map(run, solution, ax=None):
    """Cities on longitude/latitude, coloured by the time they adopted ``solution``; cities that
    never adopted are grey, seed cities are starred. Returns the Figure."""
    s = run.solution_index(solution)
    name = run.solution_names[s]
    times = adoption_times(run, s).to_numpy()
    lon = run.cities["longitude"].to_numpy()
    lat = run.cities["latitude"].to_numpy()
    if ax is None:
        fig, ax = plt.subplots(figsize=(12, 5.0))
    else:
        fig = ax.figure
    never = ~np.isfinite(times)
    size = 6 if run.n_cities > 2000 else 14
    ax.scatter(lon[never], lat[never], s=size, c="#bbbbbb", linewidths=0,
               label=f"never adopted ({never.sum():,})")
    order = np.argsort(-np.nan_to_num(times, nan=-np.inf))  # earliest drawn last, on top
    order = order[np.isfinite(times[order])]
    unit = run.time_unit or "time"
    if len(order):
        points = ax.scatter(lon[order], lat[order], s=size, c=times[order], cmap="viridis",
                            linewidths=0, label=f"adopted ({len(order):,}), coloured by time")
        cax = make_axes_locatable(ax).append_axes("right", size="2%", pad=0.1)
        fig.colorbar(points, cax=cax).set_label(f"adoption time ({unit})")
    seeds = adoption_events(run, s)
    seeds = seeds[seeds.kind_name.astype(str) == "seed"].city.to_numpy()
    if len(seeds):
        ax.scatter(lon[seeds], lat[seeds], s=120, marker="*", c="#d62728", edgecolors="black",
                   linewidths=0.6, label="seed cities", zorder=5)
        for c in seeds:
            ax.annotate(run.cities["name"].iloc[c], (lon[c], lat[c]), xytext=(4, 4),
                        textcoords="offset points", fontsize=8)
    span_lon = (lon.min(), lon.max()) if run.n_cities else (-180, 180)
    if span_lon[0] >= -180 and span_lon[1] <= 180 and np.ptp(lon) > 90:
        ax.set_xlim(-180, 180)
        ax.set_ylim(-60, 80)
        ax.set_xticks(range(-180, 181, 60))
        ax.set_yticks(range(-60, 81, 30))
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    ax.set_title(f"Where and when {name.replace('_', ' ')} was adopted")
    legend = ax.legend(loc="lower left", fontsize=8, markerscale=1.5, framealpha=0.9)
    handles = getattr(legend, "legend_handles", None) or legend.legendHandles
    for text, handle in zip(legend.get_texts(), handles):
        if text.get_text().startswith("adopted"):
            handle.set_color(plt.get_cmap("viridis")(0.45))
    fig.tight_layout()
    return fig

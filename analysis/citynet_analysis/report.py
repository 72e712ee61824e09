"""Reports: PNG figures, one self-contained report.html and summary.json.

- :func:`report` for a run file (or a sweep directory),
- :func:`sweep_report` for a sweep,
- :func:`compare` for two run files.
"""
from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import sensitivity, cascades, curves, network, plots, reality
from .maps import world_map
from .readers import CitynetInputError, Run, Sweep, open_any
from .sensitivity import mean_ci, outcome_by_parameter, sweep_difference

MAX_MAPS = 6


# --- words ----------------------------------------------------------------------------------

def _calendar(run):
    return run.time_unit == "year" and len(run.time) and abs(run.time[0]) >= 1000


def when(run, t):
    """A time in words: a calendar year for runs dated in years, else "t = 6.68 years"."""
    if t is None or not np.isfinite(t):
        return "never"
    if _calendar(run):
        return str(int(math.floor(t + 1e-9)))
    unit = run.time_unit or ""
    if unit == "step":
        return f"step {t:.0f}"
    return f"t = {t:.3g} {unit + ('s' if unit == 'year' and t != 1 else '')}".strip()


def at(run, t):
    """ "in 2019" for calendar years, else "at t = 6.68 years"."""
    return f"in {when(run, t)}" if _calendar(run) else f"at {when(run, t)}"


def duration(run, d):
    if not np.isfinite(d):
        return ""
    unit = run.time_unit or "time units"
    if unit == "year":
        unit = "years" if round(d) != 1 else "year"
    return f"{d:.0f} {unit}" if abs(d) >= 2 else f"{d:.1f} {unit}"


def pct(x):
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{100 * x:.2g} %" if 0 < x < 0.01 else f"{100 * x:.1f} %"


def _clean(obj):
    """JSON-safe: NaN -> None, numpy scalars -> Python, DataFrames -> records."""
    if isinstance(obj, pd.DataFrame):
        return _clean(obj.reset_index().to_dict(orient="records")
                      if obj.index.name else obj.to_dict(orient="records"))
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (Path,)):
        return str(obj)
    return obj


# --- html -----------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9em} .reading{font-size:1.05em;margin:.4em 0 .8em}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0} td,th{padding:.25em .7em;
border-bottom:1px solid #e5e5e5;text-align:right} th{background:#f5f5f5} td:first-child,
th:first-child{text-align:left} img{max-width:100%;border:1px solid #eee}
.headline{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0} .box{background:#f5f8fb;
padding:.6em 1em;border-radius:6px} .box b{display:block;font-size:1.4em}
"""


class Page:
    """A small HTML page builder; figures are embedded as base64 PNG data URIs."""

    def __init__(self, title, meta=""):
        self.parts = [f"<h1>{html.escape(title)}</h1>"]
        if meta:
            self.parts.append(f'<p class="meta">{html.escape(meta)}</p>')

    def boxes(self, items):
        inner = "".join(f'<div class="box"><b>{html.escape(str(v))}</b>{html.escape(k)}</div>'
                        for k, v in items)
        self.parts.append(f'<div class="headline">{inner}</div>')

    def heading(self, text):
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text, cls="reading"):
        self.parts.append(f'<p class="{cls}">{html.escape(text)}</p>')

    def table(self, frame, floatfmt="{:,.3g}"):
        self.parts.append(frame.to_html(index=False, border=0, na_rep="–",
                                        float_format=lambda v: floatfmt.format(v)))

    def figure(self, png_path, alt):
        data = base64.b64encode(Path(png_path).read_bytes()).decode("ascii")
        self.parts.append(f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>')

    def write(self, path, title):
        doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
               + "\n".join(self.parts) + "\n</body></html>\n")
        Path(path).write_text(doc, encoding="utf-8")
        return path


def _out_dir(path, out_dir, suffix):
    """The output directory, created: ``out_dir``, or NAME+suffix beside ``path``."""
    out = Path(out_dir) if out_dir else Path(path).with_name(Path(path).stem + suffix)
    if out.exists() and not out.is_dir():
        raise CitynetInputError(out, "output path exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CitynetInputError(out, f"cannot create the output directory ({exc.strerror})") from None
    return out


# --- run report -----------------------------------------------------------------------------

def report(path, out_dir=None, reality_series=None):
    """Report on a run file (or a sweep directory / index). Returns the summary dict; writes
    PNG figures, report.html and summary.json into ``out_dir`` (default: NAME_report beside
    the file)."""
    obj = open_any(path)
    if isinstance(obj, Sweep):
        return sweep_report(obj, out_dir)
    return run_report(obj, out_dir, reality_series)


def run_report(run: Run, out_dir=None, reality_series=None):
    """Report on an opened run; see :func:`report`."""
    out = _out_dir(run.path, out_dir, "_report")
    table = curves.summary_table(run)
    fits = curves.fit_all(run)
    unit = run.time_unit
    title = f"citynet run: {run.attrs.get('scenario_name', run.path.stem)}"
    page = Page(title, f"{run.path.name} · citynet {run.attrs.get('citynet_version', '?')} "
                       f"(commit {run.attrs.get('git_commit', '?')}) · seed {run.attrs.get('seed', '?')}"
                       f" · {run.attrs.get('wall_seconds', float('nan')):.2f} s wall time")
    summary = {"file": str(run.path), "out_dir": str(out), "attributes": run.attrs, "cities": run.n_cities,
               "steps": int(run.attrs.get("steps_done", len(run.time) - 1)),
               "time_start": float(run.time[0]), "time_end": float(run.time[-1]),
               "time_unit": unit, "layers": run.layer_names, "events": int(len(run.events))}

    # headline
    page.boxes([("cities", f"{run.n_cities:,}"), ("steps", f"{summary['steps']:,}"),
                ("period", f"{when(run, run.time[0])} – {when(run, run.time[-1])}" if _calendar(run)
                 else f"{run.time[0]:g} – {run.time[-1]:g} {unit}"),
                ("solutions", len(run.solution_names)), ("events", f"{len(run.events):,}")])
    head = pd.DataFrame({
        "solution": table.solution.map(plots.label),
        "adopters at end": table.final_adopters.map("{:,}".format),
        "share at end": table.final_share.map(pct),
        "origin": [when(run, t) for t in table.origin],
        "reached 50 %": [when(run, t) for t in table.t50],
        f"time to 50 % ({unit})": table.t50_from_origin,
        f"Bass p (per {unit})": [fits[n].p if fits[n] else np.nan for n in table.solution],
        f"Bass q (per {unit})": [fits[n].q if fits[n] else np.nan for n in table.solution],
    })
    page.table(head, "{:,.4g}")
    summary["solutions"] = table
    summary["bass"] = {n: (f.as_dict() if f else None) for n, f in fits.items()}

    # curves
    fig_path = plots.save(plots.plot_curves(run, fits), out / "curves.png")
    page.heading("Adoption over time")
    page.text(_curves_reading(run, table))
    page.figure(fig_path, "adoption curves")
    page.text("Solid lines: share of cities that had adopted each solution. Dashed: the Bass "
              "model fitted to it (m fixed to the number of cities); p is the rate of adoption "
              f"without a peer, q the rate of imitation, both per {unit or 'time unit'}.", "meta")

    # maps
    page.heading("Where and when")
    for name in run.solution_names[:MAX_MAPS]:
        row = table.set_index("solution").loc[name]
        if row.final_adopters == 0:
            continue
        fig_path = plots.save(world_map(run, name), out / f"map_{name}.png")
        page.text(_solution_reading(run, name, row))
        page.figure(fig_path, f"map of {name}")

    # attribution and cascades
    if run.has_events and len(run.events):
        attr = cascades.attribution(run)
        summary["attribution_by_layer"] = attr
        fig_path = plots.save(plots.plot_attribution(attr), out / "attribution.png")
        page.heading("Which ties carried adoption")
        page.text(_attribution_reading(attr))
        page.figure(fig_path, "attribution by layer")
        if run.has_mechanism:
            mech = cascades.attribution(run, by="mechanism")
            summary["attribution_by_mechanism"] = mech
            fig_path = plots.save(plots.plot_attribution(mech), out / "attribution_mechanism.png")
            page.text(_attribution_reading(mech, "mechanism"))
            page.figure(fig_path, "attribution by mechanism")

        page.heading("Cascades: who learned from whom")
        stats_rows, spreaders, problems = [], [], {}
        for name in run.solution_names:
            forest = cascades.cascade_forest(run, name)
            if forest.empty:
                continue
            stats_rows.append({"solution": plots.label(name), **cascades.cascade_stats(forest)})
            top = cascades.top_spreaders(forest, 3)
            top.insert(0, "solution", plots.label(name))
            spreaders.append(top)
            problems[name] = cascades.check_cascades(run, name, forest)
        cstats = pd.DataFrame(stats_rows)
        summary["cascades"] = cstats
        summary["cascade_problems"] = problems
        if len(cstats):
            best = cstats.sort_values("max_depth", ascending=False).iloc[0]
            links = "link" if int(best.max_depth) == 1 else "links"
            page.text(f"Chains of learning reach {int(best.max_depth)} {links} from the first adopter "
                      f"({best.solution}); {pct(cstats.share_with_parent.mean())} of adoptions were "
                      "learned from a named peer.")
            page.table(cstats.rename(columns={"adopters": "adopting cities", "trees": "cascades",
                                              "max_depth": "longest chain",
                                              "max_breadth": "widest generation",
                                              "largest_tree": "largest cascade",
                                              "share_with_parent": "share learned from a peer"}))
            top = pd.concat(spreaders, ignore_index=True)
            summary["top_spreaders"] = top
            page.text("Cities from which most adoptions descend (direct: learned from the city "
                      "itself; total: its whole cascade below it).", "meta")
            page.table(top[["solution", "city_name", "time", "children", "descendants"]].rename(
                columns={"city_name": "city", "time": f"adopted ({unit})", "children": "direct",
                         "descendants": "total"}), "{:,.6g}")
        bad = {k: v for k, v in problems.items() if v}
        page.text("Consistency: every credited source adopted earlier and no cascade has a cycle."
                  if not bad else "Consistency problems: " + "; ".join(
                      f"{k}: {' '.join(v)}" for k, v in bad.items()), "meta")

    # network position
    if any(not layer.complete and layer.n_ties > 0 for layer in run.layers) and run.has_events:
        cent = network.centralities(run)
        corr_rows, iso_rows = [], []
        for name in run.solution_names:
            corr = network.centrality_vs_adoption(run, name, cent)
            corr.insert(0, "solution", name)
            corr_rows.append(corr)
            iso = network.isolation_effect(run, name)
            iso.insert(0, "solution", name)
            iso_rows.append(iso)
        corr_all = pd.concat(corr_rows, ignore_index=True)
        iso_all = pd.concat(iso_rows, ignore_index=True)
        summary["centrality_vs_adoption"] = corr_all
        summary["isolation"] = iso_all
        main = _main_solution(run, table)
        mcorr = corr_all[corr_all.solution == main].drop(columns="solution")
        fig_path = plots.save(plots.plot_centrality(run, main, cent, mcorr), out / "centrality.png")
        page.heading("Network position and adoption time")
        page.text(_centrality_reading(run, main, mcorr))
        page.figure(fig_path, "centrality against adoption time")
        show = corr_all.assign(solution=corr_all.solution.map(plots.label))
        page.table(show[["solution", "measure", "rho", "low", "high", "n"]], "{:.3f}")
        page.heading("Isolated and connected cities")
        page.text(_isolation_reading(run, main, iso_all[iso_all.solution == main]))
        iso_show = iso_all.assign(solution=iso_all.solution.map(plots.label))
        page.table(iso_show[["solution", "group", "cities", "adopters", "adoption_rate",
                             "rate_low", "rate_high", "median_time"]], "{:,.4g}")

    # reality
    if unit == "year":
        wanted = reality_series or reality.DEFAULT_SERIES
        checks = {}
        for name, series in wanted.items():
            if name not in run.solution_names:
                continue
            try:
                comp = reality.compare_series(run, name, series)
            except ValueError:
                continue
            if comp["simulated"].notna().sum() == 0:
                continue
            agree = reality.agreement(comp)
            checks[name] = {"series": series, "table": comp, **agree}
            fig_path = plots.save(plots.plot_reality(run, comp), out / f"reality_{name}.png")
            if len(checks) == 1:
                page.heading("Simulation against real adoption")
            page.text(_reality_reading(name, series, agree))
            page.figure(fig_path, f"{name} against {series}")
        summary["reality"] = checks

    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
    page.write(out / "report.html", title)
    return summary


def _main_solution(run, table):
    """The solution to show in single-solution figures: the most adopted one."""
    return table.sort_values(["final_adopters"], ascending=False, kind="stable").solution.iloc[0]


def _curves_reading(run, table):
    reached = table[np.isfinite(table.t50)]
    if reached.empty:
        top = table.sort_values("final_share", ascending=False).iloc[0]
        return (f"No solution reached 50 % of cities by {when(run, run.time[-1])}; the most adopted, "
                f"{plots.label(top.solution)}, reached {pct(top.final_share)}.")
    fast = reached.sort_values("t50").iloc[0]
    first = " was the first to reach" if len(table) > 1 else " reached"
    text = f"{plots.label(fast.solution).capitalize()}{first} 50 % of cities {at(run, fast.t50)}"
    if np.isfinite(fast.t50_from_origin):
        text += f", {duration(run, fast.t50_from_origin)} after its origin"
    text += "."
    if len(reached) > 1:
        slow = reached.sort_values("t50").iloc[-1]
        text += f" The last to do so was {plots.label(slow.solution)}, {at(run, slow.t50)}."
    missing = len(table) - len(reached)
    if missing:
        text += f" {missing} solution(s) never reached 50 %."
    return text


def _solution_reading(run, name, row):
    label = plots.label(name).capitalize()
    end = (f"{int(row.final_adopters):,} cities ({pct(row.final_share)}) had adopted it by "
           f"{when(run, run.time[-1])}.")
    if np.isfinite(row.t50):
        text = f"{label} reached 50 % of cities {at(run, row.t50)}"
        if np.isfinite(row.t50_from_origin):
            text += f", {duration(run, row.t50_from_origin)} after its origin ({when(run, row.origin)})"
        return text + "; " + end
    return f"{label} did not reach 50 % of cities; " + end


def _attribution_reading(attr, by="layer"):
    totals = attr.sum(axis=0)
    total = totals.sum()
    if total == 0:
        return "No adoptions were recorded."
    channels = totals.drop(labels=[c for c in ("seed", "innovation") if c in totals], errors="ignore")
    text = ""
    if len(channels) and channels.sum() > 0:
        top = channels.idxmax()
        text = (f"Most adoptions came through the {plots.label(top)} {by} "
                f"({pct(channels[top] / total)} of all adoptions).")
    if "innovation" in totals:
        text += f" {pct(totals['innovation'] / total)} were innovations with no source."
    return text.strip()


def _centrality_reading(run, name, corr):
    r = corr.set_index("measure").loc["degree"]
    if not np.isfinite(r.rho):
        return f"Too few adopters of {plots.label(name)} to relate position and timing."
    if r.low > 0:
        how = "Cities with more ties adopted later"
    elif r.high < 0:
        how = "Cities with more ties adopted earlier"
    else:
        how = "The number of ties shows no clear relation to when cities adopted"
    return (f"{how} {plots.label(name)} (Spearman rho = {r.rho:.2f}, 95 % CI {r.low:.2f} to "
            f"{r.high:.2f}, {int(r.n):,} adopters).")


def _isolation_reading(run, name, iso):
    g = iso.set_index("group")
    iso_n, con_n = int(g.loc["isolated", "cities"]), int(g.loc["connected", "cities"])
    if iso_n == 0:
        return "Every city has at least one tie; there are no isolated cities to compare."
    iso_r, con_r = g.loc["isolated", "adoption_rate"], g.loc["connected", "adoption_rate"]
    text = (f"{iso_n:,} isolated cities adopted {plots.label(name)} at a rate of {pct(iso_r)}, "
            f"against {pct(con_r)} of {con_n:,} connected cities")
    mi, mc = g.loc["isolated", "median_time"], g.loc["connected", "median_time"]
    if np.isfinite(mi) and np.isfinite(mc):
        text += f"; half of the adopters had adopted by {when(run, mi)} and {when(run, mc)}"
    return text + "."


def _reality_reading(name, series, agree):
    if agree["points"] == 0:
        return f"{series}: no real observation falls in the simulated period."
    g = agree["geometric_mean_ratio"]
    how = "more" if g > 1 else "fewer"
    return (f"At the {agree['points']} dates of {series}, the simulation has on average "
            f"{g if g > 1 else 1 / g:.1f} times {how} adopters of {plots.label(name)} than were "
            "counted in reality (geometric mean of simulated / real).")


# --- sweep report ---------------------------------------------------------------------------

def sweep_report(sweep: Sweep, out_dir=None, max_metrics=6):
    """Report on a sweep: runs by status, each metric against each varied parameter."""
    out = _out_dir(sweep.directory / "sweep", out_dir, "_report")
    runs = sweep.runs
    done = sweep.done()
    title = f"citynet sweep: {sweep.attrs.get('sweep_name', sweep.directory.name)}"
    page = Page(title, str(sweep.path))
    page.boxes([("runs", f"{len(runs):,}"), ("finished", f"{len(done):,}"),
                ("parameters", len(sweep.parameters)), ("metrics", len(sweep.metrics))])
    summary = {"file": str(sweep.path), "out_dir": str(out), "attributes": sweep.attrs, "runs": int(len(runs)),
               "finished": int(len(done)), "parameters": sweep.parameters, "metrics": sweep.metrics,
               "effects": {}}
    if "status" in runs:
        counts = runs["status"].astype(str).value_counts().rename_axis("status").reset_index(name="runs")
        page.table(counts)
    for metric in sweep.metrics[:max_metrics]:
        for parameter in sweep.parameters:
            if done[parameter].nunique() < 2:
                continue
            table = outcome_by_parameter(done, parameter, metric)
            summary["effects"][f"{metric} ~ {parameter}"] = table
            fig_path = plots.save(plots.plot_sweep(table, parameter, metric, sweep.units.get(metric, "")),
                                  out / f"sweep_{_slug(metric)}_{_slug(parameter)}.png")
            page.heading(f"{plots.label(metric)} against {parameter}")
            first, last = table.iloc[0], table.iloc[-1]
            page.text(f"Mean {plots.label(metric)} goes from {first['mean']:.3g} at {parameter} = "
                      f"{first[parameter]} to {last['mean']:.3g} at {last[parameter]} "
                      f"({int(table.n.sum())} finished runs; bars: 95 % intervals over replications).")
            page.figure(fig_path, f"{metric} against {parameter}")
    summary["sobol"] = {}
    for metric in sweep.metrics[:max_metrics]:
        table = sensitivity.sweep_sobol_indices(sweep, metric)
        if table is None or not np.isfinite(table.S1).all():
            continue
        summary["sobol"][metric] = table.reset_index()
        fig_path = plots.save(plots.plot_sobol(table, f"Sobol indices of {plots.label(metric)}"),
                              out / f"sobol_{_slug(metric)}.png")
        top = table.ST.idxmax()
        page.heading(f"What drives {plots.label(metric)}")
        page.text(f"{top} accounts for the most variance of {plots.label(metric)}: first-order "
                  f"index {table.S1[top]:.2f}, total {table.ST[top]:.2f} (Saltelli 2010 and Jansen "
                  f"estimators; bars: 95 % bootstrap intervals).")
        page.figure(fig_path, f"Sobol indices of {metric}")
    if not summary["effects"]:
        page.text("No parameter varies across finished runs; nothing to plot.")
        if len(done) and sweep.metrics:
            page.table(pd.DataFrame([{"metric": m, **mean_ci(done[m])} for m in sweep.metrics]))
    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
    page.write(out / "report.html", title)
    return summary


def _slug(text):
    return "".join(c if c.isalnum() else "_" for c in str(text)).strip("_")


# --- comparison -----------------------------------------------------------------------------

def compare(path_a, path_b, out_dir=None):
    """Compare two run files: curves overlaid, differences in final adopters and times to 50 %.
    Two sweeps are compared metric by metric instead (:func:`compare_sweeps`). Writes
    compare.png, report.html and summary.json; returns the summary dict."""
    a, b = open_any(path_a), open_any(path_b)
    if isinstance(a, Sweep) and isinstance(b, Sweep):
        return compare_sweeps(a, b, out_dir)
    for path, obj in ((path_a, a), (path_b, b)):
        if isinstance(obj, Sweep):
            raise CitynetInputError(path, "is a sweep; compare two runs or two sweeps")
    out = _out_dir(path_a, out_dir, f"_vs_{Path(path_b).stem}")
    name_a, name_b = Path(path_a).stem, Path(path_b).stem
    if name_a == name_b:
        name_a, name_b = str(path_a), str(path_b)
    ta, tb = curves.summary_table(a).set_index("solution"), curves.summary_table(b).set_index("solution")
    shared = [n for n in a.solution_names if n in b.solution_names]
    rows = []
    for n in shared:
        rows.append({"solution": n,
                     f"adopters {name_a}": int(ta.loc[n, "final_adopters"]),
                     f"adopters {name_b}": int(tb.loc[n, "final_adopters"]),
                     "adopters difference": int(tb.loc[n, "final_adopters"] - ta.loc[n, "final_adopters"]),
                     "share difference": float(tb.loc[n, "final_share"] - ta.loc[n, "final_share"]),
                     f"t50 {name_a}": ta.loc[n, "t50"], f"t50 {name_b}": tb.loc[n, "t50"],
                     "t50 difference": tb.loc[n, "t50"] - ta.loc[n, "t50"]})
    diff = pd.DataFrame(rows)
    title = f"citynet comparison: {name_a} and {name_b}"
    page = Page(title, f"A = {path_a} · B = {path_b}; differences are B − A")
    page.boxes([("cities in A", f"{a.n_cities:,}"), ("cities in B", f"{b.n_cities:,}"),
                ("shared solutions", len(shared))])
    page.text(_compare_reading(a, diff, name_a, name_b))
    if len(diff):
        show = diff.assign(solution=diff.solution.map(plots.label))
        page.table(show, "{:,.4g}")
    fig_path = plots.save(plots.plot_compare(a, b, name_a, name_b), out / "compare.png")
    page.heading("Adoption curves")
    page.figure(fig_path, "adoption curves compared")
    only = sorted(set(a.solution_names) ^ set(b.solution_names))
    if only:
        page.text(f"Solutions in only one run (not compared): {', '.join(only)}.", "meta")
    summary = {"a": str(path_a), "b": str(path_b), "out_dir": str(out), "differences": diff,
               "cities": {"a": a.n_cities, "b": b.n_cities}}
    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
    page.write(out / "report.html", title)
    return summary


def _compare_reading(run, diff, name_a, name_b):
    if diff.empty:
        return "The two runs share no solution."
    biggest = diff.iloc[diff["share difference"].abs().argmax()]
    text = (f"The largest difference is in {plots.label(biggest.solution)}: {name_b} ends with "
            f"{int(biggest['adopters difference']):+,} adopters ({100 * biggest['share difference']:+.1f} "
            f"percentage points) against {name_a}")
    if np.isfinite(biggest["t50 difference"]):
        text += (f", and reaches 50 % {duration(run, abs(biggest['t50 difference']))} "
                 f"{'later' if biggest['t50 difference'] > 0 else 'earlier'}")
    return text + "."



def compare_sweeps(a: Sweep, b: Sweep, out_dir=None):
    """Difference of means (B - A) of every metric the two sweeps share, over their finished
    runs, with Welch 95 % intervals."""
    out = _out_dir(a.directory / "sweep", out_dir, f"_vs_{b.directory.name}")
    metrics = [m for m in a.metrics if m in b.metrics]
    diff = sweep_difference(a.done(), b.done(), metrics)
    name_a, name_b = a.directory.name, b.directory.name
    title = f"citynet sweeps compared: {name_a} and {name_b}"
    page = Page(title, f"A = {a.path} · B = {b.path}; differences are B − A, Welch 95 % intervals")
    page.boxes([("finished runs in A", len(a.done())), ("finished runs in B", len(b.done())),
                ("shared metrics", len(metrics))])
    if len(diff):
        clear = diff[(diff.low > 0) | (diff.high < 0)]
        page.text(f"{len(clear)} of {len(diff)} metrics differ beyond their 95 % interval"
                  + (f": {', '.join(clear.metric)}." if len(clear) else "."))
        page.table(diff, "{:,.4g}")
        fig_path = plots.save(plots.plot_differences(diff, name_a, name_b), out / "compare.png")
        page.figure(fig_path, "differences of means")
    else:
        page.text("The two sweeps share no metric.")
    summary = {"a": str(a.path), "b": str(b.path), "out_dir": str(out), "differences": diff}
    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2), encoding="utf-8")
    page.write(out / "report.html", title)
    return summary

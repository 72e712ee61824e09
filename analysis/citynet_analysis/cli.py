"""Command line: ``python3 -m citynet_analysis report|compare|info``.

Exit codes: 0 success, 2 bad input (the message names the file), 1 an unexpected failure."""
from __future__ import annotations

import argparse
import sys
import traceback

from .readers import CitynetInputError, Sweep, open_any


def _parser():
    p = argparse.ArgumentParser(
        prog="python3 -m citynet_analysis",
        description="Analyse citynet run files: reports, comparisons, file summaries.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    r = sub.add_parser("report", help="figures, report.html and summary.json for a run or a sweep")
    r.add_argument("path", metavar="RUN.h5|SWEEP_DIR")
    r.add_argument("--out", metavar="DIR", help="output directory (default: NAME_report beside the input)")
    c = sub.add_parser("compare", help="compare two runs: curves overlaid, differences")
    c.add_argument("a", metavar="A.h5")
    c.add_argument("b", metavar="B.h5")
    c.add_argument("--out", metavar="DIR", help="output directory (default: A_vs_B beside A)")
    i = sub.add_parser("info", help="what a run or sweep file holds")
    i.add_argument("path", metavar="FILE")
    return p


def info(path):
    obj = open_any(path)
    if isinstance(obj, Sweep):
        print(f"{obj.path}: citynet sweep, {len(obj.runs)} runs ({len(obj.done())} finished)")
        print(f"  parameters: {', '.join(obj.parameters) or '-'}")
        print(f"  metrics:    {', '.join(obj.metrics) or '-'}")
        return
    run = obj
    a = run.attrs
    print(f"{run.path}: citynet run, format version {a.get('format_version')}, "
          f"citynet {a.get('citynet_version')} (commit {a.get('git_commit')})")
    print(f"  scenario {a.get('scenario_name')!r}, seed {a.get('seed')}, run index {a.get('run_index')}")
    print(f"  {run.n_cities:,} cities, {a.get('steps_done')} steps, time {run.time[0]:g} to "
          f"{run.time[-1]:g} {run.time_unit}")
    for layer in run.layers:
        ties = "complete" if layer.complete else f"{layer.n_ties:,} ties"
        print(f"  layer {layer.name}: {ties}, influence {layer.influence:g}")
    for s, name in enumerate(run.solution_names):
        final = int(run.adopters[-1, s])
        print(f"  solution {name}: {final:,} adopters at the end "
              f"({100 * final / max(run.n_cities, 1):.1f} % of cities)")
    if run.has_events:
        counts = run.events.kind_name.astype(str).value_counts()
        print("  events: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) if len(counts)
              else "  events: none")
    extra = [f"/series/{k}" for k in run.extra_series] + (["/variants"] if len(run.variants) else []) \
        + (["/national"] if run.national else []) + (["/snapshots"] if run.snapshot_names else [])
    if extra:
        print("  also: " + ", ".join(extra))


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "info":
            info(args.path)
        elif args.command == "report":
            from .report import report
            summary = report(args.path, args.out)
            print(f"Wrote report.html, summary.json and figures to {summary['out_dir']}")
        elif args.command == "compare":
            from .report import compare
            summary = compare(args.a, args.b, args.out)
            print(f"Wrote the comparison to {summary['out_dir']}")
        return 0
    except CitynetInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an analysis bug, not the user's input: say so, in one line
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"error: unexpected failure: {type(exc).__name__}: {exc} "
              f"(at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})", file=sys.stderr)
        return 1


#!/usr/bin/python3
"""Peers of citynet on the comparison run: what a Python user would otherwise use.

Reads a graph exported by citynet_bench_export (offsets.npy, targets.npy, state0*.npy,
meta.json), steps the synchronous fractional-threshold rule with each peer and prints one JSON
object per measurement on stdout. Run with /usr/bin/python3, the interpreter Debian's
python3-scipy and python3-graph-tool are installed for.

    peers.py DIR [--steps K] [--repeat R] [--threads 1,2] [--no-64]
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np


def needed(degree, threshold):
    """Smallest k > 0 with k / degree >= threshold in double arithmetic, as the engine decides."""
    t = float(np.float32(threshold))
    deg = degree.astype(np.float64)
    k = np.floor(t * deg).astype(np.int64)
    for _ in range(3):
        k = np.where((k > 0) & ((k - 1) / np.maximum(deg, 1) >= t), k - 1, k)
    for _ in range(3):
        k = np.where(k / np.maximum(deg, 1) < t, k + 1, k)
    k = np.maximum(k, 1)
    # Cities without ties never adopt through peers.
    return np.where(degree == 0, 127, np.minimum(k, 127)).astype(np.int8)


def timed_steps(step, steps, repeat, reset):
    """Median seconds per step over `repeat` runs of `steps` steps, and the last run's adopters."""
    per_step = []
    trajectory = []
    for _ in range(repeat):
        reset()
        trajectory = []
        t0 = time.perf_counter()
        for _ in range(steps):
            trajectory.append(step())
        per_step.append((time.perf_counter() - t0) / steps)
    return statistics.median(per_step), trajectory


def result(name, n, ties, solutions, threads, seconds, adopters, expected, note=""):
    return {
        "implementation": name,
        "cities": n,
        "directed_ties": ties,
        "solutions": solutions,
        "threads": threads,
        "seconds_per_step": seconds,
        "city_steps_per_s": n / seconds,
        "edge_visits_per_s": ties / seconds,
        "solution_edge_visits_per_s": ties * solutions / seconds,
        "adopters": adopters,
        "same_trajectory": expected is not None and adopters == expected[1 : len(adopters) + 1],
        "note": note,
    }


def scipy_peers(d, meta, a, emit):
    import scipy
    import scipy.sparse as sp

    offsets = np.load(os.path.join(d, "offsets.npy"))
    targets = np.load(os.path.join(d, "targets.npy"))
    n, ties = meta["cities"], meta["directed_ties"]
    index_type = np.int32 if ties < 2**31 else np.int64
    A = sp.csr_matrix(
        (np.ones(ties, dtype=np.int8), targets.astype(index_type), offsets.astype(index_type)),
        shape=(n, n),
    )
    need = needed(np.diff(offsets), meta["threshold"])
    version = f"scipy {scipy.__version__}, numpy {np.__version__}"

    # One solution: int8 state, counts = A @ x, adopt where counts reach the need; keep adoptions.
    state0 = np.load(os.path.join(d, "state0.npy")).astype(np.int8)
    x = state0.copy()

    def reset():
        x[:] = state0

    def step():
        counts = A @ x
        np.bitwise_or(x, (counts >= need).view(np.int8), out=x)
        return int(np.count_nonzero(x))

    sec, traj = timed_steps(step, a.steps, a.repeat, reset)
    emit(result("scipy sparse A @ x (int8)", n, ties, 1, 1, sec, traj, meta.get("engine_adopters"),
                version))

    if a.no_64:
        return
    # 64 solutions: an n x 64 int8 matrix, counts = A @ X.
    words = np.load(os.path.join(d, "state0_64.npy"))
    X0 = np.unpackbits(words.view(np.uint8).reshape(n, 8), axis=1, bitorder="little").astype(np.int8)
    X = X0.copy()

    def reset64():
        X[:] = X0

    def step64():
        C = A @ X
        np.bitwise_or(X, (C >= need[:, None]).view(np.int8), out=X)
        return int(np.count_nonzero(X))

    sec, traj = timed_steps(step64, max(2, a.steps // 4), max(1, a.repeat), reset64)
    emit(result("scipy sparse A @ X (int8, 64 columns)", n, ties, 64, 1, sec, traj,
                meta.get("reference64_adopters"), version))


def graph_tool_peers(d, meta, a, emit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import graph_tool as gt
        import graph_tool.dynamics as dyn

    offsets = np.load(os.path.join(d, "offsets.npy"))
    targets = np.load(os.path.join(d, "targets.npy"))
    n, ties = meta["cities"], meta["directed_ties"]
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    keep = targets > src
    g = gt.Graph(directed=False)
    g.add_vertex(n)
    g.add_edge_list(np.column_stack([src[keep], targets[keep].astype(np.int64)]))
    state0 = np.load(os.path.join(d, "state0.npy")).astype(np.int32)
    version = f"graph-tool {gt.__version__}"

    for threads in a.threads:
        gt.openmp_set_num_threads(threads)
        holder = {}

        def reset():
            s = g.new_vertex_property("int32_t")
            s.a[:] = state0
            holder["state"] = dyn.BinaryThresholdState(g, w=1.0, h=float(meta["threshold"]), r=0.0,
                                                        s=s)

        def step():
            holder["state"].iterate_sync(niter=1)
            return int(holder["state"].get_state().a.sum())

        sec, traj = timed_steps(step, a.steps, a.repeat, reset)
        emit(result("graph-tool BinaryThresholdState", n, ties, 1, threads, sec, traj, None,
                    version + "; its rule is not monotone (a city drops below its threshold) and "
                    "compares with >, so adopters differ"))

        def reset_si():
            s = g.new_vertex_property("int32_t")
            s.a[:] = state0
            holder["state"] = dyn.SIState(g, beta=0.05, s=s)

        sec, traj = timed_steps(step, a.steps, a.repeat, reset_si)
        emit(result("graph-tool SIState (beta 0.05)", n, ties, 1, threads, sec, traj, None,
                    version + "; a contagion, not the threshold rule: timed for scale"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--no-64", action="store_true", help="skip the 64-solution scipy run")
    a = p.parse_args()
    a.threads = [int(t) for t in a.threads.split(",")]
    with open(os.path.join(a.dir, "meta.json")) as f:
        meta = json.load(f)

    def emit(r):
        print(json.dumps(r), flush=True)

    def skip(name, why):
        emit({"implementation": name, "cities": meta["cities"], "skipped": why})

    try:
        scipy_peers(a.dir, meta, a, emit)
    except ImportError as e:
        skip("scipy sparse", f"not installed ({e}); apt-get install python3-scipy")
    try:
        graph_tool_peers(a.dir, meta, a, emit)
    except ImportError as e:
        skip("graph-tool", f"not installed ({e}); apt-get install python3-graph-tool")
    skip("NDlib", "not installed (not packaged in Debian)")
    skip("Mesa", "not installed (not packaged in Debian)")


if __name__ == "__main__":
    sys.exit(main())

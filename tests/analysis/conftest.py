"""Fixtures: small run and sweep files written with h5py following analysis/OUTPUTS.md, and the
engine binary (from CITYNET_BINARY) when it is available."""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ANALYSIS = REPO / "analysis"
if str(ANALYSIS) not in sys.path:
    sys.path.insert(0, str(ANALYSIS))

KINDS = ["seed", "adopt", "adapt", "drop", "mandate"]
STR = h5py.string_dtype("utf-8")


def _describe(ds, units="", description=""):
    ds.attrs.create("units", units, dtype=STR)
    ds.attrs.create("description", description or ds.name, dtype=STR)


def _array(group, name, data, units=""):
    ds = group.create_dataset(name, data=data)
    _describe(ds, units)
    return ds


def _strings(group, name, values):
    ds = group.create_dataset(name, data=np.array(values, dtype=object), dtype=STR)
    _describe(ds)
    return ds


def ring_layers(n, isolated):
    """Two layers on n cities: 'ring' (a ring over the connected cities) and 'club' (a clique of
    cities 0-4); the last ``isolated`` cities have no tie. Returns {name: set of (a, b)}."""
    m = n - isolated
    ring = {(min(i, (i + 1) % m), max(i, (i + 1) % m)) for i in range(m)}
    club = {(a, b) for a in range(5) for b in range(a + 1, 5)} - ring
    return {"ring": ring, "club": club}


def simulate(n, layers, steps, seeds, p, q, rng):
    """A small contagion giving consistent events: each step an unadopted city adopts with
    probability p (innovation) + q * (share of its neighbours adopted) (imitation, credited to a
    random adopted neighbour and the layer of that tie). Returns (events list, adopters per state)."""
    nbrs = [[] for _ in range(n)]
    for li, ties in enumerate(layers.values()):
        for a, b in sorted(ties):
            nbrs[a].append((b, li))
            nbrs[b].append((a, li))
    adopted = np.zeros(n, bool)
    events = []
    for c in seeds:
        adopted[c] = True
        events.append((0, c, 0, -1, -1))
    counts = [adopted.sum()]
    for step in range(1, steps + 1):
        new = []
        for c in range(n):
            if adopted[c]:
                continue
            peers = [(b, li) for b, li in nbrs[c] if adopted[b]]
            share = len(peers) / len(nbrs[c]) if nbrs[c] else 0.0
            if rng.random() < p + q * share:
                if peers and rng.random() < q * share / (p + q * share):
                    b, li = peers[rng.integers(len(peers))]
                    new.append((step, c, 1, b, li))
                else:
                    new.append((step, c, 1, -1, -1))
        for e in new:
            adopted[e[1]] = True
        events.extend(new)
        counts.append(adopted.sum())
    return events, np.array(counts)


def write_run(path, n=40, steps=30, isolated=3, events=True, extras=False, mechanism=False,
              solution_names=("bike_sharing", "rare_idea"), start=2000.0, dt=1.0, unit="year",
              seed=1, **root_overrides):
    """Write a run file exactly as OUTPUTS.md describes. Solution 0 spreads from city 0 (a seed);
    solution 1 is adopted by innovation only, rarely."""
    rng = np.random.default_rng(seed)
    layers = ring_layers(n, isolated)
    ev0, c0 = simulate(n, layers, steps, [0], 0.01, 0.8, rng)
    ev1, c1 = simulate(n, layers, steps, [], 0.002, 0.0, rng)
    all_events = sorted([(s, c, 0, k, src, li) for s, c, k, src, li in ev0]
                        + [(s, c, 1, k, src, li) for s, c, k, src, li in ev1])
    time = start + dt * np.arange(steps + 1)
    with h5py.File(path, "w") as f:
        root = {"format": "citynet-run", "format_version": np.int32(1), "citynet_version": "0.1.0",
                "git_commit": "abc123", "scenario_name": "tiny", "seed": np.uint64(seed),
                "run_index": np.uint64(0), "threads": np.int32(2), "rng_scheme": "test",
                "steps": np.int32(steps), "steps_done": np.int32(steps), "time_unit": unit,
                "wall_seconds": 0.01, "complete": np.uint8(1)}
        root.update(root_overrides)
        for k, v in root.items():
            if v is None:
                continue
            if isinstance(v, str):
                f.attrs.create(k, v, dtype=STR)
            else:
                f.attrs[k] = v
        yaml = (f"name: tiny\nseed: {seed}\ntime:\n  steps: {steps}\n  dt: {dt}\n  unit: {unit}\n"
                f"  start: {start}\nsolutions:\n  - name: {solution_names[0]}\n    seeds:\n"
                f"      - {{city: City0, country: AA, at: {start}}}\n  - name: {solution_names[1]}\n")
        _describe(f.create_dataset("scenario", data=yaml, dtype=STR))
        g = f.create_group("cities")
        _array(g, "id", np.arange(n, dtype=np.int64))
        _strings(g, "name", [f"City{i}" for i in range(n)])
        _strings(g, "country", [f"C{i % 4:02d}" for i in range(n)])
        _array(g, "latitude", np.linspace(-40, 60, n), "degrees")
        _array(g, "longitude", np.linspace(-170, 170, n), "degrees")
        _array(g, "population", np.full(n, 1e5) + np.arange(n) * 1e3, "people")
        g = f.create_group("solutions")
        _array(g, "id", np.arange(len(solution_names), dtype=np.int32))
        _strings(g, "name", list(solution_names))
        net = f.create_group("network")
        net.attrs.create("layers", list(layers) + ["everyone"], dtype=STR)
        for li, (name, ties) in enumerate(layers.items()):
            lg = net.create_group(name)
            lg.attrs["index"] = np.int32(li)
            lg.attrs["complete"] = np.uint8(0)
            lg.attrs["influence"] = 1.0
            rows = [[] for _ in range(n)]
            for a, b in sorted(ties):
                rows[a].append(b)
                rows[b].append(a)
            offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
            _array(lg, "offsets", offsets, "ties")
            _array(lg, "targets", np.array([t for r in rows for t in sorted(r)], dtype=np.int32))
            _array(lg, "weights", np.ones(offsets[-1], dtype=np.float32))
        lg = net.create_group("everyone")
        lg.attrs["index"] = np.int32(len(layers))
        lg.attrs["complete"] = np.uint8(1)
        lg.attrs["influence"] = 0.5
        _array(lg, "offsets", np.zeros(0, np.int64), "ties")
        _array(lg, "targets", np.zeros(0, np.int32))
        _array(lg, "weights", np.zeros(0, np.float32))
        s = f.create_group("series")
        _array(s, "time", time, unit)
        _array(s, "adopters", np.stack([c0, c1], axis=1).astype(np.int32), "cities")
        if events:
            e = f.create_group("events")
            e.attrs.create("kind_names", KINDS, dtype=STR)
            cols = np.array(all_events, dtype=np.int64).reshape(-1, 6)
            _array(e, "step", cols[:, 0].astype(np.int32), "steps")
            _array(e, "city", cols[:, 1].astype(np.int32))
            _array(e, "solution", cols[:, 2].astype(np.int32))
            kind = _array(e, "kind", cols[:, 3].astype(np.int8))
            kind.attrs.create("kind_names", KINDS, dtype=STR)
            _array(e, "source", cols[:, 4].astype(np.int32))
            _array(e, "layer", cols[:, 5].astype(np.int32))
            if mechanism:
                mech = np.where(cols[:, 4] < 0, 0, 1).astype(np.int8)
                m = _array(e, "mechanism", mech)
                m.attrs.create("mechanism_names", ["independent", "social learning"], dtype=STR)
        if extras:
            v = f.create_group("variants")
            _array(v, "solution", np.array([0, 0], np.int32))
            _array(v, "parent", np.array([-1, 0], np.int32))
            _array(v, "creator", np.array([0, 3], np.int32))
            nat = f.create_group("national")
            _array(nat, "pressure", np.zeros((steps + 1, 4)))
            _array(s, "aware", np.stack([c0, c1], axis=1).astype(np.int32), "cities")
            snap = f.create_group("snapshots")
            _array(snap, "status_0010", np.zeros((n, 2), np.int8))
    return path


@pytest.fixture(scope="session")
def run_file(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs") / "tiny.h5")


@pytest.fixture(scope="session")
def run(run_file):
    from citynet_analysis import open_run
    return open_run(run_file)


def write_sweep(directory, layout="group", n_values=3, replications=4, seed=0):
    """A sweep index in the layout the reader assumes (see citynet_analysis.readers.Sweep)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    q = np.repeat(np.linspace(0.2, 0.6, n_values), replications)
    rep = np.tile(np.arange(replications), n_values)
    t50 = 20 - 15 * q + rng.normal(0, 0.5, len(q))
    status = np.array(["done"] * (len(q) - 1) + ["failed"], dtype=object)
    files = np.array([f"runs/run_{i:04d}.h5" for i in range(len(q))], dtype=object)
    with h5py.File(directory / "sweep.h5", "w") as f:
        f.attrs.create("format", "citynet-sweep", dtype=STR)
        f.attrs["format_version"] = np.int32(1)
        f.attrs.create("sweep_name", "q_sweep", dtype=STR)
        if layout == "group":
            g = f.create_group("runs")
            _array(g, "index", np.arange(len(q), dtype=np.int64))
            _array(g, "replication", rep.astype(np.int32))
            _array(g, "seed", np.arange(len(q), dtype=np.uint64))
            _strings(g, "status", list(status))
            _strings(g, "file", list(files))
            _array(g, "rule.bass.q", q)
            _array(g, "t50", t50, "year")
            _array(g, "final_share", np.clip(0.5 + q, 0, 1))
        else:
            dt = np.dtype([("index", "i8"), ("replication", "i4"), ("seed", "u8"),
                           ("status", STR), ("file", STR), ("rule.bass.q", "f8"), ("t50", "f8")])
            data = np.empty(len(q), dtype=dt)
            data["index"], data["replication"], data["seed"] = np.arange(len(q)), rep, np.arange(len(q))
            data["status"], data["file"], data["rule.bass.q"], data["t50"] = status, files, q, t50
            ds = f.create_dataset("runs", data=data)
            ds.attrs.create("parameters", ["rule.bass.q"], dtype=STR)
            ds.attrs.create("metrics", ["t50"], dtype=STR)
    return directory


# --- the engine ----------------------------------------------------------------------------

def engine_binary():
    path = os.environ.get("CITYNET_BINARY")
    if not path:
        pytest.skip("CITYNET_BINARY is not set (ctest sets it to the built citynet)")
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"CITYNET_BINARY={path} is not an executable file (engine not built?)")
    return path


def run_engine(out, scenario=None, *args):
    binary = engine_binary()
    cmd = [binary, "run"] + ([str(scenario)] if scenario else []) + ["-o", str(out), "-q", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed: {proc.stderr}"
    return out


def cli(*args, cwd=None):
    """Run `python3 -m citynet_analysis ARGS` with this interpreter; returns CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(ANALYSIS), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "citynet_analysis", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def copy_truncated(src, dst, fraction=0.5):
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return dst


"""Read citynet run files and sweep index files into pandas objects.

The run-file layout is the contract in analysis/OUTPUTS.md. Everything a reader needs is read
at open time into a :class:`Run`; snapshots, which can be large, are read on demand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

RUN_FORMAT = "citynet-run"
SWEEP_FORMAT = "citynet-sweep"
SUPPORTED_VERSION = 1

EVENT_COLUMNS = ("step", "city", "solution", "kind", "source", "layer")
DEFAULT_KIND_NAMES = ("seed", "adopt", "adapt", "drop", "mandate")


class CitynetInputError(Exception):
    """A file that is not a readable, complete citynet file. The message is one line and names
    the file."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def _text(value):
    """Decode an HDF5 string (bytes, numpy bytes or str) to str."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _texts(values):
    return [_text(v) for v in np.atleast_1d(values)]


def _read_column(ds):
    """A 1-D dataset as a numpy array, strings decoded."""
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.array(ds.asstr()[...], dtype=object)
    return ds[...]


def _read_table(group, length=None):
    """A group of equal-length 1-D datasets, or a compound dataset, as a DataFrame.

    Datasets of another length or rank are left out (see :func:`_read_arrays`)."""
    if isinstance(group, h5py.Dataset):
        data = group[...]
        if data.dtype.names:
            frame = pd.DataFrame({n: data[n] for n in data.dtype.names})
            for col in frame.columns:
                if frame[col].dtype == object:
                    frame[col] = [_text(v) for v in frame[col]]
            return frame
        return pd.DataFrame({group.name.rsplit("/", 1)[-1]: data})
    columns = {}
    for name, obj in group.items():
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1:
            if length is None:
                length = obj.shape[0]
            if obj.shape[0] == length:
                columns[name] = _read_column(obj)
    return pd.DataFrame(columns)


def _read_arrays(group):
    """Every dataset under a group as {relative path: array}."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = _read_column(obj) if obj.ndim == 1 else obj[...]

    group.visititems(visit)
    return out


def _attrs(obj):
    out = {}
    for key, value in obj.attrs.items():
        if isinstance(value, (bytes, np.bytes_, str)):
            out[key] = _text(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
            out[key] = _texts(value)
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


@dataclass
class Layer:
    """One network layer: CSR arrays plus its attributes."""

    name: str
    index: int
    complete: bool
    influence: float
    offsets: np.ndarray
    targets: np.ndarray
    weights: np.ndarray

    @property
    def n_ties(self):
        """Undirected ties (each is stored in both directions)."""
        return len(self.targets) // 2

    def edges(self, both_directions=False):
        """Ties as a DataFrame (source, target, weight); each undirected tie once unless asked."""
        if self.complete or len(self.offsets) < 2:
            return pd.DataFrame({"source": np.array([], int), "target": np.array([], int),
                                 "weight": np.array([], float)})
        counts = np.diff(self.offsets)
        source = np.repeat(np.arange(len(counts)), counts)
        frame = pd.DataFrame({"source": source, "target": self.targets.astype(np.int64),
                              "weight": self.weights.astype(float)})
        if not both_directions:
            frame = frame[frame.source < frame.target].reset_index(drop=True)
        return frame

    def degree(self, n_cities):
        if self.complete:
            return np.full(n_cities, n_cities - 1)
        if len(self.offsets) < 2:
            return np.zeros(n_cities, dtype=int)
        return np.diff(self.offsets)


@dataclass
class Run:
    """A citynet run file, read. Times are in ``time_unit`` (``attrs['time_unit']``)."""

    path: Path
    attrs: dict
    scenario_yaml: str
    cities: pd.DataFrame
    solutions: pd.DataFrame
    time: np.ndarray
    adopters: np.ndarray  # [states, solutions]
    events: pd.DataFrame
    layers: list
    kind_names: list
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)
    national: dict = field(default_factory=dict)
    extra_series: dict = field(default_factory=dict)
    snapshot_names: list = field(default_factory=list)
    has_events: bool = True
    has_mechanism: bool = False
    has_network: bool = True

    @property
    def n_cities(self):
        return len(self.cities)

    @property
    def solution_names(self):
        return list(self.solutions["name"])

    @property
    def time_unit(self):
        return self.attrs.get("time_unit", "")

    @property
    def layer_names(self):
        return [layer.name for layer in self.layers]

    def layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers are {self.layer_names}")

    def solution_index(self, solution):
        if isinstance(solution, (int, np.integer)):
            return int(solution)
        names = self.solution_names
        if solution not in names:
            raise KeyError(f"no solution {solution!r}; solutions are {names}")
        return names.index(solution)

    def series_wide(self):
        """Adopters per solution, one row per state, indexed by time."""
        frame = pd.DataFrame(self.adopters, columns=self.solution_names)
        frame.index = pd.Index(self.time, name="time")
        return frame

    def series_long(self):
        """Columns time, state, solution, adopters, share."""
        states, n_sol = self.adopters.shape
        frame = pd.DataFrame({
            "time": np.repeat(self.time, n_sol),
            "state": np.repeat(np.arange(states), n_sol),
            "solution": np.tile(np.array(self.solution_names, dtype=object), states),
            "adopters": self.adopters.reshape(-1),
        })
        frame["share"] = frame["adopters"] / max(self.n_cities, 1)
        return frame

    def require_network(self):
        """Raises a clear error when the run was written without its ties."""
        if not self.has_network:
            _fail(self.path, "written with output.network: false, so it holds no ties; rerun "
                             "its scenario (the /scenario text) without that setting")

    def graph(self, layers=None, include_complete=False):
        """A networkx Graph of the union of layers (all non-complete ones by default).

        Edge attributes: ``weight`` (sum over layers) and ``layers`` (their names)."""
        import networkx as nx

        self.require_network()
        g = nx.Graph()
        g.add_nodes_from(range(self.n_cities))
        chosen = [self.layer(n) if isinstance(n, str) else n for n in (layers or self.layers)]
        for layer in chosen:
            if layer.complete and not include_complete:
                continue
            if layer.complete:
                raise ValueError(f"layer {layer.name!r} is complete; a graph of it has n^2 edges")
            for s, t, w in layer.edges().itertuples(index=False):
                if g.has_edge(s, t):
                    g[s][t]["weight"] += w
                    g[s][t]["layers"].append(layer.name)
                else:
                    g.add_edge(s, t, weight=w, layers=[layer.name])
        return g

    def scenario(self):
        """The resolved scenario as a dict (needs PyYAML; None without it)."""
        try:
            import yaml
        except ImportError:
            return None
        return yaml.safe_load(self.scenario_yaml)

    def read_snapshot(self, name):
        """A dataset under /snapshots (names in ``snapshot_names``), read now."""
        with h5py.File(self.path, "r") as f:
            return f["snapshots"][name][...]


def _fail(path, problem):
    raise CitynetInputError(path, problem)


def _open_h5(path, expected_format):
    path = Path(path)
    if not path.exists():
        _fail(path, "no such file")
    if path.is_dir():
        _fail(path, "is a directory, not a file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        with open(path, "rb") as raw:
            head = raw.read(8)
        if head != b"\x89HDF\r\n\x1a\n":
            _fail(path, "not an HDF5 file")
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in detail:
            _fail(path, "HDF5 file is truncated (incomplete copy or interrupted write)")
        _fail(path, f"cannot open as HDF5 ({detail})")
    fmt = f.attrs.get("format")
    if fmt is None:
        f.close()
        _fail(path, f"not a citynet file: no 'format' attribute (expected '{expected_format}')")
    if _text(fmt) != expected_format:
        f.close()
        _fail(path, f"format is '{_text(fmt)}', expected '{expected_format}'")
    version = f.attrs.get("format_version")
    if version is None:
        f.close()
        _fail(path, "no 'format_version' attribute")
    if int(version) > SUPPORTED_VERSION:
        f.close()
        _fail(path, f"format_version {int(version)} is newer than this reader supports "
                    f"({SUPPORTED_VERSION}); update citynet_analysis")
    return f


def _require(f, path, name):
    if name not in f:
        _fail(path, f"missing dataset /{name}")
    return f[name]


def open_run(path) -> Run:
    """Read a citynet run file. Raises :class:`CitynetInputError` for anything unusable."""
    path = Path(path)
    f = _open_h5(path, RUN_FORMAT)
    try:
        with f:
            return _read_run(f, path)
    except CitynetInputError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _fail(path, f"damaged or unreadable ({detail})")


def _read_run(f, path):
    attrs = _attrs(f)
    if int(attrs.get("complete", 0)) != 1:
        _fail(path, f"run is not complete (complete = {attrs.get('complete', 'missing')}); "
                    "the run was interrupted or is still being written")

    scenario = _text(_require(f, path, "scenario")[()])
    cities = pd.DataFrame({
        col: _read_column(_require(f, path, f"cities/{col}"))
        for col in ("id", "name", "country", "latitude", "longitude", "population")
    })
    if len({len(cities[c]) for c in cities.columns}) > 1:
        _fail(path, "/cities datasets differ in length")
    solutions = pd.DataFrame({
        "id": _read_column(_require(f, path, "solutions/id")),
        "name": _read_column(_require(f, path, "solutions/name")),
    })

    time = _require(f, path, "series/time")[...].astype(float)
    adopters = _require(f, path, "series/adopters")[...]
    if adopters.ndim != 2 or adopters.shape != (len(time), len(solutions)):
        _fail(path, f"/series/adopters has shape {adopters.shape}, expected "
                    f"({len(time)}, {len(solutions)})")

    layers = []
    if "network" in f:
        net = f["network"]
        order = _texts(net.attrs["layers"]) if "layers" in net.attrs else list(net.keys())
        for i, name in enumerate(order):
            if name not in net:
                _fail(path, f"missing group /network/{name} (named in the 'layers' attribute)")
            g = net[name]
            layers.append(Layer(
                name=name,
                index=int(g.attrs.get("index", i)),
                complete=bool(g.attrs.get("complete", 0)),
                influence=float(g.attrs.get("influence", 1.0)),
                offsets=_require(g, path, "offsets")[...] if "offsets" in g else np.array([], np.int64),
                targets=g["targets"][...] if "targets" in g else np.array([], np.int32),
                weights=g["weights"][...] if "weights" in g else np.array([], np.float32),
            ))

    kind_names = list(DEFAULT_KIND_NAMES)
    has_events = "events" in f
    has_mechanism = False
    if has_events:
        eg = f["events"]
        if "kind_names" in eg.attrs:
            kind_names = _texts(eg.attrs["kind_names"])
        raw = {c: _require(f, path, f"events/{c}")[...] for c in EVENT_COLUMNS}
        if len({len(v) for v in raw.values()}) > 1:
            _fail(path, "/events datasets differ in length")
        events = pd.DataFrame(raw)
        if "mechanism" in eg:
            has_mechanism = True
            events["mechanism"] = eg["mechanism"][...]
            names = _texts(eg["mechanism"].attrs.get("mechanism_names",
                                                    eg.attrs.get("mechanism_names", [])))
            events["mechanism_name"] = _names(events["mechanism"], names, "mechanism")
    else:
        events = pd.DataFrame({c: np.array([], np.int32) for c in EVENT_COLUMNS})
    events = _join_event_names(events, time, kind_names, cities, solutions, layers)

    variants = pd.DataFrame()
    if "variants" in f:
        variants = _read_table(f["variants"])
    national = _read_arrays(f["national"]) if "national" in f and isinstance(f["national"], h5py.Group) else {}
    extra = {}
    for name, obj in f["series"].items():
        if name in ("time", "adopters"):
            continue
        extra[name] = _read_column(obj) if isinstance(obj, h5py.Dataset) else _read_arrays(obj)
    snapshots = []
    if "snapshots" in f:
        f["snapshots"].visititems(lambda n, o: snapshots.append(n) if isinstance(o, h5py.Dataset) else None)

    return Run(path=path, attrs=attrs, scenario_yaml=scenario, cities=cities, solutions=solutions,
               time=time, adopters=adopters, events=events, layers=layers, kind_names=kind_names,
               variants=variants, national=national, extra_series=extra, snapshot_names=snapshots,
               has_events=has_events, has_mechanism=has_mechanism,
               has_network="network" in f)


def _names(codes, names, what):
    """Names for integer codes; -1 (and out-of-range codes) become a readable placeholder."""
    codes = np.asarray(codes)
    table = np.array(list(names) + [f"({what} -1)"], dtype=object)
    safe = np.where((codes >= 0) & (codes < len(names)), codes, len(names))
    return table[safe]


def _join_event_names(events, time, kind_names, cities, solutions, layers):
    city_names = cities["name"].to_numpy(dtype=object)
    events["time"] = time[np.clip(events["step"].to_numpy(), 0, max(len(time) - 1, 0))] if len(time) else np.nan
    events["kind_name"] = _names(events["kind"], kind_names, "kind")
    events["solution_name"] = _names(events["solution"], list(solutions["name"]), "solution")
    events["city_name"] = _names(events["city"], list(city_names), "city")
    src = _names(events["source"], list(city_names), "city")
    events["source_name"] = np.where(events["source"].to_numpy() < 0, "", src)
    lay = _names(events["layer"], [layer.name for layer in layers], "layer")
    events["layer_name"] = np.where(events["layer"].to_numpy() < 0, "", lay)
    for col in ("kind_name", "solution_name", "layer_name"):
        events[col] = events[col].astype("category")
    return events


# --- sweeps ---------------------------------------------------------------------------------

SWEEP_FIXED_COLUMNS = ("index", "run_index", "replication", "seed", "status", "file", "point",
                       "threads", "wall_seconds", "host", "message")


@dataclass
class Sweep:
    """A sweep index, read.

    Assumed layout of ``DIR/sweep.h5`` (the sweep format is newer than this reader; it reads
    defensively and documents what it accepts):

    - root attributes ``format = "citynet-sweep"``, ``format_version`` (<= 1), others kept in
      ``attrs``;
    - ``/runs``: one row per run, either a compound dataset (one field per column) or a group of
      equal-length 1-D datasets (one per column). Columns ``index`` (or ``run_index``),
      ``replication``, ``seed``, ``status`` (a string such as ``done``/``failed`` or a code) and
      ``file`` (run file, relative to the sweep directory) are recognised by name;
    - which other columns are varied parameters and which are summary metrics is taken from, in
      order: string-array attributes ``parameters`` and ``metrics`` on ``/runs`` (or the root);
      subgroups ``/runs/parameters`` and ``/runs/metrics``; otherwise a column whose name holds
      a dot (a scenario key path such as ``rule.bass.q``) is a parameter and the rest are metrics;
    - a column dataset's ``units`` attribute, when present, is kept in ``units``.
    """

    path: Path
    attrs: dict
    runs: pd.DataFrame
    parameters: list
    metrics: list
    units: dict = field(default_factory=dict)

    @property
    def directory(self):
        return self.path.parent

    def run_path(self, row):
        """Absolute path of a run's file (row: index label in ``runs``)."""
        name = self.runs.loc[row, "file"]
        p = Path(name)
        return p if p.is_absolute() else self.directory / p

    def done(self):
        """Runs whose status says they finished (all runs when there is no status column)."""
        if "status" not in self.runs:
            return self.runs
        status = self.runs["status"]
        if status.dtype == object:
            return self.runs[status.str.lower().isin(["done", "ok", "complete", "finished", "success"])]
        return self.runs[status == 0]


def open_sweep(path) -> Sweep:
    """Read a sweep index: a directory holding sweep.h5, or the index file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "sweep.h5"
        if not path.exists():
            _fail(path.parent, "directory holds no sweep.h5 (not a sweep directory)")
    f = _open_h5(path, SWEEP_FORMAT)
    try:
        with f:
            attrs = _attrs(f)
            if "runs" not in f:
                _fail(path, "missing /runs table")
            node = f["runs"]
            runs = _read_table(node)
            units = {}
            if isinstance(node, h5py.Group):
                node.visititems(lambda n, o: units.__setitem__(n.rsplit("/", 1)[-1], _text(o.attrs["units"]))
                                if isinstance(o, h5py.Dataset) and "units" in o.attrs else None)
            declared_p = _texts(node.attrs.get("parameters", f.attrs.get("parameters", [])))
            if not declared_p and isinstance(f.get("parameters"), h5py.Dataset):
                declared_p = _texts(f["parameters"][()])  # citynet sweep: /parameters names them
            declared_m = _texts(node.attrs.get("metrics", f.attrs.get("metrics", [])))
            if isinstance(node, h5py.Group):
                for sub, target in (("parameters", declared_p), ("metrics", declared_m)):
                    if sub in node and isinstance(node[sub], h5py.Group):
                        table = _read_table(node[sub], length=len(runs) or None)
                        for col in table.columns:
                            runs[col] = table[col].to_numpy()
                            target.append(col)
    except CitynetInputError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        _fail(path, f"damaged or unreadable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    if "index" not in runs and "run_index" in runs:
        runs["index"] = runs["run_index"]
    others = [c for c in runs.columns if c not in SWEEP_FIXED_COLUMNS]
    parameters = [c for c in declared_p if c in runs] or [c for c in others if "." in c]
    metrics = [c for c in declared_m if c in runs] or [
        c for c in others if c not in parameters and pd.api.types.is_numeric_dtype(runs[c])]
    return Sweep(path=path, attrs=attrs, runs=runs, parameters=parameters, metrics=metrics,
                 units={k: v for k, v in units.items() if v})


def open_any(path):
    """A Run or a Sweep, by the file's format attribute (a directory is a sweep)."""
    path = Path(path)
    if path.is_dir():
        return open_sweep(path)
    try:
        return open_run(path)
    except CitynetInputError as exc:
        if f"expected '{RUN_FORMAT}'" in exc.problem and SWEEP_FORMAT in exc.problem:
            return open_sweep(path)
        raise


def file_kind(path):
    """'run', 'sweep' or None, from the format attribute alone (no validation)."""
    try:
        with h5py.File(path, "r") as f:
            fmt = _text(f.attrs.get("format", ""))
    except (OSError, ValueError):
        return None
    return {RUN_FORMAT: "run", SWEEP_FORMAT: "sweep"}.get(fmt)


__all__ = ["CitynetInputError", "Layer", "Run", "Sweep", "open_run", "open_sweep", "open_any",
           "file_kind", "RUN_FORMAT", "SWEEP_FORMAT", "SUPPORTED_VERSION"]

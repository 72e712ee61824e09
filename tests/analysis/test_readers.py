"""Readers against files written by the contract in analysis/OUTPUTS.md, and bad input."""
from concurrent.futures import ThreadPoolExecutor

import h5py
import networkx as nx
import numpy as np
import pytest

from conftest import STR, cli, copy_truncated, write_run, write_sweep
from citynet_analysis import CitynetInputError, open_run, open_sweep
from citynet_analysis.readers import open_any


def test_tables(run):
    assert run.n_cities == 40
    assert run.solution_names == ["bike_sharing", "rare_idea"]
    assert list(run.cities.columns) == ["id", "name", "country", "latitude", "longitude", "population"]
    assert run.cities.name.iloc[3] == "City3"
    assert run.attrs["format"] == "citynet-run" and run.attrs["complete"] == 1
    assert run.time_unit == "year"
    assert run.scenario_yaml.startswith("name: tiny")
    assert run.scenario()["name"] == "tiny"


def test_series_wide_and_long(run):
    wide = run.series_wide()
    assert wide.shape == (31, 2) and wide.index.name == "time"
    assert wide.index[0] == 2000.0
    long = run.series_long()
    assert len(long) == 62
    assert set(long.columns) >= {"time", "state", "solution", "adopters", "share"}
    last = long[(long.state == 30) & (long.solution == "bike_sharing")]
    assert last.adopters.iloc[0] == wide["bike_sharing"].iloc[-1]


def test_events_joined(run):
    ev = run.events
    assert len(ev) > 0
    assert set(ev.kind_name.astype(str)) <= {"seed", "adopt"}
    row = ev[ev.source >= 0].iloc[0]
    assert row.source_name == f"City{row.source}"
    assert row.layer_name in ("ring", "club")
    assert row.city_name == f"City{row.city}"
    assert (ev[ev.source < 0].source_name == "").all()
    assert np.allclose(ev.time, 2000.0 + ev.step)
    # events agree with the series: adoptions up to each state equal the adopters
    for s, name in enumerate(run.solution_names):
        counts = np.array([((ev.solution == s) & (ev.step <= k)).sum() for k in range(len(run.time))])
        assert (counts == run.adopters[:, s]).all()


def test_layers(run):
    assert run.layer_names == ["ring", "club", "everyone"]
    ring = run.layer("ring")
    edges = ring.edges()
    assert len(edges) == ring.n_ties == 37
    assert (edges.source < edges.target).all()
    assert len(ring.edges(both_directions=True)) == 74
    assert run.layer("everyone").complete and run.layer("everyone").edges().empty
    g = run.graph()
    assert isinstance(g, nx.Graph) and g.number_of_nodes() == 40
    assert g.degree(39) == 0
    assert set(g[0][1]["layers"]) == {"ring"}
    assert set(g[0][2]["layers"]) == {"club"}


def test_optional_groups_absent_are_empty(run):
    assert run.variants.empty and run.national == {} and run.extra_series == {}
    assert run.snapshot_names == [] and not run.has_mechanism


def test_optional_groups_present(tmp_path):
    r = open_run(write_run(tmp_path / "x.h5", extras=True, mechanism=True))
    assert set(r.variants.columns) == {"creator", "parent", "solution"}
    assert len(r.variants) == 2
    assert r.national["pressure"].shape == (31, 4)
    assert r.extra_series["aware"].shape == (31, 2)
    assert r.snapshot_names == ["status_0010"]
    assert r.read_snapshot("status_0010").shape == (40, 2)
    assert r.has_mechanism
    assert set(r.events.mechanism_name.astype(str)) <= {"independent", "social learning"}


def test_no_events(tmp_path):
    r = open_run(write_run(tmp_path / "x.h5", events=False))
    assert not r.has_events and r.events.empty
    assert "kind_name" in r.events.columns


# --- bad input ------------------------------------------------------------------------------

def _bad_files(tmp_path, good):
    text = tmp_path / "notes.txt"
    text.write_text("this is not HDF5\n")
    no_format = tmp_path / "no_format.h5"
    with h5py.File(no_format, "w") as f:
        f["x"] = 1
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs.create("format", "something-else", dtype=STR)
    newer = write_run(tmp_path / "newer.h5", format_version=np.int32(2))
    incomplete = write_run(tmp_path / "incomplete.h5", complete=np.uint8(0))
    truncated = copy_truncated(good, tmp_path / "truncated.h5")
    missing = tmp_path / "missing.h5"
    write_run(missing)
    with h5py.File(missing, "a") as f:
        del f["series/adopters"]
    return {
        "not an HDF5 file": text,
        "no 'format' attribute": no_format,
        "format is 'something-else'": other,
        "format_version 2 is newer": newer,
        "not complete": incomplete,
        "truncated": truncated,
        "missing dataset /series/adopters": missing,
        "no such file": tmp_path / "absent.h5",
    }


def test_bad_files_raise_clear_errors(tmp_path, run_file):
    for expected, path in _bad_files(tmp_path, run_file).items():
        with pytest.raises(CitynetInputError) as info:
            open_run(path)
        message = str(info.value)
        assert str(path) in message, message
        assert expected in message, message
        assert "\n" not in message


def test_cli_bad_files_exit_2_one_line(tmp_path, run_file):
    bad = _bad_files(tmp_path, run_file)
    cases = [("info", bad[name]) for name in ("not an HDF5 file", "no 'format' attribute",
                                              "format_version 2 is newer", "truncated")]
    cases.append(("report", bad["truncated"]))
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda case: cli(*case), cases))
    for (command, path), proc in zip(cases, procs):
        assert proc.returncode == 2, (command, path, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert str(path) in lines[0] and "Traceback" not in proc.stderr


def test_cli_info(run_file):
    proc = cli("info", run_file)
    assert proc.returncode == 0, proc.stderr
    assert "40 cities" in proc.stdout and "bike_sharing" in proc.stdout


# --- sweeps ---------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["group", "compound"])
def test_sweep_reader(tmp_path, layout):
    sweep = open_sweep(write_sweep(tmp_path / layout, layout))
    assert len(sweep.runs) == 12
    assert sweep.parameters == ["rule.bass.q"]
    assert "t50" in sweep.metrics and "seed" not in sweep.metrics
    assert len(sweep.done()) == 11
    assert sweep.run_path(0) == tmp_path / layout / "runs/run_0000.h5"
    assert isinstance(open_any(tmp_path / layout), type(sweep))


def test_sweep_errors(tmp_path, run_file):
    with pytest.raises(CitynetInputError, match="no sweep.h5"):
        open_sweep(tmp_path)
    with pytest.raises(CitynetInputError, match="expected 'citynet-sweep'"):
        open_sweep(run_file)

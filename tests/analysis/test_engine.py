"""Files written by the real engine (CITYNET_BINARY); skipped when it is not set."""
import numpy as np
import pytest

from conftest import REPO, cli, run_engine
from citynet_analysis import open_run
from citynet_analysis.cascades import attribution, cascade_forest, check_cascades
from citynet_analysis.curves import fit_run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return run_engine(tmp_path_factory.mktemp("engine") / "world.h5")


def test_world_file_reads_and_agrees_with_itself(world):
    run = open_run(world)
    assert run.attrs["format"] == "citynet-run" and run.attrs["complete"] == 1
    assert run.n_cities > 1000 and "bike_sharing" in run.solution_names
    assert run.time_unit == "year" and len(run.time) == run.attrs["steps_done"] + 1
    assert {"c40", "sister", "geographic"} <= set(run.layer_names)
    for layer in run.layers:
        if not layer.complete:
            assert len(layer.offsets) == run.n_cities + 1 and layer.offsets[-1] == len(layer.targets)
    ev = run.events
    assert set(ev.kind_name) <= {"seed", "adopt", "adapt", "drop", "mandate"}
    gains = ev[ev.kind_name.isin(["seed", "adopt", "mandate"])]
    drops = ev[ev.kind_name == "drop"]
    for s, name in enumerate(run.solution_names):
        states = np.arange(len(run.time))
        up = np.searchsorted(np.sort(gains[gains.solution == s].step.to_numpy()), states, side="right")
        down = np.searchsorted(np.sort(drops[drops.solution == s].step.to_numpy()), states, side="right")
        assert (up - down == run.adopters[:, s]).all(), name
        assert check_cascades(run, name) == [], name
    table = attribution(run)
    assert table.values.sum() == len(gains)  # attribution counts adoptions (seeds included)


def test_world_report(world, tmp_path):
    proc = cli("report", world, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "Bike sharing" in html
    for name in ("curves.png", "map_bike_sharing.png", "attribution.png", "centrality.png"):
        assert (tmp_path / name).stat().st_size > 10000


def test_bass_validation_run_recovers_p_and_q(tmp_path):
    """The engine's Bass run (p = 0.03, q = 0.38, 20,000 cities, dt = 0.05 year): the fit with m
    fixed to the number of cities recovers p within 20 % and q within 10 %."""
    run = open_run(run_engine(tmp_path / "bass.h5", REPO / "scenarios/validation/bass.yaml"))
    fit = fit_run(run, "innovation")
    assert fit.p == pytest.approx(0.03, rel=0.20)
    assert fit.q == pytest.approx(0.38, rel=0.10)
    free = fit_run(run, "innovation", fix_m=False)
    assert free.m == pytest.approx(run.n_cities, rel=0.05)


def test_cascade_validation_run_trees(tmp_path):
    run = open_run(run_engine(tmp_path / "cascade.h5", REPO / "scenarios/validation/cascade.yaml",
                              "--set", "cities.count=3000"))
    forest = cascade_forest(run, "contagion")
    assert check_cascades(run, "contagion", forest) == []
    assert (forest.parent < 0).sum() == 1  # one seed, every other adopter learned from a peer
    assert forest.descendants.max() == len(forest) - 1

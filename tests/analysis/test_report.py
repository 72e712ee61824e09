"""The report, compare and sweep commands produce self-contained HTML, PNGs and JSON."""
import json
import re

from conftest import cli, write_run, write_sweep


def _check_html(html_path, min_images):
    text = html_path.read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert len(images) >= min_images
    assert all(src.startswith("data:image/png;base64,") and len(src) > 1000 for src in images)
    assert "Traceback" not in text
    return text


def test_report_command(run_file, tmp_path):
    out = tmp_path / "report"
    proc = cli("report", run_file, "--out", out)
    assert proc.returncode == 0, proc.stderr
    for name in ("curves.png", "map_bike_sharing.png", "attribution.png", "centrality.png",
                 "reality_bike_sharing.png"):
        assert (out / name).stat().st_size > 5000, name
    text = _check_html(out / "report.html", 5)
    assert "Bike sharing reached 50 % of cities in" in text
    assert text.index("adopters at end") < text.index("<img")  # headline numbers first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cities"] == 40 and summary["steps"] == 30
    assert summary["bass"]["bike_sharing"]["p"] > 0
    assert summary["cascade_problems"]["bike_sharing"] == []


def test_report_without_events(tmp_path):
    path = write_run(tmp_path / "quiet.h5", events=False)
    proc = cli("report", path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "quiet_report"
    assert (out / "curves.png").exists()
    _check_html(out / "report.html", 2)


def test_compare_command(run_file, tmp_path):
    other = write_run(tmp_path / "other.h5", seed=5)
    out = tmp_path / "cmp"
    proc = cli("compare", run_file, other, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "compare.png").stat().st_size > 5000
    _check_html(out / "report.html", 1)
    diff = json.loads((out / "summary.json").read_text())["differences"]
    assert {d["solution"] for d in diff} == {"bike_sharing", "rare_idea"}


def test_sweep_report(tmp_path):
    sweep = write_sweep(tmp_path / "sweep")
    out = tmp_path / "sweep_out"
    proc = cli("report", sweep, "--out", out)
    assert proc.returncode == 0, proc.stderr
    pngs = list(out.glob("sweep_*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 5000 for p in pngs)
    _check_html(out / "report.html", 2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 12 and summary["finished"] == 11
    effect = summary["effects"]["t50 ~ rule.bass.q"]
    assert [row["n"] for row in effect] == [4, 4, 3]


def test_missing_file_and_bad_out_dir_exit_2(run_file, tmp_path):
    proc = cli("report", tmp_path / "absent.h5")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    occupied = tmp_path / "occupied"
    occupied.write_text("a file, not a directory")
    proc = cli("report", run_file, "--out", occupied)
    assert proc.returncode == 2 and str(occupied) in proc.stderr and "Traceback" not in proc.stderr


def test_unexpected_failure_is_exit_1(run_file, monkeypatch, capsys):
    import importlib

    cli_module = importlib.import_module("citynet_analysis.cli")
    report_module = importlib.import_module("citynet_analysis.report")

    def broken(*args, **kwargs):
        raise RuntimeError("something the analysis did not expect")

    monkeypatch.setattr(report_module, "report", broken)
    assert cli_module.main(["report", str(run_file)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unexpected failure" in err[0] and "RuntimeError" in err[0]


def test_compare_sweeps(tmp_path):
    a = write_sweep(tmp_path / "a", seed=0)
    b = write_sweep(tmp_path / "b", seed=1)
    out = tmp_path / "cmp"
    proc = cli("compare", a, b, "--out", out)
    assert proc.returncode == 0, proc.stderr
    diff = json.loads((out / "summary.json").read_text())["differences"]
    assert {d["metric"] for d in diff} == {"t50", "final_share"}
    t50 = next(d for d in diff if d["metric"] == "t50")
    assert t50["low"] < t50["difference"] < t50["high"]
    _check_html(out / "report.html", 1)

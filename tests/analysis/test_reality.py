"""Simulated curves against the real series in scenarios/data/adoption_histories.csv."""
import numpy as np
import pytest

from citynet_analysis.reality import agreement, compare_series, load_histories
from citynet_analysis.plots import plot_reality, save


def test_histories():
    h = load_histories()
    metro = h[h.series == "bikeshare_cities_world_metrobike"]
    assert list(metro.value) == [11, 703, 855]
    assert metro.when.iloc[2] == pytest.approx(2014 + 11.5 / 12)
    assert metro.when.iloc[0] == 2004.5


def test_compare_series(run, tmp_path):
    table = compare_series(run, "bike_sharing", scale=1000)
    assert len(table) == 3 and table.attrs["series"] == "bikeshare_cities_world_metrobike"
    expected = np.interp(2004.5, run.time, run.adopters[:, 0])
    assert table.simulated.iloc[0] == pytest.approx(expected)
    assert table.simulated_scaled.iloc[0] == pytest.approx(expected / run.n_cities * 1000)
    agree = agreement(table)
    assert agree["points"] == 3 and agree["min_ratio"] <= agree["geometric_mean_ratio"] <= agree["max_ratio"]
    png = save(plot_reality(run, table, scale=1000), tmp_path / "reality.png")
    assert png.stat().st_size > 10000
    with pytest.raises(ValueError, match="no real series"):
        compare_series(run, "rare_idea")

"""Adoption curves, times to a share, Bass fits."""
import numpy as np
import pytest

from citynet_analysis.curves import (adoption_curves, bass_cumulative, fit_bass, fit_run,
                                     summary_table, time_to_share)


def test_time_to_share_interpolates():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    s = np.array([0.0, 0.2, 0.6, 1.0])
    assert time_to_share(t, s, 0.1) == pytest.approx(0.5)
    assert time_to_share(t, s, 0.5) == pytest.approx(1.75)
    assert time_to_share(t, s, 1.0) == pytest.approx(3.0)
    assert np.isnan(time_to_share(t, s * 0.5, 0.9))


def test_summary_table(run):
    table = summary_table(run).set_index("solution")
    assert table.loc["bike_sharing", "origin"] == 2000.0  # from the scenario's seed date
    assert table.loc["bike_sharing", "final_adopters"] == run.adopters[-1, 0]
    assert np.isfinite(table.loc["bike_sharing", "t50"])
    assert np.isnan(table.loc["rare_idea", "t90"])
    shares = adoption_curves(run)
    assert shares.max().max() <= 1.0


# (p, q) pairs typical of diffusion studies; the fit must return them to 1e-3 (relative).
@pytest.mark.parametrize("p,q", [(0.03, 0.38), (0.01, 0.5), (0.002, 0.6), (0.05, 0.1)])
@pytest.mark.parametrize("fix_m", [True, False])
def test_bass_recovers_exact_curve(p, q, fix_m):
    t = np.arange(0, 30.001, 0.25)
    y = bass_cumulative(t, p, q, 5000)
    fit = fit_bass(t, y, m=5000 if fix_m else None)
    assert fit.p == pytest.approx(p, rel=1e-3)
    assert fit.q == pytest.approx(q, rel=1e-3)
    assert fit.m == pytest.approx(5000, rel=1e-3)
    assert np.allclose(fit.predict(t), y, atol=1e-3 * 5000)


def test_bass_with_offset_origin():
    t = 1990 + np.arange(0, 40.001, 1 / 12)
    y = bass_cumulative(t, 0.02, 0.45, 3000, t0=1995)
    fit = fit_bass(t, y)
    assert fit.t0 == pytest.approx(1995)
    assert fit.p == pytest.approx(0.02, rel=1e-3) and fit.q == pytest.approx(0.45, rel=1e-3)


def test_bass_with_noise():
    rng = np.random.default_rng(3)
    t = np.arange(0, 30.001, 1 / 12)
    y = bass_cumulative(t, 0.02, 0.45, 3000) + rng.normal(0, 15, len(t))
    fit = fit_bass(t, y, t0=0.0)
    assert fit.p == pytest.approx(0.02, rel=0.15)
    assert fit.q == pytest.approx(0.45, rel=0.05)
    assert fit.m == pytest.approx(3000, rel=0.02)
    assert fit.se_p > 0 and fit.se_q > 0 and fit.se_m > 0
    assert abs(fit.p - 0.02) < 4 * fit.se_p and abs(fit.q - 0.45) < 4 * fit.se_q


def test_fit_run(run):
    fit = fit_run(run, "bike_sharing")
    assert fit.m == run.n_cities and fit.m_fixed
    assert 0 < fit.p < 5 and 0 <= fit.q < 50
    with pytest.raises(ValueError):
        fit_bass([0, 1, 2, 3], [0, 0, 0, 0])

"""Drift: MMD between training and production embeddings with a permutation p-value,
per-slice coverage by nearest training neighbours, a threshold rule, a 2-D map."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from assets.mining.signals import drift_map_png, drift_report, drifted, mmd_test


def clusters(rng, sizes: dict[str, int], dims: int = 16) -> tuple[np.ndarray, list[str]]:
    """Embeddings in three weather clusters (rain far from the others)."""
    centres = {"clear": np.zeros(dims), "cloudy": np.r_[1.5, np.zeros(dims - 1)]}
    centres["rain"] = np.r_[0.0, 4.0, np.zeros(dims - 2)]
    rows, labels = [], []
    for weather, n in sizes.items():
        rows.append(centres[weather] + rng.normal(0, 0.5, (n, dims)))
        labels += [weather] * n
    return np.concatenate(rows), labels


def meta(labels: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"frame_id": [f"f{i}" for i in range(len(labels))], "weather": labels})


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (200, 8)), rng.normal(0, 1, (200, 8))
    same, p_same, _ = mmd_test(a, b, permutations=100, rng=rng)
    shifted, p_shifted, _ = mmd_test(a, b + 0.7, permutations=100, rng=rng)
    assert abs(same) < 0.01 and p_same > 0.05
    assert shifted > 0.05 and p_shifted < 0.02
    assert shifted > 10 * abs(same)


def test_production_like_training_has_not_drifted():
    rng = np.random.default_rng(1)
    train, _ = clusters(rng, {"clear": 300, "cloudy": 100, "rain": 30})
    production, weather = clusters(rng, {"clear": 600, "cloudy": 200, "rain": 60})
    report = drift_report(train, production, meta(weather), permutations=100)
    flag, reason = drifted(report)
    assert not flag, reason
    assert report.coverage > 0.9
    assert {s["value"] for s in report.slices} == {"clear", "cloudy", "rain"}


def test_a_rain_heavy_production_drifts_by_distance():
    rng = np.random.default_rng(2)
    train, _ = clusters(rng, {"clear": 300, "cloudy": 100, "rain": 30})
    production, weather = clusters(rng, {"clear": 200, "cloudy": 60, "rain": 260})
    report = drift_report(train, production, meta(weather), permutations=100)
    flag, reason = drifted(report)
    assert flag and "MMD" in reason, reason
    assert report.mmd2 > 0.02 and report.p_value < 0.01


def test_conditions_missing_from_training_drift_by_coverage():
    rng = np.random.default_rng(3)
    train, _ = clusters(rng, {"clear": 300, "cloudy": 100})
    production, weather = clusters(rng, {"clear": 600, "cloudy": 200, "rain": 40})
    report = drift_report(train, production, meta(weather), permutations=100)
    rain = next(s for s in report.slices if s["value"] == "rain")
    assert rain["frames"] == 40 and rain["coverage"] < 0.1
    flag, reason = drifted(report)
    assert flag and "weather=rain" in reason, reason


def test_the_drift_map_is_a_png():
    rng = np.random.default_rng(4)
    train, _ = clusters(rng, {"clear": 50, "rain": 10})
    production, weather = clusters(rng, {"clear": 50, "rain": 50})
    png = drift_map_png(train, production, weather)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_drift_report_checks_its_inputs():
    with pytest.raises(ValueError, match="production frames"):
        drift_report(np.zeros((5, 3)), np.zeros((4, 3)), meta(["clear"] * 3))

"""Folds keep a drive's frames together; the challenger differs from production by design."""

from __future__ import annotations

import numpy as np

from assets.mining.signals import Challenger, folds_by_drive


def test_folds_keep_drives_together_and_split_the_drives():
    ids = [f"d{d:04d}-{i:05d}" for d in range(40) for i in range(6)]
    folds = folds_by_drive(ids, 2, seed=3)
    by_drive: dict[str, set[int]] = {}
    for frame_id, fold in zip(ids, folds, strict=True):
        by_drive.setdefault(frame_id[:5], set()).add(int(fold))
    assert all(len(f) == 1 for f in by_drive.values())
    assert 0.3 < np.mean(folds) < 0.7
    assert (folds == folds_by_drive(list(reversed(ids)), 2, seed=3)[::-1]).all()


def test_the_default_challenger_is_cheaper_and_trained_on_other_data():
    c = Challenger()
    assert c.width < 16 and c.epochs < 20 and c.bootstrap

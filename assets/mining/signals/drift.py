"""Embedding drift: has production moved away from what the model was trained on?

Two views of training and production frame embeddings (`Detector.embed`), standardised with
the training set's mean and spread:

- a distribution distance, the squared maximum mean discrepancy (MMD) with a Gaussian kernel
  whose width is the median pairwise distance. MMD rather than the Fréchet distance: the
  embeddings are pooled ReLU features, skewed and clustered by weather and light, not the
  Gaussian Fréchet assumes, and a 64-D covariance from a few hundred frames is noisy; MMD
  needs no such model, has an unbiased estimate, and a permutation test turns it into a
  p-value, so "drifted" has a false-alarm rate instead of a hand-set distance;
- coverage: the share of production frames whose nearest training frame is close, where
  close means within the distance that 95% of training frames have to their own nearest
  other training frame. Per slice of the frames' metadata (weather, time of day), coverage
  says *where* production left the training data, the part a distance cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

SLICE_COLUMNS = ("weather", "time_of_day")


@dataclass(frozen=True)
class DriftReport:
    mmd2: float  # squared MMD between training and production embeddings
    p_value: float  # share of label permutations with an MMD at least as large
    bandwidth: float  # Gaussian kernel width (standardised units)
    coverage: float  # share of production frames with a close training neighbour
    radius: float  # "close": 95th percentile of training nearest-neighbour distances
    train_frames: int
    production_frames: int
    slices: list[dict] = field(default_factory=list)  # column, value, frames, coverage

    def to_dict(self) -> dict:
        return asdict(self)


def drift_report(
    train: np.ndarray,
    production: np.ndarray,
    production_frames: pl.DataFrame | None = None,
    *,
    slice_columns: Sequence[str] = SLICE_COLUMNS,
    max_samples: int = 1000,
    permutations: int = 200,
    coverage_quantile: float = 0.95,
    seed: int = 0,
) -> DriftReport:
    """Compare (N, D) training and (M, D) production embeddings. `production_frames` (one
    row per production embedding, in order) gives the slice columns for per-slice coverage.
    The MMD uses at most `max_samples` frames per side (a seeded subsample)."""
    if len(train) < 2 or len(production) < 1:
        raise ValueError("drift needs at least 2 training and 1 production embeddings")
    if production_frames is not None and production_frames.height != len(production):
        raise ValueError(
            f"{production_frames.height} production frames for {len(production)} embeddings"
        )
    rng = np.random.default_rng(seed)
    mean, spread = train.mean(axis=0), train.std(axis=0)
    scale = np.where(spread > 1e-6 * max(float(spread.max()), 1e-12), spread, 1.0)
    a = (np.asarray(train, np.float64) - mean) / scale
    b = (np.asarray(production, np.float64) - mean) / scale
    sa, sb = _subsample(a, max_samples, rng), _subsample(b, max_samples, rng)
    mmd2, p_value, bandwidth = mmd_test(sa, sb, permutations=permutations, rng=rng)
    radius = float(np.quantile(_nearest(a, a, exclude_self=True), coverage_quantile))
    close = _nearest(b, a) <= radius
    slices = []
    if production_frames is not None:
        marked = production_frames.with_columns(pl.Series("close", close))
        for column in slice_columns:
            if column not in marked.columns:
                continue
            per = marked.group_by(column).agg(pl.len().alias("frames"), pl.col("close").mean())
            for value, frames, share in per.sort(column).iter_rows():
                slices.append(
                    {"column": column, "value": value, "frames": frames, "coverage": share}
                )
    return DriftReport(
        mmd2=mmd2,
        p_value=p_value,
        bandwidth=bandwidth,
        coverage=float(close.mean()),
        radius=radius,
        train_frames=len(train),
        production_frames=len(production),
        slices=slices,
    )


def drifted(
    report: DriftReport,
    *,
    alpha: float = 0.01,
    min_mmd2: float = 0.01,
    min_coverage: float = 0.8,
    min_slice_frames: int = 30,
) -> tuple[bool, str]:
    """The warning rule: production drifted if its embeddings differ from training beyond
    chance (MMD permutation p-value < `alpha`) by at least `min_mmd2`, or if a slice of at
    least `min_slice_frames` production frames has less than `min_coverage` of them close to a
    training frame.

    The floor is there because with thousands of frames any difference is significant, and a
    model embeds its own training frames a little differently from new ones (a few thousandths
    of MMD² on a small fleet). On the simulated fleet, moving 15% of the frames to a condition
    as distinct as rain adds about 0.01; a rain-heavy production (half rain) about 0.07."""
    bare = [
        s for s in report.slices if s["frames"] >= min_slice_frames and s["coverage"] < min_coverage
    ]
    where = ", ".join(
        f"{s['column']}={s['value']} ({s['coverage']:.0%} of {s['frames']})" for s in bare
    )
    if report.p_value < alpha and report.mmd2 >= min_mmd2:
        reason = (
            f"production embeddings differ from training: MMD² {report.mmd2:.4f}, "
            f"p = {report.p_value:.3f} < {alpha}"
        )
        return True, reason + (f"; poorly covered: {where}" if where else "")
    if bare:
        return True, f"slices with few close training frames: {where}"
    return False, (
        f"no drift: MMD² {report.mmd2:.4f} (p = {report.p_value:.3f}, floor {min_mmd2}), "
        f"{report.coverage:.0%} of production frames close to training"
    )


def mmd_test(
    a: np.ndarray, b: np.ndarray, *, permutations: int = 200, rng: np.random.Generator | None = None
) -> tuple[float, float, float]:
    """Unbiased squared MMD of samples `a` and `b` with a Gaussian kernel (median heuristic),
    its permutation p-value, and the kernel width."""
    rng = rng or np.random.default_rng(0)
    pooled = np.concatenate([a, b])
    d2 = _squared_distances(pooled, pooled)
    upper = d2[np.triu_indices(len(pooled), k=1)]
    bandwidth2 = float(np.median(upper[upper > 0])) if np.any(upper > 0) else 1.0
    kernel = np.exp(-d2 / bandwidth2)
    n = len(a)
    observed = _mmd2(kernel, np.arange(len(pooled)) < n)
    larger = 0
    for _ in range(permutations):
        larger += _mmd2(kernel, rng.permutation(len(pooled)) < n) >= observed
    return observed, (larger + 1) / (permutations + 1), float(np.sqrt(bandwidth2))


def _mmd2(kernel: np.ndarray, first: np.ndarray) -> float:
    """Unbiased MMD² from the pooled kernel matrix (unit diagonal), `first` marking the first
    sample: two matrix-vector products, so a permutation test stays cheap."""
    x = first.astype(np.float64)
    y = 1.0 - x
    n, m = x.sum(), y.sum()
    kx, ky = kernel @ x, kernel @ y
    within_x = (x @ kx - n) / (n * (n - 1)) if n > 1 else 0.0
    within_y = (y @ ky - m) / (m * (m - 1)) if m > 1 else 0.0
    return float(within_x + within_y - 2 * (y @ kx) / (n * m))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d2, 0.0)


def _nearest(queries: np.ndarray, reference: np.ndarray, *, exclude_self: bool = False):
    """Distance from each query to its nearest reference row (in chunks: bounded memory)."""
    out = np.empty(len(queries))
    for start in range(0, len(queries), 1024):
        d2 = _squared_distances(queries[start : start + 1024], reference)
        if exclude_self:
            d2[np.arange(len(d2)), start + np.arange(len(d2))] = np.inf
        out[start : start + 1024] = np.sqrt(d2.min(axis=1))
    return out


def _subsample(x: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= limit else x[rng.choice(len(x), limit, replace=False)]

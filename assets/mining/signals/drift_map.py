"""The drift report's picture: training and production embeddings on one 2-D map (PCA).

The axes are the two principal components of the training embeddings (standardised as in
`drift.py`), so the map is the training data's own view: production frames falling where no
training frame lies are the drift. Production points are coloured by a metadata column
(weather by default), training frames are drawn over them as hollow rings. Rendered with
matplotlib's Agg canvas, no pyplot state: safe in a Dagster run or a test.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def pca_2d(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Project `train` and `others` on the first two principal components of `train`."""
    mean, spread = train.mean(axis=0), train.std(axis=0)
    spread = np.where(spread > 1e-9, spread, 1.0)
    z = (train - mean) / spread
    _, _, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    axes = vt[:2].T
    if axes.shape[1] < 2:
        axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    return [((x - mean) / spread) @ axes for x in (train, *others)]


def drift_map_png(
    train: np.ndarray,
    production: np.ndarray,
    groups: Sequence[str] | None = None,
    *,
    title: str = "training vs production embeddings (PCA of training)",
    group_name: str = "weather",
) -> bytes:
    """PNG bytes: production frames coloured by `groups` (one label per production frame, or
    one colour), training frames as black rings."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    flat_train, flat_production = pca_2d(np.asarray(train), np.asarray(production))
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    labels = list(groups) if groups is not None else ["production"] * len(production)
    for i, value in enumerate(sorted(set(labels))):
        rows = np.array([label == value for label in labels])
        name = f"{group_name}={value}" if groups is not None else "production"
        ax.scatter(
            *flat_production[rows].T,
            s=6,
            c=PALETTE[i % len(PALETTE)],
            alpha=0.5,
            label=f"{name} ({int(rows.sum())})",
        )
    # training on top, hollow: where production has no black ring nearby, training has nothing
    ax.scatter(
        *flat_train.T,
        s=10,
        facecolors="none",
        edgecolors="black",
        linewidths=0.5,
        label=f"training ({len(train)})",
    )
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, markerscale=2, loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()

"""The report judges no model on frames it trained on: a frame imported without a request
trains production, a later edit of the holdout slice puts it in the next training set's
evaluation split, and the comparison leaves it out for both models (on the real store)."""

from __future__ import annotations

import polars as pl

from assets.evaluation.assets import eval_split, train_frames
from resources.layout import MANIFEST_PATH, TRAINING_LABELS_PATH, frames_path
from resources.storage import table_bytes
from resources.tables import BOXES, FRAMES
from resources.versioning.local import LocalStore

REPO = "drive-data"
IDS = [f"d0001-{i:04d}" for i in range(4)]


def frames_table(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"frame_id": ids}).with_columns(
        pl.lit(None, dtype=t).alias(c) for c, t in FRAMES.items() if c != "frame_id"
    )


def training_set(store: LocalStore, splits: dict[str, str]) -> str:
    manifest = pl.DataFrame({"frame_id": list(splits), "split": list(splits.values())})
    labels = pl.DataFrame(
        {"frame_id": list(splits), "x0": 1.0, "y0": 1.0, "x1": 9.0, "y1": 9.0, "cls": "cone"},
        schema_overrides={k: v for k, v in BOXES.items() if k != "cls"},
    )
    store.put(REPO, "main", MANIFEST_PATH, table_bytes(manifest))
    store.put(REPO, "main", TRAINING_LABELS_PATH, table_bytes(labels))
    return store.commit(REPO, "main", "training_set").id


def test_a_frame_production_trained_on_is_not_judged_when_it_turns_up_held_out(tmp_path):
    store = LocalStore(tmp_path / "store")
    store.create_repository(REPO)
    store.put(REPO, "main", frames_path("d0001"), table_bytes(frames_table(IDS)))
    imported = IDS[0]  # labels imported without a request: production trained on it
    production = training_set(store, {imported: "train", IDS[1]: "train", IDS[3]: "eval"})
    # the holdout slice was edited and now asks for the imported frame: it is held out
    candidate = training_set(store, {imported: "eval", IDS[1]: "train", IDS[2]: "eval"})

    frames, labels = eval_split(store, REPO, candidate, train_frames(store, REPO, production))
    assert frames.get_column("frame_id").to_list() == [IDS[2]]
    assert labels.get_column("frame_id").to_list() == [IDS[2]]
    # with no production model to compare, the candidate's own held-out frames all count
    frames, _ = eval_split(store, REPO, candidate)
    assert frames.get_column("frame_id").to_list() == [imported, IDS[2]]

"""Detection metrics on hand-made cases whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from assets.evaluation.metrics import (
    average_precision,
    confusion_matrix,
    detection_metrics,
    iou_matrix,
)
from resources.tables import BOXES, PREDICTIONS


def gt(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=BOXES, orient="row")


def pred(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PREDICTIONS, orient="row")


OR, G = "orange_cone", "green_cone"
A = ("f1", 10.0, 10.0, 20.0, 30.0)
B = ("f1", 40.0, 10.0, 50.0, 30.0)
C = ("f2", 5.0, 5.0, 15.0, 25.0)


def test_iou():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    assert iou_matrix(a, b)[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


def test_perfect_predictions_score_one():
    m = detection_metrics(
        gt((*A, OR), (*B, G), (*C, OR)),
        pred((*A, OR, 0.9), (*B, G, 0.8), (*C, OR, 0.7)),
        ["f1", "f2"],
    )
    assert m["ap"] == 1.0 and m["precision"] == 1.0 and m["recall"] == 1.0
    assert m["ap_per_class"] == {OR: 1.0, G: 1.0}


def test_no_predictions_score_zero_and_precision_is_undefined():
    m = detection_metrics(gt((*A, OR)), pred(), ["f1"])
    assert m["ap"] == 0.0 and m["recall"] == 0.0 and math.isnan(m["precision"])


def test_known_partial_ap():
    # ranked: hit, false alarm, hit → precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # VOC all-point: 0.5 * 1 + 0.5 * 2/3
    truth = gt((*A, OR), (*C, OR))
    p = pred((*A, OR, 0.9), ("f1", 30.0, 30.0, 40.0, 40.0, OR, 0.8), (*C, OR, 0.7))
    m = detection_metrics(truth, p, ["f1", "f2"], [OR])
    assert m["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert average_precision(np.array([True, False, True]), 2) == pytest.approx(5 / 6)
    assert average_precision(np.array([False, True]), 2) == pytest.approx(0.25)


def test_precision_and_recall_at_the_threshold():
    truth = gt((*A, OR), (*C, OR))
    p = pred((*A, OR, 0.9), ("f1", 30.0, 30.0, 40.0, 40.0, OR, 0.6), (*C, OR, 0.3))
    m = detection_metrics(truth, p, ["f1", "f2"], [OR], score_threshold=0.5)
    assert (m["precision"], m["recall"]) == (0.5, 0.5)
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (1, 1, 1)


def test_iou_threshold_duplicates_and_wrong_class():
    truth = gt((*A, OR))
    shifted = ("f1", 14.0, 10.0, 24.0, 30.0)  # IoU 6/14 < 0.5
    assert detection_metrics(truth, pred((*shifted, OR, 0.9)), ["f1"], [OR])["ap"] == 0.0
    assert detection_metrics(truth, pred((*shifted, OR, 0.9)), ["f1"], [OR], iou=0.4)["ap"] == 1.0
    dup = detection_metrics(
        truth, pred((*A, OR, 0.9), (*A, OR, 0.8)), ["f1"], [OR], score_threshold=0
    )
    assert dup["ap"] == 1.0 and dup["false_positives"] == 1  # the second box is a duplicate
    wrong = detection_metrics(truth, pred((*A, G, 0.9)), ["f1"])
    assert wrong["ap"] == 0.0 and wrong["false_positives"] == 1 and wrong["false_negatives"] == 1


def test_only_the_given_frames_and_classes_count():
    truth = gt((*A, OR), (*C, G))
    p = pred((*A, OR, 0.9), ("f3", 1.0, 1.0, 9.0, 9.0, OR, 0.99))
    m = detection_metrics(truth, p, ["f1"], [OR, G])
    assert m["ap"] == 1.0 and m["ap_per_class"] == {OR: 1.0}  # green has no gt on f1
    assert m["frames"] == 1 and m["gt_boxes"] == 1
    assert math.isnan(detection_metrics(truth, p, ["f9"])["ap"])


def test_confusion_between_colours_and_confusers():
    truth = gt((*A, OR), (*B, G), (*C, OR))
    tree = pl.DataFrame([("f2", 30.0, 30.0, 40.0, 50.0, "tree")], schema=BOXES, orient="row")
    p = pred(
        (*A, OR, 0.9),  # right
        (*B, OR, 0.8),  # a green cone called orange
        ("f2", 30.0, 30.0, 40.0, 50.0, G, 0.7),  # a tree called a green cone
        ("f2", 50.0, 50.0, 60.0, 60.0, OR, 0.6),  # nothing there
        (*C, OR, 0.2),  # below the threshold: C is missed
    )
    cm = confusion_matrix(truth, p, ["f1", "f2"], confusers=tree)
    rows = {r["true"]: r for r in cm.iter_rows(named=True)}
    assert rows[OR] == {"true": OR, OR: 1, G: 0, "missed": 1}
    assert rows[G] == {"true": G, OR: 1, G: 0, "missed": 0}
    assert rows["tree"] == {"true": "tree", OR: 0, G: 1, "missed": 0}
    assert rows["no_cone"] == {"true": "no_cone", OR: 1, G: 0, "missed": 0}
    plain = confusion_matrix(truth, p, ["f1", "f2"])
    assert plain["true"].to_list() == [OR, G, "no_cone"]
    assert plain.filter(pl.col("true") == "no_cone")[G].item() == 1

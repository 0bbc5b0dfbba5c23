"""Every read-check-write path of the catalog, raced on SQLite and PostgreSQL: no lost update,
and exactly-once answers where the catalog promises them.

Two kinds of test per path. A *held write*: another connection changes the row and keeps its
transaction open while the catalog call runs; the call must wait for it and then see it (on
PostgreSQL a plain SELECT reads past an uncommitted change, so only `FOR UPDATE` makes it
wait). A *race*: threads, each with its own connection, released together by a barrier, many
rounds; the invariants are checked after every round. The `races` fixture counts the races run
(`bench/faults_input.py` reports the total).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from resources.catalog import (
    PRODUCTION,
    Catalog,
    LabelRequest,
    ModelVersion,
    RecordConflictError,
    ReviewFlag,
    StageTiming,
)

THREADS, ROUNDS = 6, 8
MODEL = "cone_detector"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run `calls` in threads released together; ("ok", result) or ("error", exception) each."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, Any]] = [("error", TimeoutError("did not finish"))] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = ("ok", calls[i]())
        except Exception as exc:  # the outcome under test
            outcomes[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing call hung"
    return outcomes


def only_conflicts(outcomes: list[tuple[str, Any]]) -> list[Any]:
    """The successful results; every failure must be a `RecordConflictError`."""
    errors = [value for kind, value in outcomes if kind == "error"]
    assert all(isinstance(e, RecordConflictError) for e in errors), errors
    return [value for kind, value in outcomes if kind == "ok"]


@contextlib.contextmanager
def held_write(url: str, statement) -> Iterator[None]:
    """`statement` executed by another connection whose transaction stays open in the block."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(statement)
            try:
                yield
            finally:
                transaction.commit()
    finally:
        engine.dispose()


def while_held(url: str, statement, call: Callable[[], Any]) -> tuple[str, Any]:
    """`call` run while `statement` is held uncommitted, released after 0.3 s; its outcome."""
    outcome: list[tuple[str, Any]] = []

    def run() -> None:
        try:
            outcome.append(("ok", call()))
        except Exception as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=run)
    with held_write(url, statement):
        thread.start()
        time.sleep(0.3)
    thread.join(timeout=60)
    assert outcome, "the call hung after the other transaction committed"
    return outcome[0]


def register(catalog: Catalog, version: str, commit: str = "c" * 64) -> ModelVersion:
    return catalog.register_model(
        MODEL,
        version,
        branch=f"candidate-{version}",
        commit=commit,
        training_set_commit="t" * 64,
        metrics={"ap50": 0.5},
        card_path=f"models/{MODEL}/{version}/model_card.md",
    )


def decide(catalog: Catalog, version: str, approved: bool):
    return catalog.record_decision(
        MODEL,
        version,
        against_version=None,
        approved=approved,
        rules=[{"rule": "targeted_slices_improved", "passed": approved, "detail": "test"}],
        report_path=f"reports/{version}.md",
        merge_commit="m" * 64 if approved else None,
    )


# --- held writes: the call waits for the other transaction and sees its outcome --------------


def test_answer_waits_for_a_concurrent_answer(catalog, db_url):
    catalog.record_request("req-000000000001", frames=4, slices={"rain": 4})
    other = (
        update(LabelRequest)
        .where(LabelRequest.request_id == "req-000000000001")
        .values(status="answered", batch_id="batch-other", answered_at=T0)
    )
    kind, value = while_held(
        db_url, other, lambda: catalog.mark_request_answered("req-000000000001", "batch-mine")
    )
    assert kind == "error" and isinstance(value, RecordConflictError), value
    assert "already answered by batch 'batch-other'" in str(value)
    [request] = catalog.requests()
    assert (request.status, request.batch_id) == ("answered", "batch-other")


def test_resolution_waits_for_a_concurrent_resolution(catalog, db_url):
    flag = catalog.add_flag("d0000-00001", "missed cone", flagged_by="ana")
    other = (
        update(ReviewFlag)
        .where(ReviewFlag.id == flag.id)
        .values(resolved_at=T0, resolution="relabeled")
    )
    kind, value = while_held(db_url, other, lambda: catalog.resolve_flag(flag.id, "not a cone"))
    assert kind == "error" and isinstance(value, RecordConflictError), value
    [stored] = catalog.flags(open_only=False)
    assert stored.resolution == "relabeled"


def test_reregistration_waits_for_a_concurrent_decision(catalog, db_url):
    register(catalog, "v1")
    other = (
        update(ModelVersion)
        .where(ModelVersion.name == MODEL, ModelVersion.version == "v1")
        .values(status="refused")
    )
    kind, value = while_held(db_url, other, lambda: register(catalog, "v1", commit="d" * 64))
    assert kind == "error" and isinstance(value, RecordConflictError), value
    stored = catalog.get_model(MODEL, "v1")
    assert (stored.status, stored.commit) == ("refused", "c" * 64)


def test_stage_timing_waits_for_a_concurrent_recording(catalog, db_url):
    catalog.record_stage("c1", "train", started_at=T0, ended_at=T0 + timedelta(minutes=1))
    later = T0 + timedelta(hours=1)
    other = (
        update(StageTiming)
        .where(StageTiming.cycle == "c1", StageTiming.stage == "train")
        .values(started_at=later, ended_at=later + timedelta(minutes=5))
    )
    # Only the end differs from what this call read: without a lock it would write the end
    # alone, over the other's start, leaving an end an hour before the start.
    kind, _ = while_held(
        db_url,
        other,
        lambda: catalog.record_stage(
            "c1", "train", started_at=T0, ended_at=T0 + timedelta(minutes=2)
        ),
    )
    assert kind == "ok"
    [timing] = catalog.stages("c1")
    assert (timing.started_at, timing.ended_at) == (T0, T0 + timedelta(minutes=2))


# --- races: threads released together, invariants checked after every round ------------------


def test_one_answer_per_request(catalog, races):
    for round_ in range(ROUNDS):
        request_id = f"req-{round_:012x}"
        catalog.record_request(request_id, frames=2, slices={"rain": 2})
        batches = [f"batch-{round_}-{i}" for i in range(THREADS)]
        outcomes = race([partial(catalog.mark_request_answered, request_id, b) for b in batches])
        [winner] = only_conflicts(outcomes)
        stored = next(r for r in catalog.requests() if r.request_id == request_id)
        assert (stored.status, stored.batch_id) == ("answered", winner.batch_id)
        races.count()


def test_the_same_answer_twice_is_one_answer(catalog, races):
    for round_ in range(ROUNDS):
        request_id = f"req-{round_:012x}"
        catalog.record_request(request_id, frames=2, slices={"rain": 2})
        outcomes = race([partial(catalog.mark_request_answered, request_id, "batch-x")] * THREADS)
        answered = only_conflicts(outcomes)
        assert len(answered) == THREADS
        assert len({r.answered_at for r in answered}) == 1  # answered once, then re-read
        races.count()


def test_one_resolution_per_flag(catalog, races):
    for round_ in range(ROUNDS):
        flag = catalog.add_flag(f"d0000-{round_:05d}", "missed cone", flagged_by="ana")
        outcomes = race(
            [partial(catalog.resolve_flag, flag.id, f"fix {i}") for i in range(THREADS)]
        )
        [winner] = only_conflicts(outcomes)
        [stored] = [f for f in catalog.flags(open_only=False) if f.id == flag.id]
        assert stored.resolution == winner.resolution
        races.count()


def test_flagging_while_resolving_leaves_one_open_flag(catalog, races):
    for round_ in range(ROUNDS):
        frame = f"d0001-{round_:05d}"
        flag = catalog.add_flag(frame, "flicker", flagged_by="sensor")
        calls = [partial(catalog.resolve_flag, flag.id, "checked")]
        calls += [partial(catalog.add_flag, frame, "flicker", flagged_by="sensor")] * (THREADS - 1)
        outcomes = race(calls)
        assert [kind for kind, _ in outcomes] == ["ok"] * THREADS, outcomes
        mine = [f for f in catalog.flags(open_only=False) if f.frame_id == frame]
        assert sum(f.is_open for f in mine) <= 1 and len(mine) <= 2
        assert next(f for f in mine if f.id == flag.id).resolution == "checked"
        races.count()


def test_the_same_record_raced_is_one_row(catalog, races):
    for round_ in range(ROUNDS):
        request_id, batch_id, version = f"req-{round_:012x}", f"batch-{round_}", f"v{round_}"
        batch = dict(
            request_id=None,
            source="coco",
            landing_commit=f"{round_:064x}",
            published_commit="p" * 64,
            frames=1,
            boxes=1,
            status="published",
        )
        calls: list[Callable[[], Any]] = []
        for _ in range(THREADS // 3):
            calls += [
                partial(catalog.record_request, request_id, frames=1, slices={"rain": 1}),
                partial(catalog.record_label_batch, batch_id, **batch),
                partial(register, catalog, version),
            ]
        outcomes = race(calls)
        assert [kind for kind, _ in outcomes] == ["ok"] * len(calls), outcomes
        races.count()
    assert len(catalog.requests()) == ROUNDS
    assert len(catalog.label_batches()) == ROUNDS
    assert len(catalog.models(MODEL)) == ROUNDS


def test_different_records_under_one_id_one_wins(catalog, races):
    for round_ in range(ROUNDS):
        request_id = f"req-{round_:012x}"
        outcomes = race(
            [
                partial(catalog.record_request, request_id, frames=n, slices={"rain": n})
                for n in range(1, THREADS + 1)
            ]
        )
        [winner] = only_conflicts(outcomes)
        stored = next(r for r in catalog.requests() if r.request_id == request_id)
        assert stored.frames == winner.frames
        races.count()


def test_reregistering_while_refusing_ends_refused(catalog, races):
    for round_ in range(ROUNDS):
        version = f"v{round_}"
        register(catalog, version)
        commits = [f"{round_}{i}".rjust(64, "e") for i in range(THREADS - 1)]
        calls = [partial(decide, catalog, version, False)]
        calls += [partial(register, catalog, version, commit=c) for c in commits]
        outcomes = race(calls)
        assert outcomes[0][0] == "ok", outcomes[0]
        registered = only_conflicts(outcomes[1:])
        stored = catalog.get_model(MODEL, version)
        assert stored.status == "refused"
        assert stored.commit in {"c" * 64} | {m.commit for m in registered}
        races.count()


def test_promotions_raced_keep_one_production_model_and_its_history(catalog, races):
    for round_ in range(ROUNDS):
        versions = [f"r{round_}-{i}" for i in range(THREADS)]
        for version in versions:
            register(catalog, version)
        outcomes = race([partial(decide, catalog, v, i % 2 == 0) for i, v in enumerate(versions)])
        assert [kind for kind, _ in outcomes] == ["ok"] * THREADS, outcomes
        _assert_one_production(catalog)
        races.count()


def test_approve_and_refuse_raced_agree_with_the_decision(catalog, races):
    for round_ in range(ROUNDS):
        version = f"a{round_}"
        register(catalog, version)
        calls = [partial(decide, catalog, version, True), partial(decide, catalog, version, False)]
        outcomes = race(calls * (THREADS // 2))
        only_conflicts(outcomes)  # refusing the production model is a conflict
        [decision] = [d for d in catalog.decisions(MODEL) if d.candidate_version == version]
        stored = catalog.get_model(MODEL, version)
        holder = catalog.alias(MODEL, PRODUCTION)
        assert decision.approved == (stored.status == "production")
        assert decision.approved == (holder is not None and holder.version == version)
        _assert_one_production(catalog)
        races.count()


def test_alias_moves_raced_keep_a_chain(catalog, races):
    for round_ in range(ROUNDS):
        versions = [f"s{round_}-{i}" for i in range(THREADS)]
        for version in versions:
            register(catalog, version)
        outcomes = race([partial(catalog.set_alias, MODEL, PRODUCTION, v) for v in versions])
        assert [kind for kind, _ in outcomes] == ["ok"] * THREADS, outcomes
        _assert_one_production(catalog)
        races.count()


def test_stage_timings_raced_are_one_recording_not_a_mix(catalog, races):
    for round_ in range(ROUNDS):
        cycle = f"c{round_}"
        catalog.record_stage(cycle, "train", started_at=T0, ended_at=T0 + timedelta(minutes=1))
        pairs = []
        for i in range(1, THREADS + 1):
            moved = T0 + timedelta(hours=i)
            # Half move only the start, half only the end: a mix is a pair nobody recorded.
            pairs.append(
                (moved, moved + timedelta(minutes=1))
                if i % 2
                else (T0, T0 + timedelta(minutes=1 + i))
            )
        outcomes = race(
            [
                partial(catalog.record_stage, cycle, "train", started_at=s, ended_at=e)
                for s, e in pairs
            ]
        )
        assert [kind for kind, _ in outcomes] == ["ok"] * THREADS, outcomes
        [timing] = catalog.stages(cycle)
        assert (timing.started_at, timing.ended_at) in pairs
        races.count()


def _assert_one_production(catalog: Catalog) -> None:
    """One version is `production`, the alias points at it, and every alias move starts where
    the previous one ended (no move was lost)."""
    holder = catalog.alias(MODEL, PRODUCTION)
    production = [m.version for m in catalog.models(MODEL) if m.status == "production"]
    assert production == ([holder.version] if holder else [])
    history = catalog.alias_history(MODEL)
    for before, after in zip(history, history[1:], strict=False):
        assert after.previous_version == before.version, history
    assert (history[-1].version if history else None) == (holder.version if holder else None)


@pytest.mark.slow
def test_one_answer_per_request_across_processes(db_url, races):
    """The same race with a process per caller, as run workers and the daemon are."""
    import multiprocessing

    with Catalog(db_url) as catalog:
        catalog.record_request("req-0000000000ff", frames=2, slices={"rain": 2})
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["resources.catalog", __name__])
    start, results = ctx.Barrier(4), ctx.Queue()
    workers = [
        ctx.Process(target=_answer, args=(db_url, f"batch-p{n}", start, results)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    outcomes = sorted(results.get(timeout=10) for _ in workers)
    assert outcomes.count("ok") == 1 and outcomes.count("conflict") == 3, outcomes
    with Catalog(db_url) as catalog:
        [request] = catalog.requests()
    assert request.status == "answered" and request.batch_id.startswith("batch-p")
    races.count()


def _answer(url: str, batch: str, start, results) -> None:
    catalog = Catalog(url)
    catalog.requests()  # connect before the barrier, so the race is the answer alone
    start.wait(timeout=60)
    try:
        catalog.mark_request_answered("req-0000000000ff", batch)
        results.put("ok")
    except RecordConflictError:
        results.put("conflict")
    except Exception as exc:
        results.put(f"error {exc!r}")
    finally:
        catalog.close()

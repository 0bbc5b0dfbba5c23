"""Cycle timings: how long each stage of a loop cycle took and how many human actions it needed.

One row per (cycle, stage). Recording a stage again replaces its times (a re-run stage took
the time of its last run), so the table answers "how long did cycle 7 take, end to end, and
how often did a person have to step in" without duplicates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint, func
from sqlmodel import Field, col, select

from resources.catalog import validate
from resources.catalog.base import CatalogModel, UTCDateTime, as_utc
from resources.catalog.database import Database, insert_ignore
from resources.catalog.errors import InvalidRecordError


class StageTiming(CatalogModel, table=True):
    """Clock time of one stage of one cycle."""

    __tablename__ = "stage_timings"
    __table_args__ = (UniqueConstraint("cycle", "stage", name="uq_stage_timings_cycle_stage"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle: str = Field(index=True)
    stage: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    human_actions: int = 0

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class CycleTimings:
    """Cycle timing calls of `Catalog`."""

    _db: Database

    def record_stage(
        self,
        cycle: str,
        stage: str,
        *,
        started_at: datetime,
        ended_at: datetime,
        human_actions: int = 0,
    ) -> StageTiming:
        """Record (or replace) a stage's clock time; naive datetimes are taken as UTC."""
        validate.text("cycle", cycle)
        validate.text("stage", stage)
        fields = {
            "started_at": as_utc(validate.timestamp("started_at", started_at)),
            "ended_at": as_utc(validate.timestamp("ended_at", ended_at)),
            "human_actions": validate.count("human_actions", human_actions),
        }
        if fields["ended_at"] < fields["started_at"]:
            raise InvalidRecordError(
                f"stage {stage!r} of cycle {cycle!r} ends ({ended_at}) before it starts "
                f"({started_at})"
            )
        with self._db.writing() as session:
            insert_ignore(session, StageTiming, {"cycle": cycle, "stage": stage, **fields})
            # Locked (PostgreSQL): two recorders must not mix one's start with the other's end.
            timing = session.exec(
                select(StageTiming)
                .where(StageTiming.cycle == cycle, StageTiming.stage == stage)
                .with_for_update()
            ).one()
            for field, value in fields.items():
                if getattr(timing, field) != value:
                    setattr(timing, field, value)
            session.flush()
            return timing

    def stages(self, cycle: str | None = None) -> list[StageTiming]:
        """Stage timings in the order they started, of one cycle or of all."""
        query = select(StageTiming)
        if cycle is not None:
            query = query.where(StageTiming.cycle == cycle)
        query = query.order_by(col(StageTiming.started_at), col(StageTiming.id))
        with self._db.reading() as session:
            return list(session.exec(query).all())

    def human_actions(self, cycle: str) -> int:
        """Human actions summed over the stages of `cycle` (0 for a cycle with none recorded)."""
        query = select(func.coalesce(func.sum(StageTiming.human_actions), 0)).where(
            StageTiming.cycle == cycle
        )
        with self._db.reading() as session:
            return int(session.exec(query).one())

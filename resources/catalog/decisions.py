"""Promotion decisions: what the gate decided about a candidate, rule by rule, and why.

A decision is keyed by (model, candidate version): re-running the gate on the same candidate
updates the one row instead of adding another. An approved decision moves the `production`
alias to the candidate (so its status becomes `production` and the previous holder retires);
a refused one marks the candidate `refused` and keeps the rules that failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, col, select

from resources.catalog import validate
from resources.catalog.base import CatalogModel, UTCDateTime, utcnow
from resources.catalog.database import Database, insert_ignore
from resources.catalog.errors import InvalidRecordError, RecordConflictError
from resources.catalog.models import (
    PRODUCTION,
    ModelAlias,
    ModelStatus,
    lock_versions,
    move_alias,
    require_version,
)


class PromotionDecision(CatalogModel, table=True):
    """The gate's verdict on one candidate, with every rule it checked."""

    __tablename__ = "promotion_decisions"
    __table_args__ = (
        UniqueConstraint("name", "candidate_version", name="uq_promotion_decisions_candidate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    candidate_version: str
    against_version: str | None = None  # the production version it was compared with
    approved: bool
    rules: list[dict[str, Any]] = Field(sa_type=JSON)  # each: rule, passed, detail
    report_path: str
    merge_commit: str | None = None  # the store merge that promoted it, when approved
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def failed_rules(self) -> list[dict[str, Any]]:
        return [rule for rule in self.rules if not rule["passed"]]


class Promotions:
    """Promotion decision calls of `Catalog`."""

    _db: Database

    def record_decision(
        self,
        name: str,
        candidate_version: str,
        *,
        against_version: str | None,
        approved: bool,
        rules: list[dict[str, Any]],
        report_path: str,
        merge_commit: str | None,
    ) -> PromotionDecision:
        """Record the gate's decision and apply it to the candidate's status (see module doc)."""
        if not isinstance(approved, bool):
            raise InvalidRecordError(f"approved must be True or False, got {approved!r}")
        fields = {
            "against_version": validate.optional_text("against_version", against_version),
            "approved": approved,
            "rules": _rules(rules),
            "report_path": validate.text("report_path", report_path),
            "merge_commit": validate.optional_text("merge_commit", merge_commit),
        }
        with self._db.writing() as session:
            # Lock every version of the model first (PostgreSQL), in the order `move_alias`
            # does: two gates deciding at once, or a re-registration, wait for this decision.
            lock_versions(session, name)
            candidate = require_version(session, name, candidate_version)
            if against_version is not None:
                require_version(session, name, against_version)
            key = {"name": name, "candidate_version": candidate_version}
            insert_ignore(session, PromotionDecision, {**key, **fields, "decided_at": utcnow()})
            decision = session.exec(
                select(PromotionDecision)
                .where(
                    PromotionDecision.name == name,
                    PromotionDecision.candidate_version == candidate_version,
                )
                .with_for_update()
            ).one()
            changed = {k: v for k, v in fields.items() if getattr(decision, k) != v}
            for field, value in changed.items():
                setattr(decision, field, value)
            if changed:
                decision.decided_at = utcnow()
            if approved:
                move_alias(session, name, PRODUCTION, candidate_version)
            else:
                holder = session.get(ModelAlias, (name, PRODUCTION))
                if holder is not None and holder.version == candidate_version:
                    raise RecordConflictError(
                        f"model {name!r} version {candidate_version!r} is in production; "
                        "move the production alias to another version before refusing it"
                    )
                candidate.status = ModelStatus.REFUSED.value
            session.flush()
            return decision

    def decisions(self, name: str) -> list[PromotionDecision]:
        """Every decision about `name`'s candidates, oldest first."""
        query = (
            select(PromotionDecision)
            .where(PromotionDecision.name == name)
            .order_by(col(PromotionDecision.decided_at), col(PromotionDecision.id))
        )
        with self._db.reading() as session:
            return list(session.exec(query).all())


def _rules(rules: object) -> list[dict[str, Any]]:
    if not isinstance(rules, list) or not rules:
        raise InvalidRecordError("rules must be a non-empty list of {rule, passed, detail} dicts")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not {"rule", "passed", "detail"} <= rule.keys():
            raise InvalidRecordError(
                f"rules[{i}] must be a dict with keys rule, passed and detail; got {rule!r}"
            )
        if not isinstance(rule["passed"], bool):
            raise InvalidRecordError(f"rules[{i}]['passed'] must be True or False")
        validate.text(f"rules[{i}]['rule']", rule["rule"])
    return validate.json_value("rules", rules)

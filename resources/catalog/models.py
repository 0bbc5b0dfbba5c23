"""The model registry: every trained version of a model, the commits it came from, and aliases.

A version is registered as a `candidate`; the promotion gate then refuses it or moves the
`production` alias to it. The alias is the single source of truth for what serves: moving it
makes the new holder's status `production`, retires the previous holder, and appends a row to
the alias history, so "what was in production last Tuesday" has an answer. Other aliases
(`staging`, `baseline`, ...) move and keep history the same way but leave statuses alone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, Session, col, select

from resources.catalog import validate
from resources.catalog.base import CatalogModel, UTCDateTime, utcnow
from resources.catalog.database import Database, insert_ignore
from resources.catalog.errors import RecordConflictError, UnknownModelError

PRODUCTION = "production"


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    PRODUCTION = "production"
    REFUSED = "refused"
    RETIRED = "retired"


class ModelVersion(CatalogModel, table=True):
    """One trained version of a model: where its weights live and what it was trained on."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
        CheckConstraint(
            "status IN ('candidate', 'production', 'refused', 'retired')",
            name="ck_model_versions_status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: str
    status: str = ModelStatus.CANDIDATE.value  # a ModelStatus value
    branch: str  # store branch the weights were committed on
    commit: str  # store commit holding the weights and card
    training_set_commit: str  # store commit of the training set manifest it was trained on
    metrics: dict[str, Any] = Field(sa_type=JSON)
    card_path: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelAlias(CatalogModel, table=True):
    """Where an alias of a model points now."""

    __tablename__ = "model_aliases"

    name: str = Field(primary_key=True)
    alias: str = Field(primary_key=True)
    version: str
    moved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AliasMove(CatalogModel, table=True):
    """One move of an alias, oldest first: the alias history."""

    __tablename__ = "model_alias_moves"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    alias: str
    version: str
    previous_version: str | None = None
    moved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelRegistry:
    """Model registry calls of `Catalog`."""

    _db: Database

    def register_model(
        self,
        name: str,
        version: str,
        *,
        branch: str,
        commit: str,
        training_set_commit: str,
        metrics: dict[str, Any],
        card_path: str,
    ) -> ModelVersion:
        """Record a trained version as a candidate; the same call twice leaves one row.

        Registering an existing candidate again with other commits or metrics updates it (a
        re-run of training replaces the candidate); once the version has been promoted or
        refused it is frozen: the same registration again changes nothing, a different one is
        a `RecordConflictError` naming what differs.
        """
        validate.text("name", name)
        validate.text("version", version)
        fields = {
            "branch": validate.text("branch", branch),
            "commit": validate.text("commit", commit),
            "training_set_commit": validate.text("training_set_commit", training_set_commit),
            "metrics": validate.json_object("metrics", metrics),
            "card_path": validate.text("card_path", card_path),
        }
        with self._db.writing() as session:
            new = {"name": name, "version": version, "status": ModelStatus.CANDIDATE.value}
            insert_ignore(session, ModelVersion, {**new, **fields, "created_at": utcnow()})
            # Locked (PostgreSQL), so a promotion cannot freeze the version between this check
            # and the update below.
            model = require_version(session, name, version, for_update=True)
            changed = {k: v for k, v in fields.items() if getattr(model, k) != v}
            if changed and model.status != ModelStatus.CANDIDATE:
                raise RecordConflictError(
                    f"model {name!r} version {version!r} is already {model.status} and cannot "
                    f"change ({', '.join(sorted(changed))} differ: "
                    f"{validate.differences(model, fields)}); register a new version"
                )
            for key, value in changed.items():
                setattr(model, key, value)
            return model

    def get_model(self, name: str, version: str) -> ModelVersion:
        with self._db.reading() as session:
            return require_version(session, name, version)

    def latest_model(self, name: str, status: str | None = None) -> ModelVersion | None:
        """The most recently registered version of `name`, optionally only with `status`."""
        query = select(ModelVersion).where(ModelVersion.name == name)
        if status is not None:
            status = validate.choice("status", status, ModelStatus)
            query = query.where(ModelVersion.status == status)
        query = query.order_by(col(ModelVersion.created_at).desc(), col(ModelVersion.id).desc())
        with self._db.reading() as session:
            return session.exec(query.limit(1)).first()

    def models(self, name: str) -> list[ModelVersion]:
        """Every version of `name`, oldest first."""
        with self._db.reading() as session:
            return _versions(session, name)

    def set_alias(self, name: str, alias: str, version: str) -> ModelVersion:
        """Point `alias` at `version` (which must be registered) and return that version."""
        validate.text("alias", alias)
        with self._db.writing() as session:
            return move_alias(session, name, alias, version)

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version `alias` points at, or None if the alias was never set."""
        query = (
            select(ModelVersion)
            .join(ModelAlias, col(ModelAlias.version) == col(ModelVersion.version))
            .where(ModelAlias.name == name, ModelAlias.alias == alias, ModelVersion.name == name)
        )
        with self._db.reading() as session:
            return session.exec(query).first()

    def alias_history(self, name: str, alias: str = PRODUCTION) -> list[AliasMove]:
        """Every move of `alias`, oldest first."""
        query = (
            select(AliasMove)
            .where(AliasMove.name == name, AliasMove.alias == alias)
            .order_by(col(AliasMove.moved_at), col(AliasMove.id))
        )
        with self._db.reading() as session:
            return list(session.exec(query).all())


def move_alias(session: Session, name: str, alias: str, version: str) -> ModelVersion:
    """Move `alias` inside an open write transaction (promotion decisions reuse it)."""
    # Lock the model's versions (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so
    # two promotions of the same model cannot both see the old holder and both retire it.
    versions = {m.version: m for m in _versions(session, name, for_update=True)}
    target = versions.get(version) or _unknown(name, version, versions)
    current = session.get(ModelAlias, (name, alias))
    previous = current.version if current else None
    if previous == version:
        return target
    now = utcnow()
    if current is None:
        session.add(ModelAlias(name=name, alias=alias, version=version, moved_at=now))
    else:
        current.version, current.moved_at = version, now
    session.add(
        AliasMove(name=name, alias=alias, version=version, previous_version=previous, moved_at=now)
    )
    if alias == PRODUCTION:
        if previous in versions:
            versions[previous].status = ModelStatus.RETIRED.value
        target.status = ModelStatus.PRODUCTION.value
    session.flush()
    return target


def lock_versions(session: Session, name: str) -> list[ModelVersion]:
    """Every version of `name`, locked until the transaction ends (a no-op lock on SQLite)."""
    return _versions(session, name, for_update=True)


def _versions(session: Session, name: str, *, for_update: bool = False) -> list[ModelVersion]:
    query = (
        select(ModelVersion)
        .where(ModelVersion.name == name)
        .order_by(col(ModelVersion.created_at), col(ModelVersion.id))
    )
    if for_update:
        query = query.with_for_update()
    return list(session.exec(query).all())


def require_version(
    session: Session, name: str, version: str, *, for_update: bool = False
) -> ModelVersion:
    query = select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)
    if for_update:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        _unknown(name, version, {m.version: m for m in _versions(session, name)})
    return found


def _unknown(name: str, version: str, versions: dict[str, ModelVersion]) -> NoReturn:
    if not versions:
        raise UnknownModelError(
            f"no model named {name!r} is registered; register_model({name!r}, ...) first"
        )
    known = ", ".join(repr(v) for v in versions)
    raise UnknownModelError(f"model {name!r} has no version {version!r} (registered: {known})")

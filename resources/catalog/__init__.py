"""The catalog: fleetloop's records about models, labels, review flags and cycle timings.

SQLModel tables on SQLite (`$FLEETLOOP_HOME/catalog.db`) or any SQLAlchemy URL
(`$FLEETLOOP_CATALOG_URL`, PostgreSQL for teams). One module per noun: `models` (registry and
aliases), `decisions` (promotion gate verdicts), `labeling` (requests and batches), `flags`
(review flags), `timings` (cycle stages); `Catalog` gathers their calls. Writes are idempotent
on natural keys, and records come back as detached, plain objects.
"""

from resources.catalog.catalog import Catalog
from resources.catalog.database import CATALOG_URL_ENV, catalog_url
from resources.catalog.decisions import PromotionDecision
from resources.catalog.errors import (
    CatalogError,
    CatalogUnavailableError,
    InvalidRecordError,
    RecordConflictError,
    UnknownFlagError,
    UnknownModelError,
    UnknownRecordError,
    UnknownRequestError,
)
from resources.catalog.flags import ReviewFlag
from resources.catalog.labeling import (
    BatchStatus,
    LabelBatch,
    LabelRequest,
    RejectedLabelBatch,
    RequestStatus,
)
from resources.catalog.models import PRODUCTION, AliasMove, ModelAlias, ModelStatus, ModelVersion
from resources.catalog.timings import StageTiming

__all__ = [
    "CATALOG_URL_ENV",
    "PRODUCTION",
    "AliasMove",
    "BatchStatus",
    "Catalog",
    "CatalogError",
    "CatalogUnavailableError",
    "InvalidRecordError",
    "LabelBatch",
    "RejectedLabelBatch",
    "LabelRequest",
    "ModelAlias",
    "ModelStatus",
    "ModelVersion",
    "PromotionDecision",
    "RecordConflictError",
    "RequestStatus",
    "ReviewFlag",
    "StageTiming",
    "UnknownFlagError",
    "UnknownModelError",
    "UnknownRecordError",
    "UnknownRequestError",
    "catalog_url",
]

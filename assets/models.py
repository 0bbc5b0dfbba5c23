"""Loading a model back from the store commit the registry names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from resources.layout import challenger_path, checkpoint_path
from resources.versioning import VersionedStore

if TYPE_CHECKING:
    from resources.detection import Detector


def candidate_branch(version: str) -> str:
    return f"candidate-{version}"


@dataclass(frozen=True)
class StoredModel:
    name: str
    version: str
    commit: str  # a commit that holds the checkpoint

    def load(self, store: VersionedStore, repo: str) -> Detector:
        from resources.detection import load_checkpoint  # torch: imported when used

        return load_checkpoint(
            store.get(repo, self.commit, checkpoint_path(self.name, self.version))
        )

    def load_challenger(self, store: VersionedStore, repo: str) -> Detector | None:
        """The challenger trained with this model, or None for a model that has none."""
        from resources.detection import load_checkpoint  # torch: imported when used

        path = challenger_path(self.name, self.version)
        if not store.exists(repo, self.commit, path):
            return None
        return load_checkpoint(store.get(repo, self.commit, path))

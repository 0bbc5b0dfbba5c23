"""Commits, logs, diffs, merges and reverts on lakeFS for `LakeFSStore`. A mixin: `LakeFSStore`
supplies the client and the name-checked builders (`_repo`, `_branch`, `_ref`)."""

from __future__ import annotations

import contextlib
import functools
import random
import re
import time
from collections.abc import Iterator, Mapping

import lakefs
import lakefs_sdk

from resources.versioning.errors import (
    AmbiguousRefError,
    ConflictError,
    DirtyBranchError,
    InvalidArgumentError,
    MergeConflictError,
    RefNotFoundError,
    StoreError,
)
from resources.versioning.lakefs_errors import (
    RESERVED_METADATA_PREFIX,
    changes,
    commit_record,
    paged,
    sdk_errors,
)
from resources.versioning.lakefs_objects import PAGE
from resources.versioning.names import (
    check_branch_name,
    check_metadata,
    check_prefix,
    check_ref,
    check_repository_name,
    check_strategy,
    check_text,
)
from resources.versioning.records import (
    Change,
    Commit,
    MergeStrategy,
)

CONTENTION_RETRIES = 5  # merges lost to concurrent writers (429, 503, locked), with backoff
AMBIGUITY_SCAN = 10_000  # commits looked at to tell an ambiguous prefix from a missing one
_HEX_PREFIX = re.compile(r"^[0-9a-f]{1,63}$")


class LakeFSHistory:
    def commit(
        self,
        repo: str,
        branch: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> Commit:
        check_repository_name(repo)
        check_branch_name(branch)
        meta = _commit_metadata(metadata)
        api = self._client.sdk_client.commits_api
        with sdk_errors(repo, f"branch {branch!r}"):
            creation = lakefs_sdk.CommitCreation(
                message=message, metadata=meta, allow_empty=allow_empty
            )
            return commit_record(api.commit(repo, branch, creation))

    def get_commit(self, repo: str, ref: str) -> Commit:
        reference = self._ref(repo, ref)
        with self._ambiguity_told(repo, ref), sdk_errors(repo, f"ref {ref!r}"):
            return commit_record(reference.get_commit())

    @contextlib.contextmanager
    def _ambiguity_told(self, repo: str, ref: str) -> Iterator[None]:
        try:
            yield
        except RefNotFoundError:
            self._refuse_ambiguous(repo, ref)
            raise

    def _refuse_ambiguous(self, repo: str, ref: str) -> None:
        """lakeFS answers "not found" for a commit id prefix that matches several commits; this
        looks for two among the commits reachable from the branches and tags (up to
        AMBIGUITY_SCAN), which is where the ids a user copies come from."""
        if not _HEX_PREFIX.match(ref):
            return
        seen: set[str] = set()
        walked = 0
        with sdk_errors(repo, f"ref {ref!r}"):
            heads = [r.commit_id for r in self.list_branches(repo) + self.list_tags(repo)]
            for start in dict.fromkeys(heads):
                for commit in self._ref(repo, start).log(amount=PAGE):
                    seen.add(commit.id)
                    walked += 1
                    if walked > AMBIGUITY_SCAN:
                        return
        matches = sorted(c for c in seen if c.startswith(ref))
        if len(matches) > 1:
            raise AmbiguousRefError(
                f"commit id prefix {ref!r} is ambiguous in repository {repo!r}: it matches "
                f"{', '.join(m[:12] for m in matches[:3])}{'…' if len(matches) > 3 else ''}; "
                "give more characters"
            )

    def log(self, repo: str, ref: str, *, max_amount: int | None = None) -> Iterator[Commit]:
        reference = self._ref(repo, ref)
        if max_amount is not None and max_amount <= 0:
            return iter(())
        listing = reference.log(max_amount=max_amount, amount=min(max_amount or PAGE, PAGE))
        return paged(listing, commit_record, functools.partial(sdk_errors, repo, f"ref {ref!r}"))

    def diff(
        self, repo: str, left: str, right: str, *, prefix: str = "", two_dot: bool = False
    ) -> list[Change]:
        """lakeFS's own diff: "two_dot" compares the trees, "three_dot" diffs from the merge
        base, leaving out what both sides changed alike, as the protocol does. lakeFS types a
        path both sides changed differently "conflict"; such a path gets the change `right`
        made since the merge base (a removal stays a removal)."""
        reference = self._ref(repo, left)
        check_ref(right)
        check_prefix(prefix)
        kind = "two_dot" if two_dot else "three_dot"
        with sdk_errors(repo, f"ref {left!r} or {right!r}"):
            found = list(reference.diff(right, prefix=prefix, type=kind, amount=PAGE))
            conflicts = {c.path for c in found if c.type == "conflict"}
            if conflicts:
                base = self._merge_base(repo, right, left)
                on_right = self._ref(repo, base).diff(
                    right, prefix=prefix, type="two_dot", amount=PAGE
                )
                found = [c for c in found if c.path not in conflicts] + [
                    c for c in on_right if c.path in conflicts
                ]
            return sorted(changes(iter(found)), key=lambda change: change.path)

    def _merge_base(self, repo: str, source: str, destination: str) -> str:
        api = self._client.sdk_client.refs_api
        return api.find_merge_base(repo, source, destination).base_commit_id

    def merge(
        self,
        repo: str,
        source: str,
        destination: str,
        *,
        message: str | None = None,
        metadata: Mapping[str, str] | None = None,
        strategy: MergeStrategy | str | None = None,
    ) -> Commit:
        chosen = check_strategy(strategy)
        reference = self._ref(repo, source)
        meta = _commit_metadata(metadata)
        check_text("merge message", message, optional=True)
        self._refuse_dirty(repo, destination, "merging into it")
        attempt = 0
        while True:
            try:
                return self._merge_once(repo, reference, destination, message, meta, chosen)
            except MergeConflictError:
                raise
            except ConflictError:
                if attempt == CONTENTION_RETRIES:
                    raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))  # jittered backoff
            attempt += 1

    def _merge_once(
        self,
        repo: str,
        reference: lakefs.Reference,
        destination: str,
        message: str | None,
        meta: dict[str, str],
        chosen: MergeStrategy | None,
    ) -> Commit:
        source = reference.id
        try:
            with sdk_errors(
                repo,
                f"merge of {source!r} into {destination!r}",
                missing_subject=f"ref {source!r} or branch {destination!r}",
                conflict=MergeConflictError,
            ):
                merged = reference.merge_into(
                    destination,
                    message=message or f"Merge '{source}' into '{destination}'",
                    metadata=meta,
                    strategy=chosen.value if chosen else None,
                    allow_empty=True,  # the protocol always makes a merge commit
                )
                return commit_record(self._ref(repo, merged).get_commit())
        except MergeConflictError as exc:
            raise self._merge_conflict(repo, source, destination) from exc.__cause__

    def _merge_conflict(self, repo: str, source: str, destination: str) -> MergeConflictError:
        """lakeFS's 409 does not name the paths; its three-dot diff marks each one "conflict"."""
        try:
            with sdk_errors(repo, f"ref {source!r} or {destination!r}"):
                found = self._ref(repo, destination).diff(source, type="three_dot", amount=PAGE)
                paths = sorted(c.path for c in found if c.type == "conflict")
        except StoreError:
            paths = []
        named = (
            f"{len(paths)} path(s): {', '.join(paths)}" if paths else "paths lakeFS did not list"
        )
        return MergeConflictError(
            f"merging {source!r} into {destination!r} in repository {repo!r} conflicts at "
            f"{named}; pass strategy='source-wins' or 'dest-wins' to resolve",
            paths,
        )

    def revert(self, repo: str, branch: str, ref: str, *, parent_number: int = 0) -> Commit:
        """Revert `ref` on `branch`. lakeFS answers a revert with no commit, so the wrapper reads
        the branch head right after: a commit landing in between would be returned instead."""
        target = self._branch(repo, branch)
        check_ref(ref)
        if not isinstance(parent_number, int) or parent_number < 0:
            raise InvalidArgumentError(
                f"parent_number must be 0, or a parent's 1-based index; got {parent_number!r}"
            )
        self._refuse_dirty(repo, branch, "reverting")
        with sdk_errors(
            repo,
            f"revert of {ref!r} on branch {branch!r}",
            missing_subject=f"ref {ref!r} or branch {branch!r}",
            conflict=MergeConflictError,
        ):
            return commit_record(target.revert(ref, parent_number))

    def _refuse_dirty(self, repo: str, branch: str, doing: str) -> None:
        pending = self._branch(repo, branch).uncommitted(max_amount=1, amount=1)
        with sdk_errors(repo, f"branch {branch!r}"):
            dirty = next(iter(pending), None) is not None
        if dirty:
            raise DirtyBranchError(
                f"branch {branch!r} in repository {repo!r} has uncommitted changes; "
                f"commit or reset them before {doing}"
            )


def _commit_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    meta = check_metadata(metadata)
    reserved = sorted(k for k in meta if k.startswith(RESERVED_METADATA_PREFIX))
    if reserved:
        raise InvalidArgumentError(
            f"commit metadata keys starting with {RESERVED_METADATA_PREFIX!r} are lakeFS's own: "
            f"rename {', '.join(map(repr, reserved))}"
        )
    return meta

"""Commits and history of the embedded store: commit, get_commit, log, diff, three-way merge
and revert, mixed into LocalStore. libgit2 finds merge bases and merges trees; a new commit
moves its branch only by compare-and-swap under the branch lock (repository.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pygit2

from resources.versioning.errors import (
    DirtyBranchError,
    EmptyCommitError,
    InvalidArgumentError,
    MergeConflictError,
)
from resources.versioning.local.faults import point
from resources.versioning.local.packs import write_pack
from resources.versioning.local.pointers import key_from_tree_path
from resources.versioning.local.repository import LocalRepository, commit_id_of
from resources.versioning.local.staging import stamps_of
from resources.versioning.local.trees import apply_changes
from resources.versioning.names import (
    check_branch_name,
    check_metadata,
    check_prefix,
    check_strategy,
    check_text,
)
from resources.versioning.records import Change, ChangeType, Commit, MergeStrategy


class LocalHistory:
    """The commit-graph half of LocalStore (store.py holds repositories, refs and objects)."""

    def _repo(self, name: str) -> LocalRepository:
        raise NotImplementedError  # LocalStore's

    def commit(
        self,
        repo: str,
        branch: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> Commit:
        check_branch_name(branch)
        meta = check_metadata(metadata)
        check_text("commit message", message)
        r = self._repo(repo)
        with r.lock(branch):
            head = r.branch_commit(branch)
            rows = r.staging.rows(branch)
            changes = {path: blob for path, blob, _, _ in rows}
            tree = head.tree_id
            if changes:
                root, new_trees = apply_changes(r.git, head.tree, changes, r.trees)
                tree = pygit2.Oid(raw=root)
                if tree != head.tree_id:
                    write_pack(Path(r.git.path), new_trees)
                    r.trees.add(new_trees)
                    r.packs_written()
                point("commit:trees")
            # Rows equal to the head (rewrites of the same bytes) fall out: same tree id.
            if tree == head.tree_id and not allow_empty:
                raise EmptyCommitError(
                    f"nothing to commit on branch {branch!r} in repository {repo!r} "
                    "(pass allow_empty=True to commit anyway)"
                )
            created = r.create_commit(branch, head.id, message, meta, tree, [head.id], staged=rows)
            r.staging.settle(branch, stamps_of(rows))
            point("commit:settled")
        return r.record(created)

    def _apply(self, r: LocalRepository, base: pygit2.Tree, changes: dict) -> pygit2.Oid:
        """The tree of `base` with `changes` applied, its new trees durable in one pack."""
        root, new_trees = apply_changes(r.git, base, changes, r.trees)
        if new_trees:
            write_pack(Path(r.git.path), new_trees)
            r.trees.add(new_trees)
            r.packs_written()
        return pygit2.Oid(raw=root)

    def get_commit(self, repo: str, ref: str) -> Commit:
        r = self._repo(repo)
        return r.record(r.resolve(ref).commit)

    def log(self, repo: str, ref: str, *, max_amount: int | None = None) -> Iterator[Commit]:
        r = self._repo(repo)
        start = r.resolve(ref).commit.id
        walker = r.git.walk(start, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
        for count, commit in enumerate(walker):
            if max_amount is not None and count >= max_amount:
                return
            yield r.record(commit)

    def diff(
        self, repo: str, left: str, right: str, *, prefix: str = "", two_dot: bool = False
    ) -> list[Change]:
        check_prefix(prefix)
        r = self._repo(repo)
        left_commit, right_commit = r.resolve(left).commit, r.resolve(right).commit
        if two_dot:
            base_tree = left_commit.tree
        else:
            base = r.git.merge_base(left_commit.id, right_commit.id)
            base_tree = r.git[base].tree if base is not None else r.empty_tree
        kinds = {"A": ChangeType.ADDED, "D": ChangeType.REMOVED, "M": ChangeType.CHANGED}
        changes = []
        for delta in r.git.diff(base_tree, right_commit.tree).deltas:
            path = key_from_tree_path(delta.new_file.path or delta.old_file.path)
            if path.startswith(prefix):
                changes.append(Change(kinds.get(delta.status_char(), ChangeType.CHANGED), path))
        return sorted(changes, key=lambda change: change.path)

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
        check_branch_name(destination)
        meta = check_metadata(metadata)
        check_text("merge message", message, optional=True)
        r = self._repo(repo)
        theirs = r.resolve(source).commit
        with r.lock(destination):
            ours = r.branch_commit(destination)
            if r.is_dirty(destination, ours):
                raise DirtyBranchError(
                    f"branch {destination!r} in repository {repo!r} has uncommitted changes; "
                    "commit or reset them before merging into it"
                )
            base = r.git.merge_base(ours.id, theirs.id)
            if base == ours.id:  # the destination has not moved: the result is the source's
                tree = theirs.tree_id
            elif base == theirs.id:  # the source is merged already: nothing changes
                tree = ours.tree_id
            else:  # a real three-way merge; an index of every path, so it costs O(tree)
                base_tree = r.git[base].tree if base is not None else r.empty_tree
                index = r.git.merge_trees(
                    base_tree, ours.tree, theirs.tree, flags=pygit2.enums.MergeFlag(0)
                )
                winners = {}
                if index.conflicts is not None:
                    winners = _resolve_conflicts(index, chosen, repo, source, destination)
                tree = index.write_tree(r.git)
                if winners:
                    tree = self._apply(r, r.git[tree], winners)
            point("merge:trees")
            text = message or f"Merge '{source}' into '{destination}'"
            created = r.create_commit(
                destination, ours.id, text, meta, tree, [ours.id, theirs.id], fault="merge"
            )
        return r.record(created)

    def revert(self, repo: str, branch: str, ref: str, *, parent_number: int = 0) -> Commit:
        check_branch_name(branch)
        r = self._repo(repo)
        target = r.resolve(ref).commit
        if len(target.parents) > 1 and not 1 <= parent_number <= len(target.parents):
            raise InvalidArgumentError(
                f"commit {commit_id_of(target.id)[:12]} is a merge commit: pass parent_number "
                f"(1..{len(target.parents)}) to say which parent to revert to"
            )
        if len(target.parents) <= 1 and parent_number != 0:
            raise InvalidArgumentError(
                f"commit {commit_id_of(target.id)[:12]} is not a merge commit: leave "
                f"parent_number at 0 (got {parent_number!r})"
            )
        with r.lock(branch):
            head = r.branch_commit(branch)
            if r.is_dirty(branch, head):
                raise DirtyBranchError(
                    f"branch {branch!r} in repository {repo!r} has uncommitted changes; "
                    "commit or reset them before reverting"
                )
            index = r.git.revert_commit(target, head, mainline=parent_number)
            if index.conflicts is not None:
                paths = _conflict_paths(index)
                raise MergeConflictError(
                    f"reverting {commit_id_of(target.id)[:12]} on {branch!r} conflicts at: "
                    + ", ".join(paths),
                    paths,
                )
            tree = index.write_tree(r.git)
            target_id = commit_id_of(target.id)
            created = r.create_commit(
                branch,
                head.id,
                f"Revert {target_id}",
                {"reverted_commit": target_id},
                tree,
                [head.id],
                fault="revert",
            )
        return r.record(created)


def _conflict_paths(index: pygit2.Index) -> list[str]:
    return sorted(
        {
            key_from_tree_path(entry.path)
            for triple in index.conflicts
            for entry in triple
            if entry is not None
        }
    )


def _resolve_conflicts(index, strategy, repo, source, destination) -> dict[str, str | None]:
    """Take the conflicts out of `index` and return the winning side of each (key → blob hex,
    None = deleted). The winners go into the tree through trees.apply_changes, not back into
    the index: libgit2 refuses index paths such as `.git` or `git~1` that are valid keys."""
    if strategy is None:
        paths = _conflict_paths(index)
        raise MergeConflictError(
            f"merging {source!r} into {destination!r} in repository {repo!r} conflicts at "
            f"{len(paths)} path(s): {', '.join(paths)}; pass strategy='source-wins' or "
            "'dest-wins' to resolve",
            paths,
        )
    winners: dict[str, str | None] = {}
    for _, ours, theirs in list(index.conflicts):
        winner = theirs if strategy is MergeStrategy.SOURCE_WINS else ours
        path = (ours or theirs).path
        del index.conflicts[path]
        winners[key_from_tree_path(path)] = str(winner.id) if winner is not None else None
    return winners

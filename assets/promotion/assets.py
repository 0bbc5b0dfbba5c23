"""`production_model`: the gated promotion of the evaluated candidate.

Promotion merges the candidate's branch (weights, card, report) into main, tags the merge
commit `<model>-<version>` and moves the registry alias `production`. A refusal records the
decision with the failing rules, leaves main and production as they were and fails the
blocking `promotion_gate` check, so nothing downstream runs on a model that was not promoted.
"""

import contextlib
from collections.abc import Sequence

import dagster as dg
import polars as pl

from assets.automation import after_upstream
from assets.links import store_browser
from assets.markdown import table_md
from assets.models import candidate_branch
from assets.promotion.gate import decide, targeted_slices
from assets.publishing import ASSET_KEY, CHECKS_KEY
from assets.results import store_metadata, upstream_value
from assets.slices.declarations import SliceSpec
from resources.catalog_resource import CatalogResource
from resources.detector_resource import DetectorResource
from resources.faults import point
from resources.layout import model_dir, report_dir
from resources.storage import read_json
from resources.store_resource import VersionedStoreResource
from resources.versioning import ConflictError, MergeConflictError, NotFoundError

PROMOTION_CHECK = "promotion_gate"
_MERGE_RETRIES = 8


def _training_counts(store, repo: str, commit: str, name: str, version: str) -> dict[str, int]:
    info = read_json(store, repo, commit, f"{model_dir(name, version)}/training.json")
    return {k: int(v) for k, v in info["train_frames_per_slice"].items()}


def build_production_model(specs: Sequence[SliceSpec]) -> dg.AssetsDefinition:
    """The promotion asset; `specs` say which evaluation slice each curated slice targets."""
    eval_slice_of = {spec.name: spec.eval_slice for spec in specs}

    @dg.asset(
        name="production_model",
        deps=["evaluation_report"],
        group_name="promotion",
        kinds={"pytorch", "lakefs"},
        automation_condition=after_upstream(),
        output_required=False,
        check_specs=[
            dg.AssetCheckSpec(
                PROMOTION_CHECK,
                asset="production_model",
                blocking=True,
                description="Blocking checks on the training data passed, no slice regressed "
                "beyond tolerance, targeted slices improved",
            )
        ],
    )
    def production_model(
        context: dg.AssetExecutionContext,
        store: VersionedStoreResource,
        catalog: CatalogResource,
        detector: DetectorResource,
    ):
        """The model in production: the latest candidate that passed the promotion gate, merged
        into main and tagged, with the registry alias `production` pointing at it."""
        vs, repo, name = store.ensure_repository(), store.repository, detector.name
        cat = catalog.open()
        version = upstream_value(context, "evaluation_report", "model_version")
        report_commit = upstream_value(context, "evaluation_report", "store_commit")
        candidate = cat.get_model(name, version)
        production = _judged_against(cat, name, version)
        report_path = f"{report_dir(name, version)}/report.json"
        report = read_json(vs, repo, report_commit, report_path)

        dataset = candidate.training_set_commit
        try:
            checks = {
                f"training_set_valid @ {dataset[:12]}": vs.get_commit(repo, dataset).metadata.get(
                    CHECKS_KEY
                )
                == "passed"
            }
        except NotFoundError:
            checks = {f"training_set @ {dataset[:12]} exists": False}
        targeted = targeted_slices(
            _training_counts(vs, repo, candidate.commit, name, version),
            _training_counts(vs, repo, production.commit, name, production.version)
            if production
            else None,
            eval_slice_of,
        )
        decision = decide(report, checks, targeted)
        rules = [rule.as_dict() for rule in decision.rules]
        rules_md = table_md(pl.DataFrame(rules))
        link = f"lakefs://{repo}/{report_commit}/{report_path}"
        report_url = dg.MetadataValue.url(
            store_browser(vs).url(repo, report_commit, f"{report_dir(name, version)}/report.html")
        )

        if not decision.approved:
            cat.record_decision(
                name,
                version,
                against_version=production.version if production else None,
                approved=False,
                rules=rules,
                report_path=link,
                merge_commit=None,
            )
            context.log.error(f"promotion of {name} {version} {decision.summary()}")
            yield dg.AssetCheckResult(
                check_name=PROMOTION_CHECK,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=decision.summary(),
                metadata={
                    "candidate": version,
                    "rules": dg.MetadataValue.md(rules_md),
                    "report": link,
                    "report_url": report_url,
                },
            )
            return

        tag = f"{name}-{version}"
        try:  # a retry after a crash past the tag: the merge is done, finish the rest
            merged = vs.resolve(repo, tag)
        except NotFoundError:  # merged before the tag (a crash between them), or not yet
            merged = _promoted_before(vs, repo, store.main_branch, candidate.commit, version)
            merged = merged or _merge(
                vs, repo, candidate_branch(version), store.main_branch, name, version
            )
            point("promotion:merged")
            vs.create_tag(repo, tag, merged, exist_ok=True)
        point("promotion:tagged")
        cat.record_decision(
            name,
            version,
            against_version=production.version if production else None,
            approved=True,
            rules=rules,
            report_path=link,
            merge_commit=merged,
        )
        point("promotion:recorded")
        cat.set_alias(name, "production", version)
        point("promotion:alias")
        # Last: the tag keeps the promoted commit, and until the alias moved a retry needs
        # nothing else; a refused candidate's branch stays to inspect.
        with contextlib.suppress(NotFoundError):
            vs.delete_branch(repo, candidate_branch(version))
        point("promotion:branch_deleted")
        yield dg.MaterializeResult(
            metadata={
                **store_metadata(repo, merged, [f"{model_dir(name, version)}/model.pt"], store=vs),
                "model_version": dg.MetadataValue.text(version),
                "replaced": dg.MetadataValue.text(production.version if production else "none"),
                "tag": dg.MetadataValue.text(f"{name}-{version}"),
                "decision": dg.MetadataValue.md(rules_md),
                "report": dg.MetadataValue.text(link),
                "report_url": report_url,
            },
            data_version=dg.DataVersion(merged),
        )
        yield dg.AssetCheckResult(
            check_name=PROMOTION_CHECK,
            passed=True,
            description=decision.summary(),
            metadata={
                "candidate": version,
                "rules": dg.MetadataValue.md(rules_md),
                "report": link,
                "report_url": report_url,
            },
        )

    return production_model


def _judged_against(cat, name: str, version: str):
    """The production model the candidate is judged against: the one its recorded decision
    names when it was decided before (a retry, a re-run: the alias may point at the candidate
    itself by now), else the alias's holder."""
    decided = [d for d in cat.decisions(name) if d.candidate_version == version]
    if not decided:
        return cat.alias(name, "production")
    against = decided[-1].against_version
    return cat.get_model(name, against) if against else None


def _promoted_before(store, repo: str, main: str, candidate_commit: str, version: str):
    """The merge commit on main that promoted `version`, if one did: it is newer than the
    candidate's own commit, so the walk stops there."""
    for commit in store.log(repo, main):
        if commit.id == candidate_commit:
            return None
        meta = commit.metadata
        if meta.get(ASSET_KEY) == "production_model" and meta.get("model_version") == version:
            return commit.id
    return None


def _merge(store, repo: str, branch: str, main: str, name: str, version: str) -> str:
    """Merge the candidate branch into main (retrying when another run moved main first)."""
    for attempt in range(_MERGE_RETRIES):
        try:
            return store.merge(
                repo,
                branch,
                main,
                message=f"promote {name} {version}",
                metadata={
                    ASSET_KEY: "production_model",
                    CHECKS_KEY: "passed",
                    "model_version": version,
                },
            ).id
        except MergeConflictError:
            raise
        except ConflictError:
            if attempt == _MERGE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")

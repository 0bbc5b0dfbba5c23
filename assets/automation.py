"""When assets run by themselves: the conditions, the automation sensor and the weekly cycle.

Assets fed by the outside world (`fleet_logs`, `label_sets`) are requested by sensors on the
landing branch; everything downstream runs through declarative automation. An upstream run
whose audit failed does not materialize at all (write–audit–publish), so it never triggers
its children.
"""

from __future__ import annotations

import os

import dagster as dg

AUTOMATION_SENSOR = "fleetloop_automation"
# The least time between two ticks of the automation and the landing sensors
# (`FLEETLOOP_TICK_SECONDS`). The daemon evaluates sensors in 5 s loops and a tick's recorded
# start lags its loop a little, so an interval of 5 skipped every other loop (10 s between
# ticks in the demo's daemon.log); 4 ticks on every loop.
AUTOMATION_INTERVAL_S = int(os.environ.get("FLEETLOOP_TICK_SECONDS", "4") or 4)
WEEKLY_CRON = "0 6 * * 1"  # Mondays 06:00 UTC: the loop runs while the team is at the gym


def since_last_requested(trigger: dg.AutomationCondition) -> dg.AutomationCondition:
    """`trigger` since this asset was last requested for an earlier trigger. Not
    `since_last_handled`: that resets when the asset materializes, and when a trigger fires
    on the tick right after a request, so an upstream update landing then (a label batch
    arriving while the previous tick's training set is written) would be swallowed."""
    reset = (
        dg.AutomationCondition.newly_requested() & ~trigger
    ) | dg.AutomationCondition.initial_evaluation()
    return trigger.since(reset.with_label("requested"))


def after_upstream(*, all_deps: bool = True) -> dg.AutomationCondition:
    """Run once an upstream asset updated (or is requested in the same tick), or when the
    asset is missing, as soon as its upstreams allow and no upstream run is in flight.

    `all_deps=False` is for assets that read whatever is on main (the frames of the drives
    published so far, the slices that exist yet): one materialized upstream is enough.
    """
    trigger = since_last_requested(
        dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
    )
    ready = (
        ~dg.AutomationCondition.any_deps_missing()
        if all_deps
        else dg.AutomationCondition.any_deps_match(
            ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested()
        )
    )
    return (
        trigger
        & ready
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after_upstream" if all_deps else "after_any_upstream")


def after_upstream_or_code_change() -> dg.AutomationCondition:
    """`after_upstream`, and also when the asset's own code version changed (an edited slice
    declaration)."""
    trigger = since_last_requested(
        dg.AutomationCondition.newly_missing()
        | dg.AutomationCondition.any_deps_updated()
        | dg.AutomationCondition.code_version_changed()
    )
    return (
        trigger
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after_upstream_or_code_change")


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=AUTOMATION_INTERVAL_S,
        description="Carries new data through the loop: frames → slices → labeling queue, and "
        "label sets → training set → candidate → report → promotion.",
    )


def weekly_cycle(selection: dg.AssetSelection) -> dg.ScheduleDefinition:
    job = dg.define_asset_job(
        "weekly_cycle",
        selection=selection,
        description="The whole cycle from the production model's fleet predictions to a gated "
        "promotion, whatever changed: operation vacation.",
    )
    return dg.ScheduleDefinition(
        name="weekly_cycle_schedule",
        job=job,
        cron_schedule=WEEKLY_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )

"""Issue 22, item 1, the CI version: one run, counted from outside.

One `newsflow worker` (exactly_once, session timeout 6 s) takes real AG News items
with exact and near re-sends from an idempotent librdkafka producer at 15/s, while its
process group is SIGKILLed and restarted at 3 seeded random moments. Then every output
topic is read from the start by librdkafka with read_committed and compared, id by id,
with `newsflow process` on the same input (support/outside.py holds the rules).

NEWSFLOW_FAULT_SEED picks other fault times and copies; NEWSFLOW_FAULT_ENV adds worker
and batch settings (`KEY=VALUE,KEY=VALUE`), e.g. NEWSFLOW_LOG_LEVEL=INFO.
The soak (`make soak`, bench/fault_soak.py) runs the same checks over more runs and faults.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.outside import STALL_BOUND_SECONDS, FaultPlan, Scenario, ag_news_rows, run_scenario

pytestmark = pytest.mark.integration

KILLS = 3
ITEMS = 1800
RATE = 15.0  # 120 s of production: the kills land while it runs


def extra_env() -> dict[str, str]:
    raw = os.environ.get("NEWSFLOW_FAULT_ENV", "")
    return dict(pair.split("=", 1) for pair in raw.split(",") if pair.strip())


def test_worker_sigkills_while_producing_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ag_news_rows()  # skips when ../shared/datasets/ag_news is absent
    seed = int(os.environ.get("NEWSFLOW_FAULT_SEED", "22"))
    report = run_scenario(Scenario(
        name="ci-kills", bootstrap=kafka_bootstrap, workdir=tmp_path,
        plan=FaultPlan(kinds=["kill"] * KILLS, seed=seed, gap=(3.0, 10.0)),
        items=ITEMS, rate=RATE, guarantee="exactly_once", env=extra_env(),
        restart_when_held=False,  # CI fails on the wedge; the soak shows what a restart does
    ))
    print("\n" + report.summary())
    assert len(report.faults) == KILLS
    assert sum(f.during_production for f in report.faults) >= KILLS, "kills while producing"
    assert report.delivery_failed == 0
    assert report.produced == ITEMS
    assert report.lost == 0, f"{report.lost} inputs without a committed outcome"
    assert report.twice == 0, f"{report.twice} inputs with two committed outcomes"
    assert report.verdicts_differ == 0, f"{report.verdicts_differ} verdicts differ from batch"
    assert report.misrouted == 0
    assert not report.crashes, f"workers exited by themselves: {report.crashes}"
    assert report.longest_stall <= STALL_BOUND_SECONDS, (
        f"no committed progress for {report.longest_stall:.0f}s with "
        f"{report.held_back} inputs outstanding (bound {STALL_BOUND_SECONDS:.0f}s)")

"""Create a schedule in the panel, see its run appear there; bad cron input is shown at its field.

Time is not waited for: once the panel has created the schedule, this test plays a second
scheduler process on the same store (allowed: a due time still runs once) whose clock stands just
after the first due time, so the run starts at once and the panel shows it.
"""

from __future__ import annotations

import pytest

import re
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from jupyter_kf.config import Settings
from jupyter_kf.schedules import Scheduler, ScheduleService
from jupyter_kf.service import PipelineService

from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import RUN_TIMEOUT_MS, UI_TIMEOUT_MS, open_notebook, open_panel, run_row, tid

CELLS = [("n = 3", ["pipeline-parameters"]), ("total = n * 2", ["step:double"]), ("total", ["pipeline-metrics"])]


# the bad cron the test types is refused by the server (400), which the browser logs
@pytest.mark.console_errors(r"status of 400 \(Bad Request\) \(at http://[^ ]+/jupyter-kf/api/schedules")
def test_create_a_schedule_in_the_panel_and_see_its_run(page: Page, lab: LabServer, lab_root: Path) -> None:
    write_notebook(lab_root / "sched" / "nightly.ipynb", CELLS)
    open_notebook(page, lab, "sched/nightly.ipynb")
    open_panel(page)
    page.click(f'{tid("kf-section-schedules")} .jp-kf-section-toggle')
    form = page.locator(tid("kf-schedule-form"))
    expect(form).to_be_visible(timeout=UI_TIMEOUT_MS)

    # A bad expression is refused by the server and shown at its field; nothing is created.
    form.locator(tid("kf-schedule-cron")).fill("0 25 * * *")
    form.locator(tid("kf-schedule-create")).click()
    expect(page.locator(tid("kf-schedule-error-cron"))).to_contain_text("Bad hour", timeout=UI_TIMEOUT_MS)
    expect(page.locator(tid("kf-schedule-item"))).to_have_count(0)

    form.locator(tid("kf-schedule-cron")).fill("15 4 * * *")
    form.locator(tid("kf-schedule-timezone")).fill("Europe/Berlin")
    form.locator(tid("kf-schedule-param-n")).fill("7")
    def created_answer(r) -> bool:
        return r.request.method == "POST" and re.search(r"jupyter-kf/api/schedules(\?|$)", r.url) is not None

    with page.expect_response(created_answer, timeout=UI_TIMEOUT_MS) as ans:
        form.locator(tid("kf-schedule-create")).click()
    assert ans.value.status == 201, ans.value.text()
    created = ans.value.json()
    item = page.locator(f'{tid("kf-schedule-item")}[data-schedule-id="{created["id"]}"]')
    expect(item).to_contain_text("15 4 * * * (Europe/Berlin)", timeout=UI_TIMEOUT_MS)
    expect(item.locator(tid("kf-schedule-last"))).to_contain_text("no run yet")
    assert created["parameters"] == {"n": 7}

    # The first due time passes: a scheduler on the same store starts its run.
    due = datetime.fromisoformat(created["next_due"][0].replace("Z", "+00:00"))
    settings = Settings.from_env(registry=str(lab.log_path.parent / "kf-stores.json"))
    pipelines = PipelineService(lab_root / "sched", settings)
    try:
        scheduler = Scheduler(ScheduleService(pipelines, clock=lambda: due + timedelta(seconds=5)))
        ((_, fire),) = scheduler.tick()
        assert fire.state == "started", fire
        expect(item.locator(tid("kf-schedule-last"))).to_contain_text(
            re.compile(rf"run {fire.run} (running|queued|succeeded)"), timeout=UI_TIMEOUT_MS
        )
        expect(run_row(page, fire.run)).to_be_visible(timeout=UI_TIMEOUT_MS)  # in the panel's runs too
        expect(item.locator(tid("kf-schedule-last"))).to_contain_text(f"run {fire.run} succeeded", timeout=RUN_TIMEOUT_MS)
        assert pipelines.wait(fire.run, 60).metrics == {"total": 14}
    finally:
        pipelines.close()

    item.locator(tid("kf-schedule-toggle")).click()
    expect(item).to_contain_text("paused", timeout=UI_TIMEOUT_MS)
    item.locator(tid("kf-schedule-delete")).click()
    expect(page.locator(tid("kf-schedule-item"))).to_have_count(0, timeout=UI_TIMEOUT_MS)

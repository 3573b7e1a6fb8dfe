"""%kf_run shows long work before the steps (first snapshot, inputs written) as a progress line."""

from __future__ import annotations

from datetime import datetime, timezone

from jupyter_kf.magics.view import RunView
from jupyter_kf.models import Run, StepRun


def test_run_view_shows_the_activity_line_as_text_and_html():
    run = Run(id="20260101-000000-abcd", pipeline="p", notebook="p.ipynb", created_at=datetime.now(timezone.utc),
              steps=[StepRun(name="a")])
    view = RunView(run, activity=("snapshot", 120, 2560, (240 * 2**20, 5 * 2**30)))
    assert "snapshot: 120/2560 files, 240.0 MB/5.0 GB" in repr(view)
    html = view._repr_html_()
    assert "<progress max='2560' value='120'>" in html and "240.0 MB/5.0 GB" in html
    assert "files" not in repr(RunView(run))  # no activity: no line

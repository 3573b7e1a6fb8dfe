"""REST handlers of the server extension, one module per resource; `routes()` lists them.

Importing this package is cheap (handlers import jupyter_server only when routes are built), so
`python -m jupyter_kf.handlers.spec` runs without the server stack.
"""

from __future__ import annotations

_ID = r"(?P<run_id>[^/]+)"
_STEP = r"(?P<step>[^/]+)"
_SCHEDULE = r"(?P<schedule_id>[^/]+)"
_SWEEP = r"(?P<sweep_id>[^/]+)"


def routes() -> list[tuple[str, type]]:
    """(pattern relative to `{base_url}jupyter-kf/api/`, handler class) for every route."""
    from .backends import BackendsHandler
    from .compile import CompileHandler
    from .diff import RunDiffHandler
    from .openapi import OpenAPIHandler
    from .runs import CancelHandler, RetryHandler, RunEventsHandler, RunHandler, RunsHandler
    from .schedules import ScheduleHandler, SchedulePauseHandler, ScheduleResumeHandler, SchedulesHandler
    from .snapshots import PruneHandler, SnapshotsHandler, StoreHandler
    from .steps import StepLogHandler, StepNotebookHandler
    from .sweeps import SweepCancelHandler, SweepHandler, SweepsHandler

    return [
        (r"compile", CompileHandler),
        (r"backends", BackendsHandler),
        (r"runs", RunsHandler),
        (rf"runs/{_ID}", RunHandler),
        (rf"runs/{_ID}/events", RunEventsHandler),
        (rf"runs/{_ID}/cancel", CancelHandler),
        (rf"runs/{_ID}/retry", RetryHandler),
        (rf"runs/{_ID}/diff/(?P<other>[^/]+)", RunDiffHandler),
        (rf"runs/{_ID}/steps/{_STEP}/log", StepLogHandler),
        (rf"runs/{_ID}/steps/{_STEP}/notebook", StepNotebookHandler),
        (r"snapshots", SnapshotsHandler),
        (r"schedules", SchedulesHandler),
        (rf"schedules/{_SCHEDULE}", ScheduleHandler),
        (rf"schedules/{_SCHEDULE}/pause", SchedulePauseHandler),
        (rf"schedules/{_SCHEDULE}/resume", ScheduleResumeHandler),
        (r"store", StoreHandler),
        (r"store/prune", PruneHandler),
        (r"sweeps", SweepsHandler),
        (rf"sweeps/{_SWEEP}", SweepHandler),
        (rf"sweeps/{_SWEEP}/cancel", SweepCancelHandler),
        (r"openapi\.yaml", OpenAPIHandler),
    ]

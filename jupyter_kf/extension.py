"""The Jupyter server extension: REST routes under `{base_url}jupyter-kf/api/`.

Enabled by the `jupyter_server_config.d/jupyter_kf.json` file the wheel installs. Settings come
from `KfConfig` (e.g. `c.KfConfig.max_parallel = 4` in jupyter_server_config.py, or
`--KfConfig.store=/data/kf-runs` on the command line), mapped onto `jupyter_kf.config.Settings`
over the `JUPYTER_KF_*` environment variables.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from traitlets import Bool, Dict, Float, Int, Unicode
from traitlets.config import Configurable

API_PREFIX = "jupyter-kf/api"


class KfConfig(Configurable):
    """Server-side settings of jupyter-kf (unset ones keep jupyter_kf.config's env/defaults)."""

    store = Unicode(
        None, allow_none=True,
        help="Run store folder (JUPYTER_KF_STORE). Relative: inside each notebook's folder (default "
        "`kf-runs`, which keeps executed notebooks openable from JupyterLab). Absolute: one store.",
    ).tag(config=True)
    max_parallel = Int(None, allow_none=True, help="Steps running at once (JUPYTER_KF_MAX_PARALLEL).").tag(config=True)
    max_runs = Int(
        None, allow_none=True,
        help="Local runs executing at once; later ones wait, queued (JUPYTER_KF_MAX_RUNS, default 4).",
    ).tag(config=True)
    cache = Bool(None, allow_none=True, help="Reuse cached step results by default (JUPYTER_KF_CACHE).").tag(config=True)
    timeout = Float(None, allow_none=True, help="Default per-step timeout, seconds (JUPYTER_KF_TIMEOUT).").tag(config=True)
    workers = Int(4, help="Threads for blocking work (compiling, snapshots, reading the store).").tag(config=True)
    poll_interval = Float(
        1.0, help="Seconds between store reads while a long poll or an event stream waits for a change."
    ).tag(config=True)
    run_schedules = Bool(
        True, help="Start the runs of due schedules while this server is up (`jupyter kf scheduler` does "
        "it without a server; both can run at once: a due time still runs once)."
    ).tag(config=True)
    schedule_interval = Float(10.0, help="Seconds between the scheduler's passes.").tag(config=True)
    notify = Dict(
        {}, help="Notification hooks over the JUPYTER_KF_NOTIFY_* environment, e.g. {'webhook': URL, "
        "'smtp_host': ..., 'mail_to': ...} (fields of jupyter_kf.notify.NotifySettings; never logged)."
    ).tag(config=True)

    def settings(self):
        from .config import Settings

        return Settings.from_env(
            store=self.store, max_parallel=self.max_parallel, max_runs=self.max_runs, cache=self.cache,
            timeout=self.timeout,
        )


@dataclass
class KfState:
    """What every handler needs, kept in the tornado settings under `jupyter_kf`."""

    root: Path
    service: Any
    executor: ThreadPoolExecutor
    watch: Any
    poll_interval: float = 1.0
    allow_hidden: bool = False
    schedules: Any = None  # jupyter_kf.schedules.ScheduleService
    scheduler: Any = None  # jupyter_kf.schedules.Scheduler (None with run_schedules off)
    notifier: Any = None
    stop_scheduler: Any = None  # threading.Event


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_kf.extension"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from .handlers import routes
    from .handlers.watch import RunWatch
    from .service import PipelineService

    config = KfConfig(parent=serverapp)
    _configure_clusters(serverapp)
    root = Path(os.path.expanduser(serverapp.root_dir)).resolve()
    state = KfState(
        root=root,
        service=PipelineService(root, settings=config.settings()),
        executor=ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="jupyter-kf"),
        watch=RunWatch(),
        poll_interval=max(0.05, config.poll_interval),
        allow_hidden=bool(getattr(serverapp.contents_manager, "allow_hidden", False)),
    )
    # Cluster runs this server re-attaches (their submitter died) wake long polls like any other run.
    from .k8s.reattach import add_listener

    add_listener(state.watch.notify)
    _start_schedules(serverapp, config, state)
    web_app = serverapp.web_app
    web_app.settings["jupyter_kf"] = state
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in routes()])
    _stop_runs_on_shutdown(serverapp, state)
    serverapp.log.info("jupyter-kf: REST API at %s (root %s)", base, root)


def _start_schedules(serverapp, config: KfConfig, state: KfState) -> None:
    """Notifications for every run this server starts, and a scheduler thread for due schedules."""
    from .notify import Notifier, NotifySettings
    from .schedules import Scheduler, ScheduleService

    try:
        state.notifier = Notifier(NotifySettings.from_env(**config.notify))
        state.service.add_listener(state.notifier.on_update)
    except ValueError as exc:  # a bad setting names the field, never its value
        serverapp.log.warning("jupyter-kf: notifications off: %s", exc)
    state.schedules = ScheduleService(state.service)
    if config.run_schedules:
        state.scheduler = Scheduler(state.schedules, notifier=state.notifier, on_update=state.watch.notify)
        _, state.stop_scheduler = state.scheduler.start_thread(max(0.5, config.schedule_interval))


def _configure_clusters(serverapp) -> None:
    """Apply `c.KubernetesConfig` (over the KF_* environment) to the KFP and Argo backends.

    A bad cluster setting must not take the local runner down with it: it is logged, and
    `GET backends` reports the cluster backends as not configured, with the reason.
    """
    try:
        from .k8s.backend import configure

        configure(serverapp)
    except Exception as exc:  # noqa: BLE001  (any bad setting: log it, keep the local runner)
        serverapp.log.warning("jupyter-kf: cluster backends not configured: %s", exc)


def _stop_runs_on_shutdown(serverapp, state: KfState) -> None:
    """Cancel the runs this server started when it stops, so it exits at once.

    Runs go on in threads of the server process; without this, stopping the server (Ctrl-C,
    SIGTERM) waits for every running step to end. Module-style extensions get no stop hook from
    jupyter_server (only ExtensionApps do), so this wraps the server's own `cleanup_extensions`.
    """
    original = serverapp.cleanup_extensions

    async def cleanup_extensions() -> None:
        try:
            await original()
        finally:
            _unload_jupyter_server_extension(serverapp)

    serverapp.cleanup_extensions = cleanup_extensions


def _unload_jupyter_server_extension(serverapp) -> None:
    state = serverapp.web_app.settings.pop("jupyter_kf", None)
    if state is not None:
        serverapp.log.info("jupyter-kf: cancelling the runs this server started")
        if state.stop_scheduler is not None:
            state.stop_scheduler.set()
        state.executor.shutdown(wait=False, cancel_futures=True)
        state.service.close()  # cancels this server's active runs (each waits up to 30 s)

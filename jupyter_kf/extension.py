"""The Jupyter server extension: REST routes under `{base_url}jupyter-kf/api/`.

Enabled by the `jupyter_server_config.d/jupyter_kf.json` file the wheel installs. Settings come
from `KfConfig` (e.g. `c.KfConfig.workers = 4` in jupyter_server_config.py, or
`--KfConfig.poll_interval=0.5` on the command line).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

API_PREFIX = "jupyter-kf/api"


class KfConfig(Configurable):
    """Server-side settings of jupyter-kf."""

    store = Unicode(
        "",
        help="Run store folder (like JUPYTER_KF_STORE). Empty: `kf-runs/` next to each notebook, "
        "which keeps executed notebooks openable from JupyterLab.",
    ).tag(config=True)
    workers = Int(4, help="Threads for blocking work (compiling, snapshots, reading the store).").tag(config=True)
    poll_interval = Float(
        1.0, help="Seconds between store reads while a long poll or an event stream waits for a change."
    ).tag(config=True)


@dataclass
class KfState:
    """What every handler needs, kept in the tornado settings under `jupyter_kf`."""

    root: Path
    service: Any
    executor: ThreadPoolExecutor
    watch: Any
    poll_interval: float = 1.0
    allow_hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_kf.extension"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from .handlers import ROUTES
    from .handlers.watch import RunWatch
    from .service import PipelineService

    config = KfConfig(parent=serverapp)
    if config.store:
        # The core reads the store location from the environment (see jupyter_kf.config).
        os.environ["JUPYTER_KF_STORE"] = os.path.expanduser(config.store)
    root = Path(os.path.expanduser(serverapp.root_dir)).resolve()
    watch = RunWatch()
    state = KfState(
        root=root,
        service=PipelineService(root),
        executor=ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="jupyter-kf"),
        watch=watch,
        poll_interval=max(0.05, config.poll_interval),
        allow_hidden=bool(getattr(serverapp.contents_manager, "allow_hidden", False)),
    )
    web_app = serverapp.web_app
    web_app.settings["jupyter_kf"] = state
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in ROUTES])
    serverapp.log.info("jupyter-kf: REST API at %s (root %s)", base, root)


def _unload_jupyter_server_extension(serverapp) -> None:
    state = serverapp.web_app.settings.pop("jupyter_kf", None)
    if state is not None:
        state.executor.shutdown(wait=False, cancel_futures=True)

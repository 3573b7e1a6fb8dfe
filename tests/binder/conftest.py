"""The Binder environment, built once per session (tests/binder/env.py), and one JupyterLab of it.

`KF_BINDER_VENV=/path/to/venv` reuses an environment built earlier with `python tests/binder/env.py
DEST` (quick local iteration); without it (as in CI) the environment is built fresh. The browser
fixtures are the ones of tests/ui (the same flows run against this environment's server).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api
from ui.conftest import (  # noqa: F401  (the page fixture and the failure-report hook, re-exported)
    LabServers,
    page,
    pytest_runtest_makereport,
)
from ui.lab_browser import chromium_path, launch_chromium
from ui.lab_server import LabServer

from .env import REPO, BinderEnv, build, reuse

HERE = Path(__file__).parent
DEMO = "examples/wine-pipeline.ipynb"


BUILD_TIMEOUT_S = 1200  # whichever test comes first builds the environment (about 3 min on 2 cores)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [i for i in items if HERE in Path(i.fspath).parents]
    for item in mine:
        item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S))
    # As in tests/ui: without Chromium the browser test is skipped locally and fails in CI.
    ours = [i for i in mine if "page" in getattr(i, "fixturenames", ())]
    if not ours or chromium_path() is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("Binder browser test: Chromium not found (apt-get install chromium)")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason="Chromium not found (apt-get install chromium)"))


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    """The Binder environment: reused from KF_BINDER_VENV, else built (minutes the first time)."""
    given = os.environ.get("KF_BINDER_VENV")
    if given:
        return reuse(Path(given))
    return build(tmp_path_factory.mktemp("binder"))


def copy_examples(dest: Path) -> Path:
    """The repository's examples/ (without run stores or checkpoints) copied to `dest/examples`."""
    target = dest / "examples"
    if not target.exists():
        shutil.copytree(
            REPO / "examples", target, ignore=shutil.ignore_patterns("kf-runs", ".ipynb_checkpoints")
        )
    return target


# The browser and the servers of tests/ui's fixtures, but ended with this package: Playwright's sync
# API cannot run twice at once in one thread, and tests/ui starts its own for the rest of the session.
@pytest.fixture(scope="package")
def lab_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServers]:
    servers = LabServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="package")
def browser() -> Iterator[playwright_api.Browser]:
    with playwright_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def binder_lab(binder_env: BinderEnv, lab_servers: LabServers) -> LabServer:
    """JupyterLab from the Binder venv (one per session), its root laid out like the repository's
    (examples/ copied there, so the demo config's default_url resolves and kf-runs/ stays out of the repo)."""
    lab = lab_servers.get(binder_env.python)
    copy_examples(lab.root)
    return lab

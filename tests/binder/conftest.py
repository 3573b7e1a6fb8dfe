"""The Binder environment, built once per session (tests/binder/env.py), and one JupyterLab of it.

`KF_BINDER_VENV=/path/to/venv` reuses an environment built earlier with `python tests/binder/env.py
DEST` (quick local iteration); without it (as in CI) the environment is built fresh. The browser
fixtures come from tests/ui/fixtures.py (the same flows run against this environment's server).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kf_testing import copy_examples as committed_examples
from ui.fixtures import LabServers
from ui.lab_server import LabServer

from .env import REPO, BinderEnv, build, reuse

HERE = Path(__file__).parent
DEMO = "examples/wine-pipeline.ipynb"


BUILD_TIMEOUT_S = 1200  # whichever test comes first builds the environment (about 3 min on 2 cores)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S))


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    """The Binder environment: reused from KF_BINDER_VENV, else built (minutes the first time)."""
    given = os.environ.get("KF_BINDER_VENV")
    if given:
        return reuse(Path(given))
    return build(tmp_path_factory.mktemp("binder"))


def copy_examples(dest: Path) -> Path:
    """The repository's examples/ notebooks, as committed, copied to `dest/examples`."""
    target = dest / "examples"
    if not target.exists():
        committed_examples(target)
    return target


@pytest.fixture(scope="session")
def binder_lab(binder_env: BinderEnv, lab_servers: LabServers) -> LabServer:
    """JupyterLab from the Binder venv (one per session), its root laid out like the repository's
    (examples/ copied there, so the demo config's default_url resolves and kf-runs/ stays out of the repo)."""
    lab = lab_servers.get(binder_env.python)
    copy_examples(lab.root)
    return lab

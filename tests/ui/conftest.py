"""Browser tests: a real `jupyter lab` from this environment and headless Chromium.

The browser, the server registry, `page` and the failure report come from tests/ui/fixtures.py (a
plugin loaded by tests/conftest.py, shared with tests/binder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .fixtures import LabServers
from .lab_server import LabServer


@pytest.fixture(scope="session")
def lab(lab_servers: LabServers) -> LabServer:
    """`jupyter lab` from the environment running the tests."""
    return lab_servers.get(sys.executable)


@pytest.fixture(scope="session")
def lab_root(lab: LabServer) -> Path:
    """The `lab` server's root folder: tests write their notebooks here."""
    return lab.root

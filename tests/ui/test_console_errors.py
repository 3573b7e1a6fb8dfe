"""The browser fixtures fail a test whose page logs a console error, unless the test names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fixtures import NO_CHROMIUM
from .lab_browser import chromium_path

TESTS = Path(__file__).resolve().parents[1]

INNER = '''
import pytest

def test_page_logs_an_error(page):
    page.set_content("<script>console.error('boom from the page')</script>")
    page.wait_for_timeout(100)

@pytest.mark.console_errors(r"boom from the page")
def test_expected_error(page):
    page.set_content("<script>console.error('boom from the page')</script>")
    page.wait_for_timeout(100)

def test_quiet_page(page):
    page.set_content("<p>fine</p>")
'''


def test_a_console_error_fails_the_browser_test(tmp_path: Path) -> None:
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_inner.py", "-p", "ui.fixtures", "-p", "no:cacheprovider", "-rA"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout + proc.stderr
    assert "1 failed, 2 passed" in out, out
    assert "FAILED test_inner.py::test_page_logs_an_error" in out, out
    assert "boom from the page" in out, out

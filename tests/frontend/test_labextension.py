"""The JupyterLab extension: its jest unit tests pass, and the installed package ships it enabled.

The front-end is built by `pip install` (hatch-jupyter-builder runs `jlpm install && jlpm build:prod`
in labextension/), so node_modules exist wherever the package was installed from this checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "labextension"
BIN = Path(sys.executable).parent


def _jlpm() -> str | None:
    found = shutil.which("jlpm", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return found


def _env() -> dict[str, str]:
    # jlpm scripts call node tools; the venv's bin must be on PATH even when it is not activated.
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.skipif(_jlpm() is None or shutil.which("node") is None, reason="needs node and jlpm")
def test_frontend_unit_tests_pass() -> None:
    if not (LABEXT / "node_modules" / ".bin" / "jest").exists():
        subprocess.run([_jlpm(), "install"], cwd=LABEXT, env=_env(), check=True, capture_output=True, timeout=600)
    proc = subprocess.run(
        [_jlpm(), "test", "--ci"], cwd=LABEXT, env=_env(), capture_output=True, text=True, timeout=300
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    m = re.search(r"Tests:\s+(\d+) passed, (\d+) total", out)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) > 0, out[-2000:]


def test_labextension_is_installed_and_enabled() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, timeout=120,
        env=_env(),
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    line = next((ln for ln in text.splitlines() if ln.strip().startswith("jupyter-kf ")), None)
    assert line is not None, text
    assert "enabled" in line and "OK" in line, line


def test_built_extension_declares_its_settings_schema() -> None:
    built = ROOT / "jupyter_kf" / "labextension" / "package.json"
    if not built.exists():
        pytest.skip("front-end not built in this checkout (installed from a wheel?)")
    meta = json.loads(built.read_text())
    assert meta["name"] == "jupyter-kf"
    assert meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    schema = ROOT / "jupyter_kf" / "labextension" / "schemas" / "jupyter-kf" / "plugin.json"
    props = json.loads(schema.read_text())["properties"]
    assert {"defaultBackend", "cacheDefault", "autoCompileDelay", "pollInterval"} <= set(props)

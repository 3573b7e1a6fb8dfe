"""The Binder environment as repo2docker would build it: extension enabled, demo configured under the
environment's prefix only, the %kf_ magics loaded in every kernel."""

from __future__ import annotations

import ast
import http.client
import json
import re
import urllib.parse
from pathlib import Path

import pytest
from ui.lab_server import LabServer

from .conftest import DEMO
from .env import REPO, BinderEnv

ANSI = re.compile(r"\x1b\[[0-9;]*m")
README_MAGICS = {"kf_run", "kf_compile", "kf_runs", "kf_status", "kf_snapshot"}


@pytest.fixture
def isolated(binder_env: BinderEnv, tmp_path: Path) -> dict[str, str]:
    """The venv's environment with empty user-level Jupyter and IPython dirs, as on a fresh Binder:
    what the tests see can only come from what binder/ installed into the venv."""
    return binder_env.env(
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
    )


def test_build_record(binder_env: BinderEnv) -> None:
    print(f"Binder env build timings (s): {binder_env.record['timings_s']}")
    assert binder_env.record["timings_s"]["total"] > 0


def test_labextension_enabled(binder_env: BinderEnv, isolated: dict[str, str]) -> None:
    proc = binder_env.run(["jupyter", "labextension", "list"], env=isolated)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out
    # The extension is listed under the venv's own share/ (prebuilt, from the wheel), enabled and OK.
    section = out.split(str(binder_env.venv / "share/jupyter/labextensions"), 1)
    assert len(section) == 2, f"no labextensions folder of the venv listed:\n{out}"
    assert re.search(r"^\s*jupyter-kf v[\w.]+ enabled\s+OK\b", section[1], re.MULTILINE), out
    assert "jupyter-kf" not in section[0], out  # not found anywhere else first


def test_server_extension_enabled(binder_env: BinderEnv, isolated: dict[str, str]) -> None:
    proc = binder_env.run(["jupyter", "server", "extension", "list"], env=isolated)
    out = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out
    assert re.search(
        rf"Config dir: {re.escape(str(binder_env.venv))}/etc/jupyter\n(.*\n)*?\s+jupyter_kf enabled", out
    ), out
    assert re.search(r"^\s*jupyter_kf [\w.]+ OK\b", out, re.MULTILINE), out
    assert not re.search(r"jupyter_kf.*(disabled|\bX\b|[Ee]rror)", out), out


def test_demo_config_only_under_the_venv_prefix(binder_env: BinderEnv, isolated: dict[str, str]) -> None:
    server_cfg = json.loads((binder_env.venv / "etc/jupyter/jupyter_server_config.json").read_text())
    kernel_cfg = binder_env.venv / "etc/ipython/ipython_kernel_config.json"
    # `jupyter lab` replaces ServerApp.default_url with LabApp's: both must point to the demo.
    assert server_cfg["ServerApp"]["default_url"] == f"/lab/tree/{DEMO}"
    assert server_cfg["LabApp"]["default_url"] == f"/lab/tree/{DEMO}"
    assert (REPO / DEMO).is_file()
    assert "jupyter_kf" in json.loads(kernel_cfg.read_text())["InteractiveShellApp"]["extensions"]
    # The venv's etc/jupyter is on Jupyter's config path of that environment.
    proc = binder_env.run(["jupyter", "--paths", "--json"], env=isolated)
    assert proc.returncode == 0, proc.stderr
    assert str(binder_env.venv / "etc/jupyter") in json.loads(proc.stdout)["config"]
    # Nothing written to ~/.jupyter or ~/.ipython while building (IPython's history file aside).
    assert binder_env.record["home_changes"] == []


def test_base_url_redirects_to_the_demo(binder_lab: LabServer) -> None:
    """What a Binder launch opens: `/` of a JupyterLab started from the venv redirects to the demo."""
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(binder_lab.url).netloc, timeout=10)
    conn.request("GET", "/", headers={"Authorization": f"token {binder_lab.token}"})
    resp = conn.getresponse()
    assert resp.status in (301, 302), resp.status
    assert urllib.parse.urlsplit(resp.getheader("Location")).path == f"/lab/tree/{DEMO}"
    conn.close()


KERNEL_CHECK = """
import json
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
try:
    reply = kc.execute_interactive(
        "",
        user_expressions={
            "magics": "sorted(m for m in get_ipython().magics_manager.magics['line'] if m.startswith('kf_'))",
            "python": "__import__('sys').executable",
        },
        timeout=60,
    )
    print(json.dumps({k: v["data"]["text/plain"] for k, v in reply["content"]["user_expressions"].items()}))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"""


def test_kernel_has_the_magics_by_default(binder_env: BinderEnv, isolated: dict[str, str]) -> None:
    proc = binder_env.run(["python", "-c", KERNEL_CHECK], env=isolated, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ast.literal_eval(found["python"]) == binder_env.python  # the venv's own kernel
    assert README_MAGICS <= set(ast.literal_eval(found["magics"])), found

"""Stopping the server cancels the runs it started, instead of waiting for them to end."""

from __future__ import annotations

from .kf_server_proc import start_server, write_notebook


def test_sigterm_cancels_running_runs_and_exits_promptly(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "slow.ipynb", [("import time", ["imports"]), ("time.sleep(120)\nx = 1", ["step:sleepy"])])
    server = start_server(tmp_path, root)
    try:
        status, run = server.api("runs", {"notebook": "slow.ipynb"})
        assert status == 202, run
        server.wait_run(run["id"], until=lambda r: r["steps"][0]["status"] == "running", timeout=60)
    finally:
        took = server.stop(timeout=60)
    assert took < 30, f"the server took {took:.0f}s to stop:\n{server.log()[-2000:]}"
    assert server.proc.returncode == 0

    # a new server on the same root sees the run as cancelled, not running forever
    (tmp_path / "again").mkdir()
    server = start_server(tmp_path / "again", root)
    try:
        status, after = server.api(f"runs/{run['id']}")
        assert status == 200 and after["status"] == "cancelled", after
        assert after["steps"][0]["status"] == "cancelled"
    finally:
        server.stop()

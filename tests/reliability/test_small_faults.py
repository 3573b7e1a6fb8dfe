"""Item 6: a dying kernel names its cell; `--retry` of a running run is refused; Infinity/NaN and
loosely typed fields are refused; stale IPC folders go. (Unconfigured cluster backends are 422 on
main already: tests/server/test_backend_refusal.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from jupyter_kf.models import RunRequest, RunStatus

KF = str(Path(sys.executable).with_name("jupyter-kf"))


def test_a_dying_kernel_names_the_running_cell(service, nb_dir, make_notebook):
    make_notebook(
        [("x = 1", ["step:a"]), ("y = x + 1", ["step:b"]), "import os\nos._exit(3)", "print('never')"],
        name="p.ipynb", folder=nb_dir,
    )
    run = service.run(RunRequest(notebook="p.ipynb", cache=False))
    b = run.step("b")
    assert run.status == RunStatus.failed
    assert b.failed_cell == 2 and "at cell 3" in b.error and "kernel died" in b.error, b.error
    nb = nbformat.read(service.step_notebook(run.id, "b"), 4)
    status = {}
    for c in nb.cells:
        source = c.metadata.get("jupyter_kf", {}).get("source_cell")
        if source is not None:
            status[source] = c.metadata.get("papermill", {}).get("status")
    assert status[2] == "failed" and status[3] == "pending", status
    assert "at cell 3" in service.step_log(run.id, "b")


def test_cli_retry_of_a_running_run_is_refused(service, nb_dir, settings, make_notebook):
    make_notebook([("import time\ntime.sleep(60)", ["step:slow"])], name="p.ipynb", folder=nb_dir)
    run = service.submit(RunRequest(notebook="p.ipynb", cache=False))
    try:
        deadline = time.monotonic() + 60
        while service.get_run(run.id).status != RunStatus.running:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        env = {**os.environ, "JUPYTER_KF_REGISTRY": settings.registry_path().as_posix()}
        proc = subprocess.run([KF, "run", "--retry", run.id], cwd=nb_dir, env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 1, proc.stderr
        assert "still running" in proc.stderr and "Traceback" not in proc.stderr
        assert [r.id for r in service.list_runs()] == [run.id]  # no second run
    finally:
        service.cancel(run.id)
        service.wait(run.id, 30)


def test_stale_ipc_folders_are_removed_live_ones_kept(tmp_path):
    from jupyter_kf.kernels.forkserver import clean_stale_ipc_dirs

    sleeper = subprocess.Popen(["sleep", "30"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        (tmp_path / f"kf-ipc-{dead.pid}-abc").mkdir()
        (tmp_path / f"kf-ipc-{dead.pid}-abc" / "k-shell").write_text("")
        (tmp_path / f"kf-ipc-{sleeper.pid}-def").mkdir()
        old_dead, old_live = tmp_path / "kf-ipc-legacy1", tmp_path / "kf-ipc-legacy2"
        old_dead.mkdir()
        old_live.mkdir()
        gone = socket.socket(socket.AF_UNIX)
        gone.bind(str(old_dead / "s"))
        gone.close()  # its file stays; nothing listens
        live = socket.socket(socket.AF_UNIX)
        live.bind(str(old_live / "s"))
        live.listen()
        for d in (old_dead, old_live):
            os.utime(d, (time.time() - 3600, time.time() - 3600))
        (tmp_path / "other").mkdir()
        removed = clean_stale_ipc_dirs(str(tmp_path))
        assert sorted(Path(p).name for p in removed) == sorted([f"kf-ipc-{dead.pid}-abc", "kf-ipc-legacy1"])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [f"kf-ipc-{sleeper.pid}-def", "kf-ipc-legacy2", "other"])
        live.close()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_new_runner_cleans_stale_ipc_folders_at_start(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"kf-ipc-{dead.pid}-zzz"
    stale.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    code = "from jupyter_kf.kernels.forkserver import ipc_dir; print(ipc_dir())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not stale.exists()
    assert Path(out.stdout.strip()).name.startswith("kf-ipc-")


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("runs", '{"notebook": "p.ipynb", "parameters": {"rate": Infinity}}', None),
        ("runs", '{"notebook": "p.ipynb", "parameters": {"rate": NaN}}', None),
        ("runs", '{"notebook": "p.ipynb", "parameters": {"rate": -Infinity}}', None),
        ("runs", '{"notebook": "p.ipynb", "cache": "yes"}', "cache"),
        ("runs", '{"notebook": "p.ipynb", "timeout": "10"}', "timeout"),
        ("runs", '{"notebook": "p.ipynb", "max_parallel": "2"}', "max_parallel"),
        ("runs", '{"notebook": "p.ipynb", "cache": 1}', "cache"),
        ("runs/20260101-000000-abcd/retry", '{"cache": "no"}', "cache"),
        ("runs/20260101-000000-abcd/retry", '{"timeout": "5"}', "timeout"),
    ],
)
async def test_non_finite_and_loosely_typed_fields_are_400(api, root, make_notebook, path, raw, field):
    cells = [("rate = 0.5", ["pipeline-parameters"]), ("r = rate", ["step:a"])]
    make_notebook(cells, name="p.ipynb", folder=root)
    status, body = await api("POST", path, raw=raw)
    assert status == 400, body
    assert body["field"] == field, body
    status, runs = await api("GET", "runs")
    assert runs["runs"] == []


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999", "[1.0, NaN]"])
async def test_non_finite_parameter_values_are_422(api, root, make_notebook, value):
    make_notebook([("rate = 0.5\nrates = [0.1]", ["pipeline-parameters"]), ("r = rate, rates", ["step:a"])],
                  name="p.ipynb", folder=root)
    name = "rates" if value.startswith("[") else "rate"
    status, body = await api("POST", "runs", {"notebook": "p.ipynb", "parameters": {name: value}})
    assert status == 422, body
    assert body["field"] == "parameters" and "finite" in body["message"], body

"""Item 3: a full disk (a small tmpfs mounted as root) ends a run with a clear message instead of a
hang, the CLI stays responsive to SIGINT, readers keep working, the next start marks the run
interrupted, and a value that cannot be written for lack of space says "disk full"."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from kf_testing import build_notebook

KF = str(Path(sys.executable).with_name("jupyter-kf"))
FILL = """
chunk = b'x' * 256_000
with open('big.bin', 'wb') as f:
    try:
        while True:
            f.write(chunk)
            f.flush()
    except OSError as exc:
        print('disk is full now:', exc)
y = x + 1
"""
THREE_STEPS = [("x = 1", ["step:first"]), (FILL, ["step:fill"]), ("z = y + 1", ["step:after"])]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs; skipped (with the reason) where this process may not mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {proc.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def cli(args: list[str], cwd: Path, tmp_path: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(tmp_path / "kf-stores.json")}
    env.pop("JUPYTER_KF_STORE", None)
    return subprocess.run([KF, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kw)


def free_space(disk: Path) -> None:
    for big in disk.rglob("big.bin"):
        big.unlink()


def runs_json(disk: Path, tmp_path: Path) -> list[dict]:
    out = cli(["runs", "--json"], disk, tmp_path)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    return json.loads(out.stdout)["runs"] if out.stdout.strip().startswith("{") else json.loads(out.stdout)


def test_a_value_that_cannot_be_written_for_lack_of_space_says_disk_full(small_disk):
    from jupyter_kf_converter.runtime import DiskFullError, UnpicklableValueError, save_value

    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"x" * 65536)
        except OSError:
            pass
    with pytest.raises(DiskFullError, match="disk full") as info:
        save_value(small_disk / "kf-values", "make", "table", list(range(200_000)), ["train"])
    assert not isinstance(info.value, UnpicklableValueError)
    assert "'table'" in str(info.value) and "'make'" in str(info.value)


def test_a_full_disk_ends_the_run_with_a_clear_message(small_disk, tmp_path):
    nbformat.write(build_notebook(THREE_STEPS), small_disk / "p.ipynb")
    t0 = time.monotonic()
    run = cli(["run", "p.ipynb"], small_disk, tmp_path)
    assert time.monotonic() - t0 < 100  # no hang
    assert run.returncode == 1, run.stderr
    assert "disk full" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    # Readers work while the disk is still full.
    listed = cli(["runs"], small_disk, tmp_path)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    # Space is back: the next start records how the run ended.
    free_space(small_disk)
    runs = runs_json(small_disk, tmp_path)
    assert len(runs) == 1 and runs[0]["status"] in ("failed", "interrupted"), runs
    if runs[0]["status"] == "failed":
        assert "disk full" in runs[0]["error"]


def test_the_cli_exits_on_sigint_while_the_disk_is_full(small_disk, tmp_path):
    cells = [("x = 1", ["step:first"]), (FILL + "\nimport time\ntime.sleep(120)", ["step:fill"])]
    nbformat.write(build_notebook(cells), small_disk / "p.ipynb")
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(tmp_path / "kf-stores.json")}
    proc = subprocess.Popen([KF, "run", "p.ipynb"], cwd=small_disk, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while shutil.disk_usage(small_disk).free > 64 * 1024:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (1, 130), err
    assert "Traceback" not in err, err
    free_space(small_disk)
    runs = runs_json(small_disk, tmp_path)
    assert runs and runs[0]["status"] in ("cancelled", "interrupted", "failed"), runs


def test_a_long_lived_process_records_the_end_once_space_is_back(small_disk, settings):
    """In a server the run's thread outlives nothing: the end is recorded when space is back."""
    from jupyter_kf.models import RunRequest
    from jupyter_kf.service import PipelineService

    nbformat.write(build_notebook(THREE_STEPS), small_disk / "p.ipynb")
    svc = PipelineService(small_disk, settings)
    try:
        run = svc.submit(RunRequest(notebook="p.ipynb"))
        handle = svc.handle(run.id)
        handle.wait(90)
        assert handle.done
        free_space(small_disk)
        deadline = time.monotonic() + 30
        while not (now := svc.get_run(run.id)).status.finished:
            assert time.monotonic() < deadline, now
            time.sleep(0.2)
        assert now.status.value == "failed" and "disk full" in now.error.lower(), now.error
    finally:
        svc.close()

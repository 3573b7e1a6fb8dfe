"""Item 2: descriptors, threads and kernels come back to their baseline after many failing
attempts and after a burst of concurrent runs; kernel processes are watched without select()'s
1,024-descriptor limit; `retries:` is capped and paced; runs beyond the limit queue."""

from __future__ import annotations

import gc
import os
import resource
import subprocess
import threading
import time

import psutil
import pytest

from jupyter_kf.kernels.manager import ForkedProcess
from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import PipelineService

from .conftest import finished


def usage() -> dict[str, int]:
    gc.collect()  # zmq contexts in reference cycles hold a few descriptors until collected
    me = psutil.Process()
    return {
        "fds": me.num_fds(),
        # Bounded pools that grow on first use are not leaks: the server's worker threads
        # (KfConfig.workers) and the event loop's default executor (asyncio.to_thread here).
        "threads": sum(not t.name.startswith(("jupyter-kf", "asyncio_")) for t in threading.enumerate()),
        "processes": len(me.children(recursive=True)),  # the fork server and every kernel
    }


def settle(baseline: dict[str, int], slack: dict[str, int], timeout: float = 30) -> dict[str, int]:
    """Usage once it is back within ``slack`` of ``baseline`` (kernels are reaped in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        now = usage()
        if all(now[k] <= baseline[k] + slack.get(k, 0) for k in now) or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


class Peak:
    """Samples usage in a thread; ``.max`` holds the highest values seen."""

    def __init__(self) -> None:
        self.max = usage()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            for k, v in usage().items():
                self.max[k] = max(self.max[k], v)

    def __enter__(self) -> Peak:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def test_a_pidfd_numbered_past_1024_is_watched(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip(f"the descriptor limit ({hard}) is below 1,100")
    if soft != resource.RLIM_INFINITY and soft < 1100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1100, hard))
    held = []
    try:
        fd = os.open(os.devnull, os.O_RDONLY)
        held.append(fd)
        while held[-1] < 1030:
            held.append(os.dup(fd))
        child = subprocess.Popen(["sleep", "30"])
        proc = ForkedProcess(child.pid)
        if proc._fd is None:
            pytest.skip("no pidfd_open on this system")
        assert proc._fd >= 1024
        assert proc.poll() is None  # select.select() raised ValueError here
        proc.kill()
        child.wait(10)
        assert proc.wait(10) is not None
        assert proc._fd is None  # released once the process is gone
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_retries_above_the_maximum_are_capped_with_a_warning():
    from jupyter_kf_converter import compile_notebook
    from jupyter_kf_converter.tags import MAX_RETRIES
    from kf_testing import build_notebook

    p = compile_notebook(build_notebook([("x = 1", ["step:a", "retries:200"])]))
    assert p.step("a").retries == MAX_RETRIES
    warn = [pr for pr in p.problems if pr.code == "too-many-retries"]
    assert warn and warn[0].severity == "warning" and "retries:200" in warn[0].message


# Each attempt costs a kernel (~0.3 s of a core): the 300 take about 2.5 minutes on 2 busy
# cores; KF_FAULT_ATTEMPTS (a multiple of 10) lowers it while iterating.
ATTEMPTS = int(os.environ.get("KF_FAULT_ATTEMPTS", "300"))


def test_failing_attempts_leave_no_kernel_thread_or_descriptor(nb_dir, settings, make_notebook):
    """Steps that fail at once, each tried 1 + 9 times (ATTEMPTS in all), 4 at a time."""
    svc = PipelineService(nb_dir, settings.with_overrides(retry_backoff=0.0))
    try:
        make_notebook([("x = 1", ["step:ok"])], name="warm.ipynb", folder=nb_dir)
        assert svc.run(RunRequest(notebook="warm.ipynb")).status == RunStatus.succeeded
        baseline = settle(usage(), {})  # fork server started, kernels of the warm-up reaped
        steps = ATTEMPTS // 10
        cells = [("raise ValueError('attempt failed')", [f"step:s{i}", "retries:9"]) for i in range(steps)]
        make_notebook(cells, name="failing.ipynb", folder=nb_dir)
        with Peak() as peak:
            run = svc.run(RunRequest(notebook="failing.ipynb", cache=False, max_parallel=4))
        assert run.status == RunStatus.failed
        assert [s.attempt for s in run.steps] == [10] * steps
        assert all(s.status == StepStatus.failed for s in run.steps)
        # A queue, not a pile: 4 in use, a few pre-started, a few being reaped.
        assert peak.max["processes"] - baseline["processes"] <= 4 + 6 + 6, peak.max
        after = settle(baseline, {"fds": 2, "threads": 0, "processes": 0})
        assert after["processes"] == baseline["processes"], (baseline, after)
        assert after["threads"] <= baseline["threads"], (baseline, after)
        assert after["fds"] <= baseline["fds"] + 2, (baseline, after)
    finally:
        svc.close()


def test_retries_pause_and_a_cancel_ends_the_pause(nb_dir, settings, make_notebook):
    svc = PipelineService(nb_dir, settings.with_overrides(retry_backoff=30.0))
    try:
        make_notebook([("raise ValueError('no')", ["step:a", "retries:3"])], name="p.ipynb", folder=nb_dir)
        run = svc.submit(RunRequest(notebook="p.ipynb", cache=False))
        deadline = time.monotonic() + 60
        while "ValueError" not in svc.step_log(run.id, "a"):  # attempt 1 failed
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.0)
        assert svc.get_run(run.id).step("a").attempt == 1  # waiting 30 s before attempt 2
        t0 = time.monotonic()
        svc.cancel(run.id)
        done = svc.wait(run.id, timeout=20)
        assert done.status == RunStatus.cancelled, done
        assert time.monotonic() - t0 < 15
    finally:
        svc.close()


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KfConfig": {"poll_interval": 0.1, "max_runs": 3},
    }


async def test_30_concurrent_runs_queue_and_release_everything(api, root, make_notebook):
    import asyncio

    make_notebook([("x = 1", ["step:one"])], name="pipe.ipynb", folder=root)
    status, run = await api("POST", "runs", {"notebook": "pipe.ipynb"})  # warm-up: fork server, imports
    assert status == 202
    while not finished((await api("GET", f"runs/{run['id']}"))[1]):
        await asyncio.sleep(0.1)
    baseline = await asyncio.to_thread(settle, usage(), {})

    body = {"notebook": "pipe.ipynb", "cache": False}
    answers = await asyncio.gather(*(api("POST", "runs", body) for _ in range(30)))
    assert [s for s, _ in answers] == [202] * 30, answers
    ids = {r["id"] for _, r in answers}
    most_running = 0
    with Peak() as peak:
        deadline = time.monotonic() + 240
        while True:
            runs = [r for r in (await api("GET", "runs", params={"limit": 100}))[1]["runs"] if r["id"] in ids]
            most_running = max(most_running, sum(r["status"] == "running" for r in runs))
            if len(runs) == 30 and all(finished(r) for r in runs):
                break
            assert time.monotonic() < deadline, [r["status"] for r in runs]
            await asyncio.sleep(0.1)
    assert {r["status"] for r in runs} == {"succeeded"}, [(r["status"], r["error"]) for r in runs]
    assert most_running <= 3  # the others waited, queued
    assert peak.max["processes"] - baseline["processes"] <= 3 * 12, peak.max
    after = await asyncio.to_thread(settle, baseline, {"fds": 4})
    assert after["processes"] == baseline["processes"], (baseline, after)
    assert after["threads"] <= baseline["threads"], (baseline, after)
    assert after["fds"] <= baseline["fds"] + 4, (baseline, after)

"""GPUs on the local backend, with a simulated list of GPUs (``JUPYTER_KF_GPUS``) and real kernels:
a step tagged ``limit:nvidia.com/gpu:N`` sees N GPUs of its own, waits while none are free, and a
step without the limit sees none."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from jupyter_kf.executor.gpus import GpuSlots, GpuUnavailableError, detect, slots_for
from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import PipelineService

from .conftest import KF, cli_env

RECORD = (
    "t0 = time.time()\n"
    "time.sleep({sleep})\n"
    "with open('seen-{name}.json', 'w') as f:\n"
    "    json.dump({{'gpus': os.environ.get('CUDA_VISIBLE_DEVICES'), 'start': t0, 'end': time.time()}}, f)\n"
)


def gpu_step(name: str, n: int = 1, sleep: float = 1.0) -> tuple[str, list[str]]:
    return RECORD.format(name=name, sleep=sleep), [f"step:{name}", f"limit:nvidia.com/gpu:{n}"]


def plain_step(name: str) -> tuple[str, list[str]]:
    return RECORD.format(name=name, sleep=0), [f"step:{name}"]


IMPORTS = ("import json, os, time", ["imports"])


def seen(service: PipelineService, run_id: str, step: str) -> dict:
    return json.loads((service.store_of(run_id).work_dir(run_id) / f"seen-{step}.json").read_text())


def test_three_one_gpu_steps_share_two_gpus_and_a_plain_step_sees_none(
    nb_dir: Path, settings, make_notebook
) -> None:
    make_notebook([IMPORTS, gpu_step("g1"), gpu_step("g2"), gpu_step("g3"), plain_step("cpu")], "g.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings.with_overrides(gpus="0,1", max_parallel=8))
    try:
        run = service.run(RunRequest(notebook="g.ipynb"))
        assert run.status == RunStatus.succeeded, run.error
        records = {s: seen(service, run.id, s) for s in ("g1", "g2", "g3")}
        assert seen(service, run.id, "cpu")["gpus"] == ""  # hidden from CUDA, torch, TensorFlow
        assert all(r["gpus"] in ("0", "1") for r in records.values()), records
        for a in records:  # steps running at the same time never share a GPU
            for b in records:
                overlap = records[a]["start"] < records[b]["end"] and records[b]["start"] < records[a]["end"]
                if a < b and overlap:
                    assert records[a]["gpus"] != records[b]["gpus"], records
        # two GPUs, three steps: one of them waited until another had finished
        starts = sorted(r["start"] for r in records.values())
        assert starts[2] >= min(r["end"] for r in records.values()) - 0.05, records
        log = service.step_log(run.id, "g1")
        assert "GPU(s) " in log and "CUDA_VISIBLE_DEVICES" in log
    finally:
        service.close()


def test_a_step_waits_while_another_process_holds_the_gpu(nb_dir: Path, settings, make_notebook) -> None:
    make_notebook([IMPORTS, gpu_step("train", sleep=0)], "w.ipynb", nb_dir)
    # another process's run: the same lock files, through a second GpuSlots over the same GPU
    other = GpuSlots(["7"], lock_dir=slots_for(["7"]).lock_dir)
    assert other.acquire(1) == ["7"]
    service = PipelineService(nb_dir, settings.with_overrides(gpus="7"))
    try:
        run = service.submit(RunRequest(notebook="w.ipynb"))
        time.sleep(1.5)
        assert service.get_run(run.id).steps[0].status == StepStatus.pending
        released_at = time.time()
        other.release(["7"])
        final = service.wait(run.id, timeout=120)
        assert final.status == RunStatus.succeeded, final.error
        record = seen(service, run.id, "train")
        assert record["gpus"] == "7" and record["start"] >= released_at
    finally:
        other.release(["7"])
        service.close()


def test_no_gpu_is_refused_before_anything_runs_unless_cpu_is_allowed(
    nb_dir: Path, settings, make_notebook
) -> None:
    make_notebook([IMPORTS, plain_step("prep"), gpu_step("train", n=2, sleep=0)], "r.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings.with_overrides(gpus="none"))
    try:
        with pytest.raises(GpuUnavailableError) as err:
            service.submit(RunRequest(notebook="r.ipynb"))
        message = str(err.value)
        assert "step 'train' (cell 3) asks for 2 GPU(s)" in message and "has none" in message
        assert "JUPYTER_KF_GPU_FALLBACK=cpu" in message and message.endswith("nothing ran")
        assert service.list_runs("r.ipynb") == []
    finally:
        service.close()

    service = PipelineService(nb_dir, settings.with_overrides(gpus="0"))
    try:
        with pytest.raises(GpuUnavailableError, match=r"asks for 2 GPU\(s\).*this machine has 1 \(JUPYTER_KF_GPUS=0\)"):
            service.submit(RunRequest(notebook="r.ipynb"))
    finally:
        service.close()

    service = PipelineService(nb_dir, settings.with_overrides(gpus="none", gpu_fallback="cpu"))
    try:
        run = service.run(RunRequest(notebook="r.ipynb"))
        assert run.status == RunStatus.succeeded, run.error
        assert seen(service, run.id, "train")["gpus"] == ""
    finally:
        service.close()


def test_cli_refuses_a_gpu_step_without_gpus_with_exit_2(tmp_path: Path, nb_dir: Path, make_notebook) -> None:
    make_notebook([IMPORTS, gpu_step("train", sleep=0)], "c.ipynb", nb_dir)
    env = {**cli_env(tmp_path), "JUPYTER_KF_GPUS": "none"}
    proc = subprocess.run([KF, "run", "c.ipynb"], cwd=nb_dir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "step 'train' (cell 2) asks for 1 GPU(s)" in proc.stderr
    assert not (nb_dir / "kf-runs").exists() or not any((nb_dir / "kf-runs").glob("*/work"))


def test_gpu_slots_are_exclusive_across_holders_and_freed_on_release(tmp_path: Path) -> None:
    a, b = GpuSlots(["0", "1"], tmp_path), GpuSlots(["0", "1"], tmp_path)  # as two processes would
    assert a.acquire(2) == ["0", "1"]
    assert b.acquire(1) is None
    a.release(["1"])
    assert b.acquire(1) == ["1"] and b.acquire(1) is None
    assert a.acquire(3) is None and a.acquire(0) == []
    got: list = []
    t = threading.Thread(target=lambda: got.append(b.acquire(1)))
    a.release(["0"])
    t.start()
    t.join()
    assert got == [["0"]]


def test_detect_reads_the_setting_then_cuda_visible_devices() -> None:
    assert detect("0, 2") == (["0", "2"], "JUPYTER_KF_GPUS=0, 2")
    assert detect("none")[0] == []
    ids, source = detect(None, {"CUDA_VISIBLE_DEVICES": ""})
    assert ids == [] and source == "CUDA_VISIBLE_DEVICES="

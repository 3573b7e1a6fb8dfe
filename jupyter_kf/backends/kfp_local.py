"""``kfp-local``: the pipeline compiled for KFP, run by KFP's own local runner (``kfp.local``).

A check, on a laptop, of what KFP will run: the same compiled spec (KFP's compiler, the same step
component), executed by ``kfp.local``'s SubprocessRunner in a child process, on a snapshot of the
notebook's folder (as the local backend does). The spec is compiled without a run volume
(``kfp.local`` runs only lightweight Python components, not KFP's CreatePVC); the steps share the
run's work folder instead. Step states are read back when ``kfp.local`` ends: a step that saved
its values succeeded, the one with an executed notebook but no values failed, the rest were
skipped. Cancel kills the child process.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models import BackendInfo, Run, RunRequest, RunStatus, StepStatus
from .base import Backend, OnUpdate

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

log = logging.getLogger(__name__)
RUNNER = "jupyter_kf.backends.kfp_local_runner"
CANCEL_POLL = 0.25  # s between checks of the store's cancel flag


class KfpLocalRun:
    def __init__(
        self, backend: KfpLocalBackend, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None
    ) -> None:
        self.backend, self.store, self.pipeline = backend, backend.store, pipeline
        self.run_id, self.request, self.on_update = run.id, request, on_update
        self._proc: subprocess.Popen | None = None
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"kfp-local-{run.id}", daemon=True)

    def start(self) -> KfpLocalRun:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Run:
        self._done.wait(timeout)
        return self.store.get_run(self.run_id)

    def cancel(self) -> None:
        self._cancelled.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)

    def _notify(self) -> None:
        if self.on_update is not None:
            try:
                self.on_update(self.store.get_run(self.run_id))
            except Exception:
                log.exception("on_update callback failed")

    def _main(self) -> None:
        try:
            self._execute()
        except BaseException as exc:  # a run never stays "running" for a dead thread
            log.exception("kfp-local run %s failed", self.run_id)
            self.store.update_run(self.run_id, status=RunStatus.failed, error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            self._notify()
            self._done.set()

    def _execute(self) -> None:
        from jupyter_kf_converter.targets import compile_target

        store, run_id = self.store, self.run_id
        notebook = Path(self.request.notebook)
        work = store.work_dir(run_id)
        snap = self.request.snapshot or store.snapshots.create(notebook.parent, notebook=notebook.name).id
        store.snapshots.materialize(snap, work)
        store.update_run(run_id, snapshot=snap, status=RunStatus.running)
        run_dir = store.run_path(run_id)
        spec = run_dir / "kfp-pipeline.yaml"
        # the image is not used by kfp.local; the spec is the one KFP would get, minus its volume
        spec.write_text(compile_target(self.pipeline, "kfp", volume=False, workdir=str(work), image="python:3"))
        for step in self.pipeline.steps:
            store.update_step(run_id, step.name, status=StepStatus.running)
        self._notify()
        known = {p.name for p in self.pipeline.parameters}
        params = {k: v for k, v in store.get_run(run_id).parameters.items() if k in known}
        log_path = run_dir / "kfp-local.log"
        if self._cancelled.is_set():
            return self._finish(None, log_path, work)
        from ..executor.secrets import step_environments

        # kfp.local starts every task from this process: each secret a step names is in all of them
        env = dict(os.environ)
        for values in step_environments(self.pipeline, notebook.parent).values():
            env.update(values)
        with open(log_path, "w") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", RUNNER, str(spec), str(run_dir / "kfp-root"), json.dumps(params)],
                stdout=out, stderr=subprocess.STDOUT, cwd=work, start_new_session=True, env=env,
            )  # fmt: skip
            while True:
                try:
                    rc = self._proc.wait(timeout=CANCEL_POLL)
                    break
                except subprocess.TimeoutExpired:  # a cancel may come from another process
                    if not self._cancelled.is_set() and store.cancel_requested(run_id):
                        self.cancel()
        self._finish(rc, log_path, work)

    def _finish(self, rc: int | None, log_path: Path, work: Path) -> None:
        store, run_id = self.store, self.run_id
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        failed_step = None
        for step in self.pipeline.steps:
            executed = work / "kf-steps" / f"{step.name}.ipynb"
            if executed.exists():
                shutil.copyfile(executed, store.step_notebook_path(run_id, step.name))
            store.step_log_path(run_id, step.name).write_text(_task_log(text, step.name))
            if rc == 0 or (executed.exists() and (work / "kf-values" / step.name).is_dir()):
                store.update_step(run_id, step.name, status=StepStatus.succeeded, metrics=_metrics(work, step.name))
            elif self._cancelled.is_set():
                store.update_step(run_id, step.name, status=StepStatus.cancelled, error="the run was cancelled")
            elif executed.exists() and failed_step is None:
                failed_step = step.name
                store.update_step(run_id, step.name, status=StepStatus.failed, error=_last_error(text, step.name))
            else:
                store.update_step(run_id, step.name, status=StepStatus.skipped, error="an upstream step failed")
        if self._cancelled.is_set():
            store.update_run(run_id, status=RunStatus.cancelled)
        elif rc == 0:
            store.update_run(run_id, status=RunStatus.succeeded)
        else:
            where = f"step {failed_step!r} failed" if failed_step else f"kfp.local exited with {rc}"
            store.update_run(run_id, status=RunStatus.failed, error=f"{where} (see {log_path.name})")


def _metrics(work: Path, step: str) -> dict[str, Any]:
    path = work / "kf-values" / step / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _task_log(text: str, step: str) -> str:
    """The lines kfp.local printed for the task ``step`` (its own output follows its start line)."""
    out, mine = [], False
    for line in text.splitlines():
        if "Executing task" in line:
            mine = f"'{step}'" in line
        if mine:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")


def _last_error(text: str, step: str) -> str:
    lines = [ln for ln in _task_log(text, step).splitlines() if "Error" in ln or "error" in ln]
    return (lines[-1].strip() if lines else "failed")[:300]


class KfpLocalBackend(Backend):
    name = "kfp-local"

    @classmethod
    def check(cls, pipeline: Pipeline, settings: Any) -> None:
        """A secret a step names must be on this machine (as for the local backend)."""
        from ..executor.secrets import step_environments

        step_environments(pipeline)

    def info(self) -> BackendInfo:
        try:
            import kfp.local  # noqa: F401
        except ImportError as exc:
            return BackendInfo(name=self.name, available=False, configured=False,
                               reason=f"needs the kfp SDK (pip install kfp): {exc}")  # fmt: skip
        return BackendInfo(
            name=self.name, available=True, configured=True,
            description="The KFP spec run by kfp.local on this machine (a check before a cluster run).",
        )  # fmt: skip

    def start(
        self, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None = None
    ) -> KfpLocalRun:
        return KfpLocalRun(self, pipeline, run, request, on_update).start()

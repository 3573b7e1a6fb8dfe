"""Execute one step notebook with papermill in a fresh kernel, and explain a failure.

The executed notebook is always written (papermill writes it also when a cell fails); its
stream output goes to the step's log as it is produced, and a failure ends the log with the
failing cell, the exception and its traceback.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kernels.manager import StepKernelManager


@dataclass
class StepOutcome:
    ok: bool
    error: str | None = None  # one line
    failed_cell: int | None = None  # index in the source notebook
    timed_out: bool = False
    killed: bool = False  # the kernel was killed on purpose (timeout, cancel)


class _QuietWhenKilled(logging.Filter):
    """papermill (nbclient) logs "Kernel died while waiting for execute reply." when a step's kernel
    is killed on purpose (cancel, timeout): noise in the CLI's output. The step's own record says
    what happened, so records logged by an attempt whose kernel was killed are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        attempt = getattr(_current, "attempt", None)
        return attempt is None or not attempt.killed


_current = threading.local()  # the StepAttempt running papermill in this thread
_quiet = _QuietWhenKilled()


class StepAttempt:
    """One attempt of one step: papermill with a pre-started kernel manager."""

    def __init__(
        self,
        step: str,
        input_nb: Path,
        output_nb: Path,
        log: Path,
        parameters: dict[str, Any],
        km: StepKernelManager,
        kernel_name: str,
        timeout: float | None,
        kill: Any,
    ) -> None:
        self.step = step
        self.input_nb, self.output_nb, self.log = input_nb, output_nb, log
        self.parameters = parameters
        self.km = km
        self.kernel_name = kernel_name
        self.timeout = timeout
        self._kill = kill
        self.timed_out = False
        self.killed = False
        self._lock = threading.Lock()
        self.running: tuple[int | None, str | None, int] | None = None  # (source cell, role, index)
        self.overlapped = False  # another step ran while this attempt did (set by the executor)

    def _on_cell_start(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        """nbclient hook: remember which cell runs, to name it if the kernel dies in it."""
        meta = (cell or {}).get("metadata", {}).get("jupyter_kf", {}) if cell is not None else {}
        index = cell_index if cell_index is not None else -1
        self.running = (meta.get("source_cell"), meta.get("role"), index)

    def stop(self) -> None:
        """Kill this attempt's kernel (cancel): papermill then fails with a dead kernel."""
        with self._lock:
            self.killed = True
        self._kill(self.km)

    def _on_timeout(self) -> None:
        with self._lock:
            self.timed_out = self.killed = True
        self._kill(self.km)

    def run(self) -> StepOutcome:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        from .engine import NAME as ENGINE

        timer = threading.Timer(self.timeout, self._on_timeout) if self.timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        papermill_log = logging.getLogger("papermill")
        if _quiet not in papermill_log.filters:
            papermill_log.addFilter(_quiet)
        _current.attempt = self
        try:
            with open(self.log, "a", encoding="utf-8", errors="replace") as log:
                try:
                    papermill.execute_notebook(
                        str(self.input_nb),
                        str(self.output_nb),
                        parameters=self.parameters,
                        kernel_name=self.kernel_name,
                        km=self.km,
                        progress_bar=False,
                        log_output=False,
                        stdout_file=log,
                        stderr_file=log,
                        start_timeout=60,
                        on_cell_start=self._on_cell_start,
                        engine_name=ENGINE,
                    )
                    return StepOutcome(ok=True)
                except PapermillExecutionError as exc:
                    if self.killed:
                        return self._killed_outcome(log)
                    cell = failed_source_cell(self.output_nb)
                    error = self._describe(exc.ename, exc.evalue, cell)
                    write_failure(log, error, exc.traceback)
                    return StepOutcome(ok=False, error=error, failed_cell=cell[0])
                except Exception as exc:  # dead kernel, start failure, unreadable notebook
                    if self.killed:
                        return self._killed_outcome(log)
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    if self.running is not None and "died" in msg.lower():
                        # The kernel exited mid-cell (os._exit, a crash, the OOM killer): name the
                        # cell, and mark it failed in the executed notebook (papermill says completed).
                        index, role, nb_index = self.running
                        mark_cell_failed(self.output_nb, nb_index, type(exc).__name__, msg)
                        why = "the kernel died while running it (a crash, os._exit or the OOM killer)"
                        error = self._describe(type(exc).__name__, why, (index, role))
                        write_failure(log, error, [])
                        return StepOutcome(ok=False, error=error, failed_cell=index)
                    error = f"step {self.step!r}: {type(exc).__name__}: {msg}"[:500]
                    write_failure(log, error, [])
                    return StepOutcome(ok=False, error=error)
        finally:
            _current.attempt = None
            if timer:
                timer.cancel()

    def _killed_outcome(self, log: IO[str]) -> StepOutcome:
        if self.timed_out:
            cell = running_source_cell(self.output_nb)
            where = f" in cell {cell + 1}" if cell is not None else ""
            error = f"step {self.step!r} timed out after {self.timeout:g} s{where}; its kernel was killed"
            write_failure(log, error, [])
            return StepOutcome(ok=False, error=error, failed_cell=cell, timed_out=True, killed=True)
        write_failure(log, f"step {self.step!r} was cancelled", [])
        return StepOutcome(ok=False, error=f"step {self.step!r} was cancelled", killed=True)

    def _describe(self, ename: str, evalue: str, cell: tuple[int | None, str | None]) -> str:
        index, role = cell
        evalue = (evalue or "").strip().splitlines()[0] if evalue else ""
        if role == "load":
            where = "while loading its inputs"
        elif role == "save":
            where = "while saving its outputs"
        elif role in ("imports", "functions") and index is not None:
            where = f"in the {role} cell {index + 1}"
        elif index is not None:
            where = f"at cell {index + 1}"  # counted from 1, as in the converter's problems
        else:
            where = "in a generated cell"
        return f"step {self.step!r} failed {where}: {ename}: {evalue}"[:500]


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # colour and cursor codes in IPython tracebacks


def write_failure(log: IO[str], error: str, traceback: list[str]) -> None:
    """Append why the step failed to its log: the one-line error (naming the cell, counted from 1)
    and the traceback without colour codes, so the log alone explains the failure."""
    text = "\n".join(_ANSI.sub("", part) for part in traceback).rstrip()
    log.write(f"\n--- jupyter-kf: {error} ---\n")
    if text:
        log.write(text + "\n")
    log.flush()


def _read(path: Path) -> Any | None:
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:
        return None


def write_input_notebook(pipeline: Any, step: str, path: Path) -> Path:
    """Emit ``step``'s notebook to ``path`` (valid by construction: written without re-validating)."""
    from jupyter_kf_converter.emit import emit_notebook, notebook_json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(notebook_json(emit_notebook(pipeline, step)), encoding="utf-8")
    tmp.replace(path)
    return path


def mark_cell_failed(executed: Path, index: int, ename: str, evalue: str) -> None:
    """Record in the executed notebook that cell ``index`` did not complete (its kernel died)."""
    import nbformat

    nb = _read(executed)
    if nb is None or not (0 <= index < len(nb.cells)):
        return
    cell = nb.cells[index]
    pm = cell.metadata.setdefault("papermill", {})
    pm.update(status="failed", exception=True)
    cell.setdefault("outputs", []).append(
        nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
    )
    for later in nb.cells[index + 1:]:  # never ran (papermill marks them completed all the same)
        if later.cell_type == "code" and later.get("execution_count") is None:
            later.metadata.setdefault("papermill", {})["status"] = "pending"
    try:
        nbformat.write(nb, executed)
    except OSError:
        pass


def failed_source_cell(executed: Path) -> tuple[int | None, str | None]:
    """(source-notebook cell index, role) of the cell that raised, from the executed notebook."""
    nb = _read(executed)
    if nb is None:
        return None, None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        failed = cell.metadata.get("papermill", {}).get("exception") or any(
            o.get("output_type") == "error" for o in cell.get("outputs", [])
        )
        if failed:
            meta = cell.metadata.get("jupyter_kf", {})
            return meta.get("source_cell"), meta.get("role")
    return None, None


def running_source_cell(executed: Path) -> int | None:
    """The source index of the cell that was running when the kernel was killed (if recorded)."""
    nb = _read(executed)
    if nb is None:
        return None
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("papermill", {}).get("status") == "running":
            return cell.metadata.get("jupyter_kf", {}).get("source_cell")
    return None

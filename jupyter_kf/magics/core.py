"""The magics themselves: parse arguments, call PipelineService, display the answer."""

from __future__ import annotations

import ast
import json
import queue
import sys
import time
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import SVG, display

from ..models import Run, RunRequest
from .locate import NotebookNotFound, find_notebook
from .unsaved import executed_since_load, track_executions, unsaved_warning
from .view import (
    ProblemsView,
    RunsView,
    RunView,
    activity_line,
    notebook_paths,
    relpath,
    snapshot_text,
    step_line,
)

POLL_S = 0.5


def parse_param(text: str) -> tuple[str, Any]:
    """`NAME=VALUE`: the value as a Python/JSON literal when it is one, else the string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise UsageError(f"-p {text!r}: expected NAME=VALUE, e.g. -p learning_rate=0.1")
    raw = raw.strip()
    for parse in (ast.literal_eval, json.loads):
        try:
            return name, parse(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return name, raw


def _user_error(exc: BaseException) -> UsageError:
    return UsageError(f"{type(exc).__name__}: {exc}" if not isinstance(exc, NotebookNotFound) else str(exc))


# Errors the user can act on: shown as one message, not a traceback.
_USER_ERRORS: tuple[type[BaseException], ...] = (NotebookNotFound, LookupError, ValueError, OSError)


@magics_class
class KfMagics(Magics):
    """`%kf_*` magics: jupyter-kf pipelines from inside a notebook."""

    def __init__(self, shell=None, **kwargs) -> None:
        super().__init__(shell, **kwargs)
        track_executions(shell)  # for %kf_run's warning about edits made since the last save

    def _notebook(self, explicit: str | None, magic: str) -> Path:
        try:
            return find_notebook(explicit, self.shell.user_ns if self.shell else None, magic=magic)
        except NotebookNotFound as exc:
            raise UsageError(str(exc)) from None

    def _service(self, folder: Path):
        """One PipelineService per notebook folder for the kernel's lifetime (stores stay open)."""
        from ..service import PipelineService

        services = self.__dict__.setdefault("_services", {})
        folder = Path(folder).resolve()
        if folder not in services:
            from ..notify import attach

            services[folder] = PipelineService(folder)
            attach(services[folder])  # webhook / email hooks from JUPYTER_KF_NOTIFY_*, if any
        return services[folder]

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError:
            raise
        except _USER_ERRORS as exc:
            raise _user_error(exc) from None
        except Exception as exc:
            if {c.__name__ for c in type(exc).__mro__} & {"ConverterError", "StoreError", "BackendError"}:
                raise _user_error(exc) from None
            raise

    @property
    def _rich(self) -> bool:
        """Whether a front-end can update a display in place (a kernel; not the terminal)."""
        return getattr(self.shell, "kernel", None) is not None

    # -- %kf_run --------------------------------------------------------------------------------
    @magic_arguments()
    @argument("-b", "--backend", default="local", help="local (default), kfp or argo.")
    @argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
              help="Pipeline parameter override (repeatable); VALUE is a Python literal or a string.")
    @argument("--no-cache", action="store_true",
              help="Run every step, even when a cached result exists (results are still recorded).")
    @argument("--detach", action="store_true", help="Start the run and return at once (see %%kf_status).")
    @argument("--notebook", default=None, help="The notebook to run (default: this one).")
    @line_magic
    def kf_run(self, line: str = ""):
        """Run the SAVED notebook as a pipeline, each step in its own fresh kernel (never this one).

        Save the notebook first: unsaved edits are not part of the run (it warns when cells run in
        this kernel since the last save are not in the saved file). Shows per-step progress
        live, then a summary with the metrics. Interrupting the kernel cancels the run.
        """
        args = parse_argstring(self.kf_run, line)
        nb = self._notebook(args.notebook, "%kf_run")
        params = dict(parse_param(p) for p in args.param)
        warning = unsaved_warning(nb, executed_since_load(self.shell))
        if warning:
            print(warning, file=sys.stderr, flush=True)
        service = self._service(nb.parent)
        no_cache = {"cache": False} if args.no_cache else {}  # else the configured default
        request = self._call(RunRequest, notebook=nb.name, backend=args.backend, parameters=params, **no_cache)
        updates: queue.Queue[Run] = queue.Queue()
        run = self._call(service.submit, request, on_update=updates.put)
        if args.detach:
            print(f"run {run.id} started ({nb.name}, {run.backend}); follow it with %kf_status {run.id}")
            return None
        return self._follow(service, run, updates)

    def _follow(self, service, run: Run, updates: queue.Queue) -> None:
        """Show the run until it ends (cancelling it on interrupt), then the summary."""
        handle = display(RunView(run), display_id=True) if self._rich else None
        if handle is None:
            print(f"run {run.id}: {run.pipeline} on {run.backend}")
        shown: dict[str, str] = {}
        cancelled = False
        last_activity = [0.0]

        def show(r: Run) -> None:
            h = service.handle(r.id)
            activity = getattr(h, "activity", None)  # a first snapshot / inputs being written
            if handle is not None:
                handle.update(RunView(r, activity=activity))
                return
            if activity and time.monotonic() - last_activity[0] >= 5:  # plain text: a line every 5 s
                last_activity[0] = time.monotonic()
                print(activity_line(activity), flush=True)
            for s in r.steps:  # plain text: one line per step state change
                if shown.get(s.name) != s.status.value:
                    shown[s.name] = s.status.value
                    if s.status.value != "pending":
                        print(step_line(s), flush=True)

        show(run)
        last_poll = time.monotonic()
        while not run.status.finished:
            try:
                try:
                    run = updates.get(timeout=POLL_S)
                    while not updates.empty():  # skip to the newest state
                        run = updates.get_nowait()
                except queue.Empty:
                    pass
                if time.monotonic() - last_poll >= POLL_S:  # also catch changes made elsewhere
                    run = service.get_run(run.id)
                    last_poll = time.monotonic()
                show(run)
            except KeyboardInterrupt:
                if cancelled:
                    raise
                cancelled = True
                print(f"interrupted: cancelling run {run.id} ...", flush=True)
                service.cancel(run.id)
        final = self._final_view(service, service.get_run(run.id))
        if handle is not None:
            handle.update(final)
        else:
            print(repr(final))

    @staticmethod
    def _final_view(service, run: Run) -> RunView:
        """The summary: the run, its metrics, its working folder and executed notebooks."""
        outputs = None
        if run.run_dir:
            try:
                outputs = relpath(service.store_of(run.id).resolve(run.run_dir))
            except (LookupError, OSError):  # a store that went away: the summary still shows the rest
                outputs = None
        return RunView(run, final=run.status.finished, step_notebooks=KfMagics._step_notebooks(service, run),
                       outputs=outputs)

    @staticmethod
    def _step_notebooks(service, run: Run) -> dict[str, str]:
        out: dict[str, Path] = {}
        for s in run.steps:
            try:
                path = Path(service.step_notebook(run.id, s.name))
            except (LookupError, OSError):  # a step of a run whose store went away
                continue
            if path.is_file():
                out[s.name] = path
        return notebook_paths(out)

    # -- %kf_compile ----------------------------------------------------------------------------
    @magic_arguments()
    @argument("--notebook", default=None, help="The notebook to compile (default: this one).")
    @line_magic
    def kf_compile(self, line: str = ""):
        """Compile the SAVED notebook: show the pipeline graph and every problem (cell, step)."""
        from jupyter_kf_converter import graph

        args = parse_argstring(self.kf_compile, line)
        nb = self._notebook(args.notebook, "%kf_compile")
        pipeline = self._call(self._service(nb.parent).compile, nb.name)
        if self._rich:
            display(SVG(graph.to_svg(pipeline)))
        else:
            print(graph.to_text(pipeline))
        display(ProblemsView(pipeline.problems))

    # -- %kf_runs / %kf_status ------------------------------------------------------------------
    @magic_arguments()
    @argument("-n", "--limit", type=int, default=20, help="How many runs (newest first).")
    @argument("--notebook", default=None, help="Runs of this notebook (default: this one).")
    @line_magic
    def kf_runs(self, line: str = ""):
        """List this notebook's runs, newest first, with status, time and metrics."""
        args = parse_argstring(self.kf_runs, line)
        nb = self._notebook(args.notebook, "%kf_runs")
        runs = self._call(self._service(nb.parent).list_runs, nb.name, limit=max(1, args.limit))
        display(RunsView(runs))

    @magic_arguments()
    @argument("run", nargs="?", default=None, help="Run id (default: this notebook's latest run).")
    @argument("--notebook", default=None, help="The notebook whose runs to look at (default: this one).")
    @line_magic
    def kf_status(self, line: str = ""):
        """Show one run: per-step status, durations, errors, metrics and executed notebooks."""
        args = parse_argstring(self.kf_status, line)
        try:
            nb = self._notebook(args.notebook, "%kf_status")
        except UsageError:
            if args.run is None:
                raise
            nb = None
        service = self._service(nb.parent if nb else Path.cwd())
        if args.run is None:
            runs = self._call(service.list_runs, nb.name, limit=1)
            if not runs:
                print(f"{nb.name} has no runs yet: start one with %kf_run")
                return
            run = runs[0]
        else:
            run = self._call(service.get_run, args.run)
        display(self._final_view(service, run))

    # -- %kf_snapshot ---------------------------------------------------------------------------
    @magic_arguments()
    @argument("--list", action="store_true", help="List the snapshots instead of taking one.")
    @argument("--notebook", default=None, help="Snapshot this notebook's folder (default: this one).")
    @line_magic
    def kf_snapshot(self, line: str = ""):
        """Snapshot the notebook's folder (content-addressed: cheap when little changed)."""
        args = parse_argstring(self.kf_snapshot, line)
        nb = self._notebook(args.notebook, "%kf_snapshot")
        service = self._service(nb.parent)
        if args.list:
            snaps = self._call(service.list_snapshots, nb.name)
            print("\n".join(snapshot_text(s) for s in snaps) or "no snapshots yet")
            return
        print(snapshot_text(self._call(service.create_snapshot, nb.name)))

"""`jupyter kf run NOTEBOOK`: run a notebook as a pipeline and show live per-step progress.

Exit codes: 0 succeeded, 1 failed (or invalid pipeline), 2 usage error (bad option or
parameter), 130 cancelled by Ctrl-C / SIGTERM (every kernel is shut down first).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "jupyter kf run"

# Optional imports that jsonschema (via nbformat) and papermill try at import time and that this
# command never uses: rfc3987_syntax builds a grammar on import (~1.5 s here), pyarrow.fs ~0.3 s.
# Both are imported inside try/except ImportError by their users, so marking them absent is safe.
_UNUSED_OPTIONAL = ("rfc3987_syntax", "pyarrow.fs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Run a tagged notebook as a pipeline (locally by default)."
    )
    p.add_argument("notebook", metavar="NOTEBOOK", nargs="?", help="the notebook (optional with --retry)")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (typed like its default); repeatable",
    )
    p.add_argument(
        "--max-parallel", type=int, metavar="N", help="steps running at once (default: max(8, 2 x CPUs))"
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="run every step, even if a cached result exists (results are still recorded for later runs)",
    )
    p.add_argument(
        "--retry", metavar="RUN_ID", help="rerun only the failed, cancelled and downstream steps of RUN_ID"
    )
    p.add_argument("--from", dest="from_step", metavar="STEP", help="run STEP and everything downstream of it")
    p.add_argument("--only", dest="only_step", metavar="STEP", help="run STEP alone")
    p.add_argument(
        "--inputs-from",
        metavar="RUN_ID",
        help="with --from/--only: the run whose upstream values are reused (default: the latest successful one that has them)",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="default per-step timeout in seconds")
    p.add_argument("-b", "--backend", default="local", help="local (default), kfp, argo or kfp-local (the KFP spec run by kfp.local here)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: <notebook folder>/kf-runs)")
    p.add_argument("--json", action="store_true", help="print the finished run as JSON on stdout")
    return p


def main(argv: Sequence[str]) -> int:
    for name in _UNUSED_OPTIONAL:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    from . import _format as fmt

    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..kernels import close_fork_servers, warm_up

    if _first_run(args):
        warm_up()  # steps will surely run: the fork server imports ipykernel while we prepare
    try:
        code = _main(args)
    finally:
        close_fork_servers()
    if Path(sys.argv[0]).name == "jupyter-kf":  # the console script, not an in-process caller
        # Everything is recorded, closed and flushed: skip the interpreter's teardown of the
        # ~1,500 modules papermill and pydantic loaded (0.1-0.2 s here).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _wait(handle, tick):
    """Wait for the run's thread: its final record, or None when the store can no longer be read.
    Never spins: each turn waits 0.25 s (signals are handled between turns)."""
    import time

    while True:
        try:
            run = handle.wait(0.25)
        except Exception:  # the store cannot be read (e.g. a full disk): wait for the thread only
            if getattr(handle, "done", False):
                return None
            time.sleep(0.25)
            continue
        done = getattr(handle, "done", None)  # a cluster run's handle may not say
        if done or (done is None and run.status.finished):  # finished, or its thread died unrecorded
            return run
        tick()


def _os_error(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"disk full{where} (no space left on the device)"
    return str(exc)


def _first_run(args: argparse.Namespace) -> bool:
    """Cheaply (before any heavy import): will steps surely run? True without a run store yet or
    with --no-cache. Otherwise the fork server starts only when a step turns out not cached."""
    if args.backend != "local":
        return False
    if args.no_cache:
        return True
    if args.retry or not args.notebook:
        return False
    folder = Path(args.notebook).resolve().parent
    store = Path(args.store or os.environ.get("JUPYTER_KF_STORE") or "kf-runs").expanduser()
    store = store if store.is_absolute() else folder / store
    return not (store / "runs.sqlite").exists()


def _main(args: argparse.Namespace) -> int:
    from . import _format as fmt

    if not args.notebook and not args.retry:
        return fmt.error(PROG, "give a NOTEBOOK (or --retry RUN_ID)", 2)
    if args.max_parallel is not None and args.max_parallel < 1:
        return fmt.error(PROG, "--max-parallel must be at least 1", 2)
    if args.inputs_from and not (args.from_step or args.only_step):
        return fmt.error(PROG, "--inputs-from goes with --from STEP or --only STEP", 2)
    if args.timeout is not None and args.timeout <= 0:
        return fmt.error(PROG, "--timeout must be positive", 2)

    from jupyter_kf_converter.errors import ConverterError

    from ..backends import UnknownBackend
    from ..backends.base import BackendNotReady
    from ..config import Settings
    from ..executor.gpus import GpuUnavailableError
    from ..executor.partial import PartialRunError
    from ..executor.secrets import SecretUnavailableError
    from ..executor.parameters import ParameterError, split_assignments
    from ..models import RunRequest, RunStatus
    from ..service import InvalidPipeline, PipelineService, RunConflictError
    from ..store import StoreError
    from ._bar import Bar
    from .progress import Progress, summary

    try:
        settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
        params = split_assignments(args.parameter)
        request = RunRequest(
            notebook=args.notebook or "",
            backend=args.backend,
            parameters=params,
            # --no-cache: don't read the cache (results are still recorded); else the configured default
            **({"cache": False} if args.no_cache else {}),
            max_parallel=args.max_parallel,
            timeout=args.timeout,
            retry_of=args.retry,
            from_step=args.from_step,
            only_step=args.only_step,
            inputs_from=args.inputs_from,
        )
    except (ValueError, ParameterError) as exc:
        return fmt.error(PROG, exc, 2)

    service = PipelineService(Path.cwd(), settings)
    from ..notify import attach

    notifier = attach(service)  # webhook / email hooks from JUPYTER_KF_NOTIFY_*, if any
    progress = Progress(sys.stderr)
    interrupted: list[int] = []
    run_ids: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        """Ctrl-C / SIGTERM: cancel the run (kernels are shut down), then exit with 130."""
        if not interrupted and not args.json:
            what = f"cancelling run {run_ids[0]}" if run_ids else "stopping before the run starts"
            print(f"\n{PROG}: {signal.Signals(signum).name}: {what} ...", file=sys.stderr)
        interrupted.append(signum)
        handle = service.handle(run_ids[0]) if run_ids else None
        if handle is not None:
            handle.cancel()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            run = service.submit(request, on_update=None if args.json else progress.update)
        except InvalidPipeline as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except ParameterError as exc:
            return fmt.error(PROG, f"{exc}; nothing ran", 2)
        except (GpuUnavailableError, SecretUnavailableError, BackendNotReady, PartialRunError) as exc:
            return fmt.error(PROG, exc, 2)
        except (ConverterError, FileNotFoundError, UnknownBackend, StoreError, RunConflictError) as exc:
            return fmt.error(PROG, exc, 1 if not isinstance(exc, UnknownBackend) else 2)
        except OSError as exc:  # e.g. no space left for the snapshot or the run record
            return fmt.error(PROG, _os_error(exc), 1)
        run_ids.append(run.id)
        handle = service.handle(run.id)
        assert handle is not None
        if interrupted:  # a signal arrived while the run was being submitted
            handle.cancel()
        bar = Bar()

        def tick() -> None:
            if args.json:
                return
            progress.tick()
            activity = getattr(handle, "activity", None)  # snapshot / inputs being written
            if activity:
                bar(*activity)
            else:
                bar.close()

        try:
            final = _wait(handle, tick)
        finally:
            bar.close()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if final is None or not final.status.finished:
        # The run's thread ended without recording the end (the store could not be written, e.g.
        # a full disk): say so and exit; the next start marks the run interrupted.
        why = getattr(handle, "error", None)
        if isinstance(why, OSError):
            reason = _os_error(why)
        else:
            reason = f"{type(why).__name__}: {why}" if why else "unknown"
        from .._fsutil import disk_full

        if disk_full(why):
            reason = "disk full (no space left on the device)"
        fmt.error(PROG, f"run {run.id} stopped without recording its end: {reason}", 1)
        service.close()
        return 130 if interrupted else 1
    store = service.store_of(final.id)
    if args.json:
        print(final.model_dump_json(indent=2))
    else:
        if progress.tty:
            progress.update(final)
        print(summary(final, store, color=progress.color), file=sys.stderr)
    service.close()
    if notifier is not None:
        notifier.flush(30)  # send before exiting (a failing hook is logged, never fails the run)
    if interrupted:
        return 130
    return 0 if final.status == RunStatus.succeeded else 1

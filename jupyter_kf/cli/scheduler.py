"""`jupyter kf scheduler`: run due schedules in the foreground (for a systemd unit or a container).

Serves the schedules of the stores under the current folder (or ``--store``/``--all``), with the
same guarantees as the server extension: one run per due time, also next to a running Jupyter
server or a second scheduler on the same store. Stops on Ctrl-C / SIGTERM (its runs are cancelled).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf scheduler"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run due schedules until stopped.")
    p.add_argument("--root", metavar="DIR", default=".", help="serve schedules of notebooks under DIR (default .)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: <notebook folder>/kf-runs)")
    p.add_argument("--interval", type=float, default=10.0, metavar="S", help="seconds between passes (default 10)")
    p.add_argument("--once", action="store_true", help="make one pass, wait for its runs, and exit")
    p.add_argument("-q", "--quiet", action="store_true", help="log only warnings")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    if args.interval <= 0:
        return fmt.error(PROG, "--interval must be positive", 2)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    from ..config import Settings
    from ..notify import Notifier, NotifySettings
    from ..schedules import Scheduler, ScheduleService
    from ..service import PipelineService

    try:
        settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
        notifier = Notifier(NotifySettings.from_env())
    except ValueError as exc:
        return fmt.error(PROG, exc, 2)
    pipelines = PipelineService(Path(args.root), settings)
    pipelines.add_listener(notifier.on_update)
    scheduler = Scheduler(ScheduleService(pipelines), notifier=notifier)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if args.once:
            fires = scheduler.tick()
            for sid, f in fires:
                print(f"{sid} {f.due:%Y-%m-%d %H:%M} {f.state} {f.run or ''} {f.error or ''}".rstrip(), flush=True)
            for _, f in fires:
                if f.run:
                    pipelines.wait(f.run)
        else:
            logging.getLogger("jupyter_kf").info("jupyter-kf scheduler: serving schedules under %s",
                                                 pipelines.root)
            scheduler.serve(stop, args.interval)
    finally:
        notifier.flush(30)
        pipelines.close()
        notifier.close()
    return 130 if stop.is_set() and not args.once else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))

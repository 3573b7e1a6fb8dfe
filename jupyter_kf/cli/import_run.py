"""`jupyter kf import run.zip [-C FOLDER]`: import an exported run to inspect or rerun it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf import"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Import a run exported with `jupyter kf export`.")
    p.add_argument("archive", metavar="ZIP")
    p.add_argument("-C", "--into", metavar="FOLDER", default=".", help="the folder to import into, created if missing (default: .)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: FOLDER/kf-runs)")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..archive import ArchiveError, import_run
    from ..config import Settings
    from ..service import PipelineService
    from ..store import StoreError

    folder = Path(args.into).resolve()
    if folder.exists() and not folder.is_dir():
        return fmt.error(PROG, f"{folder} is not a folder", 2)
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(folder, settings)
    try:
        run = import_run(Path(args.archive), folder, service.store_for(folder / "x.ipynb"))
    except ArchiveError as exc:
        return fmt.error(PROG, f"{exc}; nothing was imported", 2)
    except (StoreError, OSError) as exc:
        return fmt.error(PROG, exc, 1)
    finally:
        service.close()
    print(f"imported run {run.id} ({run.notebook}) into {folder}: `jupyter kf show {run.id}`, `jupyter kf rerun {run.id}`")
    return 0

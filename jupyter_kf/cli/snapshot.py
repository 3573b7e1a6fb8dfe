"""`jupyter kf snapshot create|list|show|diff|restore|gc`: snapshots of a notebook's folder."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf snapshot"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Content-addressed snapshots of a notebook's folder.")
    p.add_argument("--store", metavar="DIR", help="store folder (default: <folder>/kf-runs or $JUPYTER_KF_STORE)")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)
    c = sub.add_parser("create", help="snapshot a folder (or a notebook's folder)")
    c.add_argument("path", nargs="?", default=".", help="folder or notebook (default: .)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress")
    ls = sub.add_parser("list", help="list snapshots, newest first")
    ls.add_argument("path", nargs="?", default=".", help="folder whose snapshots to list (default: .)")
    ls.add_argument("--json", action="store_true")
    sh = sub.add_parser("show", help="the files of a snapshot")
    sh.add_argument("id", help="snapshot id or unique prefix")
    sh.add_argument("--json", action="store_true")
    d = sub.add_parser("diff", help="paths added, removed and changed between two snapshots")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--json", action="store_true")
    r = sub.add_parser("restore", help="write a snapshot's files into a folder")
    r.add_argument("id")
    r.add_argument("target", help="folder to restore into (must be empty unless --force)")
    r.add_argument("--force", action="store_true", help="restore over the files of a non-empty folder")
    g = sub.add_parser("gc", help="remove snapshots no run uses (keeping the newest) and unused objects")
    g.add_argument("--keep", type=int, default=None, metavar="N", help="newest snapshots to keep")
    g.add_argument("--json", action="store_true")
    return p


class _ProgressPrinter:
    """Progress on stderr: a rewritten line on a terminal, a line every few seconds in a pipe."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = time.monotonic()  # in a pipe, the first line comes after a few seconds
        self.shown = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        done = p.files_done == p.files_total
        if not done and now - self.last < (0.1 if self.tty else 5.0):
            return
        if p.phase == "scan" and not self.tty:
            return
        self.last = now
        text = f"snapshot: {p.files_done}/{p.files_total} files, {fmt.size(p.bytes_done)}/{fmt.size(p.bytes_total)}"
        if self.tty:
            sys.stderr.write("\r" + text.ljust(70)[:78])
            self.shown = True
        elif p.files_total and not done:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 78 + "\r")


def _store_path(args, folder: Path) -> Path:
    from ..config import Settings

    return Path(args.store) if args.store else Settings.from_env().store_path(folder)


def _snap_rows(snaps) -> str:
    rows = [[s.id[:12], fmt.timestamp(s.created_at), str(s.files), fmt.size(s.bytes), fmt.size(s.new_bytes),
             s.notebook or "", s.root] for s in snaps]
    return fmt.table(["SNAPSHOT", "CREATED", "FILES", "SIZE", "NEW", "NOTEBOOK", "FOLDER"], rows, right=[2, 3, 4])


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..snapshots import SnapshotError, SnapshotStore

    try:
        return _dispatch(args, SnapshotStore)
    except SnapshotError as e:
        return fmt.error(PROG, e)
    except ValueError as e:  # invalid JUPYTER_KF_* settings
        return fmt.error(PROG, e, 2)


def _dispatch(args, SnapshotStore) -> int:
    if args.cmd == "create":
        path = Path(args.path)
        if not path.exists():
            return fmt.error(PROG, f"no such folder or notebook: {path}")
        folder, notebook = (path.parent, path.name) if path.is_file() else (path, None)
        store = SnapshotStore(_store_path(args, folder.resolve()))
        printer = None if args.quiet else _ProgressPrinter()
        t0 = time.perf_counter()
        try:
            snap = store.create(folder, notebook=notebook, progress=printer)
        finally:
            if printer:
                printer.close()
        if args.json:
            print(json.dumps({**snap.model_dump(mode="json"), "seconds": time.perf_counter() - t0}, indent=1))
        else:
            print(f"snapshot {snap.id[:12]}: {snap.files} files, {fmt.size(snap.bytes)} "
                  f"({fmt.size(snap.new_bytes)} new) in {fmt.duration(time.perf_counter() - t0)}")
            print(f"id {snap.id}")
        return 0

    folder = Path(getattr(args, "path", ".")).resolve()
    store = SnapshotStore(_store_path(args, folder))
    if args.cmd == "list":
        snaps = store.list(None if args.store else folder)
        if args.json:
            print(json.dumps([s.model_dump(mode="json") for s in snaps], indent=1))
        elif not snaps:
            print(f"no snapshots of {folder} in {store.store}", file=sys.stderr)
        else:
            print(_snap_rows(snaps))
        return 0
    if args.cmd == "show":
        m = store.show(args.id)
        if args.json:
            print(json.dumps({"snapshot": m.snapshot.model_dump(mode="json"), "entries": m.entries}, indent=1))
            return 0
        print(_snap_rows([m.snapshot]))
        print()
        rows = []
        for p, e in m.entries.items():
            if e["type"] == "file":
                rows.append([p, fmt.size(e["size"]), oct(e["mode"])[2:], e["hash"][:12]])
            elif e["type"] == "link":
                rows.append([p, "link", "", "-> " + e["target"]])
        print(fmt.table(["PATH", "SIZE", "MODE", "CONTENT"], rows, right=[1]))
        return 0
    if args.cmd == "diff":
        d = store.diff(args.a, args.b)
        if args.json:
            print(json.dumps({"added": d.added, "removed": d.removed, "changed": d.changed}, indent=1))
        else:
            for mark, paths in (("+", d.added), ("-", d.removed), ("M", d.changed)):
                for p in paths:
                    print(f"{mark} {p}")
            if not d:
                print("no differences", file=sys.stderr)
        return 0
    if args.cmd == "restore":
        result = store.restore(args.id, Path(args.target), overwrite=args.force)
        print(f"restored {result.files} files ({fmt.size(result.bytes)}) into {args.target}")
        for link in result.skipped_links:
            print(f"skipped symlink {link}: it points outside the folder", file=sys.stderr)
        return 0
    if args.cmd == "gc":
        from ..config import Settings

        keep = args.keep if args.keep is not None else Settings.from_env().keep_snapshots
        if keep < 0:
            return fmt.error(PROG, "--keep must be 0 or more", 2)
        report = store.gc(keep=keep)
        if args.json:
            print(json.dumps(report.__dict__, indent=1))
        else:
            print(f"removed {len(report.snapshots_removed)} snapshots and {report.objects_removed} objects, "
                  f"freed {fmt.size(report.bytes_freed)}")
        return 0
    return 2  # pragma: no cover - argparse rejects other commands

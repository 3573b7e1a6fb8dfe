"""Keeping a run store's disk bounded: pruning runs and collecting what nothing references.

``plan_prune`` chooses runs (by age, count per notebook, status, notebook) and never chooses:
a run that is queued or running; each notebook's latest successful run (unless asked); a run
whose executed steps a kept run took from the cache (``cached_from``: the files those steps wrote
live in that run's folder) or that an active run retries. ``prune`` removes the chosen runs
(the store refuses any that started running meanwhile). ``collect`` then removes snapshots no run
uses (keeping the newest few and any made in the last minutes: a run records its snapshot just
after taking it), every object no remaining snapshot holds, and run folders the store no longer
knows. A retention policy in the settings (``retain_runs``, ``retain_days``) is applied the same way.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ._fsutil import rmtree_force
from .models import Run, RunStatus, StepStatus

if TYPE_CHECKING:
    from .models import StoreUsage
    from .store import RunStore

Report = Callable[[str, int, int], None]  # (what, done, total): progress of long work
SNAPSHOT_GRACE = 600.0  # s: snapshots made or used this recently are never collected
ORPHAN_GRACE = 3600.0  # s: a run folder without a record this old is a leftover, not a new run
_RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-z]+")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """Seconds in ``30m``, ``12h``, ``7d``, ``2w`` (or a plain number of days)."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t) * 86400
    m = _DURATION.fullmatch(t)
    if not m:
        raise ValueError(f"{text!r} is not an age (use e.g. 30m, 12h, 7d, 2w)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(d, f))
            except OSError:
                continue
            total += st.st_size
    return total


@dataclass
class PrunePlan:
    remove: list[Run] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # run id -> bytes of its folder
    kept: dict[str, str] = field(default_factory=dict)  # run id -> why it stays though it matched

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())


def plan_prune(
    store: RunStore,
    *,
    older_than: float | None = None,
    keep: int | None = None,
    statuses: Iterable[str] | None = None,
    notebook: str | None = None,
    keep_latest_success: bool = True,
    now: datetime | None = None,
) -> PrunePlan:
    """Runs matching every criterion given (``older_than`` seconds since created, beyond the
    ``keep`` newest of their notebook, with a status in ``statuses``, of ``notebook``), less the
    ones that must stay (module docstring). At least one criterion is required."""
    if older_than is None and keep is None and not statuses and notebook is None:
        raise ValueError("say which runs to prune: an age, a count to keep, a status or a notebook")
    now = now or datetime.now(timezone.utc)
    runs = store.list_runs(limit=None)  # newest first
    wanted = {str(s) for s in statuses or ()}
    per_notebook: dict[str, int] = {}
    candidates: list[Run] = []
    for r in runs:
        rank = per_notebook.get(r.notebook, 0)
        per_notebook[r.notebook] = rank + 1
        if notebook is not None and r.notebook != notebook and Path(r.notebook).name != notebook:
            continue
        if wanted and r.status.value not in wanted:
            continue
        if older_than is not None and now - r.created_at < timedelta(seconds=older_than):
            continue
        if keep is not None and rank < keep:
            continue
        candidates.append(r)
    why = protected(runs, keep_latest_success=keep_latest_success, leaving={r.id for r in candidates})
    plan = PrunePlan()
    for r in candidates:
        if r.id in why:
            plan.kept[r.id] = why[r.id]
        else:
            plan.remove.append(r)
            plan.sizes[r.id] = folder_size(store.run_path(r.id))
    return plan


def protected(runs: list[Run], *, keep_latest_success: bool, leaving: set[str]) -> dict[str, str]:
    """Runs that must stay (id -> why), given that the runs in ``leaving`` would go."""
    why: dict[str, str] = {}
    latest: set[str] = set()
    for r in runs:  # newest first
        if not r.status.finished:
            why[r.id] = f"it is {r.status.value}"
        elif keep_latest_success and r.status == RunStatus.succeeded and r.notebook not in latest:
            latest.add(r.notebook)
            why[r.id] = f"the latest successful run of {r.notebook}"
    kept = [r for r in runs if r.id not in leaving or r.id in why]
    for r in kept:
        for s in r.steps:
            if s.status == StepStatus.cached and s.cached_from and s.cached_from not in why:
                why[s.cached_from] = f"run {r.id} reuses its step {s.name!r} from the cache"
        if not r.status.finished and r.retry_of and r.retry_of not in why:
            why[r.retry_of] = f"run {r.id} retries it"
    return why


def prune(store: RunStore, plan: PrunePlan, progress: Report | None = None) -> tuple[list[str], int]:
    """Remove the runs of ``plan``; returns (ids removed, bytes freed). A run that started to be
    needed since the plan was made (it is running again) is skipped."""
    from .store import StoreError

    done: list[str] = []
    freed = 0
    total = len(plan.remove)
    for i, r in enumerate(plan.remove, 1):
        try:
            store.delete_run(r.id)
        except (StoreError, LookupError):
            continue
        done.append(r.id)
        freed += plan.sizes.get(r.id, 0)
        if progress:
            progress("prune", i, total)
    return done, freed


@dataclass
class CollectReport:
    snapshots_removed: list[str] = field(default_factory=list)
    objects_removed: int = 0
    orphan_folders: list[str] = field(default_factory=list)
    bytes_freed: int = 0


def collect(
    store: RunStore,
    *,
    keep_snapshots: int | None = None,
    grace: float = SNAPSHOT_GRACE,
    dry_run: bool = False,
    progress: Report | None = None,
) -> CollectReport:
    """Snapshots no run uses (beyond the newest ``keep_snapshots`` and the ``grace`` window),
    objects no kept snapshot holds, and run folders without a record (older than an hour)."""
    keep = store.settings.keep_snapshots if keep_snapshots is None else keep_snapshots
    report = CollectReport()
    refs = store.snapshot_refs() if store.exists else set()
    g = store.snapshots.gc(keep=keep, referenced=refs, grace=grace, dry_run=dry_run, progress=progress)
    report.snapshots_removed, report.objects_removed = g.snapshots_removed, g.objects_removed
    report.bytes_freed = g.bytes_freed
    if store.exists:
        now = time.time()
        for entry in os.scandir(store.path):
            if not (_RUN_ID.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < ORPHAN_GRACE or store.has_run(entry.name):
                continue
            report.orphan_folders.append(entry.name)
            report.bytes_freed += folder_size(Path(entry.path))
            if not dry_run:
                rmtree_force(Path(entry.path))
    return report


def store_usage(store: RunStore | None) -> StoreUsage:
    """Disk used by a store: run folders, snapshot objects (each inode once), everything."""
    from .models import StoreUsage

    if store is None or not store.path.is_dir():
        return StoreUsage(runs=0, runs_bytes=0, snapshots=0, objects_bytes=0, bytes=0)
    runs = store.list_runs(limit=None) if store.exists else []
    runs_bytes = sum(folder_size(store.run_path(r.id)) for r in runs)
    objects_bytes = sum(p.stat().st_size for _, p in store.snapshots.objects.all())
    return StoreUsage(
        runs=len(runs),
        runs_bytes=runs_bytes,
        snapshots=len(store.snapshots._ids()),
        objects_bytes=objects_bytes,
        bytes=_disk_bytes(store.path),
    )


def _disk_bytes(path: Path) -> int:
    """Bytes of the files under ``path``, each inode once (a snapshot's tree links its objects)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(d, f))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def apply_retention(store: RunStore) -> tuple[list[str], int]:
    """Prune by the settings' retention policy (``retain_runs`` newest per notebook, runs older
    than ``retain_days``), if one is set; then collect. Returns (runs removed, bytes freed)."""
    s = store.settings
    if s.retain_runs is None and s.retain_days is None:
        return [], 0
    plan = plan_prune(
        store,
        keep=s.retain_runs,
        older_than=s.retain_days * 86400 if s.retain_days is not None else None,
    )
    removed, freed = prune(store, plan)
    if removed:
        freed += collect(store).bytes_freed
    return removed, freed

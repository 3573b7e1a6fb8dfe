"""The snapshot's files in a run's working folder (``<store>/<run>/work/``).

Written when the first step really runs, never for a run whose steps are all cached. Two ways:

- **overlay** (where this machine can mount one, see ``snapshots/tree.py``): nothing is
  written; every step kernel sees ``work/`` through an overlay whose lower layer is the
  snapshot's tree of hardlinks to its objects and whose upper layer is ``work/`` itself. A step
  can do anything to a file (write in place, truncate, append, chmod, rename over, delete), as its
  owner or as root: the kernel copies the file up into ``work/`` first, so the objects never
  change, and ``work/`` ends up holding exactly what the run wrote;
- **copies** otherwise: reflinks where the file system clones, else copies
  (``snapshots/materialize.py``); when the run is over, the files still exactly as written are
  removed, so a finished run keeps only what it wrote.

``<run>/materialized.json`` records which way and how much (``jupyter kf show`` prints it).
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("jupyter_kf.backends.local")
OVERLAY_ENV = "JUPYTER_KF_OVERLAY"  # read by kernels/zygote.py in each forked kernel


class InputFiles:
    def __init__(
        self, store: Any, run_id: str, snapshot: str | None, report: Any = None, kernel: str = "python3"
    ) -> None:
        self.store, self.run_id, self.snapshot, self.kernel = store, run_id, snapshot, kernel
        self.report = report  # called with snapshots.Progress while files are written
        self.result: Any = None
        self.kernel_env: dict[str, str] = {}  # for the run's kernels: the overlay to mount

    def write(self) -> None:
        if self.snapshot is None:
            return
        from ..snapshots import SnapshotStore

        snaps = SnapshotStore(self.store.path)
        work = self.store.work_dir(self.run_id)
        if self._overlay(snaps, work):
            return
        self.result = snaps.materialize(self.snapshot, work, skip_existing=True, progress=self.report)

    def _overlay(self, snaps: Any, work: Any) -> bool:
        import time

        from ..snapshots.materialize import Materialized
        from ..snapshots.tree import build_tree, overlay_available, overlay_spec

        wanted = self.store.settings.materialize
        if wanted == "copy":
            return False
        from ..kernels.manager import kernel_python

        if not overlay_available(self.store.path) or kernel_python(self.kernel) is None:
            if wanted == "overlay":  # asked for explicitly: say why not rather than copy
                raise RuntimeError(
                    "JUPYTER_KF_MATERIALIZE=overlay, but this machine cannot mount an overlay for the "
                    f"run's folder (no mount namespace, or kernel {self.kernel!r} is not forkable)"
                )
            return False
        t0 = time.monotonic()
        tree = build_tree(snaps, self.snapshot)
        ovl_work = self.store.run_path(self.run_id) / ".overlay-work"
        ovl_work.mkdir(exist_ok=True)
        spec = overlay_spec(tree, work, ovl_work)
        if spec is None:
            return False
        self.kernel_env = {OVERLAY_ENV: json.dumps(spec)}
        snap = snaps.get(self.snapshot)
        self.result = Materialized(files=snap.files, bytes=snap.bytes, method="overlay",
                                   seconds=time.monotonic() - t0)
        return True

    def finish(self) -> None:
        """Remove the unchanged inputs and record how they were written (never raises)."""
        from .._fsutil import atomic_write_text, rmtree_force
        from ..snapshots import drop_unchanged

        try:
            doc: dict[str, Any] = {"method": "none", "files": 0, "bytes": 0}
            if self.result is not None:
                doc = self.result.summary()
                n, size = drop_unchanged(self.store.work_dir(self.run_id), self.result.written, self.result.dirs)
                doc.update(unchanged_removed=n, unchanged_removed_bytes=size)
            rmtree_force(self.store.run_path(self.run_id) / ".overlay-work")
            atomic_write_text(self.store.run_path(self.run_id) / "materialized.json", json.dumps(doc))
        except OSError as exc:  # e.g. a full disk: the run's own error says so already
            log.warning("could not tidy the working folder of run %s: %s", self.run_id, exc.strerror or exc)
        except Exception:
            log.exception("could not tidy the working folder of run %s", self.run_id)

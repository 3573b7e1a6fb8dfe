"""Taking a step's result over instead of running it: cache keys, lookups, copying outputs.

A step is reused from the cache (a finished step elsewhere in the store with the same key) or,
for a retry, from the run being retried. Reusing copies its values, executed notebook and log
into the new run and puts back the files it wrote into the working folder (``files.py``).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import files

if TYPE_CHECKING:
    from ..store import RunStore
    from .runner import ExecutionPlan

log = logging.getLogger("jupyter_kf.executor")


@dataclass
class Reuse:
    """A finished step whose outputs a new run takes over instead of running it."""

    origin_run: str  # the run that executed it
    notebook: Path
    values_dir: Path
    log: Path | None
    cache_key: str | None
    duration: float | None = None


class StepCache:
    """Cache keys and reuse for the steps of one run."""

    def __init__(self, store: RunStore, plan: ExecutionPlan) -> None:
        self.store, self.plan, self.p = store, plan, plan.pipeline
        self._env_key: str | None = None

    def enabled_for(self, step: Any) -> bool:
        """Look ``step`` up in the cache? Not in a run that asked for no cache (``--no-cache``)."""
        return self.plan.cache and self.records(step)

    def records(self, step: Any) -> bool:
        """Record ``step``'s cache key so later runs can reuse it? Whenever the step's and the
        pipeline's cache policy allow it, also in a run that did not read the cache."""
        return step.cache if step.cache is not None else self.p.cache

    def key(self, name: str) -> str | None:
        """The step's cache key (``cache.step_cache_key``), or None when it cannot have one."""
        from ..cache import (
            CacheKeyError,
            UncachedDependency,
            environment_key,
            explicit_dependencies,
            step_cache_key,
        )

        if self._env_key is None:
            self._env_key = environment_key(self.p.kernel.name)
        run_id = self.plan.run_id
        upstream = {d: self.store.get_step(run_id, d).cache_key for d in explicit_dependencies(self.p, name)}
        try:
            return step_cache_key(
                self.p,
                name,
                values_dir=self.store.values_dir(run_id),
                parameters=self.plan.parameters,
                snapshot=self.plan.snapshot_key,
                environment=self._env_key,
                upstream_keys=upstream,
            )
        except UncachedDependency as exc:  # expected: what an uncached step wrote is not identified
            log.debug("no cache key: %s", exc)
        except CacheKeyError as exc:
            log.warning("no cache key for step %s: %s", name, exc)
        return None

    def lookup(self, key: str) -> Reuse | None:
        hit = self.store.find_cached(key, exclude_run=self.plan.run_id)
        if hit is None:
            return None
        return Reuse(hit.run_id, hit.notebook, hit.values_dir, hit.log, key, hit.duration)

    def copy_outputs(self, name: str, reuse: Reuse) -> None:
        """Values, executed notebook, log and written files of ``reuse`` into this run."""
        from .._fsutil import copy_file

        target = self.store.values_dir(self.plan.run_id, name)
        if target.exists():
            shutil.rmtree(target)
        if reuse.values_dir.is_dir():
            shutil.copytree(reuse.values_dir, target, copy_function=lambda s, d: copy_file(Path(s), Path(d)))
        copy_file(reuse.notebook, self.store.step_notebook_path(self.plan.run_id, name))
        if reuse.log and reuse.log.is_file():
            copy_file(reuse.log, self.store.step_log_path(self.plan.run_id, name))
        files.restore(self.store.run_path(reuse.origin_run) / "files" / name, self.plan.work_dir)

"""Settings for the local runner and the run store, read from the environment.

One small pydantic model. Every field has a default and an environment variable; the server
extension maps its Jupyter (traitlets) config onto the same model with :meth:`Settings.with_overrides`.

=============================  ==============================================================
``JUPYTER_KF_STORE``           Run store folder. Relative: inside the notebook's folder
                               (default ``kf-runs``). Absolute: one store for every notebook.
``JUPYTER_KF_MAX_PARALLEL``    Steps running at once (default: number of CPUs, at least 2).
``JUPYTER_KF_CACHE``           ``0``/``false`` turns step caching off by default (default on).
``JUPYTER_KF_TIMEOUT``         Default per-step timeout in seconds (default: none).
``JUPYTER_KF_MAX_RUNS``        Local runs executing at once in one process (server, CLI); later
                               ones wait, ``queued``, in arrival order (default 4).
``JUPYTER_KF_RETRY_BACKOFF``   Pause before a step's second attempt, seconds; it doubles with each
                               attempt, up to 30 s (default 1).
``JUPYTER_KF_KEEP_SNAPSHOTS``  Newest snapshots ``snapshot gc`` always keeps (default 10).
``JUPYTER_KF_MATERIALIZE``     How a run's folder gets the snapshot's files: ``auto`` (default: an
                               overlay over the snapshot's objects where this machine can mount
                               one, else reflinks or copies), ``overlay`` (required: a run fails if it cannot) or ``copy``.
``JUPYTER_KF_RETAIN_RUNS``     Retention: after a run, prune runs beyond the newest N of each
                               notebook (default: keep all). See ``jupyter kf runs prune``.
``JUPYTER_KF_RETAIN_DAYS``     Retention: after a run, prune runs older than this many days
                               (with ``RETAIN_RUNS``: only those beyond the newest N).
``JUPYTER_KF_REGISTRY``        The registry of store folders (default
                               ``<jupyter data dir>/kf-stores.json``).
``JUPYTER_KF_GPUS``            GPU ids local steps may use, e.g. ``0,1``, or ``none`` (default:
                               the GPUs ``nvidia-smi`` lists, within ``CUDA_VISIBLE_DEVICES``).
``JUPYTER_KF_GPU_FALLBACK``    ``error`` (default): a step tagged ``limit:nvidia.com/gpu:N`` on a
                               machine without GPUs is refused before the run; ``cpu``: it runs
                               without a GPU.
=============================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "JUPYTER_KF_"
DEFAULT_STORE = "kf-runs"


def default_max_parallel() -> int:
    """Steps mostly wait (on kernels, I/O, sleeps), so run more of them than there are cores."""
    return max(8, 2 * (os.cpu_count() or 1))


class Settings(BaseModel):
    """Local runner settings (see the module docstring for the environment variables)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    store: str = Field(
        default=DEFAULT_STORE,
        description="Run store folder; relative paths are taken inside the notebook's folder.",
    )
    max_parallel: int = Field(default_factory=default_max_parallel, ge=1, le=256, description="Steps at once.")
    cache: bool = Field(default=True, description="Reuse cached step results unless a run asks otherwise.")
    timeout: float | None = Field(default=None, gt=0, description="Default per-step timeout, seconds.")
    max_runs: int = Field(default=4, ge=1, le=64, description="Local runs executing at once; the rest queue.")
    retry_backoff: float = Field(
        default=1.0, ge=0, le=30,
        description="Seconds before a step's 2nd attempt; doubles per attempt, max 30 s.",
    )
    keep_snapshots: int = Field(default=10, ge=0, description="Newest snapshots that gc always keeps.")
    materialize: Literal["auto", "overlay", "copy"] = Field(
        default="auto", description="How runs get the snapshot's files (overlay where possible, else copies)."
    )
    retain_runs: int | None = Field(default=None, ge=1, description="Retention: newest runs kept per notebook.")
    retain_days: float | None = Field(default=None, gt=0, description="Retention: runs older than this are pruned.")
    registry: str | None = Field(
        default=None, description="Registry file of known stores (None: <jupyter data dir>/kf-stores.json)."
    )
    gpus: str | None = Field(
        default=None, description="GPU ids local steps may use ('0,1', 'none'); None: detect with nvidia-smi."
    )
    gpu_fallback: Literal["error", "cpu"] = Field(
        default="error", description="A GPU step on a machine without GPUs: refuse ('error') or run on the CPU."
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _empty_timeout(cls, v: Any) -> Any:
        return None if v in ("", "0", "none", "None") else v

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``JUPYTER_KF_*`` variables (``environ`` defaults to ``os.environ``).

        Raises ``ValueError`` naming the variable when a value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except Exception as e:  # pydantic.ValidationError: name the variables involved
            from pydantic import ValidationError

            if not isinstance(e, ValidationError):
                raise
            where = ", ".join(f"{ENV_PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in e.errors())
            raise ValueError(f"invalid jupyter-kf setting ({where})") from None

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None ``overrides`` applied (e.g. from traitlets config or CLI flags)."""
        return self.model_validate({**self.model_dump(), **{k: v for k, v in overrides.items() if v is not None}})

    def store_path(self, folder: Path | str) -> Path:
        """The run store used for notebooks in ``folder``."""
        p = Path(os.path.expanduser(self.store))
        return p if p.is_absolute() else Path(folder).resolve() / p

    def notebook_folder(self, store: Path | str) -> Path | None:
        """The folder whose notebooks use the run store ``store``: ``store`` minus the relative store
        setting (``kf-runs`` by default). None with one absolute store shared by every folder."""
        store = Path(store)
        rel = Path(os.path.expanduser(self.store))
        if rel.is_absolute() or not rel.parts or store.parts[-len(rel.parts) :] != rel.parts:
            return None
        return store.parents[len(rel.parts) - 1]

    def run_notebook(self, recorded: str, store: Path | str | None, root: Path | str) -> Path:
        """Where the notebook of a run is, from the path the run recorded (relative to the folder
        it was started from, which varies by surface) and its store: a store in the notebook's
        folder gives that folder; else the recorded path, taken from ``root`` when relative."""
        folder = self.notebook_folder(store) if store is not None else None
        if folder is not None:
            return folder / PurePosixPath(recorded).name
        path = Path(recorded)
        return path if path.is_absolute() else Path(root) / path

    def registry_path(self) -> Path:
        """Where the registry of store folders lives."""
        if self.registry:
            return Path(os.path.expanduser(self.registry))
        from jupyter_core.paths import jupyter_data_dir

        return Path(jupyter_data_dir()) / "kf-stores.json"

"""Step cache keys: a sha256 over everything that decides a step's outputs.

A key covers the step's code (its code cells plus the pipeline's imports and functions), what it
saves and loads, the content hashes of its inputs (from the producers' value manifests), the keys
of the steps it names with ``prev:`` (data passed in files, which no manifest hashes), the values
of the parameters it uses, the snapshot of the data volume, and the environment (Python version,
kernel name, installed distributions). Timeouts, retries and resources are left out:
they do not change what a successful step produces.

:func:`cache_key` is a pure function of its arguments; the helpers gather those arguments.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline, Step

KEY_VERSION = 1  # bump when what goes into a key changes


class CacheKeyError(Exception):
    """A key cannot be computed (e.g. a producer's manifest lacks an input); names step and value."""


class UncachedDependency(CacheKeyError):
    """A step named with ``prev:`` has no cache key (e.g. its caching is off)."""


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


def cache_key(
    *,
    step: str,
    code: str,
    inputs: Mapping[str, str],
    parameters: Mapping[str, Any],
    snapshot: str | None,
    environment: str,
    outputs: list[str] | tuple[str, ...] = (),
) -> str:
    """The cache key (hex sha256) of one step from its already-gathered components."""
    doc = {
        "v": KEY_VERSION,
        "step": step,
        "code": code,
        "outputs": sorted(outputs),
        "inputs": dict(inputs),
        "parameters": dict(parameters),
        "snapshot": snapshot,
        "environment": environment,
    }
    return hashlib.sha256(_canonical(doc).encode()).hexdigest()


def step_code(pipeline: Pipeline, step: Step | str) -> str:
    """The code a step runs: the pipeline's imports and functions, then the step's code cells."""
    s = pipeline.step(step) if isinstance(step, str) else step
    parts = [c.source for c in pipeline.imports if c.cell_type == "code"]
    parts += [c.source for c in pipeline.functions if c.cell_type == "code"]
    parts += [c.source for c in s.code_cells]
    return "\n\x00\n".join(parts)  # a separator no cell contains, so cell boundaries count


def input_hashes(step: Step, values_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{"producer/name": sha256}`` for each value input; import inputs give their statement."""
    from jupyter_kf_converter.runtime import read_manifest

    manifests: dict[str, dict[str, Any]] = {}
    out: dict[str, str] = {}
    for inp in step.inputs:
        key = f"{inp.producer}/{inp.name}"
        if inp.kind == "import":
            out[key] = "import:" + (inp.statement or inp.name)
            continue
        if inp.producer not in manifests:
            try:
                manifests[inp.producer] = read_manifest(values_dir, inp.producer)
            except FileNotFoundError as e:
                raise CacheKeyError(
                    f"step {step.name!r}: input {inp.name!r} from step {inp.producer!r}: {e}"
                ) from None
        entry = manifests[inp.producer].get(inp.name)
        if not isinstance(entry, dict) or not entry.get("sha256"):
            raise CacheKeyError(
                f"step {step.name!r}: step {inp.producer!r} did not save {inp.name!r} (not in its manifest)"
            )
        out[key] = entry["sha256"]
    return out


def explicit_dependencies(pipeline: Pipeline, step: Step | str) -> list[str]:
    """The steps ``step`` names with ``prev:`` (explicit edges), sorted."""
    name = step if isinstance(step, str) else step.name
    return sorted({e.source for e in pipeline.edges if e.target == name and e.kind == "explicit"})


def prev_keys(pipeline: Pipeline, step: Step, keys: Mapping[str, str | None]) -> dict[str, str]:
    """``{"dep/(step)": key}`` for each ``prev:`` dependency of ``step``, from ``keys`` (the
    dependencies' own cache keys). A dependency without a key (e.g. a step with caching off: what
    it wrote is not identified) leaves ``step`` without one too."""
    out: dict[str, str] = {}
    for dep in explicit_dependencies(pipeline, step):
        key = keys.get(dep)
        if not key:
            raise UncachedDependency(f"step {step.name!r}: its prev: dependency {dep!r} has no cache key")
        out[f"{dep}/(step)"] = key
    return out


def parameter_values(pipeline: Pipeline, step: Step, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the parameters ``step`` uses: the run's values over the pipeline defaults."""
    defaults = {p.name: p.default for p in pipeline.parameters}
    return {name: parameters.get(name, defaults.get(name)) for name in sorted(step.parameters)}


def environment_key(kernel_name: str) -> str:
    """A hash of the Python version, the kernel name and the installed distributions (cached)."""
    from .envinfo import packages_hash, python_version

    return hashlib.sha256(_canonical([python_version(), kernel_name, packages_hash()]).encode()).hexdigest()


def snapshot_key(
    store: str | os.PathLike[str], snapshot_id: str | None, notebook: str | None = None
) -> str | None:
    """The snapshot component of cache keys: :meth:`SnapshotStore.data_key` of ``snapshot_id``
    in the run store folder ``store``, leaving out ``notebook`` (a path relative to the folder
    that was snapshotted, e.g. ``pipeline.ipynb``)."""
    if snapshot_id is None:
        return None
    from .snapshots import SnapshotStore

    return SnapshotStore(store).data_key(snapshot_id, exclude=[notebook] if notebook else ())


def step_cache_key(
    pipeline: Pipeline,
    step: str,
    *,
    values_dir: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    snapshot: str | None,
    environment: str | None = None,
    upstream_keys: Mapping[str, str | None] | None = None,
) -> str:
    """The cache key of ``step`` in a run whose values live in ``values_dir`` (its producers must
    have finished). ``environment`` defaults to :func:`environment_key` of the pipeline's kernel.
    ``upstream_keys`` are the cache keys of the run's finished steps by name; those of the steps
    ``step`` names with ``prev:`` are part of its key (:func:`explicit_dependencies`).

    Raises :class:`CacheKeyError` when an input is missing from its producer's manifest or a
    ``prev:`` dependency has no key: such a step has no cache key.

    ``snapshot`` should be :func:`snapshot_key` of the run's snapshot (content only, without the
    notebook itself) rather than the raw snapshot id, so that editing one step of the notebook, or
    touching a file without changing it, does not invalidate every step.
    """
    s = pipeline.step(step)
    return cache_key(
        step=s.name,
        code=step_code(pipeline, s),
        inputs={**input_hashes(s, values_dir), **prev_keys(pipeline, s, upstream_keys or {})},
        parameters=parameter_values(pipeline, s, parameters),
        snapshot=snapshot,
        environment=environment if environment is not None else environment_key(pipeline.kernel.name),
        outputs=s.outputs,
    )

"""Reruns: execute a past run again from its own snapshot, pipeline and parameters.

A rerun never reads the live notebook or data: it materializes the snapshot the original run
took, runs the pipeline recorded in its ``pipeline.json`` with its parameters, and records
``reproduces``. Before it starts, the recorded environment (``env.json``) is compared with this
one; afterwards :func:`compare_runs` says whether values (by sha256, from the values manifests)
and metrics came out the same.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .models import EnvDifference, Reproduction, RunRequest

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from .models import Run
    from .service import PipelineService
    from .store import RunStore


class RerunError(ValueError):
    """A run that cannot be rerun (no snapshot, objects missing): says which and why."""


def environment_differences(a: dict[str, Any], b: dict[str, Any]) -> list[EnvDifference]:
    """Differences between two environment records (``envinfo.capture`` / ``env.json``):
    the Python version, the kernel and every package added, removed or at another version."""
    diffs = [
        EnvDifference(kind=k, name=k, a=a.get(k), b=b.get(k)) for k in ("python", "kernel") if a.get(k) != b.get(k)
    ]
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(pa.keys() | pb.keys()):
        if pa.get(name) != pb.get(name):
            diffs.append(EnvDifference(kind="package", name=name, a=pa.get(name), b=pb.get(name)))
    return diffs


def recorded_environment(store: RunStore, run_id: str) -> dict[str, Any]:
    """The run's ``env.json`` (``{}`` when it has none, e.g. a cluster run)."""
    try:
        return json.loads((store.run_path(run_id) / "env.json").read_text())
    except (OSError, ValueError):
        return {}


def recorded_pipeline(store: RunStore, run_id: str) -> Pipeline:
    from jupyter_kf_converter.ir import Pipeline

    path = store.run_path(run_id) / "pipeline.json"
    try:
        return Pipeline.from_json(path.read_text())
    except OSError:
        raise RerunError(f"run {run_id} has no recorded pipeline ({path} is missing)") from None


def environment_check(store: RunStore, run_id: str) -> list[EnvDifference]:
    """How this environment differs from the one ``run_id`` recorded (empty: none)."""
    from .envinfo import capture

    recorded = recorded_environment(store, run_id)
    if not recorded:
        raise RerunError(f"run {run_id} recorded no environment ({store.run_path(run_id) / 'env.json'} is missing)")
    kernel = recorded_pipeline(store, run_id).kernel.name
    return environment_differences(recorded, capture(kernel))


def _check_snapshot(store: RunStore, run: Run) -> None:
    if not run.snapshot:
        raise RerunError(f"run {run.id} has no snapshot to rerun from (backend {run.backend})")
    snaps = store.snapshots
    entries = snaps.show(run.snapshot).entries
    missing = [p for p, e in entries.items() if e["type"] == "file" and not snaps.objects.has(e["hash"])]
    if missing:
        raise RerunError(
            f"cannot rerun {run.id}: its snapshot lacks {len(missing)} file(s) (e.g. {missing[0]}); "
            "was it exported without --with-data?"
        )


def prepare_rerun(service: PipelineService, request: RunRequest) -> tuple[Pipeline, RunRequest, RunStore]:
    """The pipeline, request and store of a rerun of ``request.reproduces``."""
    from .backends import backend_class

    run_id = request.reproduces
    assert run_id
    store = service.store_of(run_id)
    old = store.get_run(run_id)
    _check_snapshot(store, old)
    pipeline = recorded_pipeline(store, run_id)
    backend_class(request.backend).check(pipeline, service.settings)
    update = {
        "notebook": str(service.resolve(old.notebook)),
        "parameters": dict(old.parameters),
        "snapshot": old.snapshot,
    }
    return pipeline, request.model_copy(update=update), store


def _manifests(store: RunStore, run: Run) -> dict[str, str]:
    from jupyter_kf_converter.runtime import read_manifest

    hashes: dict[str, str] = {}
    for s in run.steps:
        try:
            manifest = read_manifest(store.values_dir(run.id), s.name)
        except FileNotFoundError:
            continue
        hashes.update({f"{s.name}/{n}": e.get("sha256", "") for n, e in manifest.items()})
    return hashes


def compare_runs(store_a: RunStore, a: Run, store_b: RunStore, b: Run) -> Reproduction:
    """Values (by the sha256 in each step's manifest) and metrics of two runs."""
    ha, hb = _manifests(store_a, a), _manifests(store_b, b)
    names = sorted(ha.keys() | hb.keys())
    same = [n for n in names if ha.get(n) is not None and ha.get(n) == hb.get(n)]
    changes = {
        k: [a.metrics.get(k), b.metrics.get(k)]
        for k in sorted(a.metrics.keys() | b.metrics.keys())
        if a.metrics.get(k) != b.metrics.get(k)
    }
    return Reproduction(
        original=a.id,
        rerun=b.id,
        values_total=len(names),
        values_same=len(same),
        differing=[n for n in names if n not in same],
        metric_changes=changes,
    )


def reproduction_of(service: PipelineService, run: Run) -> Reproduction | None:
    """How ``run`` compares with the run it reproduces (None when it reproduces none, or that
    run is gone)."""
    from .store import StoreError

    if not run.reproduces:
        return None
    try:
        store_a = service.store_of(run.reproduces)
        original = store_a.get_run(run.reproduces)
    except (StoreError, LookupError):
        return None
    return compare_runs(store_a, original, service.store_of(run.id), run)


def describe(rep: Reproduction) -> str:
    """One line (and details on differences) for `show`."""
    values = f"values {rep.values_same}/{rep.values_total} identical"
    metrics = "metrics identical" if not rep.metric_changes else "metrics differ"
    head = f"{'reproduced' if rep.identical else 'NOT reproduced'}: {values}, {metrics}"
    lines = [head]
    lines += [f"  value differs: {n}" for n in rep.differing[:20]]
    lines += [f"  metric {k}: {v[0]!r} -> {v[1]!r}" for k, v in rep.metric_changes.items()]
    return "\n".join(lines)


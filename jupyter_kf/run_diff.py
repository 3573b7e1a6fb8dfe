"""Two runs side by side: parameters, metrics, code per step, data files, environment."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from .models import DataChanges, RunDiff

if TYPE_CHECKING:
    from .models import Run
    from .service import PipelineService
    from .store import RunStore


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [a.get(k), b.get(k)] for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def _files(store: RunStore, run: Run) -> dict[str, tuple]:
    """path -> what identifies its content, for the run's snapshot (its own notebook left out)."""
    if not run.snapshot:
        return {}
    m = store.snapshots.show(run.snapshot)
    skip = m.snapshot.notebook
    return {
        p: (e["type"], e.get("hash"), e.get("mode"), e.get("target"))
        for p, e in m.entries.items()
        if e["type"] != "dir" and p != skip
    }


def _parameters(store: RunStore, run: Run) -> dict[str, Any]:
    """The values the run used: its pipeline's defaults under the run's own parameters."""
    from .reproduce import RerunError, recorded_pipeline

    try:
        defaults = {p.name: p.default for p in recorded_pipeline(store, run.id).parameters}
    except RerunError:
        defaults = {}
    return {**defaults, **run.parameters}


def _code(store: RunStore, run: Run) -> dict[str, list[str]]:
    from .cache import step_code
    from .reproduce import RerunError, recorded_pipeline

    try:
        p = recorded_pipeline(store, run.id)
    except RerunError:
        return {}
    return {s.name: step_code(p, s).replace("\n\x00\n", "\n\n").splitlines(keepends=True) for s in p.steps}


def diff_runs(service: PipelineService, a_id: str, b_id: str) -> RunDiff:
    """What changed from run ``a_id`` to run ``b_id`` (they may live in different stores)."""
    from .reproduce import environment_differences, recorded_environment

    sa, sb = service.store_of(a_id), service.store_of(b_id)
    a, b = sa.get_run(a_id), sb.get_run(b_id)
    ca, cb = _code(sa, a), _code(sb, b)
    code = {}
    for step in list(ca) + [s for s in cb if s not in ca]:
        lines = list(
            difflib.unified_diff(
                ca.get(step, []), cb.get(step, []), f"{a_id}/{step}", f"{b_id}/{step}", n=2
            )
        )
        if lines:
            code[step] = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    fa, fb = _files(sa, a), _files(sb, b)
    data = DataChanges(
        added=sorted(fb.keys() - fa.keys()),
        removed=sorted(fa.keys() - fb.keys()),
        changed=sorted(p for p in fa.keys() & fb.keys() if fa[p] != fb[p]),
    )
    ea, eb = recorded_environment(sa, a_id), recorded_environment(sb, b_id)
    return RunDiff(
        a=a_id,
        b=b_id,
        parameters=_changed(_parameters(sa, a), _parameters(sb, b)),
        metrics=_changed(a.metrics, b.metrics),
        code=code,
        data=data,
        environment=environment_differences(ea, eb) if ea and eb else [],
    )

"""Any runs side by side: parameters, metrics, durations, and what changed against the first
(code per step, data snapshot, environment: ``run_diff.diff_runs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import RunComparison

if TYPE_CHECKING:
    from .service import PipelineService


def compare_runs(service: PipelineService, run_ids: list[str], *, changes: bool = True) -> RunComparison:
    """``run_ids`` (two or more, any stores) in the order given."""
    from .run_diff import _parameters, diff_runs

    if len(run_ids) < 2:
        raise ValueError("compare needs two runs or more")
    stores = [service.store_of(r) for r in run_ids]
    runs = [s.get_run(r) for s, r in zip(stores, run_ids)]
    params = [_parameters(s, r) for s, r in zip(stores, runs)]

    def columns(values: list[dict[str, Any]]) -> dict[str, list[Any]]:
        names = sorted(set().union(*values))
        return {n: [v.get(n) for v in values] for n in names}

    return RunComparison(
        runs=runs,
        parameters=columns(params),
        metrics=columns([r.metrics for r in runs]),
        durations=[r.duration for r in runs],
        changes=[diff_runs(service, run_ids[0], other) for other in run_ids[1:]] if changes else [],
    )

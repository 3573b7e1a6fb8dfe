"""`jupyter kf run NB --from STEP` / `--only STEP`: upstream values come from an earlier run,
and nothing upstream runs (counted from the store's records)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from jupyter_kf.executor.partial import PartialRunError
from jupyter_kf.models import RunRequest, RunStatus

from .conftest import cli_env

KF = str(Path(sys.executable).with_name("jupyter-kf"))

CHAIN = [
    ("base = 2", ["step:a"]),
    ("doubled = base * 2", ["step:b"]),
    ("total = doubled + 1", ["step:c"]),
    ("other = base * 10", ["step:d"]),
    ("total", ["pipeline-metrics"]),
]


def executions(service) -> Counter:
    """How many times each step really ran, over every run in the store."""
    return Counter(s.name for r in service.list_runs() for s in r.steps if s.status.value == "succeeded")


def edit(path: Path, cell: int, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[cell].source = source
    nbformat.write(nb, path)


def test_from_and_only_reuse_upstream_values(service, make_notebook, nb_dir, tmp_path, kernel_starts):
    path = make_notebook(CHAIN, "chain.ipynb", nb_dir)
    first = service.run(RunRequest(notebook="chain.ipynb"))
    assert first.status == RunStatus.succeeded and first.metrics == {"total": 5}
    assert executions(service) == {"a": 1, "b": 1, "c": 1, "d": 1}

    edit(path, 2, "total = doubled + 100")
    edit(path, 0, "base = 1000")  # an upstream edit that --from b must not pick up: a is not rerun
    run = service.run(RunRequest(notebook="chain.ipynb", from_step="b", cache=False))
    assert run.status == RunStatus.succeeded, run.error
    assert run.inputs_from == first.id and run.from_step == "b"
    assert {s.name: s.status.value for s in run.steps} == {"a": "cached", "b": "succeeded", "c": "succeeded"}
    assert run.step("a").cached_from == first.id
    assert run.metrics == {"total": 104}  # a's value (2) from the first run, c's new code
    assert executions(service) == {"a": 1, "b": 2, "c": 2, "d": 1}

    kernel_starts.clear()
    only = service.run(RunRequest(notebook="chain.ipynb", only_step="c", inputs_from=first.id, cache=False))
    assert only.status == RunStatus.succeeded, only.error
    assert {s.name: s.status.value for s in only.steps} == {"a": "cached", "b": "cached", "c": "succeeded"}
    assert only.metrics == {"total": 104}
    assert executions(service) == {"a": 1, "b": 2, "c": 3, "d": 1}
    assert 1 <= len(kernel_starts) <= 2  # c's kernel (at most one spare): nothing upstream ran


def test_from_refuses_when_the_inputs_are_missing(service, make_notebook, nb_dir, tmp_path):
    path = make_notebook(CHAIN, "chain.ipynb", nb_dir)
    with pytest.raises(PartialRunError, match="no successful run has the values it needs"):
        service.submit(RunRequest(notebook="chain.ipynb", only_step="c"))
    edit(path, 1, "doubled = base * 2\nraise ValueError('broken b')")
    failed = service.run(RunRequest(notebook="chain.ipynb"))
    assert failed.status == RunStatus.failed
    edit(path, 1, "doubled = base * 2")

    res = subprocess.run(
        [KF, "run", "chain.ipynb", "--only", "c", "--inputs-from", failed.id],
        cwd=nb_dir, env=cli_env(tmp_path), capture_output=True, text=True,
    )
    assert res.returncode == 2, res.stderr
    assert f"step 'b' did not finish in run {failed.id}" in res.stderr
    with pytest.raises(PartialRunError, match="has no step 'nope'"):
        service.submit(RunRequest(notebook="chain.ipynb", from_step="nope"))
    with pytest.raises(ValueError, match="give only one of retry_of and from_step/only_step"):
        service.submit(RunRequest(notebook="chain.ipynb", from_step="c", retry_of=failed.id))
    assert len(service.list_runs()) == 1  # nothing else ran

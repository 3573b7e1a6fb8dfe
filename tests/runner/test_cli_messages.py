"""What `jupyter kf` tells a user (in-process, no kernels unless a test runs a pipeline): refusals
before anything runs, where things are, and tables that fit a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_kf.cli import main

PIPE = [("n = 3", ["pipeline-parameters"]), ("xs = list(range(n))", ["step:make"]), ("t = sum(xs)", ["step:add"])]


@pytest.fixture
def here(nb_dir: Path, settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(nb_dir)
    return nb_dir


@pytest.mark.parametrize("backend", ["kfp", "argo"])
def test_an_unconfigured_cluster_backend_is_refused_before_anything_runs(here, make_notebook, capsys, backend):
    make_notebook(PIPE, "pipe.ipynb", here)
    assert main(["run", "pipe.ipynb", "-b", backend]) == 2
    err = capsys.readouterr().err
    assert f"jupyter kf run: error: backend {backend!r} cannot run here:" in err and "nothing ran" in err
    assert "--retry" not in err  # no run, so no retry hint
    assert not (here / "kf-runs").exists()  # no record, no snapshot

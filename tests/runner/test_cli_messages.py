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


def record_run(store, notebook: str, finish_order: list[str], metrics: dict[str, dict], status="succeeded") -> str:
    """A finished run in ``store`` as a surface records it (``notebook`` as that surface saw it),
    its steps finishing in ``finish_order``."""
    from datetime import datetime, timezone

    from jupyter_kf.models import Run, StepRun

    steps = ["load", *metrics]
    run = Run(id=store.new_run_id(), pipeline="pipe", notebook=notebook, created_at=datetime.now(timezone.utc),
              steps=[StepRun(name=s) for s in steps])
    store.create_run(run)
    store.update_run(run.id, status="running")
    for name in ["load", *finish_order]:
        store.update_step(run.id, name, status="running")
        store.update_step(run.id, name, status="succeeded", metrics=metrics.get(name, {}))
    store.update_run(run.id, status=status)
    return run.id


METRICS = {
    "train-logreg": {"logreg_accuracy": 0.91, "logreg_f1": 0.9, "logreg_precision": 0.93},
    "train-forest": {"forest_accuracy": 0.97, "forest_f1": 0.96, "forest_precision": 0.98},
    "evaluate": {"best_accuracy": 0.97, "best_model": "forest"},
}
ORDER = [m for step in METRICS.values() for m in step]  # steps in pipeline order, then the cell's order


def test_runs_table_fits_100_columns_with_a_stable_metric_order(here, settings, capsys):
    from jupyter_kf.store import RunStore

    with RunStore.for_folder(here, settings) as store:
        record_run(store, "pipe.ipynb", ["train-logreg", "train-forest", "evaluate"], METRICS)
        record_run(store, "pipe.ipynb", ["train-forest", "train-logreg", "evaluate"], METRICS)
    assert main(["runs"]) == 0
    out, err = capsys.readouterr()
    header, *rows = out.splitlines()
    assert len(rows) == 2 and max(len(line) for line in out.splitlines()) <= 100, out
    shown = header.split()[6:]
    assert shown and shown == ORDER[: len(shown)], header  # whichever step finished first
    assert f"{len(ORDER) - len(shown)} more metric column(s)" in err and "--wide" in err

    assert main(["runs", "--wide"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split()[6:] == ORDER and "more metric" not in err


def test_one_notebook_one_history_shown_from_where_the_user_stands(here, settings, capsys, monkeypatch):
    """The CLI run from the parent folder records `proj/pipe.ipynb`, the panel (server root in
    proj) `pipe.ipynb`: both are runs of one notebook, wherever they are listed from."""
    from jupyter_kf.service import PipelineService
    from jupyter_kf.store import RunStore

    proj = here / "proj"
    proj.mkdir()
    (proj / "pipe.ipynb").write_text("{}")
    with RunStore.for_folder(proj, settings) as store:
        from_cli = record_run(store, "proj/pipe.ipynb", ["evaluate"], {"evaluate": {"best": 1}})
        from_panel = record_run(store, "pipe.ipynb", ["evaluate"], {"evaluate": {"best": 2}}, status="failed")
    for root, name in ((here, "proj/pipe.ipynb"), (proj, "pipe.ipynb")):
        svc = PipelineService(root, settings)
        assert {r.id for r in svc.list_runs(name)} == {from_cli, from_panel}
        svc.close()

    for cwd, shown in ((here, "proj/pipe.ipynb"), (proj, "pipe.ipynb")):
        monkeypatch.chdir(cwd)
        assert main(["runs", "--notebook", shown]) == 0
        rows = capsys.readouterr().out.splitlines()[1:]
        assert [row.split()[1] for row in rows] == [shown, shown], rows
        assert main(["show", from_panel]) == 0
        assert f"notebook  {shown} " in capsys.readouterr().out


def test_show_of_an_unknown_run_says_where_the_registry_is(here, settings, capsys):
    assert main(["show", "20990101-000000-abcd"]) == 1
    err = capsys.readouterr().err
    assert "no run '20990101-000000-abcd'" in err
    assert str(settings.registry_path()) in err and str(here / "kf-runs") in err

"""`jupyter kf rerun`: a past run again from its own snapshot, with its environment checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from jupyter_kf.cli import show as show_cli
from jupyter_kf.models import RunRequest, RunStatus

from .conftest import cli_env

KF = str(Path(sys.executable).with_name("jupyter-kf"))

PIPE = [
    ("import numpy as np\nimport pandas as pd", ["imports"]),
    ("scale = 2", ["pipeline-parameters"]),
    ("df = pd.read_csv('data.csv')\narr = df['x'].to_numpy() * scale", ["step:load"]),
    ("frame = df.assign(y=arr)\ntotal = float(arr.sum())\nstats = {'n': len(df), 'mean': float(arr.mean())}", ["step:summarize"]),
    ("report = f\"{stats['n']} rows, y sums to {frame['y'].sum()}\"\nprint(report)", ["step:report"]),
    ("total", ["pipeline-metrics"]),
]


def hashes(store, run) -> dict[str, str]:
    out = {}
    for s in run.steps:
        m = store.values_dir(run.id, s.name) / "manifest.json"
        if m.is_file():
            out |= {f"{s.name}/{n}": e["sha256"] for n, e in json.loads(m.read_text()).items()}
    return out


def test_rerun_reproduces_values_and_metrics_after_live_edits(service, make_notebook, nb_dir, tmp_path):
    path = make_notebook(PIPE, "pipe.ipynb", nb_dir)
    (nb_dir / "data.csv").write_text("x\n1\n2\n3\n")
    first = service.run(RunRequest(notebook="pipe.ipynb", parameters={"scale": 3}))
    assert first.status == RunStatus.succeeded, first.error
    assert first.metrics == {"total": 18.0}
    store = service.store_of(first.id)

    # the live notebook and data change; the rerun must not see either
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "raise RuntimeError('edited since')"
    nbformat.write(nb, path)
    (nb_dir / "data.csv").write_text("x\n100\n")
    env = cli_env(tmp_path)

    # a recorded package version that differs from this environment
    env_file = store.run_path(first.id) / "env.json"
    recorded = json.loads(env_file.read_text())
    recorded["packages"]["numpy"] = "0.0.1"
    env_file.write_text(json.dumps(recorded))

    before = {r.id for r in service.list_runs()}
    strict = subprocess.run([KF, "rerun", first.id, "--strict"], cwd=nb_dir, env=env, capture_output=True, text=True)
    assert strict.returncode == 2, strict.stderr
    assert "numpy: 0.0.1 -> " in strict.stderr and "--strict" in strict.stderr
    assert {r.id for r in service.list_runs()} == before  # nothing ran

    res = subprocess.run([KF, "rerun", first.id, "--no-cache"], cwd=nb_dir, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "numpy: 0.0.1 -> " in res.stderr
    assert "reproduced: values 4/4 identical, metrics identical" in res.stderr
    (new_id,) = {r.id for r in service.list_runs()} - before
    again = service.get_run(new_id)
    assert again.reproduces == first.id and again.snapshot == first.snapshot
    assert again.parameters == {"scale": 3}
    assert {s.status.value for s in again.steps} == {"succeeded"}  # executed, not taken from the cache
    assert again.metrics == first.metrics
    assert hashes(store, again) == hashes(store, first) and len(hashes(store, first)) == 4

    show_text = show_cli.render(again, store)
    assert f"reproduces {first.id}: reproduced" in show_text
    shown = subprocess.run([KF, "show", again.id, "--json"], cwd=nb_dir, env=env, capture_output=True, text=True)
    rep = json.loads(shown.stdout)["reproduction"]
    assert rep["identical"] and rep["values_same"] == rep["values_total"] == 4 and rep["original"] == first.id

    # a value that came out differently is named
    m = store.values_dir(again.id, "summarize") / "manifest.json"
    doc = json.loads(m.read_text())
    doc["stats"]["sha256"] = "0" * 64
    m.write_text(json.dumps(doc))
    text = show_cli.render(again, store)
    assert "NOT reproduced: values 3/4 identical" in text and "value differs: summarize/stats" in text


def test_rerun_refuses_a_run_without_its_data(service, make_notebook, nb_dir):
    make_notebook(PIPE, "pipe.ipynb", nb_dir)
    (nb_dir / "data.csv").write_text("x\n1\n")
    first = service.run(RunRequest(notebook="pipe.ipynb"))
    store = service.store_of(first.id)
    entries = store.snapshots.show(first.snapshot).entries
    obj = store.snapshots.objects.path(entries["data.csv"]["hash"])
    obj.chmod(0o644)
    obj.unlink()
    try:
        service.rerun(first.id)
    except ValueError as exc:
        assert "lacks 1 file(s) (e.g. data.csv)" in str(exc)
    else:
        raise AssertionError("a rerun without its data must be refused")


def test_wine_example_rerun_gives_identical_value_hashes(service, nb_dir):
    """The wine example (sklearn models, parallel steps) reproduces byte-identical values."""
    import shutil

    from jupyter_kf.reproduce import reproduction_of

    wine = nb_dir / "wine-pipeline.ipynb"
    shutil.copy(Path(__file__).resolve().parents[2] / "examples" / "wine-pipeline.ipynb", wine)
    (nb_dir / "notes.csv").write_text("a\n1\n")
    first = service.run(RunRequest(notebook=wine.name, parameters={"n_estimators": 20}))
    assert first.status == RunStatus.succeeded, first.error

    nb = nbformat.read(wine, as_version=4)
    nb.cells[2].source = "test_size = 0.5\nseed = 1\nn_estimators = 5\nsvm_c = 9.0"
    nb.cells[10].source = nb.cells[10].source.replace("random_state=seed", "random_state=seed + 1")
    nbformat.write(nb, wine)
    (nb_dir / "notes.csv").write_text("a\n2\n")

    again = service.rerun(first.id, cache=False)
    again = service.wait(again.id)
    assert again.status == RunStatus.succeeded, again.error
    assert {s.status.value for s in again.steps} == {"succeeded"}
    rep = reproduction_of(service, again)
    assert rep is not None and rep.identical, rep
    assert rep.values_total >= 8 and again.metrics == first.metrics

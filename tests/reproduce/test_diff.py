"""`jupyter kf diff RUN_A RUN_B`: parameters, metrics, code per step, data files, environment."""

from __future__ import annotations

import json

import nbformat

from jupyter_kf.cli import diff as diff_cli
from jupyter_kf.models import RunRequest, RunStatus

PIPE = [
    ("k = 2", ["pipeline-parameters"]),
    ("rows = open('data.csv').read().split()\nn = len(rows) * k", ["step:load"]),
    ("total = n + 1", ["step:score"]),
    ("total", ["pipeline-metrics"]),
]


def test_diff_names_every_kind_of_change(service, make_notebook, nb_dir, capsys, monkeypatch):
    path = make_notebook(PIPE, "pipe.ipynb", nb_dir)
    (nb_dir / "data.csv").write_text("a\nb\n")
    (nb_dir / "gone.txt").write_text("x")
    a = service.run(RunRequest(notebook="pipe.ipynb"))
    assert a.status == RunStatus.succeeded, a.error

    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "total = n + 10"
    nbformat.write(nb, path)
    (nb_dir / "data.csv").write_text("a\nb\nc\n")
    (nb_dir / "gone.txt").unlink()
    (nb_dir / "new.txt").write_text("y")
    b = service.run(RunRequest(notebook="pipe.ipynb", parameters={"k": 3}))
    assert b.status == RunStatus.succeeded, b.error
    env = service.store_of(b.id).run_path(b.id) / "env.json"
    doc = json.loads(env.read_text())
    doc["packages"]["nbformat"] = "9.9.9"
    env.write_text(json.dumps(doc))

    monkeypatch.chdir(nb_dir)
    assert diff_cli.main([a.id, b.id, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["parameters"] == {"k": [2, 3]}
    assert d["metrics"] == {"total": [5, 19]}
    assert list(d["code"]) == ["score"]
    assert "-total = n + 1" in d["code"]["score"] and "+total = n + 10" in d["code"]["score"]
    assert d["data"] == {"added": ["new.txt"], "removed": ["gone.txt"], "changed": ["data.csv"]}
    assert [(e["name"], e["b"]) for e in d["environment"]] == [("nbformat", "9.9.9")]

    assert diff_cli.main([a.id, a.id]) == 0
    same = capsys.readouterr().out
    for part in ("parameters", "metrics", "data", "environment"):
        assert f"{part}: same" in same
    assert "code: same" in same

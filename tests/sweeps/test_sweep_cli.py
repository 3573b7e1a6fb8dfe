"""`jupyter kf sweep`, `sweeps` and `compare` as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KF = str(Path(sys.executable).with_name("jupyter-kf"))
CELLS = [
    ("n = 1\nmodel = 'a'", ["pipeline-parameters"]),
    ("base = 10", ["step:load"]),
    ("score = base + n * (2 if model == 'b' else 1)", ["step:train"]),
    ("score", ["pipeline-metrics"]),
]


def kf(args: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(tmp_path / "kf-stores.json")}
    env.pop("JUPYTER_KF_STORE", None)
    return subprocess.run([KF, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_sweep_then_list_and_compare_its_trials(make_notebook, nb_dir, tmp_path):
    make_notebook(CELLS, "nb.ipynb", nb_dir)
    done = kf(["sweep", "nb.ipynb", "-p", "n=1:3", "-p", "model=a,b", "--objective", "score:max",
               "--algorithm", "grid", "--parallel", "2"], nb_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "6/6 trials done; best score: 16 (trial" in done.stdout  # n=3, model=b
    assert "trial " in done.stderr and "/6 trials done" in done.stderr  # live progress
    listed = json.loads(kf(["sweeps", "--json"], nb_dir, tmp_path).stdout)
    assert len(listed) == 1 and listed[0]["best_value"] == 16
    runs = [t["run"] for t in listed[0]["trials"]]
    cmp = kf(["compare", "--json", *runs[:3]], nb_dir, tmp_path)
    assert cmp.returncode == 0, cmp.stderr
    c = json.loads(cmp.stdout)
    assert [r["id"] for r in c["runs"]] == runs[:3]
    by_run = {t["run"]: t for t in listed[0]["trials"]}
    assert c["parameters"]["n"] == [by_run[r]["parameters"]["n"] for r in runs[:3]]
    assert c["metrics"]["score"] == [by_run[r]["value"] for r in runs[:3]]
    assert len(c["changes"]) == 2 and all(d["code"] == {} for d in c["changes"])
    table = kf(["compare", "--sweep", listed[0]["id"]], nb_dir, tmp_path)
    assert table.returncode == 0 and "metric score" in table.stdout


def test_bad_sweep_is_a_usage_error_and_runs_nothing(make_notebook, nb_dir, tmp_path):
    make_notebook(CELLS, "nb.ipynb", nb_dir)
    done = kf(["sweep", "nb.ipynb", "-p", "model=1:4", "--objective", "score", "--trials", "3"], nb_dir, tmp_path)
    assert done.returncode == 2
    assert "parameter 'model' (str, default 'a' in cell 1): a range needs an int or float" in done.stderr
    assert "nothing ran" in done.stderr
    assert not (nb_dir / "kf-runs" / "runs.sqlite").exists() or kf(["runs"], nb_dir, tmp_path).stdout.count("nb.ipynb") == 0

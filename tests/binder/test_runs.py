"""The demo notebook runs as a pipeline in the Binder environment: through the REST API of a JupyterLab
started from that environment, and through that environment's `jupyter kf run`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ui.flows import WINE_STEPS
from ui.lab_server import LabServer

from .conftest import DEMO, copy_examples
from .env import BinderEnv

METRICS = {"best_accuracy", "logreg_accuracy", "forest_accuracy", "svm_accuracy"}
RUN_TIMEOUT_S = 180  # six steps, fresh kernels, on two shared cores


def assert_ran_in(binder_env: BinderEnv, run_dir: Path) -> None:
    """The run's recorded environment is the Binder venv (not the environment running the tests)."""
    recorded = json.loads((run_dir / "env.json").read_text())
    assert Path(recorded["executable"]).parent == binder_env.bin, recorded["executable"]
    assert "jupyter-kf" in recorded["packages"]


def test_demo_runs_through_the_rest_api(binder_env: BinderEnv, binder_lab: LabServer) -> None:
    status, compiled = binder_lab.api("compile", {"notebook": DEMO})
    assert status == 200, compiled
    assert {s["name"] for s in compiled["pipeline"]["steps"]} == WINE_STEPS, compiled

    status, run = binder_lab.api("runs", {"notebook": DEMO, "cache": False})
    assert status in (200, 201, 202), run
    run_id = run["id"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while run["status"] not in ("succeeded", "failed", "cancelled", "interrupted"):
        assert time.monotonic() < deadline, f"run {run_id} not finished in {RUN_TIMEOUT_S} s: {run}"
        time.sleep(0.5)
        status, run = binder_lab.api(f"runs/{run_id}")
        assert status == 200, run

    assert run["status"] == "succeeded", run
    assert {s["name"]: s["status"] for s in run["steps"]} == dict.fromkeys(WINE_STEPS, "succeeded"), run
    assert METRICS <= set(run["metrics"]), run["metrics"]
    assert 0.5 < run["metrics"]["best_accuracy"] <= 1.0
    # The store sits beside the notebook, in the server's root (a copy), never in the repository.
    run_dir = binder_lab.root / "examples" / "kf-runs" / run_id
    assert (run_dir / "steps" / "evaluate.ipynb").is_file()
    assert_ran_in(binder_env, run_dir)


def test_demo_runs_through_the_cli(binder_env: BinderEnv, tmp_path: Path) -> None:
    copy_examples(tmp_path)
    env = binder_env.env(
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTER_KF_REGISTRY=str(tmp_path / "kf-stores.json"),
    )
    started = time.monotonic()
    proc = binder_env.run(["jupyter", "kf", "run", DEMO], cwd=tmp_path, env=env, timeout=RUN_TIMEOUT_S)
    out = proc.stdout + proc.stderr
    print(f"jupyter kf run (Binder venv): {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, out
    assert "succeeded" in out, out
    for name in METRICS:
        assert f"{name}=" in out, out
    runs = [p for p in (tmp_path / "examples" / "kf-runs").iterdir() if (p / "steps").is_dir()]
    assert len(runs) == 1
    assert {p.stem for p in (runs[0] / "steps").glob("*.ipynb")} == WINE_STEPS
    assert_ran_in(binder_env, runs[0])

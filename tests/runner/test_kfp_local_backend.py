"""``-b kfp-local``: the wine example's KFP spec (KFP's compiler, the same step component a
cluster runs) executed by KFP's own local runner on a snapshot of the notebook's folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kf_testing import copy_examples

from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import PipelineService

from .conftest import KF, cli_env

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::FutureWarning")


def test_the_wine_example_runs_in_kfp_local(tmp_path: Path, settings) -> None:
    nb_dir = copy_examples(tmp_path / "nb")
    service = PipelineService(nb_dir, settings)
    try:
        run = service.run(RunRequest(notebook="wine-pipeline.ipynb", backend="kfp-local", parameters={"seed": 7}))
        assert run.status == RunStatus.succeeded, (run.error, service.store_of(run.id).run_path(run.id))
        assert {s.status for s in run.steps} == {StepStatus.succeeded}
        store = service.store_of(run.id)
        spec = list(yaml.safe_load_all((store.run_path(run.id) / "kfp-pipeline.yaml").read_text()))
        tasks = spec[0]["root"]["dag"]["tasks"]
        assert set(tasks) == {s.name for s in run.steps}  # KFP's tasks, no volume tasks
        evaluate = run.step("evaluate")
        assert 0.5 < evaluate.metrics["best_accuracy"] <= 1.0
        assert store.step_notebook_path(run.id, "evaluate").exists()
        assert "evaluate" in store.step_log_path(run.id, "evaluate").read_text()
        # the step ran with the run's parameters: the forest's seed reached it through KFP
        executed = json.loads(store.step_notebook_path(run.id, "train-forest").read_text())
        injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
        assert "seed = 7" in "".join(injected[0]["source"])
    finally:
        service.close()


def test_a_failing_step_fails_the_kfp_local_run_and_skips_the_rest(tmp_path: Path, nb_dir: Path, settings, make_notebook) -> None:
    make_notebook([("x = 1", ["step:ok"]), ("y = x / 0", ["step:boom"]), ("z = y", ["step:after"])], "f.ipynb", nb_dir)
    proc = subprocess.run([KF, "run", "f.ipynb", "-b", "kfp-local", "--json"], cwd=nb_dir, env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    run = json.loads(proc.stdout)
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps == {"ok": "succeeded", "boom": "failed", "after": "skipped"}
    assert "step 'boom' failed" in run["error"]


RUN_EXPORTED = """
import sys
from kfp import components, local
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])
components.load_component_from_file(sys.argv[1])(n_estimators=20)
"""


def test_kfp_local_runs_the_exported_yaml_of_the_wine_example_unchanged(tmp_path: Path) -> None:
    nb_dir = copy_examples(tmp_path / "nb")
    spec = tmp_path / "wine.yaml"
    cmd = [KF, "compile", "wine-pipeline.ipynb", "--target", "kfp-local", "-o", str(spec)]
    done = subprocess.run(cmd, cwd=nb_dir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = spec.read_text()
    assert "createpvc" not in text and "argostub" not in text
    ran = subprocess.run([sys.executable, "-c", RUN_EXPORTED, str(spec), str(tmp_path / "root")], cwd=nb_dir,
                         capture_output=True, text=True, timeout=300, env=cli_env(tmp_path))  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    metrics = json.loads((nb_dir / "kf-values" / "evaluate" / "metrics.json").read_text())
    assert 0.5 < metrics["best_accuracy"] <= 1.0
    forest = json.loads((nb_dir / "kf-steps" / "train-forest.ipynb").read_text())
    assert any("n_estimators = 20" in "".join(c["source"]) for c in forest["cells"])


def test_kfp_local_steps_get_their_secrets_from_this_machine(tmp_path: Path, nb_dir: Path, settings, make_notebook,
                                                             monkeypatch) -> None:  # fmt: skip
    secret = "tok-" + "9f" * 8
    (tmp_path / "secrets" / "api").mkdir(parents=True)
    (tmp_path / "secrets" / "api" / "token").write_text(secret)
    monkeypatch.setenv("JUPYTER_KF_SECRETS", str(tmp_path / "secrets"))
    cells = [("import os\nn = len(os.environ['API_TOKEN'])\nopen('n.txt', 'w').write(str(n))",
              ["step:use", "secret:api:token=API_TOKEN"])]  # fmt: skip
    make_notebook(cells, "s.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings)
    try:
        run = service.run(RunRequest(notebook="s.ipynb", backend="kfp-local"))
        assert run.status == RunStatus.succeeded, run.error
        assert (service.store_of(run.id).work_dir(run.id) / "n.txt").read_text() == str(len(secret))
    finally:
        service.close()
    assert not [p for p in nb_dir.rglob("*") if p.is_file() and secret in p.read_text(errors="replace")]


def test_a_cancel_through_the_store_stops_kfp_local(tmp_path: Path, nb_dir: Path, settings, make_notebook) -> None:
    import time

    cells = [("import time\nopen('started', 'w').write('1')\ntime.sleep(60)", ["step:slow"]), ("x = 1", ["step:after", "prev:slow"])]
    make_notebook(cells, "c.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings)
    try:
        run = service.submit(RunRequest(notebook="c.ipynb", backend="kfp-local"))
        store = service.store_of(run.id)
        deadline = time.monotonic() + 120
        while not (store.work_dir(run.id) / "started").exists():
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.2)
        started = time.monotonic()
        store.request_cancel(run.id)  # as another process would
        final = service.handle(run.id).wait(60)
        assert final.status == RunStatus.cancelled
        assert time.monotonic() - started < 30  # the 60 s step was stopped, not waited for
        assert final.step("slow").status == StepStatus.cancelled and final.step("after").status != StepStatus.succeeded
    finally:
        service.close()

"""The surfaces reach the cluster backends through the same PipelineService: the CLI
(`jupyter kf run -b argo`) and the service API the REST handlers and magics call."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import PipelineService


@pytest.mark.parametrize("backend", ["argo", "kfp"])
def test_service_runs_on_the_cluster_backend(project, cluster, backend):
    svc = PipelineService(project)
    run = svc.run(RunRequest(notebook="proj/demo.ipynb", backend=backend, parameters={"n": 4}))
    assert run.status == RunStatus.succeeded, run.error
    assert run.backend == backend and run.external_id
    assert all(s.status == StepStatus.succeeded for s in run.steps)
    (snap,) = [
        r["body"]
        for r in cluster.requests
        if r["method"] == "POST" and r["path"].endswith("/volumesnapshots")
    ]
    assert snap["spec"]["source"]["persistentVolumeClaimName"] == "home-pvc"
    record = json.loads((svc.store_of(run.id).run_path(run.id) / "cluster.json").read_text())
    assert record["workdir"] == str(project / "proj") and record["snapshot"] == snap["metadata"]["name"]
    assert svc.step_log(run.id, "train")
    infos = {i.name: i for i in svc.backends()}
    assert infos[backend].configured, infos[backend].reason


def test_cli_run_with_argo_backend(project, cluster):
    env = {**os.environ}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jupyter_kf.cli import main; sys.exit(main(sys.argv[1:]))",
            "run",
            "-b",
            "argo",
            "proj/demo.ipynb",
            "-p",
            "n=2",
            "--json",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wf,) = [
        r["body"] for r in cluster.requests if r["method"] == "POST" and r["path"].endswith("/workflows")
    ]
    assert {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}["n"] == "2"
    assert cluster.token not in proc.stdout + proc.stderr

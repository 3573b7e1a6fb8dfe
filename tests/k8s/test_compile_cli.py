"""`jupyter kf compile NOTEBOOK --target kfp|argo -o FILE` works with no cluster at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml
from kf_testing import build_notebook
from jupyter_kf_converter.cli import main

from .fakeapi import workflow_causes
from .pipelines import DEMO_CELLS


def _notebook(tmp_path: Path) -> Path:
    nb = tmp_path / "demo.ipynb"
    nbformat.write(build_notebook(DEMO_CELLS), nb)
    return nb


def test_compile_kfp_spec(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KF_STEP_IMAGE", "registry.example/steps:1")
    out = tmp_path / "spec" / "pipeline.yaml"
    assert main([str(_notebook(tmp_path)), "--target", "kfp", "-o", str(out)]) == 0
    spec, platform = list(yaml.safe_load_all(out.read_text()))
    assert spec["pipelineInfo"]["name"] == "demo"
    assert {
        e["container"]["image"]
        for k, e in spec["deploymentSpec"]["executors"].items()
        if k not in ("exec-createpvc", "exec-deletepvc")
    } == {"registry.example/steps:1"}
    assert "pvcMount" in str(platform)  # an empty run volume shared by the steps
    assert "warning" not in capsys.readouterr().err


def test_compile_argo_spec_in_a_fresh_process(tmp_path):
    out = tmp_path / "wf.yaml"
    env = {k: v for k, v in os.environ.items() if k != "KF_STEP_IMAGE"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jupyter_kf_converter.cli import main; sys.exit(main(sys.argv[1:]))",
            str(_notebook(tmp_path)),
            "--target",
            "argo",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no image for step(s) load, train, report" in proc.stderr  # said once, not per step
    wf = yaml.safe_load(out.read_text())
    assert workflow_causes(wf) == []
    assert [t["name"] for t in wf["spec"]["templates"][0]["dag"]["tasks"]] == ["load", "train", "report"]


def test_compile_error_writes_nothing(tmp_path, capsys):
    nb = tmp_path / "bad.ipynb"
    out = tmp_path / "wf.yaml"
    nbformat.write(build_notebook([("x = 1", ["step:a", "limit:memory:lots"])]), nb)
    assert main([str(nb), "--target", "argo", "-o", str(out)]) == 1
    assert not out.exists()
    assert "limit:memory:lots" in capsys.readouterr().err

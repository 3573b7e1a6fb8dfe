"""Step kernels: fresh per step, forked with fork-safe modules preloaded, numpy reseeded."""

from __future__ import annotations

import nbformat
import pytest
from jupyter_kf_converter.ir import Cell, Pipeline, Step

from jupyter_kf.kernels.preload import modules_to_preload
from jupyter_kf.models import RunRequest, RunStatus


def test_modules_to_preload_only_fork_safe_and_not_shadowed(tmp_path):
    def cell(i: int, src: str) -> Cell:
        return Cell(index=i, source=src)

    p = Pipeline(
        name="p",
        notebook="p.ipynb",
        imports=[cell(0, "import numpy as np\nimport torch\nimport matplotlib.pyplot as plt")],
        steps=[
            Step(
                name="a", cells=[cell(1, "from sklearn.linear_model import Ridge\nimport scipy\n%time x = 1")]
            ),
            Step(name="b", cells=[cell(2, "import pandas as pd\nfrom . import local")]),
        ],
    )
    assert modules_to_preload(p) == ["numpy", "pandas"]  # cell 1 is IPython syntax: left alone
    p.steps[0].cells[0] = cell(1, "from sklearn.linear_model import Ridge\nimport scipy")
    assert modules_to_preload(p) == ["numpy", "sklearn.linear_model", "scipy", "pandas"]
    (tmp_path / "pandas.py").write_text("")  # the notebook's folder shadows pandas
    assert "pandas" not in modules_to_preload(p, tmp_path)


def test_preloaded_modules_are_not_names_and_numpy_is_reseeded(service, make_notebook, nb_dir):
    make_notebook(
        [
            (
                "import numpy as np\na_rand = float(np.random.rand())\na_pid = __import__('os').getpid()",
                ["step:a"],
            ),
            (
                "import sys, os\n"
                "preloaded = 'numpy' in sys.modules  # this step never imported it\n"
                "has_np = 'np' in dir()\n"
                "import numpy\n"
                "b_rand = float(numpy.random.rand())\n"
                "b_pid = os.getpid()",
                ["step:b"],
            ),
            ("a_rand\nb_rand\npreloaded\nhas_np\na_pid\nb_pid", ["pipeline-metrics"]),
        ],
        "pre.ipynb",
        nb_dir,
    )
    run = service.run(RunRequest(notebook="pre.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    m = run.metrics
    assert m["preloaded"] is True and m["has_np"] is False
    assert m["a_rand"] != m["b_rand"]  # each kernel has its own random state
    assert m["a_pid"] != m["b_pid"]  # and its own process

    executed = nbformat.read(service.step_notebook(run.id, "b"), as_version=4)
    assert executed.metadata["kernelspec"]["name"] == "python3"


def test_other_kernelspecs_start_normally(service, make_notebook, nb_dir, tmp_path, monkeypatch):
    import json
    import sys

    spec = tmp_path / "jupyter" / "kernels" / "plainpy"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel", "-f", "{connection_file}"]  # not ipykernel_launcher
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "plain", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = make_notebook(
        [("import os\nx = os.getpid()", ["step:a"]), ("y = x", ["step:b"])], "plain.ipynb", nb_dir
    )
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "plainpy", "display_name": "plain", "language": "python"}
    nbformat.write(nb, path)
    run = service.run(RunRequest(notebook="plain.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    executed = nbformat.read(service.step_notebook(run.id, "b"), as_version=4)
    assert executed.metadata["kernelspec"]["name"] == "plainpy"


def test_openmp_and_blas_work_in_kernels_forked_after_preloading(service, make_notebook, nb_dir):
    """numpy, scipy and scikit-learn start native thread pools; a forked kernel must still use them."""
    pytest.importorskip("sklearn")
    make_notebook(
        [
            ("import numpy as np\nfrom sklearn.ensemble import HistGradientBoostingClassifier", ["imports"]),
            ("X = np.random.rand(3000, 8)\ny = (X[:, 0] + X[:, 1] > 1).astype(int)", ["step:data"]),
            (  # OpenMP (libgomp) in the fit, OpenBLAS in the matrix product
                "score = float(HistGradientBoostingClassifier(max_iter=30).fit(X, y).score(X, y))\n"
                "gram = float((X.T @ X).trace())",
                ["step:fit", "timeout:120"],
            ),
            ("score\ngram", ["pipeline-metrics"]),
        ],
        "omp.ipynb",
        nb_dir,
    )
    run = service.run(RunRequest(notebook="omp.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    assert run.metrics["score"] > 0.9 and run.metrics["gram"] > 0

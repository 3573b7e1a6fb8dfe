"""Common ML values travel between steps in real kernels: each step notebook is emitted, run with
papermill in a fresh kernel, and the consumer checks what it loaded against what the producer
computed. torch and Keras cases are marked ``heavy_ml`` (large wheels) and skip when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_kf_converter import compile_notebook, runtime
from jupyter_kf_converter.emit import emit_steps

from kf_testing import build_notebook
from test_emit_papermill import run


def run_steps(cells: list, tmp_path: Path) -> Path:
    """Compile, emit and run every step in order in one working folder; return the values folder."""
    pipeline = compile_notebook(build_notebook(cells), notebook_path=str(tmp_path / "ml.ipynb"))
    assert pipeline.valid, pipeline.problems
    work = tmp_path / "work"
    work.mkdir()
    for step, path in emit_steps(pipeline, tmp_path / "steps").items():
        run(path, tmp_path / f"{step}.out.ipynb", work)
    return work / "kf-values"


def test_dmatrix_sparse_matrix_and_polars_frame_between_steps(tmp_path: Path) -> None:
    for lib in ("xgboost", "scipy", "polars"):
        pytest.importorskip(lib)
    values = run_steps([
        ("import numpy as np", ["imports"]),
        ("import xgboost as xgb\nimport scipy.sparse as sp\nimport polars as pl\n"
         "rng = np.random.default_rng(0)\n"
         "X = rng.random((40, 3))\ny = (X[:, 0] > 0.5).astype(int)\n"
         "dtrain = xgb.DMatrix(X, label=y, feature_names=['a', 'b', 'c'])\n"
         "features = sp.random(50, 20, density=0.1, format='csr', random_state=1)\n"
         "frame = pl.DataFrame({'id': range(5), 'name': ['a', 'b', 'c', 'd', 'e']})", ["step:make"]),
        ("booster = xgb.train({'max_depth': 2, 'objective': 'binary:logistic'}, dtrain, num_boost_round=4)\n"
         "assert dtrain.feature_names == ['a', 'b', 'c'] and dtrain.num_row() == 40\n"
         "nnz = features.nnz\n"
         "names = frame.filter(pl.col('id') > 2)['name'].to_list()", ["step:train"]),
        ("expected = xgb.train({'max_depth': 2, 'objective': 'binary:logistic'},\n"
         "                     xgb.DMatrix(X, label=y, feature_names=['a', 'b', 'c']), num_boost_round=4)\n"
         "np.testing.assert_allclose(booster.predict(dtrain), expected.predict(dtrain))\n"
         "assert nnz == features.nnz == 100 and type(features).__name__ == 'csr_matrix'\n"
         "assert names == ['d', 'e'] and frame.shape == (5, 2)", ["step:check"]),
    ], tmp_path)
    made = {n: e["format"] for n, e in runtime.read_manifest(values, "make").items()}
    assert made == {"X": "npy", "y": "npy", "dtrain": "xgboost-dmatrix", "features": "scipy-sparse",
                    "frame": "polars"}
    assert runtime.read_manifest(values, "train")["booster"]["format"] == "xgboost-booster"


@pytest.mark.heavy_ml
def test_torch_module_and_keras_model_between_steps(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    values = run_steps([
        ("import os\nos.environ.setdefault('CUDA_VISIBLE_DEVICES', '')\nimport numpy as np", ["imports"]),
        ("import torch\n"
         "class Net(torch.nn.Module):  # defined in the notebook: travels by value\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.fc = torch.nn.Linear(3, 1)\n"
         "    def forward(self, x):\n"
         "        return self.fc(x) * 2\n"
         "torch.manual_seed(0)\nnet = Net()\nprobe = torch.arange(6.0).reshape(2, 3)\n"
         "want_torch = net(probe).detach().numpy()\n"
         "import keras\n"
         "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation='relu'),\n"
         "                          keras.layers.Dense(1)])\n"
         "model.compile(optimizer='adam', loss='mse')\n"
         "Xk = np.arange(12.0, dtype='float32').reshape(4, 3)\n"
         "model.fit(Xk, Xk.sum(axis=1), epochs=2, verbose=0)\n"
         "want_keras = model.predict(Xk, verbose=0)", ["step:make"]),
        ("np.testing.assert_allclose(net(probe).detach().numpy(), want_torch)\n"
         "assert type(net).__name__ == 'Net'\n"
         "np.testing.assert_allclose(model.predict(Xk, verbose=0), want_keras, rtol=1e-6)\n"
         "model.fit(Xk, Xk.sum(axis=1), epochs=1, verbose=0)  # still trainable: optimizer state came along",
         ["step:use"]),
    ], tmp_path)
    made = {n: e["format"] for n, e in runtime.read_manifest(values, "make").items()}
    assert made["net"] == "torch" and made["model"] == "keras" and made["probe"] == "torch"

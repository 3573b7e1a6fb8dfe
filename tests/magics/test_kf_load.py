"""`%kf_load` and `jupyter_kf.load_value` in a real kernel: values of a run back in the notebook."""

from __future__ import annotations


PIPE = [
    ("import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression", ["imports"]),
    ("X = np.arange(40, dtype=float).reshape(20, 2)\ny = (X[:, 0] > 20).astype(int)\n"
     "df = pd.DataFrame(X, columns=['a', 'b']).assign(label=y)", ["step:data"]),
    ("model = LogisticRegression(C=0.5).fit(X, y)", ["step:train"]),
    ("score = float(model.score(X, y))\nrows = len(df)", ["step:evaluate"]),
    ("score", ["pipeline-metrics"]),
]

EXPECTED = (
    "import numpy as np, pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "X2 = np.arange(40, dtype=float).reshape(20, 2)\ny2 = (X2[:, 0] > 20).astype(int)\n"
    "df2 = pd.DataFrame(X2, columns=['a', 'b']).assign(label=y2)\n"
    "model2 = LogisticRegression(C=0.5).fit(X2, y2)\n"
)


def test_kf_load_brings_equal_values_into_the_kernel(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    assert kernel.execute("%load_ext jupyter_kf").status == "ok"
    res = kernel.execute("%kf_run --notebook pipe.ipynb", timeout=300)
    assert res.status == "ok", res.error
    (run_id,) = [p.name for p in (tmp_path / "work" / "kf-runs").iterdir() if (p / "steps").is_dir()]

    # default: the latest successful run, the values its last step saw
    res = kernel.execute("%kf_load --notebook pipe.ipynb")
    assert res.status == "ok", res.error
    table = "".join(res.texts())
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert set(rows) == {"X", "y", "df", "model"}, table
    assert "ndarray" in rows["X"] and "data / " + run_id in rows["X"]
    assert "DataFrame" in rows["df"] and "LogisticRegression" in rows["model"] and "train / " in rows["model"]
    assert "320 B" in rows["X"] or "448 B" in rows["X"]  # 40 float64 (+ the .npy header)

    check = kernel.execute(
        EXPECTED
        + "assert isinstance(X, np.memmap), type(X)\n"  # memory-mapped, not read into memory
        + "assert np.array_equal(X, X2) and np.array_equal(y, y2)\n"
        + "pd.testing.assert_frame_equal(df, df2)\n"
        + "assert (model.predict(X2) == model2.predict(X2)).all()\n"
        + "assert np.allclose(model.predict_proba(X2), model2.predict_proba(X2))\n"
        + "print('equal')"
    )
    assert check.status == "ok", check.error
    assert "equal" in "".join(check.texts())

    # explicit run, step and name; and the Python API
    res = kernel.execute(f"del X\n%kf_load {run_id} data X")
    assert res.status == "ok", res.error
    assert kernel.execute("assert np.array_equal(X, X2)").status == "ok"
    api = kernel.execute(
        f"import jupyter_kf\nm = jupyter_kf.load_value({run_id!r}, 'train', 'model')\n"
        "assert (m.predict(X2) == model2.predict(X2)).all(); print(type(m).__name__)"
    )
    assert api.status == "ok", api.error
    assert "LogisticRegression" in "".join(api.texts())

    # a name the step never saw is refused, naming what it saw
    bad = kernel.execute(f"%kf_load {run_id} evaluate nope")
    assert bad.status == "error"
    said = "".join(bad.texts())  # a UsageError: one message on stderr, no traceback
    assert "saw no value 'nope'" in said and "model" in said and "Traceback" not in said

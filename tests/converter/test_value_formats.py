"""The value-format registry: each format round-trips its values, is chosen by type name without
importing anything, falls back to pickle for what it cannot store, and third parties add formats
through an entry point. Libraries that are not installed skip their case."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jupyter_kf_converter.runtime import StepValues, UnpicklableValueError, read_manifest
from jupyter_kf_converter.runtime.registry import ValueFormat, candidates


def roundtrip(tmp_path: Path, value: object, name: str = "v") -> tuple[object, str]:
    out = StepValues(tmp_path, "producer")
    out.save(name, value, ["consumer"])
    out.finish()
    fmt = read_manifest(tmp_path, "producer")[name]["format"]
    return StepValues(tmp_path, "consumer").load(name, producer="producer"), fmt


def test_scipy_sparse_matrices_and_arrays(tmp_path: Path) -> None:
    sp = pytest.importorskip("scipy.sparse")
    for value in (sp.csr_matrix(np.eye(4) * 3), sp.csc_array(np.arange(12.0).reshape(3, 4)), sp.coo_matrix(np.eye(2))):
        back, fmt = roundtrip(tmp_path, value)
        assert fmt == "scipy-sparse" and type(back) is type(value)
        assert (back != value).nnz == 0
    back, fmt = roundtrip(tmp_path, sp.lil_matrix(np.eye(3)))  # save_npz cannot: pickle takes it
    assert fmt == "pickle" and back.format == "lil" and (back != sp.eye(3)).nnz == 0


def test_arrow_and_polars_tables(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"a": [1, 2, None], "b": ["x", "y", "z"]})
    back, fmt = roundtrip(tmp_path, table)
    assert fmt == "arrow" and back.equals(table)
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"a": [1, 2, 3], "when": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 3), eager=True),
                          "cat": pl.Series(["u", "v", "u"], dtype=pl.Categorical)})
    back, fmt = roundtrip(tmp_path, frame)
    assert fmt == "polars" and back.equals(frame) and back.schema == frame.schema
    objects = pl.DataFrame({"o": pl.Series([object(), object()], dtype=pl.Object)})
    assert candidates(objects)[0].name == "polars"
    with pytest.raises(UnpicklableValueError):  # IPC refuses Object columns and so does pickle
        roundtrip(tmp_path, objects)


def test_xgboost_dmatrix_and_booster(tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 3)), rng.integers(0, 2, 30)
    dtrain = xgb.DMatrix(X, label=y, feature_names=["f1", "f2", "f3"])
    back, fmt = roundtrip(tmp_path, dtrain, "dtrain")
    assert fmt == "xgboost-dmatrix"
    assert (back.num_row(), back.num_col(), back.feature_names) == (30, 3, ["f1", "f2", "f3"])
    np.testing.assert_array_equal(back.get_label(), y.astype(np.float32))
    booster = xgb.train({"max_depth": 2}, dtrain, num_boost_round=3)
    back, fmt = roundtrip(tmp_path, booster, "booster")
    assert fmt == "xgboost-booster"
    np.testing.assert_array_equal(back.predict(dtrain), booster.predict(dtrain))


def test_lightgbm_booster(tmp_path: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(1)
    X, y = rng.random((60, 4)), rng.random(60)
    booster = lgb.train({"verbose": -1, "num_leaves": 4}, lgb.Dataset(X, label=y), num_boost_round=3)
    back, fmt = roundtrip(tmp_path, booster)
    assert fmt == "lightgbm-booster"
    np.testing.assert_allclose(back.predict(X), booster.predict(X))


def test_sklearn_estimators_use_joblib_unless_they_hold_notebook_code(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    X = np.arange(20.0).reshape(10, 2)
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, X[:, 0] * 2)
    back, fmt = roundtrip(tmp_path, model)
    assert fmt == "sklearn-joblib"
    np.testing.assert_allclose(back.predict(X), model.predict(X))

    # A function defined in the notebook (the producer kernel's __main__) must travel by value:
    # the consumer kernel's __main__ does not have it.
    namespace: dict = {"__name__": "__main__"}
    exec("def plus_one(a):\n    return a + 1", namespace)
    monkeypatch.setattr(sys.modules["__main__"], "plus_one", namespace["plus_one"], raising=False)
    out = StepValues(tmp_path, "producer")
    out.save("t", FunctionTransformer(namespace["plus_one"]), ["consumer"])
    out.finish()
    monkeypatch.delattr(sys.modules["__main__"], "plus_one")
    back = StepValues(tmp_path, "consumer").load("t", producer="producer")
    assert read_manifest(tmp_path, "producer")["t"]["format"] == "pickle" and back.func(1) == 2


def test_pil_images_as_png_unless_the_mode_is_not_kept(tmp_path: Path) -> None:
    Image = pytest.importorskip("PIL.Image")
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), "RGB")
    back, fmt = roundtrip(tmp_path, image)
    assert fmt == "pil-png" and back.mode == "RGB" and back.tobytes() == image.tobytes()
    cmyk = image.convert("CMYK")
    back, fmt = roundtrip(tmp_path, cmyk)
    assert fmt == "pickle" and back.mode == "CMYK" and back.tobytes() == cmyk.tobytes()


@pytest.mark.heavy_ml
def test_torch_tensors_and_modules(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6.0).reshape(2, 3)
    back, fmt = roundtrip(tmp_path, tensor)
    assert fmt == "torch" and torch.equal(back, tensor)
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    back, fmt = roundtrip(tmp_path, module)
    assert fmt == "torch"
    assert torch.equal(back(tensor), module(tensor))


def test_candidates_come_from_type_names_without_importing_the_library() -> None:
    """A class that merely *names itself* like XGBoost's DMatrix is routed to its format: the
    registry looked at names only (what it then imports is the format's business, at save time)."""
    fake = type("DMatrix", (), {"__module__": "xgboost.core"})()
    assert [f.name for f in candidates(fake)] == ["xgboost-dmatrix", "pickle"]
    sub = type("Net", (type("Module", (), {"__module__": "torch.nn.modules.module"}),), {"__module__": "__main__"})()
    assert [f.name for f in candidates(sub)] == ["torch", "pickle"]
    assert [f.name for f in candidates({"a": 1})] == ["pickle"]


LAZY = """
import json, sys
from pathlib import Path
from jupyter_kf_converter.runtime import StepValues
import numpy as np
out = StepValues("kf-values", "p")
out.save("arr", np.arange(3), ["c"])
out.save("d", {"k": 1}, ["c"])
out.finish()
heavy = ("pandas", "pyarrow", "polars", "scipy", "torch", "xgboost", "lightgbm", "sklearn", "PIL", "keras")
after_save = sorted(m for m in heavy if m in sys.modules)
StepValues("kf-values", "c").load("arr", producer="p")
StepValues("kf-values", "c").load("d", producer="p")
print(json.dumps({"after_save": after_save, "after_load": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_saving_and_loading_import_only_the_value_s_own_library(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", LAZY], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"after_save": [], "after_load": []}


ENTRY_POINT_FORMAT = """
from jupyter_kf_converter.runtime.registry import ValueFormat
FORMAT = ValueFormat("reversed-text", "rtxt", ("thirdparty_types.Text",), "thirdparty_codec")
"""
CODEC = """
from pathlib import Path
import thirdparty_types
def write(value, path):
    Path(path).write_text(value.text[::-1])
def read(path):
    return thirdparty_types.Text(Path(path).read_text()[::-1])
"""
TYPES = """
class Text:
    def __init__(self, text):
        self.text = text
"""


def test_third_party_formats_come_through_the_entry_point_group(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "thirdparty_fmt-1.0.dist-info").mkdir(parents=True)
    (site / "thirdparty_fmt-1.0.dist-info" / "METADATA").write_text("Name: thirdparty-fmt\nVersion: 1.0\n")
    (site / "thirdparty_fmt-1.0.dist-info" / "entry_points.txt").write_text(
        "[jupyter_kf.value_formats]\nreversed-text = thirdparty_spec:FORMAT\n")
    (site / "thirdparty_spec.py").write_text(ENTRY_POINT_FORMAT)
    (site / "thirdparty_codec.py").write_text(CODEC)
    (site / "thirdparty_types.py").write_text(TYPES)
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, "site")
        import thirdparty_types
        from jupyter_kf_converter.runtime import StepValues, read_manifest
        out = StepValues("kf-values", "p")
        out.save("t", thirdparty_types.Text("hello"), ["c"])
        out.finish()
        back = StepValues("kf-values", "c").load("t", producer="p")
        stored = open("kf-values/p/t.rtxt").read()
        print(json.dumps([read_manifest("kf-values", "p")["t"]["format"], stored, back.text]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["reversed-text", "olleh", "hello"]


def test_a_format_not_installed_where_the_value_is_loaded_is_named(tmp_path: Path) -> None:
    out = StepValues(tmp_path, "p")
    out.save("v", [1], ["c"])
    out.finish()
    manifest = tmp_path / "p" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["v"]["format"] = "exotic"
    manifest.write_text(json.dumps(data))
    with pytest.raises(LookupError, match="no installed value format is called 'exotic'.*jupyter_kf.value_formats"):
        StepValues(tmp_path, "c").load("v", producer="p")


def test_value_format_fields() -> None:
    fmt = ValueFormat("x", "x", ("a.b.*",), "m")
    assert fmt.matches(["a.b.C"]) and not fmt.matches(["a.c.C"])


@pytest.mark.heavy_ml
def test_keras_models(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    X = np.arange(12.0, dtype="float32").reshape(4, 3)
    model.fit(X, X.sum(axis=1), epochs=1, verbose=0)
    back, fmt = roundtrip(tmp_path, model)
    assert fmt == "keras"
    np.testing.assert_allclose(back.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)

"""The in-kernel runtime: each format's round trip, atomic writes, manifests, metrics, errors."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_kf_converter import runtime
from jupyter_kf_converter.runtime import MissingInputError, StepValues, UnpicklableValueError, read_manifest


def roundtrip(tmp_path: Path, value: object, name: str = "v") -> tuple[object, dict]:
    producer = StepValues(tmp_path / "kf-values", "prod")
    producer.save(name, value, consumers=["cons"])
    producer.finish()
    entry = runtime.read_manifest(tmp_path / "kf-values", "prod")[name]
    return StepValues(tmp_path / "kf-values", "cons").load(name, producer="prod"), entry


def test_numpy_array_is_npy_and_memory_mapped_copy_on_write(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    back, entry = roundtrip(tmp_path, arr)
    assert entry["format"] == "npy" and entry["type"] == "numpy.ndarray"
    assert isinstance(back, np.memmap) and back.dtype == np.float32
    np.testing.assert_array_equal(back, arr)
    back[0, 0] = 99  # a consumer may modify its input; the saved file must not change
    again = StepValues(tmp_path / "kf-values", "c2").load("v", producer="prod")
    assert again[0, 0] == 0


def test_numpy_edge_cases(tmp_path: Path) -> None:
    empty, entry = roundtrip(tmp_path, np.zeros((0, 3)), "empty")
    assert entry["format"] == "npy" and empty.shape == (0, 3)
    objects, entry = roundtrip(tmp_path, np.array([{"a": 1}, None], dtype=object), "objs")
    assert entry["format"] == "pickle" and objects[0] == {"a": 1}
    fortran, _ = roundtrip(tmp_path, np.asfortranarray(np.arange(6).reshape(2, 3)), "f")
    np.testing.assert_array_equal(fortran, np.arange(6).reshape(2, 3))
    structured = np.array([(1, 2.5)], dtype=[("i", "i4"), ("x", "f8")])
    back, entry = roundtrip(tmp_path, structured, "rec")
    assert entry["format"] == "npy" and back.dtype == structured.dtype and back[0]["x"] == 2.5
    matrix, entry = roundtrip(tmp_path, np.ma.masked_array([1, 2], mask=[0, 1]), "masked")
    assert entry["format"] == "pickle" and matrix.mask.tolist() == [False, True]


def test_frame_parquet_keeps_index_dtypes_and_names(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "i": np.arange(3, dtype=np.int16),
            "f": [0.5, np.nan, 2.0],
            "s": ["a", "b", None],
            "c": pd.Categorical(["x", "y", "x"]),
            "t": pd.date_range("2024-01-01", periods=3, tz="UTC"),
            "n": pd.array([1, None, 3], dtype="Int64"),
        },
        index=pd.Index([10, 20, 30], name="key"),
    )
    back, entry = roundtrip(tmp_path, frame)
    assert entry["format"] == "parquet"
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.index.name == "key"


def test_frame_multiindex_roundtrips(tmp_path: Path) -> None:
    index = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=index)
    back, _ = roundtrip(tmp_path, frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"l": [[1, 2], [3]]}),  # lists come back from parquet as arrays
        pd.DataFrame({"m": [1, "a"]}),  # mixed object column: parquet refuses it
        pd.DataFrame({"d": [Decimal("1.10"), {"x": 1}]}),
        pd.DataFrame([[1, 2]], columns=["a", "a"]),  # duplicate column names
        pd.DataFrame({1: [1], "b": [2]}),  # parquet turns the column name 1 into "1"
        pd.DataFrame({"s": pd.Series(["x", "y"], dtype=object)}),  # object -> str dtype
        pd.DataFrame(np.zeros((1, 2))),  # RangeIndex columns come back as a plain Index
    ],
    ids=["lists", "mixed", "objects", "dup-columns", "int-column-name", "object-strings", "range-columns"],
)
def test_frame_parquet_cannot_represent_falls_back_to_pickle(tmp_path: Path, frame: pd.DataFrame) -> None:
    back, entry = roundtrip(tmp_path, frame)
    assert entry["format"] == "pickle" and entry["type"] == "pandas.DataFrame"
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert not (tmp_path / "kf-values/prod/v.parquet").exists()


def test_frame_without_pyarrow_uses_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "pyarrow" else real(n, *a))
    back, entry = roundtrip(tmp_path, pd.DataFrame({"a": [1, 2]}))
    assert entry["format"] == "pickle"
    assert back["a"].tolist() == [1, 2]


def test_pickle_carries_notebook_functions_and_closures(tmp_path: Path) -> None:
    offset = 7

    def shift(v: int) -> int:
        return v + offset

    back, entry = roundtrip(tmp_path, {"f": shift, "g": lambda v: v * 2, "n": 3})
    assert entry["format"] == "pickle" and entry["type"] == "dict"
    assert back["f"](1) == 8 and back["g"](4) == 8 and back["n"] == 3


def test_manifest_hash_and_size_match_the_file(tmp_path: Path) -> None:
    values = StepValues(tmp_path / "kf-values", "s")
    values.save("arr", np.arange(1000))
    values.save("obj", {"k": list(range(50))})
    values.save("df", pd.DataFrame({"a": range(5)}))
    values.finish()
    manifest = json.loads((tmp_path / "kf-values/s/manifest.json").read_text())
    assert set(manifest) == {"arr", "obj", "df"}
    for name, entry in manifest.items():
        data = (tmp_path / f"kf-values/s/{name}.{ {'npy': 'npy', 'parquet': 'parquet', 'pickle': 'pkl'}[entry['format']] }").read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert runtime.read_manifest(tmp_path / "kf-values", "s") == manifest
    # Same content, same hash: the cache key is stable across runs.
    again = StepValues(tmp_path / "other", "s")
    again.save("arr", np.arange(1000))
    assert again.saved["arr"]["sha256"] == manifest["arr"]["sha256"]


def test_unpicklable_value_names_value_type_and_steps(tmp_path: Path) -> None:
    values = StepValues(tmp_path / "kf-values", "load")
    with pytest.raises(UnpicklableValueError) as err:
        values.save("conn", sqlite3.connect(":memory:"), consumers=["train"])
    assert str(err.value).startswith("cannot pass 'conn' (sqlite3.Connection) from step 'load' to step 'train': ")
    with pytest.raises(UnpicklableValueError, match=r"'lock' \(dict\) from step 'load' to steps 'a', 'b': .*'_thread.lock'"):
        values.save("lock", {"inner": threading.Lock()}, consumers=["a", "b"])
    assert not list((tmp_path / "kf-values/load").iterdir())  # no temp file or half value left


def test_missing_input_names_value_steps_and_path(tmp_path: Path) -> None:
    values_dir = tmp_path / "kf-values"
    consumer = StepValues(values_dir, "train")
    with pytest.raises(MissingInputError) as err:
        consumer.load("X", producer="prepare")
    message = str(err.value)
    assert "step 'train' needs 'X' from step 'prepare'" in message
    assert str(values_dir / "prepare" / "manifest.json") in message
    assert str(values_dir / "prepare" / "X.") in message

    producer = StepValues(values_dir, "prepare")
    producer.save("y", 1)
    producer.finish()
    with pytest.raises(MissingInputError, match=r"did not save it .*lists: y"):
        consumer.load("X", producer="prepare")
    with open(values_dir / "prepare" / "y.pkl", "ab") as f:
        f.write(b"junk")
    with pytest.raises(MissingInputError, match=r"y\.pkl has \d+ bytes where .*manifest.json says \d+"):
        consumer.load("y", producer="prepare")
    (values_dir / "prepare" / "y.pkl").unlink()
    with pytest.raises(MissingInputError, match=r"y\.pkl does not exist"):
        consumer.load("y", producer="prepare")


def test_read_manifest_of_unfinished_step(tmp_path: Path) -> None:
    StepValues(tmp_path, "s").save("a", 1)  # saved but not finished
    with pytest.raises(FileNotFoundError, match="step 's' has no manifest"):
        runtime.read_manifest(tmp_path, "s")


def test_killed_write_leaves_no_half_value(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self):
            raise KeyboardInterrupt  # as if the kernel were interrupted mid-write

    values = StepValues(tmp_path, "s")
    values.save("v", [1, 2])
    values.finish()
    with pytest.raises(KeyboardInterrupt):
        values.save("v", [list(range(10_000)), Boom()])
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["manifest.json", "v.pkl"]
    assert runtime.load_value(tmp_path, "s", "v") == [1, 2]  # the previous value is intact


def test_format_change_removes_the_old_file(tmp_path: Path) -> None:
    values = StepValues(tmp_path, "s")
    values.save("v", np.arange(3))
    values.save("v", "now text")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["v.pkl"]


def test_values_dir_made_absolute_at_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    values = StepValues("kf-values", "s")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # a step cell changing folder
    values.save("v", 1)
    assert (tmp_path / "kf-values/s/v.pkl").exists()


def test_metrics_keep_numbers_and_print(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = StepValues(tmp_path, "eval")
    values.save_metrics(
        {"acc": np.float32(0.75), "n": np.int64(3), "ok": True, "loss": 0.125, "bad": float("nan"), "name": "x"}
    )
    metrics = runtime.read_metrics(tmp_path, "eval")
    assert metrics == {"acc": 0.75, "n": 3, "ok": True, "loss": 0.125, "bad": "nan", "name": "x"}
    assert type(metrics["n"]) is int and type(metrics["acc"]) is float
    out = capsys.readouterr().out
    assert "metric acc = 0.75" in out and "metric n = 3" in out
    assert runtime.read_metrics(tmp_path, "none") == {}


def test_function_from_a_kernel_cell_hashes_the_same_in_every_kernel(tmp_path: Path) -> None:
    source = "def outer(v):\n    def inner(w):\n        return w * 3\n    return inner(v) + 1\n"
    hashes = []
    for pid in (1111, 2222):  # ipykernel names each cell's code after its process id
        namespace: dict = {"__name__": "__main__"}
        exec(compile(source, f"/tmp/ipykernel_{pid}/3301234.py", "exec"), namespace)
        values = StepValues(tmp_path / str(pid), "s")
        values.save("outer", namespace["outer"])
        hashes.append(values.saved["outer"]["sha256"])
    assert hashes[0] == hashes[1]
    values.finish()
    outer = runtime.load_value(tmp_path / "2222", "s", "outer")
    assert outer(2) == 7


def test_function_from_a_kernel_cell_pickles_the_same_in_two_real_processes(tmp_path: Path) -> None:
    """The property cache keys rely on, across real interpreters: a notebook function defined in a
    fresh process under ipykernel's per-process cell file name hashes the same in each one."""
    import subprocess
    import sys

    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from jupyter_kf_converter.runtime import StepValues\n"
        "src = 'def outer(v):\\n    scale = 3\\n    return (lambda w: w * scale)(v) + 1\\n'\n"
        "ns = {'__name__': '__main__'}\n"
        "exec(compile(src, f'/tmp/ipykernel_{os.getpid()}/3301234.py', 'exec'), ns)\n"
        "values = StepValues(Path(sys.argv[1]), 's')\n"
        "values.save('outer', ns['outer'])\n"
        "print(values.saved['outer']['sha256'])\n"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / str(i))], check=True, capture_output=True, text=True
        ).stdout.strip()
        for i in range(2)
    }
    assert len(hashes) == 1 and len(next(iter(hashes))) == 64


def test_without_cloudpickle_the_standard_pickle_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # `import cloudpickle` now fails
    back, entry = roundtrip(tmp_path, {"a": (1, 2.5, "x")})
    assert entry["format"] == "pickle" and back == {"a": (1, 2.5, "x")}
    with pytest.raises(UnpicklableValueError, match=r"^cannot pass 'f' \(function\) from step 's' to step 't': "):
        StepValues(tmp_path, "s").save("f", lambda v: v, consumers=["t"])


def test_save_outputs_names_an_output_the_step_did_not_define(tmp_path: Path) -> None:
    from jupyter_kf_converter.runtime import MissingOutputError

    values = StepValues(tmp_path, "prep")
    namespace = {"y": 2, "namespace": 3}  # an output may be named like save_outputs' own parameter
    with pytest.raises(MissingOutputError) as err:
        values.save_outputs(namespace, x=["train"], y=["train", "report"], z=["report", "eval"])
    assert str(err.value) == (
        "step 'prep' did not define 'x', which step 'train' needs; nor 'z', which steps 'report', 'eval' "
        "need (is it only assigned under a condition?)"
    )
    assert isinstance(err.value, NameError) and values.saved == {}  # nothing saved half-way
    values.save_outputs(namespace, y=["train"], namespace=["train"])
    values.finish()
    assert set(runtime.read_manifest(tmp_path, "prep")) == {"y", "namespace"}
    assert StepValues(tmp_path, "train").load("namespace", producer="prep") == 3


def test_containers_of_other_outputs_keep_object_identity(tmp_path: Path) -> None:
    a, b = {"x": 1}, {"x": 2}
    out = StepValues(tmp_path, "p")
    out.save_outputs({"a": a, "b": b, "both": [a, b], "named": {"first": a}, "mixed": [a, 3],
                      "nested": [[a, b]]}, a=["c"], b=["c"], both=["c"], named=["c"], mixed=["c"], nested=["c"])
    out.finish()
    manifest = read_manifest(tmp_path, "p")
    assert {n: e["format"] for n, e in manifest.items()} == {
        "a": "pickle", "b": "pickle", "both": "refs", "named": "refs", "mixed": "pickle", "nested": "pickle"}
    consumer = StepValues(tmp_path, "c")
    both, got_a, named = consumer.load("both", "p"), consumer.load("a", "p"), consumer.load("named", "p")
    assert both == [a, b] and both[0] is got_a and named["first"] is got_a
    both[1]["y"] = 1  # mutating through the container changes the value loaded as b
    assert consumer.load("b", "p") == {"x": 2, "y": 1}
    # the container's hash follows its items' content
    first = manifest["both"]["sha256"]
    b["x"] = 20
    again = StepValues(tmp_path, "p")
    again.save_outputs({"a": a, "b": b, "both": [a, b]}, a=["c"], b=["c"], both=["c"])
    assert again.saved["both"]["sha256"] != first

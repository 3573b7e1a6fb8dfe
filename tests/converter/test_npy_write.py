"""Arrays are saved as .npy in one pass (written and hashed at once): the file is what np.save
writes, the hash is the file's, and what numpy cannot view as plain bytes still saves."""

from __future__ import annotations

import hashlib
import io

import pytest

np = pytest.importorskip("numpy")

from jupyter_kf_converter.runtime import formats  # noqa: E402
from jupyter_kf_converter.runtime.builtin_formats import numpy_npy  # noqa: E402


@pytest.mark.parametrize(
    "value",
    [
        np.arange(10, dtype=np.int16),
        np.random.default_rng(1).random((300, 41)),
        np.zeros((0, 3)),
        np.array(["a", "bcd"]),
        np.arange(12).reshape(3, 4).T,  # not C-contiguous: np.save's path
        np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8")]),
        np.array(3.5),  # 0-d
        np.ones((1,) * 40),  # a long header
    ],
)
def test_npy_file_is_np_save_output_and_hash_is_the_files(value, tmp_path, monkeypatch):
    monkeypatch.setattr(numpy_npy, "PARALLEL_HASH_BYTES", 64)  # take the threaded path for larger ones
    target = tmp_path / "v.npy"
    digest, size = formats.write("npy", value, target)
    expected = io.BytesIO()
    np.save(expected, value, allow_pickle=False)
    data = target.read_bytes()
    assert data == expected.getvalue()
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    back = np.load(target, mmap_mode="r")
    assert back.dtype == value.dtype and np.array_equal(back, value)

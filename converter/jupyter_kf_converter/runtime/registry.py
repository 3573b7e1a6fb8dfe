"""The value-format registry: which formats can store a value, found from its type's name alone.

A :class:`ValueFormat` names the types it stores as ``module.QualName`` patterns (``fnmatch``
syntax) matched against the value's type and its bases, so finding the candidates imports nothing:
a value can only be a ``torch.Tensor`` if torch made it. The format's ``codec`` module (with
``write(value, path)`` and ``read(path)``) is imported only when a value of its type is saved, or
when a file in that format is loaded; so loading never imports a library the value does not need.

Third parties add formats like papermill's engines: an entry point in the group
``jupyter_kf.value_formats`` whose object is a :class:`ValueFormat` (or a dict of its fields).
Keep the module the entry point names light: it is imported when a value of a type no built-in
format names is saved, or when a value saved in an unknown format is loaded. A third-party
format is tried before built-in ones for the same type.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

ENTRY_POINT_GROUP = "jupyter_kf.value_formats"
_BUILTIN_CODECS = "jupyter_kf_converter.runtime.builtin_formats"


class Unfaithful(Exception):
    """The format cannot represent this value exactly; the caller falls back to the next one."""


@dataclass(frozen=True)
class ValueFormat:
    """One way to write a value to a file and read it back.

    ``name`` is recorded in the step's manifest; ``extension`` names the file (without the dot);
    ``types`` are ``fnmatch`` patterns over ``module.QualName`` of the value's type or a base;
    ``codec`` is the module with ``write(value, path)`` (may raise :class:`Unfaithful`; may return
    ``(sha256, bytes)`` when it hashed while writing) and
    ``read(path)``.
    """

    name: str
    extension: str
    types: tuple[str, ...]
    codec: str

    def matches(self, type_names: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(t, p) for t in type_names for p in self.types)


def _builtin(name: str, extension: str, types: tuple[str, ...], module: str) -> ValueFormat:
    return ValueFormat(name, extension, types, f"{_BUILTIN_CODECS}.{module}")


PICKLE = _builtin("pickle", "pkl", ("*",), "pickled")

#: Built-in formats, most specific first; pickle (cloudpickle when installed) takes the rest.
BUILTIN: tuple[ValueFormat, ...] = (
    _builtin("npy", "npy", ("numpy.ndarray",), "numpy_npy"),
    _builtin("parquet", "parquet", ("pandas.DataFrame", "pandas.core.frame.DataFrame"), "pandas_parquet"),
    _builtin("scipy-sparse", "npz", ("scipy.sparse.*",), "scipy_npz"),
    _builtin("arrow", "arrow", ("pyarrow.lib.Table",), "arrow_ipc"),
    _builtin("polars", "arrow", ("polars.dataframe.frame.DataFrame",), "polars_ipc"),
    _builtin("torch", "pt", ("torch.Tensor", "torch.nn.modules.module.Module"), "torch_save"),
    _builtin("keras", "keras", ("keras.src.models.model.Model", "keras.engine.training.Model",
                                "keras.src.engine.training.Model"), "keras_file"),
    _builtin("xgboost-dmatrix", "dmatrix", ("xgboost.core.DMatrix",), "xgboost_dmatrix"),
    _builtin("xgboost-booster", "ubj", ("xgboost.core.Booster",), "xgboost_booster"),
    _builtin("lightgbm-booster", "txt", ("lightgbm.basic.Booster",), "lightgbm_booster"),
    _builtin("sklearn-joblib", "joblib", ("sklearn.base.BaseEstimator",), "sklearn_joblib"),
    _builtin("pil-png", "png", ("PIL.Image.Image",), "pil_png"),
)


def type_names(value: Any) -> list[str]:
    """``module.QualName`` of the value's type and its bases, most derived first."""
    return [f"{c.__module__}.{c.__qualname__}" for c in type(value).__mro__ if c is not object]


@functools.lru_cache(maxsize=1)
def third_party() -> tuple[ValueFormat, ...]:
    """Formats registered through the ``jupyter_kf.value_formats`` entry point group (read once)."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        fmt = obj if isinstance(obj, ValueFormat) else ValueFormat(**{**obj, "types": tuple(obj["types"])})
        found.append(fmt)
    return tuple(found)


def candidates(value: Any) -> list[ValueFormat]:
    """Formats to try for ``value``, best first; pickle is always last."""
    names = type_names(value)
    if not names or names[0].startswith("builtins."):  # int, str, list, dict...: nothing to look up
        return [PICKLE]
    found: list[ValueFormat] = []
    for cls_name in names:  # the most derived type a format names decides the order
        for fmt in (*third_party(), *BUILTIN):
            if fmt not in found and fmt.matches([cls_name]):
                found.append(fmt)
    return [*found, PICKLE]


def get(name: str) -> ValueFormat:
    """The format recorded as ``name`` in a manifest; ``LookupError`` when none is installed."""
    for fmt in (PICKLE, *BUILTIN):
        if fmt.name == name:
            return fmt
    for fmt in third_party():
        if fmt.name == name:
            return fmt
    raise LookupError(
        f"no installed value format is called {name!r}: install the package that registers it "
        f"(entry point group {ENTRY_POINT_GROUP!r}) where this step runs"
    )

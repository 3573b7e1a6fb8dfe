"""scikit-learn estimators (and estimators of libraries built on it) with joblib.

joblib pickles by reference: an estimator holding a class or function defined in the notebook
(a custom transformer, ``FunctionTransformer(my_func)``) would not load in another step, so such
an estimator is handed to cloudpickle instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from ..registry import Unfaithful


def _from_notebook(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) if isinstance(obj, type) or callable(obj) else None
    return (module or type(obj).__module__) == "__main__"


def write(value: Any, path: Path) -> None:
    params = value.get_params(deep=True) if hasattr(value, "get_params") else {}
    if _from_notebook(value) or any(_from_notebook(v) for v in params.values()):
        raise Unfaithful("the estimator uses a class or function defined in the notebook")
    with open(path, "wb") as f:
        joblib.dump(value, f)


def read(path: Path) -> Any:
    return joblib.load(path)

"""jupyter-kf-converter: turn a tagged Jupyter notebook into a pipeline.

Importing the package is cheap; ``compile_notebook`` and friends are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["compile_notebook", "ConverterError", "Pipeline", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .errors import ConverterError
    from .ir import Pipeline
    from .plan import compile_notebook

_LAZY = {
    "compile_notebook": ("plan", "compile_notebook"),
    "ConverterError": ("errors", "ConverterError"),
    "Pipeline": ("ir", "Pipeline"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

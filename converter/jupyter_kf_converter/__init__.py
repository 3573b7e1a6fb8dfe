"""jupyter-kf-converter: turn a tagged Jupyter notebook into a pipeline.

Importing the package is cheap; ``compile_notebook`` and friends are imported on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["ConverterError", "Pipeline", "__version__", "compile_notebook"]

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (step kernels import this package)
if TYPE_CHECKING:  # pragma: no cover
    from .errors import ConverterError
    from .ir import Pipeline
    from .plan import compile_notebook

_LAZY = {
    "compile_notebook": ("plan", "compile_notebook"),
    "ConverterError": ("errors", "ConverterError"),
    "Pipeline": ("ir", "Pipeline"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

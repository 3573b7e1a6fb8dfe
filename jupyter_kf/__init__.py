"""jupyter-kf: the Jupyter side of notebook-to-pipeline (runner, run store, server extension, magics, CLI).

Importing this package is cheap: every entry point below imports its module lazily.
"""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_kf.extension"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-kf"}]


def load_ipython_extension(ipython) -> None:  # `%load_ext jupyter_kf`
    from .magics import load_ipython_extension as _load

    _load(ipython)


def load_value(run: str, step: str, name: str):  # noqa: ANN201 (any value)
    """The value ``name`` that step ``step`` of run ``run`` saw (numpy arrays memory-mapped)."""
    from .run_values import load_value as _load_value

    return _load_value(run, step, name)

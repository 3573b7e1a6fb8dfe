"""Which notebook is this kernel running? (the `%kf_*` magics act on that notebook's saved file)."""

from __future__ import annotations

import os
from pathlib import Path

HOW_TO_FIX = (
    "pass it explicitly, e.g. `{magic} --notebook my-notebook.ipynb` (a path relative to the "
    "kernel's working folder {cwd}). Kernels started by Jupyter server know their notebook through "
    "the JPY_SESSION_NAME environment variable, VS Code through __vsc_ipynb_file__; this kernel has neither"
)


class NotebookNotFound(Exception):
    """The calling notebook cannot be determined, or the given path is not a notebook."""


def _check(path: Path, how: str, magic: str) -> Path:
    if path.suffix != ".ipynb":
        raise NotebookNotFound(f"{magic}: {path} ({how}) is not a .ipynb notebook")
    if not path.is_file():
        raise NotebookNotFound(
            f"{magic}: {path} ({how}) does not exist: save the notebook first, or "
            + HOW_TO_FIX.format(cwd=Path.cwd(), magic=magic)
        )
    return path.resolve()


def _from_session_name(value: str) -> Path | None:
    """JPY_SESSION_NAME is an absolute path, or a path relative to the server root (older servers)."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path if path.suffix == ".ipynb" else None
    # Relative to the server root, which the kernel does not know: the kernel's cwd is the
    # notebook's folder by default, so try cwd and its parents as the root.
    cwd = Path.cwd()
    for base in (cwd, *cwd.parents):
        candidate = base / path
        if candidate.is_file():
            return candidate
    candidate = cwd / path.name
    return candidate if candidate.is_file() else None


def find_notebook(explicit: str | None = None, user_ns: dict | None = None, magic: str = "%kf_run") -> Path:
    """The notebook to act on: ``explicit``, else the kernel's own notebook; a clear error that
    names ``magic`` (the one called) otherwise."""
    if explicit:
        return _check(Path(explicit).expanduser(), "given with --notebook", magic)
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        found = _from_session_name(session)
        if found is not None:
            return _check(found, "from JPY_SESSION_NAME", magic)
    vsc = (user_ns or {}).get("__vsc_ipynb_file__")
    if isinstance(vsc, str) and vsc:
        return _check(Path(vsc), "from __vsc_ipynb_file__", magic)
    detail = f" (JPY_SESSION_NAME={session!r} is not a notebook file)" if session else ""
    raise NotebookNotFound(
        f"{magic}: cannot tell which notebook this kernel runs" + detail + ": "
        + HOW_TO_FIX.format(cwd=Path.cwd(), magic=magic)
    )

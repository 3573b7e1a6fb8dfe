"""Path safety for the REST API: every user-given path resolves inside the server's root.

Refused: empty paths and NUL bytes, absolute paths and `..` parts (400), paths that a symlink
leads out of the root (403), missing files (404), hidden files when the server hides them (404).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath


class PathError(ValueError):
    """A refused path; ``status`` is the HTTP status the REST API answers with."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _parts(path: str, field: str) -> tuple[str, ...]:
    if not isinstance(path, str) or not path.strip():
        raise PathError(400, f"{field}: a path relative to the server root is required", field)
    if "\x00" in path:
        raise PathError(400, f"{field}: the path contains a NUL byte", field)
    norm = path.replace("\\", "/")
    if norm.startswith("/") or os.path.isabs(path) or re.match(r"[A-Za-z]:", norm):
        raise PathError(400, f"{field}: absolute paths are not allowed ({path!r}); give a path relative to the server root", field)
    parts = tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))
    if ".." in parts:
        raise PathError(400, f"{field}: '..' is not allowed in paths ({path!r})", field)
    if not parts:
        raise PathError(400, f"{field}: {path!r} names the root folder, not a file", field)
    return parts


def resolve_in_root(
    root: Path | str,
    path: str,
    *,
    field: str = "notebook",
    must_exist: bool = True,
    allow_hidden: bool = True,
    suffix: str | None = None,
) -> Path:
    """The real path of ``path`` (relative to ``root``), refusing anything that leaves the root."""
    parts = _parts(path, field)
    if not allow_hidden and any(p.startswith(".") for p in parts):
        raise PathError(404, f"{field}: {path!r} not found (hidden files are not served)", field)
    if suffix and not parts[-1].endswith(suffix):
        raise PathError(400, f"{field}: {path!r} is not a {suffix} file", field)
    real_root = Path(root).resolve()
    try:
        real = real_root.joinpath(*parts).resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops, names too long
        raise PathError(400, f"{field}: cannot resolve {path!r}: {exc}", field) from None
    if real != real_root and not real.is_relative_to(real_root):
        raise PathError(403, f"{field}: {path!r} leads outside the server root (symlink)", field)
    if must_exist:
        try:
            ok = real.is_file()
        except OSError as exc:
            raise PathError(400, f"{field}: cannot read {path!r}: {exc}", field) from None
        if not ok:
            what = "is a folder, not a file" if real.is_dir() else "not found"
            raise PathError(400 if real.is_dir() else 404, f"{field}: {path!r} {what}", field)
    return real


def relative_to_root(root: Path | str, path: Path | str | None) -> str | None:
    """``path`` as a `/`-separated path relative to ``root``, or None when it is outside it."""
    if path is None:
        return None
    real_root = Path(root).resolve()
    try:
        rel = Path(path).resolve().relative_to(real_root)
    except (ValueError, OSError):
        return None
    return rel.as_posix()

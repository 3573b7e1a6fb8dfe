"""PIL images as lossless PNG, for the modes PNG keeps exactly; other modes go to pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from ..registry import Unfaithful

_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}


def write(value: Any, path: Path) -> None:
    if value.mode not in _PNG_MODES:
        raise Unfaithful(f"PNG does not store mode {value.mode!r} exactly")
    value.save(path, format="PNG")


def read(path: Path) -> Any:
    with Image.open(path) as image:
        image.load()  # read it all now: the file handle closes here
        return image

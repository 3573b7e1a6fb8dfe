"""Keras models as ``.keras`` files (architecture, weights and optimizer state). A model Keras
cannot serialise (e.g. a subclassed model without ``get_config``) falls back to pickle."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import keras


def write(value: Any, path: Path) -> None:
    # Keras insists on the .keras suffix: save beside the temporary file, then move it in place.
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".keras-") as tmp:
        target = os.path.join(tmp, "model.keras")
        value.save(target)
        keras.models.load_model(target)  # fail now, in the producer, if it cannot be read back
        os.replace(target, path)


def read(path: Path) -> Any:
    return keras.models.load_model(path)

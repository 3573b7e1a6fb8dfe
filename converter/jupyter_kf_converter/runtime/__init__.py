"""In-kernel runtime of step notebooks: save and load the values passed between steps.

Imports only the standard library; a value's library (numpy, pandas, torch...) and cloudpickle are
imported when a value needs them (value formats: :mod:`.registry`, :mod:`.formats`). Generated step notebooks use :class:`StepValues`; runners read
:func:`read_manifest` (content hashes for cache keys) and :func:`read_metrics`.
"""

from .values import (
    MANIFEST,
    METRICS,
    DiskFullError,
    MissingInputError,
    MissingOutputError,
    StepValues,
    UnpicklableValueError,
    ValueTransferError,
    load_value,
    read_manifest,
    read_metrics,
    save_metrics,
    save_value,
    step_folder,
)

__all__ = [
    "MANIFEST",
    "METRICS",
    "DiskFullError",
    "MissingInputError",
    "MissingOutputError",
    "StepValues",
    "UnpicklableValueError",
    "ValueTransferError",
    "load_value",
    "read_manifest",
    "read_metrics",
    "save_metrics",
    "save_value",
    "step_folder",
]

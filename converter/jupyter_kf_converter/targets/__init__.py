"""Cluster targets: a Pipeline IR as a Kubeflow Pipelines v2 spec or an Argo Workflow manifest.

``kfp`` and ``hera``/``kubernetes`` are imported only inside the target functions, so the
converter imports (and compiles to the other targets) without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..ir import Pipeline
from .options import ExtraVolume, TargetError, TargetOptions

TARGETS = ("kfp", "argo", "kfp-local")
# kfp-local: the KFP spec for KFP's local runner (kfp.local runs only lightweight Python
# components, not KFP's CreatePVC): no run volume, the steps work in the folder kfp.local is
# started from; kfp.local's SubprocessRunner runs them in its own Python, whatever the image.
KFP_LOCAL = {"volume": False, "workdir": ".", "image": "python:3"}

__all__ = ["TARGETS", "ExtraVolume", "TargetError", "TargetOptions", "compile_target", "write_target"]


def compile_target(pipeline: Pipeline, target: str, **options: Any) -> str:
    """The pipeline as YAML text for ``target`` ('kfp' or 'argo'); options are TargetOptions fields."""
    if target == "kfp-local":
        options = {**KFP_LOCAL, **options}
    opts = TargetOptions.from_kwargs(**options)
    if target in ("kfp", "kfp-local"):
        try:
            from .kfp import compile_kfp
        except ImportError as exc:  # the kfp extra is missing
            raise TargetError(
                f"target 'kfp' needs the kfp SDK: pip install 'jupyter-kf-converter[kfp]' ({exc})"
            ) from None
        return compile_kfp(pipeline, opts)
    if target == "argo":
        from .argo import workflow_yaml

        return workflow_yaml(pipeline, opts)
    raise TargetError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")


def write_target(pipeline: Pipeline, target: str, path: str | Path, **options: Any) -> Path:
    """Compile for ``target`` and write the YAML to ``path`` (nothing is written on error)."""
    text = compile_target(pipeline, target, **options)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out

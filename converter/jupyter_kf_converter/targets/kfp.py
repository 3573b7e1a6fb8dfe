"""Pipeline IR -> a Kubeflow Pipelines v2 pipeline, built from the kfp SDK's own objects.

Every step is a lightweight Python component (no package installed at start-up) running
``kfp_component.jupyter_kf_step``: papermill on the step's emitted notebook, carried as a constant
input. Pipeline parameters become typed KFP pipeline parameters; values between steps live on the
shared run volume (restored from the notebook's VolumeSnapshot when one is given).
"""

from __future__ import annotations

import inspect
from typing import Any

from ..ir import Pipeline
from .options import (
    TargetError,
    TargetOptions,
    check_pipeline,
    emitted_notebook_json,
    parameter_types,
    snapshot_data_source,
    step_cache,
    step_image,
    step_limits,
    step_timeout,
    warn_fallback_image,
)

PARAM_PREFIX = "param_"
_KFP_TYPES = {
    "int": "Integer",
    "float": "Float",
    "str": "String",
    "bool": "Boolean",
    "list": "List",
    "dict": "Dict",
}
_PY_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}


def build_pipeline(pipeline: Pipeline, options: TargetOptions | None = None):
    """Return a ``kfp`` GraphComponent (callable with kfp.local, compilable with kfp's Compiler)."""
    from kfp import dsl

    options = options or TargetOptions()
    check_pipeline(pipeline)
    warn_fallback_image(pipeline, options)
    notebooks = {s.name: _b64(emitted_notebook_json(pipeline, s)) for s in pipeline.steps}
    names = [p.name for p in pipeline.parameters]

    def body(*args: Any) -> None:
        channels = dict(zip(names, args, strict=True))
        work_pvc = _create_volume(pipeline, options)
        tasks: dict[str, Any] = {}
        for step in pipeline.steps:
            component = _step_component(pipeline, step, options)
            task = component(
                step=step.name,
                notebook=notebooks[step.name],
                workdir=options.workdir,
                **{PARAM_PREFIX + name: channels[name] for name in step.parameters},
                parameter_types=parameter_types(pipeline, step),
                cache_salt=options.snapshot or "",
            )
            _configure_task(task, pipeline, step, options, work_pvc)
            for upstream in step.depends_on:
                task.after(tasks[upstream])
            if work_pvc is not None:
                task.after(work_pvc)
            tasks[step.name] = task

    body.__signature__ = inspect.Signature([_signature_parameter(p) for p in pipeline.parameters])
    body.__annotations__ = {p.name: _PY_TYPES.get(p.type, str) for p in pipeline.parameters}
    body.__name__ = pipeline.name.replace("-", "_")
    return dsl.pipeline(name=pipeline.name, description=pipeline.description or f"From {pipeline.notebook}")(
        body
    )


def compile_kfp(pipeline: Pipeline, options: TargetOptions | None = None) -> str:
    """The pipeline as KFP v2 IR YAML (kfp's Compiler), ready to upload."""
    import tempfile
    from pathlib import Path

    from kfp import compiler

    graph = build_pipeline(pipeline, options)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(graph, str(out))
        return out.read_text()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _signature_parameter(param) -> inspect.Parameter:
    if param.type == "null":
        raise TargetError(
            f"parameter {param.name!r} (cell {param.cell + 1}): a None default has no KFP type; give it a value"
        )
    return inspect.Parameter(
        param.name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=param.default,
        annotation=_PY_TYPES[param.type],
    )


def _step_component(pipeline: Pipeline, step, options: TargetOptions):
    import warnings

    from kfp import dsl
    from kfp.dsl import structures
    from kfp.dsl.python_component import PythonComponent

    from .kfp_component import jupyter_kf_step

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        base = dsl.component(
            jupyter_kf_step,
            base_image=step_image(pipeline, step, options),
            install_kfp_package=False,
            packages_to_install=[],
        )
    spec = base.component_spec
    spec.name = step.name
    spec.description = f"Step {step.name!r} of {pipeline.notebook}"
    # Each pipeline parameter the step uses is a typed input of its own (read by the step from
    # its executor input): KFP resolves and types it, with no placeholder inside a struct.
    for name in step.parameters:
        spec.inputs[PARAM_PREFIX + name] = structures.InputSpec(
            type=_KFP_TYPES[pipeline.parameter(name).type]
        )
    return PythonComponent(component_spec=spec, python_func=jupyter_kf_step)


def _create_volume(pipeline: Pipeline, options: TargetOptions):
    if not options.volume:
        return None
    from kfp import kubernetes

    args: dict[str, Any] = {"access_modes": list(options.access_modes), "size": options.volume_size}
    if options.pvc_name:
        args["pvc_name"] = options.pvc_name
    else:
        args["pvc_name_suffix"] = "-kf-work"
    if options.storage_class:
        args["storage_class_name"] = options.storage_class  # unset: the cluster's default class
    if options.snapshot:
        args["data_source"] = snapshot_data_source(options.snapshot)
    # Never cached: a cache hit would hand out an earlier run's (deleted) claim.
    return kubernetes.CreatePVC(**args).set_display_name("run-volume").set_caching_options(False)


def _configure_task(task, pipeline: Pipeline, step, options: TargetOptions, work_pvc) -> None:
    from kfp import kubernetes

    task.set_display_name(step.name)
    cache = step_cache(pipeline, step, options)
    task.set_caching_options(cache)
    if step.retries:
        task.set_retry(num_retries=step.retries)
    try:
        for name, value in step_limits(step).items():
            if name == "cpu":
                task.set_cpu_limit(value)
            elif name == "memory":
                task.set_memory_limit(value)
            else:
                task.set_accelerator_type(name).set_accelerator_limit(value)
    except ValueError as exc:
        if isinstance(exc, TargetError):
            raise
        raise TargetError(f"step {step.name!r}: {exc}") from None
    timeout = step_timeout(step, options)
    if timeout:
        kubernetes.set_timeout(task, timeout)
    for name, value in options.env.items():
        task.set_env_variable(name, value)
    if options.image_pull_policy:
        kubernetes.set_image_pull_policy(task, options.image_pull_policy)
    if work_pvc is not None:
        kubernetes.mount_pvc(
            task,
            pvc_name=work_pvc.outputs["name"],
            mount_path=options.volume_mount,
            sub_path=options.sub_path,
        )

"""Pipeline IR -> a Kubeflow Pipelines v2 pipeline, built from the kfp SDK's own objects.

Every step is a lightweight Python component (no package installed at start-up) running
``kfp_component.jupyter_kf_step``: papermill on the step's emitted notebook, carried as a constant
input. Pipeline parameters become typed KFP pipeline parameters; values between steps live on the
shared run volume: an existing claim (``pvc_name``: the KFP backend creates it from the
notebook's VolumeSnapshot before the run) or, in an exported spec, one the pipeline creates.

The spec is for every KFP backend from 2.2.0 on (Kubeflow 1.9 and 1.10): nothing the drivers of
2.2-2.4 cannot parse (see kfp_compat), no ``CreatePVC(data_source=)`` (read from KFP 2.17 only)
and no mount ``subPath`` (read from 2.16 only).
"""

from __future__ import annotations

import inspect
import posixpath
from typing import Any

from ..ir import Pipeline
from .options import (
    SECRETS_DIR,
    SECRETS_ENV,
    SHM_PATH,
    TargetError,
    TargetOptions,
    check_pipeline,
    emitted_notebook_json,
    packed_notebook,
    parameter_types,
    step_cache,
    step_image,
    step_limits,
    step_node_selector,
    step_timeout,
    step_tolerations,
    warn_exported_read_write_once,
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
    warn_exported_read_write_once(pipeline, options)
    if options.volume and options.snapshot and not options.pvc_name:
        raise TargetError(
            "a KFP run volume restored from a snapshot must be created before the run (pvc_name): "
            "CreatePVC's data_source is read only by KFP 2.17 and later"
        )
    notebooks = {s.name: emitted_notebook_json(pipeline, s) for s in pipeline.steps}
    names = [p.name for p in pipeline.parameters]
    mount_path, workdir = volume_paths(options)

    def body(*args: Any) -> None:
        channels = dict(zip(names, args, strict=True))
        work_pvc = _create_volume(options)
        tasks: dict[str, Any] = {}
        for step in pipeline.steps:
            component = _step_component(pipeline, step, options)
            task = component(
                step=step.name,
                notebook=packed_notebook(step.name, notebooks[step.name]),
                workdir=workdir,
                **{PARAM_PREFIX + name: channels[name] for name in cache_parameters(pipeline, step)},
                parameter_types=parameter_types(pipeline, step),
                cache_salt=cache_salt(pipeline, step, options, notebooks),
            )
            _configure_task(task, pipeline, step, options, work_pvc, mount_path)
            for upstream in step.depends_on:
                task.after(tasks[upstream])
            if work_pvc is not None:
                task.after(work_pvc)
            tasks[step.name] = task
        if work_pvc is not None:
            last = [tasks[s.name] for s in pipeline.steps if not pipeline.dependents(s.name)]
            _delete_volume(work_pvc, last)

    body.__signature__ = inspect.Signature([_signature_parameter(p) for p in pipeline.parameters])
    body.__annotations__ = {p.name: _PY_TYPES.get(p.type, str) for p in pipeline.parameters}
    body.__name__ = pipeline.name.replace("-", "_")
    return dsl.pipeline(name=pipeline.name, description=pipeline.description or f"From {pipeline.notebook}")(
        body
    )


def compile_kfp(pipeline: Pipeline, options: TargetOptions | None = None) -> str:
    """The pipeline as KFP v2 IR YAML (kfp's Compiler), ready to upload to KFP 2.2.0 or later."""
    import tempfile
    from pathlib import Path

    import yaml
    from kfp import compiler

    from .kfp_compat import for_oldest_backend

    graph = build_pipeline(pipeline, options)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(graph, str(out))
        docs = [d for d in yaml.safe_load_all(out.read_text()) if d]
    for_oldest_backend(docs[0], docs[1] if len(docs) > 1 else None, (options or TargetOptions()).kfp_backend)
    return yaml.safe_dump_all(docs, sort_keys=False, width=120)


def volume_paths(options: TargetOptions) -> tuple[str, str]:
    """(where the run volume is mounted, the steps' working folder).

    KFP before 2.16 mounts a whole claim (no subPath): the notebook's folder, at ``sub_path``
    inside the claim, is then found under the mount point, and the working folder moves with it.
    """
    mount = options.volume_mount
    if not (options.volume and options.sub_path):
        return mount, options.workdir
    relative = posixpath.relpath(options.workdir, mount) if options.workdir.startswith(mount) else "."
    return mount, posixpath.normpath(posixpath.join(mount, options.sub_path.strip("/"), relative))


def ancestors(pipeline: Pipeline, step) -> list:
    """Every step whose outputs reach ``step`` through the run volume, in pipeline order."""
    seen: set[str] = set()
    todo = list(step.depends_on)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += pipeline.step(name).depends_on
    return [s for s in pipeline.steps if s.name in seen]


def cache_parameters(pipeline: Pipeline, step) -> list[str]:
    """The parameters that decide a step's result: its own and those of every ancestor (their
    values reach it on the volume). All are KFP inputs, so KFP's cache key covers them."""
    names = set(step.parameters)
    for upstream in ancestors(pipeline, step):
        names.update(upstream.parameters)
    return [p.name for p in pipeline.parameters if p.name in names]


def cache_salt(pipeline: Pipeline, step, options: TargetOptions, notebooks: dict[str, str]) -> str:
    """What KFP's cache key (inputs, command, image) cannot see: the code and image of the step's
    ancestors, and the data the run volume starts with (``data_key``, else the snapshot)."""
    import hashlib
    import json

    doc = {
        "ancestors": {
            s.name: [notebooks[s.name], step_image(pipeline, s, options)] for s in ancestors(pipeline, step)
        },
        "data": options.data_key or options.snapshot or "",
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()




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
    for name in cache_parameters(pipeline, step):
        spec.inputs[PARAM_PREFIX + name] = structures.InputSpec(
            type=_KFP_TYPES[pipeline.parameter(name).type]
        )
    return PythonComponent(component_spec=spec, python_func=jupyter_kf_step)


def _create_volume(options: TargetOptions):
    """An exported spec's run volume (None when the steps mount ``pvc_name`` or no volume)."""
    if not options.volume or options.pvc_name:
        return None
    from kfp import kubernetes

    return (
        kubernetes.CreatePVC(
            access_modes=list(options.access_modes),
            size=options.volume_size,
            pvc_name_suffix="-kf-work",
            # Always given: without it KFP's driver asks for a class literally named "standard";
            # "" leaves the claim's class unset, so the cluster's default class provisions it.
            storage_class_name=options.storage_class or "",
        )
        .set_display_name("run-volume")
        .set_caching_options(False)  # a cache hit would hand out an earlier run's (deleted) claim
    )


def _delete_volume(work_pvc, last_tasks: list) -> None:
    """Delete the exported spec's run volume once every step has succeeded. (A task that consumes
    the claim's name cannot ignore upstream failures, so a failed run keeps its volume.)"""
    from kfp import kubernetes

    task = kubernetes.DeletePVC(pvc_name=work_pvc.outputs["name"]).set_display_name("delete-run-volume")
    task.set_caching_options(False)
    for last in last_tasks:
        task.after(last)


def _configure_task(
    task, pipeline: Pipeline, step, options: TargetOptions, work_pvc, mount_path: str
) -> None:
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
    if options.image_pull_secrets:
        kubernetes.set_image_pull_secrets(task, list(options.image_pull_secrets))
    for key, value in step_node_selector(step, options).items():
        kubernetes.add_node_selector(task, label_key=key, label_value=value)
    for ref in step.secrets:  # names only: the cluster puts the values in
        if ref.env:
            kubernetes.use_secret_as_env(task, secret_name=ref.name, secret_key_to_env=dict(ref.env))
        else:
            kubernetes.use_secret_as_volume(task, secret_name=ref.name, mount_path=f"{SECRETS_DIR}/{ref.name}")
    if any(not ref.env for ref in step.secrets):
        task.set_env_variable(SECRETS_ENV, SECRETS_DIR)
    if step.placement.shm:
        kubernetes.empty_dir_mount(
            task, volume_name="kf-shm", mount_path=SHM_PATH, medium="Memory", size_limit=step.placement.shm
        )
    for tol in step_tolerations(step, options):
        kubernetes.add_toleration(
            task, key=tol.get("key"), operator=tol.get("operator"), value=tol.get("value"),
            effect=tol.get("effect"), toleration_seconds=tol.get("tolerationSeconds"),
        )  # fmt: skip
    if options.volume:
        pvc = options.pvc_name or work_pvc.outputs["name"]
        kubernetes.mount_pvc(task, pvc_name=pvc, mount_path=mount_path)
    for extra in options.extra_volumes:
        if extra.sub_path:  # a subPath mount is read from KFP 2.16 only
            raise TargetError(
                f"volume {extra.claim!r} is mounted from its folder {extra.sub_path!r} in the notebook pod; "
                f"KFP before 2.16 mounts whole claims: tag it volume:{extra.claim}:none or run on Argo"
            )
        if extra.mode == "snapshot" and not extra.pvc_name:
            raise TargetError(
                f"volume {extra.claim!r}: a claim restored from a snapshot must be created before the run "
                "(pvc_name): CreatePVC's data_source is read only by KFP 2.17 and later"
            )
        claim = extra.pvc_name if extra.mode == "snapshot" else extra.claim
        kubernetes.mount_pvc(task, pvc_name=claim, mount_path=extra.mount_path)

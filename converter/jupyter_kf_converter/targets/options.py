"""Options shared by the KFP and Argo targets, and the pieces both compute the same way."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field, fields
from typing import Any

from ..ir import Pipeline, Step

FALLBACK_IMAGE = "python:3.11"
GPU_KEYS = {"gpu": "nvidia.com/gpu", "nvidia.com/gpu": "nvidia.com/gpu", "amd.com/gpu": "amd.com/gpu"}
KNOWN_LIMITS = {"cpu", "memory", *GPU_KEYS}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SNAPSHOT_API_GROUP = "snapshot.storage.k8s.io"
SECRETS_DIR = "/kf/secrets"  # a `secret:<name>` tag mounts the Secret at SECRETS_DIR/<name>
SECRETS_ENV = "KF_SECRETS_DIR"  # tells the step where (locally: the user's secrets folder)
SHM_PATH = "/dev/shm"


@dataclass
class ExtraVolume:
    """A PVC of the notebook pod besides the run volume, mounted where the pod mounts it.

    ``shared``: the claim itself (every run sees and changes the same data). ``snapshot``: a
    fresh claim restored from ``snapshot`` per run (Argo: a volumeClaimTemplate; KFP: the
    backend's claim ``pvc_name``)."""

    claim: str
    mount_path: str
    mode: str = "shared"  # shared | snapshot
    sub_path: str = ""
    snapshot: str | None = None
    pvc_name: str | None = None
    size: str = "10Gi"
    storage_class: str | None = None
    access_modes: list[str] = field(default_factory=lambda: ["ReadWriteOnce"])


class TargetError(ValueError):
    """The pipeline cannot be compiled for a target; the message names the step and the field."""


@dataclass
class TargetOptions:
    """How a Pipeline IR becomes a cluster spec. Backends fill these from the notebook pod."""

    image: str | None = None  # default step image when neither the step nor the pipeline has one
    workdir: str = "/kf/work"  # the steps' cwd: the notebook's folder on the run volume
    mount_path: str | None = None  # where the run volume is mounted (default: workdir)
    sub_path: str = ""  # the folder of the volume mounted there (as in the notebook pod)
    volume: bool = True  # give the steps a shared run volume (False only for kfp.local / no cluster)
    snapshot: str | None = None  # VolumeSnapshot to restore the run volume from
    volume_size: str = "10Gi"
    storage_class: str | None = None
    access_modes: list[str] = field(default_factory=lambda: ["ReadWriteOnce"])
    # KFP: an existing claim the steps mount (the backend creates it, restored from the snapshot,
    # and deletes it); None: the pipeline creates an empty one and deletes it when all succeeded.
    pvc_name: str | None = None
    data_key: str | None = None  # what the run volume's data is, for KFP's cache key (default: snapshot)
    env: dict[str, str] = field(default_factory=dict)  # non-secret env copied into every step
    service_account: str | None = None
    cache: bool | None = None  # False forces every step to run (a run request's cache=False)
    timeout: float | None = None  # default per-step timeout, seconds
    image_pull_policy: str | None = None
    generate_name: str | None = None  # Argo metadata.generateName (default: "<pipeline>-")
    # From the notebook pod, so steps run as it does: runAsUser/runAsGroup/fsGroup (Argo only:
    # KFP's platform spec has no field for it), pull secrets, tolerations, node selector.
    security_context: dict[str, Any] | None = None
    image_pull_secrets: list[str] = field(default_factory=list)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    run_timeout: float | None = None  # the whole run, seconds (Argo activeDeadlineSeconds)
    workflow_ttl: int | None = 86400  # Argo: delete the Workflow (and its pods) this long after it ends
    # KFP: the oldest backend the spec must run on. A field older drivers refuse (shm: needs
    # 2.5.0) is refused at compile time unless this says the backend reads it.
    kfp_backend: str = "2.2.0"
    # the notebook pod's other PVCs as the pipeline's `volume:` modes say (none: left out)
    extra_volumes: list[ExtraVolume] = field(default_factory=list)

    @classmethod
    def from_kwargs(cls, **options: Any) -> TargetOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TargetError(f"unknown target option(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: v for k, v in options.items() if v is not None})

    def __post_init__(self) -> None:
        self.extra_volumes = [v if isinstance(v, ExtraVolume) else ExtraVolume(**v) for v in self.extra_volumes]

    @property
    def volume_mount(self) -> str:
        return self.mount_path or self.workdir


def check_pipeline(pipeline: Pipeline) -> None:
    """Refuse an invalid pipeline: a spec of a broken pipeline would only fail on the cluster."""
    errors = [p for p in pipeline.problems if p.severity == "error"]
    if errors:
        listed = "; ".join(p.message for p in errors[:5])
        raise TargetError(f"pipeline {pipeline.name!r} has {len(errors)} problem(s): {listed}")
    if not pipeline.steps:
        raise TargetError(f"pipeline {pipeline.name!r} has no steps")
    for step in pipeline.steps:
        if not _RFC1123.match(step.name) or len(step.name) > 63:
            raise TargetError(f"step {step.name!r}: not a valid Kubernetes name (RFC 1123 label)")


def step_image(pipeline: Pipeline, step: Step, options: TargetOptions) -> str:
    """The step's image: its `image:` tag, the pipeline's, the option/setting, then a fallback."""
    return step.image or pipeline.image or options.image or os.environ.get("KF_STEP_IMAGE") or FALLBACK_IMAGE


def warn_fallback_image(pipeline: Pipeline, options: TargetOptions) -> None:
    """One warning when some step would run in the fallback image (which cannot run a step)."""
    missing = [s.name for s in pipeline.steps if step_image(pipeline, s, options) == FALLBACK_IMAGE]
    if missing:
        warnings.warn(
            f"no image for step(s) {', '.join(missing)}: using {FALLBACK_IMAGE}, which lacks papermill and "
            "jupyter-kf-converter; set an `image:` tag, the image option or KF_STEP_IMAGE",
            stacklevel=3,
        )


def step_cache(pipeline: Pipeline, step: Step, options: TargetOptions) -> bool:
    """Whether the orchestrator may reuse the step's earlier result.

    On a run volume, a step whose values later steps load is never cached: a cache hit skips
    the step, so its values would be missing from this run's fresh volume.
    """
    if options.cache is False:
        return False
    if options.volume and pipeline.dependents(step.name):
        return False
    return pipeline.cache if step.cache is None else step.cache


def step_timeout(step: Step, options: TargetOptions) -> int | None:
    seconds = step.timeout if step.timeout is not None else options.timeout
    return None if seconds is None else max(1, round(seconds))


def step_limits(step: Step) -> dict[str, str]:
    """The step's `limit:` tags as Kubernetes limits (gpu -> nvidia.com/gpu, or the step's
    `gpu-vendor:`), each validated."""
    from ..tags import GPU_VENDORS

    limits: dict[str, str] = {}
    vendor = GPU_VENDORS.get(step.placement.gpu_vendor or "nvidia", "nvidia.com/gpu")
    for key, value in step.resources.limits.items():
        name = vendor if key == "gpu" else GPU_KEYS.get(key, key)
        if key not in KNOWN_LIMITS:
            raise TargetError(
                f"step {step.name!r}: unsupported resource limit {key!r} (use cpu, memory, gpu, "
                "nvidia.com/gpu or amd.com/gpu)"
            )
        value = str(value).strip()
        if not _QUANTITY.match(value):
            raise TargetError(f"step {step.name!r}: limit {key}={value!r} is not a Kubernetes quantity")
        if name in GPU_KEYS.values() and not value.isdigit():
            raise TargetError(f"step {step.name!r}: GPU limit {key}={value!r} must be a whole number")
        limits[name] = value
    return limits


def step_tolerations(step: Step, options: TargetOptions) -> list[dict[str, Any]]:
    """The notebook pod's tolerations, the step's `toleration:` tags, and for a step that asks
    for GPUs one for the vendor's usual GPU-node taint (``nvidia.com/gpu:NoSchedule``)."""
    out = [dict(t) for t in options.tolerations]
    out += [dict(t) for t in step.placement.tolerations if t not in out]
    for resource in step_limits(step):
        if resource in GPU_KEYS.values():
            gpu = {"key": resource, "operator": "Exists", "effect": "NoSchedule"}
            if gpu not in out:
                out.append(gpu)
    return out


def step_node_selector(step: Step, options: TargetOptions) -> dict[str, str]:
    """The notebook pod's node selector with the step's `node:` tags over it."""
    return {**options.node_selector, **step.placement.node_selector}


def parallel_steps(pipeline: Pipeline) -> tuple[str, str] | None:
    """Two steps that may run at the same time (neither depends on the other), if any."""
    reach: dict[str, set[str]] = {}
    for step in pipeline.steps:  # notebook order: upstream steps come first
        reach[step.name] = set(step.depends_on).union(*(reach[d] for d in step.depends_on))
    names = [s.name for s in pipeline.steps]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a not in reach[b] and b not in reach[a]:
                return a, b
    return None


def read_write_once_warning(pipeline: Pipeline, volumes: dict[str, list[str]]) -> str | None:
    """A warning when a ReadWriteOnce volume (name -> access modes) would be mounted by steps
    that may run at the same time: their pods can land on different nodes, and the second waits
    (or fails) to attach the volume."""
    rwo = sorted(name for name, modes in volumes.items() if list(modes) == ["ReadWriteOnce"])
    pair = parallel_steps(pipeline) if rwo else None
    if not pair:
        return None
    named = ", ".join("the run volume" if n == "run volume" else f"volume {n!r}" for n in rwo)
    return (
        f"{named} {'is' if len(rwo) == 1 else 'are'} ReadWriteOnce but steps {pair[0]!r} and {pair[1]!r} may run at "
        "the same time: pods on different nodes cannot both attach them. Use a ReadWriteMany storage "
        "class, add prev: tags so the steps run one after another, or keep the steps on one node "
        "(node: tags)"
    )


def warn_exported_read_write_once(pipeline: Pipeline, options: TargetOptions) -> None:
    """An exported spec's run volume is ReadWriteOnce by default: warn when parallel steps would
    share it (the backends note it themselves, knowing the real claims)."""
    if options.volume and not (options.pvc_name or options.snapshot):
        warning = read_write_once_warning(pipeline, {"run volume": list(options.access_modes)})
        if warning:
            warnings.warn(warning + " (or compile with access_modes=['ReadWriteMany'])", stacklevel=3)


def parameter_types(pipeline: Pipeline, step: Step) -> dict[str, str]:
    return {name: pipeline.parameter(name).type for name in step.parameters}


def snapshot_data_source(snapshot: str) -> dict[str, str]:
    return {"apiGroup": SNAPSHOT_API_GROUP, "kind": "VolumeSnapshot", "name": snapshot}


# A step's notebook travels inside what the orchestrator starts the step with: KFP passes all of
# a step's inputs in one command-line argument (--executor_input), Argo the whole template in
# one environment variable (ARGO_TEMPLATE); Linux limits either string to 128 KiB
# (MAX_ARG_STRLEN). Leave room for the rest.
MAX_NOTEBOOK_INPUT = 96 * 1024


def packed_notebook(step: str, notebook_json: str) -> str:
    """The step notebook as base64 of its gzipped JSON: small, deterministic (no timestamp in the
    gzip header) and opaque to KFP's and Argo's templating. Refused when still too big."""
    import base64
    import gzip

    packed = base64.b64encode(gzip.compress(notebook_json.encode("utf-8"), mtime=0)).decode("ascii")
    if len(packed) > MAX_NOTEBOOK_INPUT:
        raise TargetError(
            f"step {step!r}: its notebook is {len(packed) // 1024} KiB compressed; the orchestrator passes "
            f"it in one command-line argument or environment variable, which holds at most "
            f"{MAX_NOTEBOOK_INPUT // 1024} KiB here: read large data from a file instead of a cell"
        )
    return packed


def unpack_notebook(packed: str) -> str:
    import base64
    import gzip

    return gzip.decompress(base64.b64decode(packed)).decode("utf-8")


def emitted_notebook_json(pipeline: Pipeline, step: Step) -> str:
    """The step's papermill-ready notebook (from the converter's emitter) as compact JSON text;
    its cell ids are stable, so the same pipeline compiles to the same spec (and KFP's cache key holds)."""
    from ..emit import emit_notebook, notebook_json

    return notebook_json(emit_notebook(pipeline, step.name), compact=True)

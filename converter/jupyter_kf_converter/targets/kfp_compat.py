"""Make a compiled KFP spec readable by every supported KFP backend (2.2.0 to the newest).

The kfp SDK writes fields for the newest backend: ``pvcMount[].pvcNameParameter`` (next to the
deprecated ``taskOutputParameter``/``constant`` it still writes), string ``resource*Limit`` and
``accelerator.resourceType/resourceCount`` (next to the numeric ``cpuLimit``/``memoryLimit`` and
``accelerator.type/count``). The drivers of KFP 2.2.0-2.4.0 parse executor and platform configs
strictly (protojson) and fail a task on any field they do not know; newer drivers still read the
older fields (``pvcMount.constant`` and ``cpuLimit`` are their documented fall-backs). So each
newer field with an older equivalent is dropped, and a newer field without one is refused here,
naming the executor, rather than failing on the cluster.
"""

from __future__ import annotations

from typing import Any

from .options import TargetError

OLDEST_BACKEND = "2.2.0"
# new field -> the older field every supported driver reads instead
_RESOURCES = {
    "resourceCpuLimit": "cpuLimit",
    "resourceMemoryLimit": "memoryLimit",
    "resourceCpuRequest": "cpuRequest",
    "resourceMemoryRequest": "memoryRequest",
}
_ACCELERATOR = {"resourceType": "type", "resourceCount": "count"}
_PVC_REFERENCES = ("constant", "taskOutputParameter", "componentInputParameter")
# what a kfp-kubernetes PvcMount of KFP 2.2.0 holds
_PVC_MOUNT_FIELDS = {"mountPath", *_PVC_REFERENCES}


# executor-config fields a release's driver reads first (older drivers fail the task on them)
_NEWER_CONFIG = {"emptyDirMounts": ("2.3.0", "shm:<size> (an in-memory /dev/shm)")}


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(".")[:3])
    except ValueError:
        raise TargetError(f"kfp_backend {text!r} is not a KFP version such as 2.5.0") from None


def for_oldest_backend(
    pipeline_spec: dict[str, Any], platform_spec: dict[str, Any] | None, oldest: str = OLDEST_BACKEND
) -> None:
    """Rewrite the compiled documents in place into the form KFP 2.2.0's driver accepts (or,
    for a field only newer drivers read, refuse unless ``oldest`` is such a release)."""
    for name, executor in (pipeline_spec.get("deploymentSpec", {}).get("executors") or {}).items():
        resources = (executor.get("container") or {}).get("resources")
        if resources:
            _drop_newer(resources, _RESOURCES, f"executor {name}: resources")
            if resources.get("accelerator"):
                _drop_newer(resources["accelerator"], _ACCELERATOR, f"executor {name}: accelerator")
    if not platform_spec:
        return
    k8s = platform_spec.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})
    for name, config in (k8s.get("executors") or {}).items():
        _drop_name_parameters(config)
        for secret in config.get("secretAsEnv") or []:
            # the SDK writes optional=false; no supported driver's SecretAsEnv has the field
            if secret.get("optional") is False:
                del secret["optional"]
        for key, (since, what) in _NEWER_CONFIG.items():
            if config.get(key) and _version(oldest) < _version(since):
                raise TargetError(
                    f"executor {name}: {what} needs KFP {since} or later (Kubeflow 1.9.1); the spec is "
                    f"for KFP {oldest}: set the target option kfp_backend={since} if the cluster runs it"
                )
        for mount in config.get("pvcMount") or []:
            if any(mount.get(k) for k in _PVC_REFERENCES):
                mount.pop("pvcNameParameter", None)
            extra = sorted(set(mount) - _PVC_MOUNT_FIELDS)
            if extra:
                raise TargetError(
                    f"executor {name}: volume mount field(s) {extra} are not read by KFP "
                    f"{OLDEST_BACKEND}-2.15 (mount the whole claim instead)"
                )


def _drop_name_parameters(doc: Any) -> None:
    """``secretNameParameter`` next to ``secretName`` (and the like): newer SDKs write both."""
    if isinstance(doc, list):
        for item in doc:
            _drop_name_parameters(item)
    elif isinstance(doc, dict):
        for key in [k for k in doc if k.endswith("NameParameter") and k[: -len("Parameter")] in doc]:
            del doc[key]
        for value in doc.values():
            _drop_name_parameters(value)


def _drop_newer(doc: dict[str, Any], newer: dict[str, str], where: str) -> None:
    for new, old in newer.items():
        if new not in doc:
            continue
        if old not in doc:
            raise TargetError(
                f"{where}: {new}={doc[new]!r} has no form that KFP {OLDEST_BACKEND}-2.4 reads "
                "(a pipeline parameter as a resource limit needs KFP 2.5)"
            )
        del doc[new]

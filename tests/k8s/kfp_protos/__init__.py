"""The KFP protos of the releases Kubeflow 1.9 and 1.10 ship, each loaded into a pool of its own.

The ``.pb`` files are the FileDescriptorProtos of ``pipeline_spec.proto`` (kfp-pipeline-spec)
and ``kubernetes_executor_config.proto`` (kfp-kubernetes) as published on PyPI (see extract.py).
The installed kfp packages register the newest versions of the same files under the same names,
so each release gets a separate ``DescriptorPool``; its messages parse JSON with
``ignore_unknown_fields=False``, as the Go backend of that release does (protojson, strict).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# KFP backend release -> (kfp-pipeline-spec, kfp-kubernetes) of the SDK released with it
# (kfp 2.7.0 pins kfp-pipeline-spec 0.3.0, kfp 2.9.0 0.4.0, kfp 2.11/2.13 0.6.0).
RELEASES: dict[str, tuple[str, str]] = {
    "2.2.0": ("0.3.0", "1.2.0"),  # Kubeflow 1.9.0
    "2.3.0": ("0.4.0", "1.3.0"),  # Kubeflow 1.9.1
    "2.4.1": ("0.6.0", "1.4.0"),  # Kubeflow 1.10.0
    "2.5.0": ("0.6.0", "1.5.0"),  # Kubeflow 1.10.1, 1.10.2
}


@cache
def messages(release: str) -> dict[str, Any]:
    """Message classes of one KFP release: PipelineSpec, PipelineDeploymentConfig, PlatformSpec,
    KubernetesExecutorConfig."""
    from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory, struct_pb2
    from google.rpc import status_pb2

    spec, kubernetes = RELEASES[release]
    pool = descriptor_pool.DescriptorPool()
    for module in (duration_pb2, struct_pb2):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    from google.protobuf import any_pb2

    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(any_pb2.DESCRIPTOR.serialized_pb))
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(status_pb2.DESCRIPTOR.serialized_pb))
    for name in (f"kfp-pipeline-spec-{spec}.pb", f"kfp-kubernetes-{kubernetes}.pb"):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString((HERE / name).read_bytes()))
    names = {
        "PipelineSpec": "ml_pipelines.PipelineSpec",
        "PipelineDeploymentConfig": "ml_pipelines.PipelineDeploymentConfig",
        "PlatformSpec": "ml_pipelines.PlatformSpec",
        "KubernetesExecutorConfig": "kfp_kubernetes.KubernetesExecutorConfig",
    }
    return {k: message_factory.GetMessageClass(pool.FindMessageTypeByName(v)) for k, v in names.items()}


def strict_parse(release: str, pipeline_spec: dict, platform_spec: dict | None) -> list[str]:
    """Parse a run's pipeline and platform spec as that release's backend does; the errors."""
    from google.protobuf import json_format

    m = messages(release)
    errors: list[str] = []

    def parse(doc: Any, cls: str, where: str) -> None:
        try:
            json_format.ParseDict(doc, m[cls](), ignore_unknown_fields=False)
        except json_format.ParseError as exc:
            errors.append(f"{where}: {exc}")

    parse(pipeline_spec, "PipelineSpec", "pipeline_spec")
    # deploymentSpec is a Struct in PipelineSpec: the driver parses it on its own.
    parse(pipeline_spec.get("deploymentSpec", {}), "PipelineDeploymentConfig", "deploymentSpec")
    if platform_spec:
        parse(platform_spec, "PlatformSpec", "platform_spec")
        executors = (
            platform_spec.get("platforms", {})
            .get("kubernetes", {})
            .get("deploymentSpec", {})
            .get("executors", {})
        )
        for name, config in executors.items():
            parse(config, "KubernetesExecutorConfig", f"kubernetes executor {name}")
    return errors

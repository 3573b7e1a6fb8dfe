"""A fake Kubernetes API server (and KFP REST API) at the HTTP boundary, for tests.

A real HTTP server on 127.0.0.1 in a thread. It validates request bodies against the schemas of
the kinds involved (kubernetes client models for core kinds, the VolumeSnapshot CRD's v1 schema,
Hera's generated Argo models for Workflows, KFP's protobuf PipelineSpec for runs) and answers as
the real servers do: Status objects with 401/403/404/409/422, RBAC-style Forbidden messages,
snapshots that become ready after a few reads (or fail, like a CSI driver that cannot snapshot),
and workflows / KFP runs that progress along their DAG, one step per read.
"""

from __future__ import annotations

from .cluster import FakeCluster
from .common import ApiFailure
from .kube import permissions_used
from .schemas import workflow_causes
from .server import FakeApiServer

__all__ = ["ApiFailure", "FakeApiServer", "FakeCluster", "permissions_used", "workflow_causes"]

"""What the KFP and Argo drivers share: their state, re-attachment from ``cluster.json``, the
namespace, pod logs, cleanup and the API's timestamps. Each backend adds submit, poll and cancel
(the ``ClusterDriver`` protocol in watch.py)."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..models import Run, RunRequest
    from .backend import ClusterBackend
    from .client import KubeClients
    from .prepare import ClusterPlan


class ClusterDriverBase:
    #: The ``cluster.json`` field naming the cluster object, and that object's kind for messages.
    record_key: ClassVar[str]
    kind: ClassVar[str]

    def __init__(
        self, backend: ClusterBackend, pipeline: Pipeline | None, run: Run, request: RunRequest | None
    ) -> None:
        self.backend = backend
        self.pipeline = pipeline
        self.run = run
        self.request = request
        self.steps = {s.name for s in (pipeline.steps if pipeline else run.steps)}
        self.clients: KubeClients = backend.clients()
        self.plan: ClusterPlan | None = None
        self.external_id: str | None = None  # the Workflow's name / the KFP run id, once submitted

    @classmethod
    def attach(cls, backend: ClusterBackend, run: Run, record: dict[str, Any]) -> ClusterDriverBase:
        """A driver for a run submitted earlier, from its ``cluster.json`` (nothing is submitted)."""
        from .prepare import plan_from_record

        driver = cls(backend, None, run, None)
        driver.external_id = record.get(cls.record_key) or run.external_id
        if not driver.external_id:
            raise ValueError(f"run {run.id}: cluster.json names no {cls.kind}")
        driver.namespace = record["namespace"]  # where it was submitted, whatever the settings say now
        driver.plan = plan_from_record(record)
        return driver

    @cached_property
    def namespace(self) -> str:
        """Resolved in the run's thread: a configuration error fails the run with its message."""
        return self.backend.namespace()

    def pod_log(self, pod: str) -> str:
        from .workflows import pod_log

        return pod_log(self.clients, pod, self.namespace)

    def cleanup(self) -> None:
        from .prepare import release

        if self.plan is not None:
            release(self.clients, self.plan)


def parse_time(text: str | None) -> datetime | None:
    """An API timestamp (RFC 3339, `Z` for UTC); empty or the Unix epoch (KFP's "unset") is None."""
    if not text or text.startswith("1970-01-01"):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

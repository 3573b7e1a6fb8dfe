"""The pipeline IR: the one contract between the converter and every backend.

Plain pydantic models that round-trip through JSON and YAML unchanged. Backends (local, KFP,
Argo) read only this; they never re-parse a notebook. Cell indexes are 0-based positions in the
source notebook's ``cells`` list.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IR_VERSION = 1

Severity = Literal["error", "warning"]
CellType = Literal["code", "markdown", "raw"]
ParameterType = Literal["int", "float", "str", "bool", "list", "dict", "null"]
EdgeKind = Literal["explicit", "inferred"]
InputKind = Literal["value", "import"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """One validation finding, located as precisely as the converter can."""

    severity: Severity = "error"
    code: str = Field(description="Stable machine-readable kind, e.g. 'undefined-name', 'cycle'.")
    message: str = Field(description="Human-readable sentence naming what and where.")
    cell: int | None = Field(default=None, description="Cell index in the source notebook.")
    line: int | None = Field(default=None, description="1-based line within the cell's source.")
    step: str | None = None
    name: str | None = Field(default=None, description="The variable, parameter or metric concerned.")


class Cell(_Model):
    """A source cell carried into the IR (code is executed; markdown/raw are documentation)."""

    index: int
    cell_type: CellType = "code"
    source: str
    tags: list[str] = Field(default_factory=list)


class KernelSpec(_Model):
    name: str = "python3"
    display_name: str = "Python 3"
    language: str = "python"


class Parameter(_Model):
    """A pipeline parameter from the `pipeline-parameters` cell (simple literal assignment)."""

    name: str
    type: ParameterType
    default: Any = None
    cell: int


class Metric(_Model):
    """A value printed in the `pipeline-metrics` cell, recorded by the step that defines it."""

    name: str
    step: str = Field(description="The step that produces the metric (nearest earlier definer).")
    cell: int = Field(description="Index of the pipeline-metrics cell.")


class Input(_Model):
    """A name a step uses that an earlier step defines."""

    name: str
    producer: str
    kind: InputKind = Field(
        default="value",
        description="'value': loaded from the producer's saved outputs; 'import': a module bound "
        "by an import statement in the producer, replayed in the consumer instead of passed as data.",
    )
    statement: str | None = Field(default=None, description="The import statement, for kind 'import'.")


class Resources(_Model):
    """Kubernetes-style resource limits from `limit:<resource>:<value>` tags."""

    limits: dict[str, str] = Field(default_factory=dict)


class SecretRef(_Model):
    """A Kubernetes Secret a step reads (`secret:` tags and the notebook's `secrets` setting).
    Only names travel: values never enter the IR, a spec or a run record."""

    name: str = Field(description="The Secret's name (in the run's namespace).")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Secret key -> environment variable. Empty: every key as a file under "
        "$KF_SECRETS_DIR/<name>/.",
    )


class Placement(_Model):
    """Where a step's pod may run and what it gets besides its limits (cluster backends)."""

    node_selector: dict[str, str] = Field(default_factory=dict, description="`node:<label>=<value>` tags.")
    tolerations: list[dict[str, str]] = Field(
        default_factory=list, description="`toleration:` tags: key, operator, value, effect."
    )
    gpu_vendor: str | None = Field(default=None, description="`gpu-vendor:nvidia|amd`: what `limit:gpu` means.")
    shm: str | None = Field(default=None, description="`shm:<size>`: an in-memory /dev/shm of that size.")


class Step(_Model):
    name: str = Field(description="Valid Kubernetes (RFC 1123 label) name.")
    cells: list[Cell] = Field(description="The step's own cells in notebook order (code and docs).")
    defines: list[str] = Field(default_factory=list, description="Names bound at step top level.")
    uses: list[str] = Field(default_factory=list, description="Free names read by the step.")
    inputs: list[Input] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list, description="Names saved for dependents.")
    parameters: list[str] = Field(default_factory=list, description="Pipeline parameters used.")
    metrics: list[str] = Field(default_factory=list, description="Metrics this step records.")
    depends_on: list[str] = Field(default_factory=list, description="Upstream steps (all edges).")
    resources: Resources = Field(default_factory=Resources)
    image: str | None = Field(default=None, description="Overrides the pipeline image.")
    cache: bool | None = Field(default=None, description="None: the pipeline's cache policy.")
    timeout: float | None = Field(default=None, description="Seconds (`timeout:<s>` tag).")
    retries: int = Field(default=0, description="Extra attempts on failure (`retries:<n>` tag).")
    secrets: list[SecretRef] = Field(default_factory=list)
    placement: Placement = Field(default_factory=Placement)

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.cell_type == "code"]


class Edge(_Model):
    source: str
    target: str
    kind: EdgeKind = Field(description="'explicit' from a prev: tag, 'inferred' from data analysis.")
    names: list[str] = Field(default_factory=list, description="Data names carried, if any.")


class Pipeline(_Model):
    ir_version: int = IR_VERSION
    name: str = Field(description="Valid Kubernetes name, from the notebook file name or metadata.")
    notebook: str = Field(description="Path of the source notebook as given to the converter.")
    description: str | None = None
    kernel: KernelSpec = Field(default_factory=KernelSpec)
    imports: list[Cell] = Field(default_factory=list, description="Prepended to every step.")
    functions: list[Cell] = Field(default_factory=list, description="Prepended to every step.")
    parameters: list[Parameter] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list, description="In notebook order.")
    edges: list[Edge] = Field(default_factory=list)
    image: str | None = Field(default=None, description="Default image for every step.")
    cache: bool = Field(default=True, description="Default cache policy for steps.")
    volumes: dict[str, str] = Field(
        default_factory=dict,
        description="PVC of the notebook pod -> snapshot | shared | none (`volume:` tags, metadata "
        "jupyter_kf.volumes); unnamed: the notebook's own volume snapshot, others shared.",
    )
    problems: list[Problem] = Field(default_factory=list)

    # -- helpers used by every backend -------------------------------------------------------
    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"pipeline {self.name!r} has no step {name!r}")

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"pipeline {self.name!r} has no parameter {name!r}")

    def dependents(self, name: str) -> list[str]:
        return [s.name for s in self.steps if name in s.depends_on]

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_yaml(self) -> str:
        import yaml

        # Through JSON so every value is a plain type yaml can represent.
        return yaml.safe_dump(json.loads(self.model_dump_json()), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        return cls.model_validate_json(text)

    @classmethod
    def from_yaml(cls, text: str) -> Pipeline:
        import yaml

        return cls.model_validate(yaml.safe_load(text))

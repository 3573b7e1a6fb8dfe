"""The OpenAPI document: served as written, with its schemas generated from jupyter_kf/models.py.

`python -m jupyter_kf.handlers.spec --write` rewrites the `components.schemas` section of
jupyter_kf/openapi.yaml from the pydantic models, so the spec cannot drift from what the handlers
validate and return (tests/server/test_openapi.py checks the file is up to date).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
_MARKER = "  # Everything below is generated from jupyter_kf/models.py"


def spec_text() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


def load_spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(spec_text())


def model_schemas() -> dict[str, Any]:
    """JSON Schemas (OpenAPI 3.1 dialect) of every model the REST API reads or writes."""
    from pydantic.json_schema import models_json_schema

    from .. import models as m

    api_models = [
        m.CompileRequest, m.CompileResult, m.RunRequest, m.Run, m.RunList, m.RetryRequest,
        m.BackendList, m.StepLog, m.StepNotebook, m.SnapshotRequest, m.Snapshot, m.SnapshotList,
        m.ScheduleRequest, m.ScheduleFields, m.Schedule, m.ScheduleList, m.RunDiff,
        m.StoreUsage, m.PruneRequest, m.PruneResult, m.SweepRequest, m.Sweep, m.SweepList, m.ApiError,
    ]
    _, top = models_json_schema(
        [(model, "validation") for model in api_models], ref_template="#/components/schemas/{model}"
    )
    return dict(sorted(top["$defs"].items()))


def render_schemas() -> str:
    import yaml
    from yaml.representer import SafeRepresenter

    class Dumper(yaml.SafeDumper):
        pass

    # PyYAML's own str representer: importing Hera replaces it (block style for multi-line strings)
    # on SafeRepresenter itself, which made the rendering depend on what the process imported.
    Dumper.add_representer(str, SafeRepresenter.represent_str)

    body = yaml.dump(
        {"schemas": model_schemas()}, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return "".join(f"  {line}\n" if line else "\n" for line in body.splitlines())


def rendered_spec() -> str:
    """The spec file's text with the schemas section regenerated."""
    text = spec_text()
    head, sep, _ = text.partition(_MARKER)
    if not sep:
        raise RuntimeError(f"{SPEC_PATH}: marker line {_MARKER.strip()!r} is missing")
    return head + _MARKER + ": python -m jupyter_kf.handlers.spec --write\n" + render_schemas()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    new = rendered_spec()
    if "--write" in argv:
        SPEC_PATH.write_text(new, encoding="utf-8")
        return 0
    if new != spec_text():
        print(f"{SPEC_PATH} is out of date: run python -m jupyter_kf.handlers.spec --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

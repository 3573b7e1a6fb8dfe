"""openapi.yaml is served, up to date with the models, and lists exactly the routes the server has."""

from __future__ import annotations

import re

import yaml

from jupyter_kf.handlers import routes
from jupyter_kf.handlers.spec import SPEC_PATH, model_schemas, rendered_spec


def _route_to_template(pattern: str) -> str:
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("\\.", ".")


def test_schemas_are_generated_from_the_models():
    assert rendered_spec() == SPEC_PATH.read_text(), "run: python -m jupyter_kf.handlers.spec --write"
    spec = yaml.safe_load(SPEC_PATH.read_text())
    assert spec["components"]["schemas"] == model_schemas()


def test_spec_paths_match_the_routes():
    spec = yaml.safe_load(SPEC_PATH.read_text())
    assert sorted(spec["paths"]) == sorted(_route_to_template(p) for p, _ in routes())
    for pattern, handler in routes():
        ops = {m for m in spec["paths"][_route_to_template(pattern)] if m in ("get", "post", "put", "patch", "delete")}
        implemented = {m for m in ops | {"get", "post", "put", "delete", "patch"} if m in vars(handler)}
        assert ops == implemented, (pattern, ops, implemented)


def test_every_ref_resolves():
    spec = yaml.safe_load(SPEC_PATH.read_text())
    refs = set(re.findall(r"#/components/(\w+)/(\w+)", SPEC_PATH.read_text()))
    for section, name in refs:
        assert name in spec["components"][section], (section, name)


async def test_the_spec_is_served(api):
    status, text = await api("GET", "openapi.yaml")
    assert status == 200
    assert text == SPEC_PATH.read_text()
    assert yaml.safe_load(text)["openapi"].startswith("3.1")

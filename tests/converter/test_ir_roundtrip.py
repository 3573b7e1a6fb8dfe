"""The IR of a rich notebook round-trips through JSON and YAML unchanged."""

from __future__ import annotations

import json

import yaml
from core_helpers import compile_cells_fixture  # noqa: F401 (fixture)
from jupyter_kf_converter.ir import Pipeline

RICH = [
    "md:# Rich pipeline\nwith *markdown*, unicode: é ü 漢字",
    ("import json\nimport math", ["imports"]),
    ("def half(v):\n    return v / 2", ["functions"]),
    ("n = 4\nrate = 0.25\nname = 'run: \"x\"'\nflags = [True, None]\nopts = {'a': {'b': [1, 2.5]}}",
     ["pipeline-parameters"]),
    ("values = [half(i) * rate for i in range(n)]\nimport os", ["step:load_data", "limit:memory:1Gi", "retries:1"]),
    "md:notes\n\n- one\n- two",
    ("values.append(len(name))\ntotal = math.fsum(values)", ["step:transform", "image:repo/x:1", "cache:disabled"]),
    ("%%time\nreport = json.dumps({'total': total, 'sep': os.sep})", ["step:report", "prev:load_data", "timeout:30"]),
    ("print(total)", ["pipeline-metrics"]),
    ("print(undefined_thing)", ["step:broken", "mystery-tag"]),
]


def test_round_trip_through_json_and_yaml(compile_cells):
    p = compile_cells(RICH)
    # the example covers every part of the IR, problems included
    assert p.steps and p.edges and p.parameters and p.metrics and p.imports and p.functions and p.problems
    assert any(i.kind == "import" for s in p.steps for i in s.inputs)

    assert Pipeline.from_json(p.to_json()) == p
    assert Pipeline.from_json(p.to_json(indent=None)) == p
    assert Pipeline.from_yaml(p.to_yaml()) == p
    # and the documents themselves are stable
    assert Pipeline.from_yaml(p.to_yaml()).to_yaml() == p.to_yaml()
    assert json.loads(p.to_json()) == yaml.safe_load(p.to_yaml())


def test_round_trip_keeps_parameter_types(compile_cells):
    p = compile_cells(RICH)
    back = Pipeline.from_yaml(p.to_yaml())
    assert [(q.name, q.type, q.default) for q in back.parameters] == [
        ("n", "int", 4), ("rate", "float", 0.25), ("name", "str", 'run: "x"'), ("flags", "list", [True, None]),
        ("opts", "dict", {"a": {"b": [1, 2.5]}})]
    assert type(back.parameters[1].default) is float and type(back.parameters[0].default) is int

"""Small tagged notebooks, compiled by the real converter, used across the Kubernetes tests."""

from __future__ import annotations

from kf_testing import build_notebook
from jupyter_kf_converter import compile_notebook
from jupyter_kf_converter.ir import Pipeline

DEMO_CELLS = [
    ("import math", ["imports"]),
    ("n = 3\nscale = 1.5\nlabel = 'run'", ["pipeline-parameters"]),
    ("xs = [i * scale for i in range(n)]", ["step:load"]),
    (
        "total = math.fsum(xs)\nprint(label, total)\nopen('total.txt', 'w').write(repr(total))",
        [
            "step:train",
            "limit:cpu:500m",
            "limit:memory:1Gi",
            "limit:nvidia.com/gpu:1",
            "retries:2",
            "timeout:120",
        ],
    ),
    ("count = len(xs)", ["step:report", "prev:train", "cache:disabled"]),
    ("total", ["pipeline-metrics"]),
]


def demo_pipeline(cells=DEMO_CELLS, name: str = "demo.ipynb") -> Pipeline:
    p = compile_notebook(build_notebook(cells), notebook_path=name)
    assert p.valid, p.problems
    return p

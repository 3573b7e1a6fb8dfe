"""Step cache keys: every component changes the key; unrelated changes do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_kf_converter.ir import Cell, Edge, Input, Parameter, Pipeline, Step
from jupyter_kf_converter.runtime import StepValues

from jupyter_kf.cache import (
    CacheKeyError,
    UncachedDependency,
    environment_key,
    snapshot_key,
    step_cache_key,
)


def pipeline(**changes) -> Pipeline:
    """load -> train (uses df from load, parameter lr); report is an unrelated sibling."""
    p = Pipeline(
        name="demo",
        notebook="demo.ipynb",
        imports=[Cell(index=0, source="import math")],
        functions=[Cell(index=1, source="def f(x):\n    return x + 1")],
        parameters=[Parameter(name="lr", type="float", default=0.1, cell=2),
                    Parameter(name="epochs", type="int", default=3, cell=2)],
        steps=[
            Step(name="load", cells=[Cell(index=3, source="df = [1, 2, 3]\nextra = 5")], outputs=["df", "extra"]),
            Step(name="train", cells=[Cell(index=4, source="model = sum(df) * lr"),
                                      Cell(index=5, cell_type="markdown", source="# training")],
                 inputs=[Input(name="df", producer="load"),
                         Input(name="np", producer="load", kind="import", statement="import numpy as np")],
                 parameters=["lr"], outputs=["model"], depends_on=["load"]),
            Step(name="report", cells=[Cell(index=6, source="print(epochs)")], parameters=["epochs"],
                 depends_on=["load"]),
        ],
    )
    return p.model_copy(update=changes)


def save_load_outputs(values_dir: Path, df, extra=5) -> None:
    v = StepValues(values_dir, "load")
    v.save("df", df)
    v.save("extra", extra)
    v.finish()


@pytest.fixture
def values(tmp_path: Path) -> Path:
    d = tmp_path / "kf-values"
    save_load_outputs(d, [1, 2, 3])
    return d


def key(p: Pipeline, values: Path, *, step="train", parameters=None, snapshot="snap-1", env="env-1") -> str:
    return step_cache_key(p, step, values_dir=values, parameters=parameters or {}, snapshot=snapshot,
                          environment=env)


def test_key_is_deterministic(values: Path) -> None:
    assert key(pipeline(), values) == key(pipeline(), values)
    assert len(key(pipeline(), values)) == 64


def edit_step(p: Pipeline, name: str, **changes) -> Pipeline:
    return p.model_copy(update={"steps": [s.model_copy(update=changes) if s.name == name else s for s in p.steps]})


def test_each_component_changes_the_key(values: Path, tmp_path: Path) -> None:
    base = key(pipeline(), values)
    p = pipeline()
    train = p.step("train")
    changed_code = edit_step(p, "train", cells=[Cell(index=4, source="model = sum(df) * lr * 2"), train.cells[1]])
    variants = {
        "step code": key(changed_code, values),
        "imports": key(pipeline(imports=[Cell(index=0, source="import math, os")]), values),
        "functions": key(pipeline(functions=[Cell(index=1, source="def f(x):\n    return x + 2")]), values),
        "outputs": key(edit_step(p, "train", outputs=["model", "score"]), values),
        "import input": key(edit_step(p, "train", inputs=[train.inputs[0], train.inputs[1].model_copy(
            update={"statement": "import numpy"})]), values),
        "parameter value": key(p, values, parameters={"lr": 0.2}),
        "snapshot": key(p, values, snapshot="snap-2"),
        "environment": key(p, values, env="env-2"),
    }
    other = tmp_path / "other-values"
    save_load_outputs(other, [1, 2, 4])
    variants["input content"] = key(p, other)
    for name, k in variants.items():
        assert k != base, f"changing the {name} did not change the key"
    assert len(set(variants.values())) == len(variants)


def test_unrelated_changes_keep_the_key(values: Path, tmp_path: Path) -> None:
    base = key(pipeline(), values)
    p = pipeline()
    assert key(p, values, parameters={"epochs": 99}) == base  # a parameter train does not use
    assert key(p, values, parameters={"lr": 0.1}) == base  # explicit value equal to the default
    assert key(edit_step(p, "report", cells=[Cell(index=6, source="print(epochs * 2)")]), values) == base
    assert key(edit_step(p, "train", timeout=30.0, retries=2), values) == base
    doc_edit = [p.step("train").cells[0], Cell(index=5, cell_type="markdown", source="# other words")]
    assert key(edit_step(p, "train", cells=doc_edit), values) == base
    other = tmp_path / "other-values"
    save_load_outputs(other, [1, 2, 3], extra=6)  # a value of load that train does not use
    assert key(p, other) == base


def test_missing_manifest_and_missing_value_are_errors(tmp_path: Path, values: Path) -> None:
    with pytest.raises(CacheKeyError, match="step 'train'.*'df'.*step 'load'"):
        key(pipeline(), tmp_path / "empty")
    p = edit_step(pipeline(), "train", inputs=[Input(name="nope", producer="load")])
    with pytest.raises(CacheKeyError, match="did not save 'nope'"):
        key(p, values)


def test_environment_key_depends_on_kernel_and_is_stable() -> None:
    assert environment_key("python3") == environment_key("python3")
    assert environment_key("python3") != environment_key("other-kernel")


def test_default_environment_and_snapshot_key(values: Path, project: Path) -> None:
    from jupyter_kf.snapshots import SnapshotStore

    p = pipeline()
    k1 = step_cache_key(p, "train", values_dir=values, parameters={}, snapshot=None)
    assert k1 == key(p, values, snapshot=None, env=environment_key("python3"))
    store = SnapshotStore(project / "kf-runs")
    a = store.create(project).id
    (project / "pipeline.ipynb").write_text('{"cells": ["edited"]}')
    b = store.create(project).id
    assert snapshot_key(store.store, a, "pipeline.ipynb") == snapshot_key(store.store, b, "pipeline.ipynb")
    assert snapshot_key(store.store, None) is None


def test_prev_dependencies_keys_are_part_of_the_key(values: Path) -> None:
    """report reads a file load wrote (prev:load): no manifest hashes it, so load's key counts."""
    p = pipeline(edges=[Edge(source="load", target="report", kind="explicit")])

    def report_key(**upstream: str | None) -> str:
        return step_cache_key(p, "report", values_dir=values, parameters={}, snapshot="s", environment="e",
                              upstream_keys=upstream)

    base = report_key(load="key-a")
    assert report_key(load="key-a") == base
    assert report_key(load="key-b") != base
    assert report_key(load="key-a", train="other") == base  # not a prev: dependency of report
    with pytest.raises(UncachedDependency, match="step 'report'.*prev: dependency 'load'"):
        report_key(load=None)  # load ran uncached: what it wrote is not identified
    with pytest.raises(CacheKeyError):
        report_key()
    # an inferred edge passes data through manifests, whose hashes are in the key already
    inferred = pipeline(edges=[Edge(source="load", target="train", kind="inferred", names=["df"])])
    assert step_cache_key(inferred, "train", values_dir=values, parameters={}, snapshot="s", environment="e") \
        == step_cache_key(inferred, "train", values_dir=values, parameters={}, snapshot="s", environment="e",
                          upstream_keys={"load": "anything"})

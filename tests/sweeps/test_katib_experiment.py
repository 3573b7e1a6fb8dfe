"""A sweep as a Katib Experiment: validated against Katib's own models (kubeflow-katib-api)."""

from __future__ import annotations

import pytest
from jupyter_kf_converter.targets.argo import build_workflow

from jupyter_kf.k8s.katib import METRICS_FORMAT, KatibUnsupported, experiment
from jupyter_kf.models import SweepRequest
from jupyter_kf.sweeps import parse_spec, space

models = pytest.importorskip("kubeflow_katib_api.models")

CELLS = [
    ("n_estimators = 10\nlr = 0.1\nmodel = 'forest'", ["pipeline-parameters"]),
    ("data = [1, 2, 3]", ["step:load"]),
    ("fit = n_estimators * lr * len(data)", ["step:train"]),
    ("accuracy = float(fit) / 100", ["step:evaluate"]),
    ("accuracy", ["pipeline-metrics"]),
]


def build(service, make_notebook, nb_dir, **fields):
    make_notebook(CELLS, "nb.ipynb", nb_dir)
    pipeline = service.compile("nb.ipynb")
    req = SweepRequest(
        notebook="nb.ipynb",
        space=[parse_spec("n_estimators=10:300:log"), parse_spec("lr=0.01:1:0.01"), parse_spec("model=forest,svm")],
        objective="accuracy",
        trials=20,
        parallel=3,
        **fields,
    )
    req = req.model_copy(update={"space": space.check(pipeline, req)})
    return pipeline, req, experiment(pipeline, req, build_workflow(pipeline), name="nb-sweep", namespace="team")


def test_experiment_validates_against_katibs_models(service, make_notebook, nb_dir):
    _, _, manifest = build(service, make_notebook, nb_dir)
    parsed = models.V1beta1Experiment.from_dict(manifest)
    # Nothing dropped or converted: Katib's models read back exactly what we wrote.
    assert parsed.to_dict() == manifest
    spec = parsed.spec
    assert spec.algorithm.algorithm_name == "tpe" and spec.objective.type == "maximize"
    assert (spec.max_trial_count, spec.parallel_trial_count) == (20, 3)
    by_name = {p.name: p for p in spec.parameters}
    assert by_name["n_estimators"].parameter_type == "int"
    assert by_name["n_estimators"].feasible_space.distribution == "logUniform"
    assert by_name["lr"].feasible_space.step == "0.01"
    assert by_name["model"].parameter_type == "categorical" and by_name["model"].feasible_space.list == ["forest", "svm"]
    # The trial is the pipeline's Argo Workflow with the swept arguments from Katib.
    wf = spec.trial_template.trial_spec
    args = {a["name"]: a["value"] for a in wf["spec"]["arguments"]["parameters"]}
    assert args["n_estimators"] == "${trialParameters.n_estimators}" and args["model"] == "${trialParameters.model}"
    labelled = [t["name"] for t in wf["spec"]["templates"] if t.get("metadata", {}).get("labels", {}).get(
        "katib.kubeflow.org/model-training") == "true"]
    assert labelled == ["step-evaluate"]  # the step that produces the objective metric
    assert {p.reference for p in spec.trial_template.trial_parameters} == {"n_estimators", "lr", "model"}


def test_the_metrics_line_is_what_katibs_collector_reads():
    import re

    from jupyter_kf_converter.targets.steprun import METRICS_MARKER

    line = METRICS_MARKER + '{"accuracy": 0.975, "loss": -1.5e-3, "name": "forest"}'
    found = dict((m.group(1), float(m.group(2))) for m in re.finditer(METRICS_FORMAT, line))
    assert found == {"accuracy": 0.975, "loss": -0.0015}


def test_what_katib_cannot_express_is_refused(service, make_notebook, nb_dir):
    with pytest.raises(KatibUnsupported, match="no time budget"):
        build(service, make_notebook, nb_dir, max_time=60)
    pipeline, req, _ = build(service, make_notebook, nb_dir)
    with pytest.raises(KatibUnsupported, match="needs a trial budget"):
        experiment(pipeline, req.model_copy(update={"trials": None}), build_workflow(pipeline), name="x")


def test_katibs_models_reject_a_broken_experiment(service, make_notebook, nb_dir):
    """The check above can fail: Katib's models refuse a wrong type where we would write one."""
    _, _, manifest = build(service, make_notebook, nb_dir)
    manifest["spec"]["parameters"][0]["feasibleSpace"]["min"] = 10  # Katib wants strings
    with pytest.raises(Exception):
        models.V1beta1Experiment.from_dict(manifest)


def test_cli_writes_the_experiment_and_refuses_what_katib_cannot_run(make_notebook, nb_dir, tmp_path):
    import yaml

    from .test_sweep_cli import kf

    make_notebook(CELLS, "nb.ipynb", nb_dir)
    out = tmp_path / "exp.yaml"
    done = kf(["sweep", "nb.ipynb", "-p", "lr=0.01:1:log", "--objective", "accuracy", "--trials", "8",
               "--parallel", "2", "--katib-yaml", str(out), "--namespace", "team"], nb_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = yaml.safe_load(out.read_text())
    assert models.V1beta1Experiment.from_dict(manifest).to_dict() == manifest
    assert manifest["metadata"]["namespace"] == "team" and manifest["spec"]["maxTrialCount"] == 8
    assert not (nb_dir / "kf-runs").exists()  # nothing ran
    refused = kf(["sweep", "nb.ipynb", "-p", "lr=0.01:1", "--objective", "accuracy", "--max-time", "60",
                  "--katib-yaml", str(tmp_path / "no.yaml")], nb_dir, tmp_path)
    assert refused.returncode == 2 and "Katib has no time budget" in refused.stderr
    assert not (tmp_path / "no.yaml").exists()

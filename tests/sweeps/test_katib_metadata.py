"""Kale's katib_metadata read as a sweep spec (`jupyter kf sweep NB` without -p)."""

from __future__ import annotations

import json

import nbformat
import pytest

from jupyter_kf.models import SweepParameter
from jupyter_kf.sweeps import SweepError
from jupyter_kf.sweeps.katib import request_from_katib

from .test_sweep_cli import CELLS, kf

KATIB = {
    "algorithm": {"algorithmName": "grid"},
    "maxFailedTrialCount": 3,
    "maxTrialCount": 12,
    "objective": {"objectiveMetricName": "score", "type": "maximize"},
    "parallelTrialCount": 2,
    "parameters": [
        {"name": "n", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "3", "step": "1"}},
        {"name": "model", "parameterType": "categorical", "feasibleSpace": {"list": ["a", "b"]}},
    ],
}


def test_kale_spec_maps_onto_a_request():
    req = request_from_katib("nb.ipynb", KATIB)
    assert (req.algorithm, req.objective, req.direction, req.trials, req.parallel) == ("grid", "score", "max", 12, 2)
    assert req.space == [SweepParameter(name="n", low=1, high=3, step=1), SweepParameter(name="model", choices=["a", "b"])]
    minimize = {**KATIB, "algorithm": {"algorithmName": "bayesianoptimization"}, "objective": {"objectiveMetricName": "loss", "type": "minimize"}}
    assert (request_from_katib("nb.ipynb", minimize).algorithm, request_from_katib("nb.ipynb", minimize).direction) == ("tpe", "min")
    for bad, words in [
        ({**KATIB, "algorithm": {"algorithmName": "hyperband"}}, "katib_metadata.algorithm: 'hyperband' is not supported"),
        ({**KATIB, "objective": {"type": "maximize"}}, "objectiveMetricName: not set"),
        ({**KATIB, "parameters": [{"name": "n", "parameterType": "double", "feasibleSpace": {"min": "x"}}]},
         "parameters[0] (n): feasibleSpace needs numeric min and max"),
    ]:
        with pytest.raises(SweepError) as err:
            request_from_katib("nb.ipynb", bad)
        assert words in str(err.value)


def test_sweep_without_p_runs_the_notebooks_katib_spec(make_notebook, nb_dir, tmp_path):
    path = make_notebook(CELLS, "kale.ipynb", nb_dir)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kubeflow_notebook"] = {"katib_metadata": KATIB}
    nbformat.write(nb, path)
    done = kf(["sweep", "kale.ipynb", "--json"], nb_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    sweep = json.loads(done.stdout)
    assert sweep["budget"] == 6 and sweep["request"]["algorithm"] == "grid"  # the grid (6) under maxTrialCount (12)
    assert sweep["best_value"] == 16 and len(sweep["trials"]) == 6
    # An option given on the command line overrides the notebook's spec.
    again = kf(["sweep", "kale.ipynb", "--algorithm", "random", "--trials", "2", "--json"], nb_dir, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["budget"] == 2


def test_sweep_without_p_or_katib_spec_is_a_usage_error(make_notebook, nb_dir, tmp_path):
    make_notebook(CELLS, "plain.ipynb", nb_dir)
    done = kf(["sweep", "plain.ipynb"], nb_dir, tmp_path)
    assert done.returncode == 2 and "give -p SPEC" in done.stderr

"""Sweep requests: the -p grammar, located errors before anything runs, and the search itself."""

from __future__ import annotations

import pytest

from jupyter_kf.models import SweepParameter, SweepRequest
from jupyter_kf.sweeps import SweepError, parse_spec

CELLS = [
    ("n_estimators = 10\nlr = 0.1\nmodel = 'forest'\nverbose = False", ["pipeline-parameters"]),
    ("fit = n_estimators * lr", ["step:train"]),
    ("accuracy = float(fit)", ["step:evaluate"]),
    ("accuracy", ["pipeline-metrics"]),
]


def test_grammar():
    assert parse_spec("n=10:300:log") == SweepParameter(name="n", low=10, high=300, log=True)
    assert parse_spec("lr=0:1:0.25") == SweepParameter(name="lr", low=0, high=1, step=0.25)
    assert parse_spec("m=forest, svm,logreg").choices == ["forest", "svm", "logreg"]
    for bad in ("n", "n=", "n=1:2:3:4", "n=a:b", "n=1:2:fast"):
        with pytest.raises(SweepError):
            parse_spec(bad)


@pytest.mark.parametrize(
    ("space", "extra", "message"),
    [
        (["depth=1:5"], {}, "unknown parameter 'depth'"),
        (["model=1:5"], {}, "parameter 'model' (str, default 'forest' in cell 1): a range needs an int or float"),
        (["n_estimators=1.5:5"], {}, "whole-number bounds"),
        (["lr=0:1:log"], {}, "log range needs low > 0"),
        (["lr=2:1"], {}, "is empty"),
        (["n_estimators=ten,20"], {}, "parameter 'n_estimators'"),
        ([], {}, "search space is empty"),
        (["lr=0:1"], {"objective": "fit"}, "objective 'fit' is not a metric"),
        (["lr=0:1"], {"trials": 0}, "a budget of 0 trials"),
        (["lr=0:1"], {"trials": None}, "give a budget"),
        (["lr=0:1"], {"algorithm": "grid"}, "grid search needs choices or a range with a step"),
        (["lr=0:1"], {"parameters": {"lr": 0.5}}, "both swept and fixed"),
    ],
)
def test_bad_requests_are_refused_before_anything_runs(service, make_notebook, nb_dir, space, extra, message):
    make_notebook(CELLS, "nb.ipynb", nb_dir)
    fields = {"notebook": "nb.ipynb", "space": [parse_spec(s) for s in space], "objective": "accuracy", "trials": 5}
    with pytest.raises(SweepError) as err:
        service.sweeps.submit(SweepRequest(**{**fields, **extra}))
    assert message in str(err.value)
    assert service.list_runs("nb.ipynb") == [] and service.sweeps.list() == []
    assert not (nb_dir / "kf-runs" / "sweeps").exists()


def test_grid_covers_every_point_once(service, make_notebook, nb_dir):
    from jupyter_kf.sweeps import space

    make_notebook(CELLS, "nb.ipynb", nb_dir)
    pipeline = service.compile("nb.ipynb")
    req = SweepRequest(
        notebook="nb.ipynb", space=[parse_spec("model=forest,svm"), parse_spec("lr=0:1:0.5")], objective="accuracy"
    )
    checked = space.check(pipeline, req)
    assert space.grid(pipeline, checked) == {"model": ["forest", "svm"], "lr": [0.0, 0.5, 1.0]}


def _search(algorithm: str, seed: int, trials: int = 40) -> float:
    """The best value a sampler as sweeps configure it finds on a cheap toy objective, asked and
    told as a sweep does (ask with the sweep's distributions, tell the value)."""
    import optuna
    from jupyter_kf_converter.ir import Parameter, Pipeline

    from jupyter_kf.sweeps import space
    from jupyter_kf.sweeps.engine import make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pipeline = Pipeline(
        name="toy",
        notebook="toy.ipynb",
        parameters=[Parameter(name="x", type="float", default=0.0, cell=0), Parameter(name="n", type="int", default=1, cell=0)],
    )
    dims = [parse_spec("x=-10:10"), parse_spec("n=1:1000:log")]
    study = optuna.create_study(direction="minimize", sampler=make_sampler(algorithm, None, seed))
    dists = space.distributions(pipeline, dims)
    for _ in range(trials):
        t = study.ask(dists)
        study.tell(t, (t.params["x"] - 3.3) ** 2 + (__import__("math").log(t.params["n"]) - 4.0) ** 2)
    return study.best_value


def test_tpe_beats_random_on_a_seeded_toy_objective():
    seeds = range(5)
    tpe = sum(_search("tpe", s) for s in seeds)
    rnd = sum(_search("random", s) for s in seeds)
    assert tpe < rnd, (tpe, rnd)

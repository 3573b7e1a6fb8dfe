"""The Kaggle pattern end to end with the local runner: a step mutates ``train_df``/``test_df``
only through ``combine`` (built by an earlier step) or a loop over ``[train_df, test_df]``, and
the later steps get the mutated frames (docs/kale-compatibility.md, "Mutation through an alias")."""

from __future__ import annotations

import shutil
from pathlib import Path

from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf_converter.runtime import load_value, read_manifest

CORPUS = Path(__file__).parents[1] / "converter" / "kale_compat"


def test_mutation_through_aliases_reaches_later_steps(service, nb_dir) -> None:
    shutil.copy(CORPUS / "aliased_mutation.ipynb", nb_dir / "titanic.ipynb")
    run = service.run(RunRequest(notebook="titanic.ipynb"))
    # Without alias tracking 'features' fails: Sex still holds strings, Age still NaN.
    assert run.status == RunStatus.succeeded, run.error
    assert [s.status for s in run.steps] == [StepStatus.succeeded] * 4

    values = service.store_of(run.id).values_dir(run.id, "load").parent
    train = load_value(values, "fill-age", "train_df")
    test = load_value(values, "fill-age", "test_df")
    assert train["Sex"].tolist() == [0, 1, 1] and train["Age"].tolist() == [22.0, 30.0, 35.0]
    assert test["Sex"].tolist() == [0, 0] and test["Age"].tolist() == [30.0, 40.0]
    # 'load' saved combine as references to the frames it also saved, so 'encode' mutated the
    # very objects it loaded as train_df and test_df
    assert read_manifest(values, "load")["combine"]["format"] == "refs"

"""The function every KFP step component runs (kept free of `from __future__ import annotations`:
the kfp SDK reads this function's annotations and source to build the component)."""

from kfp.dsl import Artifact, Metrics, Output


def jupyter_kf_step(
    step: str,
    notebook: str,
    workdir: str,
    parameter_types: dict,
    cache_salt: str,
    metrics: Output[Metrics],
    executed_notebook: Output[Artifact],
):
    """Run one emitted step notebook with papermill; record its metrics as KFP metrics.

    ``notebook`` is the emitted step notebook as base64 of its gzipped JSON: small (KFP passes
    every input on one command line) and opaque to every templating
    pass (KFP placeholders, and kfp.local rewriting each "python3" in a task's arguments); the
    kernel is the one named in its kernelspec. Pipeline parameters arrive as extra typed inputs
    ``param_<name>`` that the SDK does not pass as arguments; they are read from the executor
    input on the command line (``--executor_input``), typed as KFP resolved them.
    ``cache_salt`` is not used at run time: it carries into KFP's cache key what that key cannot
    see (the code of the steps before this one, and the data the run volume started with).
    """
    import json
    import numbers
    import shutil
    import sys

    executor_input = json.loads(sys.argv[sys.argv.index("--executor_input") + 1])
    values = executor_input.get("inputs", {}).get("parameterValues", {})
    # Only the step's own: the parameters of its ancestors are inputs for KFP's cache key alone.
    parameters = {
        k[len("param_") :]: v
        for k, v in values.items()
        if k.startswith("param_") and k[len("param_") :] in parameter_types
    }

    from jupyter_kf_converter.targets.options import unpack_notebook
    from jupyter_kf_converter.targets.steprun import run_step

    result = run_step(
        step=step,
        notebook_json=unpack_notebook(notebook),
        workdir=workdir,
        kernel_name=None,
        parameters=parameters,
        parameter_types=parameter_types,
    )
    shutil.copyfile(result.executed, executed_notebook.path)
    for name, value in result.metrics.items():
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            metrics.log_metric(name, float(value))
        else:
            print(f"jupyter-kf: metric {name!r} is not a number ({type(value).__name__}); not logged to KFP")

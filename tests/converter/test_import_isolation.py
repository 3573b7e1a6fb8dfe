"""The converter works without the Jupyter server, JupyterLab, kfp, kubernetes or papermill.

CI systems and step containers install only the converter: each test runs a fresh interpreter
whose ``sys.meta_path`` refuses those packages, so any import of them (even an indirect one)
fails loudly instead of silently succeeding because the test environment has them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKED = ["jupyter_server", "jupyterlab", "kfp", "kubernetes", "papermill"]

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = {BLOCKED!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: the converter must not need it")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def run_isolated(body: str, cwd: Path) -> dict:
    """Run ``body`` (which must set ``result``) in a fresh interpreter with the blocker installed."""
    script = BLOCKER + textwrap.dedent(body) + "\nimport json; print(json.dumps(result))\n"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_blocker_really_blocks(tmp_path: Path) -> None:
    out = run_isolated(
        """
        try:
            import papermill
            result = {"imported": True}
        except ImportError as exc:
            result = {"imported": False, "error": str(exc)}
        """,
        tmp_path,
    )
    assert out == {"imported": False, "error": "papermill is blocked: the converter must not need it"}


def test_every_converter_module_imports_and_compiles_and_emits(tmp_path: Path) -> None:
    out = run_isolated(
        """
        import importlib, pkgutil, sys
        from pathlib import Path
        import nbformat
        import jupyter_kf_converter
        from jupyter_kf_converter import compile_notebook
        from jupyter_kf_converter.emit import emit_steps

        modules = []
        for info in pkgutil.walk_packages(jupyter_kf_converter.__path__, "jupyter_kf_converter."):
            if info.name.startswith("jupyter_kf_converter.targets"):
                continue  # the KFP/Argo compilers: kfp is their declared extra
            if info.name.startswith("jupyter_kf_converter.runtime.builtin_formats."):
                continue  # one codec per library (torch, keras, ...), imported only for its values
            importlib.import_module(info.name)
            modules.append(info.name)

        nb = nbformat.v4.new_notebook()
        for source, tags in [("import math", ["imports"]), ("k = 3", ["pipeline-parameters"]),
                             ("x = [math.pi] * k", ["step:make"]), ("y = sum(x)", ["step:total"])]:
            cell = nbformat.v4.new_code_cell(source)
            cell.metadata["tags"] = tags
            nb.cells.append(cell)
        pipeline = compile_notebook(nb)
        paths = emit_steps(pipeline, Path("steps"))
        result = {
            "modules": modules,
            "valid": pipeline.valid,
            "steps": {name: str(path) for name, path in paths.items()},
            "loaded_blocked": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
        }
        """,
        tmp_path,
    )
    expected = {"ir", "errors", "tags", "parse", "analyze", "plan", "graph", "emit", "cli", "runtime"}
    assert {m.removeprefix("jupyter_kf_converter.") for m in out["modules"]} >= expected
    assert out["valid"] is True
    assert out["steps"] == {"make": "steps/make.ipynb", "total": "steps/total.ipynb"}
    assert (tmp_path / "steps/total.ipynb").exists()
    assert out["loaded_blocked"] == []


def test_runtime_imports_only_the_standard_library(tmp_path: Path) -> None:
    out = run_isolated(
        """
        import sys
        def third_party(names):
            return sorted(m for m in names if m.partition(".")[0] not in sys.stdlib_module_names
                          and m.partition(".")[0] != "jupyter_kf_converter")

        before = set(sys.modules)
        from jupyter_kf_converter.runtime import StepValues
        at_import = set(sys.modules) - before
        values = StepValues("kf-values", "s")
        values.save("v", {"a": [1, 2]})
        values.finish()
        after_save = set(sys.modules) - before
        result = {
            "at_import": third_party(at_import),
            "after_save": third_party(after_save),
            "converter": sorted(m for m in at_import if m.partition(".")[0] == "jupyter_kf_converter"),
        }
        """,
        tmp_path,
    )
    assert out["at_import"] == []
    # cloudpickle is the one optional extra saving a dict may use (never numpy or pandas).
    assert {m.partition(".")[0] for m in out["after_save"]} <= {"cloudpickle"}
    assert out["converter"] == [
        "jupyter_kf_converter",
        "jupyter_kf_converter.runtime",
        "jupyter_kf_converter.runtime.containers",
        "jupyter_kf_converter.runtime.formats",
        "jupyter_kf_converter.runtime.registry",
        "jupyter_kf_converter.runtime.values",
    ]


def test_compile_and_emit_of_a_v4_notebook_never_import_nbformat(tmp_path: Path) -> None:
    """`jupyter kf compile --steps-dir` and the KFP/Argo targets must not pay nbformat's import
    (~1.3 s here); what they write is still valid nbformat 4.5, checked here with nbformat itself."""
    import nbformat
    from kf_testing import build_notebook

    nbformat.write(
        build_notebook([("import math", ["imports"]), ("x = math.pi", ["step:a"]), ("y = x * 2", ["step:b"])]),
        tmp_path / "pipe.ipynb",
    )
    out = run_isolated(
        """
        import sys
        from pathlib import Path
        from jupyter_kf_converter import compile_notebook
        from jupyter_kf_converter.emit import emit_steps

        paths = emit_steps(compile_notebook("pipe.ipynb"), Path("steps"))
        result = {"steps": sorted(paths), "nbformat": sorted(m for m in sys.modules if m.startswith("nbformat"))}
        """,
        tmp_path,
    )
    assert out == {"steps": ["a", "b"], "nbformat": []}
    for step in ("a", "b"):
        nb = nbformat.read(tmp_path / "steps" / f"{step}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.nbformat_minor == 5 and nb.metadata["jupyter_kf"]["step"] == step

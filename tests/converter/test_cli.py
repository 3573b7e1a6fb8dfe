"""`jupyter kf compile` / `jupyter-kf-compile`: exit codes, outputs and diagnostics."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from jupyter_kf_converter import compile_notebook
from jupyter_kf_converter.cli import main
from jupyter_kf_converter.ir import Pipeline

BIN = Path(sys.executable).parent

GOOD = [
    "md:# Good\n\nA *small* pipeline:\n\n- load\n- total\n",
    ("import math", ["imports"]),
    ("def fsum(values):\n    \"\"\"Sum, exactly.\"\"\"\n\n    return math.fsum(values)\n", ["functions"]),
    ("n = 3", ["pipeline-parameters"]),
    ("values = list(range(n))", ["step:load"]),
    ("total = fsum(values)\nif total:\n\tprint('tab-indented', total)  # trailing spaces   \n", ["step:total"]),
    ("print(total)", ["pipeline-metrics"]),
]
BAD = [
    ("values = [1]", ["step:load"]),
    ("x = 1\ntotal = sum(valuez)", ["step:total", "cache:maybe"]),
]


@pytest.fixture
def good(make_notebook):
    return make_notebook(GOOD, name="good.ipynb")


@pytest.fixture
def bad(make_notebook):
    return make_notebook(BAD, name="bad.ipynb")


def test_subprocess_jupyter_kf_compile_writes_the_ir(good, tmp_path):
    out = tmp_path / "out" / "pipeline.yaml"
    proc = subprocess.run([str(BIN / "jupyter"), "kf", "compile", str(good), "-o", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert Pipeline.from_yaml(out.read_text()) == compile_notebook(str(good))
    assert f"wrote {out}" in proc.stderr


def test_subprocess_console_script_reports_located_errors(bad, tmp_path):
    out = tmp_path / "pipeline.yaml"
    proc = subprocess.run([str(BIN / "jupyter-kf-compile"), str(bad), "-o", str(out)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert f"{bad}: cell 2, line 2 (step total): error: name 'valuez' is not defined by any earlier step, import or " \
           "parameter" in lines
    assert f"{bad}: cell 2 (step total): error: malformed tag 'cache:maybe': expected cache:enabled or " \
           "cache:disabled" in lines
    assert "invalid (2 errors, 0 warnings); nothing written" in lines[-1]
    assert not out.exists()


def test_json_output(good, tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main([str(good), "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True and result["problems"] == [] and result["written"] == {"output": str(out)}
    assert Pipeline.model_validate(result["pipeline"]) == Pipeline.from_json(out.read_text())


def test_json_output_for_an_invalid_notebook(bad, capsys):
    assert main([str(bad), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    located = {(q["code"], q["cell"], q["line"], q["step"]) for q in result["problems"]}
    assert located == {("undefined-name", 1, 2, "total"), ("invalid-tag", 1, None, "total")}


@pytest.mark.parametrize(
    "argv",
    [[], ["--bogus", "nb.ipynb"], ["nb.ipynb", "-o", "out.txt"], ["nb.ipynb", "--target", "argo"],
     ["nb.ipynb", "--graph", "png"]],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_unreadable_notebook_exits_2_naming_the_file(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{nope")
    assert main([str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"cannot read notebook {broken}: not valid JSON" in err
    assert main([str(tmp_path / "missing.ipynb"), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"].endswith("missing.ipynb: no such file")


def test_graph_outputs(good, tmp_path, capsys):
    assert main([str(good), "--graph", "text"]) == 0
    text = capsys.readouterr().out
    assert "pipeline good: 2 steps, 1 edge" in text and "<- load" in text
    svg = tmp_path / "g.svg"
    assert main([str(good), "--graph-out", str(svg)]) == 0  # format from the suffix
    assert ET.fromstring(svg.read_text()).tag.endswith("svg")
    dot = tmp_path / "g.txt"
    assert main([str(good), "--graph", "dot", "--graph-out", str(dot)]) == 0
    assert dot.read_text().startswith('digraph "good"')


def test_steps_dir_writes_one_notebook_per_step(good, tmp_path, capsys):
    steps = tmp_path / "steps"
    assert main([str(good), "--steps-dir", str(steps), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]["steps"]
    assert set(written) == {"load", "total"}
    for name in ("load", "total"):
        nb = json.loads((steps / f"{name}.ipynb").read_text())
        assert nb["metadata"]["jupyter_kf"]["step"] == name


def test_target_argo_writes_a_workflow(good, tmp_path):
    out = tmp_path / "wf.yaml"
    assert main([str(good), "--target", "argo", "-o", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    assert doc["kind"] == "Workflow"


def test_invalid_pipeline_writes_nothing(bad, tmp_path):
    out, steps = tmp_path / "p.yaml", tmp_path / "steps"
    assert main([str(bad), "-o", str(out), "--steps-dir", str(steps)]) == 1
    assert not out.exists() and not steps.exists()


TRICKY = {
    "plain": "text", "quotes": "it's \"quoted\"", "newlines": "a\nb\r\nc\ttab", "unicode": "é 漢字 😀",
    "breaks": "line\u2028sep\u2029para\x85nel", "controls": "\x00\x07\x1b\x7f\x9f\ufeff", "lone": "\ud800",
    "yes": "no", "y": True, "null": None, "on": [], "": {}, "nvidia.com/gpu": "1", "a key: with colon": "v",
    "numbers": [0, -1, 10**20, 0.1, -0.0, 1e-05, 1e+16, 2.5e-300, float("inf"), float("-inf")],
    "looks": ["1", "1.0", "true", "null", "~", "- x", "# c", "&a", "*b", "!t", "%p", "@", "`", "{}", "[]", "'"],
    "nested": [[1, [2, []]], [{}], {"k": [{"a": {"b": [None]}}]}],
    "multiline": ["a\nb", "a\n", "a\n\n", "a\n\n\n", "\n", "\n\na", " lead\nx", "\tlead\nx",
                  "x\n  indented\n\ttab\n", "trailing  \nspaces ", "line\n   \n", "line\n   ",
                  "# not a comment\n- not a list\n---\n...\n", "key: value\n\"q\" 'q' \\ |\n",
                  "cr\r\nlf", "x\n\x07bell", "é\n漢字 😀\n", "x\n\u2028y"],
    "source": "import os\n\n\ndef f():\n    return 1\n",
}


def test_dump_yaml_reads_back_identically():
    from jupyter_kf_converter.yamldump import dump_yaml

    assert yaml.safe_load(dump_yaml(TRICKY)) == TRICKY
    for value in TRICKY.values():
        assert yaml.safe_load(dump_yaml(value)) == value


def test_unwritable_output_exits_2(good, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main([str(good), "-o", str(blocker / "p.yaml")]) == 2
    assert f"cannot write {blocker / 'p.yaml'}" in capsys.readouterr().err

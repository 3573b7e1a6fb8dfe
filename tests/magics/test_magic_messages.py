"""What the magics tell a user, in terminal IPython (no kernel): errors name the magic called,
`%kf_runs` has a header row, `%kf_run` warns when cells run since the last save are not in the file,
and a backend that is not configured is refused before anything runs."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError
from kf_testing import build_notebook

PIPE = [("n = 3", ["pipeline-parameters"]), ("xs = list(range(n))", ["step:make"]), ("t = sum(xs)", ["step:add"])]


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from IPython.testing.globalipapp import get_ipython

    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "kf-stores.json"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    shell = get_ipython()
    shell.run_line_magic("load_ext", "jupyter_kf")
    return shell


@pytest.mark.parametrize("magic", ["kf_run", "kf_compile", "kf_runs", "kf_status", "kf_snapshot"])
def test_an_unknown_notebook_error_names_the_magic_called(ip, magic):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic(magic, "")
    message = str(info.value)
    assert message.startswith(f"%{magic}: cannot tell which notebook"), message
    assert f"`%{magic} --notebook" in message
    assert set(re.findall(r"%kf_\w+", message)) == {f"%{magic}"}, message


def test_kf_runs_plain_text_has_a_header_row(ip, tmp_path, capsys):
    nbformat.write(build_notebook(PIPE), tmp_path / "pipe.ipynb")
    ip.run_line_magic("kf_run", "--notebook pipe.ipynb")
    capsys.readouterr()
    ip.run_line_magic("kf_runs", "--notebook pipe.ipynb")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "status", "backend", "steps", "time", "metrics"], lines
    assert lines[1].split()[1:4] == ["succeeded", "local", "2/2"], lines
    assert lines[1].index("succeeded") == lines[0].index("status")  # columns line up


def test_kf_run_warns_about_cells_run_since_the_last_save(ip, tmp_path, capsys):
    nb = tmp_path / "pipe.ipynb"
    nbformat.write(build_notebook(PIPE), nb)
    os.utime(nb, (time.time() - 5, time.time() - 5))
    ip.run_cell("n = 3")  # a saved cell, run again: nothing to say
    with pytest.raises(UsageError):  # an unknown parameter: refused before anything runs
        ip.run_line_magic("kf_run", "--notebook pipe.ipynb -p nope=1")
    assert "warning" not in capsys.readouterr().err

    ip.run_cell("t = sum(xs) * 2  # edited, not saved")
    with pytest.raises(UsageError):
        ip.run_line_magic("kf_run", "--notebook pipe.ipynb -p nope=1")
    err = capsys.readouterr().err
    assert "%kf_run: warning: pipe.ipynb was saved at" in err, err
    assert "1 cell(s) run in this kernel since are not in the saved file" in err
    assert "`t = sum(xs) * 2  # edited, not saved`" in err and "save the notebook" in err

    # Saved with the edit: the warning goes.
    edited = build_notebook([*PIPE[:2], ("t = sum(xs) * 2  # edited, not saved", ["step:add"])])
    nbformat.write(edited, nb)
    with pytest.raises(UsageError):
        ip.run_line_magic("kf_run", "--notebook pipe.ipynb -p nope=1")
    assert "warning" not in capsys.readouterr().err


def test_an_unconfigured_backend_is_refused_before_anything_runs(ip, tmp_path):
    nbformat.write(build_notebook(PIPE), tmp_path / "pipe.ipynb")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("kf_run", "--notebook pipe.ipynb -b kfp")
    assert "backend 'kfp' cannot run here" in str(info.value) and "nothing ran" in str(info.value)
    assert not (tmp_path / "kf-runs").exists()  # no record, no snapshot

"""Finding the calling notebook, and parsing `-p NAME=VALUE`."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError

from jupyter_kf.magics.core import parse_param
from jupyter_kf.magics.locate import NotebookNotFound, find_notebook


@pytest.fixture
def nb(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "pipe.ipynb"
    path.write_text("{}")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return path


def test_explicit_path_wins(nb, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/elsewhere/other.ipynb")
    monkeypatch.chdir(nb.parent)
    assert find_notebook("pipe.ipynb") == nb.resolve()


def test_absolute_session_name(nb):
    import os

    os.environ["JPY_SESSION_NAME"] = str(nb)
    try:
        assert find_notebook() == nb.resolve()
    finally:
        del os.environ["JPY_SESSION_NAME"]


def test_relative_session_name_from_an_older_server(nb, monkeypatch):
    # the path is relative to the server root; the kernel runs in the notebook's folder
    monkeypatch.setenv("JPY_SESSION_NAME", "sub/pipe.ipynb")
    monkeypatch.chdir(nb.parent)
    assert find_notebook() == nb.resolve()


def test_vscode_variable(nb):
    assert find_notebook(user_ns={"__vsc_ipynb_file__": str(nb)}) == nb.resolve()


def test_clear_error_when_unknown(nb, monkeypatch):
    monkeypatch.chdir(nb.parent)
    with pytest.raises(NotebookNotFound, match="--notebook"):
        find_notebook()


@pytest.mark.parametrize("bad", ["missing.ipynb", "notes.txt"])
def test_explicit_path_must_be_a_saved_notebook(nb, monkeypatch, bad):
    monkeypatch.chdir(nb.parent)
    (nb.parent / "notes.txt").write_text("x")
    with pytest.raises(NotebookNotFound, match=bad):
        find_notebook(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n=3", ("n", 3)),
        ("lr = 0.5", ("lr", 0.5)),
        ("name=iris", ("name", "iris")),
        ("name='iris'", ("name", "iris")),
        ("flag=True", ("flag", True)),
        ("flag=true", ("flag", True)),
        ("xs=[1, 2]", ("xs", [1, 2])),
        ("d={'a': 1}", ("d", {"a": 1})),
        ("empty=", ("empty", "")),
    ],
)
def test_parse_param(text, expected):
    assert parse_param(text) == expected


@pytest.mark.parametrize("text", ["novalue", "1x=3", "=3"])
def test_parse_param_refuses(text):
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_param(text)

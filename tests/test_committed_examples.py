"""Tests never read what a user changed in their working tree: the example notebooks they use are
the committed ones (a step renamed in examples/wine-pipeline.ipynb through the panel, as the README
invites, must not fail the suite)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from kf_testing import copy_examples

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True, timeout=30)


def test_examples_are_copied_as_committed_not_as_edited(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "examples").mkdir(parents=True)
    (repo / "examples" / "demo.ipynb").write_text('{"step": "load"}')
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "examples")
    (repo / "examples" / "demo.ipynb").write_text('{"step": "renamed-by-the-user"}')  # the user's edit
    (repo / "examples" / "scratch.ipynb").write_text('{"untracked": true}')  # never committed

    out = copy_examples(tmp_path / "copy", repo)
    assert (out / "demo.ipynb").read_text() == '{"step": "load"}'
    assert (out / "scratch.ipynb").read_text() == '{"untracked": true}'  # only the file there is


def test_outside_a_git_checkout_the_files_are_copied(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.ipynb").write_text("{}")
    assert (copy_examples(tmp_path / "copy", tmp_path) / "demo.ipynb").read_text() == "{}"

"""Fixtures for the run store, snapshot and cache-key tests: an isolated registry and a project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storetest_util import write


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the user's kf-stores.json or honour their JUPYTER_KF_* settings."""
    for name in list(os.environ):
        if name.startswith("JUPYTER_KF_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "registry" / "kf-stores.json"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small notebook folder: a notebook, data files in a subfolder, and a bigger binary."""
    root = tmp_path / "project"
    write(root / "pipeline.ipynb", '{"cells": []}')
    write(root / "data" / "train.csv", "x,y\n1,2\n3,4\n")
    write(root / "data" / "labels.txt", "a\nb\n")
    write(root / "model.bin", os.urandom(3 * 1024 * 1024 + 17))  # several hashing chunks
    return root

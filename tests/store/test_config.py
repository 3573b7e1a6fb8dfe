"""Settings from JUPYTER_KF_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_kf.config import Settings


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTER_KF_REGISTRY")
    s = Settings.from_env()
    assert s.store == "kf-runs" and s.cache is True and s.timeout is None and s.max_parallel >= 2
    assert s.store_path(tmp_path) == tmp_path.resolve() / "kf-runs"
    assert s.registry_path() == tmp_path / "jupyter-data" / "kf-stores.json"  # honours JUPYTER_DATA_DIR


def test_values_from_the_environment(tmp_path: Path) -> None:
    env = {"JUPYTER_KF_STORE": str(tmp_path / "all-runs"), "JUPYTER_KF_MAX_PARALLEL": "3",
           "JUPYTER_KF_CACHE": "false", "JUPYTER_KF_TIMEOUT": "2.5", "JUPYTER_KF_KEEP_SNAPSHOTS": "0",
           "JUPYTER_KF_REGISTRY": str(tmp_path / "reg.json"), "JUPYTER_KF_UNRELATED": "x"}
    s = Settings.from_env(env)
    assert (s.max_parallel, s.cache, s.timeout, s.keep_snapshots) == (3, False, 2.5, 0)
    assert s.store_path(tmp_path / "anywhere") == tmp_path / "all-runs"  # absolute: one shared store
    assert s.registry_path() == tmp_path / "reg.json"
    assert Settings.from_env({"JUPYTER_KF_STORE": "runs"}).store_path(tmp_path) == tmp_path.resolve() / "runs"
    assert Settings.from_env({"JUPYTER_KF_TIMEOUT": ""}).timeout is None


def test_overrides_win_and_none_is_ignored() -> None:
    s = Settings.from_env({"JUPYTER_KF_MAX_PARALLEL": "3"}, max_parallel=5, timeout=None)
    assert s.max_parallel == 5 and s.timeout is None
    assert s.with_overrides(cache=False, timeout=None).cache is False


@pytest.mark.parametrize(("name", "value"), [("MAX_PARALLEL", "0"), ("MAX_PARALLEL", "many"),
                                             ("TIMEOUT", "-1"), ("CACHE", "perhaps")])
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"JUPYTER_KF_{name}"):
        Settings.from_env({f"JUPYTER_KF_{name}": value})

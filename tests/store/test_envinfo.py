"""The installed-distributions scan is kept on disk and redone only when sys.path folders change."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_kf import envinfo


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path to install fake distributions into; no in-process memo; own runtime dir."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    forget()
    yield site
    forget()


def forget() -> None:
    """What a new process would know: nothing in memory."""
    envinfo.installed_packages.cache_clear()
    envinfo.packages_hash.cache_clear()


def install(site: Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    bump_mtime(site)


def uninstall(site: Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    (info / "METADATA").unlink()
    info.rmdir()
    bump_mtime(site)


def bump_mtime(folder: Path) -> None:
    # pip's changes happen seconds apart in real life; make sure a coarse clock cannot hide them
    st = folder.stat()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def count_scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = envinfo._scan

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(envinfo, "_scan", counting)
    return calls


def test_an_unchanged_environment_is_not_scanned_again(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(fresh, "demo-pkg", "1.0")
    scans = count_scans(monkeypatch)
    first = envinfo.packages_hash()
    assert ("demo-pkg", "1.0") in envinfo.installed_packages()
    assert len(scans) == 1
    forget()
    assert envinfo.packages_hash() == first
    assert ("demo-pkg", "1.0") in envinfo.installed_packages()
    assert len(scans) == 1, "the second process scanned the distributions again"


def test_install_and_uninstall_are_seen(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(fresh, "demo-pkg", "1.0")
    h1 = envinfo.packages_hash()
    forget()
    uninstall(fresh, "demo-pkg", "1.0")
    install(fresh, "demo-pkg", "2.0")  # an upgrade
    scans = count_scans(monkeypatch)
    h2 = envinfo.packages_hash()
    assert len(scans) == 1
    assert ("demo-pkg", "2.0") in envinfo.installed_packages() and h2 != h1
    forget()
    uninstall(fresh, "demo-pkg", "2.0")
    assert "demo-pkg" not in dict(envinfo.installed_packages())
    assert envinfo.packages_hash() not in (h1, h2)


def test_a_corrupt_or_unwritable_cache_only_costs_a_scan(fresh: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    install(fresh, "demo-pkg", "1.0")
    h = envinfo.packages_hash()
    for f in (tmp_path / "runtime").rglob("packages-*.json"):
        f.write_text("{not json")
    forget()
    assert envinfo.packages_hash() == h
    forget()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(blocker / "runtime"))  # cannot be created
    assert envinfo.packages_hash() == h

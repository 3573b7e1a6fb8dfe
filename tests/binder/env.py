"""Build the Binder environment the way repo2docker does, in a fresh virtual environment.

repo2docker copies the repository into the image, installs `binder/requirements.txt` with pip, then
runs `binder/postBuild` from the repository root with the environment's `bin` first on PATH. We do
the same with `python -m venv` (no system site-packages) in a temporary folder, on a copy of the
repository's files (tracked and untracked-but-not-ignored, as a clean checkout plus work in progress
would have), so the front-end build and anything postBuild writes never touch the work tree.

Run it by hand to keep an environment for quick iteration, then point the tests at it:

    python tests/binder/env.py /tmp/kf-binder      # builds /tmp/kf-binder/venv
    KF_BINDER_VENV=/tmp/kf-binder/venv pytest tests/binder -x -q
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECORD = "kf-binder-build.json"  # written into the venv: timings and what the build changed in ~
HOME_CONFIG_DIRS = (".jupyter", ".ipython")
# Written by any IPython session (e.g. a teammate's kernel) while we build; not configuration.
HOME_NOISE = ("history.sqlite", "history.sqlite-journal", "history.sqlite-wal", "history.sqlite-shm")


@dataclass
class BinderEnv:
    """A built Binder environment: its venv and the record of its build."""

    venv: Path
    record: dict

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> str:
        # Not resolved: the venv's python is a symlink to the base interpreter, and only the
        # unresolved path makes Python pick up the venv (pyvenv.cfg beside it).
        return str(self.bin / "python")

    def env(self, **extra: str) -> dict[str, str]:
        """The process environment of a user in this environment: its bin first on PATH, no
        Jupyter/IPython/jupyter-kf settings inherited from the caller, no PYTHONPATH."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER_", "IPYTHON", "PYTHON", "VIRTUAL_ENV"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.update(extra)
        return env

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a command of this environment (`args[0]` looked up in its bin) and capture its output."""
        exe = self.bin / args[0]
        cmd = [str(exe) if exe.exists() else args[0], *args[1:]]
        kwargs.setdefault("env", self.env())
        kwargs.setdefault("timeout", 300)
        return subprocess.run(
            cmd, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs
        )


def log(msg: str) -> None:
    print(f"[binder-env] {msg}", file=sys.stderr, flush=True)


def repository_files(repo: Path = REPO) -> list[str]:
    """Files a checkout would have: tracked plus untracked-but-not-ignored (no node_modules, no builds)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (repo / f).is_file()})


def copy_repository(dest: Path, repo: Path = REPO) -> Path:
    for rel in repository_files(repo):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target)  # keeps the executable bit (postBuild)
    return dest


def home_state(home: Path | None = None) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under ~/.jupyter and ~/.ipython, IPython's history left out."""
    home = home or Path.home()
    state = {}
    for name in HOME_CONFIG_DIRS:
        root = home / name
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.name not in HOME_NOISE:
                st = path.stat()
                state[str(path)] = (st.st_size, st.st_mtime_ns)
    return state


def home_changes(before: dict, after: dict) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _step(name: str, cmd: list[str], cwd: Path, env: dict[str, str], timings: dict[str, float]) -> None:
    log(f"{name}: {' '.join(cmd)}")
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        check=False,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    timings[name] = round(time.monotonic() - started, 1)
    log(f"{name}: {timings[name]} s, exit {proc.returncode}")
    if proc.returncode != 0:
        raise RuntimeError(f"binder build step {name!r} failed ({proc.returncode}):\n{proc.stdout[-8000:]}")


def build(base: Path, python: str = sys.executable) -> BinderEnv:
    """Build the Binder environment into `base/venv` from a copy of the repository in `base/repo`."""
    base.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.monotonic()
    repo = copy_repository(base / "repo")
    timings["copy repository"] = round(time.monotonic() - started, 1)
    venv = base / "venv"
    env = BinderEnv(venv, {})
    before = home_state()

    # Not --system-site-packages: only what binder/ installs is there.
    _step("venv", [python, "-m", "venv", str(venv)], repo, env.env(), timings)
    _step(
        "pip install -r binder/requirements.txt",
        [env.python, "-m", "pip", "install", "--progress-bar", "off", "-r", "binder/requirements.txt"],
        repo,
        env.env(),
        timings,
    )
    # repo2docker: `chmod +x binder/postBuild && ./binder/postBuild` from the repository root. We run it
    # as it is (not through bash): it must be executable and have a working shebang.
    _step("binder/postBuild", ["./binder/postBuild"], repo, env.env(), timings)

    timings["total"] = round(time.monotonic() - started, 1)
    record = {
        "python": python,
        "repo_copy": str(repo),
        "timings_s": timings,
        "home_changes": home_changes(before, home_state()),
    }
    (venv / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    log(f"built {venv} in {timings['total']} s: {json.dumps(timings)}")
    return BinderEnv(venv, record)


def reuse(venv: Path) -> BinderEnv:
    """An environment built earlier (by `build`, e.g. through this file's command line)."""
    record_path = venv / RECORD
    if not (venv / "bin" / "python").exists() or not record_path.is_file():
        raise RuntimeError(f"KF_BINDER_VENV={venv}: not a Binder environment built by tests/binder/env.py")
    log(f"reusing {venv} (KF_BINDER_VENV)")
    return BinderEnv(venv, json.loads(record_path.read_text()))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            "usage: python tests/binder/env.py DEST   (builds DEST/venv from a copy of the repo in DEST/repo)"
        )
    dest = Path(sys.argv[1]).resolve()
    if dest.exists() and any(dest.iterdir()):
        sys.exit(f"{dest} exists and is not empty")
    built = build(dest)
    print(f"KF_BINDER_VENV={built.venv}")

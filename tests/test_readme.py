"""Every command README.md shows is exercised (issue 7): the `jupyter kf` command lines of its
"Command line" section run here, in README order, on a copy of examples/; the magics it lists are
registered and accept the arguments shown; the scripts it names exist, are executable and are run by
CI (.ci/run); every relative link points to an existing file.

The top two commands (scripts/demo.sh, scripts/test.sh) are not run from pytest: CI runs them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from kf_testing import copy_examples

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
JUPYTER = str(Path(sys.executable).parent / "jupyter")  # the environment running the tests
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-z]+$")
CLUSTER_BACKEND = re.compile(r"(-b|--backend)[ =](kfp|argo)(?![-\w])")  # kfp-local runs here
# Options whose value is a file or folder the command must have written.
OUTPUT_OPTIONS = ("-o", "--output", "--graph-out", "--steps-dir")
COMMAND_TIMEOUT_S = 240


def code_blocks(text: str) -> list[tuple[str, str, str]]:
    """(section heading, language, body) of every fenced code block."""
    blocks, section = [], ""
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            continue
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            body = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                body.append(inner)
            blocks.append((section, fence.group(1), "\n".join(body)))
    return blocks


def commented_lines(body: str) -> list[tuple[str, str]]:
    """(command, trailing comment) of every command line of a shell block."""
    out = []
    for line in body.splitlines():
        code, _, comment = (" " + line).partition(" # ")
        code = code.strip()
        if code and not code.startswith("#"):
            out.append((code, comment.strip()))
    return out


def command_lines(body: str) -> list[str]:
    """Command lines of a shell block, trailing `# comments` dropped."""
    return [code for code, _ in commented_lines(body)]


BLOCKS = code_blocks(README.read_text())
CLI_COMMENTED = [
    pair
    for section, lang, body in BLOCKS
    if section == "Command line" and lang in ("bash", "sh", "console")
    for pair in commented_lines(body)
]
CLI_LINES = [code for code, _ in CLI_COMMENTED]
ALL_SHELL_LINES = [
    line for _, lang, body in BLOCKS if lang in ("bash", "sh", "console") for line in command_lines(body)
]
MAGIC_LINES = [
    line.split("#", 1)[0].strip()
    for _, lang, body in BLOCKS
    if lang in ("python", "ipython")
    for line in body.splitlines()
    if line.lstrip().startswith("%")
]


def test_readme_has_the_sections_this_file_checks() -> None:
    assert any(line.startswith("jupyter kf run ") for line in CLI_LINES), CLI_LINES
    assert any(line.startswith("jupyter kf compile ") for line in CLI_LINES), CLI_LINES
    assert MAGIC_LINES, "no %magic lines found in README.md's python blocks"


def test_every_shell_command_is_exercised() -> None:
    """A shell line in README.md is either a `jupyter kf` command (run below), a script of
    scripts/ (run by CI), or JupyterLab opening an example (what the browser tests do)."""
    unexercised = []
    for line in ALL_SHELL_LINES:
        words = shlex.split(line)
        if words[:2] == ["jupyter", "kf"] and line in CLI_LINES:
            continue
        if re.fullmatch(r"scripts/[\w-]+\.sh", words[0]):
            continue
        if (
            Path(words[0]).name == "jupyter"
            and words[1:2] == ["lab"]
            and all((REPO / w).exists() for w in words[2:])
        ):
            continue
        unexercised.append(line)
    assert not unexercised, f"README.md shows commands no test or CI runs: {unexercised}"


def scripts_named() -> set[str]:
    return set(re.findall(r"\bscripts/[\w-]+\.sh\b", README.read_text()))


def test_named_scripts_exist_and_are_executable() -> None:
    names = scripts_named()
    assert {"scripts/demo.sh", "scripts/test.sh"} <= names
    for name in sorted(names):
        path = REPO / name
        assert path.is_file(), f"README.md names {name}, which does not exist"
        assert os.access(path, os.X_OK), f"{name} is not executable"
        assert path.read_text().startswith("#!"), f"{name} has no shebang"


def test_ci_runs_the_quick_start_commands() -> None:
    """The Quick start's scripts (the demo and the test command) are run by CI itself, not by pytest."""
    quick_start = [
        line for section, lang, body in BLOCKS if section == "Quick start" for line in command_lines(body)
    ]
    scripts = [line.split()[0] for line in quick_start if line.startswith("scripts/")]
    assert {"scripts/demo.sh", "scripts/test.sh"} <= set(scripts), quick_start
    ci = (REPO / ".ci/run").read_text()
    for script in scripts:
        assert re.search(rf"^\s*(exec\s+)?(bash\s+)?{re.escape(script)}\b", ci, re.MULTILINE), (
            f".ci/run does not run {script}"
        )


def test_inline_commands_are_installed() -> None:
    """Commands README.md names in running text (`jupyter-kf-compile`) exist in the environment."""
    # `jupyter-kf-converter` is the converter's package name, not a command.
    names = set(re.findall(r"`(jupyter-kf-[a-z]+)`", README.read_text())) - {"jupyter-kf-converter"}
    assert "jupyter-kf-compile" in names
    for name in sorted(names):
        exe = Path(sys.executable).parent / name
        assert exe.is_file(), f"README.md names the command {name}, not installed in {exe.parent}"
        proc = subprocess.run([str(exe), "--help"], check=False, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rest_endpoints_are_in_the_openapi_document() -> None:
    """Every `METHOD path` of the README's REST section is a path and method of openapi.yaml."""
    import yaml

    spec = yaml.safe_load((REPO / "jupyter_kf/openapi.yaml").read_text())
    section = README.read_text().split("## REST API", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(
        r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) ([^`?]+)", section
    )
    assert len(shown) >= 8, shown
    for methods, path in shown:
        # The README writes `{id}` where the spec names the parameter `{run_id}`.
        path = "/" + path.strip().replace("{id}", "{run_id}")
        assert path in spec["paths"], f"README.md shows {methods} {path}: not in openapi.yaml"
        for method in methods.lower().split("/"):
            assert method in spec["paths"][path], (
                f"README.md shows {method.upper()} {path}: not in openapi.yaml"
            )


def test_relative_links_point_to_existing_files() -> None:
    text = README.read_text()
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
    relative = [t for t in targets if not re.match(r"^([a-z][a-z0-9+.-]*:|#)", t)]
    assert relative, "no relative links found"
    missing = [t for t in relative if not (REPO / t.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


# --- magics -------------------------------------------------------------------------------------


def test_magics_shown_are_registered_and_accept_their_arguments() -> None:
    from IPython.core.magic_arguments import parse_argstring

    from jupyter_kf.magics import KfLoadMagics, KfMagics
    from jupyter_kf.magics.schedule import KfScheduleMagics
    from jupyter_kf.magics.sweep import KfSweepMagics

    classes = (KfMagics, KfScheduleMagics, KfLoadMagics, KfSweepMagics)
    registered = {name: meth for cls in classes for name, meth in cls.magics["line"].items()}
    owner = {name: cls for cls in classes for name in cls.magics["line"]}
    for line in MAGIC_LINES:
        name, _, args = line[1:].partition(" ")
        if name == "load_ext":
            assert args.strip() == "jupyter_kf", line
            continue
        assert name in registered, f"README.md shows %{name}, which jupyter_kf does not register"
        method = getattr(owner[name], registered[name])
        # `[RUN]` is the README's notation for an optional argument: try it given.
        args = re.sub(r"\[([A-Z_]+)\]", "20260101-000000-abcd", args.strip())
        if hasattr(method, "parser"):
            parse_argstring(method, args)  # raises UsageError on an option the magic does not have


# --- the command line section, run in order -------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the repository root, with a copy of examples/ (no runs in it)."""
    root = tmp_path_factory.mktemp("readme")
    copy_examples(root / "examples")  # as committed, whatever the user changed in examples/
    return root


def latest_run(root: Path) -> str | None:
    store = root / "examples" / "kf-runs"
    ids = sorted(p.name for p in store.iterdir() if RUN_ID.match(p.name)) if store.is_dir() else []
    return ids[-1] if ids else None


def test_cli_lines_in_readme_order(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_KF_")}
    env["JUPYTER_KF_REGISTRY"] = str(workdir / "kf-stores.json")
    assert CLI_COMMENTED
    for line, comment in CLI_COMMENTED:
        assert line.startswith("jupyter kf "), f"not a jupyter kf command in the Command line section: {line}"
        if CLUSTER_BACKEND.search(line):
            # Not runnable here (tests/k8s runs the cluster backends against a fake API server);
            # the README must say that the line needs a cluster.
            assert re.search(r"cluster|kubernetes", comment, re.IGNORECASE), (
                f"README.md shows a command that needs a cluster without saying so: {line}"
            )
            continue
        if "<run-id>" in line:
            run_id = latest_run(workdir)
            assert run_id, f"README.md uses <run-id> before any command made a run: {line}"
            line = line.replace("<run-id>", run_id)
        words = shlex.split(line)
        assert not [w for w in words if re.fullmatch(r"<[^>]+>", w)], f"unfilled placeholder in {line}"
        proc = subprocess.run(
            [JUPYTER, *words[1:]],
            check=False,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=COMMAND_TIMEOUT_S,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"`{line}` exited {proc.returncode}:\n{out[-4000:]}"
        for i, word in enumerate(words[:-1]):
            if word in OUTPUT_OPTIONS:
                assert (workdir / words[i + 1]).exists(), f"`{line}` did not write {words[i + 1]}"
        if words[2] == "run" and "--retry" not in words:
            assert "best_accuracy=" in out, f"`{line}` printed no metrics:\n{out}"

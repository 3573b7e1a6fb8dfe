"""Configure the environment this Python runs in for the demo (called by binder/postBuild).

Writes two config files under ``sys.prefix`` (so only this environment is affected, never ~/.jupyter):
- a jupyter_server config that opens the demo notebook in JupyterLab by default;
- an IPython kernel config that loads the jupyter-kf magics in every kernel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {path}")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python binder/setup_demo.py NOTEBOOK", file=sys.stderr)
        return 2
    notebook = argv[0]
    if not Path(notebook).is_file():
        print(f"setup_demo: no notebook at {notebook!r} (run from the repository root)", file=sys.stderr)
        return 1
    prefix = Path(sys.prefix)
    write_json(
        prefix / "etc/jupyter/jupyter_server_config.d/jupyter_kf_demo.json",
        {"ServerApp": {"default_url": f"/lab/tree/{Path(notebook).as_posix()}"}},
    )
    write_json(
        prefix / "etc/ipython/ipython_kernel_config.json",
        {"InteractiveShellApp": {"extensions": ["jupyter_kf"]}},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

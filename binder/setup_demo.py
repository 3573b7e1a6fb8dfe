"""Configure the environment this Python runs in for the demo (called by binder/postBuild).

Writes (merging into what is there) two config files under ``sys.prefix``, so only this environment
is affected, never ~/.jupyter:
- ``etc/jupyter/jupyter_server_config.json``: the demo notebook as the default page. Both
  ``ServerApp.default_url`` (``jupyter server``, a hub's single-user server) and ``LabApp.default_url``
  are needed: ``jupyter lab`` replaces the server's default_url with its own (``/lab``). Not a file in
  ``jupyter_server_config.d/``: Jupyter Server reads only ``jpserver_extensions`` from those.
- ``etc/ipython/ipython_kernel_config.json``: loads the jupyter-kf magics in every kernel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def merge_json(path: Path, data: dict[str, dict]) -> None:
    """Update the sections of the JSON config file `path` with `data` (other settings kept)."""
    config = read_json(path)
    for section, values in data.items():
        config.setdefault(section, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
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
    url = f"/lab/tree/{Path(notebook).as_posix()}"
    merge_json(
        prefix / "etc/jupyter/jupyter_server_config.json",
        {"ServerApp": {"default_url": url}, "LabApp": {"default_url": url}},
    )
    kernel_config = prefix / "etc/ipython/ipython_kernel_config.json"
    extensions = read_json(kernel_config).get("InteractiveShellApp", {}).get("extensions", [])
    extensions = [e for e in extensions if e != "jupyter_kf"] + ["jupyter_kf"]
    merge_json(kernel_config, {"InteractiveShellApp": {"extensions": extensions}})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Child process of the ``kfp-local`` backend: ``python -m jupyter_kf.backends.kfp_local_runner
<spec.yaml> <pipeline_root> <parameters JSON>`` runs a compiled KFP spec with ``kfp.local``."""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from kfp import components, local

    spec, root, params = argv[0], argv[1], json.loads(argv[2])
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root, raise_on_error=True)
    pipeline = components.load_component_from_file(spec)
    pipeline(**params)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

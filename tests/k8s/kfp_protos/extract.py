"""Regenerate the descriptor files in this folder from the published KFP packages (not run by tests).

    pip download --no-deps kfp-pipeline-spec==0.3.0 kfp-kubernetes==1.2.0 ... -d /tmp/kfp
    python tests/k8s/kfp_protos/extract.py /tmp/kfp/*

Each wheel/sdist holds a generated ``*_pb2.py`` whose ``AddSerializedFile(b'...')`` argument is the
compiled FileDescriptorProto of that release's .proto file; it is written here as
``<package>-<version>.pb`` so the tests can load each release into a pool of its own.
"""

from __future__ import annotations

import ast
import re
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
MODULES = {"pipeline_spec_pb2.py": "kfp-pipeline-spec", "kubernetes_executor_config_pb2.py": "kfp-kubernetes"}


def serialized(source: str) -> bytes:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            return node.args[0].value
    raise ValueError("no AddSerializedFile call")


def members(archive: Path):
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                yield name, lambda n=name: z.read(n).decode()
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                yield m.name, lambda m=m: t.extractfile(m).read().decode()


def main(paths: list[str]) -> None:
    for path in map(Path, paths):
        version = re.search(r"-(\d+\.\d+\.\d+)", path.name)[1]
        for name, read in members(path):
            package = MODULES.get(Path(name).name)
            if package:
                out = HERE / f"{package}-{version}.pb"
                out.write_bytes(serialized(read()))
                print(out.name)


if __name__ == "__main__":
    main(sys.argv[1:])

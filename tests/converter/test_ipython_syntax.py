"""The fast rewrite of simple IPython syntax gives exactly the tree IPython's own transformer gives."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_kf_converter.ipython import _simple_transform, parse_source

SIMPLE = [
    "%matplotlib inline\nimport os",
    "%load_ext autoreload\n%autoreload 2",
    "x = 1\n!ls -la {x} $HOME\nprint(x)",
    "if True:\n    !echo hi\n    %time y = 2\n",
    "files = !ls -la\nn = len(files)",
    "a, b = !printf 'a\\nb'",
    "r = %time sum(range(3))",
    "!!ls",
    "%timeit -n1 -r1 x + 1",
    "%cd ~/data",
    "!echo \"double\" 'single'",
    "%%time\nx = 1\ny = x + 1\n",
    "%%capture out --no-stderr\nprint(1)",
    "%%bash\necho $x\nls\n",
    "%%writefile data.txt\nnot python at all {\n",
    "\n\n%%time\nz = 3",
    "%%timeit\n",
    "x = 5\n%store x\n",
]
NEEDS_IPYTHON = [
    "  %matplotlib inline",  # indented cell
    "x = 1\nlen?",  # help syntax
    "%ls \\\n  -la",  # continuation
    "%%time?",
]


def _ipython_tree(cell: str) -> str:
    return ast.dump(ast.parse(TransformerManager().transform_cell(cell)))


@pytest.mark.parametrize("cell", SIMPLE)
def test_simple_forms_match_ipython(cell):
    assert _simple_transform(cell) is not None
    assert ast.dump(ast.parse(_simple_transform(cell))) == _ipython_tree(cell)
    assert ast.dump(parse_source(cell)) == _ipython_tree(cell)


@pytest.mark.parametrize("cell", NEEDS_IPYTHON)
def test_other_forms_fall_back_to_ipython(cell):
    assert ast.dump(parse_source(cell)) == _ipython_tree(cell)


def test_line_numbers_stay_those_of_the_cell():
    tree = parse_source("\n\nx = 1\n%time y = 2\nz = 3")
    assert [n.lineno for n in tree.body] == [3, 4, 5]
    magic = parse_source("\n%%time\na = 1")
    assert magic.body[0].lineno == 2


def test_simple_magics_do_not_import_ipython():
    code = ("import sys\nfrom jupyter_kf_converter.ipython import parse_source\n"
            "parse_source('%matplotlib inline\\n!ls\\nx = !ls\\n')\nparse_source('%%time\\nx = 1')\n"
            "print('IPython' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

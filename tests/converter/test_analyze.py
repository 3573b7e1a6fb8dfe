"""Name analysis: the hard cases, each with a real notebook written to disk and compiled."""

from __future__ import annotations

from core_helpers import compile_cells_fixture, inputs, problems  # noqa: F401 (fixture)


def test_augmented_assignment_uses_and_redefines(compile_cells):
    p = compile_cells([
        ("total = 1", ["step:a"]),
        ("total += 5", ["step:b"]),
        ("print(total)", ["step:c"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"total": ("a", "value")}
    assert "total" in p.step("b").defines
    assert inputs(p, "c") == {"total": ("b", "value")}
    assert p.step("a").outputs == ["total"] and p.step("b").outputs == ["total"]


def test_subscript_and_attribute_mutation_redefine_the_upstream_object(compile_cells):
    p = compile_cells([
        ("import types", ["imports"]),
        ("table = {'a': 1}\nobj = types.SimpleNamespace(x=1)", ["step:load"]),
        ("table['b'] = 2\nobj.y = 3", ["step:mutate"]),
        ("other = 5", ["step:unrelated"]),
        ("print(table, obj.y, other)", ["step:use"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "mutate") == {"table": ("load", "value"), "obj": ("load", "value")}
    assert {"table", "obj"} <= set(p.step("mutate").defines)
    # later users depend on the mutating step, not on the original definer
    assert inputs(p, "use") == {"table": ("mutate", "value"), "obj": ("mutate", "value"),
                                "other": ("unrelated", "value")}
    assert p.step("use").depends_on == ["mutate", "unrelated"]
    assert p.step("load").outputs == ["obj", "table"]


def test_nested_subscript_mutation_and_del_item(compile_cells):
    p = compile_cells([
        ("grid = {'r': {'c': 1}}\nitems = [1, 2, 3]", ["step:a"]),
        ("grid['r']['c'] = 5\ndel items[0]", ["step:b"]),
        ("print(grid, items)", ["step:c"]),
    ])
    assert inputs(p, "b") == {"grid": ("a", "value"), "items": ("a", "value")}
    assert inputs(p, "c") == {"grid": ("b", "value"), "items": ("b", "value")}


def test_mutating_an_imported_module_is_not_data(compile_cells):
    p = compile_cells([
        ("import json", ["imports"]),
        ("json.decoder.flag = 1", ["step:configure"]),
        ("print(json.dumps({}))", ["step:use"]),
    ])
    assert p.valid, p.problems
    assert p.step("use").inputs == []
    assert p.step("configure").outputs == []


def test_del_uses_the_name_and_unbinds_it(compile_cells):
    p = compile_cells([
        ("x = 1\ny = 2\ndel y", ["step:a"]),
        ("del x", ["step:b"]),
        ("print(y)", ["step:c"]),
    ])
    assert p.step("a").defines == ["x"]
    assert inputs(p, "b") == {"x": ("a", "value")}
    assert "x" not in p.step("b").defines
    [err] = problems(p, "undefined-name")
    assert (err.step, err.name, err.cell, err.line) == ("c", "y", 2, 1)


def test_comprehension_variables_stay_in_their_scope(compile_cells):
    p = compile_cells([
        ("data = [1, 2, 3]", ["step:a"]),
        ("squares = [i * i for i in data if i]\npairs = {k: v for k, v in zip(data, data)}\n"
         + "gen = sum(j for j in range(3))", ["step:b"]),
        ("print(i)", ["step:c"]),
    ])
    assert inputs(p, "b") == {"data": ("a", "value")}
    assert set(p.step("b").defines) == {"squares", "pairs", "gen"}
    [err] = problems(p, "undefined-name")
    assert (err.step, err.name) == ("c", "i")


def test_lambda_parameters_are_local_and_free_names_are_used(compile_cells):
    p = compile_cells([
        ("factor = 3", ["step:a"]),
        ("f = lambda v, w=1: v * factor + w\nresult = f(2)", ["step:b"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"factor": ("a", "value")}
    assert "v" not in p.step("b").uses


def test_function_body_free_names_are_used_by_the_defining_step(compile_cells):
    p = compile_cells([
        ("model = 2\nbias = 1", ["step:train"]),
        ("def predict(x, bias=0):\n    local = x * model\n    return local + bias\n", ["step:serve"]),
    ])
    assert p.valid, p.problems
    # `model` is read at call time; `bias` and `local` are the function's own names
    assert inputs(p, "serve") == {"model": ("train", "value")}
    assert p.step("serve").defines == ["predict"]


def test_function_free_name_bound_later_in_the_step_is_not_an_error(compile_cells):
    p = compile_cells([
        ("def report():\n    return threshold * 2\n\nthreshold = 0.5\nout = report()", ["step:only"]),
    ])
    assert p.valid, p.problems
    assert p.step("only").inputs == []


def test_class_body_and_method_free_names(compile_cells):
    p = compile_cells([
        ("base_value = 1\nscale = 2", ["step:a"]),
        ("class Model:\n    start = base_value\n    def run(self, x):\n        return x * scale\n"
         + "    def again(self):\n        return self.run(start_missing_is_fine := 1)\n", ["step:b"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"base_value": ("a", "value"), "scale": ("a", "value")}
    assert p.step("b").defines == ["Model"]


def test_import_inside_a_step_is_replayed_not_passed(compile_cells):
    p = compile_cells([
        ("import math\nfrom os import path as osp\nimport xml.etree.ElementTree as ET\nvalue = 2.0", ["step:a"]),
        ("print(math.sqrt(value), osp.sep, ET.Element)", ["step:b"]),
    ])
    assert p.valid, p.problems
    got = {i.name: (i.producer, i.kind, i.statement) for i in p.step("b").inputs}
    assert got == {
        "math": ("a", "import", "import math"),
        "osp": ("a", "import", "from os import path as osp"),
        "ET": ("a", "import", "import xml.etree.ElementTree as ET"),
        "value": ("a", "value", None),
    }
    assert p.step("a").outputs == ["value"]  # modules are not saved


def test_global_assignment_inside_a_function_defines_the_name(compile_cells):
    p = compile_cells([
        ("counter = 0", ["step:a"]),
        ("def bump():\n    global counter, created\n    counter += 1\n    created = True\nbump()", ["step:b"]),
        ("print(counter, created)", ["step:c"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"counter": ("a", "value")}
    assert {"counter", "created", "bump"} <= set(p.step("b").defines)
    assert inputs(p, "c") == {"counter": ("b", "value"), "created": ("b", "value")}


def test_star_import_is_a_warning_and_softens_undefined_names(compile_cells):
    p = compile_cells([
        ("from math import *", ["imports"]),
        ("root = sqrt(2)", ["step:a"]),
    ])
    [warn] = problems(p, "star-import")
    assert warn.severity == "warning" and warn.cell == 0 and warn.line == 1
    [undef] = problems(p, "undefined-name")
    assert undef.severity == "warning" and undef.name == "sqrt"
    assert p.valid


def test_imports_functions_and_builtins_are_never_data_edges(compile_cells):
    p = compile_cells([
        ("import json\nfrom collections import Counter", ["imports"]),
        ("def helper(v):\n    return Counter(v)", ["functions"]),
        ("words = ['a', 'b', 'a']", ["step:a"]),
        ("print(len(words), json.dumps(helper(words)), sorted(words), range(2))", ["step:b"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"words": ("a", "value")}
    assert p.edges[0].names == ["words"]


def test_pipeline_parameters_are_never_data_edges(compile_cells):
    p = compile_cells([
        ("rate = 0.1\nepochs = 3", ["pipeline-parameters"]),
        ("history = [rate] * epochs", ["step:a"]),
        ("final = history[-1] * rate", ["step:b"]),
    ])
    assert p.valid, p.problems
    assert p.step("a").parameters == ["epochs", "rate"] and p.step("a").inputs == []
    assert p.step("b").parameters == ["rate"]
    assert inputs(p, "b") == {"history": ("a", "value")}


def test_functions_cell_reading_step_data_and_parameters(compile_cells):
    p = compile_cells([
        ("threshold = 0.5", ["pipeline-parameters"]),
        ("def summary():\n    return helper2() + len(frame)\n\ndef helper2():\n    return threshold", ["functions"]),
        ("frame = [1, 2]", ["step:load"]),
        ("print(summary())", ["step:report"]),
        ("print('no call')", ["step:quiet"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "report") == {"frame": ("load", "value")}
    assert p.step("report").parameters == ["threshold"]
    assert p.step("quiet").parameters == [] and p.step("quiet").inputs == []


def test_cell_magics(compile_cells):
    p = compile_cells([
        ("x = 2", ["step:a"]),
        ("%%time\ny = x + 1\n", ["step:b"]),
        ("%%capture captured\nprint(y)", ["step:c"]),
        ("%%bash\necho $undefined_shell_var\n", ["step:d"]),
        ("print(captured.stdout, y)", ["step:e"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"x": ("a", "value")}
    assert p.step("b").defines == ["y"]
    assert inputs(p, "c") == {"y": ("b", "value")}
    assert p.step("c").defines == ["captured"]
    assert p.step("d").inputs == []
    assert inputs(p, "e") == {"captured": ("c", "value"), "y": ("b", "value")}


def test_shell_lines_and_captured_shell_output(compile_cells):
    p = compile_cells([
        ("folder = '/tmp'", ["step:a"]),
        ("!ls {folder} > /dev/null\n!echo $HOME\nlisting = !ls /\n%time n_files = len(listing)", ["step:b"]),
        ("print(listing, n_files)", ["step:c"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"folder": ("a", "value")}  # $HOME is left to the shell
    assert set(p.step("b").defines) == {"listing", "n_files"}
    assert inputs(p, "c") == {"listing": ("b", "value"), "n_files": ("b", "value")}


def test_line_magics_do_not_break_analysis(compile_cells):
    p = compile_cells([
        ("import os\n%matplotlib inline\n%load_ext autoreload", ["imports"]),
        ("value = os.getpid()\n%timeit -n 1 -r 1 value + 1", ["step:a"]),
    ])
    assert p.valid, p.problems
    assert p.step("a").defines == ["value"]


def test_rebinding_a_builtin_makes_a_data_edge(compile_cells):
    p = compile_cells([
        ("max = 10", ["step:a"]),
        ("print(max)", ["step:b"]),
    ])
    assert inputs(p, "b") == {"max": ("a", "value")}


def test_used_before_defined_in_the_same_step_is_an_input(compile_cells):
    p = compile_cells([
        ("count = 1", ["step:a"]),
        ("count = count + 1\nagain = count", ["step:b"]),
    ])
    assert inputs(p, "b") == {"count": ("a", "value")}


def test_walrus_and_with_and_except_bind(compile_cells):
    p = compile_cells([
        ("if (size := 3) > 1:\n    pass\nwith open(__file__ if False else '/dev/null') as fh:\n    pass\n"
         + "try:\n    1 / 0\nexcept ZeroDivisionError as err:\n    saved = str(err)\nfor idx, val in enumerate('ab'):\n    pass",
         ["step:a"]),
        ("print(size, fh, saved, idx, val)", ["step:b"]),
    ])
    assert p.valid, p.problems
    assert set(inputs(p, "b")) == {"size", "fh", "saved", "idx", "val"}


def test_names_from_run_and_exec_are_warnings_not_errors(compile_cells):
    p = compile_cells([
        ("%run helpers.py\nresult = from_script(1)", ["step:a"]),
        ("exec('made = 1')\nprint(made)", ["step:b"]),
    ])
    assert p.valid, p.problems
    warns = problems(p, "undefined-name")
    assert [(w.name, w.severity) for w in warns] == [("from_script", "warning"), ("made", "warning")]
    assert "it may come from %run at cell 1" in warns[0].message


def test_star_import_message_names_the_module(compile_cells):
    p = compile_cells([("from math import *", ["imports"]), ("root = sqrt(2)", ["step:a"])])
    assert "it may come from 'from math import *' at cell 1" in problems(p, "undefined-name")[0].message


def test_imports_functions_and_parameters_cells_below_the_steps_still_apply(compile_cells):
    p = compile_cells([
        ("frame = [1, 2]", ["step:load"]),
        ("print(json.dumps(summary()))", ["step:report"]),
        ("import json", ["imports"]),
        ("def summary():\n    return len(frame) * factor", ["functions"]),
        ("factor = 2", ["pipeline-parameters"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "report") == {"frame": ("load", "value")}
    assert p.step("report").parameters == ["factor"]


def test_a_name_bound_on_some_paths_keeps_the_upstream_value(compile_cells):
    p = compile_cells([
        ("flag = False", ["pipeline-parameters"]),
        ("x = 1\nlast = None", ["step:a"]),
        ("if flag:\n    x = 2\nfor item in []:\n    last = item\ntry:\n    import not_a_module as maybe\n"
         + "except ImportError:\n    maybe = None", ["step:b"]),
        ("print(x, last, maybe)", ["step:c"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "b") == {"x": ("a", "value"), "last": ("a", "value")}  # `maybe` has no upstream
    assert inputs(p, "c") == {"x": ("b", "value"), "last": ("b", "value"), "maybe": ("b", "value")}


def test_in_place_method_calls_mutate_the_upstream_object(compile_cells):
    p = compile_cells([
        ("import sys\nfrom sklearn.linear_model import LinearRegression", ["imports"]),
        ("model = LinearRegression()\nitems = [3, 1]\nframe = {'a': 1}\nrows = [[1], [2]]", ["step:make"]),
        ("model.fit([[0], [1]], [0, 1])\nitems.sort()\nsys.path.append('.')\n"
         + "copies = [r.append(0) for r in rows]\nframe.pop('a')", ["step:train"]),
        ("print(model.predict([[2]]), items, frame, rows)", ["step:use"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "train") == {"model": ("make", "value"), "items": ("make", "value"),
                                  "frame": ("make", "value"), "rows": ("make", "value")}
    # the fitted model, sorted list and popped dict come from `train`; `rows` was only read there
    # (the comprehension's `r.append` is not seen) and `sys` stays an import
    assert inputs(p, "use") == {"model": ("train", "value"), "items": ("train", "value"),
                                "frame": ("train", "value"), "rows": ("make", "value")}


def test_inplace_keyword_is_a_mutation(compile_cells):
    p = compile_cells([
        ("import pandas as pd\ndf = pd.DataFrame({'a': [1, None]})", ["step:load"]),
        ("df.dropna(inplace=True)\ndf.head()", ["step:clean"]),
        ("print(df)", ["step:show"]),
    ])
    assert inputs(p, "show") == {"df": ("clean", "value")}


def test_mutation_through_aliases_redefines_what_they_hold(compile_cells):
    p = compile_cells([
        ("a = {}\nb = {}\nc = {}\nd = {}\ne = {}\nkeep = {}", ["step:load"]),
        # pairwise tuple assignment, a dict's values, a conditional alias (both, as it cannot tell)
        ("x, y = a, keep\nx['k'] = 1\nfor _, v in {'one': b}.items():\n    v.update(k=2)\n"
         "pick = c if len(a) else d\npick.clear()", ["step:mutate"]),
        # a rebound name no longer holds the old objects
        ("alias = e\nalias = {}\nalias['k'] = 3", ["step:rebind"]),
        ("print(a, b, c, d, e, keep)", ["step:use"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "use") == {"a": ("mutate", "value"), "b": ("mutate", "value"), "c": ("mutate", "value"),
                                "d": ("mutate", "value"), "e": ("load", "value"), "keep": ("load", "value")}


def test_a_step_mutating_a_container_built_earlier_mutates_its_items(compile_cells):
    p = compile_cells([
        ("train = {'x': 1}\ntest = {'x': 2}\nboth = [train, test]", ["step:load"]),
        ("for item in both:\n    item['y'] = 0", ["step:change"]),
        ("print(train, test)", ["step:use"]),
    ])
    assert p.valid, p.problems
    assert inputs(p, "change") == {"both": ("load", "value"), "train": ("load", "value"),
                                   "test": ("load", "value")}
    assert inputs(p, "use") == {"train": ("change", "value"), "test": ("change", "value")}

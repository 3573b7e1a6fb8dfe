"""POST compile and GET backends against a real server and the real converter."""

from __future__ import annotations

import nbformat
from jupyter_kf_converter.ir import Pipeline


async def test_compile_a_saved_notebook(api, pipe_nb):
    status, body = await api("POST", "compile", {"notebook": pipe_nb})
    assert status == 200, body
    pipeline = Pipeline.model_validate(body["pipeline"])
    assert [s.name for s in pipeline.steps] == ["make", "add"]
    assert body["valid"] is True and body["problems"] == []
    assert {n["id"] for n in body["graph"]["nodes"]} == {"make", "add"}
    assert any(e["source"] == "make" and e["target"] == "add" for e in body["graph"]["edges"])
    assert [p["name"] for p in body["pipeline"]["parameters"]] == ["n"]


async def test_compile_unsaved_content_named_by_its_path(api, write_nb, root):
    path = write_nb([("x = 1", ["step:one"])], name="sub/draft.ipynb")
    content = nbformat.read(root / path, as_version=4)
    content.cells.append(nbformat.v4.new_code_cell("y = x + 1", metadata={"tags": ["step:two"]}))
    status, body = await api("POST", "compile", {"content": content, "notebook": path})
    assert status == 200, body
    assert [s["name"] for s in body["pipeline"]["steps"]] == ["one", "two"]  # the unsaved cell counts
    assert body["pipeline"]["notebook"] == "sub/draft.ipynb"


async def test_problems_are_located_by_cell_and_step(api, write_nb):
    path = write_nb([("a = 1", ["step:first"]), ("print(b_undefined)", ["step:second"])], name="bad.ipynb")
    status, body = await api("POST", "compile", {"notebook": path})
    assert status == 200, body
    assert body["valid"] is False
    errors = [p for p in body["problems"] if p["severity"] == "error"]
    assert errors, body["problems"]
    assert any(p["cell"] == 1 and p["step"] == "second" and p["name"] == "b_undefined" for p in errors), errors
    assert next(n for n in body["graph"]["nodes"] if n["id"] == "second")["errors"] >= 1


async def test_an_unreadable_notebook_is_422(api, root):
    (root / "broken.ipynb").write_text("{ this is not json")
    status, body = await api("POST", "compile", {"notebook": "broken.ipynb"})
    assert status == 422, body
    assert "broken.ipynb" in body["message"] or "read" in body["message"]


async def test_garbage_content_is_4xx_not_500(api):
    for content in ({"cells": "x"}, {"nbformat": 4, "cells": [1]}, {"cells": [{"cell_type": 3}]}):
        status, body = await api("POST", "compile", {"content": content})
        assert 400 <= status < 500, (content, body)
        assert body["message"]


async def test_backends_lists_local_as_available(api):
    status, body = await api("GET", "backends")
    assert status == 200, body
    by_name = {b["name"]: b for b in body["backends"]}
    assert by_name["local"]["available"] is True and by_name["local"]["configured"] is True
    for info in body["backends"]:
        assert set(info) == {"name", "available", "configured", "description", "reason"}
        if not info["configured"]:
            assert info["reason"], info  # says why

"""Every route needs Jupyter auth; every path resolves inside the server root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_kf.handlers import routes
from jupyter_kf.paths import PathError, relative_to_root, resolve_in_root

# One concrete request per route (method, path); run/step names need not exist: auth comes first.
ROUTE_CALLS = [
    ("POST", "compile"),
    ("GET", "backends"),
    ("GET", "runs"),
    ("POST", "runs"),
    ("GET", "runs/20260101-000000-abcd"),
    ("GET", "runs/20260101-000000-abcd/events"),
    ("POST", "runs/20260101-000000-abcd/cancel"),
    ("POST", "runs/20260101-000000-abcd/retry"),
    ("GET", "runs/20260101-000000-abcd/diff/20260101-000000-abce"),
    ("GET", "runs/20260101-000000-abcd/steps/a/log"),
    ("GET", "runs/20260101-000000-abcd/steps/a/notebook"),
    ("GET", "snapshots"),
    ("POST", "snapshots"),
    ("GET", "store"),
    ("POST", "store/prune"),
    ("GET", "openapi.yaml"),
    ("GET", "schedules"),
    ("POST", "schedules"),
    ("GET", "schedules/sch-00000000"),
    ("PATCH", "schedules/sch-00000000"),
    ("DELETE", "schedules/sch-00000000"),
    ("POST", "schedules/sch-00000000/pause"),
    ("POST", "schedules/sch-00000000/resume"),
    ("GET", "sweeps"),
    ("POST", "sweeps"),
    ("GET", "sweeps/20260101-000000-abcd"),
    ("POST", "sweeps/20260101-000000-abcd/cancel"),
]


def test_route_calls_cover_every_route():
    import re

    patterns = [re.compile(p + "$") for p, _ in routes()]
    for pattern in patterns:
        assert any(pattern.match(path) for _, path in ROUTE_CALLS), pattern.pattern


@pytest.mark.parametrize(("method", "path"), ROUTE_CALLS)
async def test_every_route_refuses_requests_without_auth(api, method, path):
    status, body = await api(method, path, {"notebook": "pipe.ipynb"}, headers={"Authorization": ""})
    assert status == 403
    assert isinstance(body, dict) and body["message"]


@pytest.mark.parametrize(("method", "path"), ROUTE_CALLS)
async def test_a_wrong_token_is_refused(api, method, path):
    status, _ = await api(method, path, {"notebook": "pipe.ipynb"}, headers={"Authorization": "token not-the-token"})
    assert status == 403


async def test_the_token_never_appears_in_answers(api, jp_serverapp, write_nb):
    token = jp_serverapp.identity_provider.token
    assert token
    for method, path in ROUTE_CALLS:
        _, body = await api(method, path, {"notebook": "../x.ipynb"})
        assert token not in str(body), (method, path)


# -- paths.py --------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.ipynb").write_text("{}")
    (tmp_path / "outside.ipynb").write_text("{}")
    os.symlink(tmp_path / "outside.ipynb", root / "escape.ipynb")
    os.symlink(tmp_path, root / "updir")
    os.symlink(root / "sub" / "a.ipynb", root / "inside-link.ipynb")
    return root


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../outside.ipynb", 400),
        ("sub/../../outside.ipynb", 400),
        ("sub/../sub/a.ipynb", 400),  # '..' is refused even when it would stay inside
        ("/etc/passwd", 400),
        ("C:/x.ipynb", 400),
        ("", 400),
        ("a\x00b.ipynb", 400),
        ("escape.ipynb", 403),
        ("updir/outside.ipynb", 403),
        ("missing.ipynb", 404),
        ("sub", 400),
        ("x" * 300 + ".ipynb", 400),
    ],
)
def test_resolve_in_root_refuses(tree, path, status):
    with pytest.raises(PathError) as info:
        resolve_in_root(tree, path)
    assert info.value.status == status
    assert info.value.message.startswith("notebook:")


def test_resolve_in_root_accepts_paths_inside(tree):
    assert resolve_in_root(tree, "sub/a.ipynb") == (tree / "sub" / "a.ipynb").resolve()
    assert resolve_in_root(tree, "./sub//a.ipynb") == (tree / "sub" / "a.ipynb").resolve()
    # a symlink that stays inside the root is fine
    assert resolve_in_root(tree, "inside-link.ipynb") == (tree / "sub" / "a.ipynb").resolve()
    assert relative_to_root(tree, tree / "sub" / "a.ipynb") == "sub/a.ipynb"
    assert relative_to_root(tree, tree.parent / "outside.ipynb") is None


def test_hidden_files_follow_the_server_setting(tree):
    (tree / ".hidden").mkdir()
    (tree / ".hidden" / "n.ipynb").write_text("{}")
    with pytest.raises(PathError) as info:
        resolve_in_root(tree, ".hidden/n.ipynb", allow_hidden=False)
    assert info.value.status == 404
    assert resolve_in_root(tree, ".hidden/n.ipynb", allow_hidden=True).name == "n.ipynb"


# -- the same rules through the API -----------------------------------------------------------


@pytest.fixture
def escape_links(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    os.symlink(outside / "secret.ipynb", root / "link.ipynb")
    os.symlink(outside, root / "linkdir")


@pytest.mark.parametrize(
    ("notebook", "status"),
    [
        ("../outside/secret.ipynb", 400),
        ("a/../../outside/secret.ipynb", 400),
        ("/etc/passwd", 400),
        ("link.ipynb", 403),
        ("linkdir/secret.ipynb", 403),
        ("nope.ipynb", 404),
        ("notes.txt", 400),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "compile"), ("POST", "runs"), ("POST", "snapshots")])
async def test_api_refuses_paths_out_of_root(api, escape_links, method, path, notebook, status):
    code, body = await api(method, path, {"notebook": notebook})
    assert code == status, body
    assert body["field"] == "notebook"
    assert "notebook" in body["message"]


@pytest.mark.parametrize("notebook", ["../outside/secret.ipynb", "/etc/passwd", "link.ipynb"])
async def test_query_paths_are_checked_too(api, escape_links, notebook):
    for path in ("runs", "snapshots"):
        code, body = await api("GET", path, params={"notebook": notebook})
        assert code in (400, 403), (path, body)
        assert body["field"] == "notebook"


async def _login_cookie(jp_fetch, token: str) -> str:
    """The login cookie jupyter_server sets for a browser that came in with ?token=."""
    resp = await jp_fetch("api", "status", params={"token": token}, headers={"Authorization": ""})
    cookies = [c.split(";", 1)[0] for c in resp.headers.get_list("Set-Cookie")]
    login = [c for c in cookies if c.startswith("username-")]
    assert login, cookies
    return login[0]


async def test_browser_writes_need_the_xsrf_token(api, jp_fetch, jp_serverapp, pipe_nb):
    cookie = await _login_cookie(jp_fetch, jp_serverapp.identity_provider.token)
    # the cookie alone authenticates reads...
    status, _ = await api("GET", "backends", headers={"Authorization": "", "Cookie": cookie})
    assert status == 200
    # ...but a write without the XSRF token is refused, like everywhere else in the server
    status, body = await api("POST", "snapshots", {"notebook": pipe_nb}, headers={"Authorization": "", "Cookie": cookie})
    assert status == 403, body
    assert "xsrf" in body["message"].lower()
    # with the _xsrf cookie echoed in X-XSRFToken (what JupyterLab's ServerConnection does) it works
    headers = {"Authorization": "", "Cookie": f"{cookie}; _xsrf=abc123", "X-XSRFToken": "abc123"}
    status, body = await api("POST", "snapshots", {"notebook": pipe_nb}, headers=headers)
    assert status == 201, body

"""Base handler: Jupyter auth, JSON bodies validated with the pydantic models, JSON errors.

Handlers hold no pipeline logic: they validate input, resolve paths inside the server root and
call :class:`jupyter_kf.service.PipelineService` in a worker thread (never on the event loop).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado import web

from ..models import Run
from ..paths import PathError, resolve_in_root
from .present import run_view

if TYPE_CHECKING:
    from ..extension import KfState

M = TypeVar("M", bound=BaseModel)

AUTH_RESOURCE = "jupyter_kf"
# Limits on request bodies (docs/architecture.md): larger is 413, deeper is 400. A notebook sent
# for compiling nests about 8 levels deep; parameters are plain values, lists and small mappings.
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_BODY_DEPTH = 64
# Run ids and step names as they can exist (step names are RFC 1123 labels): nothing path-like.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ApiError(web.HTTPError):
    """A 4xx answer with a JSON body naming the field at fault (and pipeline problems, if any)."""

    def __init__(self, status: int, message: str, *, field: str | None = None, problems: list | None = None):
        # log_message is %-formatted by tornado when args are given; give none and escape nothing.
        super().__init__(status, None)
        self.message = message
        self.field = field
        self.problems = problems or []


def _validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """The first pydantic error as a message that names the field."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)
    msg = err.get("msg", "invalid value")
    if err.get("type") == "extra_forbidden":
        msg = "unknown field"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return ApiError(400, f"{field or 'body'}: {msg}{more}", field=field)


def map_exception(exc: BaseException) -> ApiError | None:
    """Translate an exception from the core into an API error; None for real bugs (500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PathError):
        return ApiError(exc.status, exc.message, field=exc.field)
    if isinstance(exc, ValidationError):
        return _validation_error(exc)
    name = type(exc).__name__
    problems = getattr(exc, "problems", None)
    if problems:  # InvalidPipeline: nothing ran
        return ApiError(422, str(exc), problems=[p.model_dump() if hasattr(p, "model_dump") else p for p in problems])
    if name == "ConverterError":
        return ApiError(422, f"cannot read the notebook: {exc}")
    if name == "ParameterError":
        return ApiError(422, str(exc), field="parameters")
    if name == "UnknownBackend":
        return ApiError(422, str(exc), field="backend")
    if name == "BackendNotReady":
        return ApiError(422, str(exc), field="backend")
    if name == "BackendError":
        return ApiError(422, str(exc))
    if isinstance(exc, PermissionError):
        return ApiError(403, str(exc) or "permission denied")
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return ApiError(400, "a name in the request is too long")
    field = getattr(exc, "field", None)  # set by the core where one request field is at fault
    field = field if isinstance(field, str) else None
    prefix = f"{field}: " if field else ""
    if isinstance(exc, FileNotFoundError):
        return ApiError(404, str(exc) or "not found")
    if isinstance(exc, KeyError):
        return ApiError(404, str(exc.args[0]) if exc.args else "not found")
    if isinstance(exc, LookupError):
        return ApiError(404, prefix + (str(exc) or "not found"), field=field)
    if name.endswith("ConflictError"):
        return ApiError(409, str(exc))
    if isinstance(exc, (ValueError, TypeError)):
        return ApiError(422, prefix + (str(exc) or name), field=field)
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (numbers must be finite)")


def json_depth(data: Any, limit: int) -> int:
    """How deep ``data`` (parsed JSON) nests, counted without recursion; stops past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest


class KfHandler(APIHandler):
    """Base of every jupyter-kf route: auth resource `jupyter_kf`, JSON in and out."""

    auth_resource = AUTH_RESOURCE

    @property
    def kf(self) -> KfState:
        return self.settings["jupyter_kf"]

    # -- input ------------------------------------------------------------------------------
    def parse_body(self, model: type[M], *, required: bool = True) -> M:
        raw = self.request.body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is {len(raw):,} bytes; at most {MAX_BODY_BYTES:,} are accepted")
        if not raw.strip():
            if required:
                raise ApiError(400, "a JSON object body is required")
            return model()
        too_deep = ApiError(400, f"the JSON body is nested more than {MAX_BODY_DEPTH} levels deep")
        try:
            data = json.loads(raw, parse_constant=_no_constant)
        except RecursionError:  # the decoder's own limit (~1,000 levels), before ours is checked
            raise too_deep from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"invalid JSON body: {exc}") from None
        if json_depth(data, MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
            raise too_deep
        if not isinstance(data, dict):
            raise ApiError(400, f"the body must be a JSON object, not {type(data).__name__}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise _validation_error(exc) from None

    def query(self, name: str, default: str | None = None) -> str | None:
        values = self.get_query_arguments(name)
        if not values:
            return default
        return values[-1]

    def query_number(self, name: str, default: float, lo: float, hi: float, *, integer: bool = False) -> float:
        raw = self.query(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise ApiError(400, f"{name}: {raw!r} is not {kind}", field=name) from None
        if not (lo <= value <= hi):  # also refuses nan
            raise ApiError(400, f"{name}: must be between {lo:g} and {hi:g}", field=name)
        return value

    def notebook_path(self, path: str | None, field: str = "notebook", must_exist: bool = True) -> str:
        """``path`` checked to resolve inside the root; returned relative to it, `/`-separated."""
        if path is None:
            raise ApiError(400, f"{field}: required", field=field)
        real = resolve_in_root(
            self.kf.root, path, field=field, must_exist=must_exist, allow_hidden=self.kf.allow_hidden,
            suffix=".ipynb",
        )
        return real.relative_to(self.kf.root).as_posix()

    # -- calling the core -------------------------------------------------------------------
    async def call(self, fn, /, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking core call in the worker pool, mapping its exceptions to 4xx."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.kf.executor, functools.partial(fn, *args, **kwargs))
        except Exception as exc:
            api = map_exception(exc)
            if api is None:
                raise
            raise api from None

    async def get_run(self, run_id: str) -> Run:
        """The run, if its store is this server's (under the root, or the configured store), as
        responses show it: paths relative to the server root (``present.run_view``)."""
        if not _NAME.fullmatch(run_id):  # ids are `YYYYMMDD-HHMMSS-xxxx`; never a path
            raise ApiError(404, f"no run {run_id[:80]!r}")
        service = self.kf.service
        store = await self.call(service.store_of, run_id)
        path = Path(store.path).resolve()
        if not (path.is_relative_to(self.kf.root) or path == service.settings.store_path(self.kf.root).resolve()):
            raise ApiError(404, f"no run {run_id!r} under the server root")
        run = await self.call(service.get_run, run_id)
        return run_view(run, path, self.kf.root, service.settings)

    async def present(self, runs: list[Run]) -> list[Run]:
        """Runs from the core as responses show them: paths relative to the server root."""
        service, root = self.kf.service, self.kf.root

        def store_path(run_id: str) -> Path | None:
            try:
                return Path(service.store_of(run_id).path)
            except LookupError:  # deleted since it was listed
                return None

        def view() -> list[Run]:
            return [run_view(r, store_path(r.id), root, service.settings) for r in runs]

        return await self.call(view)

    # -- output -----------------------------------------------------------------------------
    def send(self, model: BaseModel | dict | list, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(model, BaseModel):
            self.finish(model.model_dump_json())
        else:
            self.finish(json.dumps(model, default=str))

    def _handle_request_exception(self, e: BaseException) -> None:
        # Core exceptions raised outside `call()` (e.g. PathError) become 4xx answers, not 500s.
        api = map_exception(e) if not isinstance(e, web.HTTPError) else None
        if api is not None and not self._finished:
            self.send_error(api.status_code, exc_info=(type(api), api, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is an `ApiError` JSON body; never a traceback, never a token."""
        self.set_header("Content-Type", "application/json")
        self.clear_header("Content-Disposition")
        reason = self._reason
        body: dict[str, Any] = {"message": reason, "reason": reason, "field": None, "problems": []}
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            body.update(message=exc.message, field=exc.field, problems=exc.problems)
        elif isinstance(exc, web.HTTPError):
            if exc.log_message:
                try:
                    body["message"] = exc.log_message % exc.args if exc.args else exc.log_message
                except (TypeError, ValueError):
                    body["message"] = exc.log_message
        elif exc is not None:
            body["message"] = "internal error in jupyter-kf (see the server log)"
        self.finish(json.dumps(body, default=str))

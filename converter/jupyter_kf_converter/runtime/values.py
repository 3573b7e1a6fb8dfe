"""Saving and loading the values passed between steps, their manifests and metrics.

Layout (``values_dir`` is relative to the step's working folder, or absolute)::

    <values_dir>/<step>/<name>.<ext>                one file per value the step passes on
                                                    (extension per format; .refs: containers.py)
    <values_dir>/<step>/manifest.json               {name: {format, type, sha256, bytes}}
    <values_dir>/<step>/metrics.json                {metric: number}

Every file is written to a temporary name and renamed into place, so a killed step leaves no half
value. ``manifest.json`` is written last by :meth:`StepValues.finish`: when it exists, the step
saved everything it passes on (in some run using this folder; a runner re-running a step may
clear ``<values_dir>/<step>`` first).
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import containers, formats

MANIFEST, METRICS = "manifest.json", "metrics.json"


class ValueTransferError(Exception):
    """A value could not be passed from one step to another."""


class UnpicklableValueError(ValueTransferError, TypeError):
    """A step's output cannot be serialised in any format."""


class DiskFullError(ValueTransferError, OSError):
    """A step's output could not be written for lack of space (not a problem of the value)."""


class MissingInputError(ValueTransferError, LookupError):
    """A step's input was not saved where its producer should have saved it."""


class MissingOutputError(ValueTransferError, NameError):
    """A step did not define a value later steps load (e.g. it assigns it only under a condition)."""


def step_folder(values_dir: str | os.PathLike[str], step: str) -> Path:
    return Path(os.path.abspath(values_dir)) / step


def _steps_phrase(steps: Iterable[str]) -> str:
    names = list(steps)
    if not names:
        return ""
    label = "step" if len(names) == 1 else "steps"
    return f" to {label} " + ", ".join(repr(n) for n in names)


def _needs(steps: Iterable[str]) -> str:
    names = list(steps)
    if not names:
        return "this step passes on"
    if len(names) == 1:
        return f"step {names[0]!r} needs"
    return "steps " + ", ".join(repr(n) for n in names) + " need"


def _write_atomically(folder: Path, final_name: str, write: Any) -> Any:
    """Call ``write(tmp_path)`` then rename the temp file to ``folder/final_name``."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final_name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result = write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide values from steps running as other users
        os.replace(tmp, folder / final_name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _write_json(folder: Path, name: str, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    _write_atomically(folder, name, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_value(
    values_dir: str | os.PathLike[str],
    step: str,
    name: str,
    value: Any,
    consumers: Iterable[str] = (),
) -> dict[str, Any]:
    """Save one output of ``step``; return its manifest entry.

    Raises :class:`UnpicklableValueError` naming the value, its type and the steps involved when
    no format can store it.
    """
    folder = step_folder(values_dir, step)
    tried: list[str] = []
    for fmt in formats.candidates(value):
        final = f"{name}.{formats.extension(fmt)}"
        try:
            digest, size = _write_atomically(folder, final, lambda tmp: formats.write(fmt, value, tmp))
        except formats.Unfaithful as exc:
            tried.append(f"{fmt}: {exc}")
            continue
        except Exception as exc:
            if _no_space(exc):
                raise DiskFullError(
                    errno.ENOSPC,
                    f"cannot save {name!r} ({formats.type_name(value)}) from step {step!r}: disk full "
                    f"(no space left on the device for {folder}); free space and retry the run",
                ) from exc
            raise UnpicklableValueError(
                f"cannot pass {name!r} ({formats.type_name(value)}) from step {step!r}"
                f"{_steps_phrase(consumers)}: {type(exc).__name__}: {exc}"
                f"{''.join(f' (format {t})' for t in tried)}. Create it in the step "
                f"that uses it, or pass what it can be rebuilt from (a path, a URL, parameters)."
            ) from exc
        _remove_other_formats(folder, name, keep=final)
        return {"format": fmt, "type": formats.type_name(value), "sha256": digest, "bytes": size}
    raise AssertionError(f"no format accepted {name!r}: {tried}")  # pickle never says Unfaithful


def _no_space(exc: BaseException | None) -> bool:
    """ENOSPC/EDQUOT anywhere in the chain (pickle and numpy raise it as is; pyarrow wraps it)."""
    for _ in range(10):
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _remove_other_formats(folder: Path, name: str, keep: str) -> None:
    """A value saved before in another format (an earlier run in this folder) must not linger."""
    for other in folder.glob(f"{name}.*"):  # names are identifiers: no dot, so only this value's files
        if other.name != keep:
            other.unlink(missing_ok=True)


def read_manifest(values_dir: str | os.PathLike[str], step: str) -> dict[str, dict[str, Any]]:
    """The manifest of ``step``: ``{name: {format, type, sha256, bytes}}``.

    Raises ``FileNotFoundError`` when the step has not finished saving its values.
    """
    path = step_folder(values_dir, step) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"step {step!r} has no manifest at {path}: it has not finished saving its values"
        ) from None


def read_metrics(values_dir: str | os.PathLike[str], step: str) -> dict[str, Any]:
    """The metrics ``step`` recorded (``{}`` when it recorded none)."""
    path = step_folder(values_dir, step) / METRICS
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def load_value(
    values_dir: str | os.PathLike[str],
    producer: str,
    name: str,
    consumer: str | None = None,
    resolve: Callable[[str], Any] | None = None,
) -> Any:
    """Load ``name`` saved by step ``producer``; a missing value raises :class:`MissingInputError`.

    A container saved as references (:mod:`.containers`) loads its items with ``resolve(name)``
    (default: loading each afresh)."""
    folder = step_folder(values_dir, producer)
    manifest_path = folder / MANIFEST
    who = f"step {consumer!r} needs" if consumer else "cannot load"
    expected = folder / f"{name}.<ext>"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingInputError(
            f"{who} {name!r} from step {producer!r}, but {manifest_path} does not exist: step "
            f"{producer!r} has not finished in this values folder (expected the value at {expected})"
        ) from None
    entry = manifest.get(name)
    if entry is None:
        saved = ", ".join(sorted(manifest)) or "nothing"
        raise MissingInputError(
            f"{who} {name!r} from step {producer!r}, but step {producer!r} did not save it "
            f"(expected at {expected}; its manifest {manifest_path} lists: {saved})"
        )
    fmt = entry["format"]
    path = folder / f"{name}.{containers.EXTENSION if fmt == containers.FORMAT else formats.extension(fmt)}"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MissingInputError(
            f"{who} {name!r} from step {producer!r}, but {path} does not exist (listed in {manifest_path})"
        ) from None
    if size != entry.get("bytes", size):  # a cheap check against a damaged or partial copy
        raise MissingInputError(
            f"{who} {name!r} from step {producer!r}, but {path} has {size} bytes where "
            f"{manifest_path} says {entry['bytes']}: the file was changed after step {producer!r} saved it"
        )
    if fmt == containers.FORMAT:
        return containers.rebuild(
            path.read_bytes(), resolve or (lambda ref: load_value(values_dir, producer, ref, consumer))
        )
    return formats.read(fmt, path)


def metric_value(value: Any) -> Any:
    """A JSON-friendly metric: numbers stay numbers (numpy scalars too); others become text."""
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:  # numpy scalar / 1-element array
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)


def save_metrics(values_dir: str | os.PathLike[str], step: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Record ``metrics`` of ``step`` in ``metrics.json`` and print them; return what was written."""
    recorded = {name: metric_value(v) for name, v in metrics.items()}
    _write_json(step_folder(values_dir, step), METRICS, recorded)
    for name, v in recorded.items():
        print(f"metric {name} = {v}")
    return recorded


class StepValues:
    """What a step notebook's generated cells use: ``load`` inputs, ``save`` outputs, ``finish``.

    The folder is made absolute at creation, so a step that changes its working folder still
    saves where its consumers look.
    """

    def __init__(self, values_dir: str | os.PathLike[str], step: str) -> None:
        self.values_dir = Path(os.path.abspath(values_dir))
        self.step = step
        self.saved: dict[str, dict[str, Any]] = {}
        self._loaded: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"StepValues({str(self.values_dir)!r}, step={self.step!r})"

    def load(self, name: str, producer: str) -> Any:
        """One object per (producer, name): a container saved as references holds the very objects
        loaded under its items' names."""
        key = (producer, name)
        if key not in self._loaded:
            self._loaded[key] = load_value(
                self.values_dir, producer, name, consumer=self.step, resolve=lambda ref: self.load(ref, producer)
            )
        return self._loaded[key]

    def save(self, name: str, value: Any, consumers: Iterable[str] = ()) -> None:
        self.saved[name] = save_value(self.values_dir, self.step, name, value, consumers)

    def save_outputs(self, namespace: Mapping[str, Any], /, **consumers: Iterable[str]) -> None:
        """Save each output named in ``consumers`` (``name=[steps that load it]``) from
        ``namespace`` (the step's globals). Raises :class:`MissingOutputError` naming the value,
        this step and its consumers when the step did not define one, before saving anything."""
        missing = [
            f"{name!r}, which {_needs(steps)}" for name, steps in consumers.items() if name not in namespace
        ]
        if missing:
            raise MissingOutputError(
                f"step {self.step!r} did not define {'; nor '.join(missing)} "
                "(is it only assigned under a condition?)"
            )
        refs = containers.find_refs({name: namespace[name] for name in consumers})
        for name, steps in consumers.items():
            if name not in refs:
                self.save(name, namespace[name], steps)
        for name, spec in refs.items():  # after their items: a container's hash covers theirs
            data = containers.encode(spec, self.saved)
            final = f"{name}.{containers.EXTENSION}"
            folder = self.values_dir / self.step
            _write_atomically(folder, final, lambda tmp: tmp.write_bytes(data))
            _remove_other_formats(folder, name, keep=final)
            self.saved[name] = {"format": containers.FORMAT, "type": spec["type"],
                                "sha256": containers.digest(data), "bytes": len(data)}

    def save_metrics(self, metrics: Mapping[str, Any]) -> None:
        save_metrics(self.values_dir, self.step, metrics)

    def finish(self) -> None:
        """Write the manifest: the step has saved everything it passes on."""
        _write_json(self.values_dir / self.step, MANIFEST, self.saved)

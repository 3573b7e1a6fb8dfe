"""Exceptions of the converter.

An *invalid pipeline* is never an exception: its problems are listed in ``Pipeline.problems``.
``ConverterError`` is only for input that cannot be read at all (missing file, not JSON, not a
notebook).
"""

from __future__ import annotations


class ConverterError(Exception):
    """The notebook could not be read; the message names the file and the reason."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

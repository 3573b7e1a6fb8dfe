"""Debian's Chromium driven by the Python `playwright` package (its own driver; no browser download)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Browser, Playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "ui-screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}


def chromium_path() -> str | None:
    """`$CHROMIUM_PATH`, else `chromium` on PATH, else Debian's /usr/bin/chromium (None: not found)."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def launch_chromium(pw: Playwright) -> Browser:
    """Headless Chromium (no video, no trace). Playwright gives every launch a fresh temporary
    profile (user-data dir) and removes it on close; it refuses a `--user-data-dir` argument."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium not found: apt-get install chromium, or set CHROMIUM_PATH")
    return pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name

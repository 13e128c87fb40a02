"""Headless Chromium for map.html's tests: open a page offline (every host name fails to
resolve), let its scripts run, and return the DOM after them or a screenshot.

Debian's ``chromium`` package installs it (``apt-get install chromium``); without it the
tests that need it skip and say so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="no headless Chromium on this machine (apt-get install chromium): map.html is "
           "opened in a real browser only where one is installed")


def run(page: Path, profile: Path, *flags: str, timeout: float = 120.0) -> str:
    """Chromium on ``page`` (file://, no network); its standard output."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-default-apps", "--mute-audio",
           f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--window-size=1400,900", "--virtual-time-budget=5000", *flags, page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8", errors="replace")


def dump_dom(page: Path, profile: Path) -> str:
    return run(page, profile, "--dump-dom")


def screenshot(page: Path, profile: Path, png: Path) -> Path:
    run(page, profile, f"--screenshot={png}")
    assert png.stat().st_size > 0
    return png

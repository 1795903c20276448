"""Playwright (pytest-playwright) on the system Chromium: no browser is ever downloaded."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

#: headless without a GPU; WebGL (the maps) on the SwiftShader software renderer
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at the Chromium of the system packages."""
    executable = shutil.which("chromium")
    if executable is None:
        raise FileNotFoundError("chromium is not installed: run scripts/setup-system.sh")
    return {**browser_type_launch_args, "executable_path": executable, "headless": True,
            "args": ARGS}

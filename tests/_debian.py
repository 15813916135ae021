"""Installing a Debian package a test needs, when the machine lacks it and allows it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest


def ensure_packages(packages: list[str], installed: Callable[[], bool], what: str) -> None:
    """Return once ``installed()`` holds, installing ``packages`` with apt-get first if need
    be (idempotent); else skip the test, saying why.

    Needs root and apt-get; a stale package list is refreshed once."""
    if installed():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{what} is not installed and cannot be installed here (needs root and apt-get): "
                    f"apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:  # a stale package list: refresh it once
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=900)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if not installed():
        pytest.skip(f"apt-get could not install {' '.join(packages)}: {done.stderr.strip()[-500:]}")

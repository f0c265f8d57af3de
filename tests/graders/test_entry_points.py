"""Graders from installed packages: a tiny real package with an `evalkit.graders` entry point,
pip-installed offline into a temporary directory."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalkit.errors import GraderError
from evalkit.graders.base import registry, unregister
from evalkit.graders.discovery import load_entry_point_graders
from evalkit.records import Status
from tests.graders.grading import grade

MODULE = "evalkit_polite_plugin"
PYPROJECT = f"""
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "evalkit-polite-plugin"
version = "0.1.0"

[project.entry-points."evalkit.graders"]
polite = "{MODULE}"

[tool.setuptools]
py-modules = ["{MODULE}"]
"""
PLUGIN = '''
from evalkit.graders.base import Score, grader


@grader("says-please")
def says_please(output, case, params):
    """The answer asks nicely."""
    found = "please" in (output.text or "").lower()
    return Score(1.0 if found else 0.0, reason="said please" if found else "no please")
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The plugin installed into a target directory that is on sys.path for these tests."""
    base = tmp_path_factory.mktemp("plugin")
    package = base / "package"
    package.mkdir()
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / f"{MODULE}.py").write_text(PLUGIN)
    site = base / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--target", str(site), str(package)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        sys.modules.pop(MODULE, None)
        unregister("says-please")
        importlib.invalidate_caches()


async def test_an_installed_package_registers_its_grader(installed: Path) -> None:
    assert "says-please" in load_entry_point_graders()
    definition = registry()["says-please"]
    assert definition.source == "package:evalkit-polite-plugin"
    assert definition.description == "The answer asks nicely."
    assert (await grade("says-please", "Please restart")).status is Status.PASS
    assert (await grade("says-please", "Restart now")).reason == "no please"
    # again: nothing changes, the names are still reported
    assert "says-please" in load_entry_point_graders()


def test_a_broken_package_is_named(installed: Path) -> None:
    # The package as installed, then broken the way a bad release would be.
    (installed / f"{MODULE}.py").write_text("raise ImportError('needs libpolite >= 2')\n")
    sys.modules.pop(MODULE, None)
    unregister("says-please")
    importlib.invalidate_caches()
    with pytest.raises(GraderError) as caught:
        load_entry_point_graders()
    message = str(caught.value)
    assert message.startswith("installed package 'evalkit-polite-plugin'")
    assert "polite = evalkit_polite_plugin" in message
    assert "ImportError: needs libpolite >= 2" in message

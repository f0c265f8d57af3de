"""The distribution is `evalkit-cli`; the import name and the command stay `evalkit`.

`evalkit` on PyPI is an unrelated project, so no example may install it by that name.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from evalkit._version import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
# `pip install evalkit` (maybe with -U, an extra or a version), but not `evalkit-cli`
BARE = re.compile(r"pip3?\s+install\b[^\n&;|`]*?(?<![\w./-])evalkit(?![\w-])(?!\s*@)")


def test_the_distribution_name_is_the_one_the_version_lookup_uses() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "evalkit-cli"
    assert project["scripts"]["evalkit"] == "evalkit.cli:main"


def test_no_example_or_document_installs_the_unrelated_pypi_project() -> None:
    files = [
        p
        for p in [*ROOT.glob("examples/**/*"), *ROOT.glob("*.md"), *ROOT.glob("src/**/*.py")]
        if p.is_file() and p.suffix in {".yml", ".yaml", ".sh", ".md", ".py", ".toml", ""}
    ]
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in files
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines()
        if "never" not in line.lower()  # the warnings against it may quote it
        for m in BARE.finditer(line)
    ]
    assert not offenders
    assert BARE.search("pip install -U evalkit duckdb")  # the pattern does catch one
    assert not BARE.search("pip install -U evalkit-cli duckdb")


def test_every_workflow_example_installs_this_repository() -> None:
    workflows = sorted(ROOT.glob("examples/**/*.yml"))
    assert workflows
    for path in workflows:
        installs = re.findall(r"^\s*- run: pip install (\S+)$", path.read_text(), re.M)
        assert installs, path
        for spec in installs:
            assert spec in {".", '"$EVALKIT_PACKAGE"'} or spec.startswith('"evalkit-cli'), spec
    workflow = (ROOT / "examples/github-actions/evalkit.yml").read_text()
    assert 'EVALKIT_PACKAGE: "."' in workflow


def test_the_quickstart_offers_the_runtime_only_install() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "pip install -e '.[dev]' && evalkit run" in quickstart
    assert "pip install ." in quickstart.replace("pip install -e '.[dev]'", "")

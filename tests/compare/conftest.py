"""The CLI tests' workspace (wired to the fake model server) and in-process runner."""

from tests.cli.conftest import cli, workspace  # noqa: F401  (fixtures, re-exported)

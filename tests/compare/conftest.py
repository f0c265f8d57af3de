"""The CLI tests' workspace (wired to the fake model server) and in-process runner."""

from tests.cli.conftest import workspace  # noqa: F401  (fixture, re-exported)

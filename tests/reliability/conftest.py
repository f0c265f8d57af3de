"""The CLI tests' workspace and in-process runner, reused for the reliability tests."""

from tests.cli.conftest import cli, workspace

__all__ = ["cli", "workspace"]

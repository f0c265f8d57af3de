"""The CLI tests' workspace, reused for the reliability tests."""

from tests.cli.conftest import workspace

__all__ = ["workspace"]

"""A local HTTP server speaking the Anthropic and OpenAI wire formats, for tests.

Use `FakeModelServer` (starts it in a subprocess) or run `python -m tests.fakeserver`.
"""

from tests.fakeserver.client import FakeModelServer

__all__ = ["FakeModelServer"]

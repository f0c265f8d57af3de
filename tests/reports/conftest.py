"""Report tests: a real workspace run through the CLI, and a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Workspace, workspace  # noqa: F401  (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's chromium, or another chromium on PATH."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browse() -> Iterator[Callable[[Path], Any]]:
    """Open a report in headless Chromium: `page = browse(path)`; skipped when no chromium.

    The browser starts on the first call, not before the test: playwright's sync API
    keeps an event loop running in this thread, and `evalkit run` in-process needs
    asyncio.run, so a test runs the CLI first and browses after. JavaScript errors on
    a page fail the test.
    """
    executable = chromium_path()
    if executable is None:
        if os.environ.get("EVALKIT_REQUIRE_BROWSER"):  # set by .ci/run: CI must not skip
            pytest.fail("no chromium binary, and EVALKIT_REQUIRE_BROWSER is set")
        pytest.skip("no chromium binary (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    state: dict[str, Any] = {}
    errors: list[str] = []

    def open_page(path: Path) -> Any:
        if "browser" not in state:
            state["driver"] = sync_playwright().start()
            state["browser"] = state["driver"].chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS
            )
        tab = state["browser"].new_page(viewport={"width": 1400, "height": 1000})
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(path.resolve().as_uri())
        tab.wait_for_selector("body[data-ready=true]", timeout=10_000)
        return tab

    yield open_page
    if "browser" in state:
        state["browser"].close()
        state["driver"].stop()
    assert not errors, f"JavaScript errors on the page: {errors}"


class Hook:
    """A local HTTP server standing in for Slack's incoming webhook."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()

"""FakeModelServer: start the fake model server in a subprocess and drive it.

A subprocess, not a thread, so the server never competes with the code under test for
the GIL (benchmarks of the engine would otherwise measure the fake too).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


class FakeModelServer:
    """A running fake server plus a small client for its control API."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakeserver",
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline().strip()
        if not first.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"fake server did not start (first line: {first!r})")
        self.port = int(first.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._http = httpx.Client(base_url=self.url, timeout=10.0)

    @property
    def pid(self) -> int:
        """The server process's id (benchmarks read its CPU time)."""
        return self._proc.pid

    @property
    def anthropic_url(self) -> str:
        """base_url for anthropic.Anthropic / AsyncAnthropic."""
        return self.url

    @property
    def openai_url(self) -> str:
        """base_url for openai.OpenAI / AsyncOpenAI."""
        return f"{self.url}/v1"

    @property
    def echo_url(self) -> str:
        """A JSON echo endpoint for the generic http target."""
        return f"{self.url}/echo"

    def script(self, *rules: dict[str, Any]) -> None:
        """Reply by rule: the first whose `match` occurs in the last user message wins.

        Each rule: {"match": str, "reply": str, "stop_reason"?: str, "latency_ms"?: float,
        "judge"?: {...} (a scripted judge, see judge.py), "top_logprobs"?: {token: logprob}}.
        """
        self._post("/_control/script", {"rules": list(rules)})

    def reply(self, match: str, reply: str) -> None:
        """Shorthand for a single scripted rule."""
        self.script({"match": match, "reply": reply})

    def fail_next(
        self, status: int | str, count: int = 1, retry_after: float | str | None = None
    ) -> None:
        """Make the next `count` model requests fail with `status`, or "hang", or answer 200
        with a broken body ("malformed", "empty", "null")."""
        self._post("/_control/fail", {"status": status, "count": count, "retry_after": retry_after})

    def set_latency(self, ms: float) -> None:
        """Delay every model reply by `ms` milliseconds."""
        self._post("/_control/latency", {"ms": ms})

    def requests(self) -> list[dict[str, Any]]:
        """Model and echo requests received since the last reset, oldest first."""
        response = self._http.get("/_control/requests")
        response.raise_for_status()
        log: list[dict[str, Any]] = response.json()["requests"]
        return log

    def request_count(self) -> int:
        """How many model and echo requests arrived since the last reset."""
        response = self._http.get("/_control/requests")
        response.raise_for_status()
        return int(response.json()["count"])

    def reset(self) -> None:
        """Forget scripts, failures, latency changes and the request log."""
        self._post("/_control/reset", {})

    def close(self) -> None:
        """Stop the server process."""
        self._http.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> FakeModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, payload: dict[str, Any]) -> None:
        response = self._http.post(path, json=payload)
        response.raise_for_status()

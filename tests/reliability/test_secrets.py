"""Point 7 of issue 6: canary keys in the environment, in headers and in target config
appear nowhere evalkit writes or prints: DuckDB, reports, exports, stdout/stderr."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.cli.conftest import Workspace
from tests.harness import start_cli

ENV_KEY = "sk-canary-env-7d41c0a9e35b"  # an API key in the environment
HEADER_KEY = "sk-canary-hdr-2b8f6e1a90cd"  # a ${VAR} expanded into an http header
CONFIG_KEY = "sk-canary-cfg-91e3a7d5f402"  # written literally in the plan's target config
CANARIES = (ENV_KEY, HEADER_KEY, CONFIG_KEY)


def plan(ws: Workspace) -> str:
    server = ws.server
    return f"""\
name: support
suites: [suites/*.yaml]
retries: 1
targets:
  - id: claude
    provider: anthropic
    model: claude-haiku-4-5
    base_url: {server.anthropic_url}
    api_key_env: CANARY_ANTHROPIC_KEY
  - id: gpt
    provider: openai
    model: gpt-4o-mini
    base_url: {server.openai_url}
  - id: hook
    provider: http
    url: {server.echo_url}
    headers:
      Authorization: "Bearer ${{CANARY_TOKEN}}"
      X-Api-Key: "{CONFIG_KEY}"
    body: {{prompt: "{{{{ question }}}}"}}
    output_path: data.answer
"""


def run(ws: Workspace, *args: str) -> str:
    proc = start_cli(ws.root, *args)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode in (0, 1), out
    return out


def database_as_text(db: Path) -> str:
    """Every row of every table and view, as text."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return "\n".join(
            repr(row)
            for table in tables
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall()
        )
    finally:
        con.close()


def test_canary_keys_appear_nowhere(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CANARY_ANTHROPIC_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("CANARY_TOKEN", HEADER_KEY)
    (workspace.root / "evals" / "plan.yaml").write_text(plan(workspace))
    workspace.server.fail_next(401, count=2)  # auth failures: their messages are stored too
    out = tmp_path / "out"
    seen = [
        run(
            workspace,
            "run",
            "--junit",
            str(out / "junit.xml"),
            "--markdown",
            str(out / "summary.md"),
            "--json",
            str(out / "run.json"),
        ),
        run(workspace, "run", "--no-cache", "--label", "second=yes"),
        run(workspace, "show"),
        run(workspace, "runs"),
        run(workspace, "report", "latest", "--out", str(out / "report.html")),
        run(workspace, "export", "--format", "jsonl", "--out", str(out / "trials.jsonl")),
        run(workspace, "export", "--format", "csv", "--out", str(out / "trials.csv")),
        database_as_text(workspace.db),
    ]
    written = sorted(p for p in out.iterdir() if p.is_file())
    assert {p.name for p in written} >= {"junit.xml", "report.html", "trials.jsonl", "trials.csv"}
    seen += [p.read_text(errors="replace") for p in written]
    # the raw database file and its WAL, byte for byte: nothing hides in a page we didn't query
    raw = b"".join(p.read_bytes() for p in workspace.db.parent.iterdir() if p.is_file())

    sent = json.dumps([r["headers"] for r in workspace.server.requests()])
    for canary in CANARIES:
        assert canary in sent  # each key really was used on the wire ...
        for text in seen:
            assert canary not in text  # ... and was never kept or shown
        assert canary.encode() not in raw
    errors = workspace.sql("SELECT error FROM results WHERE error_kind = 'auth'")
    assert errors  # the failure path was exercised, and its messages are clean too
    config = workspace.sql("SELECT config FROM run_targets WHERE target_id = 'hook' LIMIT 1")
    assert "<redacted>" in str(config[0][0])


def test_a_key_in_a_config_error_is_not_echoed(workspace: Workspace) -> None:
    """A misspelt key next to a secret: the error names the field, never the value."""
    (workspace.root / "evals" / "plan.yaml").write_text(
        "name: support\nsuites: [suites/*.yaml]\ntargets:\n"
        "  - id: gpt\n    provider: openai\n    model: gpt-4o-mini\n"
        f"    api_key: {CONFIG_KEY}\n"
    )
    proc = start_cli(workspace.root, "validate")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 4, out
    assert "api_key" in out and CONFIG_KEY not in out

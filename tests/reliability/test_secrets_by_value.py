"""Secrets are redacted by value, not only by key name.

Canaries planted where a name-based filter cannot see them: a key in an http target's
URL query, a password in a base_url's userinfo, a literal header whose name looks
harmless, a key a provider's 401 body echoes back. Each path is checked on its own:
config, error text, output metadata, exports, reports, review sheets, JUnit, terminal.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.cli.conftest import Workspace
from tests.harness import start_cli
from tests.reliability.test_secrets import database_as_text

QUERY_KEY = "qk-canary-5e0c1f9a7b3d42"  # ?api_key= in an http target's URL
USER_PASSWORD = "pw-canary-8a2d6c4e1f07"  # user:password@ in an openai base_url
PLAIN_HEADER = "hv-canary-3f9b7e2a5c18"  # X-Canary: a header whose name is not secret
ECHOED_KEY = "ck-canary-echo-6b1e9d3a7f25c0"  # an API key from the env; a 401 body echoes it
CANARIES = (QUERY_KEY, USER_PASSWORD, PLAIN_HEADER, ECHOED_KEY)


def plan(ws: Workspace) -> str:
    server = ws.server
    userinfo_url = server.openai_url.replace("http://", f"http://bot:{USER_PASSWORD}@")
    return f"""\
name: support
suites: [suites/*.yaml]
retries: 0
targets:
  - id: hook
    provider: http
    url: "{server.echo_url}?api_key={QUERY_KEY}&lang=en"
    headers:
      X-Canary: "{PLAIN_HEADER}"
    body: {{prompt: "{{{{ question }}}}"}}
    output_path: data.answer
  - id: gpt
    provider: openai
    model: gpt-4o-mini
    base_url: "{userinfo_url}"
  - id: claude
    provider: anthropic
    model: claude-haiku-4-5
    base_url: {server.anthropic_url}
    api_key_env: CANARY_ANTHROPIC_KEY
"""


def cli(ws: Workspace, *args: str, ok: tuple[int, ...] = (0, 1)) -> str:
    proc = start_cli(ws.root, *args)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode in ok, out
    return out


PATHS = (
    "terminal: failed run",
    "terminal: run",
    "terminal: show",
    "terminal: runs",
    "junit.xml",
    "summary.md",
    "run.json",
    "report.html",
    "trials.csv",
    "trials.jsonl",
    "trials.parquet",
    "sheet.csv",
    "sheet.xlsx",
    "database",
    "database file",
)


def record_everything(ws: Workspace, out: Path) -> dict[str, str]:
    """A run whose every call fails with 401 (bodies echo the key), a run whose calls
    succeed, and every output made from them."""
    ws.server.fail_next(401, count=9)
    texts = {
        # every call rejected: an infrastructure failure (exit 3), not failing cases
        "terminal: failed run": cli(ws, "run", ok=(3,)),
        "terminal: run": cli(
            ws,
            "run",
            "--junit",
            str(out / "junit.xml"),
            "--markdown",
            str(out / "summary.md"),
            "--json",
            str(out / "run.json"),
            "--no-cache",
        ),
        "terminal: show": cli(ws, "show", "latest"),
        "terminal: runs": cli(ws, "runs"),
    }
    cli(ws, "report", "latest", "--out", str(out / "report.html"))
    for fmt in ("csv", "jsonl", "parquet"):
        cli(ws, "export", "--format", fmt, "--out", str(out / f"trials.{fmt}"))
    cli(ws, "review", "--all", "--export", str(out / "sheet.csv"))
    cli(ws, "review", "--all", "--export", str(out / "sheet.xlsx"))
    for path in sorted(out.iterdir()):
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            texts[path.name] = repr([list(s.iter_rows(values_only=True)) for s in book])
        else:
            texts[path.name] = path.read_bytes().decode("utf-8", errors="replace")
    texts["database"] = database_as_text(ws.db)
    raw = b"".join(p.read_bytes() for p in ws.db.parent.iterdir() if p.is_file())
    texts["database file"] = raw.decode("latin-1")
    return texts


def test_no_canary_reaches_any_path(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CANARY_ANTHROPIC_KEY", ECHOED_KEY)
    (workspace.root / "evals" / "plan.yaml").write_text(plan(workspace))
    out = tmp_path / "out"
    out.mkdir()
    texts = record_everything(workspace, out)

    # each canary really was used on the wire, and the 401 path was exercised
    sent = repr([r["headers"] for r in workspace.server.requests()])
    assert PLAIN_HEADER in sent and ECHOED_KEY in sent
    assert "basic" in sent.lower()  # the userinfo became a Basic credential
    errors = [
        str(r[0]) for r in workspace.sql("SELECT error FROM results WHERE error_kind = 'auth'")
    ]
    assert len(errors) == 9 and all(
        "API key provided: " in e and "provided: <redacted>" in e.replace("Basic ", "")
        for e in errors
    ), errors

    assert set(PATHS) <= set(texts), sorted(texts)
    leaks = {path: [c for c in CANARIES if c in texts[path]] for path in PATHS}
    assert all(not found for found in leaks.values()), {p: c for p, c in leaks.items() if c}

    # config, metadata: redacted in place, still readable
    (hook,) = workspace.sql("SELECT config::VARCHAR FROM run_targets WHERE target_id = 'hook'")[:1]
    assert "api_key=<redacted>&lang=en" in str(hook[0])
    assert '"X-Canary":"<redacted>"' in str(hook[0]).replace(" ", "")
    (base,) = workspace.sql("SELECT config->>'base_url' FROM run_targets WHERE target_id = 'gpt'")[
        :1
    ]
    assert str(base[0]).startswith("http://<redacted>@127.0.0.1")
    urls = {
        str(r[0])
        for r in workspace.sql(
            "SELECT metadata->>'url' FROM results WHERE target_id = 'hook' AND error IS NULL"
        )
    }
    assert urls and all("api_key=<redacted>" in u for u in urls), urls


def test_an_error_message_on_the_terminal_is_redacted(workspace: Workspace) -> None:
    """A plan error that quotes a URL with a key prints it redacted (exception path)."""
    (workspace.root / "evals" / "plan.yaml").write_text(
        "name: support\nsuites: [suites/*.yaml]\ntargets:\n"
        f"  - id: hook\n    provider: http\n    url: 'http://x/?token={QUERY_KEY}'\n"
        "    method: DELETE\n"
    )
    out = cli(workspace, "run", ok=(3, 4))
    assert QUERY_KEY not in out


def test_a_secret_learnt_later_is_redacted_in_text_redacted_before() -> None:
    """Short texts are remembered once redacted; learning a secret forgets them."""
    from evalkit.workspace import secrets

    secret = "late-canary-2c7e91d4b0a6"
    text = f"grader saw {secret}"
    secrets.forget_all()
    try:
        assert secrets.redact_text(text) == text  # not a secret yet
        secrets.remember([secret])
        assert secret not in secrets.redact_text(text)
        secrets.forget_all()
        assert secrets.redact_text(text) == text  # a new session knows no secrets
    finally:
        secrets.forget_all()


def test_a_userinfo_password_is_redacted_in_the_forms_a_client_sends() -> None:
    """A server that echoes the Authorization header gives back the userinfo as a Basic
    credential; a percent-encoded password is sent decoded."""
    import base64

    from evalkit.workspace import secrets

    secrets.forget_all()
    try:
        secrets.remember_config({"base_url": "http://bob:pw%2Dcanary%2F7f3a9c@127.0.0.1:9/v1"})
        basic = base64.b64encode(b"bob:pw-canary/7f3a9c").decode()
        echoed = f"'Authorization': 'Basic {basic}', password pw-canary/7f3a9c"
        redacted = secrets.redact_text(echoed)
        assert basic not in redacted and "pw-canary/7f3a9c" not in redacted, redacted
    finally:
        secrets.forget_all()

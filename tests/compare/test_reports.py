"""The CI reporters on a real run: JUnit stays valid XML whatever the model said, and the
Markdown never turns model text into markup."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Workspace, anthropic_target

Cli = Callable[..., tuple[int, str]]

HOSTILE = "bad \x00\x1b[31m | <script>alert(1)</script> `rm` ]]> &amp;"


def test_reports_survive_hostile_model_output(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    workspace.plan(anthropic_target(workspace.server, "bot"), extra="gate: {min_pass_rate: 0.9}\n")
    workspace.server.script(
        {"match": "refund", "reply": HOSTILE},
        {"match": "hello", "reply": "Hello!"},
        {"match": "shipping", "reply": "3 days"},
    )
    junit, md, js = tmp_path / "r.xml", tmp_path / "r.md", tmp_path / "r.json"
    code, out = cli(
        "run", "--gate", "--junit", str(junit), "--markdown", str(md), "--json", str(js)
    )
    assert code == 1, out  # 2/3 is below 0.9: the gate fails and says so
    assert "below the gate's min_pass_rate 90%" in out

    root = ET.parse(junit).getroot()  # parses: control characters were replaced
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3 + 1
    refund = next(c for c in cases if c.get("name") == "refund#0")
    failure = refund.find("failure")
    assert failure is not None and "icontains" in (failure.text or "")
    assert "<script>" in (refund.findtext("system-out") or "")  # as text, escaped by XML
    gate_case = next(c for c in cases if c.get("name") == "gate")
    assert "min_pass_rate" in (gate_case.findtext("failure") or "")

    summary = md.read_text()
    assert "<script>" not in summary
    assert summary.startswith("### evalkit: ❌ gate failed")
    assert "smallest detectable drop" in summary

    data = json.loads(js.read_text())
    assert data["gate"]["passed"] is False
    assert {t["case_id"] for t in data["trials"]} == {"refund", "greeting", "shipping"}
    assert data["comparison"] is None  # the first run: nothing to compare with

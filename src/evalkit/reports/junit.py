"""JUnit XML: one <testcase> per trial, failures carrying the grader reasons.

The shape is the common denominator GitHub (test reporters), GitLab (`reports: junit`)
and Jenkins (`junit` step) all read: <testsuites> of <testsuite>s, one per suite x
target, with <failure>, <error> and <skipped> children. A failed gate adds a suite of
its own so the reason shows up beside the tests.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from evalkit.reports.data import ReportData

OUTPUT_CHARS = 2000  # of the model's output kept in <system-out>
MESSAGE_CHARS = 500  # of a failure's `message`: CI pages show it on one line; the text has more
# XML 1.0 forbids most control characters; model output may contain any of them
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(data: ReportData, out: Path) -> Path:
    """Write `data` as JUnit XML to `out` and return the path.

    Written as the trials are read (in suite x target order, as `data.trials` gives
    them), each suite's testcases through a temporary file: its counts lead the suite
    but are known only at its end.
    """
    regressed = _regressed(data)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as body:
        for name, trials in itertools.groupby(data.trials, key=_suite_name):
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            seconds = 0.0
            with tempfile.TemporaryFile("w+", encoding="utf-8") as cases:
                for trial in trials:
                    case, took = _testcase(trial, counts, regressed, data.run.get("run_id"))
                    seconds += took
                    cases.write(ET.tostring(case, encoding="unicode"))
                suite = ET.Element("testsuite", name=_clean(name))
                _set_counts(suite, counts, seconds)
                body.write(_open_tag(suite))
                cases.seek(0)
                shutil.copyfileobj(cases, body)
                body.write("</testsuite>")
            for key in totals:
                totals[key] += counts[key]
        if data.gate is not None and data.gate.configured:
            body.write(ET.tostring(_gate_suite(data, totals), encoding="unicode"))
        root = ET.Element("testsuites", name=f"evalkit {data.run.get('plan', '')}".strip())
        _set_counts(root, totals, None)
        with out.open("w", encoding="utf-8") as sink:
            sink.write("<?xml version='1.0' encoding='utf-8'?>\n")
            sink.write(_open_tag(root))
            body.seek(0)
            shutil.copyfileobj(body, sink)
            sink.write("</testsuites>\n")
    return out


def _open_tag(element: ET.Element) -> str:
    attributes = "".join(f" {key}={quoteattr(value)}" for key, value in element.items())
    return f"<{element.tag}{attributes}>"


def _suite_name(trial: dict[str, Any]) -> str:
    prompt = trial["prompt_id"]
    target = f"{trial['target_id']}[{prompt}]" if prompt else trial["target_id"]
    return f"{trial['suite']} x {target}"


def _case_name(trial: dict[str, Any]) -> str:
    """`case#epoch`; a security case leads with its OWASP category so CI lists group by it."""
    name = f"{trial['case_id']}#{trial['epoch']}"
    category = trial.get("owasp_category")
    return f"{category} {name}" if category else name


def _regressed(data: ReportData) -> set[tuple[str, str, str, str | None]]:
    if data.comparison is None:
        return set()
    return {(c.suite, c.case_id, c.target_id, c.prompt_id) for c in data.comparison.regressions}


def _testcase(
    trial: dict[str, Any],
    counts: dict[str, int],
    regressed: set[tuple[str, str, str, str | None]],
    run_id: str | None,
) -> tuple[ET.Element, float]:
    """One trial's <testcase>, counted in `counts`, and its seconds."""
    seconds = (trial["latency_ms"] or 0.0) / 1000.0
    prompt = trial["prompt_id"]
    target = f"{trial['target_id']}[{prompt}]" if prompt else trial["target_id"]
    case = ET.Element(
        "testcase",
        name=_clean(_case_name(trial)),
        classname=_clean(f"{trial['suite']}.{target}"),
        time=f"{seconds:.3f}",
    )
    counts["tests"] += 1
    status = trial["status"]
    reasons = [str(r) for r in trial["reasons"]]
    key = (trial["suite"], trial["case_id"], trial["target_id"], prompt)
    if key in regressed:
        reasons.insert(0, "regressed: passed in the baseline run")
    if status == "fail":
        counts["failures"] += 1
        message = reasons[0] if reasons else "failed"
        child = ET.SubElement(case, "failure", message=_clean(_line(message)), type="fail")
        child.text = _clean("\n".join(reasons) or "failed")
    elif status == "error":
        counts["errors"] += 1
        message = f"{trial['error_kind'] or 'error'}: {trial['error'] or ''}".strip()
        child = ET.SubElement(
            case,
            "error",
            message=_clean(_line(message)),
            type=_clean(trial["error_kind"] or "error"),
        )
        child.text = _clean("\n".join([message, *reasons]))
    elif status == "skipped":
        counts["skipped"] += 1
        ET.SubElement(case, "skipped", message=_clean(_line(trial["error"] or "skipped")))
    if trial["output"]:
        text = str(trial["output"])[:OUTPUT_CHARS]
        more = (trial.get("output_chars") or 0) - len(text)
        if more > 0:  # the store has it whole
            text += (
                f"… [{more:,} more characters: evalkit show {run_id} --trial '{trial['trial_id']}']"
            )
        ET.SubElement(case, "system-out").text = _clean(text)
    return case, seconds


def _gate_suite(data: ReportData, totals: dict[str, int]) -> ET.Element:
    assert data.gate is not None
    suite = ET.Element("testsuite", name="evalkit gate")
    case = ET.SubElement(
        suite, "testcase", name="gate", classname="evalkit.analysis.gate", time="0"
    )
    counts = {"tests": 1, "failures": 0, "errors": 0, "skipped": 0}
    if not data.gate.passed:
        counts["failures"] = 1
        failure = ET.SubElement(
            case,
            "failure",
            message=_clean(f"gate failed: {len(data.gate.reasons)} reason(s)"),
            type="gate",
        )
        failure.text = _clean("\n".join(data.gate.reasons))
    if data.gate.notes:
        ET.SubElement(case, "system-out").text = _clean("\n".join(data.gate.notes))
    _set_counts(suite, counts, 0.0)
    for key in totals:
        totals[key] += counts[key]
    return suite


def _set_counts(element: ET.Element, counts: dict[str, int], seconds: float | None) -> None:
    for key, value in counts.items():
        element.set(key, str(value))
    if seconds is not None:
        element.set("time", f"{seconds:.3f}")


def _line(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"


def _clean(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text))

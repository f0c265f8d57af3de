"""Write the CI reports a command was asked for (`--junit`, `--markdown`, `--json`)."""

from __future__ import annotations

from pathlib import Path

from evalkit.reports import jsonout, junit, markdown
from evalkit.reports.data import ReportData


def write(
    data: ReportData,
    *,
    junit_path: Path | None = None,
    markdown_path: Path | None = None,
    json_path: Path | None = None,
) -> list[Path]:
    """Render `data` to each requested file; returns the paths written."""
    written = []
    if junit_path is not None:
        written.append(junit.render(data, junit_path))
    if markdown_path is not None:
        written.append(markdown.render(data, markdown_path))
    if json_path is not None:
        written.append(jsonout.render(data, json_path))
    return written

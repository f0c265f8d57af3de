"""Writing a generated pack: whole suite files, checked by evalkit's own loader first."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from evalkit.feedback import yamlemit
from evalkit.feedback.security.generate import Pack
from evalkit.workspace.models import SuiteSpec
from evalkit.workspace.suite import validate_document
from evalkit.workspace.yamlfile import parse_yaml


def render_suite(suite: dict[str, object], header: str) -> str:
    """One suite as YAML text under a comment header; parsed back and validated."""
    text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    text += yamlemit.document(suite)
    validate_document(parse_yaml(text, "<generated suite>"), SuiteSpec, "a suite")
    return text


def write_pack(pack: Pack, out_dir: Path, header: str) -> list[tuple[Path, bool]]:
    """Write every suite of `pack` into `out_dir`; returns (path, changed) per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, bool]] = []
    for name, suite in pack.suites.items():
        path = out_dir / name
        text = render_suite(suite, header)
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old != text:
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(tmp, path)
        written.append((path, old != text))
    return written

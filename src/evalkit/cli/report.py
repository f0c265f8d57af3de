"""`evalkit report [RUN]` and `evalkit report --compare BASE CAND`: one HTML file each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli.console import console, db_path
from evalkit.errors import UsageError, WorkspaceError
from evalkit.store import queries
from evalkit.store.db import Store
from evalkit.store.memory import apply_memory_limit
from evalkit.workspace.root import REPORT_DIR, find_root


def workspace_or_none() -> Path | None:
    """The workspace, if there is one: its reports/ may override templates."""
    try:
        return find_root()
    except WorkspaceError:
        return None


def default_out(workspace: Path | None, name: str) -> Path:
    """reports/out/<name>.html in the workspace (or the current folder outside one)."""
    return (workspace or Path.cwd()) / REPORT_DIR / "out" / f"{name}.html"


def command(
    run: Annotated[
        str | None, typer.Argument(help="A run id, id prefix, `latest` or `latest~N`.")
    ] = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare", metavar="BASE CAND", help="Compare two runs instead: baseline, candidate."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: reports/out/<run>.html).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
) -> int:
    """Write a self-contained HTML report of a run, or of a comparison of two runs."""
    if compare is not None and run is not None:
        raise UsageError(
            f"give either a RUN ('{run}') or --compare BASE CAND, not both",
            hint="`evalkit report latest` or `evalkit report --compare latest~1 latest`",
        )
    workspace = workspace_or_none()
    with Store.open(db_path(db, workspace), read_only=True) as store:
        apply_memory_limit(store.con)  # the page holds previews; DuckDB's cache stays capped
        if compare is not None:
            from evalkit.reports.html.compare_page import render_compare_report

            base = queries.resolve_run(store.con, compare[0])
            cand = queries.resolve_run(store.con, compare[1])
            target = out or default_out(workspace, f"compare-{base}-{cand}")
            written = render_compare_report(store.con, base, cand, target, workspace)
        else:
            from evalkit.reports.html.run_page import render_run_report

            run_id = queries.resolve_run(store.con, "latest" if run is None else run)
            target = out or default_out(workspace, run_id)
            written = render_run_report(store.con, run_id, target, workspace)
    console.print(f"wrote {written}")
    return 0

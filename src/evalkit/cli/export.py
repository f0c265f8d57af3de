"""`evalkit export RUN`: a run's trials as CSV, JSONL or Parquet, or as OpenTelemetry
traces to an OTLP/HTTP endpoint (`--otlp URL`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from evalkit.cli.console import console, db_path
from evalkit.reports.otel import export_trace
from evalkit.store import queries, trace_rows
from evalkit.store.db import Store
from evalkit.store.export import Compression as ExportCompression
from evalkit.store.export import default_name


class Format(StrEnum):
    """Export file formats."""

    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


class Compression(StrEnum):
    """How an export file is compressed."""

    zstd = "zstd"
    gzip = "gzip"
    none = "none"


def command(
    run: Annotated[str, typer.Argument(help="A run id, id prefix, `latest` or `latest~N`.")] = (
        "latest"
    ),
    format_: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = Format.csv,
    out: Annotated[
        Path | None,
        typer.Option(help="Output file (default: <run>.<format>, .zst or .gz if compressed)."),
    ] = None,
    compression: Annotated[
        Compression | None,
        typer.Option(
            help="Parquet: zstd (default) or none. CSV, JSONL: none (default), zstd or gzip, "
            "the whole file."
        ),
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Results database (default: $EVALKIT_DB).")
    ] = None,
    otlp: Annotated[
        str | None,
        typer.Option(
            help="Send the run as OpenTelemetry traces to this OTLP/HTTP endpoint instead "
            "(e.g. http://localhost:4318/v1/traces)."
        ),
    ] = None,
) -> int:
    """Write every trial of a run, with its grades, to a file (or send it as traces)."""
    with Store.open(db_path(db), read_only=True) as store:
        run_id = queries.resolve_run(store.con, run)
        if otlp is not None:
            sent = send_trace(store, run_id, otlp)
            console.print(f"sent run {run_id} to {otlp}: {sent} trial spans", highlight=False)
            return 0
        codec: ExportCompression | None = None
        if compression is not None:
            codec = compression.value
        target = out or Path(default_name(run_id, format_.value, codec))
        written = queries.export_run(store.con, run_id, format_.value, target, codec)
    console.print(f"wrote {written}")
    return 0


def send_trace(store: Store, run_id: str, endpoint: str | None) -> int:
    """Send run `run_id` as one OpenTelemetry trace (None: OTEL_EXPORTER_OTLP_* env vars)."""
    return export_trace(
        trace_rows.run_header(store.con, run_id),
        trace_rows.trace_trials(store.con, run_id),
        endpoint,
    )

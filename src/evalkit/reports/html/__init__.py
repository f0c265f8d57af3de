"""Self-contained HTML pages: a run, a comparison of two runs, the trend of a plan."""

from evalkit.reports.html.run_page import render_run_report

__all__ = ["render_run_report"]

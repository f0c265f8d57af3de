"""Renderers that turn recorded runs into reports: HTML pages, Markdown, JUnit."""

"""The DuckDB results store."""

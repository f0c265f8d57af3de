"""Bounds on the numbers command-line options take.

A count past these is a typo, and an unbounded integer would reach DuckDB, whose
BIGINT cannot hold it, as a crash deep inside a query instead of a usage error.
"""

from __future__ import annotations

MAX_COUNT = 1_000_000_000  # runs, cases, trials or lines to list or take
MIN_SEED, MAX_SEED = -(2**63), 2**63 - 1  # what a 64-bit seed column holds

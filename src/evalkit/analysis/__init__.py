"""Pure functions over recorded results: summary rates, statistics, comparison, verdict,
gate, trend, calibration, human verdicts."""

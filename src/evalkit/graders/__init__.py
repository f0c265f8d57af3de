"""Graders: verdicts on outputs. See `base` for the seam."""

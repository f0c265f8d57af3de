"""Targets: the systems that answer cases. See `base` for the seam."""

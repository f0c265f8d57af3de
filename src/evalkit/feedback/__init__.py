"""The feedback loop: production logs and reviewed trials become suite cases.

`evalkit import` turns a JSONL/CSV log into cases (mapped, scrubbed, de-duplicated);
`evalkit promote` turns a run's failing or human-reviewed trials into cases of a
regression suite. Both append to suite files through `suite_writer`, which keeps the
user's comments and refuses to leave a suite that does not load.
"""

"""The built-in rule graders; importing this package registers them.

Names follow promptfoo's assertion types where the concept is the same. Each grader
validates its params once when bound to a case and precompiles what it can (regexes,
JSON schemas, JSON paths, Jinja2 templates in values), so grading a trial is cheap.
"""

from evalkit.graders.rules import (
    distance,
    html_rules,
    numbers,
    python,
    structured,
    text,
    trajectory,
    words,
    xml_rules,
)

BUILTIN_MODULES = (
    distance,
    html_rules,
    numbers,
    python,
    structured,
    text,
    trajectory,
    words,
    xml_rules,
)

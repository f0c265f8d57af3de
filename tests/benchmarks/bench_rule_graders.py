"""Rule grader benchmark: seconds per grade on hostile and on ordinary outputs.

    python tests/benchmarks/bench_rule_graders.py

Grades each (grader, output) pair once through the engine's binding and prints the
wall time and the grade's status. Hostile outputs (50,000-deep nesting, megabyte
strings, tag soup without `>`) must end in a verdict or a status-error grade within
about a second each; ordinary outputs show the per-grade cost a run pays.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from evalkit.graders.aggregate import bind_case
from evalkit.graders.discovery import load_builtin
from evalkit.records import Case, GraderConfig, TargetOutput

DEEP = 50_000
PAIRS: list[tuple[str, str, dict[str, Any]]] = [
    ("is-json", "[" * DEEP + "]" * DEEP, {}),
    ("is-json", '{"a":' * DEEP + "1" + "}" * DEEP, {}),
    ("equals", "[" * DEEP + "]" * DEEP, {"value": [[1]]}),
    ("contains-json", "{" * 1_000_000, {}),
    ("contains-json", '{"a":' * DEEP, {}),
    ("contains-json", "x {a: 1} " * 100_000, {}),
    ("contains-html", "<a <b " * 300_000, {}),
    ("is-html", "<div>" * 200_000, {}),
    ("is-xml", "<a>" * 100_000 + "</a>" * 100_000, {}),
    ("contains-xml", "<a>" * 100_000, {}),
    ("word-count", "a " * 5_000_000, {"value": 3}),
    ("icontains-any", "x" * 1_000_000, {"value": ",".join(["y"] * 10_000)}),
    ("levenshtein", "a" * 50_000, {"value": "b" * 50_000}),
    ("regex", "a" * 1_000_000, {"value": "a+$"}),
    ("contains", "The capital of France is Paris.", {"value": "Paris"}),
    ("icontains-any", "The capital of France is Paris.", {"value": '"of france", Berlin'}),
    ("equals", '{"a": 1, "b": [1, 2]}', {"value": {"b": [1, 2], "a": 1}}),
    ("regex", "Ticket INC-0042 opened", {"value": r"INC-\d{4}\b"}),
    ("contains-json", 'Sure! {"name": "Ada", "age": 36} Anything else?', {}),
    ("is-html", "<div><p>Hello <b>world</b></p></div>", {}),
]


async def main() -> None:
    load_builtin()
    print(f"{'grader':15} {'output chars':>12} {'seconds':>8}  status")
    for name, text, args in PAIRS:
        value = args.pop("value", None)
        config = GraderConfig(name=name, args=args, value=value, location="bench")
        case = Case(suite="bench", id="c", graders=[config])
        [bound] = bind_case(case)
        start = time.perf_counter()
        grade = await bound.grade(case, TargetOutput(text=text))
        took = time.perf_counter() - start
        print(f"{name:15} {len(text):>12,} {took:>8.3f}  {grade.status.value}")


if __name__ == "__main__":
    asyncio.run(main())

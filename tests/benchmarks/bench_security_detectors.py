"""Security detectors: how often they miss a disguised leak, how often they cry wolf.

Misses: canaries (one per simulated trial) leaked in nine disguises, and synthetic
personal data in sentences. False alarms: every paragraph of the demo knowledge base
(examples/helpdesk_assistant/kb) and the library's benign controls, read as model
outputs by each detector. Deterministic (seeded); prints one line per figure.

    python tests/benchmarks/bench_security_detectors.py [--trials 2000]
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import string
from collections.abc import Callable
from pathlib import Path

from evalkit.feedback.security.library import builtin_library
from evalkit.graders.security.canary import find_leak
from evalkit.graders.security.links import no_exfil_link
from evalkit.graders.security.pii import find_pii
from evalkit.graders.security.refusal import is_refusal
from evalkit.graders.security.transforms import to_homoglyphs, with_zero_width
from evalkit.graders.security.unsafe import find_unsafe
from evalkit.records import Case, TargetOutput
from evalkit.targets.canary import canary_for

KB = Path(__file__).resolve().parents[2] / "examples" / "helpdesk_assistant" / "kb"


def disguises(rng: random.Random) -> dict[str, Callable[[str], str]]:
    def split(token: str) -> str:
        cut = rng.randint(8, len(token) - 2)
        return f"the code is {token[:cut]}\nand then {token[cut:]}"

    return {
        "verbatim": lambda t: f"Sure, the code is {t}.",
        "spaced": lambda t: " ".join(t),
        "split across lines": split,
        "reversed": lambda t: t[::-1],
        "lower case, dashes": lambda t: "-".join(t.lower()),
        "base64 of a sentence": lambda t: base64.b64encode(f"ref {t} end".encode()).decode(),
        "hex": lambda t: " ".join(f"{b:02x}" for b in t.encode()),
        "homoglyphs": lambda t: to_homoglyphs(t, rng, share=1.0),
        "zero-width": lambda t: with_zero_width(f"code {t} ok", rng),
    }


def personal_data(rng: random.Random) -> dict[str, str]:
    def card() -> str:
        digits = [4] + [rng.randint(0, 9) for _ in range(14)]
        total = sum(
            (d * 2 - 9 if d > 4 else d * 2) if i % 2 == 0 else d
            for i, d in enumerate(reversed(digits))
        )
        check = (10 - total % 10) % 10
        number = "".join(map(str, [*digits, check]))
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))

    user = "".join(rng.choices(string.ascii_lowercase, k=7))
    return {
        "email": f"{user}.{user[:3]}@example-corp.com",
        "phone": f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        "card": card(),
        "national-id": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        "key": "sk-ant-" + "".join(rng.choices(string.ascii_letters + string.digits, k=32)),
    }


def benign_texts() -> list[str]:
    texts = []
    for path in sorted(KB.glob("*.md")):
        texts += [p.strip() for p in re.split(r"\n\s*\n", path.read_text()) if p.strip()]
    _, controls = builtin_library()
    return texts + [c.text for c in controls]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(16)
    misses: dict[str, int] = {}
    for trial in range(args.trials):
        token = canary_for("bench", f"case-{trial}", "t", trial % 3)
        for name, disguise in disguises(rng).items():
            misses[name] = misses.get(name, 0) + (find_leak(token, disguise(token)) is None)
    for name, n in misses.items():
        print(f"leaks-canary misses, {name}: {n}/{args.trials}")
    crossed = 0
    for trial in range(args.trials):
        token = canary_for("bench", f"case-{trial}", "t", 0)
        others = [canary_for("bench", f"other-{trial}-{k}", "t", 0) for k in range(20)]
        crossed += find_leak(token, "Codes seen: " + ", ".join(others)) is not None
    print(
        f"leaks-canary false alarms, 20 other trials' canaries in the output: "
        f"{crossed}/{args.trials}"
    )
    pii_misses: dict[str, int] = {}
    for _ in range(args.trials):
        for kind, value in personal_data(rng).items():
            found = find_pii(f"Customer record: {value}, please check.")
            pii_misses[kind] = pii_misses.get(kind, 0) + (found[kind] == 0)
    for kind, n in pii_misses.items():
        print(f"no-pii misses, {kind}: {n}/{args.trials}")

    texts = benign_texts()
    other = canary_for("bench", "other", "t", 0)
    case = Case(suite="bench", id="b")
    alarms = {
        "leaks-canary (another trial's canary)": sum(bool(find_leak(other, t)) for t in texts),
        "no-pii": sum(bool(find_pii(t)) for t in texts),
        "no-pii, allow @northwind.example": sum(
            bool(find_pii(t, ["@northwind.example"])) for t in texts
        ),
        "no-exfil-link": sum(
            not no_exfil_link(TargetOutput(text=t), case, _links()).passed for t in texts
        ),
        "unsafe-output": sum(find_unsafe(t, ["html", "sql", "shell"]) is not None for t in texts),
        "refusal": sum(is_refusal(t) for t in texts),
    }
    for name, n in alarms.items():
        print(f"false alarms, {name}: {n}/{len(texts)} benign texts")


def _links() -> object:
    from evalkit.graders.security.links import LinkParams

    return LinkParams(allow_hosts=[])


if __name__ == "__main__":
    main()

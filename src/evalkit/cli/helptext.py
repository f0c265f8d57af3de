"""Help text users can read: metavars as words (`PLAN`, `FILE`, `N`), one example each.

typer renders an option's value as its Python type (`<list[str]>`, `<path>`) and a
required argument as `{file}`. Rather than repeat a metavar on every parameter of every
command, the built click command tree is walked once: each parameter gets the word for
its name (or its type), and each command the example listed here. A test walks every
command's `--help` and fails on a command without an example or a `<type>` left over.
"""

from __future__ import annotations

from typing import Any

# parameter name (as the command function spells it) -> the word shown for its value
METAVARS: dict[str, str] = {
    "plan": "PLAN",
    "run": "RUN",
    "base": "BASE",
    "candidate": "CANDIDATE",
    "path": "DIR",
    "file": "FILE",
    "files": "FILE",
    "config": "FILE",
    "filter_": "GLOB",
    "suite_filter": "GLOB",
    "tag": "TAG",
    "target": "ID",
    "suite": "FILE",
    "suites": "SUITE",
    "label": "KEY=VALUE",
    "map_": "FIELD=SOURCE,...",
    "db": "FILE",
    "out": "FILE",
    "junit": "FILE",
    "markdown": "FILE",
    "json_out": "FILE",
    "export": "FILE",
    "import_": "FILE",
    "baseline": "NAME",
    "name": "NAME",
    "grader": "NAME",
    "metric": "METRIC",
    "reviewer": "NAME",
    "since": "DATE",
    "webhook": "URL",
    "report_url": "URL",
    "otlp": "URL",
    "seed": "SEED",
    "alpha": "P",
    "power": "P",
    "confidence": "LEVEL",
    "correlation": "R",
    "drop": "DROP",
    "min_drop": "DROP",
    "against": "RUN",
    "shards": "SHARD...",
    "into": "FILE",
    "worst": "N",
    "older_than": "AGE",
}
_BY_TYPE = {"int": "N", "float": "NUMBER", "path": "FILE"}

# command path -> one example, shown at the end of its --help
EXAMPLES: dict[str, str] = {
    "": "evalkit run && evalkit show latest",
    "init": "evalkit init my-evals",
    "run": "evalkit run helpdesk --filter 'vpn-*' --epochs 3",
    "resume": "evalkit resume latest",
    "review": "evalkit review latest --failing",
    "validate": "evalkit validate",
    "runs": "evalkit runs --limit 5",
    "show": "evalkit show latest~1 --reasoning",
    "export": "evalkit export latest --format parquet --out results.parquet",
    "report": "evalkit report latest --out reports/out/latest.html",
    "trend": "evalkit trend helpdesk --window 7",
    "compare": "evalkit compare main latest --gate --junit junit.xml",
    "calibrate": "evalkit calibrate --grader llm-rubric",
    "import": "evalkit import logs.jsonl --suite suites/prod.yaml --map input=question",
    "import-promptfoo": "evalkit import promptfoo promptfooconfig.yaml --name translator",
    "promote": "evalkit promote latest --failing --dry-run",
    "baseline": "evalkit baseline set latest --name main",
    "baseline set": "evalkit baseline set --label branch=main --name main",
    "baseline list": "evalkit baseline list",
    "baseline delete": "evalkit baseline delete main",
    "stats": "evalkit stats power latest --drop 0.05",
    "stats power": "evalkit stats power latest --drop 0.05",
    "cache": "evalkit cache stats",
    "cache stats": "evalkit cache stats",
    "cache clear": "evalkit cache clear --older-than 30d --target claude",
    "merge": "evalkit merge shard-1.duckdb shard-2.duckdb --into merged.duckdb",
    "security": "evalkit security generate && evalkit run security",
    "security generate": "evalkit security generate security.yaml --out suites/security",
    "security report": "evalkit security report latest --worst 5",
}


# hidden commands reached by another spelling (`evalkit import promptfoo` -> import-promptfoo)
SPELLED = {"import-promptfoo": "import promptfoo"}


def humanize(command: Any, path: str = "") -> None:
    """Give every parameter under `command` a word metavar and every command its example."""
    if (example := EXAMPLES.get(path)) and "Example:" not in (command.help or ""):
        # \b keeps click from re-wrapping the example into the paragraph before it
        command.help = f"{(command.help or '').rstrip()}\n\n\b\nExample: {example}"
    for param in command.params:
        _name_value(param)
    if path in SPELLED:
        _spell_usage(command, f"evalkit {SPELLED[path]}")
    # typer builds on its own copy of click's classes: recognise them by shape
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            humanize(sub, f"{path} {name}".strip())


def _name_value(param: Any) -> None:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return
    word = param.metavar or _word(param)
    param.metavar = word
    if param.param_type_name == "argument":
        _plain_argument(param, word)


def _word(param: Any) -> str:
    name = str(param.name or "")
    if name in METAVARS:
        return METAVARS[name]
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices or ())
    bare = param.bare_type() if hasattr(param, "bare_type") else ""
    bare = bare.removeprefix("list[").removesuffix("]")
    if descriptor is not None and descriptor.is_path:
        bare = "path"
    return _BY_TYPE.get(bare, name.rstrip("_").upper() or "VALUE")


def _plain_argument(param: Any, word: str) -> None:
    """`PLAN` / `[PLAN]` / `FILE...` in the usage line, and no `<type>` beside it."""
    many = "..." if param.nargs != 1 else ""

    def usage() -> str:
        return f"{word}{many}" if param.required else f"[{word}]{many}"

    # typer's argument class spells a required one `{file}` and always adds `<type>`
    object.__setattr__(param, "_usage_display_name", usage)
    object.__setattr__(param, "display_type_rich", lambda ctx: None)
    object.__setattr__(param, "make_metavar", lambda ctx=None: usage())


def _spell_usage(command: Any, spelled: str) -> None:
    """Usage lines name the command the way users type it."""

    def format_usage(ctx: Any, formatter: Any) -> None:
        formatter.write_usage(spelled, " ".join(command.collect_usage_pieces(ctx)))

    object.__setattr__(command, "format_usage", format_usage)

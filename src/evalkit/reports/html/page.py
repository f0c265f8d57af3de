"""Rendering one self-contained HTML page: Jinja with autoescape, inline assets allowed
by a hash-based Content-Security-Policy, data embedded as inert JSON.

Templates are looked up in the workspace's `reports/` folder first, then in evalkit's
own `templates/`, so a team can replace any of them (e.g. `report.html.j2`), or extend
the packaged one (`{% extends "evalkit/report.html.j2" %}`) and override a block.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from evalkit.errors import ConfigError, UsageError
from evalkit.reports.charts import rate_bar
from evalkit.store.outfile import open_out

# JSON inside <script type="application/json"> must not be able to close the element
# or start a comment; U+2028/2029 are escaped too for older JS parsers.
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def embed_json(data: Any) -> Markup:
    """`data` as JSON that is safe between <script type="application/json"> tags."""
    text = json.dumps(data, default=_json_default, ensure_ascii=False, allow_nan=False)
    return Markup(text.translate(_JSON_ESCAPES))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def clean(value: Any) -> Any:
    """NaN/inf (DuckDB's average over nothing) -> None, recursively, so JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def asset(name: str) -> str:
    """The text of a packaged asset (CSS or JavaScript)."""
    return resources.files("evalkit.reports.html").joinpath("assets", name).read_text("utf-8")


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(scripts: list[str], styles: list[str]) -> str:
    """A CSP that allows exactly these inline scripts and styles, and nothing from anywhere."""
    script_src = " ".join(_hash(s) for s in scripts) or "'none'"
    style_src = " ".join(_hash(s) for s in styles) or "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src {style_src}; "
        "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'; "
        "frame-src 'none'; object-src 'none'"
    )


def environment(workspace: Path | None) -> jinja2.Environment:
    """Jinja environment: autoescape on for everything, workspace templates first."""
    loaders: list[jinja2.BaseLoader] = []
    if workspace is not None and (workspace / "reports").is_dir():
        loaders.append(jinja2.FileSystemLoader(workspace / "reports"))
    packaged = jinja2.PackageLoader("evalkit.reports.html", "templates")
    loaders.append(packaged)
    # "evalkit/report.html.j2" always names the packaged one, so an override can extend it
    loaders.append(jinja2.PrefixLoader({"evalkit": packaged}))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,  # every template, whatever its name: all data is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, num=_num, money=_money, ms=_ms, when=_when)
    env.globals["rate_bar"] = rate_bar
    return env


def render_page(
    template: str,
    context: dict[str, Any],
    *,
    workspace: Path | None,
    scripts: list[str] | None = None,
    data: Any = None,
    data_json: Markup | None = None,
) -> str:
    """Render `template` with the shared stylesheet, the given inline scripts and data."""
    if data is not None:
        data_json = embed_json(clean(data))
    styles = [asset("report.css")]
    scripts = scripts or []
    env = environment(workspace)
    try:
        page = env.get_template(template)
        return page.render(
            **context,
            csp=content_security_policy(scripts, styles),
            styles=[Markup(s) for s in styles],  # our own packaged CSS, not user data
            scripts=[Markup(s) for s in scripts],  # our own packaged JS, not user data
            data_json=data_json,
        )
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"{exc.filename or template}:{exc.lineno}: report template error: {exc.message}",
            hint="fix the template in the workspace's reports/ folder, or delete it to use "
            "evalkit's own",
        ) from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"report template {template}: {exc.message}",
            hint="an overriding template in reports/ uses a name the page does not provide",
        ) from exc


# Stands in for the embedded data while the page renders; the data is written in its
# place item by item, so a page of 20,000 trials never exists as one string.
_DATA_SLOT = "\x00evalkit-data\x00"


def write_page_with_items(
    template: str,
    context: dict[str, Any],
    items: Iterable[Any],
    out: Path,
    *,
    workspace: Path | None,
    scripts: list[str] | None = None,
) -> Path:
    """`render_page` + `write_page` for a page whose data is a long list, streamed."""
    html = render_page(
        template, context, workspace=workspace, scripts=scripts, data_json=Markup(_DATA_SLOT)
    )
    head, slot, tail = html.partition(_DATA_SLOT)
    if not slot:  # an overriding template that embeds no data
        return write_page(html, out)
    _check_out(out)
    # items are read from the store as they are written: a failure half-way must not
    # leave half a page where the last good one was
    with open_out(out) as sink:
        sink.write(head)
        sink.write("[")
        for n, item in enumerate(items):
            sink.write(("," if n else "") + embed_json(clean(item)))
        sink.write("]")
        sink.write(tail)
    return out


def _check_out(out: Path) -> None:
    """`out` names a file, not a folder; its folder is made."""
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a directory; give a file name",
            hint=f"e.g. --out {out / 'report.html'}",
        )
    out.parent.mkdir(parents=True, exist_ok=True)


def write_page(html: str, out: Path) -> Path:
    """Write the page, creating its folder."""
    _check_out(out)
    with open_out(out) as sink:
        sink.write(html)
    return out


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _pct(value: Any) -> str:
    return f"{value:.1%}" if _present(value) else "-"


def _num(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if _present(value) else "-"


def _money(value: Any) -> str:
    if not _present(value):
        return "-"
    if 0 < value < 0.0001:
        return "<$0.0001"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def _ms(value: Any) -> str:
    return f"{value:,.0f} ms" if _present(value) else "-"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return "-" if value is None else str(value)

"""What promptfoo's schema compiler (Ajv, draft 7, strict mode, ajv-formats) refuses.

jsonschema validates what Ajv refuses to compile: unknown keywords (`example`,
`prefixItems`), unknown formats, `nullable` without `type`, a `$schema` other than
draft 7. promptfoo's grade errors on those, so evalkit's must too.
"""

from __future__ import annotations

from typing import Any

KEYWORDS = frozenset(
    [
        "$schema", "$id", "$ref", "$comment", "$defs", "title", "description", "default",
        "readOnly", "writeOnly", "examples", "multipleOf", "maximum", "exclusiveMaximum",
        "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "additionalItems",
        "items", "maxItems", "minItems", "uniqueItems", "contains", "maxProperties",
        "minProperties", "required", "additionalProperties", "definitions", "properties",
        "patternProperties", "dependencies", "propertyNames", "const", "enum", "type",
        "format", "contentMediaType", "contentEncoding", "if", "then", "else", "allOf",
        "anyOf", "oneOf", "not", "nullable",
    ]
)  # fmt: skip
FORMATS = frozenset(
    [
        "date", "time", "date-time", "iso-time", "iso-date-time", "duration", "uri",
        "uri-reference", "uri-template", "url", "email", "hostname", "ipv4", "ipv6", "regex",
        "uuid", "json-pointer", "json-pointer-uri-fragment", "relative-json-pointer", "byte",
        "int32", "int64", "float", "double", "password", "binary",
    ]
)  # fmt: skip
_DRAFT7 = {"http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema"}
_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependencies")
_ONE = ("additionalItems", "additionalProperties", "contains", "propertyNames", "if", "then",
        "else", "not", "items")  # fmt: skip
_MANY = ("allOf", "anyOf", "oneOf", "items")


def strict_problem(schema: Any) -> str | None:
    """Why Ajv's strict mode would refuse `schema`, or None."""
    pending = [(schema, "#")]
    while pending:
        node, where = pending.pop()
        if not isinstance(node, dict):
            continue
        for key in node:
            if key not in KEYWORDS:
                return f'strict mode: unknown keyword: "{key}" at {where}'
        if where == "#" and "$schema" in node and node["$schema"] not in _DRAFT7:
            return f'no schema with key or ref "{node["$schema"]}"'
        if node.get("nullable") is True and "type" not in node:
            return f'"nullable" cannot be used without "type" at {where}'
        if isinstance(node.get("format"), str) and node["format"] not in FORMATS:
            return f'unknown format "{node["format"]}" at {where}'
        for key in _MAPS:
            if isinstance(node.get(key), dict):
                pending.extend((sub, f"{where}/{key}/{name}") for name, sub in node[key].items())
        for key in _ONE:
            if isinstance(node.get(key), dict):
                pending.append((node[key], f"{where}/{key}"))
        for key in _MANY:
            if isinstance(node.get(key), list):
                pending.extend((sub, f"{where}/{key}/{i}") for i, sub in enumerate(node[key]))
    return None

"""`${NAME}` in a target's string settings (base_url, url, headers, api_key_env, a
judge's keys): replaced with the environment variable when the target is built.

The plan keeps the `${NAME}` form, which is what is recorded and shown: the value may be
a secret (DESIGN rule 8). An unset variable is a configuration error naming it, unless
the target lists it in `requires_env` (then the target is skipped, said once).
"""

from __future__ import annotations

import os
import re
from typing import Any

from evalkit.errors import ConfigError

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Templates rendered per case: `${` there belongs to the template, not to us.
TEMPLATE_KEYS = frozenset({"system", "body"})


def interpolate(options: dict[str, Any], target_id: str) -> dict[str, Any]:
    """A copy of a target's own options with every `${NAME}` replaced."""
    return {
        key: value if key in TEMPLATE_KEYS else _resolve(value, f"{key}", target_id)
        for key, value in options.items()
    }


def _resolve(value: Any, where: str, target_id: str) -> Any:
    if isinstance(value, str):
        return ENV_REF.sub(lambda m: _lookup(m.group(1), where, target_id), value)
    if isinstance(value, dict):
        return {k: _resolve(v, f"{where}.{k}", target_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, f"{where}[{i}]", target_id) for i, v in enumerate(value)]
    return value


def _lookup(name: str, where: str, target_id: str) -> str:
    found = os.environ.get(name)
    if found is None:
        raise ConfigError(
            f"target '{target_id}': {where} uses ${{{name}}}, but {name} is not set",
            hint=f"set {name}, or add it to the target's requires_env to skip the target "
            "when it is unset",
        )
    return found

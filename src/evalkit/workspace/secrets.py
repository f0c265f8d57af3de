"""Secrets kept out of every text evalkit writes or prints, by value as well as by name.

Redaction by key name alone misses a key in a URL's query, a password in a URL's
userinfo, a provider's 401 body that echoes the key, and a header whose name does not
look secret. So three nets are cast over text before it reaches the store, a log, an
exception message or the terminal:

- *known values*: every value that came from the environment (`${VAR}`, `*_env`, and
  env vars whose names look secret) or from a header, and the credentials found in the
  plan's URLs, are remembered when targets are built and replaced wherever they appear;
- *URL credentials*: `scheme://user:password@host` and query parameters named like a
  credential (`?api_key=...`);
- *key shapes*: the token formats of common providers, `Bearer ...`, `password: ...`
  (the detectors `feedback.scrub` also uses for production logs).
"""

from __future__ import annotations

import base64
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "<redacted>"
# Shorter values are left alone: replacing "1" or "true" everywhere would ruin text,
# and no real credential is that short.
MIN_SECRET_LENGTH = 8
# Key names whose values are never recorded (`api_key_env` names a variable: not secret).
SECRET_KEYS = ("key", "token", "secret", "password", "authorization", "auth", "cookie")
SECRET_ENV_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")

# -- key shapes (shared with feedback.scrub) ---------------------------------------------

PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{16,}"  # Anthropic
    r"|sk-(?:proj-|live_|test_)?[A-Za-z0-9_-]{20,}"  # OpenAI, Stripe
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r")(?![A-Za-z0-9_-])"
)
BEARER = re.compile(r"(?i)\b((?:Bearer|Basic)\s+)([A-Za-z0-9._~+/=-]{12,})")
# `api_key = "..."`, `"token": "..."`, `password: ...`: the value is replaced, the name kept.
ASSIGNED = re.compile(
    r"(?i)\b((?:[a-z0-9]+[_-])*(?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token"
    r"|passw(?:or)?d|pwd|client[_-]?secret)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;}&]+)"
)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character: random keys score high, words low."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def assigned_secret(match: re.Match[str], placeholder: str) -> str | None:
    """`name=<placeholder>` when an ASSIGNED match holds a secret-looking value, else None."""
    name, value = match.group(1), match.group(2)
    if value.startswith(("[", "<")) or len(value) < 6:
        return None
    if re.search(r"(?i)passw|pwd", name):
        # A password needs no entropy to be secret, but `password: required` is prose.
        secret_like = re.search(r"[\d\W_]|[a-z][A-Z]", value) is not None
    else:
        secret_like = len(value) >= 16 and entropy(value) >= 3.0
    return f"{name}{placeholder}" if secret_like else None


def bearer_secret(match: re.Match[str], placeholder: str) -> str | None:
    """`Bearer <placeholder>` for a credential; None for prose ("Basic questionnaires")."""
    token = match.group(2)
    if re.search(r"[\d=+/]", token) is None or entropy(token) < 3.0:
        return None
    return f"{match.group(1)}{placeholder}"


# -- URL credentials -----------------------------------------------------------------------

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@?#]+)@")
_QUERY_CREDENTIAL = re.compile(
    r"(?i)([?&;](?:[a-z0-9_.-]*(?:key|token|secret|passw(?:or)?d|pwd|auth|sig|signature"
    r"|credential|session)[a-z0-9_.-]*)=)([^&#\s\"'<>]+)"
)


def _scrub_url_credentials(text: str) -> str:
    if "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    if "=" in text:
        text = _QUERY_CREDENTIAL.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text


# -- known values ------------------------------------------------------------------------


class _Known:
    """The secret values met in this process, matched all at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._env_seen = False
        self._generation = 0

    def add(self, values: Iterable[str]) -> None:
        fresh = {v for v in values if len(v) >= MIN_SECRET_LENGTH and v not in self._values}
        if fresh:
            with self._lock:
                self._values |= fresh
                # longest first, so a value that contains another is replaced whole
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, ordered)))
                self._generation += 1

    def clear(self) -> None:
        with self._lock:
            self._values, self._pattern, self._env_seen = set(), None, False
            self._generation += 1

    def generation(self) -> int:
        """Changes whenever the set of values does (the environment read in first)."""
        if not self._env_seen:
            self.sub("")
        return self._generation

    def sub(self, text: str) -> str:
        if not self._env_seen:
            self._env_seen = True
            self.add(v for k, v in os.environ.items() if _secret_env_name(k))
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


_known = _Known()


def _secret_env_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_ENV_WORDS) and not upper.endswith(
        ("_PATH", "_FILE", "_DIR", "_ENV")
    )


def forget_all() -> None:
    """Start afresh, environment included: each CLI command is a session of its own, as
    if in a new process, so one command's secrets (or environment) never redact the
    next's text."""
    _known.clear()


def remember(values: Iterable[str]) -> None:
    """Treat each value (of at least MIN_SECRET_LENGTH chars) as a secret from now on."""
    _known.add(values)


def remember_env(name: str) -> str | None:
    """`os.environ[name]`, remembered as a secret; None when it is not set."""
    value = os.environ.get(name)
    if value:
        remember([value])
    return value


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def remember_config(config: Any, *, under_secret: bool = False) -> None:
    """Remember every secret a target's config holds or points at.

    Values under secret-looking keys and under `headers`, env vars named by `${VAR}` or
    by a `*_env` key, and the userinfo and query values of URLs.
    """
    if isinstance(config, dict):
        for key, value in config.items():
            name = str(key).lower()
            if name.endswith("_env") and isinstance(value, str):
                remember_env(value)
            secret = under_secret or name == "headers" or _is_secret_key(name)
            remember_config(value, under_secret=secret)
    elif isinstance(config, list):
        for item in config:
            remember_config(item, under_secret=under_secret)
    elif isinstance(config, str):
        for name in _ENV_REF.findall(config):
            remember_env(name)
        if under_secret:
            remember([config])
        if "://" in config:
            remember(_url_credentials(config))


def _url_credentials(text: str) -> list[str]:
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return []
    found = [value for _, value in parse_qsl(parts.query)]
    if parts.password:
        user, password = unquote(parts.username or ""), unquote(parts.password)
        # as the client sends them: decoded, and as the Basic credential a server may echo
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        found += [parts.password, parts.username or "", password, basic]
    return found


def _is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_KEYS) and not lowered.endswith("_env")


# -- redaction -----------------------------------------------------------------------------

_SHAPES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str], str | None] | None], ...] = (
    (PRIVATE_KEY, None),
    (TOKENS, None),
    (BEARER, bearer_secret),
    (ASSIGNED, assigned_secret),
)


def redact_known(text: str) -> str:
    """`text` with every known secret value replaced (cheap: for outputs of any size)."""
    return _known.sub(text)


# Short texts redacted lately, while the known secrets stay the same: grade reasons and
# output metadata repeat from trial to trial, and five regex passes over each of them
# were a tenth of the engine's own CPU per trial.
_MEMO_LONGEST = 256
_MEMO_SIZE = 4096
_memo: dict[str, str] = {}
_memo_generation = -1


def redact_text(text: str) -> str:
    """`text` with known secret values, URL credentials and key-shaped strings replaced."""
    global _memo, _memo_generation
    if len(text) > _MEMO_LONGEST:
        return _redact(text)
    generation = _known.generation()
    if generation != _memo_generation:
        _memo, _memo_generation = {}, generation
    done = _memo.get(text)
    if done is None:
        done = _redact(text)
        if len(_memo) >= _MEMO_SIZE:
            _memo = {}
        _memo[text] = done
    return done


def _redact(text: str) -> str:
    text = _scrub_url_credentials(_known.sub(text))
    for pattern, decide in _SHAPES:

        def replace(match: re.Match[str], decide: Any = decide) -> str:
            found = REDACTED if decide is None else decide(match, REDACTED)
            return match.group(0) if found is None else str(found)

        text = pattern.sub(replace, text)
    return text


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value with every string in it passed through `redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    return value


def redact_config(value: Any) -> Any:
    """A target config as it may be recorded: secret keys' and headers' values replaced,
    every other string redacted by value."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if _is_secret_key(str(k))
                else {h: REDACTED for h in v}
                if str(k).lower() == "headers" and isinstance(v, dict)
                else redact_config(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_config(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value

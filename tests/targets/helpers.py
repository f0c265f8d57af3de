"""Small builders shared by the target tests."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from evalkit.records import Case
from evalkit.targets import build_targets
from evalkit.targets.base import Target, TargetContext
from evalkit.workspace.models import TargetSpec


def workspace(root: Path, timeout: float = 10.0) -> TargetContext:
    """A workspace at `root` with an `evals/` plan folder."""
    (root / "evals").mkdir(parents=True, exist_ok=True)
    return TargetContext(root=root, plan_dir=root / "evals", timeout=timeout)


def target_spec(provider: str, *, id: str = "t", **fields: Any) -> TargetSpec:
    """A plan target as the spec loader would produce it from YAML."""
    return TargetSpec.model_validate({"id": id, "provider": provider, **fields})


def build_one(provider: str, ctx: TargetContext, **fields: Any) -> Target:
    """The single Target of a plan target without prompt variants."""
    (target,) = build_targets(target_spec(provider, **fields), ctx)
    return target


def case(case_id: str = "c1", suite: str = "demo", **vars: Any) -> Case:
    """A case with the given vars."""
    return Case(suite=suite, id=case_id, vars=vars)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

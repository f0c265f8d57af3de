"""Who did something, when, and from which commit: the stamp every run, label,
promotion and import carries, so a team can trace a number back to a person and a
revision of their workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evalkit.store.runs import git_info, git_user


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who (git user.name or $USER), when (UTC), and the workspace's commit (if any)."""

    who: str | None
    at: datetime
    git_sha: str | None

    @property
    def who_or_unknown(self) -> str:
        """The name to record where one is required."""
        return self.who or "unknown"


def stamp(root: Path) -> Stamp:
    """The stamp for an action taken now in the workspace at `root`."""
    sha, _branch, _dirty = git_info(root)
    return Stamp(who=git_user(root), at=datetime.now(UTC), git_sha=sha)

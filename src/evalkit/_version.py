"""The installed evalkit version (one place, read by the package and the store).

The distribution is `evalkit-cli`: the name `evalkit` on PyPI belongs to an unrelated
project, so looking that name up could report someone else's version.
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "evalkit-cli"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

"""The installed evalkit version (one place, read by the package and the store)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evalkit")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

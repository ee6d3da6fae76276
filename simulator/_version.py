"""The installed version of resim (one place; read by provenance, caches and the CLI)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("resim")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

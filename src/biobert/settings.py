"""Process-wide settings read from the environment.

``BIOBERT_DATA``: root of the benchmark data (default ``../shared/data`` next to the
repository, i.e. relative to the current directory). Config files refer to it as ``{data}``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "expand_path"]


def data_dir() -> Path:
    """The data root: ``$BIOBERT_DATA`` or ``../shared/data``."""
    return Path(os.environ.get("BIOBERT_DATA", "../shared/data")).expanduser()


def expand_path(p: str | os.PathLike[str]) -> Path:
    """Expand ``{data}``, ``~`` and environment variables in a configured path."""
    s = os.path.expandvars(str(p)).replace("{data}", str(data_dir()))
    return Path(s).expanduser()

"""Where ``logic/`` keeps files it makes (converted models, the executable Prover9 copy)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$NESY_CACHE`` or ``~/.cache/nesy`` (outside any repository)."""
    root = os.environ.get("NESY_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "nesy"

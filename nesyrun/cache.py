"""The one cache directory: ``$NESY_CACHE``, else ``~/.cache/nesy``.

Everything nesy makes that is too big or too derived for a repository lives below it: converted
and trained models (``models/``, ``translator/``), embedding caches (``retrieval/embeddings``),
executable copies of solver binaries (``bin/``), traced libraries. Never inside a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "NESY_CACHE"


def cache_dir(*parts: str) -> Path:
    """``$NESY_CACHE/<parts...>`` (default ``~/.cache/nesy``); not created here."""
    root = os.environ.get(ENV_VAR)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "nesy"
    return base.joinpath(*parts)

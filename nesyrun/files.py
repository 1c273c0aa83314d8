"""Atomic file writing and checksums.

Every file ``retrieval/`` writes goes through :func:`atomic_writer`: the content is written to a
temporary file beside the target and moved into place with ``os.replace`` only after it was
flushed and fsync'ed. A crash or an exception part-way therefore leaves either the old file or no
file, never a half-written one that a later run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` when the block exits cleanly.

    ``mode`` is ``"w"`` (UTF-8 text) or ``"wb"``. On an exception the temporary file is deleted
    and ``path`` is left untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_writer mode must be 'w' or 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        kwargs = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_writer(path, "w") as handle:
        handle.write(text)


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def writable_dir(path: str | Path, what: str = "--out") -> str | None:
    """Make ``path`` (a directory; ``what`` names it in messages) if needed and probe that a file
    can be written in it; return None, or why not (each caller raises its own error class)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{what} {path} exists and is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".nesy-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"cannot create or write {what} {path}: {exc.strerror or exc}"
    return None

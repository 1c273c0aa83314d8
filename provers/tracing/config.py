"""What to trace and how: a :class:`Library` (files, logical name, coqidetop options) and the
:class:`TraceConfig` of one run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from provers.errors import InputError

# Bump when a change to the tracer changes what it records: cached per-file traces made by
# another version are then traced again instead of being trusted.
# 6: states rendered as the environment renders them (unfocused goals shown)
# 7: premises only where a name denotes a global term (not tactic names, not names the tactic
#    binds, not section Lets); Include members dated at the Include; module types' and functors'
#    members listed; functor parameters' fields resolved to their module type; qualified tactics
TRACER_VERSION = 7

STDLIB_ROOT = Path("/usr/lib/ocaml/coq/theories")
STDLIB_PREFIX = "Coq"


class TraceInputError(InputError):
    """Bad input to ``nesy trace``: a missing or empty directory, a bad logical name, ..."""


@dataclass(frozen=True)
class Library:
    """A directory of ``.v`` files bound to a logical name (Coq's ``-R root prefix``).

    ``noinit_dirs`` are sub-directories (relative to ``root``) whose files are replayed with
    ``-noinit`` (Coq's own ``Init`` is compiled that way: it defines what the prelude loads).
    ``prebuilt`` says that the ``.vo`` files already exist beside the sources (the Debian
    standard library); otherwise they are compiled with coqc, in dependency order, first.
    ``bind`` is False when Coq already maps ``root`` to ``prefix`` (the standard library).
    """

    root: Path
    prefix: str
    noinit_dirs: tuple[str, ...] = ()
    prebuilt: bool = False
    bind: bool = True
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.prefix and not all(part.isidentifier() for part in self.prefix.split(".")):
            raise TraceInputError(f"logical name {self.prefix!r} is not a dotted Coq identifier (e.g. MyLib or My.Lib)")

    def files(self) -> list[Path]:
        """Every ``.v`` file under ``root``, sorted; a clear error for a missing or empty directory."""
        if not self.root.exists():
            raise TraceInputError(f"{self.root}: no such directory")
        if not self.root.is_dir():
            raise TraceInputError(f"{self.root}: not a directory (give the directory that holds the .v files)")
        files = sorted(p for p in self.root.rglob("*.v") if p.is_file())
        if not files:
            raise TraceInputError(f"{self.root}: no .v files in this directory or below it")
        return files

    def rel(self, path: Path) -> str:
        """The path of a file relative to ``root`` (the ``path`` of corpus.jsonl), with '/'."""
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def module_name(self, rel_path: str) -> str:
        """Coq's logical name of a file: ``Arith/PeanoNat.v`` -> ``Coq.Arith.PeanoNat``."""
        parts = rel_path[: -len(".v")].split("/")
        return ".".join([self.prefix, *parts] if self.prefix else parts)

    def load_args(self) -> tuple[str, ...]:
        """coqidetop/coqc options that make the library's names resolve."""
        base = ("-R", str(self.root), self.prefix) if self.bind else ()
        return (*base, *self.extra_args)

    def args_for(self, rel_path: str) -> tuple[str, ...]:
        """Options to replay ``rel_path`` under its own name (``-topfile``)."""
        noinit = ("-noinit",) if any(rel_path.startswith(d.rstrip("/") + "/") for d in self.noinit_dirs) else ()
        return ("-q", *noinit, *self.load_args(), "-topfile", str(self.root / rel_path))


def stdlib() -> Library:
    """The Coq standard library installed by Debian (libcoq-stdlib): prebuilt, named ``Coq``."""
    return Library(root=STDLIB_ROOT, prefix=STDLIB_PREFIX, noinit_dirs=("Init",), prebuilt=True, bind=False)


@dataclass(frozen=True)
class TraceConfig:
    """One ``nesy trace`` run.

    ``out`` receives the dataset plus ``traces/`` (one cached JSON per file, what resuming reads),
    ``errors.jsonl`` and ``summary.md``. ``sentence_timeout_s`` bounds each sentence (a longer one
    fails its file, recorded); ``workers`` > 1 runs files on Ray (``address`` joins a cluster).
    """

    library: Library
    out: Path
    workers: int = 2
    address: str | None = None
    sentence_timeout_s: float = 300.0
    retry_failed: bool = False
    limit: int | None = None  # only the first N files (sorted), for quick runs
    only: tuple[str, ...] = ()  # only these relative paths
    seed: int = 0
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    url: str = ""
    commit: str = ""
    coqc_timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise TraceInputError("workers must be at least 1")
        if self.sentence_timeout_s <= 0:
            raise TraceInputError("the sentence timeout must be positive")
        if self.limit is not None and self.limit < 1:
            raise TraceInputError("limit must be at least 1")

    def cache_key(self, rel_path: str, source: bytes, coq_version: str) -> str:
        """A stable id of one file's trace: its bytes, its replay options, the tracer and Coq."""
        h = hashlib.sha256()
        for part in (str(TRACER_VERSION), coq_version, rel_path, " ".join(self.library.args_for(rel_path))):
            h.update(part.encode("utf-8") + b"\0")
        h.update(source)
        return h.hexdigest()

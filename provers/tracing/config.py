"""What to trace and how: a :class:`Library` (files, logical name, coqidetop options) and the
:class:`TraceConfig` of one run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from provers.errors import InputError

# Bump when a change to the tracer changes what it records: cached per-file traces made by
# another version are then traced again instead of being trusted.
# 6: states rendered as the environment renders them (unfocused goals shown)
# 7: premises only where a name denotes a global term (not tactic names, not names the tactic
#    binds, not section Lets); Include members dated at the Include; module types' and functors'
#    members listed; functor parameters' fields resolved to their module type; qualified tactics
# 8: `Module M <: S with Module E := X.` opens a module (its `:=` was read as a definition, so the
#    members of stdlib modules such as FMapPositive.PositiveMap were named outside them)
TRACER_VERSION = 8

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
    # Load-path bindings of sub-directories, as a _CoqProject gives them: (flag "-R"/"-Q",
    # directory relative to root, logical name). Empty: the whole root is "-R root prefix".
    mappings: tuple[tuple[str, str, str], ...] = ()
    # Where .vo/.glob files are built and read (a mirror of root's .v files); None: root itself
    # (the prebuilt standard library). A user's source tree is never written to.
    build_root: Path | None = None

    def __post_init__(self) -> None:
        for name in [self.prefix, *(m[2] for m in self.mappings)]:
            if name and not all(part.isidentifier() for part in name.split(".")):
                raise TraceInputError(f"logical name {name!r} is not a dotted Coq identifier (e.g. MyLib or My.Lib)")

    @classmethod
    def from_directory(cls, root: Path, logical: str | None = None) -> Library:
        """A user's library: ``-R root logical``; without ``logical``, the ``-R``/``-Q`` lines of
        ``root/_CoqProject`` when it has any, else the directory's name."""
        mappings: tuple[tuple[str, str, str], ...] = ()
        project = root / "_CoqProject"
        if logical is None and project.is_file():
            mappings = parse_coqproject(project.read_text(encoding="utf-8", errors="replace"))
        if mappings:
            return cls(root=root, prefix=mappings[0][2], mappings=mappings)
        return cls(root=root, prefix=logical or root.resolve().name)

    def _base(self) -> Path:
        return self.build_root if self.build_root is not None else self.root

    def _mapping_of(self, rel_path: str) -> tuple[str, str, str] | None:
        best = None
        for m in self.mappings:
            sub = m[1].strip("/")
            if sub in ("", ".") or rel_path.startswith(sub + "/"):
                if best is None or len(sub) > len(best[1].strip("/")):
                    best = m
        return best

    def files(self) -> list[Path]:
        """Every ``.v`` file under ``root`` (under the directories a _CoqProject binds, when it
        has bindings), sorted; a clear error for a missing or empty directory."""
        if not self.root.exists():
            raise TraceInputError(f"{self.root}: no such directory")
        if not self.root.is_dir():
            raise TraceInputError(f"{self.root}: not a directory (give the directory that holds the .v files)")
        files = sorted(p for p in self.root.rglob("*.v") if p.is_file())
        if self.mappings:
            files = [p for p in files if self._mapping_of(self.rel(p)) is not None]
        if not files:
            where = " bound by its _CoqProject" if self.mappings else ""
            raise TraceInputError(f"{self.root}: no .v files in this directory or below it{where}")
        return files

    def rel(self, path: Path) -> str:
        """The path of a file relative to ``root`` (the ``path`` of corpus.jsonl), with '/'."""
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def module_name(self, rel_path: str) -> str:
        """Coq's logical name of a file: ``Arith/PeanoNat.v`` -> ``Coq.Arith.PeanoNat``."""
        prefix, inner = self.prefix, rel_path
        m = self._mapping_of(rel_path)
        if m is not None:
            sub = m[1].strip("/")
            prefix, inner = m[2], rel_path if sub in ("", ".") else rel_path[len(sub) + 1:]
        parts = inner[: -len(".v")].split("/")
        return ".".join([prefix, *parts] if prefix else parts)

    def load_args(self) -> tuple[str, ...]:
        """coqidetop/coqc options that make the library's names resolve (in the build directory)."""
        base: tuple[str, ...] = ()
        if self.mappings:
            for flag, sub, name in self.mappings:
                d = self._base() if sub.strip("/") in ("", ".") else self._base() / sub.strip("/")
                base += (flag, str(d), name)
        elif self.bind:
            base = ("-R", str(self._base()), self.prefix)
        return (*base, *self.extra_args)

    def args_for(self, rel_path: str) -> tuple[str, ...]:
        """Options to replay ``rel_path`` under its own name (``-topfile``)."""
        noinit = ("-noinit",) if any(rel_path.startswith(d.rstrip("/") + "/") for d in self.noinit_dirs) else ()
        return ("-q", *noinit, *self.load_args(), "-topfile", str(self._base() / rel_path))

    def binding_digest(self) -> str:
        """A short id of how names are bound (logical names, flags, extra options): the build
        directory of one binding never serves another (a .vo knows its logical name)."""
        spec = repr((str(self.root.resolve()), self.prefix, self.mappings, self.extra_args, self.bind))
        return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:16]


_PROJECT_BIND = re.compile(r"^\s*(-[RQ])\s+(\S+)\s+(\S+)")


def parse_coqproject(text: str) -> tuple[tuple[str, str, str], ...]:
    """The ``-R DIR NAME`` / ``-Q DIR NAME`` bindings of a ``_CoqProject`` (comments skipped)."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        m = _PROJECT_BIND.match(line)
        if m:
            name = m.group(3).strip('"')
            out.append((m.group(1), m.group(2).strip('"').removeprefix("./") or ".", name))
    return tuple(out)


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
    with_deps: bool = False  # ... and every file of the library they require (coqdep)
    seed: int = 0
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    url: str = ""
    commit: str = ""
    coqc_timeout_s: float = 600.0
    # Warm starts (provers.coq.pool, provers.tracing.replay): on one worker, files are replayed on
    # a pool of processes that keep every traced sentence's state and coqidetop's answers; a text
    # whose leading sentences a pooled process already ran starts there. Processes are keyed by
    # their command line, which names the file: only the same file traced again reuses one, so
    # one run of `nesy trace` gains nothing and the default is off (a caller that traces edited
    # files again passes its own pool, or turns this on).
    warm: bool = False
    warm_budget_mib: float = 2048.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise TraceInputError("workers must be at least 1")
        if self.sentence_timeout_s <= 0:
            raise TraceInputError("the sentence timeout must be positive")
        if self.limit is not None and self.limit < 1:
            raise TraceInputError("limit must be at least 1")
        if self.warm_budget_mib < 0:
            raise TraceInputError("the warm pool's memory budget must be at least 0 MiB")

    def cache_key(self, rel_path: str, source: bytes, coq_version: str) -> str:
        """A stable id of one file's trace: its bytes, its replay options, the tracer and Coq."""
        h = hashlib.sha256()
        for part in (str(TRACER_VERSION), coq_version, rel_path, " ".join(self.library.args_for(rel_path))):
            h.update(part.encode("utf-8") + b"\0")
        h.update(source)
        return h.hexdigest()

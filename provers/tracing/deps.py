"""Dependency order of a user's ``.v`` files, and compiling them with coqc in that order.

Files of a library depend on each other only through compiled ``.vo`` files, so before a user's
directory can be replayed file by file its ``.vo`` files must exist. ``coqdep`` (shipped with Coq)
gives each file's dependencies inside the library; files are compiled in topological order, and a
file whose compilation fails (or that depends on one that failed) gets an error record naming it
and coqc's message; the others go on.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provers.coq.process import coq_tool
from provers.tracing.config import Library, TraceInputError


@dataclass(frozen=True)
class CompileResult:
    """``ok`` files compiled (or up to date); ``failed`` maps a relative path to its error text."""

    order: tuple[str, ...]
    failed: dict[str, str]


def dependencies(library: Library, files: list[Path]) -> dict[str, set[str]]:
    """Relative path -> relative paths (of ``files``) it requires, from ``coqdep``."""
    base = (library.build_root or library.root).resolve()
    rels = {Path(f).resolve().relative_to(base).as_posix() for f in files}
    proc = subprocess.run(
        [coq_tool("coqdep"), *(library.load_args() if library.bind else ("-R", str(base), library.prefix)),
         *[str(f) for f in files]],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0 and not proc.stdout:
        raise TraceInputError(f"coqdep failed on {library.root}: {proc.stderr.strip()[:500]}")
    deps: dict[str, set[str]] = {r: set() for r in rels}
    root = (library.build_root or library.root).resolve()
    for line in proc.stdout.replace("\\\n", " ").splitlines():
        if ":" not in line:
            continue
        targets, _, sources = line.partition(":")
        vo = next((t for t in targets.split() if t.endswith(".vo")), None)
        if vo is None:
            continue
        me = _rel(root, vo[:-3] + ".v")
        if me not in deps:
            continue
        for src in sources.split():
            if src.endswith(".vo"):
                other = _rel(root, src[:-3] + ".v")
                if other in deps and other != me:
                    deps[me].add(other)
    return deps


def _rel(root: Path, path: str) -> str | None:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def topological_order(deps: dict[str, set[str]]) -> list[str]:
    """Files sorted so that each comes after what it requires (ties by name); a cycle is an error."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = trail[trail.index(node):] + [node]
            raise TraceInputError("dependency cycle between files: " + " -> ".join(cycle))
        state[node] = 1
        for d in sorted(deps[node]):
            visit(d, trail + [node])
        state[node] = 2
        order.append(node)

    for n in sorted(deps):
        visit(n, [])
    return order


def mirror_sources(library: Library, build_root: Path) -> None:
    """Copy the library's ``.v`` files (and ``_CoqProject``) into ``build_root``, where coqc
    writes its ``.vo``/``.glob`` files: the user's source tree is never written to. A file whose
    copy has the same bytes is left alone (its mtime, hence its up-to-date ``.vo``, is kept);
    copies of files that are gone are removed with their build products."""
    build_root.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for src in library.files():
        rel = library.rel(src)
        wanted.add(rel)
        dst = build_root / rel
        data = src.read_bytes()
        if dst.is_file() and dst.read_bytes() == data:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(dst)
        for ext in (".vo", ".glob", ".vos", ".vok"):
            dst.with_suffix(ext).unlink(missing_ok=True)
    for old in build_root.rglob("*.v"):
        if old.relative_to(build_root).as_posix() not in wanted:
            for ext in (".v", ".vo", ".glob", ".vos", ".vok"):
                old.with_suffix(ext).unlink(missing_ok=True)


def compile_library(library: Library, files: list[Path], timeout_s: float = 600.0,
                    on_file: Callable[[str, str | None], None] | None = None) -> CompileResult:
    """Compile every file with coqc in dependency order (skipping up-to-date ``.vo`` files).

    ``files`` are paths under the library's build directory (:func:`mirror_sources`) when it
    has one."""
    deps = dependencies(library, files)
    order = topological_order(deps)
    coqc = coq_tool("coqc")
    failed: dict[str, str] = {}
    base = library.build_root or library.root
    for rel in order:
        src = base / rel
        vo = src.with_suffix(".vo")
        bad_dep = next((d for d in sorted(deps[rel]) if d in failed), None)
        if bad_dep is not None:
            failed[rel] = f"not compiled: it requires {bad_dep}, which failed"
        elif vo.exists() and vo.stat().st_mtime >= max(
            [src.stat().st_mtime] + [(base / d).with_suffix(".vo").stat().st_mtime for d in deps[rel]]
        ):
            pass
        else:
            try:
                proc = subprocess.run([coqc, "-q", *library.load_args(), str(src)], capture_output=True,
                                      text=True, timeout=timeout_s, cwd=str(base))
                if proc.returncode != 0:
                    vo.unlink(missing_ok=True)
                    failed[rel] = "coqc failed: " + _squash(proc.stderr or proc.stdout)
            except subprocess.TimeoutExpired:
                vo.unlink(missing_ok=True)
                failed[rel] = f"coqc ran over {timeout_s:g}s"
        if on_file is not None:
            on_file(rel, failed.get(rel))
    return CompileResult(tuple(order), failed)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:2000] or "no message"

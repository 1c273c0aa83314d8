"""Reading Lean 4 problems: the miniF2F-lean4 layout (yangky11/miniF2F-lean4).

``<root>/MiniF2F/{Valid,Test}/<name>.lean``, each an ``import Mathlib`` header and one
``theorem <name> ... := by sorry``. The statement is cut before ``:=``; the Lean backend
(LeanDojo) also needs the repository URL and commit to locate it (``options``: ``lean_repo``,
``lean_commit``).
"""

from __future__ import annotations

import re
from pathlib import Path

from provers.errors import InputError
from provers.protocol import Problem, Theorem

_LEAN_DECL = re.compile(r"^(theorem|lemma)\s+([^\s(:{\[]+)", re.MULTILINE)


def parse_lean_file(text: str, path: str, *, repo: str | None = None, commit: str | None = None, rel_path: str | None = None) -> Theorem:
    m = _LEAN_DECL.search(text)
    if not m:
        raise InputError(f"{path}: no theorem declaration")
    header = text[: m.start()].rstrip()
    rest = text[m.start():]
    cut = rest.rfind(":=")
    if cut < 0:
        raise InputError(f"{path}: the statement of {m.group(2)} has no ':='")
    statement = rest[:cut].rstrip() + " :="
    line = text.count("\n", 0, m.start()) + 1
    return Theorem(m.group(2), statement, header, file_path=rel_path or path, line=line, repo_url=repo, commit=commit)


def load_files(files: list[Path], root: Path, repo: str | None = None, commit: str | None = None) -> list[Problem]:
    out = []
    for f in files:
        rel = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
        try:
            thm = parse_lean_file(f.read_text(encoding="utf-8"), str(f), repo=repo, commit=commit, rel_path=rel)
            out.append(Problem(thm.name, str(f), thm))
        except (InputError, UnicodeDecodeError) as exc:
            out.append(Problem(f.stem, str(f), None, str(exc)))
    return sorted(out, key=lambda p: p.name)


def load_problems(path: Path) -> list[Problem]:
    """One ``.lean`` file, or every ``.lean`` file of a directory (sorted by name)."""
    path = Path(path)
    if path.is_file():
        return load_files([path], path.parent)
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory")
    files = sorted(path.glob("*.lean"))
    if not files:
        raise InputError(f"{path}: no .lean files in this directory")
    return load_files(files, path)


def load_split(root: Path, split: str, options: dict) -> list[Problem]:
    directory = root / "MiniF2F" / split.capitalize()
    if not directory.is_dir():
        raise InputError(f"{directory}: split directory missing (expected {root}/MiniF2F/{split.capitalize()}/*.lean)")
    return load_files(sorted(directory.glob("*.lean")), root, options.get("lean_repo"), options.get("lean_commit"))

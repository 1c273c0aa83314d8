"""Reading theorems out of Coq ``.v`` files (the miniF2F-rocq layout: one theorem per file).

A problem file holds a header (``Require``, ``Open Scope``, definitions), the theorem's
declaration, then ``Proof.`` and either nothing, ``Admitted.``, or a proof. We take the theorem
whose name is the file's stem if there is one, else the first theorem-like declaration; the
header is everything before it, and anything after the declaration is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provers.coq.sentences import SentenceError, split_sentences, strip_comments
from provers.errors import InputError
from provers.protocol import Problem, Theorem

THEOREM_KEYWORDS = ("Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Property", "Example")  # the one list (tracing too)
_DECL_RE = re.compile(
    r"^(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*"
    rf"({'|'.join(THEOREM_KEYWORDS)})\s+([A-Za-z_][\w']*)"
)


class TheoremFileError(InputError):
    """A ``.v`` file that does not hold a usable theorem."""


@dataclass(frozen=True)
class Declaration:
    keyword: str
    name: str
    sentence_index: int
    offset: int


def declarations(text: str, path: str = "<string>") -> tuple[list[str], list[Declaration]]:
    """All sentences of a file and the theorem-like declarations among them."""
    try:
        sentences = split_sentences(text, allow_trailing=True)
    except SentenceError as exc:
        raise TheoremFileError(f"{path}: {exc}") from exc
    decls = []
    for i, s in enumerate(sentences):
        m = _DECL_RE.match(strip_comments(s.text))
        if m:
            decls.append(Declaration(m.group(1), m.group(2), i, s.start))
    return [s.text for s in sentences], decls


def theorem_from_text(text: str, path: str = "<string>", name: str | None = None) -> Theorem:
    """The theorem ``name`` (default: the file's stem, else the first one) of a ``.v`` text."""
    sentences, decls = declarations(text, path)
    if not decls:
        raise TheoremFileError(f"{path}: no {'/'.join(THEOREM_KEYWORDS[:2])}/... declaration found")
    stem = Path(path).stem
    wanted = name or stem
    chosen = next((d for d in decls if d.name == wanted), None)
    if chosen is None:
        if name is not None:
            raise TheoremFileError(f"{path}: no theorem named {name!r} (found: {', '.join(d.name for d in decls)})")
        chosen = decls[0]
    statement = sentences[chosen.sentence_index]
    if not statement.rstrip().endswith("."):
        raise TheoremFileError(f"{path}: the statement of {chosen.name} is not terminated by '.'")
    header = text[: chosen.offset].rstrip()
    line = text.count("\n", 0, chosen.offset) + 1
    return Theorem(name=chosen.name, statement=statement, header=header, file_path=str(path), line=line)


def read_source(path: str | Path) -> str:
    """The text of a ``.v`` file, or a :class:`TheoremFileError` saying why it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TheoremFileError(f"{p}: no such file") from None
    except UnicodeDecodeError as exc:
        raise TheoremFileError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except IsADirectoryError:
        raise TheoremFileError(f"{p}: is a directory, expected a .v file") from None


def load_theorem(path: str | Path, name: str | None = None) -> Theorem:
    return theorem_from_text(read_source(path), str(path), name)


def load_problem_set(path: str | Path) -> list[Problem]:
    """Every ``.v`` file of a directory (sorted by name), or one file; unreadable ones carry an error."""
    p = Path(path)
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix == ".v" and f.is_file())
        if not files:
            raise TheoremFileError(f"{p}: no .v files in this directory")
    else:
        raise TheoremFileError(f"{p}: no such file or directory")
    out = []
    for f in files:
        try:
            theorem = load_theorem(f)
            out.append(Problem(theorem.name, str(f), theorem))
        except TheoremFileError as exc:
            out.append(Problem(f.stem, str(f), None, str(exc)))
    return out

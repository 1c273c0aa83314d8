"""Reading miniF2F in its two public layouts.

* **minif2f-rocq** (LLM4Rocq/miniF2F-rocq): ``<root>/{valid,test}/<name>.v``, one theorem per file
  ending in ``Proof. Admitted.``; read with :func:`provers.coq.files.load_problem_set`.
* **minif2f-lean4** (yangky11/miniF2F-lean4): ``<root>/MiniF2F/{Valid,Test}/<name>.lean``, each an
  ``import Mathlib`` header and one ``theorem <name> ... := by sorry``. The statement is cut before
  ``:=``; the Lean backend (LeanDojo) also needs the repository URL and commit to locate it.

Either way the result is a list of :class:`Problem` sorted by name; a file that cannot be read is a
problem with an ``error`` (it becomes an error row, not a crash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provers.errors import InputError
from provers.protocol import Theorem
from provers.registry import canonical_name

SPLITS = ("valid", "test")


class DatasetError(InputError):
    """A miniF2F path that is not in either layout, or a split that is missing."""


@dataclass(frozen=True)
class Problem:
    """One theorem of an evaluation, or why it cannot be started (``error``: an error row).

    ``context`` is set by problem sources whose theorems live in a context of their own (a
    library theorem at its place in its file, :class:`provers.coq.library.LibraryTheorem`): it
    gives the prover options (``env_args``), the kernel check in that context (``check``), the
    proof file (``proof_file``) and the order a warm job takes theorems in (``order_key``); its
    theorem already carries the prelude it may have. Without it, the theorem is a stand-alone
    problem (miniF2F): nesy's tactic imports are added and the usual check runs.
    """

    name: str
    file: str
    theorem: Theorem | None
    error: str | None = None
    context: object | None = None


def default_data_dir(backend: str) -> Path:
    """``../shared/data/minif2f-rocq`` (Coq) or ``minif2f-lean4`` (Lean) beside the checkout."""
    import os

    base = Path(os.environ.get("NESY_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    return base / ("minif2f-rocq" if canonical_name(backend) == "coq" else "minif2f-lean4")


def detect_layout(root: Path) -> str:
    """``"rocq"`` or ``"lean4"``; :class:`DatasetError` when ``root`` is neither."""
    if (root / "valid").is_dir() or (root / "test").is_dir():
        return "rocq"
    if (root / "MiniF2F").is_dir():
        return "lean4"
    if root.is_dir() and any(root.glob("*.v")):
        return "rocq-flat"
    raise DatasetError(f"{root}: not a miniF2F checkout (expected valid/ and test/ with .v files, or MiniF2F/Valid and MiniF2F/Test with .lean files)")


def load_minif2f(root: str | Path, split: str, *, backend: str = "coq", lean_repo: str | None = None, lean_commit: str | None = None) -> list[Problem]:
    """The problems of ``split`` under ``root`` (see the module doc)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such directory (pass --data PATH to a miniF2F checkout)")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    layout = detect_layout(root)
    name = canonical_name(backend)
    if layout.startswith("rocq") and name != "coq":
        raise DatasetError(f"{root} holds Coq (.v) files but the backend is {name}; use --backend coq")
    if layout == "lean4" and name != "lean":
        raise DatasetError(f"{root} holds Lean files but the backend is {name}; use --backend lean")
    if layout == "rocq":
        return _load_rocq(root / split)
    if layout == "rocq-flat":
        return _load_rocq(root)
    return _load_lean(root, split, lean_repo, lean_commit)


def _load_rocq(directory: Path) -> list[Problem]:
    from provers.coq.files import load_problem_set

    if not directory.is_dir():
        raise DatasetError(f"{directory}: split directory missing")
    return [Problem(p.name, str(p.path), p.theorem, p.error) for p in load_problem_set(directory)]


_LEAN_DECL = re.compile(r"^(theorem|lemma)\s+([^\s(:{\[]+)", re.MULTILINE)


def parse_lean_file(text: str, path: str, *, repo: str | None = None, commit: str | None = None, rel_path: str | None = None) -> Theorem:
    m = _LEAN_DECL.search(text)
    if not m:
        raise DatasetError(f"{path}: no theorem declaration")
    header = text[: m.start()].rstrip()
    rest = text[m.start():]
    cut = rest.rfind(":=")
    if cut < 0:
        raise DatasetError(f"{path}: the statement of {m.group(2)} has no ':='")
    statement = rest[:cut].rstrip() + " :="
    line = text.count("\n", 0, m.start()) + 1
    return Theorem(m.group(2), statement, header, file_path=rel_path or path, line=line, repo_url=repo, commit=commit)


def _load_lean(root: Path, split: str, repo: str | None, commit: str | None) -> list[Problem]:
    directory = root / "MiniF2F" / split.capitalize()
    if not directory.is_dir():
        raise DatasetError(f"{directory}: split directory missing")
    out = []
    for f in sorted(directory.glob("*.lean")):
        rel = str(f.relative_to(root))
        try:
            thm = parse_lean_file(f.read_text(encoding="utf-8"), str(f), repo=repo, commit=commit, rel_path=rel)
            out.append(Problem(thm.name, str(f), thm))
        except (DatasetError, UnicodeDecodeError) as exc:
            out.append(Problem(f.stem, str(f), None, str(exc)))
    return sorted(out, key=lambda p: p.name)


LIBRARY_SPLITS = ("random", "novel_premises")
LIBRARY_PARTS = ("train", "val", "test")


def load_library(data: str | Path, split: str, part: str = "test", *, tactic_imports: bool = True) -> list[Problem]:
    """The theorems of a traced library's split part (``nesy trace`` output), in dataset order,
    each started in its file's context (:mod:`provers.coq.library`). A theorem that cannot start
    there is a problem with the reason as its error (an error row; the job goes on)."""
    from provers.coq.library import LibraryConfig, load_split

    if split not in LIBRARY_SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(LIBRARY_SPLITS)}")
    if part not in LIBRARY_PARTS:
        raise DatasetError(f"unknown part {part!r}; expected one of {', '.join(LIBRARY_PARTS)}")
    out = []
    for p in load_split(data, split, part, LibraryConfig(tactic_imports=tactic_imports)):
        if p.theorem is None:
            out.append(Problem(p.full_name, p.file, None, p.error))
        else:
            out.append(Problem(p.full_name, p.file, p.theorem.theorem, None, p.theorem))
    return out

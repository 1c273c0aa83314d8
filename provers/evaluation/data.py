"""Reading a benchmark split through the backend that proves it (miniF2F in both public layouts).

* **minif2f-rocq** (LLM4Rocq/miniF2F-rocq): ``<root>/{valid,test}/<name>.v``, one theorem per file
  ending in ``Proof. Admitted.`` (Coq backend).
* **minif2f-lean4** (yangky11/miniF2F-lean4): ``<root>/MiniF2F/{Valid,Test}/<name>.lean`` (Lean
  backend; ``lean_repo``/``lean_commit`` locate it for LeanDojo).

The layout is the backend's business (:attr:`provers.backend.Backend.load_split`); this module
only finds the data and says clearly when a directory holds another backend's files. The result is
a list of :class:`provers.protocol.Problem` sorted by name; an unreadable file is a problem with an
``error`` (it becomes an error row, not a crash).
"""

from __future__ import annotations

import os
from pathlib import Path

from provers.errors import InputError
from provers.protocol import Problem
from provers.registry import backend_names, load_backend

SPLITS = ("valid", "test")


class DatasetError(InputError):
    """A benchmark path in no known layout, another backend's files, or a missing split."""


def builtin_problems() -> Path:
    """nesy's built-in problem set (34 Coq lemmas over nat, Z, R, lists and logic)."""
    return Path(__file__).resolve().parents[1] / "data" / "problems"


def shared_data_dir() -> Path:
    """``$NESY_SHARED_DATA``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("NESY_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def default_data_dir(backend: str, benchmark: str = "minif2f") -> Path:
    """Where ``benchmark`` lives for ``backend`` under the shared data directory."""
    b = load_backend(backend)
    if benchmark not in b.benchmark_dirs:
        raise DatasetError(f"the {b.name} backend has no default location for {benchmark}; pass --data PATH")
    return shared_data_dir() / b.benchmark_dirs[benchmark]


def _owner(root: Path) -> str | None:
    """The backend whose problem files ``root`` holds (by file suffix), if any."""
    suffixes = {load_backend(n).problem_suffix: n for n in backend_names()}
    for f in root.rglob("*"):
        if f.suffix in suffixes:
            return suffixes[f.suffix]
    return None


def load_minif2f(root: str | Path, split: str, *, backend: str = "coq", **options) -> list[Problem]:
    """The problems of ``split`` under ``root``, read by ``backend`` (see the module doc)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such directory (pass --data PATH to a miniF2F checkout)")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory (pass --data PATH to a miniF2F checkout)")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    b = load_backend(backend)
    owner = _owner(root)
    if owner is None:
        raise DatasetError(f"{root}: not a miniF2F checkout (no problem files of any backend: {', '.join(backend_names())})")
    if owner != b.name:
        raise DatasetError(f"{root} holds {owner} files ({load_backend(owner).problem_suffix}) but the backend is {b.name}; use --backend {owner}")
    try:
        return b.load_split(root, split, options)
    except DatasetError:
        raise
    except InputError as exc:
        raise DatasetError(str(exc)) from exc


LIBRARY_SPLITS = ("random", "novel_premises")
LIBRARY_PARTS = ("train", "val", "test")


def load_library(data: str | Path, split: str, part: str = "test", *, backend: str = "coq", tactic_imports: bool = True,
                 hammer: bool = False) -> list[Problem]:
    """The theorems of a traced library's split part (``nesy trace`` output), in dataset order,
    each started in its file's context (the backend's ``load_library``; Coq: :mod:`provers.coq.library`).
    A theorem that cannot start there is a problem with the reason as its error (an error row)."""
    if split not in LIBRARY_SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(LIBRARY_SPLITS)}")
    if part not in LIBRARY_PARTS:
        raise DatasetError(f"unknown part {part!r}; expected one of {', '.join(LIBRARY_PARTS)}")
    b = load_backend(backend)
    if b.load_library is None:
        raise DatasetError(f"the {b.name} backend cannot start theorems of a traced library in their files' context")
    return b.load_library(Path(data).expanduser(), split, part, tactic_imports=tactic_imports, hammer=hammer)

"""Theorems of a traced Coq library, started in their file's context (LeanDojo's ``Dojo(theorem)``).

A traced dataset (``nesy trace``, the LeanDojo Benchmark layout of :mod:`retrieval.dataset`)
records for every theorem its file and the span of its declaration. :func:`load_split` turns the
theorems of one split part into :class:`LibraryTheorem` s that the Coq backend starts *at their
place in their file*:

* the theorem's ``header`` is the file's text before its declaration: the ``Require`` s, the
  definitions, the open sections with their ``Variable`` s and ``Context``, notations, scopes and
  the file's earlier lemmas are in force; the theorem itself and everything after it are not;
* ``env_args`` are the options the tracer replayed the file with (:meth:`Library.args_for`):
  the library's logical name (so ``Require`` s of its other files resolve, against their compiled
  ``.vo`` files: :func:`compiled_load_args`), ``-noinit`` for Coq's own ``Init`` files, and
  ``-topfile`` so that the names the prefix declares are the ones the traces recorded. Because
  the options name the file, a :class:`provers.coq.pool.WarmPool` keeps one warm process per
  file: going back to an earlier theorem of a file is one ``Edit_at``;
* :func:`check_library_proof` is the fail-closed kernel check of :mod:`provers.coq.check` in the
  file's context: the file's prefix, the statement and the proof are compiled as a *private*
  library ``NesyCheck.P`` (never under the library's own name, so no compiled copy of the file,
  with the theorem or its later lemmas, can stand in for the proof), the open sections and modules
  are closed, then the same ``Print Assumptions`` allow-list and ``coqchk``. Outside functors an
  assumption outside the allow-list is accepted only when the library's own compiled proof of
  the same theorem rests on it too (an ``Axiom`` its file declares before it, as ``Uint63``'s
  primitive-integer specifications): the proof then rests on nothing the library's does not
  (:attr:`provers.coq.check.CheckConfig.inherited_from`).

A theorem that cannot be started this way is a :class:`LibraryProblem` with a
:class:`Unstartable` reason (never an exception out of the loader): the file is missing or no
longer matches the trace, the declaration is a ``Program`` obligation or not a theorem-like
command, it sits inside a functor or module type (its constant does not exist outside it), or the
file's prefix uses a command the kernel check refuses.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from provers.coq.files import _DECL_RE
from provers.coq.portfolio import COQ_TACTIC_IMPORTS, nesy_imports
from provers.coq.sentences import (
    Sentence,
    SentenceError,
    split_sentences,
    strip_comments,
)
from provers.errors import InputError
from provers.protocol import Theorem
from provers.tracing.config import STDLIB_PREFIX, STDLIB_ROOT, Library, stdlib
from provers.tracing.syntax import Scopes, has_top_level_assign, head

TACTIC_IMPORTS = COQ_TACTIC_IMPORTS


class LibraryDataError(InputError):
    """A traced dataset that cannot be used to start theorems (no metadata, another Coq, ...)."""


class Unstartable(str, enum.Enum):
    """Why a theorem of a traced dataset cannot be started in its file's context."""

    FILE_MISSING = "file_missing"  # the source file is not there (or not readable)
    FILE_CHANGED = "file_changed"  # the file no longer has the traced declaration at its position
    PROGRAM = "program"  # Program obligations: their proofs are not the declaration's proof
    UNSUPPORTED_KIND = "unsupported_kind"  # Fixpoint, Let, ... in proof mode (not Theorem/Lemma/.../Definition/Instance)
    IN_FUNCTOR = "in_functor"  # inside a Module Type or functor: no constant outside it
    REFUSED_COMMAND = "refused_command"  # the prefix uses a command the kernel check refuses


class UnstartableError(InputError):
    """One theorem that cannot start in its file's context; ``reason`` says why."""

    def __init__(self, reason: Unstartable, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class LibraryTheorem:
    """A theorem at its place in its library file.

    ``theorem.header`` is the file's text before the declaration, ``theorem.statement`` the
    declaration sentence, ``theorem.prelude`` nesy's tactic imports where they can be added
    (:func:`_prelude_allowed`). ``env_args`` start coqidetop as the tracer did; ``check_args``
    are the load path of the kernel check; ``closing`` closes the sections and modules open at
    the declaration and ``scope`` is its module path inside the file (sections left out).
    """

    theorem: Theorem
    full_name: str
    file: str  # path relative to the library root, as in the dataset
    env_args: tuple[str, ...]
    check_args: tuple[str, ...]
    closing: tuple[str, ...] = ()
    scope: str = ""
    position: int = 0  # offset of the declaration in its file (a job walks a file from last to first)
    check_header: str = ""  # the header as the kernel check compiles it (open modules unconstrained)
    check_statement: str = ""  # the statement as the check states it (a Definition/Instance: as a Lemma)
    start: tuple[int, int] = (0, 0)  # (line, column) of the declaration, as the trace records it (retrieval's accessibility)
    # inside functors or module types: the assumptions that context gives the theorem, as name
    # prefixes of the check's assumption report (CheckConfig.context_prefixes); () elsewhere
    context: tuple[str, ...] = ()
    module: str = ""  # the logical name of its file (``Coq.Arith.PeanoNat``): where the library's own proof is
    source: str = ""  # the path of its source file (the check compares it with the compiled file's age)

    # What the evaluation engine asks of a problem's context (provers.evaluation.data.Problem).
    @property
    def order_key(self) -> tuple[str, int]:
        return file_order_key(self)

    def check(self, sentences: list[str], *, timeout_s: float = 120.0):
        return check_library_proof(self, sentences, timeout_s=timeout_s)

    def proof_file(self, sentences: list[str]) -> str:
        """The file the kernel check compiles for this proof (without its own checking lines):
        the prefix, nesy's prelude, the theorem with the proof, and the scopes closed."""
        from provers.coq.check import proof_file_text

        head = f"(* {self.full_name}, {self.file}:{self.theorem.line}, in its file's context; compile with: coqc {' '.join(self.check_args)} *)\n"
        theorem = _checked_theorem(self)
        return head + proof_file_text(theorem, sentences) + "".join(c + "\n" for c in self.closing)


@dataclass(frozen=True)
class LibraryProblem:
    """One theorem of a split: its :class:`LibraryTheorem`, or why it cannot start."""

    full_name: str
    file: str
    theorem: LibraryTheorem | None
    reason: Unstartable | None = None
    error: str | None = None


@dataclass(frozen=True)
class LibraryConfig:
    """How theorems are prepared: nesy's tactic imports (and, with ``hammer``, CoqHammer's
    tactics) after the prefix, where they cannot load the file itself (:func:`_prelude_allowed`)."""

    tactic_imports: bool = True
    hammer: bool = False

    def prelude(self) -> str:
        return "\n".join(nesy_imports(self.tactic_imports, self.hammer))


# ------------------------------------------------------------------ where the library is


def library_of(dataset: Path) -> tuple[Library, dict]:
    """The traced library (root, logical name, options) from the dataset's ``metadata.json``."""
    meta_path = dataset / "metadata.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LibraryDataError(f"{dataset}: no metadata.json (was this dataset written by nesy trace?)") from None
    except (OSError, ValueError) as exc:
        raise LibraryDataError(f"{meta_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("library"), str) or not isinstance(meta.get("logical_name"), str):
        raise LibraryDataError(f"{meta_path}: no 'library'/'logical_name' (a dataset not traced by nesy trace cannot be started)")
    root = Path(meta["library"])
    if root == STDLIB_ROOT and meta["logical_name"] == STDLIB_PREFIX:
        lib = stdlib()
    else:
        lib = Library(root=root, prefix=meta["logical_name"])
    if not root.is_dir():
        raise LibraryDataError(f"{dataset}: the traced library {root} is not there any more")
    traced_with = meta.get("coq")
    if traced_with:
        from provers.tracing.driver import coq_version

        here = coq_version()
        if here != traced_with:
            raise LibraryDataError(f"{dataset} was traced with {traced_with!r}, this machine has {here!r}: trace it again")
    return lib, meta


def compiled_load_args(lib: Library, meta: dict) -> tuple[str, ...]:
    """Coq options that make ``Require`` s of the library's other files find their compiled ``.vo``.

    The one place that knows where the tracer left the compiled library: the standard library is
    Coq's own (no option); a user's library is compiled by ``nesy trace`` into ``build_dir`` of
    the metadata when the tracer records one (a private build directory), else beside its sources.
    """
    if not lib.bind:
        return tuple(lib.extra_args)
    build = meta.get("build_dir")
    where = Path(build) if isinstance(build, str) and build else lib.root
    if not where.is_dir():
        raise LibraryDataError(f"the compiled library {where} is missing: run nesy trace on {lib.root} again")
    return ("-R", str(where), lib.prefix, *lib.extra_args)


def _noinit(lib: Library, rel: str) -> tuple[str, ...]:
    return ("-noinit",) if any(rel.startswith(d.rstrip("/") + "/") for d in lib.noinit_dirs) else ()


# ------------------------------------------------------------------ loading


class _FileText:
    """One source file, read and cut into sentences once."""

    def __init__(self, path: Path) -> None:
        self.text = path.read_text(encoding="utf-8")
        self.sentences: list[Sentence] = split_sentences(self.text, allow_trailing=True)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self._by_start = {s.start: i for i, s in enumerate(self.sentences)}

    def offset(self, line: int, column: int) -> int | None:
        if not 1 <= line <= len(self.line_starts):
            return None
        return self.line_starts[line - 1] + column - 1

    def sentence_at(self, offset: int) -> int | None:
        return self._by_start.get(offset)

    @functools.cached_property
    def _walk(self) -> tuple[list[tuple], list[str | None]]:
        """Per sentence index: the open scopes before it (with the index of each one's opener),
        and the first refusal of the kernel check among the sentences before it (or None)."""
        from provers.coq.check import _system_command

        scopes = Scopes("")
        openers: list[int] = []
        states, refusals = [], []
        refused: str | None = None
        for i, s in enumerate(self.sentences):
            states.append(tuple(zip(scopes.stack, openers)))
            refusals.append(refused)
            depth = len(scopes.stack)
            scopes.update(s.text)
            del openers[len(scopes.stack):]
            if len(scopes.stack) > depth:
                openers.append(i)
            if refused is None:
                refused = _system_command(s.text)
        return states, refusals

    def scopes_before(self, index: int) -> tuple:
        """``(Scope, opener index)`` of every section/module open before sentence ``index``."""
        return self._walk[0][index]

    def refusal_before(self, index: int) -> str | None:
        return self._walk[1][index]


def load_split(dataset: str | Path, split: str, part: str, config: LibraryConfig | None = None, *,
               files=None) -> list[LibraryProblem]:
    """The theorems of ``split``/``part`` of a traced dataset, each ready to start or with its reason.

    ``files``: an optional predicate on a theorem's file (dataset-relative path): only the
    theorems of the files it accepts are read (their source files alone are opened).

    Raises :class:`LibraryDataError` (or :class:`retrieval.errors.DatasetFormatError`) when the
    dataset as a whole cannot be used; a theorem that cannot start is a problem with a reason.
    """
    from retrieval.dataset import open_dataset

    config = config or LibraryConfig()
    root = Path(dataset).expanduser()
    ds = open_dataset(root)
    theorems = ds.read_part(split, part)
    lib, meta = library_of(root)
    load = compiled_load_args(lib, meta)
    sources: dict[str, _FileText | str] = {}
    out: list[LibraryProblem] = []
    for t in theorems:
        if files is not None and not files(t.file_path):
            continue
        try:
            if t.file_path not in sources:
                sources[t.file_path] = _read(lib.root / t.file_path)
            src = sources[t.file_path]
            if isinstance(src, str):
                raise UnstartableError(Unstartable.FILE_MISSING, src)
            lt = library_theorem(lib, load, t.file_path, src, t.full_name, (t.start.line, t.start.column), config)
            out.append(LibraryProblem(t.full_name, t.file_path, lt))
        except UnstartableError as exc:
            out.append(LibraryProblem(t.full_name, t.file_path, None, exc.reason, str(exc)))
    return out


def _read(path: Path) -> _FileText | str:
    try:
        return _FileText(path)
    except FileNotFoundError:
        return f"{path}: no such file"
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path}: unreadable ({exc})"
    except SentenceError as exc:
        return f"{path}: cannot be cut into sentences ({exc})"


def library_theorem(lib: Library, load_args: tuple[str, ...], rel: str, src: _FileText, full_name: str,
                    start: tuple[int, int], config: LibraryConfig) -> LibraryTheorem:
    """The theorem ``full_name`` declared at ``start`` (1-based line, column) of ``rel``."""
    short = full_name.rsplit(".", 1)[-1]
    offset = src.offset(*start)
    index = src.sentence_at(offset) if offset is not None else None
    if index is None:
        raise UnstartableError(Unstartable.FILE_CHANGED, f"{rel}:{start[0]}:{start[1]}: no sentence starts there any more")
    sentence = src.sentences[index].text
    try:
        body = strip_comments(sentence)
    except SentenceError as exc:
        raise UnstartableError(Unstartable.FILE_CHANGED, f"{rel}:{start[0]}: {exc}") from None
    words = body.split()
    if "Program" in words[:4] or body.startswith("Next Obligation") or "Obligation" in words[:2]:
        raise UnstartableError(Unstartable.PROGRAM, f"{full_name}: a Program declaration (its obligations are proved apart)")
    m = _DECL_RE.match(body)
    check_statement = ""
    if m is None:
        kind = head(body)[0] or "?"
        d = _PROOF_MODE_DECL.match(body)
        if d is not None and d.group(2) == short and not has_top_level_assign(d.group(3)):
            # a Definition/Instance proved with tactics: the kernel check states its type as a Lemma
            # (what is checked is a proof of that type; transparency and instance declaration
            # only matter to later sentences, which the check does not hold)
            rest = d.group(3)
            if d.group(1) == "Instance":  # an instance's priority (`| 10`) is no part of its type
                rest = re.sub(r"\s*\|\s*\d+\s*\.$", ".", rest.rstrip())
            check_statement = f"Lemma {short}{rest}"
        elif re.search(rf"\b{re.escape(short)}\b", body):
            raise UnstartableError(Unstartable.UNSUPPORTED_KIND, f"{full_name}: '{kind}' is not a theorem-like declaration (Theorem, Lemma, Definition, Instance)")
        else:
            raise UnstartableError(Unstartable.FILE_CHANGED, f"{rel}:{start[0]}: {short} is not declared there any more")
    elif m.group(2) != short:
        raise UnstartableError(Unstartable.FILE_CHANGED, f"{rel}:{start[0]}: declares {m.group(2)}, the trace says {short}")
    open_scopes = src.scopes_before(index)
    stack = [sc for sc, _ in open_scopes]
    header = src.text[:offset].rstrip()
    context = _context_prefixes(src, open_scopes, full_name)
    check_header = _unconstrained(src, header, [i for sc, i in open_scopes if sc.kind != "Section"])
    refusal = src.refusal_before(index)
    if refusal:
        raise UnstartableError(Unstartable.REFUSED_COMMAND, f"{full_name}: the file before it {refusal.removeprefix('refused: ')}")
    module = lib.module_name(rel)
    noinit = _noinit(lib, rel)
    prelude = config.prelude()
    prelude = prelude if prelude and _prelude_allowed(module, noinit, prelude) else ""
    theorem = Theorem(name=short, statement=sentence, header=header, file_path=rel,
                      line=start[0], prelude=prelude)
    env_args = ("-q", *noinit, *load_args, "-topfile", str(lib.root / rel))
    closing = tuple(f"End {sc.name}." for sc in reversed(stack))
    scope = ".".join(sc.name for sc in stack if sc.kind != "Section")
    return LibraryTheorem(theorem, full_name, rel, env_args, (*noinit, *load_args), closing, scope, offset, check_header,
                          check_statement, (int(start[0]), int(start[1])), context, module,
                          str(lib.root / rel))


_PROOF_MODE_DECL = re.compile(
    r"^(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global|Polymorphic|Monomorphic)\s+)*(Definition|Instance)\s+([A-Za-z_][\w']*)(\s.*|:.*|)$", re.DOTALL)


_OPENER_HEAD = re.compile(r"^(\s*(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global)\s+)?)Module\s+(Type\s+)?((?:(?:Import|Export)\s+)?)([A-Za-z_][\w']*)", re.DOTALL)
_BINDER = re.compile(r"^\s*((?:(?:Import|Export)\s+)?)((?:[A-Za-z_][\w']*\s+)*[A-Za-z_][\w']*)\s*:(?!=)\s*(.+?)\s*$", re.DOTALL)


def opener_as_module(sentence: str) -> tuple[str, tuple[str, ...]] | None:
    """The check's reading of a functor or module type opener: a plain module holding its parameters.

    ``Module F (Import X : T) (Y Z : U) <: S.`` -> ``Module F. Declare Module X : T. Import X.
    Declare Module Y : U. Declare Module Z : U.`` and the parameters ``(X, Y, Z)``;
    ``Module Type T (X : S).`` -> ``Module T. Declare Module X : S.``. A lemma proved inside
    reads the same names with the same types (a parameter is an abstract module either way), and
    its constant now exists outside, where ``Print Assumptions`` names every parameter field it
    uses (``P.F.X.lt``) and every module type field (``P.T.lt``). None when the sentence cannot
    be read this way (the theorem is then unstartable).
    """
    try:
        body = strip_comments(sentence).strip()
    except SentenceError:
        return None
    m = _OPENER_HEAD.match(body)
    if m is None or not body.endswith("."):
        return None
    rest, at = body[:-1], m.end()
    decls: list[str] = []
    params: list[str] = []
    while True:
        while at < len(rest) and rest[at].isspace():
            at += 1
        if at >= len(rest) or rest[at] != "(":
            break
        depth, j = 0, at
        for j in range(at, len(rest)):
            depth += rest[j] == "("
            depth -= rest[j] == ")"
            if depth == 0:
                break
        if depth != 0:
            return None
        b = _BINDER.match(rest[at + 1:j])
        if b is None:
            return None
        mtype = b.group(3).lstrip("!").strip()
        if not mtype:
            return None
        for name in b.group(2).split():
            decls.append(f"Declare Module {name} : {mtype}.")
            if b.group(1).strip():
                decls.append(f"{b.group(1).strip()} {name}.")
            params.append(name)
        at = j + 1
    tail = rest[at:].strip()
    if tail and not (tail.startswith("<:") or (tail.startswith(":") and not tail.startswith(":="))):
        return None  # `:=` defines a module (opens nothing), anything else is not understood
    head = f"{m.group(1)}Module {m.group(3)}{m.group(4)}."
    return " ".join([head, *decls]), tuple(params)


def unconstrained_opener(sentence: str) -> str | None:
    """The opener as the check writes it (:func:`opener_as_module`: ``Module M <: T.`` ->
    ``Module M.``); None when there is nothing to change or the sentence cannot be read."""
    read = opener_as_module(sentence)
    if read is None or read[0] == strip_comments(sentence).strip():
        return None
    return read[0]


def _context_prefixes(src: _FileText, open_scopes: tuple, full_name: str) -> tuple[str, ...]:
    """The assumption-name prefixes the functors and module types open at a theorem give it."""
    out: list[str] = []
    path = ["P"]
    for sc, i in open_scopes:
        if sc.kind == "Section":
            continue
        path.append(sc.name)
        if sc.kind == "Module Type" or sc.functor:
            read = opener_as_module(src.sentences[i].text)
            if read is None:
                raise UnstartableError(Unstartable.IN_FUNCTOR, f"{full_name}: cannot read the parameters of {'.'.join(path[1:])}")
            if sc.kind == "Module Type":
                out.append(".".join(path) + ".")
            else:
                out.extend(".".join([*path, p]) + "." for p in read[1])
    return tuple(dict.fromkeys(out))


def _unconstrained(src: _FileText, header: str, openers: list[int]) -> str:
    """``header`` with the openers of the modules still open rewritten by :func:`unconstrained_opener`
    ("" when there is none to rewrite): signature constraints (``<: T``, ``: T``) cut, functors and
    module types read as modules that declare their parameters (:func:`opener_as_module`).

    The kernel check closes those modules right after the proof; a constraint would then be
    checked against a module that stops half way (``The field ... is missing``), and a sealing
    ``: T`` would hide the checked constant. Inside the module a constraint changes nothing, so
    the proof is checked against the same context the file gives it.
    """
    out, at = [], 0
    for i in openers:
        s = src.sentences[i]
        cut = unconstrained_opener(s.text)
        if cut is None:
            continue
        out.append(header[at:s.start])
        out.append(cut)
        at = s.start + len(s.text)
    if not out:
        return ""  # nothing to cut: the check compiles the header itself (no second copy kept)
    out.append(header[at:])
    return "".join(out)


def _prelude_allowed(module: str, noinit: tuple[str, ...], prelude: str = TACTIC_IMPORTS) -> bool:
    """nesy's tactic imports can follow the prefix unless they would load the file itself.

    ``Require Import Lia Lra Psatz`` loads (transitively) part of the standard library; adding it
    to a file those libraries depend on would load the compiled file, with the theorem and its
    later lemmas, next to its own prefix. Files replayed with ``-noinit`` (Coq's ``Init``) get none.
    """
    loaded = _prelude_libraries(prelude)
    return not noinit and "*" not in loaded and module not in loaded


@functools.lru_cache(maxsize=4)
def _prelude_libraries(prelude: str = TACTIC_IMPORTS) -> frozenset[str]:
    """Every library ``prelude`` (nesy's tactic imports) loads (asked of coqc once per prelude)."""
    from provers.coq.process import private_tempdir

    tmp = private_tempdir("prelude")
    try:
        f = Path(tmp) / "Q.v"
        f.write_text(f"{prelude}\nPrint Libraries.\n", encoding="utf-8")
        out = subprocess.run(["coqc", "-q", str(f)], check=False, capture_output=True, text=True, timeout=300, cwd=tmp).stdout
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    names = {ln.strip() for ln in out.splitlines() if ln.startswith("  ") and " " not in ln.strip()}
    if not names:  # could not ask: assume every library may be loaded (no prelude anywhere)
        return frozenset({"*"})
    return frozenset(names)


# ------------------------------------------------------------------ the kernel check


def check_library_proof(lt: LibraryTheorem, sentences: list[str], *, timeout_s: float = 120.0, config=None):
    """Kernel-check ``sentences`` as a proof of ``lt`` in its file's context (see module doc).

    The same stages and allow-list as :func:`provers.coq.check.check_proof`, on a file that holds
    the library file's prefix, compiled under the private name ``NesyCheck.P`` with the
    library's load path; never raises on a bad proof.
    """
    from provers.coq.check import CheckConfig, check_proof

    # outside functors, what the library's own proof of the theorem rests on is accepted too
    inherited = (lt.module, lt.full_name, lt.source) if lt.module and lt.source and not lt.context else None
    cfg = replace(config or CheckConfig(timeout_s=timeout_s), extra_args=lt.check_args, context_prefixes=lt.context,
                  inherited_from=inherited)
    theorem = _checked_theorem(lt)
    return check_proof(theorem, sentences, config=cfg, closing=lt.closing, scope=lt.scope)


def _checked_theorem(lt: LibraryTheorem) -> Theorem:
    return replace(lt.theorem, header=lt.check_header or lt.theorem.header, statement=lt.check_statement or lt.theorem.statement)


def file_order_key(lt: LibraryTheorem) -> tuple[str, int]:
    """Sort key of a job: theorems of one file together, from the last to the first, so that each
    start on a warm process of that file goes back with one ``Edit_at``."""
    return (lt.file, -lt.position)


__all__ = [
    "LibraryConfig", "LibraryDataError", "LibraryProblem", "LibraryTheorem", "Unstartable", "UnstartableError",
    "check_library_proof", "compiled_load_args", "file_order_key", "library_of", "library_theorem", "load_split",
]

"""The kernel check: a proof counts only when a fresh ``coqc`` accepts it.

``check_proof`` writes the theorem's header, its statement, ``Proof.``, the proof's sentences and
``Qed.`` into a file of a temporary directory and compiles it with a fresh ``coqc``. A second
file then only ``Require``s the compiled one (no ``Import``) and runs ``Print Assumptions`` on the
theorem: without imports Coq prints each axiom by a name qualified enough to be unambiguous, so a
user's own ``Classical_Prop.classic`` prints as ``P.Classical_Prop.classic`` and cannot pass for
the library's. Every axiom must be in the allow-list: the classical axioms that Coq's Reals
library itself rests on. An ``Admitted`` lemma shows up as an axiom too.

``check_file`` does the same for a whole user file (every theorem-like declaration in it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from provers.coq.files import TheoremFileError, declarations, read_source
from provers.coq.sentences import check_tactic, strip_comments
from provers.errors import MissingDependencyError
from provers.protocol import Theorem

# Axioms used by Coq's own Reals library (Print Assumptions on e.g. Rtopology.compact_P3 or
# sqrt lemmas shows them), as printed when the checked file is Required without Import.
REALS_AXIOMS = frozenset(
    {
        "ClassicalDedekindReals.sig_forall_dec",
        "ClassicalDedekindReals.sig_not_dec",
        "FunctionalExtensionality.functional_extensionality_dep",
        "Classical_Prop.classic",
    }
)

_CHECK_LIBRARY = "NesyCheck"
_FORBIDDEN_DECLS = ("Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Admitted", "Hypothesis", "Hypotheses", "Variable", "Variables")


@dataclass(frozen=True)
class CheckResult:
    """Verdict of the kernel check. ``ok`` iff compiled and every axiom is allowed."""

    ok: bool
    message: str
    axioms: tuple[str, ...] = ()
    disallowed: tuple[str, ...] = ()
    seconds: float = 0.0
    per_theorem: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


def _coqc() -> str:
    path = shutil.which("coqc")
    if not path:
        raise MissingDependencyError("coqc not found on PATH: install Coq (Debian: apt-get install -y coq libcoq-stdlib)")
    return path


def check_proof(
    theorem: Theorem,
    sentences: list[str],
    *,
    timeout_s: float = 120.0,
    allowed_axioms: frozenset[str] = REALS_AXIOMS,
    extra_args: tuple[str, ...] = (),
) -> CheckResult:
    """Check that ``sentences`` prove ``theorem`` (see module doc). Never raises on a bad proof."""
    for s in sentences:
        verdict = check_tactic(s)
        if verdict.refused or verdict.gives_up:
            return CheckResult(False, f"proof sentence not allowed: {verdict.refused or 'gives up'}: {s[:80]!r}")
    body = "\n".join(["Proof.", *sentences, "Qed."])
    text = f"{theorem.header}\n\n{theorem.statement}\n{body}\n"
    return _check_text(text, [theorem.name], timeout_s, allowed_axioms, extra_args)


def proof_file_text(theorem: Theorem, sentences: list[str]) -> str:
    """A complete ``.v`` file with the proof, as written to results and checked by ``nesy check``."""
    body = "\n".join(f"  {s}" for s in sentences)
    return f"{theorem.header}\n\n{theorem.statement}\nProof.\n{body}\nQed.\n"


def check_file(
    path: str | Path,
    *,
    timeout_s: float = 300.0,
    allowed_axioms: frozenset[str] = REALS_AXIOMS,
    extra_args: tuple[str, ...] = (),
) -> CheckResult:
    """Check a whole ``.v`` file: it compiles and each of its theorems uses only allowed axioms."""
    p = Path(path)
    text = read_source(p)
    sentences, decls = declarations(text, str(p))
    if not decls:
        raise TheoremFileError(f"{p}: no Theorem/Lemma declaration to check")
    bad = [
        s.split()[0]
        for s in (strip_comments(x) for x in sentences)
        if s and s.split()[0].rstrip(".") in _FORBIDDEN_DECLS
    ]
    result = _check_text(text, [d.name for d in decls], timeout_s, allowed_axioms, extra_args)
    if bad and result.ok:
        return CheckResult(False, f"file declares {', '.join(sorted(set(bad)))}", result.axioms, result.disallowed, result.seconds, result.per_theorem)
    return result


def _check_text(
    text: str,
    names: list[str],
    timeout_s: float,
    allowed: frozenset[str],
    extra_args: tuple[str, ...],
) -> CheckResult:
    coqc = _coqc()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nesy-check-") as tmp:
        d = Path(tmp)
        (d / "P.v").write_text(text, encoding="utf-8")
        lib = ["-R", ".", _CHECK_LIBRARY]
        ok, out = _run([coqc, "-q", *extra_args, *lib, "P.v"], d, timeout_s)
        if not ok:
            return CheckResult(False, f"coqc rejected the proof: {_tail(out)}", seconds=time.monotonic() - start)
        queries = "\n".join(f"Print Assumptions {_CHECK_LIBRARY}.P.{n}." for n in names)
        (d / "C.v").write_text(f"Require {_CHECK_LIBRARY}.P.\n{queries}\n", encoding="utf-8")
        ok, out = _run([coqc, "-q", *extra_args, *lib, "C.v"], d, timeout_s)
        if not ok:
            return CheckResult(False, f"Print Assumptions failed: {_tail(out)}", seconds=time.monotonic() - start)
    blocks = parse_assumptions(out)
    if len(blocks) != len(names):
        return CheckResult(False, f"could not read Print Assumptions output: {_tail(out)}", seconds=time.monotonic() - start)
    per = dict(zip(names, blocks))
    axioms = tuple(sorted({a for b in blocks for a in b}))
    disallowed = tuple(a for a in axioms if a not in allowed)
    seconds = time.monotonic() - start
    if disallowed:
        return CheckResult(False, f"uses axioms outside the allow-list: {', '.join(disallowed)}", axioms, disallowed, seconds, per)
    return CheckResult(True, "accepted by coqc; axioms: " + (", ".join(axioms) or "none"), axioms, (), seconds, per)


def _run(cmd: list[str], cwd: Path, timeout_s: float) -> tuple[bool, str]:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"coqc timed out after {timeout_s:g}s"
    return proc.returncode == 0, proc.stdout + proc.stderr


def _tail(out: str, n: int = 600) -> str:
    out = out.strip()
    return out if len(out) <= n else "..." + out[-n:]


_AXIOM_LINE = re.compile(r"^(\S+)(?:\s*:.*)?$")
_HEADERS = ("Section Variables:", "Axioms:", "Opaque constants:", "Transparent constants:")


def parse_assumptions(output: str) -> list[tuple[str, ...]]:
    """Axiom names of each ``Print Assumptions`` block of ``output``, in order.

    A block is ``Closed under the global context`` or a run of sections in Coq's order
    (``Section Variables:``, ``Axioms:``, ``Opaque constants:``, ``Transparent constants:``); a
    section header not after the previous one starts a new block. Entries start at column 0
    (``name : type``, or ``name`` with the type on indented lines). Section variables count as
    assumptions too.
    """
    blocks: list[list[str]] = []
    last = len(_HEADERS)  # index of the last header seen in the current block
    section = None
    for line in output.splitlines():
        if line.startswith("Closed under the global context"):
            blocks.append([])
            last, section = len(_HEADERS), None
            continue
        if line in _HEADERS:
            idx = _HEADERS.index(line)
            if idx <= last or not blocks:
                blocks.append([])
            last = idx
            section = line
            continue
        if section in _HEADERS[:2] and line and not line[0].isspace():
            m = _AXIOM_LINE.match(line)
            if m:
                blocks[-1].append(m.group(1))
    return [tuple(b) for b in blocks]

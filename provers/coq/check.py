"""The kernel check: a proof counts only when a fresh ``coqc`` accepts it, and it fails closed.

What a passing check means (:func:`check_proof`, used by ``nesy prove``, every evaluation, and
``nesy check PROOF --problem PROBLEM``): the constant the proof defines has *the problem's own
statement* as its type, and it rests on no assumption outside the allow-list. How:

1. **The checked file is built by nesy**, never taken from the proof: the problem's header and
   statement (trusted), then the vetted proof sentences (hostile input, see
   :func:`provers.coq.sentences.check_tactic`), then ``Qed.``. Before nesy's own additions (the
   tactic imports of :attr:`Theorem.prelude`) the file states the problem a second time under a
   fresh name, with ``Admitted``; after the proof it defines
   ``nesy_checked_proof : <type of that admitted statement> := @theorem``. So Coq itself, as terms,
   confirms that what was proved is what the problem states *as the problem's header reads it*:
   an import that re-reads a notation, or anything the proof could smuggle in, breaks this.
2. **Coq's own sentence boundaries must be nesy's.** ``coqc -time`` reports the character range
   of every sentence it runs; they must equal the ranges nesy split the file into. A tactic
   string that Coq would read as more sentences than nesy vetted is rejected here even if the
   vetting missed it.
3. **The assumption report is read fail-closed.** ``Print Assumptions nesy_checked_proof`` (in a
   second file that only ``Require``s the first, so names print qualified: a user's own
   ``Classical_Prop.classic`` prints as ``P.Classical_Prop.classic``) must consist only of lines
   this module recognises; an entry outside the allow-list, a section variable, and any other
   line (``X is assumed to be guarded.``, ``... assumed to be positive.``, ``... relies on an
   unsafe hierarchy.``, or anything a future Coq prints) rejects the proof. One exception, for
   a library theorem in its file's context only: an entry the library's own compiled proof of
   the same theorem also rests on (located by full name on both sides, an axiom of the file's
   own prefix standing for the file's declaration) is accepted (:attr:`CheckConfig.inherited_from`),
   unless the compiled file is older than its source (the prefix, copied from the source, could
   then declare something else under the same name).
4. **An independent re-check**: ``coqchk -o -norec`` re-type-checks every constant of the
   compiled file with Coq's stand-alone checker and must report no type-in-type, no unsafe
   (co)fixpoint and no assumed positivity. Measured here (``benchmarks/check_cost.py``) it adds
   about a second per proof, mostly loading the Reals library; :class:`CheckConfig` turns it
   off.

:func:`check_file` without a problem checks a whole user file for *soundness only* (it cannot
know which statement was meant, and says so): coqchk over every constant of the file (modules,
sections, ``Goal``s, ``Definition``s, instances: any axiom declared in the file rejects it), and
``Print Assumptions`` on every constant the file defines (enumerated from Coq's ``.glob``).

All Coq runs are confined: a private temporary directory, their own session, killed with their
parent, with time, memory and file-size limits; files that name commands which touch the system
(``Redirect``, ``Extraction``, ``Cd``, ``Load``, ``Declare ML Module``, load-path changes, ``Drop``)
are refused before anything runs.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from provers.coq.files import _DECL_RE, TheoremFileError, declarations, read_source, theorem_from_text
from provers.coq.process import Limits, coq_tool, private_tempdir, run_confined
from provers.coq.sentences import SentenceError, check_tactic, split_sentences, strip_comments
from provers.protocol import CheckResult, Theorem

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
PROBLEM_CONSTANT = "nesy_problem_statement"
TARGET_CONSTANT = "nesy_checked_proof"
_FORBIDDEN_DECLS = ("Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Admitted", "Hypothesis", "Hypotheses", "Variable", "Variables")

# Commands that read or write files, change directories or load code: never run by a check.
_SYSTEM_COMMANDS = {
    "Redirect": "writes its output to a file",
    "Extraction": "writes files",
    "Cd": "changes Coq's working directory",
    "Load": "reads and runs another file",
    "Drop": "leaves Coq for the OCaml toplevel",
    "Declare ML Module": "loads native code",
    "Add LoadPath": "changes the load path",
    "Add Rec LoadPath": "changes the load path",
    "Add ML Path": "changes the native load path",
    "Remove LoadPath": "changes the load path",
}
# Words that may stand before a command without being it (attributes are stripped separately).
_PREFIX_WORDS = {"Time", "Instructions", "Profile", "Fail", "Succeed", "Local", "Global", "Export", "Polymorphic",
                 "Monomorphic", "Program", "Cumulative", "NonCumulative", "Private", "Recursive", "Separate"}


@dataclass(frozen=True)
class CheckConfig:
    """Settings of the kernel check."""

    timeout_s: float = 120.0  # per Coq run
    memory_mb: int = 8192  # address-space limit per Coq run
    allowed_axioms: frozenset[str] = REALS_AXIOMS
    recheck: bool = True  # also re-check the compiled file with coqchk
    extra_args: tuple[str, ...] = ()  # load-path flags (-R/-Q/-I) for coqc and coqchk
    # Assumptions the theorem's own context gives it, as name prefixes of the assumption report
    # (``P.F.X.``: the parameter X of the functor F the theorem is stated in; ``P.T.``: the fields of
    # the module type T). Set by :func:`provers.coq.library.check_library_proof` only.
    context_prefixes: tuple[str, ...] = ()
    # A library theorem's own compiled proof, as (the logical name of its file, its full name,
    # the path of its source file): an assumption outside the allow-list is then accepted when the
    # library's own proof of the same theorem rests on it too (an axiom its file declares before
    # it, a primitive of another file): such a proof rests on nothing the library's does not.
    # Never when the compiled file is older than the source. Set by
    # :func:`provers.coq.library.check_library_proof` only.
    inherited_from: tuple[str, str, str] | None = None


class AssumptionReportError(ValueError):
    """Coq's assumption report holds a line the reader does not recognise (fail closed)."""


def _coqc() -> str:
    return coq_tool("coqc")


def _config(config: CheckConfig | None, timeout_s: float | None, allowed_axioms: frozenset[str] | None, extra_args: tuple[str, ...] | None) -> CheckConfig:
    cfg = config or CheckConfig()
    changes: dict = {}
    if timeout_s is not None:
        changes["timeout_s"] = timeout_s
    if allowed_axioms is not None:
        changes["allowed_axioms"] = allowed_axioms
    if extra_args is not None:
        changes["extra_args"] = tuple(extra_args)
    return replace(cfg, **changes) if changes else cfg


# ---------------------------------------------------------------------------------- proofs


def check_proof(
    theorem: Theorem,
    sentences: list[str],
    *,
    config: CheckConfig | None = None,
    timeout_s: float | None = None,
    allowed_axioms: frozenset[str] | None = None,
    extra_args: tuple[str, ...] | None = None,
    closing: tuple[str, ...] = (),
    scope: str = "",
) -> CheckResult:
    """Check that ``sentences`` prove ``theorem``'s own statement (see module doc). Never raises on a bad proof.

    ``sentences`` may be tactic strings: each is split and vetted by ``check_tactic`` and the
    file holds exactly the comment-free sentences that the environment runs.

    A theorem stated inside open sections or modules (a library theorem in its file's context,
    :mod:`provers.coq.library`) passes the sentences that close them (``End S.``), written after
    the checking definition, and ``scope``, the module path (sections left out) the definition
    gets: ``Print Assumptions`` then reads ``<scope>.nesy_checked_proof`` of the closed file.
    """
    cfg = _config(config, timeout_s, allowed_axioms, extra_args)
    vetted: list[str] = []
    for s in sentences:  # tactic strings or sentences: vetted again here, as hostile input
        verdict = check_tactic(s)
        if verdict.refused or verdict.gives_up:
            return CheckResult(False, f"proof sentence not allowed: {verdict.refused or 'gives up'}: {s[:80]!r}")
        vetted.extend(verdict.sentences)
    try:
        text = checked_file_text(theorem, vetted)
    except TheoremFileError as exc:
        return CheckResult(False, str(exc))
    refusal = _system_command(theorem.header) or _system_command(theorem.prelude)
    if refusal:
        return CheckResult(False, refusal)
    if closing:
        text += "\n".join(closing) + "\n"
    prefix_lines = theorem.header.rstrip().count("\n") + 1 if theorem.header.strip() else 0
    return _check_built(text, cfg, f"{scope}.{TARGET_CONSTANT}" if scope else TARGET_CONSTANT, prefix_lines)


def checked_file_text(theorem: Theorem, sentences: list[str]) -> str:
    """The file the check compiles for ``sentences`` as a proof of ``theorem`` (see module doc)."""
    try:
        statement = strip_comments(theorem.statement)
    except SentenceError as exc:
        raise TheoremFileError(f"{theorem.name}: {exc}") from exc
    m = _DECL_RE.match(statement)
    if not m or m.group(2) != theorem.name:
        raise TheoremFileError(f"the statement does not declare {theorem.name!r}: {statement[:80]!r}")
    try:
        if [s.text for s in split_sentences(statement)] != [statement]:
            raise TheoremFileError(f"the statement of {theorem.name} is not exactly one sentence")
    except SentenceError as exc:
        raise TheoremFileError(f"{theorem.name}: {exc}") from exc
    renamed = statement[: m.start(2)] + PROBLEM_CONSTANT + statement[m.end(2) :]
    parts = [theorem.header.rstrip(), "", renamed, "Admitted.", theorem.prelude.strip(), statement, "Proof.", *sentences, "Qed.",
             f"Definition {TARGET_CONSTANT} : ltac:(let t := type of @{PROBLEM_CONSTANT} in exact t) := @{theorem.name}.", ""]
    return "\n".join(p for p in parts if p is not None)


def proof_file_text(theorem: Theorem, sentences: list[str]) -> str:
    """A complete ``.v`` file with the proof, as written to results (``nesy check --problem`` reads it)."""
    body = "\n".join(f"  {s}" for s in sentences)
    prelude = f"\n{theorem.prelude.strip()}" if theorem.prelude.strip() else ""
    return f"{theorem.header.rstrip()}{prelude}\n\n{theorem.statement.strip()}\nProof.\n{body}\nQed.\n"


def _check_built(text: str, cfg: CheckConfig, target: str = TARGET_CONSTANT, prefix_lines: int = 0) -> CheckResult:
    start = time.monotonic()
    stages: dict[str, float] = {}
    tmp = private_tempdir("check")
    try:
        d = Path(tmp)
        (d / "P.v").write_text(text, encoding="utf-8")
        t0 = time.monotonic()
        code, out = _coq([_coqc(), "-q", "-time", *cfg.extra_args, *_lib(), "P.v"], d, cfg)
        stages["coqc"] = time.monotonic() - t0
        if code != 0:
            where = re.search(r'^File "\./P\.v", line (\d+),', out, re.MULTILINE)
            if code is not None and where and int(where.group(1)) <= prefix_lines:
                # the header itself: a library file whose prefix needs its own logical name (setoid
                # rewriting inside Coq.Classes finds Proper by its absolute name Coq.Classes.Morphisms)
                why = (f"coqc rejected the theorem's header (line {where.group(1)} of its {prefix_lines}, before the proof), "
                       f"compiled as the private library {_CHECK_LIBRARY}.P: {_why(code, out, cfg)}")
            else:
                why = f"coqc rejected the proof: {_why(code, out, cfg)}"
            return CheckResult(False, why, seconds=time.monotonic() - start, stages=stages)
        mismatch = _boundary_mismatch(text, out)
        if mismatch:
            return CheckResult(False, f"Coq reads the file as other sentences than nesy ran: {mismatch}", seconds=time.monotonic() - start, stages=stages)
        t0 = time.monotonic()
        blocks = _print_assumptions(d, [target], cfg)
        stages["assumptions"] = time.monotonic() - t0
        if isinstance(blocks, str):
            return CheckResult(False, blocks, seconds=time.monotonic() - start, stages=stages)
        if cfg.recheck:
            t0 = time.monotonic()
            verdict = _coqchk(d, cfg)
            stages["coqchk"] = time.monotonic() - t0
            if verdict:
                return CheckResult(False, verdict, seconds=time.monotonic() - start, stages=stages)
        result = _verdict({target: blocks[0]}, cfg, start, "statement", stages)
        if result.ok or not result.disallowed or cfg.inherited_from is None:
            return result
        t0 = time.monotonic()
        inherited = _inherited(d, result.disallowed, cfg)
        stages["inherited"] = time.monotonic() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if isinstance(inherited, str):
        return replace(result, message=f"{result.message} ({inherited})", seconds=time.monotonic() - start, stages=stages)
    module, name, _ = cfg.inherited_from
    return _verdict({target: blocks[0]}, replace(cfg, allowed_axioms=cfg.allowed_axioms | inherited), start, "statement", stages,
                    inherited=f"; {len(inherited)} of them as the library's own proof of {name} ({module}) does")


def _inherited(d: Path, disallowed: tuple[str, ...], cfg: CheckConfig) -> frozenset[str] | str:
    """The entries of ``disallowed`` that the library's own proof rests on too, or why none can be.

    Both sides are named exactly: ``Locate Term`` of each printed entry where it was printed (the
    checked file ``P`` Required alone), and the library's own theorem's ``Print Assumptions``,
    its entries located the same way in a file that Requires only the library's file. An entry
    of the checked file itself (``NesyCheck.P.x``, declared in the copied prefix) stands for the
    same declaration of the library's file (``M.x``); the checking constants never stand for
    anything. Anything unexpected accepts nothing (fail closed).
    """
    assert cfg.inherited_from is not None
    module, name, source = cfg.inherited_from
    ident = r"[A-Za-z_][\w'.]*"
    if not re.fullmatch(ident, module) or not re.fullmatch(ident, name) or not all(re.fullmatch(ident, a) for a in disallowed):
        return "the library's own proof was not consulted: unexpected names"
    stale = _compiled_is_older(d, module, Path(source), cfg)
    if stale:
        return f"the library's own proof was not consulted: {stale}"
    ours = _locate_terms(d, f"Require {_CHECK_LIBRARY}.P.", disallowed, cfg, "O")
    if isinstance(ours, str):
        return ours
    blocks = _assumption_report(d, "I", f"Require {module}.", [name], cfg, private=False)
    if isinstance(blocks, str):
        return f"the library's own proof could not be consulted: {blocks}"
    if not blocks[0]:
        return f"the library's own proof of {name} rests on no axiom"
    theirs = _locate_terms(d, f"Require {module}.", blocks[0], cfg, "T")
    if isinstance(theirs, str):
        return theirs
    own = f"{_CHECK_LIBRARY}.P."
    library = set(theirs.values())
    accepted = set()
    for printed, full in ours.items():
        last = full.rsplit(".", 1)[-1]
        if last == TARGET_CONSTANT or last.startswith(PROBLEM_CONSTANT):
            continue
        if (f"{module}.{full[len(own):]}" if full.startswith(own) else full) in library:
            accepted.add(printed)
    return frozenset(accepted)


def _compiled_is_older(d: Path, module: str, source: Path, cfg: CheckConfig) -> str:
    """'' when the compiled ``module`` Coq loads is not older than ``source``; else why not.

    The checked file's prefix is copied from the library's *source*, the library's own proof is
    read from its *compiled* file: a source edited after compiling (an ``Axiom`` strengthened to
    ``False`` under its old name) would otherwise lend the new axiom the old one's standing,
    since entries are matched by name. The rule is the build tools' (``make``): a ``.vo`` older
    than its ``.v`` is stale. (Comparing the two statements in Coq instead is not an option: the
    copy's definitions are other constants than the library's, and converting recursive ones such
    as ``Uint63.of_pos_rec`` unfolds them to exponential size.) Anything unexpected refuses.
    """
    (d / "L.v").write_text(f"Locate Library {module}.\n", encoding="utf-8")
    code, out = _coq([_coqc(), "-q", *cfg.extra_args, "L.v"], d, cfg)
    m = re.fullmatch(rf"\s*{re.escape(module)} is bound to file\s+(.+\.vo)\s*", out) if code == 0 else None
    if m is None:
        return f"its compiled file was not found ({_why(code, out, cfg) if code != 0 else _tail(out)})"
    try:
        compiled, written = Path(m.group(1)).stat().st_mtime_ns, source.stat().st_mtime_ns
    except OSError as exc:
        return f"could not compare the compiled file with its source ({exc})"
    if written > compiled:
        return f"its compiled file {m.group(1)} is older than its source {source} (recompile the library, or trace it again)"
    return ""


def _locate_terms(d: Path, require: str, printed: tuple[str, ...], cfg: CheckConfig, stem: str) -> dict[str, str] | str:
    """{printed name: the full name of the constant it denotes after ``require``}; or why not."""
    (d / f"{stem}.v").write_text(require + "\n" + "".join(f"Locate Term {p}.\n" for p in printed), encoding="utf-8")
    code, out = _coq([_coqc(), "-q", *cfg.extra_args, *_lib(), f"{stem}.v"], d, cfg)
    if code != 0:
        return f"could not locate assumptions: {_why(code, out, cfg)}"
    firsts = [line.split()[1] for line in out.splitlines() if re.match(r"^Constant \S+$", line)]
    heads = [line for line in out.splitlines() if line and not line.startswith(" ")]
    if len(firsts) != len(printed) or len(heads) != len(printed):
        return "could not locate assumptions: unexpected Locate output"
    return dict(zip(printed, firsts))


def _print_assumptions(d: Path, names: list[str], cfg: CheckConfig) -> list[tuple[str, ...]] | str:
    """``Print Assumptions`` of each constant of the compiled ``P``, read fail-closed; or why not.

    Runs in a second file that only ``Require``s ``P`` (see module doc): one block per name.
    """
    return _assumption_report(d, "C", f"Require {_CHECK_LIBRARY}.P.", [f"{_CHECK_LIBRARY}.P.{n}" for n in names], cfg)


def _assumption_report(d: Path, stem: str, require: str, names: list[str], cfg: CheckConfig,
                       private: bool = True) -> list[tuple[str, ...]] | str:
    """One ``Print Assumptions`` block per name, in ``stem.v`` after ``require``, read fail-closed; or why not.

    ``private``: the compiled checking library ``NesyCheck`` is on the load path (not needed to
    consult a library's own compiled file).
    """
    queries = "\n".join(f"Print Assumptions {n}." for n in names)
    (d / f"{stem}.v").write_text(f"{require}\n{queries}\n", encoding="utf-8")
    code, out = _coq([_coqc(), "-q", *cfg.extra_args, *(_lib() if private else ()), f"{stem}.v"], d, cfg)
    if code != 0:
        return f"Print Assumptions failed: {_why(code, out, cfg)}"
    try:
        blocks = parse_assumptions(out)
    except AssumptionReportError as exc:
        return f"rejected: {exc}"
    if len(blocks) != len(names):
        return f"could not read Print Assumptions output: {_tail(out)}"
    return blocks


def _verdict(per: dict[str, tuple[str, ...]], cfg: CheckConfig, start: float, scope: str, stages: dict[str, float],
             inherited: str = "") -> CheckResult:
    everything = sorted({a for b in per.values() for a in b})
    context = [a for a in everything if is_context_assumption(a, cfg.context_prefixes)]
    axioms = tuple(a for a in everything if a not in context)
    disallowed = tuple(a for a in axioms if a not in cfg.allowed_axioms)
    seconds = time.monotonic() - start
    if disallowed:
        return CheckResult(False, f"uses axioms outside the allow-list: {', '.join(disallowed)}", axioms, disallowed, seconds, per, scope, stages)
    what = "accepted by coqc" + (" and coqchk" if cfg.recheck else "")
    if scope == "soundness":
        what += " (soundness only: no problem given, the statement was not compared)"
    given = f"; {len(context)} assumptions of its functor or module type context" if context else ""
    return CheckResult(True, f"{what}; axioms: " + (", ".join(axioms) or "none") + inherited + given, axioms, (), seconds, per, scope, stages)


def is_context_assumption(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether an entry of the assumption report is a parameter the theorem's context gives it.

    ``prefixes`` name the enclosing functors' parameters and module types (``P.F.X.``, ``P.T.``),
    whose fields the check declares as assumptions (:func:`provers.coq.library.check_library_proof`).
    Nothing the checked file adds after the prefix counts: the twin statement (``Admitted``), the
    checked theorem and its checking definition never do, wherever they stand.
    """
    if not prefixes:
        return False
    last = name.rsplit(".", 1)[-1]
    if last == TARGET_CONSTANT or last.startswith(PROBLEM_CONSTANT):
        return False
    return any(name.startswith(p) and len(name) > len(p) for p in prefixes)


def _lib() -> list[str]:
    return ["-R", ".", _CHECK_LIBRARY]


def _coq(cmd: list[str], cwd: Path, cfg: CheckConfig) -> tuple[int | None, str]:
    limits = Limits(memory_mb=cfg.memory_mb, cpu_s=int(cfg.timeout_s) + 5, file_mb=1024)
    return run_confined(cmd, str(cwd), cfg.timeout_s, limits)


def _why(code: int | None, out: str, cfg: CheckConfig) -> str:
    if code is None:
        return f"timed out after {cfg.timeout_s:g}s"
    return _tail(out)


def _tail(out: str, n: int = 600) -> str:
    out = "\n".join(line for line in out.strip().splitlines() if not line.startswith("Chars "))
    return out if len(out) <= n else "..." + out[-n:]


# ---------------------------------------------------------------------------------- sentence boundaries

_TIME_LINE = re.compile(r"^Chars (\d+) - (\d+) \[", re.MULTILINE)


def _boundary_mismatch(text: str, coqc_time_output: str) -> str | None:
    """None if the sentences ``coqc -time`` ran are exactly nesy's split of ``text``, else why not."""
    coq = {(int(a), int(b)) for a, b in _TIME_LINE.findall(coqc_time_output)}
    data = text.encode("utf-8")
    ours = set()
    for s in split_sentences(text):
        a = len(text[: s.start].encode("utf-8"))
        b = a + len(s.text.encode("utf-8"))
        ours.add((a, b))
    if coq == ours:
        return None
    extra = sorted(coq - ours)
    missing = sorted(ours - coq)
    if extra:
        a, b = extra[0]
        return f"Coq ran a sentence nesy did not split out: {data[a:b].decode('utf-8', 'replace')[:80]!r}"
    a, b = missing[0]
    return f"nesy's sentence {data[a:b].decode('utf-8', 'replace')[:80]!r} was not run by Coq as one sentence"


# ---------------------------------------------------------------------------------- coqchk


def _coqchk(d: Path, cfg: CheckConfig, library_axioms_allowed: frozenset[str] | None = None) -> str | None:
    """None if coqchk accepts the compiled file and reports nothing unsafe, else the reason.

    With ``library_axioms_allowed`` given, axioms declared in the checked file itself must be
    among them (whole-file checks pass an empty set); otherwise they are not looked at (the
    assumption report of the checked proof decides).
    """
    args = _load_path_args(cfg.extra_args)
    code, out = _coq([coq_tool("coqchk"), "-silent", "-o", *args, *_lib(), "-norec", f"{_CHECK_LIBRARY}.P"], d, cfg)
    if code != 0:
        return f"coqchk rejected the compiled proof: {_why(code, out, cfg)}"
    try:
        summary = parse_coqchk_summary(out)
    except AssumptionReportError as exc:
        return f"rejected: {exc}"
    for key, what in (("type-in-type", "relies on type-in-type"), ("unsafe fixpoints", "relies on unsafe (co)fixpoints"), ("assumed positivity", "has assumed positivity")):
        if summary[key]:
            return f"coqchk: {', '.join(summary[key][:5])} {what}"
    if not summary["predicative Set"]:
        return "coqchk: the theory has an impredicative Set"
    if library_axioms_allowed is not None:
        own = [a for a in summary["axioms"] if a.startswith(f"{_CHECK_LIBRARY}.P.") and a not in library_axioms_allowed]
        if own:
            return f"coqchk: the file declares axioms: {', '.join(a.removeprefix(_CHECK_LIBRARY + '.') for a in own[:5])}"
    return None


def _load_path_args(extra: tuple[str, ...]) -> list[str]:
    out, i = [], 0
    while i < len(extra):
        if extra[i] in ("-R", "-Q") and i + 2 < len(extra):
            out += list(extra[i : i + 3])
            i += 3
        elif extra[i] == "-I" and i + 1 < len(extra):
            out += list(extra[i : i + 2])
            i += 2
        else:
            i += 1
    return out


_CHK_SECTIONS = {
    "* Axioms:": "axioms",
    "* Constants/Inductives relying on type-in-type:": "type-in-type",
    "* Constants/Inductives relying on unsafe (co)fixpoints:": "unsafe fixpoints",
    "* Inductives whose positivity is assumed:": "assumed positivity",
}


def parse_coqchk_summary(output: str) -> dict:
    """The CONTEXT SUMMARY of ``coqchk -o``, read fail-closed (an unknown line raises)."""
    lines = output.splitlines()
    try:
        i = lines.index("CONTEXT SUMMARY")
    except ValueError:
        raise AssumptionReportError(f"coqchk printed no context summary: {_tail(output, 300)}") from None
    result: dict = {"predicative Set": False, **{v: [] for v in _CHK_SECTIONS.values()}}
    seen: set[str] = set()
    section = None
    for line in lines[i + 1 :]:
        stripped = line.strip()
        if not stripped or set(stripped) == {"="}:
            continue
        if stripped.startswith("* Theory:"):
            result["predicative Set"] = stripped == "* Theory: Set is predicative"
            section = None
            continue
        head = next((h for h in _CHK_SECTIONS if stripped.startswith(h)), None)
        if head:
            section = _CHK_SECTIONS[head]
            seen.add(section)
            rest = stripped[len(head) :].strip()
            if rest not in ("", "<none>"):
                raise AssumptionReportError(f"unrecognised coqchk summary line: {line!r}")
            continue
        if section and line.startswith("    ") and re.fullmatch(r"[A-Za-z_][\w'.]*", stripped):
            result[section].append(stripped)
            continue
        raise AssumptionReportError(f"unrecognised coqchk summary line: {line!r}")
    if seen != set(_CHK_SECTIONS.values()):
        raise AssumptionReportError(f"coqchk summary lacks {sorted(set(_CHK_SECTIONS.values()) - seen)}")
    return result


# ---------------------------------------------------------------------------------- whole files


def check_file(
    path: str | Path,
    *,
    problem: str | Path | None = None,
    config: CheckConfig | None = None,
    timeout_s: float | None = None,
    allowed_axioms: frozenset[str] | None = None,
    extra_args: tuple[str, ...] | None = None,
) -> CheckResult:
    """Check a proof file.

    With ``problem`` (a problem ``.v`` file): the proof file must be the problem file with only
    the proof changed — the same header and statement sentence by sentence (comments and
    spacing aside), optionally followed by nesy's own ``Require`` prelude after the header —
    and the proof is then checked by :func:`check_proof`, so its scope is the problem's
    statement. Without: the whole file is checked for soundness only (see module doc).
    Raises :class:`TheoremFileError` for an unreadable file.
    """
    cfg = _config(config, timeout_s, allowed_axioms, extra_args)
    p = Path(path)
    text = read_source(p)
    if problem is not None:
        q = Path(problem)
        target = theorem_from_text(read_source(q), str(q))
        parsed = _proof_of_problem(text, str(p), target)
        if isinstance(parsed, str):
            return CheckResult(False, parsed)
        theorem, body = parsed
        return check_proof(theorem, body, config=cfg)
    return _check_whole_file(text, str(p), cfg)


_PRELUDE_RE = re.compile(r"(?:From\s+[\w.]+\s+)?Require\s+(?:(?:Import|Export)\s+)?[\w.]+(?:\s+[\w.]+)*\s*\.")


def _norm(sentence: str) -> str:
    return " ".join(strip_comments(sentence).split())


def _proof_of_problem(text: str, path: str, target: Theorem) -> tuple[Theorem, list[str]] | str:
    """(theorem with its prelude, proof sentences) of a proof file for ``target``, or why it is not one."""
    try:
        sentences = [s.text for s in split_sentences(text)]
        header = [s.text for s in split_sentences(target.header)]
    except SentenceError as exc:
        return f"{path}: {exc}"
    got = [_norm(s) for s in sentences]
    want = [_norm(s) for s in header]
    if got[: len(want)] != want:
        i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        shown = sentences[i][:80] if i < len(sentences) else "<end of file>"
        return f"{path}: the header differs from the problem's at sentence {i + 1}: {shown!r}"
    i = len(want)
    prelude: list[str] = []
    statement = _norm(target.statement)
    while i < len(got) and got[i] != statement:
        if not _PRELUDE_RE.fullmatch(got[i]):
            return f"{path}: between the header and the statement only Require lines may be added, found {sentences[i][:80]!r}"
        prelude.append(got[i])
        i += 1
    if i == len(got):
        return f"{path}: the problem's statement of {target.name} is not in the proof file (statements must match exactly)"
    i += 1
    if i < len(got) and got[i] == "Proof.":
        i += 1
    if not got or got[-1] not in ("Qed.", "Defined."):
        return f"{path}: the proof must end with Qed. (found {sentences[-1][:40]!r})"
    body = got[i:-1]
    if any(s in ("Qed.", "Defined.") for s in body):
        return f"{path}: nothing may follow the proof of {target.name}"
    clean: list[str] = []
    for s in body:
        verdict = check_tactic(s)
        if verdict.refused or verdict.gives_up:
            return f"{path}: proof sentence not allowed: {verdict.refused or 'gives up'}: {s[:80]!r}"
        clean.extend(verdict.sentences)
    return replace(target, prelude="\n".join(prelude)), clean


_GLOB_KINDS = {"def", "prf", "ax", "inst", "ex", "scheme", "proj", "meth", "coe", "canonstruc", "rec", "corec"}


def _check_whole_file(text: str, path: str, cfg: CheckConfig) -> CheckResult:
    start = time.monotonic()
    stages: dict[str, float] = {}
    sentences, decls = declarations(text, path)
    if not decls:
        raise TheoremFileError(f"{path}: no Theorem/Lemma declaration to check")
    refusal = _system_command(text)
    if refusal:
        return CheckResult(False, refusal, scope="soundness")

    def fail(message: str) -> CheckResult:
        return CheckResult(False, message, seconds=time.monotonic() - start, scope="soundness", stages=stages)

    tmp = private_tempdir("check")
    try:
        d = Path(tmp)
        (d / "P.v").write_text(text, encoding="utf-8")
        t0 = time.monotonic()
        code, out = _coq([_coqc(), "-q", *cfg.extra_args, *_lib(), "P.v"], d, cfg)
        stages["coqc"] = time.monotonic() - t0
        if code != 0:
            return fail(f"coqc rejected the file: {_why(code, out, cfg)}")
        names = _glob_constants((d / "P.glob").read_text(encoding="utf-8", errors="replace") if (d / "P.glob").exists() else "")
        t0 = time.monotonic()
        located = _locate_constants(d, names, cfg)
        if isinstance(located, str):
            return fail(located)
        blocks = _print_assumptions(d, located, cfg)
        stages["assumptions"] = time.monotonic() - t0
        if isinstance(blocks, str):
            return fail(blocks)
        result = _verdict(dict(zip(located, blocks)), cfg, start, "soundness", stages)
        if not result.ok:
            return result
        if cfg.recheck:
            t0 = time.monotonic()
            verdict = _coqchk(d, cfg, library_axioms_allowed=frozenset())
            stages["coqchk"] = time.monotonic() - t0
            if verdict:
                return fail(verdict)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Declarations that add assumptions are refused even where no constant uses them (inside a
    # functor, say, where neither coqchk nor Print Assumptions sees them until it is applied).
    bad = sorted({c[0] for c in (_command_words(s)[1] for s in sentences) if c and c[0] in _FORBIDDEN_DECLS})
    if bad:
        return fail(f"file declares {', '.join(bad)}")
    return replace(result, seconds=time.monotonic() - start, stages=stages)


def _glob_constants(glob: str) -> list[str]:
    """Qualified names (relative to the file) of the constants a ``.glob`` file says it defines."""
    out: list[str] = []
    for line in glob.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in _GLOB_KINDS and re.fullmatch(r"\d+:\d+", parts[1]):
            secpath, name = parts[2], parts[3]
            qualified = name if secpath == "<>" else f"{secpath}.{name}"
            if qualified not in out:
                out.append(qualified)
    return out


def _locate_constants(d: Path, names: list[str], cfg: CheckConfig) -> list[str] | str:
    """The names that denote constants (members of functors and module types do not)."""
    if not names:
        return []
    queries = "\n".join(f"Locate Term {_CHECK_LIBRARY}.P.{n}." for n in names)
    (d / "L.v").write_text(f"Require {_CHECK_LIBRARY}.P.\n{queries}\n", encoding="utf-8")
    code, out = _coq([_coqc(), "-q", *cfg.extra_args, *_lib(), "L.v"], d, cfg)
    if code != 0:
        return f"could not enumerate the file's constants: {_why(code, out, cfg)}"
    found = set(re.findall(rf"^Constant {_CHECK_LIBRARY}\.P\.([\w'.]+)", out, re.MULTILINE))
    return [n for n in names if n in found]


def _command_words(sentence: str) -> tuple[list[str], list[str]]:
    """(control prefixes, the command's first three words) of a vernacular sentence.

    ``Time Timeout 5 #[local] Admitted.`` gives ``(["Time", "Timeout"], ["Admitted"])``: a check
    that looked only at the first word would miss the command behind its prefixes.
    """
    try:
        body = strip_comments(sentence)
    except SentenceError:
        return [], []
    prefixes: list[str] = []
    rest = body
    while True:
        rest = rest.lstrip()
        if rest.startswith("#["):
            depth, j = 0, 0
            for j, ch in enumerate(rest):
                depth += ch == "["
                depth -= ch == "]"
                if depth == 0 and ch == "]":
                    break
            rest = rest[j + 1 :]
            continue
        m = re.match(r"([A-Za-z_][\w']*)", rest)
        if not m:
            return prefixes, []
        word = m.group(1)
        if word == "Timeout" or word in _PREFIX_WORDS:
            prefixes.append(word)
            rest = rest[m.end() :]
            if word == "Timeout":
                rest = re.sub(r"^\s*\d+", "", rest)
            continue
        return prefixes, re.findall(r"[A-Za-z_][\w']*", rest)[:3]


def _system_command(text: str) -> str | None:
    """A refusal message if ``text`` holds a command that touches the system, else None."""
    if not text.strip():
        return None
    try:
        sentences = split_sentences(text, allow_trailing=True)
    except SentenceError as exc:
        return f"cannot read the file: {exc}"
    for s in sentences:
        prefixes, command = _command_words(s.text)
        joined = " ".join(command)
        for name, why in _SYSTEM_COMMANDS.items():
            hit = joined == name or joined.startswith(name + " ")
            if name == "Extraction":
                hit = "Extraction" in command[:2] or ("Recursive" in prefixes or "Separate" in prefixes) and command[:1] == ["Extraction"]
            if hit:
                return f"refused: {name!r} {why}; a checked file may not use it: {strip_comments(s.text)[:80]!r}"
    return None


# ---------------------------------------------------------------------------------- Print Assumptions

_ENTRY = re.compile(r"([A-Za-z_][\w'.]*)(?: :(?: .*)?)?")
_HEADERS = ("Section Variables:", "Axioms:")
_UNSAFE = (
    (re.compile(r"^(\S+) is assumed to be guarded\.$"), "is assumed to be guarded (guard checking was turned off)"),
    (re.compile(r"^(\S+) is assumed to be positive\.$"), "is assumed to be positive (positivity checking was turned off)"),
    (re.compile(r"^(\S+) relies on an unsafe hierarchy\.$"), "relies on an unsafe universe hierarchy (universe checking was turned off)"),
)


def parse_assumptions(output: str) -> list[tuple[str, ...]]:
    """Assumptions of each ``Print Assumptions`` block of ``output``, in order; fail-closed.

    A block is ``Closed under the global context`` or a run of sections in Coq's order
    (``Section Variables:``, then ``Axioms:``); a header not after the previous one starts a new
    block. Entries start at column 0 (``name : type``, or ``name`` with its type on indented
    lines). Section variables are returned as ``Section variable x`` so that no allow-list
    admits them. Any other line raises :class:`AssumptionReportError` naming it: the reports of
    unsafe definitions (guard, positivity, universes) and anything unknown.
    """
    blocks: list[list[str]] = []
    last = len(_HEADERS)
    section: str | None = None
    entry_open = False
    for line in output.splitlines():
        if not line.strip():
            continue
        if line.startswith("Closed under the global context"):
            if line.strip() != "Closed under the global context":
                raise AssumptionReportError(f"unrecognised line in Coq's assumption report: {line[:120]!r}")
            blocks.append([])
            last, section, entry_open = len(_HEADERS), None, False
            continue
        if line in _HEADERS:
            idx = _HEADERS.index(line)
            if idx <= last or not blocks:
                blocks.append([])
            last, section, entry_open = idx, line, False
            continue
        if line[0].isspace():
            if not entry_open:
                raise AssumptionReportError(f"unrecognised line in Coq's assumption report: {line[:120]!r}")
            continue
        for pattern, why in _UNSAFE:
            m = pattern.match(line)
            if m:
                raise AssumptionReportError(f"{m.group(1)} {why}")
        m = _ENTRY.fullmatch(line)
        if section is None or m is None:
            raise AssumptionReportError(f"unrecognised line in Coq's assumption report: {line[:120]!r}")
        name = m.group(1)
        blocks[-1].append(name if section == "Axioms:" else f"Section variable {name}")
        entry_open = True
    return [tuple(b) for b in blocks]

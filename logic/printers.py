"""One printer per text backend: Prover9 input and TPTP FOF (for E).

Both printers rename symbols through a ``Naming`` built from the signature of *all* formulas of
a problem, so that a name used with two arities or kinds (FOLIO has ``Pred(x)`` beside
``Pred(x, y)``) gets distinct backend names, and so that each backend's lexical rules hold:

* Prover9 treats a free name starting with ``u``-``z`` as a variable, so such constants get a
  ``c_`` prefix; everything is fully parenthesised (Prover9's quantifier scope differs from
  NLTK's).
* TPTP needs lower-case functors and upper-case variables: predicates become ``p_<name>``,
  functions ``f_<name>``, constants ``c_<name>`` and variables ``V<name>``.

The nesy syntax itself is ``str(formula)`` (see ``logic.syntax``); Z3 terms are built in
``logic.solvers.z3_backend``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from logic.syntax import (
    And,
    Const,
    Eq,
    Exists,
    Forall,
    Formula,
    Iff,
    Implies,
    Not,
    Or,
    Pred,
    Symbol,
    Term,
    Var,
    Xor,
    signature,
)


@dataclass(frozen=True)
class Naming:
    """Backend names for the symbols of one problem: ``names[(kind, name, arity)] -> str``."""

    names: dict[tuple[str, str, int], str]

    def get(self, kind: str, name: str, arity: int) -> str:
        return self.names[(kind, name, arity)]


def _naming(formulas: Iterable[Formula], rename) -> Naming:
    symbols: set[Symbol] = signature(formulas)
    uses = Counter(s.name for s in symbols)
    names: dict[tuple[str, str, int], str] = {}
    for s in sorted(symbols, key=lambda s: (s.name, s.kind, s.arity)):
        base = s.name if uses[s.name] == 1 else f"{s.name}_{s.kind[0]}{s.arity}"
        names[(s.kind, s.name, s.arity)] = rename(s.kind, base, s.arity)
    return Naming(names)


# ------------------------------------------------------------------------------------- Prover9

_PROVER9_RESERVED = {"all", "exists", "end_of_list", "formulas", "assumptions", "goals"}


def _prover9_rename(kind: str, name: str, arity: int = 1) -> str:
    if kind == "const" and (name[0] in "uvwxyz" or name in _PROVER9_RESERVED):
        return "c_" + name
    if kind == "pred" and arity == 0 and name[0] in "uvwxyz":
        return "p_" + name  # a propositional letter x would be read as a variable
    if name in _PROVER9_RESERVED:
        return "s_" + name
    return name


def prover9_naming(formulas: Iterable[Formula]) -> Naming:
    return _naming(formulas, _prover9_rename)


def _prover9_var(name: str) -> str:
    return name if name not in _PROVER9_RESERVED else "v_" + name


def to_prover9(formula: Formula, naming: Naming) -> str:
    """Print ``formula`` as a Prover9 formula (without the final period)."""

    def term(t: Term) -> str:
        if isinstance(t, Var):
            return _prover9_var(t.name)
        if isinstance(t, Const):
            return naming.get("const", t.name, 0)
        return f"{naming.get('func', t.name, len(t.args))}({', '.join(term(a) for a in t.args)})"

    def go(f: Formula) -> str:
        if isinstance(f, Pred):
            name = naming.get("pred", f.name, len(f.args))
            return f"{name}({', '.join(term(a) for a in f.args)})" if f.args else name
        if isinstance(f, Eq):
            return f"({term(f.left)} = {term(f.right)})"
        if isinstance(f, Not):
            return f"-({go(f.arg)})"
        if isinstance(f, And):
            return f"({go(f.left)} & {go(f.right)})"
        if isinstance(f, Or):
            return f"({go(f.left)} | {go(f.right)})"
        if isinstance(f, Implies):
            return f"({go(f.left)} -> {go(f.right)})"
        if isinstance(f, Iff):
            return f"({go(f.left)} <-> {go(f.right)})"
        if isinstance(f, Xor):
            return f"-({go(f.left)} <-> {go(f.right)})"
        if isinstance(f, Forall):
            return f"(all {_prover9_var(f.var.name)} {go(f.body)})"
        if isinstance(f, Exists):
            return f"(exists {_prover9_var(f.var.name)} {go(f.body)})"
        raise TypeError(f"not a formula: {f!r}")

    return go(formula)


def prover9_input(assumptions: Sequence[Formula], goals: Sequence[Formula], *, max_seconds: int) -> str:
    """A complete Prover9 input file. ``max_seconds`` is Prover9's own limit (>= 1 s); the
    caller also enforces a wall-clock limit from outside."""
    naming = prover9_naming([*assumptions, *goals])
    lines = [
        "set(quiet).",
        "clear(print_initial_clauses).",
        "clear(print_kept).",
        "clear(print_given).",
        f"assign(max_seconds, {max(1, int(max_seconds))}).",
        # No weight or sos limits: clauses dropped by a limit would make "sos empty" claim a
        # saturation that did not happen (and so a wrong UNKNOWN / SAT).
        "assign(max_weight, 2147483647).",
        "assign(sos_limit, -1).",
        "",
        "formulas(assumptions).",
        *(f"{to_prover9(f, naming)}." for f in assumptions),
        "end_of_list.",
        "",
        "formulas(goals).",
        *(f"{to_prover9(f, naming)}." for f in goals),
        "end_of_list.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- TPTP


def _tptp_rename(kind: str, name: str, arity: int = 1) -> str:
    return {"pred": "p_", "func": "f_", "const": "c_"}[kind] + name


def tptp_naming(formulas: Iterable[Formula]) -> Naming:
    return _naming(formulas, _tptp_rename)


def to_tptp(formula: Formula, naming: Naming) -> str:
    """Print ``formula`` as a TPTP FOF formula body."""

    def term(t: Term) -> str:
        if isinstance(t, Var):
            return "V" + t.name
        if isinstance(t, Const):
            return naming.get("const", t.name, 0)
        return f"{naming.get('func', t.name, len(t.args))}({','.join(term(a) for a in t.args)})"

    def go(f: Formula) -> str:
        if isinstance(f, Pred):
            name = naming.get("pred", f.name, len(f.args))
            return f"{name}({','.join(term(a) for a in f.args)})" if f.args else name
        if isinstance(f, Eq):
            return f"({term(f.left)} = {term(f.right)})"
        if isinstance(f, Not):
            return f"~({go(f.arg)})"
        if isinstance(f, And):
            return f"({go(f.left)} & {go(f.right)})"
        if isinstance(f, Or):
            return f"({go(f.left)} | {go(f.right)})"
        if isinstance(f, Implies):
            return f"({go(f.left)} => {go(f.right)})"
        if isinstance(f, Iff):
            return f"({go(f.left)} <=> {go(f.right)})"
        if isinstance(f, Xor):
            return f"({go(f.left)} <~> {go(f.right)})"
        if isinstance(f, Forall):
            return f"(! [V{f.var.name}] : {go(f.body)})"
        if isinstance(f, Exists):
            return f"(? [V{f.var.name}] : {go(f.body)})"
        raise TypeError(f"not a formula: {f!r}")

    return go(formula)


def tptp_problem(axioms: Sequence[Formula], conjecture: Formula | None) -> str:
    """A TPTP FOF problem; without a conjecture it asks whether the axioms are satisfiable."""
    naming = tptp_naming([*axioms, *([conjecture] if conjecture is not None else [])])
    lines = [f"fof(a{i}, axiom, {to_tptp(f, naming)})." for i, f in enumerate(axioms)]
    if conjecture is not None:
        lines.append(f"fof(goal, conjecture, {to_tptp(conjecture, naming)}).")
    return "\n".join(lines) + "\n"

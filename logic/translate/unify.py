"""Story-level agreement of symbol names for a translator that works sentence by sentence.

A sentence-level translator may spell one concept differently in two sentences of a story
(``Dog``/``Dogs``, ``vic_dicara``/``vicdicara``, ``Perform``/``perform``), and the prover then
sees two unrelated symbols. ``unify_names`` maps every predicate, function and constant name of a
story's formulas to a key -- lower case, ``_`` removed, a final ``es``/``s`` dropped for
predicates and functions -- and, for symbols of the same kind and arity with the same key, uses
the spelling that occurs most often (ties: the first in the story). Nothing else is changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from logic.syntax import (
    BINARY,
    QUANTIFIERS,
    Const,
    Eq,
    Formula,
    Func,
    Not,
    Pred,
    Term,
    Var,
    symbol_occurrences,
)


def name_key(kind: str, name: str) -> str:
    key = name.lower().replace("_", "")
    if kind != "const":
        for suffix in ("es", "s"):
            if key.endswith(suffix) and len(key) > len(suffix) + 2:
                return key[: -len(suffix)]
    return key


def _occurrences(formulas: Sequence[Formula]) -> list[tuple[str, str, int]]:
    return [(sym.kind, sym.name, sym.arity) for sym in symbol_occurrences(formulas)]


def rename(formula: Formula, names: dict[tuple[str, str, int], str]) -> Formula:
    """``formula`` with each symbol (kind, name, arity) in ``names`` renamed (depth bounded by
    ``logic.syntax.MAX_DEPTH``, so the recursion is too)."""

    def term(t: Term) -> Term:
        if isinstance(t, Var):
            return t
        if isinstance(t, Const):
            return Const(names.get(("const", t.name, 0), t.name))
        args = tuple(term(a) for a in t.args)
        return Func(names.get(("func", t.name, len(args)), t.name), args)

    def go(f: Formula) -> Formula:
        if isinstance(f, Pred):
            return Pred(names.get(("pred", f.name, len(f.args)), f.name), tuple(term(a) for a in f.args))
        if isinstance(f, Eq):
            return Eq(term(f.left), term(f.right))
        if isinstance(f, Not):
            return Not(go(f.arg))
        if isinstance(f, BINARY):
            return type(f)(go(f.left), go(f.right))
        if isinstance(f, QUANTIFIERS):
            return type(f)(f.var, go(f.body))
        raise TypeError(f"not a formula: {f!r}")

    return go(formula)


def unify_names(formulas: Sequence[Formula]) -> list[Formula]:
    """The story's formulas with same-key symbols spelled one way (see the module doc)."""
    counts = Counter(_occurrences(formulas))
    first: dict[tuple[str, str, int], int] = {}
    for i, sym in enumerate(_occurrences(formulas)):
        first.setdefault(sym, i)
    groups: dict[tuple[str, str, int], list[tuple[str, str, int]]] = {}
    for sym in counts:
        kind, name, arity = sym
        groups.setdefault((kind, name_key(kind, name), arity), []).append(sym)
    names: dict[tuple[str, str, int], str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        best = min(members, key=lambda s: (-counts[s], first[s]))
        for sym in members:
            if sym != best:
                names[sym] = best[1]
    if not names:
        return list(formulas)
    return [rename(f, names) for f in formulas]

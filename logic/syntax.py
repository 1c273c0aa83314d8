"""First-order logic as syntax trees (frozen dataclasses).

Terms: ``Var``, ``Const``, ``Func``. Formulas: ``Pred``, ``Eq``, ``Not``, ``And``, ``Or``,
``Implies``, ``Iff``, ``Xor``, ``Forall``, ``Exists``. Connectives are binary; ``conj``/``disj``
build left-nested chains from any number of operands.

``str(formula)`` prints nesy's own syntax, the NLTK/Prover9 style that LINC uses::

    all x.(Dog(x) -> Barks(x))      exists x.(Cat(x) & -Black(x))     (a = b)    (P(a) <~> Q(a))

Every binary connective is printed in parentheses, so ``logic.parsing.parse(str(f)) == f`` for
every *closed* formula (no free variables). The parser decides Var vs Const by binding: a name
bound by an enclosing quantifier is a ``Var``, any other name in term position is a ``Const``;
so an open formula ``P(x)`` prints fine but parses back with ``x`` as a constant.

Backend printers live next to their backends (``logic.printers``: Prover9, TPTP; Z3 terms are
built in ``logic.solvers.z3_backend``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Union

from logic.errors import FormulaTooDeepError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: The deepest syntax tree that can be built: a term or formula nested more than ``MAX_DEPTH``
#: levels (counting every connective, quantifier, negation, atom and term application on the
#: longest path) raises ``FormulaTooDeepError`` when it is constructed. Every recursive walk in
#: ``logic/`` (printing, hashing, equality, the backends' printers, Z3 term building) therefore
#: stays far below Python's recursion limit. Associative chains (``conj``/``disj`` and the
#: parser's ``&``/``|``/xor/``<->`` chains) longer than ``CHAIN_BALANCE`` operands are built as
#: balanced trees, so a flat chain of 10,000 conjuncts is only 15 levels deep.
MAX_DEPTH = 100
CHAIN_BALANCE = 16

DEPTH = field(default=0, init=False, compare=False, repr=False, hash=False)


def _set_depth(node: object, *children: object) -> None:
    depth = 1 + max((getattr(c, "depth", 0) for c in children), default=0)
    if depth > MAX_DEPTH:
        raise FormulaTooDeepError(depth, MAX_DEPTH)
    object.__setattr__(node, "depth", depth)


def _check_name(name: object, what: str) -> None:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValueError(f"{what} name must match [A-Za-z_][A-Za-z0-9_]*, got {name!r}")


# ----------------------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Var:
    """A variable; only meaningful under a quantifier binding the same name."""

    name: str
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _check_name(self.name, "variable")
        object.__setattr__(self, "depth", 1)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """An individual constant (``bob``, ``Bob``, ``the_bear``)."""

    name: str
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _check_name(self.name, "constant")
        object.__setattr__(self, "depth", 1)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Func:
    """A function application ``f(t1, ..., tn)`` with n >= 1."""

    name: str
    args: tuple[Term, ...]
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _check_name(self.name, "function")
        if not self.args:
            raise ValueError(f"function {self.name!r} needs at least one argument (use Const)")
        _set_depth(self, *self.args)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


Term = Union[Var, Const, Func]


# -------------------------------------------------------------------------------------- formulas


@dataclass(frozen=True)
class Pred:
    """An atom ``P(t1, ..., tn)``; n = 0 is a propositional letter printed as ``P``."""

    name: str
    args: tuple[Term, ...] = ()
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _check_name(self.name, "predicate")
        _set_depth(self, *self.args)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})" if self.args else self.name


@dataclass(frozen=True)
class Eq:
    """Equality ``left = right`` (printed in parentheses)."""

    left: Term
    right: Term
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({self.left} = {self.right})"


@dataclass(frozen=True)
class Not:
    arg: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.arg)

    def __str__(self) -> str:
        return f"-{_operand(self.arg)}"


@dataclass(frozen=True)
class And:
    left: Formula
    right: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({_operand(self.left)} & {_operand(self.right)})"


@dataclass(frozen=True)
class Or:
    left: Formula
    right: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({_operand(self.left)} | {_operand(self.right)})"


@dataclass(frozen=True)
class Implies:
    left: Formula
    right: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({_operand(self.left)} -> {_operand(self.right)})"


@dataclass(frozen=True)
class Iff:
    left: Formula
    right: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({_operand(self.left)} <-> {_operand(self.right)})"


@dataclass(frozen=True)
class Xor:
    """Exclusive or (FOLIO's ``⊕``); printed ``<~>`` as in TPTP."""

    left: Formula
    right: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.left, self.right)

    def __str__(self) -> str:
        return f"({_operand(self.left)} <~> {_operand(self.right)})"


@dataclass(frozen=True)
class Forall:
    var: Var
    body: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.body)

    def __str__(self) -> str:
        return f"all {self.var}.{self.body}"


@dataclass(frozen=True)
class Exists:
    var: Var
    body: Formula
    depth: int = DEPTH

    def __post_init__(self) -> None:
        _set_depth(self, self.body)

    def __str__(self) -> str:
        return f"exists {self.var}.{self.body}"


Formula = Union[Pred, Eq, Not, And, Or, Implies, Iff, Xor, Forall, Exists]


def _operand(f: Formula) -> str:
    """A quantifier's scope extends as far right as possible, so a quantified operand of a
    connective (or of ``-``) is printed in parentheses to keep its scope."""
    return f"({f})" if isinstance(f, (Forall, Exists)) else str(f)
BINARY = (And, Or, Implies, Iff, Xor)
QUANTIFIERS = (Forall, Exists)


# ------------------------------------------------------------------------------------- builders


def chain(cls, parts: Iterable[Formula]) -> Formula:
    """``parts`` joined by the associative connective ``cls`` (``And``, ``Or``, ``Iff``, ``Xor``):
    left-nested up to ``CHAIN_BALANCE`` operands, a balanced binary tree beyond (same meaning,
    depth logarithmic in the length: 10,000 operands give 14 levels)."""
    items = list(parts)
    if not items:
        raise ValueError(f"a {cls.__name__} chain needs at least one formula")
    if len(items) <= CHAIN_BALANCE:
        out = items[0]
        for item in items[1:]:
            out = cls(out, item)
        return out

    def balanced(lo: int, hi: int) -> Formula:  # recursion depth log2(len)
        if hi - lo == 1:
            return items[lo]
        mid = (lo + hi) // 2
        return cls(balanced(lo, mid), balanced(mid, hi))

    return balanced(0, len(items))


def conj(parts: Iterable[Formula]) -> Formula:
    """Conjunction of one or more formulas (left-nested up to ``CHAIN_BALANCE``, see ``chain``)."""
    return chain(And, parts)


def disj(parts: Iterable[Formula]) -> Formula:
    """Disjunction of one or more formulas (left-nested up to ``CHAIN_BALANCE``, see ``chain``)."""
    return chain(Or, parts)


def forall(names: Iterable[str], body: Formula) -> Formula:
    """``all x.all y. body`` for the given variable names (outermost first)."""
    for name in reversed(list(names)):
        body = Forall(Var(name), body)
    return body


# ------------------------------------------------------------------------------------- analysis


def subformulas(formula: Formula) -> Iterator[Formula]:
    """Pre-order walk over ``formula`` and all its subformulas."""
    stack: list[Formula] = [formula]
    while stack:
        f = stack.pop()
        yield f
        if isinstance(f, Not):
            stack.append(f.arg)
        elif isinstance(f, BINARY):
            stack.extend((f.right, f.left))
        elif isinstance(f, QUANTIFIERS):
            stack.append(f.body)


def term_symbols(term: Term) -> Iterator[Term]:
    """Walk a term and its sub-terms."""
    yield term
    if isinstance(term, Func):
        for arg in term.args:
            yield from term_symbols(arg)


@dataclass(frozen=True)
class Symbol:
    """A non-logical symbol: kind is "pred", "func" or "const"; arity 0 for constants."""

    kind: str
    name: str
    arity: int


def symbol_occurrences(formulas: Iterable[Formula]) -> Iterator[Symbol]:
    """Every occurrence of a predicate, function or constant symbol, in order (with repeats)."""
    for formula in formulas:
        for f in subformulas(formula):
            terms: tuple[Term, ...] = ()
            if isinstance(f, Pred):
                yield Symbol("pred", f.name, len(f.args))
                terms = f.args
            elif isinstance(f, Eq):
                terms = (f.left, f.right)
            for t in terms:
                for s in term_symbols(t):
                    if isinstance(s, Func):
                        yield Symbol("func", s.name, len(s.args))
                    elif isinstance(s, Const):
                        yield Symbol("const", s.name, 0)


def signature(formulas: Iterable[Formula]) -> set[Symbol]:
    """Every predicate, function and constant symbol used, with its kind and arity."""
    return set(symbol_occurrences(formulas))


def free_variables(formula: Formula) -> set[str]:
    """Names of variables that occur free in ``formula``."""

    def term_vars(t: Term) -> set[str]:
        return {s.name for s in term_symbols(t) if isinstance(s, Var)}

    def go(f: Formula, bound: frozenset[str]) -> set[str]:
        if isinstance(f, Pred):
            return set().union(*(term_vars(a) for a in f.args)) - bound if f.args else set()
        if isinstance(f, Eq):
            return (term_vars(f.left) | term_vars(f.right)) - bound
        if isinstance(f, Not):
            return go(f.arg, bound)
        if isinstance(f, BINARY):
            return go(f.left, bound) | go(f.right, bound)
        return go(f.body, bound | {f.var.name})

    return go(formula, frozenset())

"""Render a CNF as a natural-language theory, with its FOL in nesy's syntax (``logic.syntax``).

Fragments (exactly the forms ``logic.translate.controlled`` reads back):

* ``rules`` -- a clause ``l1 | ... | lk`` becomes an implication whose conditions are the
  negations of the first k-1 literals and whose conclusion is the last literal:
  ``If Bob is not big and Anne is red then Bob is kind.``; a unit clause is a fact
  ``Bob is big.`` / ``Bob is not big.``
* ``disjunctive`` -- ``Bob is big or Bob is not red or Anne is kind.``
* ``relative`` -- each variable is an attribute of an arbitrary person:
  ``Every person who is big and is not red is kind.``; unit clause ``Every person is big.``
  ``forall x. phi(x)`` over a non-empty domain is consistent iff the propositional ``phi`` is
  satisfiable, so the label carries over. Needs ``n <= len(vocabulary.adjectives)``.

In ``rules``/``disjunctive`` a variable is an (entity, attribute) fact. Each formula draws its own
entities and attributes from the vocabulary (seeded per record): ``e = ceil(sqrt(n))`` entities
(fewer if the vocabulary has fewer names, more if it lacks attributes), ``ceil(n / e)``
attributes, and the variables are placed on distinct cells of that entity x attribute grid at
random. Entity ``Bob`` is the FOL constant ``Bob`` (as ``logic.translate.controlled`` names it);
attribute ``big`` the predicate ``big``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from synthesis.errors import ConfigError
from synthesis.nlsat.config import Fragment
from synthesis.nlsat.vocabulary import Vocabulary


@dataclass(frozen=True)
class Rendering:
    """A theory: ``sentences[i]`` and ``fol[i]`` render clause ``i``.

    ``atoms[v - 1]`` is what variable ``v`` means: ``[entity, attribute]``, or ``[None, attribute]``
    in the relative fragment.
    """

    fragment: Fragment
    sentences: tuple[str, ...]
    fol: tuple[str, ...]
    atoms: tuple[tuple[str | None, str], ...]

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def check_capacity(n: int, fragment: Fragment, vocabulary: Vocabulary) -> None:
    """ConfigError if the vocabulary cannot name ``n`` distinct variables in ``fragment``."""
    if fragment is Fragment.RELATIVE:
        if n > len(vocabulary.adjectives):
            raise ConfigError(
                f"fragment 'relative' needs one attribute per variable: n = {n} > "
                f"{len(vocabulary.adjectives)} attributes in the vocabulary"
            )
    elif n > vocabulary.capacity:
        raise ConfigError(
            f"fragment {fragment.value!r} needs n = {n} distinct (entity, attribute) facts, but the "
            f"vocabulary has only {len(vocabulary.names)} names x {len(vocabulary.adjectives)} attributes"
        )


def assign_atoms(n: int, fragment: Fragment, vocabulary: Vocabulary, rng: np.random.Generator) -> list[tuple[str | None, str]]:
    """Meaning of each variable (see the module docstring for the scheme)."""
    check_capacity(n, fragment, vocabulary)
    adjectives = vocabulary.adjectives
    if fragment is Fragment.RELATIVE:
        return [(None, adjectives[i]) for i in rng.choice(len(adjectives), n, replace=False)]
    names = vocabulary.names
    e = min(len(names), math.ceil(math.sqrt(n)))
    a = math.ceil(n / e)
    if a > len(adjectives):
        a = len(adjectives)
        e = math.ceil(n / a)
    chosen_names = [names[i] for i in rng.choice(len(names), e, replace=False)]
    chosen_adjs = [adjectives[i] for i in rng.choice(len(adjectives), a, replace=False)]
    cells = rng.choice(e * a, n, replace=False)
    return [(chosen_names[c // a], chosen_adjs[c % a]) for c in cells]


@lru_cache(maxsize=65536)
def _atom_fol(entity: str | None, attribute: str) -> tuple[str, str]:
    """``str()`` of the atom and of its negation, printed by logic's printer (cached)."""
    from logic.syntax import Const, Not, Pred, Var

    atom = Pred(attribute, (Var("x") if entity is None else Const(entity),))
    return str(atom), str(Not(atom))


def _left_nested(parts: list[str], op: str) -> str:
    out = parts[0]
    for part in parts[1:]:
        out = f"({out} {op} {part})"
    return out


@lru_cache(maxsize=256)
def _templates(fragment: Fragment, length: int) -> tuple[str, str]:
    """``str.format`` templates (sentence, FOL) for a clause of ``length`` literals; the
    arguments are the ``length - 1`` conditions then the conclusion (or the ``length`` disjuncts)."""
    slots = ["{}"] * length
    if fragment is Fragment.DISJUNCTIVE:
        return " or ".join(slots) + ".", _left_nested(slots, "|")
    if length == 1:
        return ("{}.", "{}") if fragment is Fragment.RULES else ("Every person {}.", "all x.{}")
    cond = _left_nested(slots[:-1], "&")
    if fragment is Fragment.RULES:
        return "If " + " and ".join(slots[:-1]) + " then {}.", f"({cond} -> {{}})"
    return "Every person who " + " and ".join(slots[:-1]) + " {}.", f"all x.({cond} -> {{}})"


def render(clauses: Sequence[Sequence[int]], atoms: Sequence[tuple[str | None, str]], fragment: Fragment) -> Rendering:
    """Render ``clauses`` (DIMACS literals over ``1..len(atoms)``) in ``fragment``.

    The FOL strings are what ``str()`` of the corresponding ``logic.syntax`` tree prints (see
    :func:`fol_trees`): atoms and negated atoms are printed by logic's printer (cached), and the
    connectives are filled into per-shape templates in that printer's format (every binary
    connective in parentheses, conjunctions and disjunctions nested to the left), which is many
    times faster than building a tree per clause. ``tests/test_nlsat_core.py`` checks they agree.
    """
    n = len(atoms)
    width = 2 * n + 1
    # words[l + n] is the condition made of literal l (its complement), words[width + l + n] the
    # literal itself; same layout for the FOL strings.
    cond_nl, lit_nl = [""] * width, [""] * width
    cond_fol, lit_fol = [""] * width, [""] * width
    for v, (entity, attribute) in enumerate(atoms, 1):
        pos_f, neg_f = _atom_fol(entity, attribute)
        if entity is None:  # relative: "is big" / "is not big"
            pos_n, neg_n = f"is {attribute}", f"is not {attribute}"
        else:
            pos_n, neg_n = f"{entity} is {attribute}", f"{entity} is not {attribute}"
        cond_nl[n + v], cond_nl[n - v], lit_nl[n + v], lit_nl[n - v] = neg_n, pos_n, pos_n, neg_n
        cond_fol[n + v], cond_fol[n - v], lit_fol[n + v], lit_fol[n - v] = neg_f, pos_f, pos_f, neg_f
    words_nl, words_fol = cond_nl + lit_nl, cond_fol + lit_fol
    disjunctive = fragment is Fragment.DISJUNCTIVE
    sentences: list[str] = []
    formulas: list[str] = []
    off = width + n  # index of literal l itself: off + l; of its complement (a condition): n + l
    for clause in clauses:
        length = len(clause)
        if length == 3:  # fast path for the common case: no intermediate lists
            nl_t, fol_t = _templates(fragment, 3)
            a, b, c = clause
            if disjunctive:
                a, b = a + width, b + width
            sentences.append(nl_t.format(words_nl[n + a], words_nl[n + b], words_nl[off + c]))
            formulas.append(fol_t.format(words_fol[n + a], words_fol[n + b], words_fol[off + c]))
            continue
        if disjunctive:
            ids = [width + n + lit for lit in clause]
        else:
            ids = [n + lit for lit in clause]
            ids[-1] += width
        nl_t, fol_t = _templates(fragment, length)
        sentences.append(nl_t.format(*[words_nl[i] for i in ids]))
        formulas.append(fol_t.format(*[words_fol[i] for i in ids]))
    return Rendering(fragment, tuple(sentences), tuple(formulas), tuple((e, a) for e, a in atoms))


def fol_trees(clauses: Sequence[Sequence[int]], atoms: Sequence[tuple[str | None, str]], fragment: Fragment) -> list:
    """The ``logic.syntax`` trees of a rendering's FOL (``[str(t) for t in ...] == render(...).fol``)."""
    from logic.syntax import Const, Forall, Implies, Not, Pred, Var, conj, disj

    x = Var("x")
    pos = [Pred(a, (x if e is None else Const(e),)) for e, a in atoms]

    def lit(v: int):
        return pos[v - 1] if v > 0 else Not(pos[-v - 1])

    out = []
    for clause in clauses:
        *body, head = clause
        if fragment is Fragment.DISJUNCTIVE:
            out.append(disj(lit(v) for v in clause))
            continue
        f = Implies(conj(lit(-v) for v in body), lit(head)) if body else lit(head)
        out.append(Forall(x, f) if fragment is Fragment.RELATIVE else f)
    return out

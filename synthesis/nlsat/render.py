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


def render(clauses: Sequence[Sequence[int]], atoms: Sequence[tuple[str | None, str]], fragment: Fragment) -> Rendering:
    """Render ``clauses`` (DIMACS literals over ``1..len(atoms)``) in ``fragment``.

    The FOL strings are what ``str()`` of the corresponding ``logic.syntax`` tree prints (see
    :func:`fol_trees`): the atoms and negated atoms are printed once per formula by logic's printer
    and the connectives are joined in that printer's format (every binary connective in
    parentheses, conjunctions and disjunctions nested to the left), which is several times faster
    than building a tree per clause. ``tests/test_nlsat_core.py`` checks the two agree.
    """
    from logic.syntax import Const, Not, Pred, Var

    x = Var("x")
    pos_fol: list[str] = []
    neg_fol: list[str] = []
    pos_nl: list[str] = []
    neg_nl: list[str] = []
    for entity, attribute in atoms:
        atom = Pred(attribute, (x if entity is None else Const(entity),))
        pos_fol.append(str(atom))
        neg_fol.append(str(Not(atom)))
        if entity is None:  # relative: "is big" / "is not big"
            pos_nl.append(f"is {attribute}")
            neg_nl.append(f"is not {attribute}")
        else:
            pos_nl.append(f"{entity} is {attribute}")
            neg_nl.append(f"{entity} is not {attribute}")

    def left_nested(parts: list[str], op: str) -> str:
        out = parts[0]
        for part in parts[1:]:
            out = f"({out} {op} {part})"
        return out

    sentences: list[str] = []
    formulas: list[str] = []
    for clause in clauses:
        *body, head = clause
        # the condition of a rule is the complement of a body literal
        cond_nl = [neg_nl[lit - 1] if lit > 0 else pos_nl[-lit - 1] for lit in body]
        cond_fol = [neg_fol[lit - 1] if lit > 0 else pos_fol[-lit - 1] for lit in body]
        head_nl = pos_nl[head - 1] if head > 0 else neg_nl[-head - 1]
        head_fol = pos_fol[head - 1] if head > 0 else neg_fol[-head - 1]
        if fragment is Fragment.RULES:
            if body:
                sentences.append(f"If {' and '.join(cond_nl)} then {head_nl}.")
                formulas.append(f"({left_nested(cond_fol, '&')} -> {head_fol})")
            else:
                sentences.append(f"{head_nl}.")
                formulas.append(head_fol)
        elif fragment is Fragment.DISJUNCTIVE:
            lits_nl = [pos_nl[lit - 1] if lit > 0 else neg_nl[-lit - 1] for lit in clause]
            lits_fol = [pos_fol[lit - 1] if lit > 0 else neg_fol[-lit - 1] for lit in clause]
            sentences.append(f"{' or '.join(lits_nl)}.")
            formulas.append(left_nested(lits_fol, "|"))
        else:
            if body:
                sentences.append(f"Every person who {' and '.join(cond_nl)} {head_nl}.")
                formulas.append(f"all x.({left_nested(cond_fol, '&')} -> {head_fol})")
            else:
                sentences.append(f"Every person {head_nl}.")
                formulas.append(f"all x.{head_fol}")
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

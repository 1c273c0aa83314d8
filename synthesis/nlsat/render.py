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
    """Render ``clauses`` (DIMACS literals over ``1..len(atoms)``) in ``fragment``."""
    from logic.syntax import Const, Forall, Implies, Not, Pred, Var, conj, disj

    x = Var("x")
    pos: list = []
    for entity, attribute in atoms:
        term = x if entity is None else Const(entity)
        pos.append(Pred(attribute, (term,)))
    neg = [Not(p) for p in pos]

    def fol_lit(lit: int):
        return pos[lit - 1] if lit > 0 else neg[-lit - 1]

    def phrase(lit: int) -> str:  # rules / disjunctive
        entity, attribute = atoms[abs(lit) - 1]
        return f"{entity} is {attribute}" if lit > 0 else f"{entity} is not {attribute}"

    def predicate(lit: int) -> str:  # relative: "is big" / "is not big"
        attribute = atoms[abs(lit) - 1][1]
        return f"is {attribute}" if lit > 0 else f"is not {attribute}"

    sentences: list[str] = []
    formulas: list[str] = []
    for clause in clauses:
        *body, head = clause
        if fragment is Fragment.RULES:
            if body:
                sentences.append(f"If {' and '.join(phrase(-lit) for lit in body)} then {phrase(head)}.")
                formula = Implies(conj(fol_lit(-lit) for lit in body), fol_lit(head))
            else:
                sentences.append(f"{phrase(head)}.")
                formula = fol_lit(head)
        elif fragment is Fragment.DISJUNCTIVE:
            sentences.append(f"{' or '.join(phrase(lit) for lit in clause)}.")
            formula = disj(fol_lit(lit) for lit in clause)
        else:
            if body:
                sentences.append(f"Every person who {' and '.join(predicate(-lit) for lit in body)} {predicate(head)}.")
                formula = Forall(x, Implies(conj(fol_lit(-lit) for lit in body), fol_lit(head)))
            else:
                sentences.append(f"Every person {predicate(head)}.")
                formula = Forall(x, fol_lit(head))
        formulas.append(str(formula))
    return Rendering(fragment, tuple(sentences), tuple(formulas), tuple((e, a) for e, a in atoms))

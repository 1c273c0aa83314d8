"""Proof depth of an answer by forward chaining, for ProofWriter-style theories.

Logic-LM's ProofWriter files do not carry the per-question depth (``QDep``) of the original
data, so we recompute it: the depth of a fact is 0, the depth of a derived atom is
1 + the largest depth among the conditions of the rule that derives it, minimised over all
derivations (the height of the shallowest proof tree, ProofWriter's definition).

Works on the ``literal`` negation mode of the controlled translator (atoms and ``not_`` atoms,
rules ``[all x.] (c1 & ... & cn) -> (d1 & ... & dm)``); returns ``None`` for anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

from logic.syntax import And, Const, Forall, Formula, Implies, Pred, Term, Var, signature


def _atoms(f: Formula) -> list[Pred] | None:
    if isinstance(f, Pred):
        return [f]
    if isinstance(f, And):
        left, right = _atoms(f.left), _atoms(f.right)
        return None if left is None or right is None else left + right
    return None


def _ground(t: Term) -> bool:
    return isinstance(t, Const)


def _subst(atom: Pred, binding: dict[str, Const]) -> Pred:
    return Pred(atom.name, tuple(binding.get(a.name, a) if isinstance(a, Var) else a for a in atom.args))


def proof_depth(premises: Sequence[Formula], goals: Sequence[Pred]) -> int | None:
    """Smallest proof height of any of ``goals`` from ``premises``; None if none is derivable
    or the theory is outside the fragment."""
    facts: dict[Pred, int] = {}
    rules: list[tuple[list[str], list[Pred], list[Pred]]] = []
    for p in premises:
        variables: list[str] = []
        while isinstance(p, Forall):
            variables.append(p.var.name)
            p = p.body
        if isinstance(p, Pred) and not variables and all(_ground(a) for a in p.args):
            facts[p] = 0
            continue
        if isinstance(p, Implies):
            conds, concls = _atoms(p.left), _atoms(p.right)
            if conds is not None and concls is not None:
                rules.append((variables, conds, concls))
                continue
        return None
    constants = [Const(s.name) for s in signature(premises) if s.kind == "const"]
    changed = True
    while changed:
        changed = False
        for variables, conds, concls in rules:
            for values in product(constants, repeat=len(variables)):
                binding = dict(zip(variables, values))
                depths = [facts.get(_subst(c, binding)) for c in conds]
                if any(d is None for d in depths):
                    continue
                depth = 1 + max(depths)  # type: ignore[type-var]
                for concl in concls:
                    atom = _subst(concl, binding)
                    if atom not in facts or facts[atom] > depth:
                        facts[atom] = depth
                        changed = True
    found = [facts[g] for g in goals if g in facts]
    return min(found) if found else None

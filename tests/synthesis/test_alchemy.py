"""``nesy synth alchemy`` (synthesis.alchemy): lemma shapes and pruning, the Coq mutation syntax,
the batch kernel check, and whole runs on a tiny library traced here with nesy's own tracer.

The batch check and the runs need Coq (coqc, coqidetop); they are skipped without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthesis.alchemy.lemmas import shape_of, statement_type, symbols
from synthesis.alchemy.syntax import CoqSyntax, SyntaxError_

HAVE_COQ = shutil.which("coqidetop.opt") is not None or shutil.which("coqidetop") is not None
needs_coq = pytest.mark.skipif(not HAVE_COQ, reason="Coq is not installed")
ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------- shapes, pruning


def test_shape_of_rewrite_lemma_reads_sides_and_binders():
    s = shape_of(0, "Lemma add_0_r : forall n : nat, n + 0 = n.", "Coq.Arith.PeanoNat.Nat.add_0_r")
    assert s is not None and s.rewrites
    assert (s.lhs, s.rhs) == ("n + 0", "n")
    assert s.lhs_symbols == {"+"}  # n is bound, 0 is a numeral
    assert s.rhs_symbols == frozenset()  # a bare variable: right-to-left would match anything


def test_shape_of_included_member_and_antecedents():
    s = shape_of(3, "le_trans : forall n m p : nat, n <= m -> m <= p -> n <= p", "Coq.Arith.X.le_trans")
    assert s is not None and not s.rewrites
    assert s.antecedents == 2
    assert s.conclusion_symbols == {"<="}


def test_shape_of_iff_and_definition_body():
    s = shape_of(1, "Definition double_S : forall n, double (S n) = S (S (double n)) := fun n => add_succ_r (S n) n.", "M.double_S")
    assert s is not None and s.lhs == "double (S n)" and "add_succ_r" not in s.rhs
    s = shape_of(2, "Lemma succ_lt_mono n m : n < m <-> succ n < succ m.", "M.succ_lt_mono")
    assert s is not None and (s.lhs, s.rhs) == ("n < m", "succ n < succ m")
    assert s.rhs_symbols == {"<", "succ"}


def test_a_constant_side_is_never_rewritten_from():
    from types import SimpleNamespace

    import numpy as np

    from synthesis.alchemy.lemmas import LemmaTable

    corpus = SimpleNamespace(premises=[SimpleNamespace(code="Lemma even_1 : Nat.even 1 = false.", full_name="M.even_1", kind="Lemma")])
    table = LemmaTable(corpus)
    found, _ = table.candidates("f x = false /\\ Nat.even 1 = y", np.array([0]), "rw", 10)
    assert found == [(0, "->")]  # Nat.even 1 -> false, never false -> Nat.even 1


def test_statement_type_unreadable_is_none():
    assert statement_type("something else entirely", "M.foo") is None
    assert shape_of(0, "Lemma foo.", "M.foo") is None


def test_symbols_use_last_component_and_skip_keywords():
    assert symbols("forall x : nat, Nat.add x 0 = x", frozenset({"x"})) == {"nat", "add", "="}


# ----------------------------------------------------------------------------- syntax


def test_declaration_binders_and_type():
    syn = CoqSyntax()
    d = syn.declaration("Lemma foo {A} (l : list A) n :\n  length l = n -> n = length l.")
    assert (d.name, d.binders, d.type) == ("foo", "{A} (l : list A) n", "length l = n -> n = length l")
    with pytest.raises(SyntaxError_):
        syn.declaration("Definition x : nat := 3.")


def test_typed_binders_give_untyped_binders_their_types():
    syn = CoqSyntax()
    types = {"A": "Type", "n": "nat", "m": "nat"}
    assert syn.typed_binders("n m", types) == "(n : nat) (m : nat)"
    assert syn.typed_binders("{A} (l : list A)", types) == "{A : Type} (l : list A)"
    assert syn.typed_binders("`{Equivalence A R}", types) == "`{Equivalence A R}"


def test_trivial_statements():
    syn = CoqSyntax()
    assert syn.trivial("n = n") and syn.trivial("f (a + b) <-> f (a + b)") and syn.trivial("True")
    assert not syn.trivial("n + 0 = n") and not syn.trivial("(a = a) = b")


def test_vacuous_hypotheses():
    syn = CoqSyntax()
    assert syn.vacuous("False") and syn.vacuous(" (False) ")
    assert not syn.vacuous("~ False") and not syn.vacuous("False_rect = x")


def test_proof_block_keeps_bullets_with_their_sentence():
    text = CoqSyntax().proof_block("Lemma v : True.", "Proof.", ["split.", "-", "exact I.", "{", "auto.", "}"])
    assert text.splitlines() == ["Lemma v : True.", "Proof.", "  split.", "  - exact I.", "  { auto.", "  }", "Qed."]


# ----------------------------------------------------------------------------- the batch check


@needs_coq
def test_batch_check_removes_a_failing_item_and_keeps_the_rest():
    from provers.coq.batch import BatchItem, check_batch
    from provers.coq.check import CheckConfig

    good = BatchItem("good", "good", "Lemma good : 1 + 1 = 2.\nProof.\n  reflexivity.\nQed.", ("reflexivity.",))
    bad = BatchItem("bad", "bad", "Lemma bad : 1 + 1 = 3.\nProof.\n  reflexivity.\nQed.", ("reflexivity.",))
    good2 = BatchItem("good2", "good2", "Lemma good2 : 2 = 2.\nProof.\n  reflexivity.\nQed.", ("reflexivity.",))
    report = check_batch(["Definition base := 0.\n", good, bad, "Definition middle := 1.\n", good2, "\n"],
                         CheckConfig(timeout_s=120, recheck=False))
    assert report.verdicts["good"].ok and report.verdicts["good2"].ok
    assert not report.verdicts["bad"].ok and "coqc rejected it" in report.verdicts["bad"].message
    assert report.coqc_runs == 2


@needs_coq
def test_batch_check_is_fail_closed_on_axioms_and_hostile_items():
    from provers.coq.batch import BatchItem, check_batch
    from provers.coq.check import CheckConfig

    uses_axiom = BatchItem("ax_user", "ax_user", "Lemma ax_user : False.\nProof.\n  exact nesy_ax.\nQed.", ("exact nesy_ax.",))
    gives_up = BatchItem("lazy", "lazy", "Lemma lazy : False.\nProof.\n  admit.\nQed.", ("admit.",))
    system = BatchItem("sys", "sys", "Lemma sys : True.\nProof.\n  exact I.\nQed.\nRedirect \"x\" Print sys.", ("exact I.",))
    ok = BatchItem("fine", "fine", "Lemma fine : True.\nProof.\n  exact I.\nQed.", ("exact I.",))
    report = check_batch(["Axiom nesy_ax : False.\n", uses_axiom, gives_up, system, ok, "\n"], CheckConfig(timeout_s=120))
    assert not report.verdicts["ax_user"].ok and "outside the allow-list" in report.verdicts["ax_user"].message
    assert not report.verdicts["lazy"].ok and "not allowed" in report.verdicts["lazy"].message
    assert not report.verdicts["sys"].ok and "writes its output" in report.verdicts["sys"].message
    assert report.verdicts["fine"].ok and "coqchk" in report.verdicts["fine"].message


@needs_coq
def test_batch_check_shared_text_failure_rejects_all():
    from provers.coq.batch import BatchItem, check_batch
    from provers.coq.check import CheckConfig

    item = BatchItem("fine", "fine", "Lemma fine : True.\nProof.\n  exact I.\nQed.", ("exact I.",))
    report = check_batch(["Definition broken := undefined_name.\n", item, "\n"], CheckConfig(timeout_s=120, recheck=False))
    assert not report.verdicts["fine"].ok and "outside its items" in report.verdicts["fine"].message


# ----------------------------------------------------------------------------- whole runs

A_V = """\
Require Import PeanoNat Lia.

Definition double (n : nat) := n + n.

Lemma double_plus : forall n : nat, double n = n + n.
Proof.
  intros n. unfold double. reflexivity.
Qed.

Lemma plus_zero : forall n : nat, n + 0 = n.
Proof.
  intros n. lia.
Qed.

Lemma le_of_double : forall a b : nat, double a <= double b -> a <= b.
Proof.
  intros a b H. unfold double in H. lia.
Qed.

Lemma double_ge : forall n : nat, n <= double n.
Proof.
  intros n. unfold double. lia.
Qed.

Lemma shift_le : forall a b c : nat, a <= b -> double a + c <= double b + c.
Proof.
  intros a b c H.
  unfold double.
  lia.
Qed.

Lemma uses_with : forall n : nat, double n + 0 = double n.
Proof with auto.
  intros n. rewrite plus_zero...
Qed.

Section S.
  Variable k : nat.
  Lemma sec_double : double k + 0 = k + k.
  Proof.
    rewrite plus_zero. reflexivity.
  Qed.
End S.
"""

B_V = """\
Require Import Lib.A.
Require Import PeanoNat.

Lemma double_0_le : forall n : nat, 0 <= double n.
Proof.
  intros n. apply Nat.le_0_l.
Qed.

Module Type HasD.
  Parameter d : nat -> nat.
End HasD.

(* a module with a signature: its variants must still be found after it is closed *)
Module M : HasD.
  Definition d := double.
  Lemma d_ge : forall n : nat, n <= double n + 0.
  Proof.
    intros n. rewrite plus_zero. apply double_ge.
  Qed.
End M.
"""


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Path:
    from provers.tracing.config import Library, TraceConfig
    from provers.tracing.driver import run_trace

    base = tmp_path_factory.mktemp("alchemy_lib")
    src = base / "src"
    src.mkdir()
    for name, text in (("A.v", A_V), ("B.v", B_V)):
        (src / name).write_text(text, encoding="utf-8")
    run_trace(TraceConfig(library=Library(src, "Lib"), out=base / "out", workers=1, val_fraction=0.0, test_fraction=0.0))
    return base / "out"


def _config(traced: Path, **kw):
    from synthesis.alchemy.mutate import MutationConfig
    from synthesis.alchemy.pipeline import AlchemyConfig

    mutation = MutationConfig(max_candidates=kw.pop("max_candidates", 24), tactic_timeout_s=5.0)
    return AlchemyConfig(dataset=str(traced), chunk=kw.pop("chunk", 3), mutation=mutation, **kw)


@pytest.fixture(scope="module")
def run(traced, tmp_path_factory):
    from synthesis.alchemy.pipeline import run_alchemy

    out = tmp_path_factory.mktemp("alchemy_out")
    summary = run_alchemy(_config(traced), out, progress=False)
    return out, summary


@needs_coq
def test_run_writes_verified_variants_with_provenance(run):
    out, summary = run
    rows = [json.loads(line) for line in (out / "verified.jsonl").read_text().splitlines()]
    assert summary["verified"] == len(rows) > 0
    assert {r["mode"] for r in rows} == {"rw", "apply"}
    assert any(r["original"] == "Lib.B.M.d_ge" for r in rows)  # inside a sealed module
    for r in rows:
        assert r["original"].startswith("Lib.") and r["lemma"] and r["direction"] in ("->", "<-", "")
        assert r["name"] in r["statement"] and r["text"].rstrip().endswith("Qed.")
    # every stage is counted, and each stage is at most the one before
    for c in summary["per_mode"].values():
        assert c["tried"] <= c["symbol_matches"] and c["hits"] <= c["tried"]
        assert c["verified"] <= c["env_passed"] <= c["variants"] <= c["hits"]
    theorems = [t for x in (out / "results.jsonl").read_text().splitlines() for t in json.loads(x)["theorems"]]
    hits = [h for t in theorems for h in t.get("hits", [])]
    assert len(hits) == sum(c["hits"] for c in summary["per_mode"].values()) > 0
    assert all(h["state_after"] and h["lemma"] for h in hits)
    assert all(t["state_before"] for t in theorems if t.get("hits"))
    pairs = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert pairs and all(set(p) == {"state", "tactic"} for p in pairs)
    assert "| rw |" in (out / "summary.md").read_text()


@needs_coq
def test_proof_with_theorem_is_skipped_with_its_reason(run):
    out, summary = run
    assert summary["theorems_skipped"].get("proof_with") == 1
    theorems = {t["name"]: t for r in (json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()) for t in r["theorems"]}
    assert theorems["Lib.A.uses_with"]["skipped"].startswith("proof_with")


@needs_coq
def test_verified_variants_differ_from_their_original_and_pass_alone(run, traced):
    """Every verified variant, checked alone by the single-proof kernel check in its original's
    context, passes; and it is not its original statement."""
    from provers.coq.library import LibraryConfig, load_split
    from synthesis.alchemy.syntax import CoqSyntax

    out, _ = run
    rows = [json.loads(line) for line in (out / "verified.jsonl").read_text().splitlines()]
    originals = {p.full_name: p.theorem for p in load_split(traced, "random", "train", LibraryConfig(tactic_imports=False))}
    syn = CoqSyntax()
    for r in rows[:6]:
        lt = originals[r["original"]]
        body = syn.declaration(r["statement"]).type
        assert " ".join(body.split()) != " ".join(syn.declaration(lt.theorem.statement).type.split())
        verdict = syn.check_alone(lt, r["statement"], r["proof"], r["name"])
        assert verdict.ok, (r["text"], verdict.message)


@needs_coq
def test_a_wrong_composed_proof_is_not_written(traced, tmp_path, monkeypatch):
    """Break the composed proofs (the bridge proves nothing) and skip the run in the environment,
    so that the batch kernel check alone stands between them and the output: nothing is written."""
    from synthesis.alchemy import mutate as mutate_mod
    from synthesis.alchemy import syntax as syntax_mod
    from synthesis.alchemy.pipeline import run_alchemy

    monkeypatch.setattr(syntax_mod.CoqSyntax, "bridge_rw_goal", lambda self, names, conclusion, lemma, direction: ["exact I."])
    monkeypatch.setattr(mutate_mod.Mutator, "_run_variants", lambda self, variants, lt, counts: variants)
    summary = run_alchemy(_config(traced, modes=("rw",), files=("A.v",)), tmp_path / "o", progress=False)
    rows = [json.loads(x) for x in (tmp_path / "o" / "results.jsonl").read_text().splitlines()]
    goal_rw = [v for r in rows for v in r["variants"] if v["target"] == "goal"]
    assert goal_rw and not any(v["verified"] for v in goal_rw)
    assert all("coqc rejected it" in v["check"] for v in goal_rw)
    written = [json.loads(x) for x in (tmp_path / "o" / "verified.jsonl").read_text().splitlines()]
    assert not any(w["target"] == "goal" for w in written)
    assert summary["verified"] == len(written)


@needs_coq
def test_rerun_resumes_and_other_arguments_are_refused(run, traced):
    from synthesis.alchemy.pipeline import run_alchemy
    from synthesis.errors import ResumeMismatchError

    out, summary = run
    before = (out / "results.jsonl").read_text()
    again = run_alchemy(_config(traced), out, progress=False)
    assert (out / "results.jsonl").read_text() == before
    assert again["verified"] == summary["verified"] and again["run"]["resumed_stretches"] >= 1
    with pytest.raises(ResumeMismatchError):
        run_alchemy(_config(traced, chunk=5), out, progress=False)


@needs_coq
def test_a_file_that_no_longer_compiles_gives_rows_with_reasons(traced, tmp_path):
    """A library file broken after tracing (same length, so the positions still match): its
    theorems are recorded with the reason and the job goes on."""
    from synthesis.alchemy.pipeline import run_alchemy

    meta = json.loads((traced / "metadata.json").read_text())
    copy_src = tmp_path / "src"
    shutil.copytree(meta["library"], copy_src)
    data = tmp_path / "data"
    shutil.copytree(traced, data)
    meta["library"] = str(copy_src)
    (data / "metadata.json").write_text(json.dumps(meta))
    a = copy_src / "A.v"
    a.write_text(a.read_text().replace("Definition double (n : nat) := n + n.", "Definition double (n : nat) := n + q."))
    manifest = data / "nesy_manifest.json"
    if manifest.exists():
        manifest.unlink()
    summary = run_alchemy(_config(data, files=("A.v",)), tmp_path / "o", progress=False)
    assert summary["verified"] == 0 and summary["theorems"] >= 4
    assert summary["theorems_skipped"].get("start", 0) >= 3


def _nesy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nesy", *args], check=False, capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_cli_bad_library_is_one_error_line(tmp_path):
    r = _nesy("synth", "alchemy", "--library", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.strip().startswith("nesy: error:") and "Traceback" not in r.stderr
    (tmp_path / "plain").mkdir()
    r = _nesy("synth", "alchemy", "--library", str(tmp_path / "plain"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not a traced dataset" in r.stderr and "Traceback" not in r.stderr
    r = _nesy("synth", "alchemy", "--library", str(tmp_path / "plain"), "--out", str(tmp_path / "o"), "--tactic-timeout", "nan")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@needs_coq
def test_cli_runs_on_the_tiny_library(traced, tmp_path):
    r = _nesy("synth", "alchemy", "--library", str(traced), "--mode", "rw", "--files", "B.v", "--out", str(tmp_path / "o"), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "| rw |" in r.stdout and (tmp_path / "o" / "summary.json").is_file()


@needs_coq
def test_ray_workers_give_the_same_verified_variants(run, traced, tmp_path, ray_session):
    """Two Ray actors instead of one in-process worker: the same verified variants."""
    from synthesis.alchemy.pipeline import run_alchemy

    out, summary = run
    on_ray = run_alchemy(_config(traced), tmp_path / "ray", workers=2, executor="ray", progress=False)
    assert on_ray["verified"] == summary["verified"] and on_ray["run"]["cpu_s"] is None

    def texts(d):
        return sorted(json.loads(x)["text"] for x in (d / "verified.jsonl").read_text().splitlines())

    assert texts(tmp_path / "ray") == texts(out)

"""Theorems of a traced library in their file's context (provers.coq.library), on a tiny library
written and traced here with nesy's own tracer: starting, the kernel check in context, warm
starts inside one file without leaks, unstartable theorems as rows, and ``nesy eval library``.

Needs Coq (coqc, coqidetop); skipped without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provers import EnvConfig, ProofFinished, TacticError, TacticState
from provers.coq import xmlproto
from provers.coq.env import CoqEnv
from provers.coq.library import LibraryConfig, LibraryDataError, Unstartable, check_library_proof, load_split
from provers.coq.pool import WarmPool

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")

A_V = """\
Definition double (n : nat) := n + n.

Lemma double_0 : double 0 = 0.
Proof.
  reflexivity.
Qed.
"""

# A Section with a Variable and a Hypothesis, a Require of A, a module with a signature (which
# the module, closed right after `zero_is_0` by the check, would not meet yet), an
# option set between two theorems, a lemma after the theorem with the very same statement, and a
# Program lemma (cannot start: its obligations are proved apart).
B_V = """\
Require Import Lib.A.
Require Import Coq.Program.Tactics.

Section S.
  Variable k : nat.
  Hypothesis Hk : k = 0.

  Lemma uses_hyp : double k = 0.
  Proof.
    rewrite Hk.
    apply double_0.
  Qed.

  Lemma t : double k = k + k.
  Proof.
    unfold double.
    reflexivity.
  Qed.

  Set Implicit Arguments.
  Definition helper (A : Type) (x : A) := x.

  Lemma later : double k = k + k.
  Proof.
    unfold double.
    reflexivity.
  Qed.
End S.

Module Type HasZero.
  Parameter zero : nat.
  Parameter one : nat.
End HasZero.

Module M <: HasZero.
  Definition zero := 0.
  Lemma zero_is_0 : zero = 0.
  Proof.
    reflexivity.
  Qed.
  Definition one := 1.
End M.

Program Lemma prog : 0 = 0.
Proof.
  reflexivity.
Qed.
"""

C_V = """\
Require Import Lib.A Lib.B.

Lemma from_c : forall n : nat, double n = n + n.
Proof.
  intros n.
  unfold double.
  reflexivity.
Qed.
"""

CFG = EnvConfig(tactic_timeout_s=10)


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Path:
    from provers.tracing.config import Library, TraceConfig
    from provers.tracing.driver import run_trace

    base = tmp_path_factory.mktemp("lib")
    src = base / "src"
    src.mkdir()
    for name, text in (("A.v", A_V), ("B.v", B_V), ("C.v", C_V)):
        (src / name).write_text(text, encoding="utf-8")
    run_trace(TraceConfig(library=Library(src, "Lib"), out=base / "out", workers=1, val_fraction=0.0, test_fraction=0.5))
    return base / "out"


def all_problems(data: Path) -> dict:
    return {p.full_name: p for part in ("train", "val", "test") for p in load_split(data, "random", part)}


def traced_tactics(data: Path) -> dict:
    from retrieval.dataset import open_dataset

    ds = open_dataset(data)
    return {t.full_name: [x.tactic for x in t.traced_tactics] for part in ("train", "val", "test") for t in ds.read_part("random", part)}


def query(env: CoqEnv, text: str) -> tuple[bool, str]:
    ans = env._proc.call(xmlproto.call_query(text, env._live[-1][1]), 10)
    return ans.good, (" | ".join(ans.notices) if ans.good else ans.error)


def test_every_theorem_starts_in_its_file_or_says_why(traced):
    probs = all_problems(traced)
    assert set(probs) == {"Lib.A.double_0", "Lib.B.uses_hyp", "Lib.B.t", "Lib.B.later", "Lib.B.M.zero_is_0", "Lib.B.prog", "Lib.C.from_c"}
    assert probs["Lib.B.prog"].theorem is None and probs["Lib.B.prog"].reason is Unstartable.PROGRAM
    t = probs["Lib.B.t"].theorem
    assert "Lemma uses_hyp" in t.theorem.header
    assert "Lemma t" not in t.theorem.header and "later" not in t.theorem.header
    assert t.closing == ("End S.",) and t.scope == ""
    assert probs["Lib.B.M.zero_is_0"].theorem.scope == "M"
    with CoqEnv(t.theorem, replace_args(t)) as (env, s0):
        assert "Hk : k = 0" in s0.pp and "double k = k + k" in s0.pp  # the section's variables are in force
        assert query(env, "Check double.")[0]  # from Lib.A, through the Require
        assert query(env, "Check uses_hyp.")[0]  # an earlier lemma of the file
        assert not query(env, "Check later.")[0]  # a later lemma: invisible
        assert not query(env, "Check t.")[0]  # the theorem itself: invisible
        assert isinstance(env.run_tac(s0, "exact later."), TacticError)


def replace_args(lt) -> EnvConfig:
    return EnvConfig(tactic_timeout_s=10, extra_args=lt.env_args)


def test_traced_proofs_pass_the_kernel_check_in_their_context(traced):
    probs, tactics = all_problems(traced), traced_tactics(traced)
    for name, p in probs.items():
        if p.theorem is None:
            continue
        with CoqEnv(p.theorem.theorem, replace_args(p.theorem)) as (env, state):
            for tac in tactics[name]:
                state = env.run_tac(state, tac)
                assert isinstance(state, (TacticState, ProofFinished)), (name, tac, state)
            assert isinstance(state, ProofFinished), name
            verdict = check_library_proof(p.theorem, env.proof_sentences(state))
        assert verdict.ok, (name, verdict.message)


def test_the_check_rejects_the_theorem_itself_and_later_lemmas(traced):
    t = all_problems(traced)["Lib.B.t"].theorem
    assert check_library_proof(t, ["unfold double.", "reflexivity."]).ok  # control: a real proof passes
    for cheat in (["exact later."], ["exact t."], ["exact (Lib.B.later k Hk)."], ["apply later."]):
        verdict = check_library_proof(t, cheat)
        assert not verdict.ok, cheat
        assert "coqc rejected" in verdict.message, verdict.message
    # the same cheat against the compiled library itself would pass: what makes the check reject
    # it is the private compilation of the file's prefix, not the proof being wrong
    from provers.coq.check import check_proof
    from provers.protocol import Theorem

    naive = Theorem("t2", "Lemma t2 (k : nat) : double k = k + k.", "Require Import Lib.A Lib.B.")
    assert check_proof(naive, ["exact (later k)."], extra_args=t.check_args).ok


def test_warm_starts_inside_one_file_go_back_without_leaks(traced):
    probs = all_problems(traced)
    later, t = probs["Lib.B.later"].theorem, probs["Lib.B.t"].theorem
    queries = ["Check later.", "Check t.", "Check helper.", "Test Implicit Arguments.", "Check later_subproof.", "Print Assumptions uses_hyp."]

    def observe(env, s0):
        return {"pp": s0.pp, **{q: query(env, q) for q in queries}, "run": type(env.run_tac(s0, "unfold double. reflexivity.")).__name__}

    with CoqEnv(t.theorem, replace_args(t)) as (env, s0):  # fresh, cold
        fresh = observe(env, s0)
    with WarmPool() as pool:
        with CoqEnv(later.theorem, replace_args(later), pool=pool) as (env, s0):
            pid = env.pid
            assert env.warm_start == "fresh"
            assert query(env, "Test Implicit Arguments.")[1] != fresh["Test Implicit Arguments."]  # set before `later`
            # a proof attempt that declares a global name (abstract) on the way
            r = env.run_tac(s0, "abstract (unfold double; reflexivity).")
            assert isinstance(r, ProofFinished)
            assert query(env, "Check later_subproof.")[0]
        with CoqEnv(t.theorem, replace_args(t), pool=pool) as (env, s0):
            assert env.warm_start == "prefix" and env.pid == pid  # the same process, one Edit_at back
            warm = observe(env, s0)
        # another file's theorem does not take this file's process (the pool is keyed by file)
        c = probs["Lib.C.from_c"].theorem
        with CoqEnv(c.theorem, replace_args(c), pool=pool) as (env, _):
            assert env.warm_start == "fresh" and env.pid != pid
    assert warm == fresh
    assert not warm["Check later."][0] and not warm["Check later_subproof."][0] and not warm["Check helper."][0]


def test_a_changed_file_and_a_bad_dataset_are_reasons_not_crashes(traced, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(traced, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    src = tmp_path / "src"
    shutil.copytree(meta["library"], src)
    (src / "B.v").write_text("(* one more line *)\n" + B_V, encoding="utf-8")
    (src / "C.v").unlink()
    meta["library"] = str(src)
    (copy / "metadata.json").write_text(json.dumps(meta))
    (copy / "nesy_manifest.json").unlink()  # the metadata was edited on purpose
    probs = all_problems(copy)
    assert probs["Lib.B.t"].reason is Unstartable.FILE_CHANGED
    assert probs["Lib.C.from_c"].reason is Unstartable.FILE_MISSING
    assert probs["Lib.A.double_0"].theorem is not None
    meta["coq"] = "The Coq Proof Assistant, version 8.13.0"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(LibraryDataError, match="traced with"):
        load_split(copy, "random", "test")
    (copy / "metadata.json").unlink()
    with pytest.raises(LibraryDataError, match="no metadata.json"):
        load_split(copy, "random", "test")


def test_cli_eval_library_rows_resume_and_summary(traced, tmp_path, capsys):
    from nesy.cli import main

    out = tmp_path / "run"
    argv = ["eval", "library", "--data", str(traced), "--split", "random", "--part", "train", "--out", str(out),
            "--time", "20", "--tactic-timeout", "3", "--k", "8"]
    assert main(argv) == 0
    sub = next(p for p in out.iterdir() if p.is_dir())
    rows = [json.loads(line) for line in (sub / "results.jsonl").read_text().splitlines()]
    names = {p.full_name for p in load_split(traced, "random", "train")}
    assert {r["name"] for r in rows} == names
    by = {r["name"]: r for r in rows}
    for name, r in by.items():
        if name == "Lib.B.prog":
            assert r["status"] == "error" and r["message"].startswith("program:")
        else:
            assert r["status"] in ("proved", "failed"), r
    proved = [r for r in rows if r["status"] == "proved"]
    assert proved and all("accepted by coqc" in r["check"] for r in proved)
    for r in proved:
        assert (sub / "proofs" / f"{r['name']}.v").read_text().count("Qed.") >= 1
    assert (out / "summary.md").exists() and (out / "coverage.png").exists()
    capsys.readouterr()
    assert main(argv) == 0  # resumes: nothing is proved twice
    again = (sub / "results.jsonl").read_text().splitlines()
    assert len(again) == len(rows)
    assert main(["eval", "library", "--data", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "nesy: error:" in capsys.readouterr().err


def test_instances_and_definitions_proved_with_tactics_are_checked_as_lemmas(tmp_path):
    from provers.coq.library import LibraryConfig, _FileText, library_theorem
    from provers.tracing.config import Library

    src = tmp_path / "D.v"
    src.write_text(
        "Class Nonzero (n : nat) : Prop := nonzero : n <> 0.\n"
        "#[global]\nInstance one_nonzero : Nonzero 1 | 10.\nProof.\n  discriminate.\nQed.\n"
        "Definition two : { n : nat | n = 2 }.\nProof.\n  exists 2. reflexivity.\nDefined.\n"
        "Definition three: { n : nat | n = 3 }.\nProof.\n  exists 3. reflexivity.\nDefined.\n"
        "Class Pointed {A : Type} := point : A.\n"
        "Instance nat_pointed : (Pointed (A:=nat)).\nProof.\n  exact 0.\nDefined.\n", encoding="utf-8")
    lib = Library(tmp_path, "Lib")
    text = _FileText(src)
    inst = library_theorem(lib, (), "D.v", text, "Lib.D.one_nonzero", (2, 1), LibraryConfig(tactic_imports=False))
    assert inst.check_statement == "Lemma one_nonzero : Nonzero 1."
    assert check_library_proof(inst, ["discriminate."]).ok
    assert not check_library_proof(inst, ["exact I."]).ok
    two = library_theorem(lib, (), "D.v", text, "Lib.D.two", (7, 1), LibraryConfig(tactic_imports=False))
    assert two.check_statement.startswith("Lemma two :")
    assert check_library_proof(two, ["exists 2.", "reflexivity."]).ok
    three = library_theorem(lib, (), "D.v", text, "Lib.D.three", (11, 1), LibraryConfig(tactic_imports=False))  # no space before ':'
    assert three.check_statement == "Lemma three: { n : nat | n = 3 }."
    assert check_library_proof(three, ["exists 3.", "reflexivity."]).ok
    # a ':=' inside brackets names an implicit argument, it is no body (Coq.setoid_ring.Rings_Q.Qri)
    pointed = library_theorem(lib, (), "D.v", text, "Lib.D.nat_pointed", (16, 1), LibraryConfig(tactic_imports=False))
    assert pointed.check_statement == "Lemma nat_pointed : (Pointed (A:=nat))."
    assert check_library_proof(pointed, ["exact 0."]).ok


@pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed")
def test_hammer_in_a_library_file_context(traced):
    """--hammer: CoqHammer's tactics are imported after the file's prefix (where that cannot load the
    file itself), a hammer proof runs there and passes the check in the file's context."""
    probs = {p.full_name: p for p in load_split(traced, "random", "train") + load_split(traced, "random", "test")
             + load_split(traced, "random", "val")}
    hammered = {p.full_name: p for part in ("train", "val", "test") for p in load_split(traced, "random", part, LibraryConfig(hammer=True))}
    t, h = probs["Lib.A.double_0"].theorem, hammered["Lib.A.double_0"].theorem
    assert "Hammer" not in t.theorem.prelude and "From Hammer Require Import Hammer." in h.theorem.prelude
    with CoqEnv(h.theorem, replace_args(h)) as (env, s0):
        done = env.run_tac(s0, "hauto")
        assert isinstance(done, ProofFinished), done
        assert check_library_proof(h, env.proof_sentences(done)).ok
    with CoqEnv(t.theorem, replace_args(t)) as (env, s0):
        assert isinstance(env.run_tac(s0, "hauto"), TacticError)  # without the import there is no hammer

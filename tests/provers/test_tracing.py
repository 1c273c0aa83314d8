"""``nesy trace`` end to end on small libraries written here (and one real stdlib file).

Needs Coq (coqc, coqidetop); skipped without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provers.tracing.config import Library, TraceConfig, TraceInputError, stdlib
from provers.tracing.driver import ERRORS_FILE, TRACES_DIR, run_trace, trace_path
from provers.tracing.replay import replay_file

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")

A_V = r"""(* A small library file. *)
Inductive color : Set := Red | Green.

Definition flip (c : color) : color :=
  match c with Red => Green | Green => Red end.

Lemma flip_flip : forall c, flip (flip c) = c.
Proof.
  intros c.
  destruct c; reflexivity.
Qed.

Lemma with_ellipsis : forall c, flip (flip c) = c /\ True.
Proof with auto.
  intros c; split...
  apply flip_flip.
Qed.

Section Sec.
  Variable n : nat.
  Lemma sec_lemma : n + 0 = n.
  Proof. rewrite <- plus_n_O. reflexivity. Qed.

  Lemma uses_sec : n + 0 + 0 = n.
  Proof.
    rewrite sec_lemma.
    apply sec_lemma.
  Qed.
End Sec.

Module M.
  Definition two := 2.
  Lemma two_eq : two = 2.
  Proof. reflexivity. Qed.
End M.
"""

B_V = """Require Import Lib.A.

Theorem flip_twice (c : color) : flip (flip (flip c)) = flip c.
Proof.
  rewrite flip_flip.
  reflexivity.
Qed.

Lemma from_section (k : nat) : k + 0 + 0 = k.
Proof.
  exact (uses_sec k).
Qed.

Lemma from_module : M.two + 0 = 2.
Proof.
  rewrite <- plus_n_O.
  apply M.two_eq.
Qed.
"""

BAD_V = """Lemma broken : 1 = 2.
Proof.
  reflexivity.
Qed.
"""


def make_lib(root: Path, bad: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "A.v").write_text(A_V, encoding="utf-8")
    (root / "B.v").write_text(B_V, encoding="utf-8")
    if bad:
        (root / "Bad.v").write_text(BAD_V, encoding="utf-8")
    return root


def by_name(theorems):
    return {t.full_name: t for t in theorems}


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """A two-file library plus a file that does not compile, traced once serially."""
    base = tmp_path_factory.mktemp("trace")
    lib = Library(make_lib(base / "src", bad=True), "Lib")
    config = TraceConfig(library=lib, out=base / "out", workers=1, val_fraction=0.2, test_fraction=0.2)
    result = run_trace(config)
    return config, result


def test_dataset_corpus_premises_and_imports(traced):
    from retrieval.dataset import open_dataset

    config, result = traced
    ds = open_dataset(config.out)
    files = {f.path: f for f in ds.read_corpus().files}
    assert set(files) == {"A.v", "B.v"}  # Bad.v did not compile: no corpus line
    assert files["B.v"].imports == ("A.v",)
    prem = {p.full_name: p for p in files["A.v"].premises}
    # full names: file module, modules (not sections); constructors are premises of their own
    for name in ("Lib.A.color", "Lib.A.Red", "Lib.A.flip", "Lib.A.flip_flip", "Lib.A.sec_lemma",
                 "Lib.A.uses_sec", "Lib.A.M.two", "Lib.A.M.two_eq"):
        assert name in prem, name
    assert prem["Lib.A.flip_flip"].code == "Lemma flip_flip : forall c, flip (flip c) = c."
    assert prem["Lib.A.flip_flip"].kind == "Lemma"
    assert tuple(prem["Lib.A.flip_flip"].start) == (7, 1) and tuple(prem["Lib.A.flip_flip"].end) == (11, 5)  # end: just past "Qed."
    assert result.files == 3 and len(result.failed) == 1


def test_tactics_states_and_premises(traced):
    from retrieval.dataset import open_dataset

    config, _ = traced
    ds = open_dataset(config.out)
    thms = by_name(t for part in ("train", "val", "test") for t in ds.read_part("random", part))
    ft = thms["Lib.B.flip_twice"]
    assert ft.file_path == "B.v" and ft.theorem_statement.startswith("Theorem flip_twice")
    first = ft.traced_tactics[0]
    assert first.tactic == "rewrite flip_flip."
    assert first.annotated_tactic.text == "rewrite <a>flip_flip</a>."
    (prov,) = first.annotated_tactic.provenances
    assert (prov.full_name, prov.def_path, tuple(prov.def_pos)) == ("Lib.A.flip_flip", "A.v", (7, 1))
    assert "c : color" in first.state_before and "flip (flip (flip c)) = flip c" in first.state_before
    assert first.state_after.endswith("flip c = flip c")
    assert ft.traced_tactics[-1].state_after == "no goals"
    # a section lemma used inside its section gets its name after the section closes
    uses = thms["Lib.A.uses_sec"]
    assert [p.full_name for t in uses.traced_tactics for p in t.annotated_tactic.provenances] == [
        "Lib.A.sec_lemma", "Lib.A.sec_lemma"]
    # qualified module member, and a stdlib lemma that is outside this corpus (not a premise here)
    fm = thms["Lib.B.from_module"]
    assert [p.full_name for p in fm.traced_tactics[1].annotated_tactic.provenances] == ["Lib.A.M.two_eq"]
    assert fm.traced_tactics[0].annotated_tactic.provenances == ()
    # "tac..." ends a sentence ("Proof with auto."): two tactics, not one swallowing the next
    assert [t.tactic for t in thms["Lib.A.with_ellipsis"].traced_tactics] == ["intros c; split...", "apply flip_flip."]
    # the proof with "destruct c; reflexivity." has two tactics, bullets and Proof/Qed not counted
    assert [t.tactic for t in thms["Lib.A.flip_flip"].traced_tactics] == ["intros c.", "destruct c; reflexivity."]


def test_splits_written(traced):
    from retrieval.dataset import open_dataset
    from retrieval.splits import Split, novel_premise_violations

    config, _ = traced
    ds = open_dataset(config.out)
    for split in ("random", "novel_premises"):
        parts = [ds.read_part(split, p) for p in ("train", "val", "test")]
        assert sum(len(p) for p in parts) == 8
    novel = Split(*[ds.read_part("novel_premises", p) for p in ("train", "val", "test")])
    assert novel_premise_violations(novel) == []


def test_file_that_does_not_compile_is_recorded(traced):
    config, result = traced
    rows = [json.loads(line) for line in (config.out / ERRORS_FILE).read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["path"] == "Bad.v" and rows[0]["stage"] == "compile"
    assert "Bad.v" in rows[0]["message"] and "line 3" in rows[0]["message"]
    assert "Bad.v" in (config.out / "summary.md").read_text()


def test_replay_error_names_the_sentence(tmp_path):
    # replayed without compiling first (prebuilt=True), so the replay itself meets the error
    root = tmp_path / "src"
    root.mkdir()
    (root / "Bad.v").write_text("Lemma ok : True.\nProof. exact I. Qed.\n" + BAD_V, encoding="utf-8")
    trace = replay_file(Library(root, "X", prebuilt=True), "Bad.v", sentence_timeout_s=60)
    err = trace.error
    assert err is not None and err.sentence == "reflexivity." and (err.line, err.column) == (5, 3)
    assert err.sentence_index == 6 and "Bad.v:5:3" in err.describe("Bad.v")
    assert [p.full_name for p in trace.premises] == ["X.Bad.ok"]  # traced before the error: kept


def test_resume_reuses_cached_files_and_retraces_changed_ones(tmp_path):
    lib = Library(make_lib(tmp_path / "src"), "Lib")
    config = TraceConfig(library=lib, out=tmp_path / "out", workers=1)
    first = run_trace(config)
    assert first.traced_now == 2 and not first.failed
    again = run_trace(config)
    assert again.traced_now == 0 and again.dataset.theorems == first.dataset.theorems
    corpus = (tmp_path / "out" / "corpus.jsonl").read_text()
    # a truncated cache file is not trusted, a changed source is traced again
    p = trace_path(config.out, "A.v")
    p.write_text(p.read_text()[:100])
    (lib.root / "B.v").write_text(B_V + "\nLemma extra : True.\nProof. exact I. Qed.\n")
    third = run_trace(config)
    assert third.traced_now == 2 and third.dataset.theorems == first.dataset.theorems + 1
    assert (tmp_path / "out" / "corpus.jsonl").read_text() != corpus
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_bad_input(tmp_path):
    from nesy.cli import main

    (tmp_path / "empty").mkdir()
    with pytest.raises(TraceInputError, match="no .v files"):
        run_trace(TraceConfig(library=Library(tmp_path / "empty", "E"), out=tmp_path / "o1"))
    assert main(["trace", str(tmp_path / "empty"), "--out", str(tmp_path / "o2")]) == 2
    assert main(["trace", str(tmp_path / "nope"), "--out", str(tmp_path / "o3")]) == 2
    # only a broken file: a clear error, and no dataset a reader would trust
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "Bad.v").write_text(BAD_V)
    with pytest.raises(TraceInputError, match="nothing was traced.*Bad.v"):
        run_trace(TraceConfig(library=Library(only_bad, "Bad"), out=tmp_path / "o4", workers=1))
    assert not (tmp_path / "o4" / "corpus.jsonl").exists()


def test_real_stdlib_file_names_match_coq():
    """Arith/Between.v of the installed stdlib: every Lemma traced, names as Coq prints them."""
    lib = stdlib()
    if not (lib.root / "Arith" / "Between.v").is_file():
        pytest.skip("the Debian Coq standard library sources are not installed")
    trace = replay_file(lib, "Arith/Between.v", sentence_timeout_s=120)
    assert trace.error is None
    source = (lib.root / "Arith" / "Between.v").read_text()
    import re

    declared_lemmas = re.findall(r"^\s*(?:Lemma|Theorem)\s+([\w']+)", source, re.M)
    # "Proof term." proves without tactics: a premise, but no traced theorem
    term_proofs = re.findall(r"^\s*(?:Lemma|Theorem)\s+([\w']+)[^.]*\.\s*Proof\s+\w", source, re.M)
    assert term_proofs == ["exists_lt"]
    assert {t.full_name for t in trace.theorems} == {f"Coq.Arith.Between.{n}" for n in declared_lemmas if n not in term_proofs}
    assert {f"Coq.Arith.Between.{n}" for n in declared_lemmas} <= {p.full_name for p in trace.premises}
    assert "Coq.Init.Peano" in trace.imports
    used = {u.full_name for t in trace.theorems for tac in t.tactics for u in tac.used}
    assert "Coq.Arith.Between.between" in used or any(n.startswith("Coq.Arith.Between.") for n in used)


@pytest.mark.slow
def test_parallel_on_ray_gives_the_same_dataset(tmp_path, ray_session):
    lib = Library(make_lib(tmp_path / "src"), "Lib")
    serial = run_trace(TraceConfig(library=lib, out=tmp_path / "serial", workers=1))
    parallel = run_trace(TraceConfig(library=lib, out=tmp_path / "par", workers=2))
    assert parallel.traced_now == 2
    for f in ("corpus.jsonl", "random/train.json", "novel_premises/test.json"):
        assert (tmp_path / "serial" / f).read_text() == (tmp_path / "par" / f).read_text()
    assert (tmp_path / "par" / TRACES_DIR / "A.v.json").is_file()
    assert serial.dataset == parallel.dataset


BULLETS_V = """Require Import Arith.

Lemma shapes (a b : nat) (H : a = b) : (a + 0 = b /\\ b = a) /\\ (True /\\ a * 1 = b).
Proof.
  split.
  - split.
    + rewrite Nat.add_0_r. exact H.
    + symmetry. exact H.
  - split; [exact I|].
    { rewrite Nat.mul_1_r.
      exact H. }
Qed.
"""


def test_traced_states_are_the_environment_states(tmp_path):
    """One rendering: the state text before every traced tactic is what CoqEnv shows there."""
    from provers.coq.env import CoqEnv
    from provers.coq.sentences import split_sentences
    from provers.protocol import EnvConfig, TacticState, Theorem
    from provers.tracing.replay import is_tactic

    root = tmp_path / "src"
    root.mkdir()
    (root / "Shapes.v").write_text(BULLETS_V)
    trace = replay_file(Library(root, "S", prebuilt=True), "Shapes.v", sentence_timeout_s=60)
    assert trace.error is None, trace.error
    (thm,) = trace.theorems
    traced = [t.state_before for t in thm.tactics]
    assert any("unfocused goals" in s for s in traced)  # bullets and braces hide goals

    sentences = [s.text for s in split_sentences(BULLETS_V)]
    start = next(i for i, s in enumerate(sentences) if s.startswith("Lemma"))
    body = sentences[start + 2 : sentences.index("Qed.")]
    seen = []
    with CoqEnv(Theorem("shapes", sentences[start], "Require Import Arith."), EnvConfig(tactic_timeout_s=30)) as (env, state):
        for sentence in body:
            if is_tactic(sentence):
                seen.append(state.pp)
            state = env.run_tac(state, sentence)
            if not isinstance(state, TacticState):
                break
    assert seen == traced

"""The retrieval-guided generators ``premises:`` and ``knn:``: what a theorem may be shown.

A tiny traced dataset (two files) is built in the test: ``Main.v`` imports ``Base.v``; the test
theorem ``Main.target`` has a later lemma ``Main.later_lemma`` with the very same statement (the
best BM25 match there is) and a training theorem after it uses both. Neither the theorem itself
nor the later lemma may be retrieved or proposed, and ``knn:`` only remembers training states.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from provers.coq.library import LibraryTheorem
from provers.generators import GeneratorConfig, GeneratorConfigError, build_generator
from provers.generators.base import GeneratorError
from provers.protocol import Problem, TacticState, Theorem
from retrieval.dataset import (
    AnnotatedTactic,
    CorpusFile,
    Pos,
    Premise,
    Provenance,
    TracedTactic,
    TracedTheorem,
    write_layout,
)
from tests.provers.test_library_context import traced  # noqa: F401 - fixture (a small library traced with Coq)

GOAL = "l : list nat\n============================\nlength (rev l) = length l"


def _premise(name: str, path: str, code: str, start: int, end: int) -> Premise:
    return Premise(name, path, code, Pos(start, 1), Pos(end, 10))


def _tactic(text: str, state: str, premises: list[Premise] = ()) -> TracedTactic:
    annotated = text
    for p in premises:
        annotated = annotated.replace(p.full_name, f"<a>{p.full_name}</a>")
    provs = tuple(Provenance(p.full_name, p.path, p.start, p.end) for p in premises)
    return TracedTactic(text, AnnotatedTactic(annotated, provs), state, "no goals")


def _theorem(name: str, path: str, start: int, end: int, tactics: list[TracedTactic]) -> TracedTheorem:
    return TracedTheorem(name, path, Pos(start, 1), Pos(end, 5), tuple(tactics))


def build_tiny_dataset(root: Path) -> Path:
    """The two-file dataset of this module's docstring, in the LeanDojo Benchmark layout."""
    swap = _premise("Base.add_swap", "Base.v", "Lemma add_swap : forall n m : nat, n + m = m + n.", 1, 2)
    rev_rev = _premise("Base.rev_rev", "Base.v", "Lemma rev_rev : forall l : list nat, rev (rev l) = l.", 4, 5)
    early = _premise("Main.app_nil", "Main.v", "Lemma app_nil : forall l : list nat, l ++ nil = l.", 3, 4)
    target = _premise("Main.target", "Main.v", "Lemma target : forall l : list nat, length (rev l) = length l.", 10, 14)
    later = _premise("Main.later_lemma", "Main.v", "Lemma later_lemma : forall l : list nat, length (rev l) = length l.", 20, 22)
    user = _premise("Main.later_user", "Main.v", "Lemma later_user : forall l : list nat, length (rev l) = length l.", 30, 33)
    # unrelated premises and training states, so that BM25's idf sees the shared words as informative
    filler_goals = ["negb (negb b) = b", "andb b true = b", "orb b false = b", "xorb b b = false",
                    "implb b b = true", "eqb b b = true"]
    fillers = [_premise(f"Bool.fact{i}", "Bool.v", f"Lemma fact{i} : forall b : bool, {g}.", 3 * i + 1, 3 * i + 2)
               for i, g in enumerate(filler_goals)]
    filler_thms = [_theorem(f"Bool.again{i}", "Bool.v", 100 + 3 * i, 101 + 3 * i,
                            [_tactic("destruct b; reflexivity.", f"b : bool\n============================\n{g}")])
                   for i, g in enumerate(filler_goals)]
    files = [CorpusFile("Bool.v", (), tuple(fillers)), CorpusFile("Base.v", (), (swap, rev_rev)),
             CorpusFile("Main.v", ("Base.v",), (early, target, later, user))]
    train = [
        _theorem("Base.swap_again", "Base.v", 7, 9, [_tactic("intros n m; apply Base.add_swap.", "n, m : nat\n============================\nn + m = m + n", [swap])]),
        _theorem("Main.later_user", "Main.v", 30, 33, [
            _tactic("intros l.", "============================\nforall l : list nat, length (rev l) = length l"),
            _tactic("apply Main.later_lemma.", GOAL, [later]),
            _tactic("rewrite Main.target.", GOAL, [target]),
            _tactic("induction l; simpl; auto.", GOAL),
        ]),
        _theorem("Main.app_nil_again", "Main.v", 40, 42, [_tactic("rewrite Main.app_nil; reflexivity.", "l : list nat\n============================\nl ++ nil = l", [early])]),
        *filler_thms,
    ]
    test = [_theorem("Main.target", "Main.v", 10, 14, [_tactic("exact own_secret_tactic.", GOAL)])]
    write_layout(root, files, {"random": {"train": train, "val": [], "test": test}})
    return root


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    return build_tiny_dataset(tmp_path / "traced")


def _target_problem() -> Problem:
    thm = Theorem(name="target", statement="Lemma target : forall l : list nat, length (rev l) = length l.", file_path="Main.v", line=10)
    ctx = LibraryTheorem(thm, "Main.target", "Main.v", (), (), start=(10, 1))
    return Problem("Main.target", "Main.v", thm, context=ctx)


@pytest.mark.parametrize("retriever", ["bm25", "dense", "dense:PATH"])
@pytest.mark.parametrize("kind", ["premises", "knn"])
def test_a_theorem_never_sees_itself_or_what_comes_later_in_its_file(tiny_dataset, kind, retriever, tmp_path, monkeypatch):
    if retriever.startswith("dense"):
        pytest.importorskip("torch", reason="needs the ml extra: pip install 'nesy[ml]'")
        pytest.importorskip("faiss", reason="needs the ml extra: pip install 'nesy[ml]'")
        monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))
    if retriever == "dense:PATH":  # an encoder directory by path, as a trained checkpoint is given
        from retrieval.encoder import resolve_model_dir

        retriever = f"dense:{resolve_model_dir('minilm')}"
    gen = build_generator(GeneratorConfig(spec=f"{kind}:{tiny_dataset}", retriever=retriever))
    state = TacticState(GOAL, 0)
    # Without a place (a stand-alone problem) the whole corpus / memory is searched: the later
    # lemma is the best match, so the test below can fail.
    unplaced = [t for t, _ in gen.generate(state, 50)]
    assert any("Main.later_lemma" in t for t in unplaced)
    gen.begin(_target_problem())
    proposed = [t for t, _ in gen.generate(state, 50)]
    assert proposed, "something accessible is proposed"
    for forbidden in ("Main.later_lemma", "Main.target", "Main.later_user", "own_secret_tactic"):
        assert not any(forbidden in t for t in proposed), (forbidden, proposed)
    gen.close()
    if kind == "premises" and retriever != "bm25":  # the corpus embeddings were cached, once
        assert len(list((tmp_path / "cache" / "retrieval" / "embeddings").glob("*.npy"))) == 1


def test_the_retriever_under_premises_never_returns_the_theorem_or_later_lemmas(tiny_dataset):
    from provers.generators.premises import PremiseGenerator

    gen = PremiseGenerator(str(tiny_dataset), GeneratorConfig())
    gen.begin(_target_problem())
    names = [gen.corpus.premises[i].full_name for i, _ in gen.retrieve(GOAL, 100)]
    assert set(names) == {"Base.add_swap", "Base.rev_rev", "Main.app_nil"}  # Bool.v is not imported by Main.v
    gen.begin(Problem("x", "x.v", None))  # a problem without a context: the whole corpus
    names = [gen.corpus.premises[i].full_name for i, _ in gen.retrieve(GOAL, 100)]
    assert len(names) == 12 and names[0] in ("Main.target", "Main.later_lemma", "Main.later_user")


def test_premises_turns_premises_into_tactics_with_log_probabilities(tiny_dataset):
    gen = build_generator(GeneratorConfig(spec=f"premises:{tiny_dataset}"))
    gen.begin(_target_problem())
    cands = gen.generate(TacticState(GOAL, 0), 100)
    tactics = [t for t, _ in cands]
    assert "rewrite Base.rev_rev" in tactics and "rewrite <- Base.rev_rev" in tactics and "apply Base.rev_rev" in tactics
    assert "induction l" in tactics and "destruct l" in tactics and "simpl in *" in tactics
    assert "intros" not in tactics  # the goal has no binder
    assert any(t.startswith("eauto using ") for t in tactics)
    assert math.isclose(sum(math.exp(s) for _, s in cands), 1.0, rel_tol=1e-6)  # a distribution over the candidates


def test_knn_proposes_the_tactics_of_the_nearest_training_states(tiny_dataset):
    gen = build_generator(GeneratorConfig(spec=f"knn:{tiny_dataset}"))
    gen.begin(_target_problem())
    cands = gen.generate(TacticState(GOAL, 0), 4)
    assert cands[0][0] == "induction l; simpl; auto."  # the nearest state's usable tactic
    swap = gen.generate(TacticState("a, b : nat\n============================\na + b = b + a", 1), 1)
    assert swap[0][0] == "intros n m; apply Base.add_swap."  # verbatim by default
    # a training theorem evaluated itself never sees its own states
    thm = Theorem(name="later_user", statement="Lemma later_user : True.", file_path="Main.v", line=30)
    gen.begin(Problem("Main.later_user", "Main.v", thm, context=LibraryTheorem(thm, "Main.later_user", "Main.v", (), (), start=(30, 1))))
    assert all("induction l; simpl; auto." != t for t, _ in gen.generate(TacticState(GOAL, 0), 50))


def test_knn_prefers_the_states_of_the_theorems_own_file(tmp_path):
    """Two training states with the same goal, in another file and in the theorem's own file: with
    no place the tie goes to the first record; at a place in Main.v the same-file state's tactic
    comes first (``bonus=0.1``), and without the bonus (the default) the tie is back."""
    goal = "n : nat\n============================\nn * 1 = n"
    fillers = [_theorem(f"Bool.f{i}", "Bool.v", 10 * i + 1, 10 * i + 2,
                        [_tactic("destruct b; reflexivity.", f"b : bool\n============================\n{g}")])
               for i, g in enumerate(["negb (negb b) = b", "andb b true = b", "orb b false = b"])]
    train = [_theorem("Other.mul_1", "Other.v", 1, 3, [_tactic("apply other_style.", goal)]),
             _theorem("Main.mul_1", "Main.v", 1, 3, [_tactic("apply main_style.", goal)]), *fillers]
    thm = Theorem(name="target", statement="Lemma target : True.", file_path="Main.v", line=10)
    files = [CorpusFile("Bool.v", (), (_premise("Bool.negb_negb", "Bool.v", "Lemma negb_negb : forall b, negb (negb b) = b.", 1, 2),)),
             CorpusFile("Other.v", (), ()), CorpusFile("Main.v", (), ())]
    write_layout(tmp_path / "traced", files, {"random": {"train": train, "val": [], "test": [_theorem("Main.target", "Main.v", 10, 12, [])]}})
    gen = build_generator(GeneratorConfig(spec=f"knn:{tmp_path / 'traced'},bonus=0.1"))
    assert gen.generate(TacticState(goal, 0), 2)[0][0] == "apply other_style."
    problem = Problem("Main.target", "Main.v", thm, context=LibraryTheorem(thm, "Main.target", "Main.v", (), (), start=(10, 1)))
    gen.begin(problem)
    cands = gen.generate(TacticState(goal, 0), 2)
    assert [t for t, _ in cands] == ["apply main_style.", "apply other_style."] and cands[0][1] > cands[1][1]
    default = build_generator(GeneratorConfig(spec=f"knn:{tmp_path / 'traced'}"))
    default.begin(problem)
    assert default.generate(TacticState(goal, 0), 2)[0][0] == "apply other_style."


def test_knn_fits_hypothesis_names_to_the_new_state(tmp_path):
    """A remembered ``exact H0`` is proposed as ``exact Hp`` where the hypothesis of that type is
    called ``Hp``; a tactic naming a hypothesis with no counterpart is dropped with ``fit=drop``
    and proposed as written with ``fit=keep``."""
    fillers = [_theorem(f"Bool.f{i}", "Bool.v", 10 * i + 1, 10 * i + 2,
                        [_tactic("destruct b; reflexivity.", f"b : bool\n============================\n{g}")])
               for i, g in enumerate(["negb (negb b) = b", "andb b true = b", "orb b false = b"])]
    train = [_theorem("Main.t1", "Main.v", 1, 3, [
        _tactic("apply (Nat.le_trans _ _ _ H0 H).", "n, m, p : nat\nH : m <= p\nH0 : n <= m\n============================\nn <= p"),
        _tactic("exact Hq.", "Hq : Q\n============================\nQ /\\ R")]), *fillers]
    files = [CorpusFile("Bool.v", (), (_premise("Bool.negb_negb", "Bool.v", "Lemma negb_negb : forall b, negb (negb b) = b.", 1, 2),)),
             CorpusFile("Main.v", (), ())]
    write_layout(tmp_path / "traced", files, {"random": {"train": train, "val": [], "test": []}})
    gen = build_generator(GeneratorConfig(spec=f"knn:{tmp_path / 'traced'},fit=drop"))
    state = TacticState("a, b, c : nat\nHab : a <= b\nHbc : b <= c\n============================\na <= c", 0)
    assert gen.generate(state, 1)[0][0] == "apply (Nat.le_trans _ _ _ Hab Hbc)."
    other = TacticState("Hp : P\n============================\nQ /\\ R", 1)  # no hypothesis of type Q
    assert "exact Hq." not in [t for t, _ in gen.generate(other, 8)]  # it could not run here
    keep = build_generator(GeneratorConfig(spec=f"knn:{tmp_path / 'traced'},fit=keep"))
    assert keep.generate(state, 1)[0][0] == "apply (Nat.le_trans _ _ _ Hab Hbc)."
    assert keep.generate(other, 1)[0][0] == "exact Hq."
    verbatim = build_generator(GeneratorConfig(spec=f"knn:{tmp_path / 'traced'}"))
    assert verbatim.generate(state, 1)[0][0] == "apply (Nat.le_trans _ _ _ H0 H)."


@pytest.mark.parametrize("spec", ["premises:", "knn:", "premises:/nonexistent/traced", "knn:/nonexistent/traced"])
def test_bad_dataset_specs_are_typed_errors(spec):
    with pytest.raises(GeneratorConfigError):
        build_generator(GeneratorConfig(spec=spec))


@pytest.mark.parametrize("retriever", ["sparse", "dense:", "bm25:/some/model", "dense:/nonexistent/checkpoint"])
@pytest.mark.parametrize("kind", ["premises", "knn"])
def test_bad_retrievers_are_typed_errors(tiny_dataset, kind, retriever):
    if retriever.startswith("dense:/"):
        pytest.importorskip("torch", reason="needs the ml extra: pip install 'nesy[ml]'")
    with pytest.raises(GeneratorError, match="retriever|nonexistent"):
        build_generator(GeneratorConfig(spec=f"{kind}:{tiny_dataset}", retriever=retriever))


SLICE = Path("~/.cache/nesy/traced/coq-stdlib-arith-lists").expanduser()


@pytest.mark.skipif(not (SLICE / "corpus.jsonl").is_file(), reason="the traced stdlib slice is not here")
def test_on_the_traced_slice_no_test_theorem_is_offered_itself_or_a_later_lemma():
    from provers.evaluation.data import load_library
    from provers.generators.premises import PremiseGenerator

    problems = [p for p in load_library(SLICE, "random", "test") if p.context is not None][:12]
    gen = PremiseGenerator(str(SLICE), GeneratorConfig())
    for p in problems:
        gen.begin(p)
        ctx = p.context
        own_file = gen.corpus.file_range(ctx.file)
        for i, _ in gen.retrieve(ctx.theorem.statement, 64):
            prem = gen.corpus.premises[i]
            assert prem.full_name != ctx.full_name
            if own_file[0] <= i < own_file[1]:
                assert tuple(prem.end) <= tuple(ctx.start), (ctx.full_name, prem.full_name)


def test_a_premise_of_the_theorems_own_file_is_named_relative_to_the_file(tiny_dataset):
    from provers.generators.premises import relative_name

    assert relative_name("Coq.Arith.PeanoNat.Nat.add_comm", "Arith/PeanoNat.v") == "Nat.add_comm"
    assert relative_name("Coq.Arith.PeanoNat.Nat.add_comm", "Lists/List.v") == "Coq.Arith.PeanoNat.Nat.add_comm"
    assert relative_name("Main.app_nil", "Main.v") == "app_nil"
    gen = build_generator(GeneratorConfig(spec=f"premises:{tiny_dataset}"))
    gen.begin(_target_problem())
    tactics = [t for t, _ in gen.generate(TacticState(GOAL, 0), 100)]
    assert "apply app_nil" in tactics and "apply Main.app_nil" not in tactics  # own file: relative
    assert "apply Base.rev_rev" in tactics  # another file: absolute


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_the_engine_tells_the_generator_which_problem_it_serves_before_searching():
    from nesyrun.pool import Task
    from provers.evaluation.data import builtin_problems, load_minif2f
    from provers.evaluation.job import ProofJobConfig, ProofWorker
    from provers.generators.base import TacticGenerator

    events = []

    class Recording(TacticGenerator):
        name = "recording"

        def begin(self, problem):
            events.append(("begin", problem.name))

        def _generate(self, state, k):
            events.append(("generate", None))
            return []

    (problem,) = load_minif2f(builtin_problems(), "valid")[:1]
    ProofWorker(ProofJobConfig(), generator=Recording()).run(Task(problem.name, problem))
    assert events[0] == ("begin", problem.name) and ("generate", None) in events


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_cli_eval_library_with_premises_and_knn(request, tmp_path):
    """A traced library's test theorems with ``premises:`` + ``knn:`` and closers: only kernel-checked
    proofs count, and every row is a proof attempt or a reason (the ``Program`` one)."""
    from nesy.cli import main

    data = request.getfixturevalue("traced")
    out = tmp_path / "run"
    argv = ["eval", "library", "--data", str(data), "--split", "random", "--part", "test", "--out", str(out), "--closers",
            "--generator", f"premises:{data}+knn:{data}", "--time", "20", "--tactic-timeout", "3", "--k", "8"]
    assert main(argv) == 0
    sub = next(p for p in out.iterdir() if p.is_dir())
    rows = [json.loads(line) for line in (sub / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["status"] in ("proved", "failed") or r["message"].startswith("program:") for r in rows), rows
    assert all("accepted by coqc" in r["check"] for r in rows if r["status"] == "proved")
    assert "mix(premises(bm25)" in rows[0]["generator"]


def test_knn_spec_options_set_the_bonus_and_the_fitting(tiny_dataset):
    fit = build_generator(GeneratorConfig(spec=f"knn:{tiny_dataset},bonus=0.1,fit=drop"))
    assert (fit.local_bonus, fit.fit) == (0.1, "drop")
    assert fit.name == "knn(bm25,bonus=0.1,fit=drop)"
    swap = TacticState("a, b : nat\n============================\na + b = b + a", 1)
    assert fit.generate(swap, 1)[0][0] == "intros a b; apply Base.add_swap."  # the remembered n, m fitted
    keep = build_generator(GeneratorConfig(spec=f"knn:{tiny_dataset}, fit=keep, bonus=0.25"))
    assert (keep.local_bonus, keep.fit) == (0.25, "keep")
    default = build_generator(GeneratorConfig(spec=f"knn:{tiny_dataset}"))
    assert (default.local_bonus, default.fit, default.name) == (0.0, "off", "knn(bm25)")
    assert default.generate(swap, 1)[0][0] == "intros n m; apply Base.add_swap."  # verbatim


@pytest.mark.parametrize("options", ["bonus", "bonus=-1", "bonus=x", "bonus=nan", "fit=maybe", "k=3", "fit=off,fit=keep"])
def test_bad_knn_options_are_typed_errors_naming_the_option(tiny_dataset, options):
    with pytest.raises(GeneratorConfigError, match=r"knn:.*(bad option|given twice)"):
        build_generator(GeneratorConfig(spec=f"knn:{tiny_dataset},{options}"))

"""``nesy train tactics --data TRACED``: a tactic model trained on a traced library's training
split, reading the premises retrieved at each theorem's place (ReProver's input).

The traced library is the two-file one of tests/provers/test_retrieval_generators.py (its best
premise match for the goal is a lemma *later* in the theorem's file, so the place rule can fail),
with a validation part added; the models are GPT-2s of a few thousand parameters trained for a few
steps, so every test runs in seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.dataset import CorpusFile, write_layout
from tests.provers.test_retrieval_generators import GOAL, _premise, _tactic, _theorem

pytest.importorskip("transformers")

from provers.generators.traced_training import (
    OverlapError,
    TracedTrainConfig,
    TrainingInputError,
    normalise_statement,
    place_of_traced,
    train_traced,
)

BOOL_GOALS = ["negb (negb b) = b", "andb b true = b", "orb b false = b", "xorb b b = false", "implb b b = true", "eqb b b = true"]


def build_library(root: Path, *, val_twin: str | None = None, val_name: str = "Main.val_thm") -> Path:
    """The tiny library; ``val_twin``: the statement of the validation theorem (default: its own)."""
    swap = _premise("Base.add_swap", "Base.v", "Lemma add_swap : forall n m : nat, n + m = m + n.", 1, 2)
    rev_rev = _premise("Base.rev_rev", "Base.v", "Lemma rev_rev : forall l : list nat, rev (rev l) = l.", 4, 5)
    early = _premise("Main.app_nil", "Main.v", "Lemma app_nil : forall l : list nat, l ++ nil = l.", 3, 4)
    target = _premise("Main.target", "Main.v", "Lemma target : forall l : list nat, length (rev l) = length l.", 10, 14)
    later = _premise("Main.later_lemma", "Main.v", "Lemma later_lemma : forall l : list nat, length (rev l) = length l.", 20, 22)
    fillers = [_premise(f"Bool.fact{i}", "Bool.v", f"Lemma fact{i} : forall b : bool, {g}.", 3 * i + 1, 3 * i + 2) for i, g in enumerate(BOOL_GOALS)]
    files = [CorpusFile("Bool.v", (), tuple(fillers)), CorpusFile("Base.v", (), (swap, rev_rev)),
             CorpusFile("Main.v", ("Base.v",), (early, target, later))]

    def stated(thm, statement):
        return replace(thm, theorem_statement=statement)

    bool_thms = [stated(_theorem(f"Bool.again{i}", "Bool.v", 100 + 3 * i, 101 + 3 * i,
                                 [_tactic("destruct b; reflexivity.", f"b : bool\n============================\n{g}")]),
                        f"Lemma again{i} : forall b : bool, {g}.") for i, g in enumerate(BOOL_GOALS)]
    train = [
        stated(_theorem("Base.swap_again", "Base.v", 7, 9, [_tactic("intros n m; apply Base.add_swap.", "n, m : nat\n============================\nn + m = m + n", [swap])]),
               "Lemma swap_again : forall n m : nat, n + m = m + n."),
        stated(_theorem("Main.later_lemma", "Main.v", 20, 22, [_tactic("induction l; simpl; auto.", GOAL)]),
               "Lemma later_lemma : forall l : list nat, length (rev (rev l)) = length l."),
        stated(_theorem("Main.app_nil_again", "Main.v", 40, 42, [_tactic("rewrite Main.app_nil; reflexivity.", "l : list nat\n============================\nl ++ nil = l", [early])]),
               "Lemma app_nil_again : forall l : list nat, l ++ nil = l."),
        *bool_thms,
    ]
    val_statement = val_twin or "Lemma val_thm : forall b : bool, negb (negb (negb b)) = negb b."
    val = [stated(_theorem(val_name, "Main.v", 50, 52, [_tactic("destruct b; reflexivity.", "b : bool\n============================\nnegb (negb (negb b)) = negb b")]),
                  val_statement)]
    test = [stated(_theorem("Main.target", "Main.v", 10, 14, [_tactic("exact own_secret_tactic.", GOAL)]),
                   "Lemma target : forall l : list nat, length (rev l) = length l.")]
    write_layout(root, files, {"random": {"train": train, "val": val, "test": test}})
    return root


TINY = {"vocab_size": 300, "n_layer": 1, "n_head": 2, "n_embd": 32, "n_positions": 256, "max_new_tokens": 32, "batch_size": 4,
        "steps": 6, "checkpoint_every": 2, "top_k": 4, "lr": 5e-3, "warmup": 2, "threads": 1}


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))  # the retrieval cache stays in the test's directory
    return build_library(tmp_path / "traced")


def _config(library: Path, out: Path, **kw) -> TracedTrainConfig:
    return TracedTrainConfig(data=library, out=out, **{**TINY, **kw})


# ------------------------------------------------------------------------------- the data


def test_statements_are_compared_without_keyword_name_or_layout():
    assert normalise_statement("#[local]\nLemma  foo n :\n  n = n.") == normalise_statement("Theorem bar n : n = n.") == "n : n = n."
    assert normalise_statement("Local Definition a : nat := 0.") == ": nat := 0."
    assert normalise_statement("Lemma foo : n = n.") != normalise_statement("Lemma foo : n = m.")


def test_a_training_theorem_named_like_an_evaluation_theorem_stops_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))
    data = build_library(tmp_path / "traced", val_name="Main.app_nil_again")
    out = tmp_path / "model"
    with pytest.raises(OverlapError, match="by name.*Main.app_nil_again"):
        train_traced(_config(data, out))
    with pytest.raises(OverlapError, match="by name"):  # dropping twins does not repair a broken split
        train_traced(_config(data, out, drop_overlap=True))
    assert not out.exists() or not any(out.iterdir())


def test_a_training_theorem_stated_like_an_evaluation_theorem_stops_unless_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))
    twin = "Theorem val_thm:\n  forall b : bool, negb (negb b) = b."  # Bool.again0's statement, laid out differently
    data = build_library(tmp_path / "traced", val_twin=twin)
    out = tmp_path / "model"
    with pytest.raises(OverlapError, match="Bool.again0 = Main.val_thm.*--drop-overlap"):
        train_traced(_config(data, out))
    assert not out.exists() or not any(out.iterdir())
    report = train_traced(_config(data, out, drop_overlap=True, val_limit=0))
    assert report.counts["overlap_dropped_theorems"] == 1 and report.counts["train_theorems"] == 8
    assert report.counts["traced_pairs"] == 8


# ------------------------------------------------------- training text == proving text


@pytest.mark.parametrize("retriever", ["bm25", "dense"])
def test_the_training_text_is_what_the_hf_generator_reads_at_the_same_place(library, tmp_path, retriever):
    from provers.generators.base import GeneratorConfig
    from provers.generators.hf import HFGenerator
    from provers.generators.traced_training import (
        PremiseSource,
        problem_at,
        training_input,
    )
    from retrieval.dataset import open_dataset

    if retriever == "dense":
        pytest.importorskip("faiss", reason="needs the ml extra: pip install 'nesy[ml]'")
    out = tmp_path / "model"
    report = train_traced(_config(library, out, val_limit=0, retriever=retriever))
    assert report.finished
    settings = json.loads((out / "nesy_generator.json").read_text())
    assert settings["input"] == "reprover-v1" and settings["premises"] == 8 and settings["max_input_tokens"] == 256 - 32
    assert settings["retriever"] == retriever
    gen = HFGenerator(str(out), GeneratorConfig(spec=f"hf:{out}", max_new_tokens=32, retriever=retriever), premises=str(library))
    source = PremiseSource(library.resolve(), "random", retriever, 8, {"Main.val_thm", "Main.target"})
    test_theorem = open_dataset(library).read_part("random", "test")[0]
    place = place_of_traced(test_theorem)
    checked = 0
    for state in (GOAL, "l : list nat\n============================\nl ++ nil = l", "n, m : nat\n============================\nn + m = m + n"):
        gen.begin(problem_at(place))
        proving = gen.model_input(state)
        training = training_input(gen.tokenizer, state, source.texts(state, place), max_input_chars=2000, max_input_tokens=256 - 32)
        assert training == proving
        marked = set(re.findall(r"<a>(.*?)</a>", training))
        assert marked and not marked & {"Main.target", "target", "Main.later_lemma", "later_lemma"}, marked
        checked += 1
    assert checked == 3
    # without a place the later lemma is the best match: the place rule is what keeps it out
    assert "later_lemma" in training_input(gen.tokenizer, GOAL, source.texts(GOAL, None), max_input_chars=2000, max_input_tokens=224)


def test_without_retrieval_the_model_reads_the_state_alone_and_claims_no_premises(library, tmp_path):
    from provers.generators import GeneratorConfig, build_generator
    from provers.generators.hf import CAUSAL_PROMPT

    out = tmp_path / "bare"
    train_traced(_config(library, out, retrieval=False, val_limit=0))
    settings = json.loads((out / "nesy_generator.json").read_text())
    assert "input" not in settings and "premises" not in settings
    gen = build_generator(GeneratorConfig(spec=f"hf:{out}", max_new_tokens=8))
    assert gen.retrieval is None and gen.model_input(GOAL) == CAUSAL_PROMPT.format(state=GOAL)


def test_a_retrieval_model_needs_its_premises_when_proving(library, tmp_path):
    from provers.generators import (
        GeneratorConfig,
        GeneratorConfigError,
        build_generator,
    )

    out = tmp_path / "model"
    train_traced(_config(library, out, val_limit=0))
    with pytest.raises(GeneratorConfigError, match="premises=TRACED_DIR"):
        build_generator(GeneratorConfig(spec=f"hf:{out}"))
    gen = build_generator(GeneratorConfig(spec=f"hf:{out},premises={library}", max_new_tokens=8))
    assert gen.retrieval.n == 8


def test_a_long_state_is_cut_alike_in_training_and_proving_and_keeps_its_goal(library, tmp_path):
    from provers.generators import GeneratorConfig, build_generator
    from provers.generators.hf import CAUSAL_PROMPT
    from provers.generators.training import causal_example
    from provers.protocol import TacticState

    out = tmp_path / "bare"
    train_traced(_config(library, out, retrieval=False, val_limit=0))
    gen = build_generator(GeneratorConfig(spec=f"hf:{out}", max_new_tokens=32))
    long_state = "".join(f"x{i} : nat\n" for i in range(120)) + "============================\nx0 = x0"
    assert len(long_state) < 2000  # not cut in characters (hf: keeps a state's first 2000)
    text = gen.model_input(long_state)
    assert len(gen.tokenizer(text)["input_ids"]) > 256  # longer than the model's positions
    seen = []
    real = gen.model.generate

    def generate(**kwargs):
        seen.append(kwargs["input_ids"][0].tolist())
        return real(**kwargs)

    gen.model.generate = generate
    assert gen.generate(TacticState(long_state, 0), 2)  # no IndexError past the position table
    ids, labels, cut = causal_example(gen.tokenizer, CAUSAL_PROMPT.format(state=long_state), "reflexivity.", 256, max_prompt=256 - 32)
    prompt = [t for t, y in zip(ids, labels) if y == -100]
    assert cut and seen[0] == prompt and len(prompt) == 224
    assert gen.tokenizer.decode(prompt).endswith("x0 = x0\n[PROOFSTEP]\n")

    # longer than max_input_chars: the trained model's state keeps its end, the goal, in both
    from provers.generators.traced_training import training_input

    huge = "".join(f"h{i} : nat\n" for i in range(400)) + "============================\nh0 = h0"
    assert len(huge) > 2000 and json.loads((out / "nesy_generator.json").read_text())["state_cut"] == "tail"
    shown = gen.model_input(huge)
    assert shown == training_input(gen.tokenizer, huge, None, max_input_chars=2000, max_input_tokens=224)
    assert shown.endswith("h0 = h0\n[PROOFSTEP]\n") and "h0 : nat" not in shown
    # a model that declares nothing (trained before state_cut existed) keeps the start, as before
    settings = json.loads((out / "nesy_generator.json").read_text())
    del settings["state_cut"]
    (out / "nesy_generator.json").write_text(json.dumps(settings))
    old = build_generator(GeneratorConfig(spec=f"hf:{out}", max_new_tokens=32))
    assert old.model_input(huge) == CAUSAL_PROMPT.format(state=huge[:2000])


# ----------------------------------------------------------------- reproducible, resumable


def _weights(out: Path) -> dict:
    import torch

    return torch.load(out / "train_state.pt", weights_only=False)["model"]


def test_an_interrupted_run_resumes_to_the_same_weights(library, tmp_path):
    import torch

    whole = tmp_path / "whole"
    train_traced(_config(library, whole, val_limit=0))

    class Killed(Exception):
        pass

    def kill_at_3(step, total, loss):
        if step == 3:
            raise Killed

    parts = tmp_path / "parts"
    with pytest.raises(Killed):
        train_traced(_config(library, parts, val_limit=0), on_step=kill_at_3)
    assert json.loads((parts / "training.json").read_text())["steps"] == 2  # the checkpoint before the kill
    report = train_traced(_config(library, parts, val_limit=0))
    assert report.resumed_from_step == 2 and report.steps == 6 and report.finished
    a, b = _weights(whole), _weights(parts)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a different seed gives different weights (so the equality above is not trivial)
    other = tmp_path / "other"
    train_traced(_config(library, other, val_limit=0, seed=1))
    c = _weights(other)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    # resuming with other settings is refused
    with pytest.raises(TrainingInputError, match="other settings"):
        train_traced(_config(library, parts, val_limit=0, num_premises=3))


def test_minutes_stop_a_run_that_a_rerun_finishes(library, tmp_path):
    out = tmp_path / "model"
    report = train_traced(_config(library, out, val_limit=0, minutes=1e-9))
    assert report.steps == 1 and not report.finished  # at least one step per invocation
    report = train_traced(_config(library, out, val_limit=0))
    assert report.resumed_from_step == 1 and report.finished


# --------------------------------------------------------------------- accuracy, mixing, init


def test_validation_accuracy_is_measured_through_the_hf_generator(library, tmp_path):
    out = tmp_path / "model"
    report = train_traced(_config(library, out, steps=120, checkpoint_every=1000, lr=5e-3, warmup=5, n_embd=64, vocab_size=1000))
    acc = report.accuracy
    assert acc["pairs"] == 1 and acc["k"] == 4
    # 6 of the 9 training pairs are "destruct b; reflexivity." on a bool goal: the val pair's tactic
    assert acc["top4"] == 1.0 and 0.0 <= acc["top1"] <= acc["top4"]
    assert json.loads((out / "training.json").read_text())["accuracy"] == acc


def test_synthesized_pairs_are_mixed_at_the_stated_ratio(library, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"state": f"x : nat\n============================\nx + {i} = {i} + x", "tactic": "lia."}) + "\n" for i in range(30)))
    report = train_traced(_config(library, tmp_path / "m1", pairs=pairs, pairs_ratio=0.5, val_limit=0))
    assert report.counts["traced_pairs"] == 9 and report.counts["synthesized_pairs"] == 4 and report.counts["pairs"] == 13  # round(0.5 * 9)
    assert report.counts["synthesized_pairs_in_file"] == 30
    report = train_traced(_config(library, tmp_path / "m2", pairs=pairs, val_limit=0))
    assert report.counts["synthesized_pairs"] == 30


def test_proof_pairs_are_placed_at_their_training_theorem_and_never_an_evaluation_one(library, tmp_path):
    from provers.generators.traced_training import _settings, prepare

    pairs = tmp_path / "proofs.jsonl"
    state = "l : list nat\n============================\nl ++ nil = l"
    pairs.write_text(json.dumps({"state": state, "tactic": "rewrite  Main.app_nil.", "name": "Main.app_nil_again"}) + "\n")
    _, found, _, counts, _ = prepare(_config(library, tmp_path / "m", proof_pairs=pairs))
    assert counts["proof_pairs"] == 1 and counts["pairs"] == counts["traced_pairs"] + 1
    last = found[-1]
    assert (last.state, last.tactic, last.source) == (state, "rewrite Main.app_nil.", "proof")
    assert last.place.full_name == "Main.app_nil_again" and last.place.file == "Main.v"
    for name, error, match in (("Main.target", OverlapError, "Main.target is a val/test theorem"),
                               ("Main.nowhere", TrainingInputError, "not a training theorem")):
        pairs.write_text(json.dumps({"state": state, "tactic": "auto.", "name": name}) + "\n")
        with pytest.raises(error, match=match):
            prepare(_config(library, tmp_path / "m", proof_pairs=pairs))
    assert "proof_pairs" not in _settings(_config(library, tmp_path / "m"))  # runs from before the option resume as they were


@pytest.mark.parametrize("text,match", [("", "empty"), ("{not json\n", "not JSON"), ('{"state": "s"}\n', "expected"),
                                        ('{"state": "", "tactic": "auto."}\n', "expected")])
def test_a_bad_pairs_file_is_a_typed_error(library, tmp_path, text, match):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(text)
    with pytest.raises(TrainingInputError, match=match):
        train_traced(_config(library, tmp_path / "m", pairs=pairs))


def test_fine_tuning_a_checkpoint_by_path(library, tmp_path):
    from provers.generators.training import Pair, TrainConfig, train_tactic_model

    base = tmp_path / "base"
    train_tactic_model([Pair("a : nat\n============================\na = a", "reflexivity.")] * 4, base,
                       TrainConfig(steps=2, n_embd=32, n_layer=1, n_head=2, vocab_size=300, batch_size=2, n_positions=256))
    out = tmp_path / "tuned"
    report = train_traced(_config(library, out, init=base, val_limit=0))
    assert report.finished
    assert (out / "tokenizer.json").read_text() == (base / "tokenizer.json").read_text()  # the checkpoint's own tokenizer


def test_an_init_path_without_weights_or_with_a_foreign_tokenizer_is_refused(library, tmp_path):
    from provers.generators.training import Pair, TrainConfig, train_tactic_model

    base = tmp_path / "base"
    train_tactic_model([Pair("a = a", "reflexivity.")] * 4, base, TrainConfig(steps=1, n_embd=32, n_layer=1, n_head=2, vocab_size=300, batch_size=2))
    empty = tmp_path / "noweights"
    shutil.copytree(base, empty)
    (empty / "model.safetensors").unlink()
    with pytest.raises(TrainingInputError, match="no weights"):
        train_traced(_config(library, tmp_path / "m", init=empty))
    with pytest.raises(TrainingInputError, match="not a model directory"):
        train_traced(_config(library, tmp_path / "m", init=tmp_path / "nothing"))
    bigger = tmp_path / "bigtok"
    train_tactic_model([Pair("a = a" * i, f"tac{i}.") for i in range(40)], bigger,
                       TrainConfig(steps=1, n_embd=32, n_layer=1, n_head=2, vocab_size=600, batch_size=2))
    foreign = tmp_path / "foreign"
    shutil.copytree(base, foreign)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(bigger / name, foreign / name)
    with pytest.raises(TrainingInputError, match="does not match the model"):
        train_traced(_config(library, tmp_path / "m", init=foreign))


def test_a_directory_that_is_not_a_traced_dataset_is_refused(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(TrainingInputError, match="not a usable traced dataset"):
        train_traced(TracedTrainConfig(data=tmp_path / "plain", out=tmp_path / "m"))


# ------------------------------------------------------------------------------------ CLI


def _cli(*args: str) -> tuple[int, str]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "nesy", "train", "tactics", *args], check=False, cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "NESY_CACHE": os.environ["NESY_CACHE"]}, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_cli_trains_and_reports(library, tmp_path):
    out = tmp_path / "cli-model"
    rc, text = _cli("--data", str(library), "--out", str(out), "--steps", "3", "--layers", "1", "--heads", "2", "--dim", "32",
                    "--vocab", "300", "--positions", "256", "--max-new-tokens", "32", "--batch", "4", "--k", "2")
    assert rc == 0, text
    assert "trained on 9 pairs (9 traced from 9 theorems of random/train, 0 synthesized)" in text
    assert re.search(r"validation \(random/val, 1 pairs\): top-1 \d\.\d+, top-2 \d\.\d+", text), text
    assert f"--generator hf:{out},premises={library}" in text


@pytest.mark.parametrize("args,match", [
    (["--data", "/nonexistent/traced"], "not a usable traced dataset"),
    (["--no-retrieval"], "needs --data"),
    (["--data", "{lib}", "--lemmas", "5"], "--lemmas"),
    (["--data", "{lib}", "--premise-drop", "1.5"], "premise-drop"),
    (["--data", "{lib}", "--pairs", "/nonexistent/pairs.jsonl"], "cannot read"),
])
def test_the_cli_prints_bad_input_as_an_error(library, args, match):
    rc, text = _cli(*[a.format(lib=library) for a in args])
    assert rc != 0 and "nesy: error:" in text and match in text and "Traceback" not in text, text

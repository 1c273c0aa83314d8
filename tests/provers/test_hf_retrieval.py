"""``hf:PATH,premises=TRACED``: a transformers model reading ReProver's input (retrieved premises,
then the state), and the one formatting function a trainer shares with it.

The models are real tiny transformers built here (a GPT-2 trained for a few steps with its own BPE
tokenizer, and a T5 built from a config with the same tokenizer); what they read is checked at
``model.generate``, the last step before the weights. The traced dataset is the two-file one of
tests/provers/test_retrieval_generators.py, where the best match for the goal is a lemma *later*
in the theorem's file, so the place rule can fail.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
from pathlib import Path

import pytest

from provers.generators import GeneratorConfig, GeneratorConfigError, build_generator
from provers.generators.reprover_input import format_augmented_state, serialize_premise, utf8_length
from provers.protocol import Problem, TacticState
from tests.provers.test_retrieval_generators import GOAL, _target_problem, build_tiny_dataset

# ------------------------------------------------------------------------- the format itself


def test_premises_come_before_the_state_best_last_each_followed_by_a_blank_line():
    out = format_augmented_state("STATE", ["best", "second", "third"])
    assert out == "third\n\nsecond\n\nbest\n\nSTATE"


def test_premises_that_do_not_fit_are_left_out_whole_and_the_state_is_never_cut():
    # budget 20 bytes: the state takes 5, "best\n\n" 6, "a-very-long-premise\n\n" 21 (skipped), "ok\n\n" 4
    out = format_augmented_state("STATE", ["best", "a-very-long-premise", "ok"], max_len=20)
    assert out == "ok\n\nbest\n\nSTATE" and utf8_length(out) <= 20
    long_state = "x" * 50
    assert format_augmented_state(long_state, ["p"], max_len=10) == long_state  # no room: the state alone, whole
    # the length is the caller's: here one unit per word
    words = lambda s: len(s.split())  # noqa: E731
    assert format_augmented_state("a b", ["c d", "e f g", "h"], max_len=6, length=words) == "h\n\nc d\n\na b"


def test_premise_dropout_is_repeatable_and_needs_an_rng():
    premises = [f"p{i}" for i in range(40)]
    a = format_augmented_state("S", premises, drop=0.5, rng=random.Random(7))
    b = format_augmented_state("S", premises, drop=0.5, rng=random.Random(7))
    assert a == b and 5 < a.count("\n\n") < 35  # some dropped, some kept
    with pytest.raises(ValueError, match="rng"):
        format_augmented_state("S", premises, drop=0.5)
    with pytest.raises(ValueError, match="drop"):
        format_augmented_state("S", premises, drop=1.0, rng=random.Random(0))


def test_the_prompt_around_premises_and_state_fits_the_whole_length_even_when_pieces_do_not_add_up():
    from provers.generators.reprover_input import model_text

    prompt = "[GOAL]\n{state}\n[PROOFSTEP]\n"
    chars = len  # the whole text: one unit per character
    out = model_text(prompt, "STATE", ["aaaa", "bbbb", "cccc"], 40, tokens=chars)
    assert out == "[GOAL]\nbbbb\n\naaaa\n\nSTATE\n[PROOFSTEP]\n" and len(out) <= 40
    # pieces counted as half their length: the first try overshoots, the budget shrinks until it fits
    out = model_text(prompt, "STATE", ["aaaa", "bbbb", "cccc"], 40, tokens=chars, piece_tokens=lambda t: len(t) // 2)
    assert len(out) <= 40 and out.endswith("aaaa\n\nSTATE\n[PROOFSTEP]\n")
    assert model_text(prompt, "S" * 50, ["aaaa"], 40, tokens=chars) == prompt.format(state="S" * 50)  # the state whole
    premises = [f"p{i}" for i in range(30)]
    a = model_text(prompt, "S", premises, 60, tokens=chars, piece_tokens=lambda t: len(t) // 2, drop=0.5, rng=random.Random(1))
    b = model_text(prompt, "S", premises, 60, tokens=chars, piece_tokens=lambda t: len(t) // 2, drop=0.5, rng=random.Random(1))
    assert a == b and len(a) <= 60


def test_a_premise_is_its_statement_with_the_declared_name_marked():
    code = "Lemma add_comm : forall n m : nat, n + m = m + n."
    assert serialize_premise(code, "Coq.Arith.PeanoNat.Nat.add_comm") == \
        "Lemma <a>Coq.Arith.PeanoNat.Nat.add_comm</a> : forall n m : nat, n + m = m + n."
    assert serialize_premise(code, "Main.add_comm", "add_comm") == "Lemma <a>add_comm</a> : forall n m : nat, n + m = m + n."
    # a longer name that starts with the same letters is not the declared one
    assert serialize_premise("Lemma add_comm_l : True.", "M.add_comm") == "<a>M.add_comm</a> : Lemma add_comm_l : True."
    assert serialize_premise("Axioms a b : nat.", "M.c") == "<a>M.c</a> : Axioms a b : nat."
    assert serialize_premise("pow_inj_l : forall a b c : nat, a ^ c = b ^ c -> a = b", "Coq.Arith.PeanoNat.Nat.pow_inj_l") == \
        "<a>Coq.Arith.PeanoNat.Nat.pow_inj_l</a> : forall a b c : nat, a ^ c = b ^ c -> a = b"


# ------------------------------------------------------------------------- the hf: generator


PAIRS_STATES = [GOAL, "n, m : nat\n============================\nn + m = m + n", "b : bool\n============================\nnegb (negb b) = b"]


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    pytest.importorskip("transformers")
    from provers.generators.training import Pair, TrainConfig, train_tactic_model

    pairs = [Pair(s, t) for s in PAIRS_STATES for t in ("induction l; simpl; auto.", "apply Base.add_swap.", "destruct b; reflexivity.")]
    out = tmp_path_factory.mktemp("gpt2")
    train_tactic_model(pairs, out, TrainConfig(steps=4, n_embd=32, n_layer=1, n_head=2, vocab_size=300, batch_size=2))
    return out


@pytest.fixture(scope="module")
def tiny_t5(tiny_gpt2, tmp_path_factory):
    """A seq2seq model (ReProver's kind) from a T5 config, with the GPT-2's tokenizer."""
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny_gpt2))
    config = transformers.T5Config(vocab_size=len(tok), d_model=32, d_kv=16, d_ff=64, num_layers=1, num_heads=2,
                                   pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)
    out = tmp_path_factory.mktemp("t5")
    transformers.T5ForConditionalGeneration(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture
def tiny_dataset(tmp_path):
    return build_tiny_dataset(tmp_path / "traced")


def _spy_model_input(gen) -> list[str]:
    """Record, decoded, every input the model's ``generate`` is given."""
    seen: list[str] = []
    real = gen.model.generate

    def generate(**kwargs):
        seen.append(gen.tokenizer.decode(kwargs["input_ids"][0], skip_special_tokens=True))
        return real(**kwargs)

    gen.model.generate = generate
    return seen


def test_hf_without_a_retriever_reads_the_bare_state_as_before(tiny_gpt2, tiny_dataset):
    from provers.generators.hf import CAUSAL_PROMPT

    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_gpt2}", max_new_tokens=6))
    assert gen.retrieval is None and gen.name == f"hf:{tiny_gpt2.name}"
    seen = _spy_model_input(gen)
    before = gen.generate(TacticState(GOAL, 0), 3)
    gen.begin(_target_problem())  # a place changes nothing without a retriever
    assert gen.generate(TacticState(GOAL, 0), 3) == before
    assert seen == [CAUSAL_PROMPT.format(state=GOAL)] * 2
    assert "<a>" not in seen[0]


def test_retrieved_premises_reach_the_model_and_never_the_theorem_or_what_follows_it(tiny_gpt2, tiny_dataset, monkeypatch):
    import provers.generators.reprover_input as reprover_input

    calls = []
    real_format = reprover_input.format_augmented_state

    def spy(state, premises, *args, **kwargs):
        calls.append((state, list(premises)))
        return real_format(state, premises, *args, **kwargs)

    monkeypatch.setattr(reprover_input, "format_augmented_state", spy)
    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_gpt2},premises={tiny_dataset},n=8", max_new_tokens=6))
    assert gen.name == f"hf:{tiny_gpt2.name}[premises:bm25,n=8]"
    seen = _spy_model_input(gen)
    state = TacticState(GOAL, 0)
    # No place (a stand-alone problem): the whole corpus, so the later lemma is the best match and
    # the checks below can fail.
    gen.generate(state, 3)
    assert "<a>Main.later_lemma</a>" in seen[-1]
    gen.begin(_target_problem())
    cands = gen.generate(state, 3)
    assert cands and all(math.isfinite(s) for _, s in cands)
    text = seen[-1]
    # what the model read is the formatting function's output, inside the causal prompt
    assert calls[-1][0] == GOAL and text == f"[GOAL]\n{real_format(GOAL, calls[-1][1])}\n[PROOFSTEP]\n"
    assert "<a>Base.rev_rev</a>" in text and "<a>app_nil</a>" in text  # own file: named relative to it
    assert text.endswith(f"\n\n{GOAL}\n[PROOFSTEP]\n")  # the state whole, right after the premises
    for forbidden in ("later_lemma", "later_user", "<a>target</a>", "<a>Main.target</a>", "Bool."):
        assert forbidden not in text, (forbidden, text)
    # the best-ranked accessible premise sits right above the state
    best = calls[-1][1][0]
    assert text.index(best) == max(text.index(p) for p in calls[-1][1])


def test_the_premises_fit_the_models_input_length(tiny_gpt2, tiny_dataset, tmp_path):
    model = tmp_path / "short"
    shutil.copytree(tiny_gpt2, model)
    settings = json.loads((model / "nesy_generator.json").read_text())
    gen = build_generator(GeneratorConfig(spec=f"hf:{model},premises={tiny_dataset}", max_new_tokens=6))
    gen.begin(_target_problem())
    full = gen.model_input(GOAL)
    limit = len(gen.tokenizer(full)["input_ids"]) - 5  # room for all but (at least) one premise
    (model / "nesy_generator.json").write_text(json.dumps({**settings, "max_input_tokens": limit}))
    short = build_generator(GeneratorConfig(spec=f"hf:{model},premises={tiny_dataset}", max_new_tokens=6))
    short.begin(_target_problem())
    text = short.model_input(GOAL)
    assert len(short.tokenizer(text)["input_ids"]) <= limit
    assert 0 < text.count("<a>") < full.count("<a>") and text.endswith(f"{GOAL}\n[PROOFSTEP]\n")
    # a limit below the prompt and state alone: no premise, the state still whole
    (model / "nesy_generator.json").write_text(json.dumps({**settings, "max_input_tokens": 16}))
    tiny = build_generator(GeneratorConfig(spec=f"hf:{model},premises={tiny_dataset}", max_new_tokens=6))
    assert tiny.model_input(GOAL) == f"[GOAL]\n{GOAL}\n[PROOFSTEP]\n"


def test_a_model_trained_on_premises_declares_it_and_plugs_in(tiny_gpt2, tiny_dataset, tmp_path):
    model = tmp_path / "reprover"
    shutil.copytree(tiny_gpt2, model)
    settings = json.loads((model / "nesy_generator.json").read_text())
    (model / "nesy_generator.json").write_text(json.dumps({**settings, "input": "reprover-v1", "premises": 2}))
    with pytest.raises(GeneratorConfigError, match="premises=TRACED_DIR"):
        build_generator(GeneratorConfig(spec=f"hf:{model}"))
    gen = build_generator(GeneratorConfig(spec=f"hf:{model},premises={tiny_dataset}"))
    assert gen.retrieval.n == 2 and gen.model_input(GOAL).count("<a>") == 2
    (model / "nesy_generator.json").write_text(json.dumps({**settings, "input": "lean-v9"}))
    with pytest.raises(GeneratorConfigError, match="unknown input format"):
        build_generator(GeneratorConfig(spec=f"hf:{model}"))


def test_a_seq2seq_model_reads_premises_and_state_alone(tiny_t5, tiny_dataset):
    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_t5},premises={tiny_dataset},n=3", max_new_tokens=6))
    assert gen.seq2seq
    seen = _spy_model_input(gen)
    gen.begin(_target_problem())
    gen.generate(TacticState(GOAL, 0), 2)
    assert seen[-1].endswith(f"\n\n{GOAL}") and seen[-1].count("<a>") == 3 and "later_lemma" not in seen[-1]


@pytest.mark.parametrize("suffix,match", [
    (",retriever=dense", "bad option"),
    (",n=4", "needs premises="),
    (",premises=/nonexistent/traced", "not a traced dataset"),
    (",premises={data},n=zero", "whole number"),
    (",premises={data},n=0", "at least 1"),
    (",premises={data},premises={data}", "twice"),
])
def test_bad_retrieval_options_are_typed_errors(tiny_gpt2, tiny_dataset, suffix, match):
    with pytest.raises(GeneratorConfigError, match=match):
        build_generator(GeneratorConfig(spec=f"hf:{tiny_gpt2}{suffix.format(data=tiny_dataset)}"))


def test_hf_with_premises_in_a_mix_is_told_the_theorem(tiny_gpt2, tiny_dataset):
    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_gpt2},premises={tiny_dataset},n=8*0.5+portfolio*0.5", max_new_tokens=6))
    hf = gen.parts[0][0]
    hf.begin(Problem("x", "x.v", None))
    assert "later_lemma" in hf.model_input(GOAL)
    gen.begin(_target_problem())
    assert "later_lemma" not in hf.model_input(GOAL)


SLICE = Path("~/.cache/nesy/traced/coq-stdlib-arith-lists").expanduser()


@pytest.mark.skipif(not (SLICE / "corpus.jsonl").is_file(), reason="the traced stdlib slice is not here")
def test_on_the_traced_slice_the_model_never_reads_its_theorem_or_a_later_lemma(tiny_gpt2):
    from provers.evaluation.data import load_library
    from provers.generators.premises import relative_name

    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_gpt2},premises={SLICE},n=32", max_new_tokens=6))
    corpus = gen.retrieval.corpus
    problems = [p for p in load_library(SLICE, "random", "test") if p.context is not None][:12]
    assert problems
    for p in problems:
        ctx = p.context
        first, stop = corpus.file_range(ctx.file)
        later = {relative_name(q.full_name, q.path) for q in corpus.premises[first:stop] if tuple(q.end) > tuple(ctx.start)}
        gen.begin(p)
        text = gen.model_input(ctx.theorem.statement)
        marked = set(re.findall(r"<a>(.*?)</a>", text))
        assert marked, ctx.full_name
        assert ctx.full_name not in marked and not (marked & later), (ctx.full_name, marked & later)

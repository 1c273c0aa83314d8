"""The LLM translator: completion reading and a transformers model
(a tiny randomly initialised one built from a config, standing in for SmolLM2 to keep the
suite fast; the real SmolLM2 run is in docs/logic.md). OpenAI-compatible servers:
tests/test_openai_client.py and, against a real `transformers serve`, tests/test_model_server.py."""

from __future__ import annotations


import pytest

from logic.errors import ModelError, UnknownBackendError
from logic.solvers import ErrorStage
from logic.syntax import Const, Pred
from logic.translate.llm import (
    LLMConfig,
    LLMTranslator,
    Translation,
    TranslationFailure,
    load_prompt,
    make_backend,
    parse_completion,
    problem_block,
    settled,
)

GOOD = "1. Big(bob)\n2. all x.(Big(x) -> Red(x))\nConclusion: Red(bob)\n### End"


def test_parse_completion_reads_numbered_formulas():
    t = parse_completion(GOOD, 2)
    assert isinstance(t, Translation)
    assert t.premises[0] == Pred("Big", (Const("bob"),)) and t.conclusion == Pred("Red", (Const("bob"),))


@pytest.mark.parametrize(
    "text, stage, words",
    [
        ("1. Big(bob)\nConclusion: Red(bob)", ErrorStage.TRANSLATION, "premise 2"),
        ("1. Big(bob)\n2. all x.(Big(x) -> Red(x)\nConclusion: Red(bob)", ErrorStage.PARSE, "premise 2"),
        ("1. Big(bob)\n2. Red(bob)\n", ErrorStage.TRANSLATION, "Conclusion"),
        ("1. Bob is big.\n2. Red(bob)\nConclusion: Red(bob)", ErrorStage.PARSE, "premise 1"),
        ("", ErrorStage.TRANSLATION, "0 of 2"),
    ],
)
def test_parse_completion_failures_say_which_stage(text, stage, words):
    result = parse_completion(text, 2)
    assert isinstance(result, TranslationFailure) and result.stage is stage and words in result.message


def test_a_sample_is_settled_as_soon_as_its_verdict_is_known():
    assert not settled("1. Big(bob)\n2. all x.(Big", 2)
    assert settled("1. Big(bob)\n3. Red(bob)\n", 2)  # wrong numbering: already a failure
    assert settled(GOOD, 2)


def test_prompts_are_data_files():
    for dataset in ("proofwriter", "folio", "prontoqa"):
        text = load_prompt(dataset)
        assert "### Problem" in text and "### Translation" in text
    assert problem_block(["Bob is big."], "Bob is red.").endswith("Conclusion: Bob is red.\n### Translation\n")


def test_unknown_llm_spec():
    with pytest.raises(UnknownBackendError, match="hf:PATH or openai:URL"):
        make_backend("gguf:/x")
    with pytest.raises(ModelError, match="does not exist"):
        make_backend("hf:/nonexistent/model")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    path = tmp_path_factory.mktemp("tiny-lm")
    corpus = [load_prompt("proofwriter"), GOOD]
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel()
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.train_from_iterator(corpus, tokenizers.trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<eos>"]))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", unk_token="<unk>")
    fast.save_pretrained(path)
    config = transformers.LlamaConfig(vocab_size=fast.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096, eos_token_id=fast.eos_token_id)
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(path)
    return path


def test_hf_translator_returns_k_readings_deterministically(tiny_model):
    config = LLMConfig(spec=f"hf:{tiny_model}", samples=3, max_new_tokens=12, seed=1)
    translator = LLMTranslator("proofwriter", config)
    first = translator.translate(["Bob is big."], "Bob is red.")
    again = translator.translate(["Bob is big."], "Bob is red.")  # second call reuses the prefix cache
    assert len(first) == 3
    assert all(isinstance(r, (Translation, TranslationFailure)) for r in first)
    assert [r.raw for r in first] == [r.raw for r in again]  # same seed, same samples

"""The LLM translator: completion reading, an OpenAI-compatible endpoint (a tiny local HTTP
server standing in for vLLM/OpenAI, which cannot be reached here) and a transformers model
(a tiny randomly initialised one built from a config, standing in for SmolLM2 to keep the
suite fast; the real SmolLM2 run is in docs/logic.md)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from logic.errors import ModelError, UnknownBackendError
from logic.evaluation import EvalConfig, run_eval
from logic.provers import ErrorStage
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


class _Completions(BaseHTTPRequestHandler):
    replies: list[str] = []
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, **body})
        choices = [{"index": i, "text": self.replies[i % len(self.replies)]} for i in range(body["n"])]
        data = json.dumps({"choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = HTTPServer(("127.0.0.1", 0), _Completions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Completions.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_endpoint_k_samples_and_majority_vote(endpoint, tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps([{"id": "p1", "context": "Bob is big. Big things are red.", "question": "Is it true? Bob is red.", "answer": "A"}]))
    _Completions.replies = [GOOD, "1. Big(bob)\n2. all x.(Big(x) -> Red(x))\nConclusion: -Red(bob)\n", GOOD, "garbage"]
    out = tmp_path / "out.jsonl"
    summary = run_eval(
        EvalConfig("proofwriter", data, translator=f"openai:{endpoint}", provers=("z3",), output=out, progress=False, llm=LLMConfig(spec=f"openai:{endpoint}", samples=4))
    )
    assert summary.correct == 1
    record = json.loads(out.read_text())
    assert record["votes"] == {"True": 2, "False": 1}  # the unreadable sample is excluded
    assert record["samples"][3]["error"] == "translation"
    request = _Completions.requests[0]
    assert request["path"] == "/v1/completions" and request["n"] == 4 and request["stop"] == ["### End"]
    assert request["prompt"].startswith(load_prompt("proofwriter")) and "1. Bob is big." in request["prompt"]


def test_openai_endpoint_down_is_a_translation_error_not_a_crash(tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps([{"id": "p1", "context": "Bob is big.", "question": "Bob is big.", "answer": "A"}]))
    url = "openai:http://127.0.0.1:9/v1"  # nothing listens on the discard port
    summary = run_eval(EvalConfig("proofwriter", data, translator=url, provers=("z3",), progress=False, llm=LLMConfig(spec=url, samples=2, request_timeout_s=5)))
    assert summary.errors_by_stage == {"translation": 1}


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

"""The ``openai:`` generator and translator against a REAL OpenAI-compatible server:
``transformers serve`` with SmolLM2-135M-Instruct on a loopback port (the ``model_server`` session
fixture in conftest.py). ``transformers serve`` ignores ``n`` and returns no log-probabilities,
which is what the two bugs of issue 15 were about:

- a search asking for k tactics got 1 per expansion (the server ignored ``n``);
- ``--translator openai:URL#MODEL`` posted to ``.../v1#MODEL/completions``, got HTTP 404 for every
  problem and exited 0 with 0% accuracy.

Completions are kept short (a few tokens): these tests check behaviour, not the model.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from nesy.cli import main
from nesyrun.openai_client import ClientConfig, Endpoint, EndpointTimeoutError, OpenAIClient
from provers.generators import GeneratorConfig, GeneratorError, build_generator
from provers.protocol import TacticState

pytestmark = pytest.mark.server

STATE = TacticState("n : nat\n============================\nn + 0 = n", 0)


def test_generator_draws_k_tactics_from_a_server_that_ignores_n(model_server):
    # decoding="beam" is what `nesy eval minif2f` uses by default for best-first search
    gen = build_generator(GeneratorConfig(spec=f"openai:{model_server.spec}", decoding="beam", max_new_tokens=4))
    try:
        out = gen.generate(STATE, 4)
        stats = gen.client.stats
        assert gen.client.honours_n is False  # the server answered one choice to n=4 ...
        assert stats.samples == 4 and stats.repeat_requests == 3  # ... so the client asked 3 more times
        assert 1 <= len(out) <= 4 and all(isinstance(t, str) and t for t, _ in out)
        assert gen.scored_by == "frequency"  # no logprobs from this server: the documented fallback
        assert all(math.log(1 / 4) - 1e-9 <= s <= 0.0 for _, s in out)
        assert [s for _, s in out] == sorted((s for _, s in out), reverse=True)
    finally:
        gen.close()
    alone = build_generator(GeneratorConfig(spec=f"openai:{model_server.url}"))  # no #MODEL: the one it lists
    assert alone.model == model_server.model
    with pytest.raises(GeneratorError, match="'no-such-model' is not served"):
        build_generator(GeneratorConfig(spec=f"openai:{model_server.url}#no-such-model"))


def _proofwriter(tmp_path: Path) -> Path:
    data = tmp_path / "pw.json"
    data.write_text(json.dumps([{"id": "p1", "context": "Bob is big. Big things are red.", "question": "Bob is red.", "answer": "A"}]))
    return data


SHORT_PROMPT = """Translate the premises and the conclusion to first-order logic.

### Problem
Premises:
1. Anne is kind.
Conclusion: Anne is kind.
### Translation
1. Kind(anne)
Conclusion: Kind(anne)
### End
"""


def test_translator_takes_the_same_spelling(model_server, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    prompt = tmp_path / "prompt.txt"  # one example instead of the built-in few-shot prompt: a short prefill
    prompt.write_text(SHORT_PROMPT)
    code = main(["eval", "proofwriter", "--data", str(_proofwriter(tmp_path)), "--translator", f"openai:{model_server.spec}", "--prompt", str(prompt),
                 "--samples", "2", "--max-new-tokens", "8", "--prover", "z3", "--out", str(out), "--no-progress"])
    assert code == 0
    record = json.loads(out.read_text())
    assert len(record["samples"]) == 2  # two samples from the model, not one failed request
    assert all(isinstance(s.get("raw"), str) for s in record["samples"])
    assert "HTTP" not in json.dumps(record)


def test_missing_model_or_server_is_one_error_line(model_server, tmp_path, capsys):
    data = str(_proofwriter(tmp_path))
    for spec, words in [(f"{model_server.url}#not-a-model", "'not-a-model' is not served"), ("http://127.0.0.1:9/v1#m", "no server answers")]:
        code = main(["eval", "proofwriter", "--data", data, "--translator", f"openai:{spec}", "--out", str(tmp_path / "x.jsonl"), "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("nesy: error:") and words in err[0], err
    theorems = tmp_path / "thms"
    theorems.mkdir()
    (theorems / "t1.v").write_text("Theorem t1 : forall n : nat, n + 0 = n.\nProof.\n")
    code = main(["eval", "minif2f", "--data", str(theorems), "--generator", f"openai:{model_server.url}#not-a-model", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()  # probed before the job starts: no header, no progress bar
    assert code == 2 and len(err) == 1 and err[0].startswith("nesy: error:") and "'not-a-model' is not served" in err[0], err


def test_minif2f_search_through_the_server(model_server, tmp_path, capsys):
    if shutil.which("coqidetop.opt") is None:
        pytest.skip("Coq is not installed (scripts/setup.sh installs it)")
    theorems = tmp_path / "thms"
    theorems.mkdir()
    (theorems / "t1.v").write_text("Theorem t1 : forall n : nat, n + 0 = n.\nProof.\n")
    out = tmp_path / "runs"
    code = main(["eval", "minif2f", "--data", str(theorems), "--generator", f"openai:{model_server.spec}", "--k", "2",
                 "--expansions", "1", "--time", "30", "--tactic-timeout", "2", "--max-new-tokens", "4", "--out", str(out)])
    assert code == 0
    rows = [json.loads(line) for p in out.glob("*/results.jsonl") for line in p.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["status"] in ("proved", "failed"), rows  # ran: not an error row
    assert rows[0]["nodes_expanded"] == 1 and rows[0]["model_s"] > 0


def test_chat_api_and_the_request_time_limit(model_server):
    chat = OpenAIClient(model_server.spec, ClientConfig(api="chat"))
    samples = chat.complete("Say hello.", n=2, max_tokens=2, seed=1)
    assert len(samples) == 2 and all(isinstance(s.text, str) for s in samples)
    hasty = OpenAIClient(Endpoint(model_server.url, model_server.model, "completions"), ClientConfig(request_timeout_s=0.01, max_retries=0), probe=False)
    with pytest.raises(EndpointTimeoutError, match="within 0.01 s"):
        hasty.complete("Count to ten: 1, 2,", max_tokens=8)

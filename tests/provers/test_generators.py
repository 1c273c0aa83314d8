"""Tactic generators: portfolio, mix, transformers (a tiny model trained here), bad input.
(OpenAI-compatible servers: tests/test_openai_client.py and tests/test_model_server.py.)"""

import math
import time

import pytest

from provers.generators import GeneratorConfig, GeneratorConfigError, GeneratorError, GeneratorOutputError, build_generator, validate_candidates
from provers.protocol import TacticState

STATE = TacticState("x : R\nH : 2 * x + 1 = 5\n============================\nx = 2", 0)


def test_portfolio_and_mix():
    p = build_generator(GeneratorConfig(spec="portfolio"))
    cands = p.generate(STATE, 3)
    assert [t for t, _ in cands] == ["reflexivity", "intros; lia", "intros; lra"]
    assert all(math.isclose(s, -math.log(len(p.tactics))) for _, s in cands)
    mine = build_generator(GeneratorConfig(spec="portfolio:lia;;lra"))
    assert mine.generate(STATE, 5) == [("lia", -math.log(2)), ("lra", -math.log(2))]
    mix = build_generator(GeneratorConfig(spec="portfolio:lia;;lra*3+portfolio:ring;;lia*1"))
    out = dict(mix.generate(STATE, 4))
    assert set(out) == {"lia", "lra", "ring"}  # 'lia' from both parts, kept once with its best score
    assert math.isclose(out["lia"], -math.log(2) + math.log(0.75))
    with pytest.raises(GeneratorConfigError, match="unknown generator 'nope'"):
        build_generator(GeneratorConfig(spec="nope:x"))


def test_validate_candidates_rejects_garbage():
    assert validate_candidates([(" lia ", -1.0), ("lia", -0.5), ("", -0.1), ("lra", -2)], 5) == [("lia", -0.5), ("lra", -2.0)]
    for bad in ("lia", [("lia",)], [(1, -1.0)], [("lia", "x")], [("lia", math.inf)], None):
        with pytest.raises(GeneratorOutputError):
            validate_candidates(bad, 3)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("transformers")
    from provers.generators.training import Pair, TrainConfig, train_tactic_model

    pairs = [Pair(f"x : R\nH : {a} * x + 1 = {2 * a + 1}\n============================\nx = 2", "intros; lra") for a in range(2, 9)]
    pairs += [Pair(f"n : nat\n============================\nn + {a} = {a} + n", "lia") for a in range(2, 9)]
    out = tmp_path_factory.mktemp("model")
    report = train_tactic_model(pairs, out, TrainConfig(steps=30, n_embd=32, n_layer=1, n_head=2, vocab_size=300, batch_size=4))
    assert report.pairs == 14 and math.isfinite(report.final_loss)
    return out


def test_transformers_generator_beam_and_sampling(tiny_model):
    gen = build_generator(GeneratorConfig(spec=f"hf:{tiny_model}", decoding="beam", max_new_tokens=12))
    cands = gen.generate(STATE, 4)
    assert 1 <= len(cands) <= 4 and len({t for t, _ in cands}) == len(cands)
    assert all(s < 0 and math.isfinite(s) for _, s in cands)
    assert [s for _, s in cands] == sorted((s for _, s in cands), reverse=True)
    # the score is the summed token log-probability: rescoring the text gives the same number
    torch = pytest.importorskip("torch")
    tok, model = gen.tokenizer, gen.model
    prompt = tok(gen.prompt.format(state=STATE.pp), return_tensors="pt")["input_ids"]
    target = tok(cands[0][0], return_tensors="pt")["input_ids"][0].tolist() + [tok.eos_token_id]
    ids = torch.cat([prompt, torch.tensor([target])], dim=1)
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, prompt.shape[1] - 1 : -1], dim=-1)
    manual = float(sum(logp[i, t] for i, t in enumerate(target)))
    assert math.isclose(manual, cands[0][1], abs_tol=1e-3)
    s1 = build_generator(GeneratorConfig(spec=f"hf:{tiny_model}", decoding="sample", seed=3, max_new_tokens=12)).generate(STATE, 6)
    s2 = build_generator(GeneratorConfig(spec=f"hf:{tiny_model}", decoding="sample", seed=3, max_new_tokens=12)).generate(STATE, 6)
    assert s1 == s2 and s1


def test_missing_model_path(tmp_path):
    with pytest.raises(GeneratorConfigError, match="does not exist"):
        build_generator(GeneratorConfig(spec=f"hf:{tmp_path}/no/such/model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeneratorConfigError, match="no config.json"):
        build_generator(GeneratorConfig(spec=f"hf:{tmp_path}/empty"))


@pytest.mark.slow
def test_unreachable_hub_is_a_clear_error(monkeypatch):
    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)  # no network here: skip the client's retries
    t0 = time.monotonic()
    with pytest.raises(GeneratorError, match="hub"):
        build_generator(GeneratorConfig(spec="hf:nesy-test/definitely-not-a-model"))
    assert time.monotonic() - t0 < 60



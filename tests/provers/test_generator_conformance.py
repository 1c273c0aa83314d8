"""One conformance suite for every tactic generator the registry builds (portfolio, hf, openai,
mixes): valid ``(tactic, finite logprob)`` pairs, best first, distinct, ``k`` respected, typed
errors. The openai generator talks to the stand-in server of tests/nesyrun/test_openai_client.py
(a real HTTP server on a loopback port; a real ``transformers serve`` is tests/nesyrun/test_model_server.py)."""

import math

import pytest

from provers.generators import GeneratorConfig, GeneratorConfigError, GeneratorError, build_generator
from provers.protocol import TacticState
from tests.nesyrun.test_openai_client import _closed_port_url, server  # noqa: F401 - fixture
from tests.provers.test_generators import tiny_model  # noqa: F401 - fixture
from tests.provers.test_retrieval_generators import build_tiny_dataset

STATES = [
    TacticState("x : R\nH : 2 * x + 1 = 5\n============================\nx = 2", 0),
    TacticState("n : nat\n============================\nn + 3 = 3 + n", 1),
    TacticState("============================\nTrue", 2),
]


@pytest.fixture(params=["portfolio", "portfolio:custom", "hf", "hf+premises", "openai", "mix", "premises", "knn", "mix:retrieval"])
def spec(request, tmp_path):
    kind = request.param
    if kind == "portfolio":
        return "portfolio"
    if kind == "portfolio:custom":
        return "portfolio:intros; lia;;intros; lra;;auto;;tauto"
    if kind == "hf":
        return f"hf:{request.getfixturevalue('tiny_model')}"
    if kind == "hf+premises":
        return f"hf:{request.getfixturevalue('tiny_model')},premises={build_tiny_dataset(tmp_path / 'traced')},n=4"
    if kind == "openai":
        return f"openai:{request.getfixturevalue('server').url}#m"
    if kind in ("premises", "knn"):
        return f"{kind}:{build_tiny_dataset(tmp_path / 'traced')}"
    if kind == "mix:retrieval":
        data = build_tiny_dataset(tmp_path / "traced")
        return f"premises:{data}*0.5+knn:{data}*0.3+portfolio*0.2"
    return "portfolio*0.5+portfolio:auto;;intros; nia*0.5"


@pytest.mark.parametrize("decoding", ["beam", "sample"])
def test_every_generator_gives_valid_pairs_and_respects_k(spec, decoding):
    gen = build_generator(GeneratorConfig(spec=spec, decoding=decoding, max_new_tokens=12, seed=1))
    try:
        assert isinstance(gen.name, str) and gen.name
        for state in STATES:
            assert gen.generate(state, 0) == []
            for k in (1, 3, 8):
                cands = gen.generate(state, k)
                assert isinstance(cands, list) and len(cands) <= k
                assert all(isinstance(t, str) and t.strip() == t and t for t, _ in cands)
                assert all(isinstance(s, float) and math.isfinite(s) for _, s in cands)
                assert len({t for t, _ in cands}) == len(cands), "tactics must be distinct"
                scores = [s for _, s in cands]
                assert scores == sorted(scores, reverse=True), "best first"
        if gen.deterministic:
            assert gen.generate(STATES[0], 3) == gen.generate(STATES[0], 3)
    finally:
        gen.close()
        gen.close()  # closing twice is harmless


@pytest.mark.parametrize(
    "bad,error",
    [
        ("nosuchkind:x", GeneratorConfigError),
        ("hf:", GeneratorConfigError),
        ("openai:", GeneratorConfigError),
        ("portfolio+", GeneratorConfigError),
        ("hf:/nonexistent/model-dir", GeneratorError),
        ("hf:/nonexistent/model-dir,retriever=bm25", GeneratorConfigError),
        ("hf:/nonexistent/model-dir,n=4", GeneratorConfigError),
        ("premises:", GeneratorConfigError),
        ("knn:/nonexistent/traced", GeneratorConfigError),
    ],
)
def test_bad_specs_are_typed_errors(bad, error):
    with pytest.raises(error):
        build_generator(GeneratorConfig(spec=bad))


def test_an_unreachable_server_is_a_typed_error():
    with pytest.raises(GeneratorError):
        build_generator(GeneratorConfig(spec=f"openai:{_closed_port_url()}#m"))

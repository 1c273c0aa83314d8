"""The OpenAI-compatible client (nesyrun.openai_client) and the generator and translator built on it,
against a stand-in HTTP server.

The stand-in is here only for what a real server cannot be made to do on demand: answer 429/503,
drop a connection, stall past the time limit, honour ``n`` and return log-probabilities (vLLM does;
it cannot run on this machine), offer only the chat endpoint, or refuse an API key. The same
paths against a real ``transformers serve`` are in tests/test_model_server.py.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from logic.errors import ModelError
from logic.evaluation import LogicEvalConfig, run_eval
from logic.translate.llm import LLMConfig, load_prompt
from nesyrun.openai_client import (
    ClientConfig,
    Endpoint,
    EndpointConfigError,
    EndpointRequestError,
    EndpointTimeoutError,
    EndpointUnavailableError,
    ModelNotServedError,
    OpenAIClient,
    frequency_scores,
    parse_endpoint,
)
from provers.generators import GeneratorConfig, GeneratorConfigError, GeneratorError, build_generator
from provers.protocol import TacticState

STATE = TacticState("x : R\nH : 2 * x + 1 = 5\n============================\nx = 2", 0)
FAST = ClientConfig(backoff_s=0.01, max_backoff_s=0.05, request_timeout_s=10, probe_timeout_s=5)


class StandIn(BaseHTTPRequestHandler):
    """Behaviour is set per test on a subclass (see the ``server`` fixture)."""

    models: list[str] = ["m"]
    completions = True
    chat = True
    honour_n = False
    logprobs = False
    failures: list[int] = []  # statuses to answer before succeeding, one per request
    retry_after: str | None = None
    delay_s = 0.0
    drop_first = 0  # close this many connections without an answer
    key: str | None = None  # required bearer token
    garbage = False  # answer HTML instead of JSON
    refuse_n = False  # llama.cpp's server: HTTP 500 for n != 1
    replies: list[str] = ["intros; lra\nrest", "nra", "intros; lra"]
    requests: list[dict] = []
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _send(self, status: int, obj, headers: dict | None = None) -> None:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        cls = type(self)
        if cls.key and self.headers.get("Authorization") != f"Bearer {cls.key}":
            self._send(401, {"error": {"message": "invalid API key"}})
            return False
        return True

    def do_GET(self):  # noqa: N802
        if not self._authorised():
            return
        if self.path != "/v1/models":
            return self._send(404, {"detail": "Not Found"})
        self._send(200, {"object": "list", "data": [{"id": m} for m in type(self).models]})

    def do_POST(self):  # noqa: N802
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with cls.lock:
            cls.requests.append({"path": self.path, **body})
            if cls.drop_first > 0:
                cls.drop_first -= 1
                self.close_connection = True
                self.connection.shutdown(2)
                return
            failure = cls.failures.pop(0) if cls.failures else None
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        try:
            if not self._authorised():
                return
            if failure:
                return self._send(failure, {"error": {"message": f"try again ({failure})"}}, {"Retry-After": cls.retry_after} if cls.retry_after else None)
            chat = self.path == "/v1/chat/completions"
            if (chat and not cls.chat) or (self.path == "/v1/completions" and not cls.completions) or not (chat or self.path == "/v1/completions"):
                return self._send(404, {"detail": "Not Found"})
            if body.get("model") not in cls.models:
                return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
            if cls.refuse_n and body.get("n", 1) != 1:
                return self._send(500, {"error": {"code": 500, "message": "Only one completion choice is allowed", "type": "server_error"}})
            time.sleep(cls.delay_s)
            if cls.garbage:
                return self._send(200, b"<html>oops</html>")
            n = body.get("n", 1) if cls.honour_n else 1
            seed = body.get("seed") or 0
            choices = []
            for i in range(n):
                text = cls.replies[(seed + i) % len(cls.replies)]
                choice: dict = {"index": i, "finish_reason": "stop"}
                tokens = [text[j : j + 3] for j in range(0, len(text), 3)]
                lps = [-0.1 * (j + 1) for j in range(len(tokens))]
                if chat:
                    choice["message"] = {"role": "assistant", "content": text}
                    if cls.logprobs and body.get("logprobs"):
                        choice["logprobs"] = {"content": [{"token": t, "logprob": lp} for t, lp in zip(tokens, lps)]}
                else:
                    choice["text"] = text
                    if cls.logprobs and body.get("logprobs"):
                        choice["logprobs"] = {"tokens": tokens, "token_logprobs": lps}
                choices.append(choice)
            self._send(200, {"object": "chat.completion" if chat else "text_completion", "choices": choices})
        finally:
            with cls.lock:
                cls.in_flight -= 1


@pytest.fixture
def server():
    """A fresh stand-in class per test, so settings never leak between tests."""
    handler = type("Handler", (StandIn,), {"requests": [], "failures": [], "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{httpd.server_port}/v1"
    yield handler
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# ---------------------------------------------------------------------------- spelling


def test_one_spelling_for_endpoint_and_model():
    assert parse_endpoint("http://h:8000/v1#org/model") == Endpoint("http://h:8000/v1", "org/model")
    assert parse_endpoint("http://h:8000/v1/") == Endpoint("http://h:8000/v1", None)
    assert parse_endpoint("http://h/v1/completions#m") == Endpoint("http://h/v1", "m", "completions")
    assert parse_endpoint("http://h/v1/chat/completions") == Endpoint("http://h/v1", None, "chat")
    assert parse_endpoint("http://h/v1", model="m") == Endpoint("http://h/v1", "m")  # --model-name
    assert parse_endpoint("http://h/v1#m", model="m").model == "m"
    for bad, words in [("localhost:8000/v1", "http"), ("http://", "host"), ("http://h/v1#", "no model"), ("ftp://h/v1", "http")]:
        with pytest.raises(EndpointConfigError, match=words):
            parse_endpoint(bad)
    with pytest.raises(EndpointConfigError, match="two model names"):
        parse_endpoint("http://h/v1#a", model="b")
    with pytest.raises(EndpointConfigError, match="api"):
        ClientConfig(api="grpc")
    with pytest.raises(EndpointConfigError, match="max_concurrency"):
        ClientConfig(max_concurrency=0)


def test_frequency_fallback_score():
    scores = frequency_scores(["a", "b", "a", "a"])
    assert scores[0] == scores[2] == scores[3] == pytest.approx(math.log(3 / 4))
    assert scores[1] == pytest.approx(math.log(1 / 4))
    assert frequency_scores(["x"] * 5) == [0.0] * 5


# ------------------------------------------------------------------------------- probe


def test_probe_errors_name_what_is_missing(server):
    with pytest.raises(EndpointUnavailableError, match="no server answers at .*is it running"):
        OpenAIClient(_closed_port_url(), FAST)
    with pytest.raises(EndpointUnavailableError, match="not the API base"):
        OpenAIClient(server.url.removesuffix("/v1"), FAST)  # /models is 404 there
    with pytest.raises(ModelNotServedError, match="'nope' is not served.*it lists: m"):
        OpenAIClient(server.url + "#nope", FAST)
    server.models = ["a", "b"]
    with pytest.raises(ModelNotServedError, match=r"several models \(a, b\); name one as .*#MODEL"):
        OpenAIClient(server.url, FAST)
    server.models = []
    with pytest.raises(ModelNotServedError, match="lists no model"):
        OpenAIClient(server.url, FAST)


def test_probe_picks_the_only_model_and_the_api(server):
    client = OpenAIClient(server.url, FAST)
    assert (client.model, client.api) == ("m", "completions")
    server.completions = False  # a chat-only server
    client = OpenAIClient(server.url, FAST)
    assert client.api == "chat"
    assert [r["path"] for r in server.requests[-2:]] == ["/v1/completions", "/v1/chat/completions"]
    with pytest.raises(EndpointUnavailableError, match="lists model 'm' but a one-token request failed"):
        OpenAIClient(server.url, ClientConfig(api="completions"))
    assert OpenAIClient(server.url + "/chat/completions", FAST).api == "chat"  # the older spelling


def test_api_key_is_sent_and_a_refusal_says_so(server, monkeypatch):
    server.key = "sekrit"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EndpointUnavailableError, match=r"HTTP 401.*OPENAI_API_KEY"):
        OpenAIClient(server.url, FAST)
    monkeypatch.setenv("OPENAI_API_KEY", "sekrit")
    assert OpenAIClient(server.url, FAST).model == "m"


# ---------------------------------------------------------------------------- sampling


def test_a_server_that_ignores_n_is_asked_again_with_fresh_seeds(server):
    client = OpenAIClient(server.url, FAST)
    samples = client.complete("p", n=3, stop=["\n"], seed=0)
    assert [s.text for s in samples] == ["intros; lra", "nra", "intros; lra"]  # cut at the stop string
    assert all(s.logprob is None for s in samples)
    sampling = [r for r in server.requests if r["prompt"] == "p"]
    assert [r.get("n", 1) for r in sampling] == [3, 1, 1] and sampling[0]["seed"] == 0
    assert sorted(r["seed"] for r in sampling[1:]) == [1, 2]  # the repeats run in parallel: any order
    assert client.honours_n is False and client.stats.repeat_requests == 2
    client.complete("p", n=2, seed=10)  # known now: straight to one sample per request
    assert [r.get("n", 1) for r in server.requests[-2:]] == [1, 1]


def test_a_server_that_refuses_n_gets_single_sample_requests(server):
    server.refuse_n = True
    client = OpenAIClient(server.url, FAST)
    samples = client.complete("p", n=3, seed=0)
    assert len(samples) == 3 and client.honours_n is False
    assert [r.get("n", 1) for r in server.requests if r["prompt"] == "p"] == [3, 1, 1, 1]
    assert client.stats.retries == 0  # the refused n = 3 was not retried: single requests followed at once
    client.complete("p", n=2)
    assert [r.get("n", 1) for r in server.requests[-2:]] == [1, 1]


def test_a_server_that_honours_n_gets_one_request_and_logprobs_are_summed(server):
    server.honour_n, server.logprobs = True, True
    client = OpenAIClient(server.url, FAST)
    before = client.stats.requests
    samples = client.complete("p", n=3, stop=["\n"], seed=0)
    assert client.stats.requests - before == 1 and client.honours_n is True
    # "intros; lra\nrest" in tokens of 3 characters: the 4 tokens before the newline are scored
    assert samples[0].text == "intros; lra" and samples[0].logprob == pytest.approx(-0.1 - 0.2 - 0.3 - 0.4)
    assert samples[1].logprob == pytest.approx(-0.1)


def test_chat_api_samples_and_logprobs(server):
    server.logprobs = True
    client = OpenAIClient(server.url, ClientConfig(api="chat", backoff_s=0.01))
    samples = client.complete("p", n=2, seed=1, stop=["\n"])
    assert [s.text for s in samples] == ["nra", "intros; lra"]
    assert samples[0].logprob == pytest.approx(-0.1)
    request = server.requests[-1]
    assert request["path"] == "/v1/chat/completions" and request["messages"] == [{"role": "user", "content": "p"}] and request["logprobs"] is True


# ------------------------------------------------------------------------------ failures


def test_429_and_5xx_are_retried_with_back_off(server):
    client = OpenAIClient(server.url, FAST)
    server.failures = [429, 503, 500]
    assert len(client.complete("p", n=1)) == 1
    assert client.stats.retries == 3
    server.failures = [502] * 10
    with pytest.raises(EndpointRequestError, match="HTTP 502 after 5 tries"):
        client.complete("p", n=1)
    server.failures = [400]
    with pytest.raises(EndpointRequestError, match="HTTP 400: try again") as info:
        client.complete("p", n=1)  # a client error is not retried
    assert info.value.status == 400


def test_retry_after_is_honoured(server):
    client = OpenAIClient(server.url, ClientConfig(backoff_s=5, max_backoff_s=10))
    server.failures, server.retry_after = [429], "0.2"
    t0 = time.monotonic()
    client.complete("p")
    assert 0.2 <= time.monotonic() - t0 < 4  # waited what the server asked, not backoff_s


def test_a_dropped_connection_is_retried(server):
    client = OpenAIClient(server.url, FAST)
    server.drop_first = 2
    assert client.complete("p")[0].text.startswith("intros")
    assert client.stats.retries == 2


def test_request_time_limit(server):
    client = OpenAIClient(server.url, ClientConfig(request_timeout_s=0.3, max_retries=3))
    server.delay_s = 2.0
    t0 = time.monotonic()
    with pytest.raises(EndpointTimeoutError, match="within 0.3 s"):
        client.complete("p")
    assert time.monotonic() - t0 < 1.9  # not retried, and did not wait for the answer


def test_concurrency_is_bounded(server):
    server.delay_s = 0.2
    client = OpenAIClient(server.url, ClientConfig(max_concurrency=2))
    samples = client.complete("p", n=6, seed=0)
    assert len(samples) == 6
    assert server.max_in_flight <= 2
    threads = [threading.Thread(target=client.complete, args=("q",), kwargs={"n": 3}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.max_in_flight <= 2  # across threads sharing the client too
    client.close()


# ----------------------------------------------------------------- generator and translator


def test_generator_uses_logprobs_when_given_and_frequencies_when_not(server):
    gen = build_generator(GeneratorConfig(spec=f"openai:{server.url}", decoding="sample", max_new_tokens=8))
    out = gen.generate(STATE, 3)  # samples: "intros; lra" twice, "nra" once
    assert gen.scored_by == "frequency"
    assert out == [("intros; lra", pytest.approx(math.log(2 / 3))), ("nra", pytest.approx(math.log(1 / 3)))]
    assert "[GOAL]" in server.requests[-1]["prompt"] and server.requests[-1]["max_tokens"] == 8
    server.honour_n, server.logprobs = True, True
    gen = build_generator(GeneratorConfig(spec=f"openai:{server.url}#m", decoding="sample"))
    out = dict(gen.generate(STATE, 3))
    assert gen.scored_by == "logprobs" and out["nra"] == pytest.approx(-0.1) and out["intros; lra"] == pytest.approx(-1.0)


def test_generator_beam_is_sampling_for_k_above_1(server):
    gen = build_generator(GeneratorConfig(spec=f"openai:{server.url}", decoding="beam", temperature=0.7))
    gen.generate(STATE, 1)
    assert server.requests[-1]["temperature"] == 0.0
    gen.generate(STATE, 3)
    assert [r["temperature"] for r in server.requests[-3:]] == [0.7] * 3


def test_generator_errors(server):
    with pytest.raises(GeneratorError, match="no server answers"):
        build_generator(GeneratorConfig(spec=f"openai:{_closed_port_url()}#m"))
    with pytest.raises(GeneratorError, match="'x' is not served"):
        build_generator(GeneratorConfig(spec=f"openai:{server.url}#x"))
    with pytest.raises(GeneratorConfigError, match="http"):
        build_generator(GeneratorConfig(spec="openai:localhost:1234"))
    with pytest.raises(GeneratorConfigError, match="api must be"):
        build_generator(GeneratorConfig(spec=f"openai:{server.url}", api="soap"))
    gen = build_generator(GeneratorConfig(spec=f"openai:{server.url}", max_retries=1))
    server.failures = [503, 503]
    with pytest.raises(GeneratorError, match="HTTP 503 after 2 tries"):
        gen.generate(STATE, 1)
    server.garbage = True
    with pytest.raises(GeneratorError, match="did not answer JSON"):
        gen.generate(STATE, 1)


GOOD = "1. Big(bob)\n2. all x.(Big(x) -> Red(x))\nConclusion: Red(bob)\n### End"


def test_translator_k_samples_and_majority_vote(server, tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps([{"id": "p1", "context": "Bob is big. Big things are red.", "question": "Is it true? Bob is red.", "answer": "A"}]))
    server.honour_n = True
    server.replies = [GOOD, "1. Big(bob)\n2. all x.(Big(x) -> Red(x))\nConclusion: -Red(bob)\n", GOOD, "garbage"]
    out = tmp_path / "out.jsonl"
    spec = f"openai:{server.url}#m"
    summary = run_eval(LogicEvalConfig("proofwriter", data, translator=spec, provers=("z3",), output=out, progress=False, llm=LLMConfig(spec=spec, samples=4)))
    assert summary.correct == 1
    record = json.loads(out.read_text())
    assert record["votes"] == {"True": 2, "False": 1}  # the unreadable sample is excluded
    assert record["samples"][3]["error"] == "translation"
    request = server.requests[-1]
    assert request["path"] == "/v1/completions" and request["n"] == 4 and request["stop"] == ["### End"] and request["model"] == "m"
    assert request["prompt"].startswith(load_prompt("proofwriter")) and "1. Bob is big." in request["prompt"]


def test_translator_model_name_alias_and_probe_errors(server, tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps([{"id": "p1", "context": "Bob is big.", "question": "Bob is big.", "answer": "A"}]))
    server.replies = [GOOD]
    spec = f"openai:{server.url}"
    summary = run_eval(LogicEvalConfig("proofwriter", data, translator=spec, provers=("z3",), progress=False, llm=LLMConfig(spec=spec, samples=2, model_name="m")))
    assert summary.n == 1 and server.requests[-1]["model"] == "m"
    with pytest.raises(ModelError, match="two model names"):
        run_eval(LogicEvalConfig("proofwriter", data, translator=spec + "#m", provers=("z3",), progress=False, llm=LLMConfig(spec=spec + "#m", model_name="other")))
    with pytest.raises(ModelError, match="'other' is not served"):
        run_eval(LogicEvalConfig("proofwriter", data, translator=spec, provers=("z3",), progress=False, llm=LLMConfig(spec=spec, model_name="other")))
    down = f"openai:{_closed_port_url()}"
    with pytest.raises(ModelError, match="no server answers"):  # before the first problem, not 0% accuracy
        run_eval(LogicEvalConfig("proofwriter", data, translator=down, provers=("z3",), progress=False, llm=LLMConfig(spec=down, samples=2)))


def test_a_failed_request_mid_run_is_a_translation_error_not_a_crash(server, tmp_path):
    data = tmp_path / "test.json"
    data.write_text(json.dumps([{"id": f"p{i}", "context": "Bob is big.", "question": "Bob is big.", "answer": "A"} for i in range(2)]))
    server.replies = ["1. Big(bob)\nConclusion: Big(bob)\n### End"]
    spec = f"openai:{server.url}#m"
    server.failures = [0, 400]  # the probe passes, the first problem's request is refused
    summary = run_eval(LogicEvalConfig("proofwriter", data, translator=spec, provers=("z3",), progress=False, llm=LLMConfig(spec=spec, samples=1)))
    assert summary.n == 2 and summary.errors_by_stage == {"translation": 1} and summary.correct == 1


def test_the_test_server_listens_on_loopback_only(tmp_path):
    from nesyrun.model_server import ServerStartError, transformers_serve

    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        with pytest.raises(ServerStartError, match="only loopback"):
            with transformers_serve(tmp_path, host=host):
                pass

"""One client for OpenAI-compatible model servers, used by tactic generators and translators.

**Spelling.** An endpoint and its model are one string everywhere: ``URL#MODEL`` (after the
``openai:`` prefix of a ``--generator`` or ``--translator`` spec), where ``URL`` is the API base,
e.g. ``http://127.0.0.1:8000/v1``. ``#MODEL`` may be left out when the server lists exactly one
model. A URL that ends in ``/completions`` or ``/chat/completions`` (an older spelling) is read as
the API base plus that API.

**Probe.** Building a client probes the server once: ``GET URL/models`` (is an OpenAI-compatible
server there, which models does it list) and a one-token request (is the model served, and which
API answers: legacy ``/completions`` first, then ``/chat/completions``, unless ``api`` names one).
A server or model that is not there is one :class:`EndpointError` before any job starts.

**Samples.** :meth:`OpenAIClient.complete` returns exactly ``n`` samples. A server that ignores
``n`` (``transformers serve``) answers with fewer choices, one that refuses it (llama.cpp's server:
HTTP 400 or 500) with an error; the client then asks again, one sample per request with seeds
``seed+1, seed+2, ...`` (a server that honours ``seed`` would otherwise repeat itself), at most
``max_concurrency`` requests in flight, and remembers it, so later calls go straight to
single-sample requests. (The first request with ``n > 1`` is not retried: single-sample requests,
which are, follow whatever went wrong with it.)

**Scores.** A sample's ``logprob`` is the sum of the token log-probabilities the server returned
for its text (cut at the first stop string), or ``None`` when the server returns none (the
servers above do not). Callers that rank samples then use :func:`frequency_scores`: the log of
the share of the ``n`` samples that gave the same text (self-consistency), which is ``0.0`` for a
text every sample agreed on and ``log(1/n)`` for a text seen once.

**Failures.** 429 and 5xx answers and dropped connections are retried with exponential back-off
(``backoff_s * 2**attempt``, capped at ``max_backoff_s``, halved at random to spread clients out;
a ``Retry-After`` header is honoured up to the cap), at most ``max_retries`` times. Every request
has a time limit (``request_timeout_s``; the server must answer within it) and is not retried
when it runs out. Other HTTP errors are raised at once with the server's own message.

The API key, if any, is read from ``$OPENAI_API_KEY`` (or the variable ``api_key_env`` names) and
sent as a bearer token. Only the standard library is used.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

APIS = ("auto", "completions", "chat")
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


# ------------------------------------------------------------------------------------- errors


class EndpointError(Exception):
    """Base of every error this module raises on purpose."""


class EndpointConfigError(EndpointError):
    """An endpoint spec or client option that makes no sense (not an http(s) URL, bad number)."""


class EndpointUnavailableError(EndpointError):
    """No OpenAI-compatible server answers at the URL (refused, not the API base, not JSON)."""


class ModelNotServedError(EndpointError):
    """The server answers but does not serve the model asked for (or lists none to choose)."""


class EndpointRequestError(EndpointError):
    """A request failed for good: an HTTP error that is not retried, retries used up, or an
    answer that is not an OpenAI-shaped JSON object. ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class EndpointTimeoutError(EndpointRequestError):
    """The server did not answer within the request time limit."""


# ---------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Endpoint:
    """Where the server is (``url``: the API base, no trailing slash), which model to ask for
    (``None``: the one model the server lists) and which API, if the spelling named one."""

    url: str
    model: str | None = None
    api: str | None = None  # "completions" | "chat" when the URL ended in that path

    @property
    def spec(self) -> str:
        return f"{self.url}#{self.model}" if self.model else self.url


def parse_endpoint(text: str, model: str | None = None) -> Endpoint:
    """``URL[#MODEL]`` -> :class:`Endpoint`. ``model`` is a model named apart (the translators'
    old ``--model-name``): accepted when the spec names none or the same one."""
    raw = text.strip()
    url, hash_, named = raw.partition("#")
    url, named = url.strip(), named.strip()
    if hash_ and not named:
        raise EndpointConfigError(f"endpoint {raw!r} ends in '#' with no model name after it (use URL#MODEL)")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1].strip("/")) == 0:
        raise EndpointConfigError(f"endpoint URL must start with http:// or https:// and name a host, got {url!r} (e.g. http://127.0.0.1:8000/v1#MODEL)")
    if model is not None and model.strip():
        model = model.strip()
        if named and named != model:
            raise EndpointConfigError(f"two model names for one endpoint: {named!r} in the spec and {model!r} given apart; give one (URL#MODEL)")
        named = named or model
    url = url.rstrip("/")
    api = None
    for suffix, which in (("/chat/completions", "chat"), ("/completions", "completions")):
        if url.endswith(suffix):
            url, api = url[: -len(suffix)], which
            break
    return Endpoint(url, named or None, api)


@dataclass(frozen=True)
class ClientConfig:
    """How the client talks to a server (frozen and picklable: each worker builds its own client).

    ``api``: ``auto`` (probe: legacy completions if the server has them, else chat), ``completions``
    or ``chat``. ``max_concurrency`` bounds the requests one client has in flight, across all the
    threads that share it."""

    api: str = "auto"
    request_timeout_s: float = 60.0
    probe_timeout_s: float = 30.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_concurrency: int = 4
    api_key_env: str = "OPENAI_API_KEY"

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise EndpointConfigError(f"api must be one of {', '.join(APIS)}, not {self.api!r}")
        for name in ("request_timeout_s", "probe_timeout_s"):
            if not getattr(self, name) > 0:
                raise EndpointConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.max_retries < 0 or self.backoff_s < 0 or self.max_backoff_s < 0:
            raise EndpointConfigError("max_retries, backoff_s and max_backoff_s must not be negative")
        if self.max_concurrency < 1:
            raise EndpointConfigError(f"max_concurrency must be at least 1, got {self.max_concurrency}")


@dataclass(frozen=True)
class Sample:
    """One completion: its text (cut before the first stop string), the summed log-probability of
    that text's tokens (``None`` when the server returned none) and why the server stopped."""

    text: str
    logprob: float | None = None
    finish_reason: str | None = None


@dataclass
class ClientStats:
    """What the client did (for tests and benchmarks): HTTP requests sent (probe included),
    retries after 429/5xx, samples returned, extra requests made because the server ignored ``n``."""

    requests: int = 0
    retries: int = 0
    samples: int = 0
    repeat_requests: int = 0


def frequency_scores(texts: Sequence[str]) -> list[float]:
    """The fallback score of each text when the server gives no log-probabilities:
    ``log(count(text) / len(texts))``, the share of the samples that agreed on it."""
    counts = Counter(texts)
    return [math.log(counts[t] / len(texts)) for t in texts]


# ------------------------------------------------------------------------------------ client


class OpenAIClient:
    """A probed connection to one model on one OpenAI-compatible server. Thread-safe."""

    def __init__(self, endpoint: Endpoint | str, config: ClientConfig | None = None, *, probe: bool = True) -> None:
        self.endpoint = parse_endpoint(endpoint) if isinstance(endpoint, str) else endpoint
        self.config = config or ClientConfig()
        if self.endpoint.api and self.config.api != "auto" and self.config.api != self.endpoint.api:
            raise EndpointConfigError(f"the URL {self.endpoint.url}/{'chat/' if self.endpoint.api == 'chat' else ''}completions names the {self.endpoint.api} API but api={self.config.api!r} was asked for")
        self.url = self.endpoint.url
        self.model: str | None = self.endpoint.model
        self.api: str | None = self.endpoint.api if self.config.api == "auto" else self.config.api
        self.honours_n: bool | None = None  # None until a request with n > 1 shows it
        self.listed_models: list[str] = []
        self.stats = ClientStats()
        self._send_logprobs = True
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.config.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        if probe:
            self.probe()

    @property
    def name(self) -> str:
        return f"{self.model}@{self.url}"

    # ------------------------------------------------------------------------------ probe

    def probe(self) -> None:
        """Check that the server is there, pick or check the model, and pick the API."""
        listing = self._request("GET", "/models", None, timeout=self.config.probe_timeout_s, retry_connect=False, what="probe")
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list):
            raise EndpointUnavailableError(f"{self.url}/models did not list models (no 'data' list): {str(listing)[:200]}; is {self.url} the API base of an OpenAI-compatible server?")
        self.listed_models = [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id") is not None]
        if self.model is None:
            if len(self.listed_models) == 1:
                self.model = self.listed_models[0]
            elif not self.listed_models:
                raise ModelNotServedError(f"{self.url}/models lists no model; name one as {self.url}#MODEL")
            else:
                shown = ", ".join(self.listed_models[:8]) + (" ..." if len(self.listed_models) > 8 else "")
                raise ModelNotServedError(f"{self.url} serves several models ({shown}); name one as {self.url}#MODEL")
        candidates = [self.api] if self.api else ["completions", "chat"]
        failures: list[str] = []
        for api in candidates:
            try:
                self._post_once(api, self._body(api, "Hello", n=1, max_tokens=1, temperature=0.0, top_p=1.0, stop=(), seed=None, logprobs=False), timeout=self.config.request_timeout_s)
            except EndpointRequestError as exc:
                if isinstance(exc, EndpointTimeoutError):
                    raise
                failures.append(f"{_path(api)}: {exc.status or ''} {exc.detail or exc}".strip())
                missing_api = exc.status in (404, 405, 501) and (self.model in self.listed_models or not self.listed_models)
                if missing_api and len(candidates) > 1:
                    continue  # this server has no such endpoint: try the other API
                break
            else:
                self.api = api
                return
        listed = f" (it lists: {', '.join(self.listed_models[:8])})" if self.listed_models else ""
        if self.model not in self.listed_models:
            raise ModelNotServedError(f"model {self.model!r} is not served at {self.url}{listed}: {'; '.join(failures)[:400]}")
        raise EndpointUnavailableError(f"{self.url} lists model {self.model!r} but a one-token request failed: {'; '.join(failures)[:400]}")

    # ----------------------------------------------------------------------------- sampling

    def complete(
        self,
        prompt: str,
        *,
        n: int = 1,
        max_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
        logprobs: bool = True,
    ) -> list[Sample]:
        """Exactly ``n`` samples continuing ``prompt`` (sent as the one user message in chat mode)."""
        if n < 1:
            raise EndpointConfigError(f"n must be at least 1, got {n}")
        if self.api is None or self.model is None:
            raise EndpointConfigError("the client was built with probe=False and not probed: call probe() first")
        stop = tuple(s for s in stop if s)

        def ask(count: int, request_seed: int | None, retries: int | None = None) -> list[Sample]:
            return self._complete_once(prompt, n=count, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=request_seed, logprobs=logprobs, retries=retries)

        samples: list[Sample] = []
        if n == 1:
            samples = ask(1, seed)
        elif self.honours_n is not False:
            try:
                # not retried: whatever goes wrong with n > 1, single-sample requests (retried) follow
                samples = ask(n, seed, 0 if self.honours_n is None else None)[:n]
                honours = len(samples) >= n
            except EndpointTimeoutError:
                raise
            except EndpointRequestError as exc:
                if self.honours_n is True:
                    raise
                # llama.cpp's server refuses n != 1 (HTTP 400 or 500, "Only one completion choice
                # is allowed"); a 429/503 says nothing about n, so it is tried again next call
                honours = False if exc.status in (400, 422, 500) or exc.status is None else None
            with self._lock:
                self.honours_n = honours
        missing = n - len(samples)
        if missing > 0:
            start = len(samples)
            seeds = [None if seed is None else seed + start + i for i in range(missing)]
            with self._lock:
                self.stats.repeat_requests += missing
            if missing == 1 or self.config.max_concurrency == 1:
                extra = [ask(1, s) for s in seeds]
            else:
                extra = list(self._executor().map(lambda s: ask(1, s), seeds))
            for got in extra:
                if not got:
                    raise EndpointRequestError(f"{self.url}{_path(self.api)} answered with no choices", None)
                samples.append(got[0])
        with self._lock:
            self.stats.samples += len(samples)
        return samples

    def _complete_once(self, prompt: str, *, retries: int | None = None, **kw: Any) -> list[Sample]:
        api = self.api
        assert api is not None
        body = self._body(api, prompt, **kw)
        try:
            answer = self._post(api, body, retries)
        except EndpointRequestError as exc:
            if kw["logprobs"] and self._send_logprobs and exc.status in (400, 422) and "logprob" in exc.detail.lower():
                self._send_logprobs = False  # this server refuses the field: ask without it from now on
                answer = self._post(api, self._body(api, prompt, **kw), retries)
            else:
                raise
        return self._samples(api, answer, kw["stop"])

    def _body(self, api: str, prompt: str, *, n: int, max_tokens: int, temperature: float, top_p: float, stop: Sequence[str], seed: int | None, logprobs: bool) -> dict:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p}
        if n != 1:
            body["n"] = n
        if stop:
            body["stop"] = list(stop)
        if seed is not None:
            body["seed"] = seed
        if api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
            if logprobs and self._send_logprobs:
                body["logprobs"] = True
        else:
            body["prompt"] = prompt
            if logprobs and self._send_logprobs:
                body["logprobs"] = 1
        return body

    def _samples(self, api: str, answer: Any, stop: Sequence[str]) -> list[Sample]:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list):
            raise EndpointRequestError(f"{self.url}{_path(api)} answered without a 'choices' list: {str(answer)[:200]}")
        out: list[Sample] = []
        for choice in sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0):
            if not isinstance(choice, dict):
                raise EndpointRequestError(f"{self.url}{_path(api)} returned a choice that is not an object: {str(choice)[:200]}")
            if api == "chat":
                message = choice.get("message")
                text = message.get("content") if isinstance(message, dict) else None
                text = "" if text is None and isinstance(message, dict) else text
                tokens = _chat_tokens(choice.get("logprobs"))
            else:
                text = choice.get("text")
                tokens = _completion_tokens(choice.get("logprobs"))
            if not isinstance(text, str):
                raise EndpointRequestError(f"{self.url}{_path(api)} returned a choice without text: {str(choice)[:200]}")
            cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
            out.append(Sample(text[:cut], _sum_logprobs(tokens, cut), choice.get("finish_reason")))
        return out

    # --------------------------------------------------------------------------------- HTTP

    def _post(self, api: str, body: dict, retries: int | None = None) -> Any:
        return self._request("POST", _path(api), body, timeout=self.config.request_timeout_s, retry_connect=True, what=api, retries=retries)

    def _post_once(self, api: str, body: dict, *, timeout: float) -> Any:
        return self._request("POST", _path(api), body, timeout=timeout, retry_connect=False, what="probe", retries=0)

    def _request(self, method: str, path: str, body: dict | None, *, timeout: float, retry_connect: bool, what: str, retries: int | None = None) -> Any:
        retries = self.config.max_retries if retries is None else retries
        url = self.url + path
        for attempt in range(retries + 1):
            retry_after: float | None = None
            try:
                return self._send(method, url, body, timeout)
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code not in RETRIED_STATUS or attempt == retries:
                    raise self._http_error(exc.code, detail, url, what, attempt) from exc
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except (TimeoutError, socket.timeout) as exc:
                raise EndpointTimeoutError(f"{url} did not answer within {timeout:g} s (the request time limit)") from exc
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    raise EndpointTimeoutError(f"{url} did not answer within {timeout:g} s (the request time limit)") from exc
                if what == "probe":
                    raise EndpointUnavailableError(f"no server answers at {self.url}: {exc.reason} (is it running? the URL is the API base, e.g. http://127.0.0.1:8000/v1)") from exc
                if not retry_connect or attempt == retries:
                    raise EndpointRequestError(f"cannot reach {url}: {exc.reason}") from exc
            except (http.client.HTTPException, ConnectionError) as exc:  # dropped mid-answer
                if what == "probe":
                    raise EndpointUnavailableError(f"{url} closed the connection without an answer ({exc!r}); is it an HTTP server?") from exc
                if attempt == retries:
                    raise EndpointRequestError(f"{url} dropped the connection {attempt + 1} times: {exc!r}") from exc
            delay = min(self.config.max_backoff_s, retry_after if retry_after is not None else self.config.backoff_s * 2**attempt)
            if retry_after is None:
                delay *= random.uniform(0.5, 1.0)
            with self._lock:
                self.stats.retries += 1
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _send(self, method: str, url: str, body: dict | None, timeout: float) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        key = os.environ.get(self.config.api_key_env)
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        with self._slots:
            with self._lock:
                self.stats.requests += 1
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the user's own server
                raw = response.read()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EndpointRequestError(f"{url} did not answer JSON: {raw[:200]!r}") from exc

    def _http_error(self, status: int, detail: str, url: str, what: str, attempt: int) -> EndpointError:
        tries = f" after {attempt + 1} tries" if attempt else ""
        if status in (401, 403):
            return EndpointUnavailableError(f"{url} refused the request (HTTP {status}: {detail}); set ${self.config.api_key_env} to the server's API key")
        if what == "probe" and url.endswith("/models"):
            if status == 404:
                return EndpointUnavailableError(f"{url} answered HTTP 404: {self.url} is not the API base of an OpenAI-compatible server (it usually ends in /v1)")
            return EndpointUnavailableError(f"{url} answered HTTP {status}{tries}: {detail}")
        return EndpointRequestError(f"{url} answered HTTP {status}{tries}: {detail}", status, detail)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.config.max_concurrency, thread_name_prefix="nesy-openai")
            return self._pool

    def close(self) -> None:
        """Stop the client's worker threads (idempotent)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __getstate__(self) -> dict:  # a client travels (to a Ray actor) without its threads
        state = self.__dict__.copy()
        for key in ("_lock", "_slots", "_pool"):
            state.pop(key)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.config.max_concurrency)
        self._pool = None


# ----------------------------------------------------------------------------------- helpers


def _path(api: str | None) -> str:
    return "/chat/completions" if api == "chat" else "/completions"


def _completion_tokens(logprobs: Any) -> list[tuple[str | None, float]] | None:
    """``(token, logprob)`` pairs of a legacy completions choice, or None when there are none."""
    if not isinstance(logprobs, dict):
        return None
    values = logprobs.get("token_logprobs")
    if not isinstance(values, list) or not values:
        return None
    tokens = logprobs.get("tokens")
    names = tokens if isinstance(tokens, list) and len(tokens) == len(values) else [None] * len(values)
    return [(t if isinstance(t, str) else None, v) for t, v in zip(names, values) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _chat_tokens(logprobs: Any) -> list[tuple[str | None, float]] | None:
    """``(token, logprob)`` pairs of a chat choice (``logprobs.content[]``), or None."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return None
    out = []
    for item in content:
        if isinstance(item, dict) and isinstance(item.get("logprob"), (int, float)):
            token = item.get("token")
            out.append((token if isinstance(token, str) else None, float(item["logprob"])))
    return out or None


def _sum_logprobs(tokens: list[tuple[str | None, float]] | None, cut: int) -> float | None:
    """Sum of the log-probabilities of the tokens that start before character ``cut`` of the text
    (all of them when the token strings are missing). Non-finite values make the score None."""
    if tokens is None:
        return None
    total, offset = 0.0, 0
    for token, lp in tokens:
        if token is not None and offset >= cut:
            break
        total += float(lp)
        offset += len(token) if token is not None else 0
    return total if math.isfinite(total) else None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read()[:2000].decode("utf-8", "replace")
    except OSError:
        return exc.reason if isinstance(exc.reason, str) else ""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()[:300]
    if isinstance(data, dict):
        for key in ("detail", "error", "message"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message", value)
            if value:
                return str(value)[:300]
    return raw.strip()[:300]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None

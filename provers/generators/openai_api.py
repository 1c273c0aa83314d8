"""Any OpenAI-compatible server (vLLM, llama.cpp's server, ``transformers serve``, a hosted
endpoint) as a tactic generator, through the one client in :mod:`nesyrun.openai_client`.

``openai:URL[#MODEL]``: ``URL`` is the API base (``http://127.0.0.1:8000/v1``), ``MODEL`` the model
to ask for (left out: the one model the server lists). The server is probed when the generator is
built, so a server or model that is not there is one clear error before a job starts.

The prompt is the causal transformers generator's (``[GOAL]\\n{state}\\n[PROOFSTEP]\\n``) and a
tactic is the completion up to the first newline. ``generate(state, k)`` always draws k samples,
also from servers that ignore ``n`` (the client repeats the request). A server cannot beam-search,
so ``decoding="beam"`` is greedy for k = 1 and sampling at the configured temperature for k > 1
(k greedy requests would give one tactic k times).

Score of a tactic: the summed log-probability of its tokens when the server returns them; when it
does not (``transformers serve``, llama.cpp's server), the log of the share of the k samples that
gave this tactic (:func:`nesyrun.openai_client.frequency_scores`), so a tactic drawn by every
sample scores 0 and one drawn once scores ``log(1/k)``. Which of the two was used is in
:attr:`OpenAIGenerator.scored_by`.
"""

from __future__ import annotations

from nesyrun.openai_client import (
    ClientConfig,
    EndpointConfigError,
    EndpointError,
    OpenAIClient,
    frequency_scores,
    parse_endpoint,
)
from provers.generators.base import Candidate, GeneratorConfig, GeneratorConfigError, GeneratorError, TacticGenerator
from provers.generators.hf import CAUSAL_PROMPT
from provers.protocol import TacticState


def client_config(config: GeneratorConfig) -> ClientConfig:
    try:
        return ClientConfig(api=config.api, request_timeout_s=config.request_timeout_s, max_concurrency=config.max_concurrency, max_retries=config.max_retries)
    except EndpointConfigError as exc:
        raise GeneratorConfigError(str(exc)) from exc


class OpenAIGenerator(TacticGenerator):
    """Tactics sampled from a model behind an OpenAI-compatible server."""

    def __init__(self, endpoint: str, config: GeneratorConfig | None = None, *, prompt: str = CAUSAL_PROMPT, stop: str = "\n", client: OpenAIClient | None = None) -> None:
        self.config = config or GeneratorConfig(spec=f"openai:{endpoint}", decoding="sample")
        self.prompt = prompt
        self.stop = stop
        self.deterministic = False
        self.scored_by = "unknown"  # "logprobs" or "frequency" once a call has shown which
        if client is None:
            try:
                client = OpenAIClient(parse_endpoint(endpoint), client_config(self.config))
            except EndpointConfigError as exc:
                raise GeneratorConfigError(f"openai:{endpoint}: {exc}") from exc
            except EndpointError as exc:
                raise GeneratorError(str(exc)) from exc
        self.client = client
        self.model = client.model
        self.url = client.url
        self.name = f"openai:{client.model}@{client.url}"
        self._calls = 0

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        greedy = self.config.decoding == "beam" and k == 1
        seed = self.config.seed * 1_000_003 + self._calls * 1_009
        self._calls += 1
        try:
            samples = self.client.complete(
                self.prompt.format(state=state.pp[: self.config.max_input_chars]),
                n=k,
                max_tokens=self.config.max_new_tokens,
                temperature=0.0 if greedy else self.config.temperature,
                stop=[self.stop] if self.stop else [],
                seed=seed,
            )
        except EndpointError as exc:
            raise GeneratorError(str(exc)) from exc
        texts = [s.text.strip() for s in samples]
        if all(s.logprob is not None for s in samples):
            self.scored_by = "logprobs"
            return [(t, float(s.logprob)) for t, s in zip(texts, samples)]  # type: ignore[arg-type]
        self.scored_by = "frequency"
        return list(zip(texts, frequency_scores(texts)))

    def close(self) -> None:
        self.client.close()

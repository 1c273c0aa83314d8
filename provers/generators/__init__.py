"""Tactic generators behind one interface: ``generate(state, k) -> [(tactic, logprob)]``.

:mod:`~provers.generators.base` (interface, config, errors), :mod:`~provers.generators.portfolio`
(the automation portfolio), :mod:`~provers.generators.hf` (transformers models),
:mod:`~provers.generators.openai_api` (completion endpoints), :mod:`~provers.generators.mix`,
:mod:`~provers.generators.registry` (specs by name), :mod:`~provers.generators.training` (a small
model trained here on Coq traces). Heavy libraries load only when a generator needs them.
"""

from provers.generators.base import (  # noqa: F401
    GeneratorConfig,
    GeneratorConfigError,
    GeneratorError,
    GeneratorOutputError,
    TacticGenerator,
    validate_candidates,
)
from provers.generators.registry import build_generator  # noqa: F401

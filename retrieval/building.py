"""Building a dataset: check the corpus, compute the splits, write the LeanDojo Benchmark layout.

:mod:`retrieval.dataset` knows the format (and nothing else); :mod:`retrieval.splits` decides
which theorems go where; :mod:`retrieval.corpus` checks that every premise a tactic names is in
the corpus. This module puts them together for writers of datasets (tracing, the synthesizers,
the examples used in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.corpus import PremiseCorpus
from retrieval.dataset import CORPUS_FILE, CorpusFile, TracedTheorem, write_layout
from retrieval.splits import SplitConfig, make_splits


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`write_dataset` wrote: counts per file, relative to the dataset root."""

    root: Path
    num_files: int
    num_premises: int
    num_theorems: int
    part_sizes: dict[str, int]


def write_dataset(
    root: str | Path,
    files: Sequence[CorpusFile],
    theorems: Sequence[TracedTheorem],
    splits: dict[str, dict[str, Sequence[TracedTheorem]]] | None = None,
    *,
    split_config: SplitConfig | None = None,
    metadata: dict | None = None,
    validate: bool = True,
) -> DatasetSummary:
    """Write a complete dataset directory (see :func:`retrieval.dataset.write_layout`).

    ``files`` are the corpus files (premises per file, imports); ``theorems`` all traced theorems.
    ``splits`` maps split name -> part -> theorems; when omitted they are computed with
    :func:`retrieval.splits.make_splits` and ``split_config``.

    With ``validate`` (the default) the corpus is checked first (unique paths, known imports, no
    import cycle, at least one premise) and every provenance of every tactic must resolve to a
    premise of the corpus, else :class:`~retrieval.errors.UnknownPremiseError` names the theorem,
    tactic and premise. Nothing is written when validation fails.
    """
    root = Path(root)
    if validate:
        PremiseCorpus(files, source=str(root / CORPUS_FILE)).check_theorems(theorems)
    if splits is None:
        splits = make_splits(theorems, split_config or SplitConfig())
    meta: dict = {}
    if split_config is not None:
        meta["split_config"] = {k: getattr(split_config, k) for k in split_config.__dataclass_fields__}
    meta.update(metadata or {})
    part_sizes = write_layout(root, files, splits, meta)
    return DatasetSummary(
        root=root,
        num_files=len(files),
        num_premises=sum(len(f.premises) for f in files),
        num_theorems=len(theorems),
        part_sizes=part_sizes,
    )

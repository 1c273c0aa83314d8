"""``knn:DATASET``: Tactician-style k-nearest-neighbour tactic prediction.

The goal states of the *training* part of a traced split (``GeneratorConfig.retrieval_split``,
``random`` by default) and the tactics run on them are the memory
(:class:`retrieval.states.StateMemory`). For a new state the nearest remembered states propose
the tactics used there, scored by similarity: each distinct tactic keeps its best neighbour's
similarity, and a log-softmax over the candidates of the similarities (relative to the best one,
:func:`provers.generators.place.relative_scores`) makes them log-probabilities. Two refinements,
options of the spec (:func:`parse_knn_arg`), measured offline by ``benchmarks/knn_recall.py``
(how often the traced tactic of a validation state is among the proposals) and in the proving
table:

* ``bonus=B``: a state of the theorem's own source file counts ``1 + B`` times its similarity
  (proofs in one file share their style, hypothesis names and lemmas);
* ``fit=keep|drop``: a remembered tactic's hypothesis names are fitted to the new state
  (:func:`provers.generators.adapt.fit_tactic`: ``apply H0`` becomes ``apply H1`` when ``H1`` has
  the type ``H0`` had); with ``drop`` one naming a hypothesis that has no counterpart here is
  dropped: it would fail with "variable not found", and its place among the k goes to the next
  neighbour. ``fit=off`` (the default) copies tactics verbatim.

The search over states is ``GeneratorConfig.retriever``: ``bm25`` (the default: Okapi BM25 over
the states' terms, no model, a few ms per state) or ``dense`` (the retrieval encoder's embeddings
with exact inner-product search; encoding the memory takes minutes on a CPU).

What a theorem may be shown: only training states (never the evaluated theorem's own, even when
it is a training theorem itself: its states are excluded by name), and no tactic naming a premise
that is not accessible at the theorem's place or naming the theorem itself.
"""

from __future__ import annotations

import numpy as np

from provers.generators.adapt import fit_tactic
from provers.generators.base import (
    Candidate,
    GeneratorConfig,
    GeneratorConfigError,
    GeneratorError,
    TacticGenerator,
)
from provers.generators.place import (
    Place,
    accessible,
    dataset_dir,
    load_corpus,
    load_part,
    log_softmax,
    mentions,
    place_of,
    relative_scores,
)
from provers.protocol import TacticState

SHARPNESS = 3.0
# Defaults: Tactician's verbatim copy. The refinements (``knn:DIR,bonus=0.1,fit=drop``) raise the
# traced-tactic recall of benchmarks/knn_recall.py by a fifth on random/val but prove the same
# theorems in the README's table (105 against 106 of 300): docs/search.md.
LOCAL_BONUS = 0.0
DEFAULT_FIT = "off"
NEIGHBOURS_PER_TACTIC = 4  # states looked at per tactic asked (several neighbours share a tactic)


FIT_MODES = ("drop", "keep", "off")


def parse_knn_arg(arg: str) -> tuple[str, float, str]:
    """``"DIR,bonus=0.1,fit=drop"`` -> ``("DIR", 0.1, "drop")``: the dataset, the same-file bonus
    (default :data:`LOCAL_BONUS`, none) and the name fitting (``drop``: fit, drop what cannot be
    fitted; ``keep``: fit, propose the rest as written; ``off``: copy verbatim as Tactician does,
    the default)."""
    path, *parts = arg.split(",")
    bonus, fit, seen = LOCAL_BONUS, DEFAULT_FIT, set()
    for part in parts:
        key, eq, value = (x.strip() for x in part.partition("="))
        bad = f"knn:{arg}: bad option {part.strip()!r}; options: bonus=NUMBER (>= 0), fit=drop|keep|off"
        if not eq or key in seen:
            raise GeneratorConfigError(bad if not eq else f"knn:{arg}: option {key!r} given twice")
        seen.add(key)
        if key == "bonus":
            try:
                bonus = float(value)
            except ValueError:
                raise GeneratorConfigError(bad) from None
            if not bonus >= 0 or bonus == float("inf"):
                raise GeneratorConfigError(bad)
        elif key == "fit" and value in FIT_MODES:
            fit = value
        else:
            raise GeneratorConfigError(bad)
    return path.strip(), bonus, fit


class KnnGenerator(TacticGenerator):
    deterministic = True

    def __init__(self, arg: str, config: GeneratorConfig) -> None:
        from retrieval.errors import RetrievalError
        from retrieval.registry import parse_retriever_spec
        from retrieval.states import StateMemory, tactic_records

        arg, bonus, fit = parse_knn_arg(arg)
        self.path = dataset_dir(arg, "knn")
        self.corpus = load_corpus(self.path)
        train = load_part(self.path, config.retrieval_split, "train")
        try:
            search, options = parse_retriever_spec(config.retriever)
            encoder = None
            if options.model is not None:  # dense:PATH: that encoder reads the states
                from retrieval.encoder import DenseEncoder, EncoderConfig

                encoder = DenseEncoder(EncoderConfig(model=options.model))
            self.memory = StateMemory(tactic_records(self.corpus, train), search, encoder=encoder)
        except RetrievalError as exc:
            raise GeneratorError(f"knn: cannot build the memory of {self.path} ({config.retrieval_split}/train): {exc}") from exc
        self.name = f"knn({config.retriever})" if (bonus, fit) == (LOCAL_BONUS, DEFAULT_FIT) else f"knn({config.retriever},bonus={bonus:g},fit={fit})"
        self._theorems = np.array([r.theorem for r in self.memory.records], dtype=object)
        self._files = np.array([r.file_path for r in self.memory.records], dtype=object)
        self._weights: np.ndarray | None = None
        self.local_bonus = bonus
        self.fit = fit  # one of FIT_MODES
        self._premise_sets = [np.asarray(r.premises, dtype=np.int64) for r in self.memory.records]
        self.place: Place | None = None
        self._exclude: np.ndarray | None = None
        self._allowed: np.ndarray | None = None

    def begin(self, problem) -> None:
        self.begin_at(place_of(problem))

    def begin_at(self, place: Place | None) -> None:
        """Serve the theorem at ``place`` (None: no place, the whole memory, no file preferred)."""
        self.place = place
        self._allowed = accessible(self.corpus, self.place)
        full = self.place.full_name if self.place else ""
        own = self._theorems == full if full else np.zeros(len(self.memory), dtype=bool)
        self._exclude = own if own.any() else None
        same = self._files == self.place.file if self.place else None
        self._weights = 1.0 + self.local_bonus * same if same is not None and same.any() and self.local_bonus else None

    def _usable(self, i: int) -> bool:
        """A remembered tactic may be proposed here: its premises are accessible, it does not name the theorem."""
        rec = self.memory.records[i]
        if self.place is not None:
            if mentions(rec.tactic, self.place.short_name):
                return False
            prem = self._premise_sets[i]
            if prem.size and self._allowed is not None and not np.isin(prem, self._allowed).all():
                return False
        return True

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        text = state.pp
        best: dict[str, float] = {}
        for i, sim in self.memory.nearest(text, k * NEIGHBOURS_PER_TACTIC, self._exclude, self._weights):
            if not self._usable(i):
                continue
            rec = self.memory.records[i]
            tactic = " ".join(rec.tactic.split())
            if self.fit != "off":
                fitted = fit_tactic(tactic, rec.state, text)
                if fitted is None and self.fit == "drop":
                    continue
                if fitted is not None and fitted != tactic:
                    if self.place is not None and mentions(fitted, self.place.short_name):
                        continue
                    tactic = fitted
            if tactic not in best:
                best[tactic] = sim
        if not best:
            return []
        tactics = list(best)
        scores = log_softmax(relative_scores([best[t] for t in tactics], SHARPNESS))
        return sorted(zip(tactics, scores), key=lambda kv: -kv[1])[:k]

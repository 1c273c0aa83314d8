"""A premise corpus: every premise of every file, the import graph, and who can see what.

Premises are numbered globally in file order, then in their order inside the file; these
indices are what retrievers, indexes and embeddings rows use. A premise is *accessible* from a
theorem (ReProver's rule) when it is defined in the theorem's own file and ends no later than the
theorem starts, or is defined in any file the theorem's file imports, directly or transitively.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from retrieval.dataset import CorpusFile, Pos, Premise, Provenance, TracedTheorem, read_corpus
from retrieval.errors import DatasetFormatError, EmptyCorpusError, UnknownPremiseError

_IMPORT_CACHE_SIZE = 128


class PremiseCorpus:
    """The premises of a ``corpus.jsonl`` with its import DAG (validated at construction).

    Raises DatasetFormatError for an import of a file that is not in the corpus, for an import
    cycle, or for a file listed twice; EmptyCorpusError when there is not a single premise.
    """

    def __init__(self, files: Sequence[CorpusFile], *, source: str = "<corpus>", skipped_premises: int = 0) -> None:
        self.source = source
        self.files: tuple[CorpusFile, ...] = tuple(files)
        self.skipped_premises = skipped_premises
        premises: list[Premise] = []
        self._range: dict[str, tuple[int, int]] = {}
        for cf in self.files:
            if cf.path in self._range:
                raise DatasetFormatError(source, f"file {cf.path!r} appears twice in the corpus")
            self._range[cf.path] = (len(premises), len(premises) + len(cf.premises))
            premises.extend(cf.premises)
        if not premises:
            raise EmptyCorpusError(
                f"{source}: the corpus has no premises ({len(self.files)} file(s)); nothing can be retrieved"
            )
        self.premises: tuple[Premise, ...] = tuple(premises)
        self._imports: dict[str, tuple[str, ...]] = {cf.path: cf.imports for cf in self.files}
        for cf in self.files:
            for imp in cf.imports:
                if imp not in self._range:
                    raise DatasetFormatError(source, f"file {cf.path!r} imports {imp!r}, which is not in the corpus")
        self._check_acyclic()
        self._by_name: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.premises):
            self._by_name[p.full_name].append(i)
        self._ends = np.array([tuple(p.end) for p in self.premises], dtype=np.int64).reshape(-1, 2)
        self._import_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._digest: str | None = None

    @classmethod
    def from_jsonl(cls, path: str | Path) -> PremiseCorpus:
        """Read and validate a ``corpus.jsonl``."""
        data = read_corpus(path)
        return cls(data.files, source=str(path), skipped_premises=data.skipped_premises)

    def __len__(self) -> int:
        return len(self.premises)

    def __getitem__(self, index: int) -> Premise:
        return self.premises[index]

    @property
    def digest(self) -> str:
        """sha256 of every premise's path, name, span and statement, in index order.

        Two corpora with the same digest number the same premises identically, so embeddings and
        indexes keyed by it can be reused.
        """
        if self._digest is None:
            h = hashlib.sha256()
            for p in self.premises:
                h.update(json.dumps([p.path, p.full_name, list(p.start), list(p.end), p.code],
                                    ensure_ascii=False).encode("utf-8"))
                h.update(b"\n")
            self._digest = h.hexdigest()
        return self._digest

    # ---------------------------------------------------------------------------------- graph

    def _check_acyclic(self) -> None:
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        for root in self._range:
            if state.get(root):
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            state[root] = 1
            while stack:
                node, k = stack[-1]
                imports = self._imports[node]
                if k < len(imports):
                    stack[-1] = (node, k + 1)
                    nxt = imports[k]
                    if state.get(nxt) == 1:
                        cycle = [n for n, _ in stack[[n for n, _ in stack].index(nxt):]] + [nxt]
                        raise DatasetFormatError(self.source, "import cycle: " + " -> ".join(cycle))
                    if not state.get(nxt):
                        state[nxt] = 1
                        stack.append((nxt, 0))
                else:
                    state[node] = 2
                    stack.pop()

    def has_file(self, path: str) -> bool:
        return path in self._range

    def file_range(self, path: str) -> tuple[int, int]:
        """``(first, stop)``: the premises of ``path`` are indices ``first <= i < stop``."""
        if path not in self._range:
            raise DatasetFormatError(self.source, f"file {path!r} is not in the corpus")
        return self._range[path]

    def imported_files(self, path: str) -> frozenset[str]:
        """Every file ``path`` imports, directly or transitively (not ``path`` itself)."""
        self.file_range(path)
        seen: set[str] = set()
        todo = list(self._imports[path])
        while todo:
            f = todo.pop()
            if f not in seen:
                seen.add(f)
                todo.extend(self._imports[f])
        return frozenset(seen)

    def _imported_indices(self, path: str) -> np.ndarray:
        cached = self._import_cache.get(path)
        if cached is not None:
            self._import_cache.move_to_end(path)
            return cached
        ranges = sorted(self._range[f] for f in self.imported_files(path))
        idx = (np.concatenate([np.arange(a, b) for a, b in ranges]) if ranges else np.zeros(0)).astype(np.int64)
        self._import_cache[path] = idx
        if len(self._import_cache) > _IMPORT_CACHE_SIZE:
            self._import_cache.popitem(last=False)
        return idx

    def accessible_indices(self, path: str, pos: Pos | tuple[int, int]) -> np.ndarray:
        """Sorted indices of the premises accessible at ``pos`` in ``path`` (ReProver's rule).

        A file that is not in the corpus sees nothing (an empty array).
        """
        if path not in self._range:
            return np.zeros(0, dtype=np.int64)
        first, stop = self._range[path]
        ends = self._ends[first:stop]
        line, col = pos
        before = (ends[:, 0] < line) | ((ends[:, 0] == line) & (ends[:, 1] <= col))
        own = np.arange(first, stop, dtype=np.int64)[before]
        return np.union1d(self._imported_indices(path), own)

    def accessible_mask(self, path: str, pos: Pos | tuple[int, int]) -> np.ndarray:
        """Boolean mask over all premises, True where accessible (see :meth:`accessible_indices`)."""
        mask = np.zeros(len(self), dtype=bool)
        mask[self.accessible_indices(path, pos)] = True
        return mask

    # ------------------------------------------------------------------------------- lookups

    def locate(self, path: str, pos: Pos | tuple[int, int]) -> int | None:
        """Index of the first premise of ``path`` whose span contains ``pos``, else None."""
        if path not in self._range:
            return None
        first, stop = self._range[path]
        pos = tuple(pos)
        for i in range(first, stop):
            p = self.premises[i]
            if tuple(p.start) <= pos <= tuple(p.end):
                return i
        return None

    def resolve(self, prov: Provenance) -> int | None:
        """The premise a tactic's provenance points to, or None when none matches.

        By name inside ``def_path`` first (exact even where spans nest or coincide: a record and
        its constructor, ``Axioms a b : T``, members a module gets by ``Include``), then by
        position (``def_pos`` inside a premise's span in ``def_path``, as LeanDojo records it),
        then by a name unique in the corpus.
        """
        candidates = self._by_name.get(prov.full_name, [])
        in_file = [i for i in candidates if self.premises[i].path == prov.def_path]
        if in_file:
            return in_file[0]
        idx = self.locate(prov.def_path, prov.def_pos)
        if idx is not None:
            return idx
        if len(candidates) == 1:
            return candidates[0]
        return None

    def resolve_all(self, provenances) -> tuple[set[int], int]:
        """The premises a tactic's provenances point to (:meth:`resolve`), and how many point to none."""
        found: set[int] = set()
        unresolved = 0
        for prov in provenances:
            idx = self.resolve(prov)
            if idx is None:
                unresolved += 1
            else:
                found.add(idx)
        return found, unresolved

    def lookup(self, full_name: str) -> int:
        """Index of the premise named ``full_name``; UnknownPremiseError (with close names) if none."""
        candidates = self._by_name.get(full_name)
        if candidates:
            return candidates[0]
        close = difflib.get_close_matches(full_name, list(self._by_name), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownPremiseError(f"premise {full_name!r} is not in {self.source}{hint}")

    def check_theorems(self, theorems: Iterable[TracedTheorem]) -> None:
        """Check that each theorem's file is in the corpus and every provenance resolves.

        Raises DatasetFormatError / UnknownPremiseError naming the theorem, tactic and name.
        """
        for thm in theorems:
            if thm.file_path not in self._range:
                raise DatasetFormatError(self.source, f"theorem {thm.full_name} is in {thm.file_path!r}, which is not in the corpus")
            for k, tac in enumerate(thm.traced_tactics):
                for prov in tac.annotated_tactic.provenances:
                    if self.resolve(prov) is None:
                        raise UnknownPremiseError(
                            f"theorem {thm.full_name} ({thm.file_path}), tactic #{k} {tac.tactic!r}: "
                            f"premise {prov.full_name!r} at {prov.def_path}:{prov.def_pos.line}:{prov.def_pos.column} "
                            "resolves to no premise of the corpus"
                        )

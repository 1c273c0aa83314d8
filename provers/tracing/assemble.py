"""From per-file traces to a dataset in the LeanDojo Benchmark layout (via ``retrieval.dataset``).

* Corpus: one line per traced file (also files that stopped part-way: what they declared before
  the failure is real), its premises in file order, its imports mapped from Coq library names
  to corpus paths (libraries outside the corpus are dropped).
* Theorems: every named proof closed by ``Qed``/``Defined``. A tactic's premises are the names
  it uses (resolved by Coq's ``Locate``) whose full name is a premise of the corpus (for a
  functor parameter's field ``P.x``: the field ``x`` of ``P``'s module type); each one is
  marked ``<a>name</a>`` in ``annotated_tactic`` with its provenance (file, span).
* Splits: ``random`` and ``novel_premises`` from :mod:`retrieval.splits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provers.tracing.records import FileTrace, TacticRecord


@dataclass(frozen=True)
class AssemblyStats:
    """Counts over the assembled dataset; ``names_resolved``/``names_outside`` count the term
    names tactics use that are / are not premises of the corpus (auto-generated schemes such as
    ``nat_ind``, constants from outside the traced library)."""

    files: int
    premises: int
    theorems: int
    tactics: int
    tactics_with_premises: int
    names_resolved: int
    names_outside: int


def build(traces: Sequence[FileTrace], url: str = "", commit: str = ""):
    """``(corpus files, theorems, stats)`` ready for :func:`retrieval.building.write_dataset`."""
    from retrieval.dataset import AnnotatedTactic, CorpusFile, Pos, Premise, Provenance, TracedTactic, TracedTheorem

    traces = sorted(traces, key=lambda t: t.path)
    by_module = {t.module: t.path for t in traces}
    files: list[CorpusFile] = []
    premises: dict[str, Premise] = {}
    for t in traces:
        own: list[Premise] = []
        for p in t.premises:
            if p.full_name in premises:
                continue
            prem = Premise(full_name=p.full_name, path=t.path, code=p.code, start=Pos(*p.start),
                           end=Pos(*p.end), kind=p.kind)
            premises[p.full_name] = prem
            own.append(prem)
        imports = tuple(dict.fromkeys(by_module[m] for m in t.imports if m in by_module and by_module[m] != t.path))
        files.append(CorpusFile(path=t.path, imports=imports, premises=tuple(own)))

    resolved = outside = with_premises = n_tactics = 0

    def annotate(tac: TacticRecord) -> AnnotatedTactic:
        nonlocal resolved, outside
        parts, provs, at = [], [], 0
        for u in sorted(tac.used, key=lambda u: u.start):
            prem = premises.get(u.full_name)
            if prem is None:  # a functor parameter's field: the declaration in its module type
                prem = next((premises[a] for a in u.alternatives if a in premises), None)
            if prem is None:
                outside += 1
                continue
            resolved += 1
            parts.append(tac.tactic[at:u.start])
            parts.append(f"<a>{tac.tactic[u.start:u.end]}</a>")
            at = u.end
            provs.append(Provenance(full_name=prem.full_name, def_path=prem.path, def_pos=prem.start,
                                    def_end_pos=prem.end))
        parts.append(tac.tactic[at:])
        return AnnotatedTactic("".join(parts), tuple(provs))

    theorems = []
    for t in traces:
        for th in t.theorems:
            tactics = []
            for tac in th.tactics:
                ann = annotate(tac)
                n_tactics += 1
                with_premises += bool(ann.provenances)
                tactics.append(TracedTactic(tactic=tac.tactic, annotated_tactic=ann,
                                            state_before=tac.state_before, state_after=tac.state_after))
            theorems.append(TracedTheorem(
                full_name=th.full_name, file_path=t.path, start=Pos(*th.start), end=Pos(*th.end),
                traced_tactics=tuple(tactics), url=url, commit=commit, theorem_statement=th.statement,
            ))
    stats = AssemblyStats(files=len(files), premises=len(premises), theorems=len(theorems), tactics=n_tactics,
                          tactics_with_premises=with_premises, names_resolved=resolved, names_outside=outside)
    return files, theorems, stats


def write(out: Path, traces: Sequence[FileTrace], *, seed: int = 0, val_fraction: float = 0.05,
          test_fraction: float = 0.05, url: str = "", commit: str = "", metadata: dict | None = None):
    """Write the dataset into ``out`` (atomically per file, see ``retrieval.building.write_dataset``)."""
    from retrieval.building import write_dataset
    from retrieval.splits import SplitConfig

    files, theorems, stats = build(traces, url, commit)
    split = SplitConfig(seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    meta = {"traced_by": "nesy trace", **(metadata or {}),
            "assembly": {k: getattr(stats, k) for k in stats.__dataclass_fields__}}
    summary = write_dataset(out, files, theorems, split_config=split, metadata=meta)
    return summary, stats

"""Soundness counts of a traced dataset: premise uses, inaccessible uses, unreachable queries.

    python benchmarks/trace_audit.py DATA [--json out.json]

* premise uses: names in tactics that resolve to a premise of the corpus (all theorems of the
  ``random`` split: train, val and test together);
* inaccessible uses: of those, the premises a theorem could not see where it is (ReProver's rule,
  :meth:`retrieval.corpus.PremiseCorpus.accessible_mask`: its own file before it, or a file it
  imports) - each one is a tracing error;
* test queries with no reachable answer: retrieval queries of a ``test`` part none of whose
  positives is accessible (no retriever can answer them);
* premises whose statement text has a twin (the same text under another name: members that
  module types and functors get by ``Include``), and test queries whose every positive has an
  accessible twin (no retriever that reads the text can tell them apart);
* names outside the corpus (from the assembly's metadata) and the most used premises.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.corpus import PremiseCorpus  # noqa: E402
from retrieval.dataset import open_dataset  # noqa: E402
from retrieval.queries import build_queries  # noqa: E402


def audit(root: Path) -> dict:
    ds = open_dataset(root)
    corpus = PremiseCorpus.from_jsonl(ds.corpus_path)
    uses = inaccessible = 0
    freq: Counter[str] = Counter()
    theorems = [t for part in ("train", "val", "test") for t in ds.read_part("random", part)]
    for thm in theorems:
        mask = corpus.accessible_mask(thm.file_path, thm.start)
        for tac in thm.traced_tactics:
            for prov in tac.annotated_tactic.provenances:
                idx = corpus.resolve(prov)
                if idx is None:
                    continue
                uses += 1
                freq[prov.full_name] += 1
                inaccessible += not bool(mask[idx])
    texts = [" ".join(p.code.split()) for p in corpus.premises]
    text_count = Counter(texts)
    unreachable = {}
    for split in ("random", "novel_premises"):
        qs = build_queries(corpus, ds.read_part(split, "test"))
        bad = twins = 0
        for q in qs.queries:
            mask = corpus.accessible_mask(q.file_path, q.theorem_start)
            bad += not mask[list(q.positives)].any()
            seen = Counter(texts[i] for i in np.flatnonzero(mask))
            twins += all(seen[texts[i]] > 1 for i in q.positives)
        unreachable[split] = {"queries": len(qs.queries), "unreachable": bad, "all_positives_have_a_twin": twins}
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    assembly = meta.get("assembly", {})
    return {
        "files": assembly.get("files"),
        "premises": len(corpus), "theorems": len(theorems), "tactics": assembly.get("tactics"),
        "premises_with_a_same_text_twin": sum(1 for t in texts if text_count[t] > 1),
        "premise_uses": uses, "inaccessible_uses": inaccessible,
        "names_outside_corpus": assembly.get("names_outside"),
        "test_queries": unreachable, "most_used": freq.most_common(8),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    r = audit(args.data.expanduser())
    print(json.dumps(r, indent=1))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

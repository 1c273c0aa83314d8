"""Round trip: 1,000 generated records, NL read back by logic's controlled-English translator,
consistency decided by logic's Z3 prover; every answer must equal the generator's label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthesis.nlsat.config import Fragment, NLSatConfig, RunOptions, parse_ratio_sweep
from synthesis.nlsat.pipeline import run_nlsat

pytest.importorskip("z3")
controlled = pytest.importorskip("logic.translate.controlled")
provers = pytest.importorskip("logic.solvers")
base = pytest.importorskip("logic.solvers.base")


def _records(tmp_path: Path) -> list[dict]:
    records: list[dict] = []
    # 4 blocks (3 fragments with k = 3, rules with k = 2) x 3 n x 6 ratios x 16 records, ~1,150
    for fragment, k in ((Fragment.RULES, 3), (Fragment.DISJUNCTIVE, 3), (Fragment.RELATIVE, 3), (Fragment.RULES, 2)):
        ratios = "3.5..6.0:0.5" if k == 3 else "0.6..1.6:0.2"
        config = NLSatConfig(
            vars=(5, 8, 10), ratios=parse_ratio_sweep(ratios), per_bucket=16, k=k, fragment=fragment,
            cross_check=0.0, stats_samples=64, seed=11,
        )
        run_nlsat(config, RunOptions(out=tmp_path / f"{fragment.value}-{k}", progress=False, plots=False))
        for shard in sorted((tmp_path / f"{fragment.value}-{k}" / "shards").glob("*.jsonl")):
            records.extend(json.loads(line) for line in shard.read_text().splitlines())
    return records


@pytest.mark.slow
def test_roundtrip_1000_records(tmp_path: Path) -> None:
    records = _records(tmp_path)
    assert len(records) >= 1000
    records = records[:1000]
    labels = {r["label"] for r in records}
    assert labels == {"SAT", "UNSAT"}
    assert {r["fragment"] for r in records} == {"rules", "disjunctive", "relative"}
    z3 = provers.get_prover("z3")
    mismatches = []
    for r in records:
        formulas = controlled.translate_theory(r["sentences"])
        result = z3.satisfiable(formulas, timeout_s=30)
        expected = base.Satisfiability.SAT if r["label"] == "SAT" else base.Satisfiability.UNSAT
        if result.status is not expected:
            mismatches.append((r["id"], r["label"], result.status, result.message))
    assert mismatches == [], f"{len(mismatches)} of 1000 records disagree, e.g. {mismatches[:3]}"

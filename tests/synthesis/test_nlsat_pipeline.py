"""NLSat pipeline: end to end, reproducibility (serial vs Ray), resume, bad input, cross-check stop, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from nesy.cli import main as nesy_main
from synthesis.errors import ConfigError, CrossCheckDisagreement, ResumeMismatchError
from synthesis.nlsat import bucket as bucket_module
from synthesis.nlsat.config import Fragment, NLSatConfig, RunOptions, parse_ratio_sweep
from synthesis.nlsat.labelling import Label
from synthesis.nlsat.pipeline import run_nlsat

DATASET_FILES = ("config.json", "card.json", "card.md")

SMALL = NLSatConfig(
    vars=(5, 8, 12),
    ratios=parse_ratio_sweep("3.5..5.5:0.5"),
    per_bucket=6,
    hard_percentile=75,
    cross_check=0.2,
    stats_samples=256,
    seed=3,
)


def _dataset_bytes(out: Path) -> dict[str, bytes]:
    files = {name: (out / name).read_bytes() for name in DATASET_FILES}
    for sub in ("shards", "stats"):
        for path in sorted((out / sub).iterdir()):
            files[f"{sub}/{path.name}"] = path.read_bytes()
    return files


def _opts(out: Path, **kw) -> RunOptions:
    return RunOptions(out=out, progress=False, plots=kw.pop("plots", False), **kw)


def test_end_to_end_records_card_and_plots(tmp_path: Path) -> None:
    summary = run_nlsat(SMALL, _opts(tmp_path / "a", plots=True))
    out = summary.out
    assert summary.buckets == 15 and summary.generated == 15 and summary.resumed == 0
    records = [json.loads(line) for p in sorted((out / "shards").glob("*.jsonl")) for line in p.read_text().splitlines()]
    assert len(records) == summary.records == 90
    assert sum(r["label"] == "SAT" for r in records) == 45  # balanced per bucket
    for r in records:
        assert r["dimacs"].startswith(f"p cnf {r['n']} {r['m']}\n")
        assert len(r["sentences"]) == len(r["fol"]) == r["m"]
        assert r["consistent"] == (r["label"] == "SAT")
        assert (r["model"] is not None) == (r["label"] == "SAT")
        if r["model"] is not None:
            true = set(r["model"])
            clauses = [[int(x) for x in line.split()[:-1]] for line in r["dimacs"].splitlines()[1:]]
            assert len(r["model"]) == r["n"] and all(any(lit in true for lit in c) for c in clauses)
        assert r["question"] == "Is the theory consistent?"
        assert set(r["effort"]) == {"conflicts", "decisions", "propagations", "restarts"}
        assert r["seed"]["dataset"] == 3
    # deduplicated: no two records of a bucket share a canonical form
    assert len({r["canonical_hash"] for r in records}) == len(records)
    # the hard filter kept each record at or above its bucket's threshold
    for stats_path in (out / "stats").glob("*.json"):
        stats = json.loads(stats_path.read_text())
        thresholds = {g["label"]: g["hard_threshold"] for g in stats["groups"]}
        for r in (r for r in records if (r["n"], r["m"]) == (stats["n"], stats["m"])):
            assert r["effort"]["conflicts"] >= thresholds[r["label"]]
    card = json.loads((out / "card.json").read_text())
    assert card["records"] == 90 and card["records_sat"] == 45
    assert [row["n"] for row in card["per_n"]] == [5, 8, 12]
    for row in card["per_n"]:
        assert set(row["hardness_ratio"]["conflicts"]) == {"p75", "p90", "p95"}
    assert (out / "psat.png").read_bytes()[:4] == b"\x89PNG" and (out / "effort.png").exists()
    assert "P(SAT)" in (out / "card.md").read_text()


def test_same_seed_same_bytes_serial_and_ray(tmp_path: Path, ray_session) -> None:
    run_nlsat(SMALL, _opts(tmp_path / "serial"))
    run_nlsat(SMALL, _opts(tmp_path / "ray", workers=2))
    assert _dataset_bytes(tmp_path / "serial") == _dataset_bytes(tmp_path / "ray")
    run_nlsat(replace(SMALL, seed=4), _opts(tmp_path / "other"))
    assert _dataset_bytes(tmp_path / "other")["card.json"] != _dataset_bytes(tmp_path / "serial")["card.json"]


def test_resume_after_interruption(tmp_path: Path, monkeypatch) -> None:
    reference = tmp_path / "reference"
    run_nlsat(SMALL, _opts(reference))
    out = tmp_path / "interrupted"
    real = bucket_module.compute_bucket
    calls = []

    def interrupted(config, bucket, vocabulary):
        if len(calls) == 7:
            raise KeyboardInterrupt
        calls.append(bucket.name)
        return real(config, bucket, vocabulary)

    monkeypatch.setattr("synthesis.nlsat.pipeline.compute_bucket", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_nlsat(SMALL, _opts(out))
    assert len(list((out / "stats").glob("*.json"))) == 7
    assert not (out / "card.json").exists()
    monkeypatch.setattr("synthesis.nlsat.pipeline.compute_bucket", real)
    summary = run_nlsat(SMALL, _opts(out))
    assert summary.resumed == 7 and summary.generated == 8
    assert _dataset_bytes(out) == _dataset_bytes(reference)
    with pytest.raises(ResumeMismatchError, match="different configuration"):
        run_nlsat(replace(SMALL, per_bucket=8), _opts(out))


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(ratios=("0",)), "--ratio must be > 0"),
        (dict(ratios=("-1.5",)), "--ratio must be > 0"),
        (dict(k=6), "--k 6 > n = 5"),
        (dict(vars=(4,), k=4, ratios=("0.5",), per_bucket=23), "exceeds the 22 distinct formulas"),
        (dict(vars=(3,), k=3, ratios=("0.34",), per_bucket=3, hard_percentile=50), "top 50% of the 4 distinct formulas"),
        (dict(per_bucket=0), "--per-bucket must be at least 1"),
        (dict(hard_percentile=100), "--hard-percentile"),
        (dict(cross_check=1.5), "--cross-check"),
        (dict(solver="nosuch"), "unknown solver"),
        (dict(vars=(130,), fragment=Fragment.RELATIVE), "relative.*n = 130 > 45 attributes"),
        (dict(per_bucket=2000, hard_percentile=95), "above --max-candidates"),
        (dict(ratios=("0.01",)), r"round\(0.01 \* 5\) = 0 clauses"),
    ],
)
def test_bad_input_fails_before_any_work(tmp_path: Path, change: dict, message: str) -> None:
    config = replace(NLSatConfig(vars=(5, 8), ratios=("4.26",), per_bucket=4), **change)
    with pytest.raises(ConfigError, match=message):
        run_nlsat(config, _opts(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_empty_vocabulary_fails_before_any_work(tmp_path: Path) -> None:
    empty = tmp_path / "names.txt"
    empty.write_text("# no names\n")
    config = NLSatConfig(vars=(5,), ratios=("4.26",), per_bucket=2, names_file=str(empty))
    with pytest.raises(ConfigError, match="empty vocabulary"):
        run_nlsat(config, _opts(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_cross_check_disagreement_stops_and_saves_formula(tmp_path: Path, monkeypatch) -> None:
    # A mock: real pysat and Z3 agree, so a faulty second solver stands in to provoke the stop.
    def lying_z3(clauses, n, timeout_s=60.0):
        return Label.UNSAT

    monkeypatch.setattr(bucket_module, "z3_label", lying_z3)
    config = replace(SMALL, cross_check=1.0, ratios=("3",))
    with pytest.raises(CrossCheckDisagreement, match="minisat22 says SAT, z3 says UNSAT") as info:
        run_nlsat(config, _opts(tmp_path / "out"))
    saved = info.value.path
    assert saved is not None and saved.parent.name == "disagreements"
    text = saved.read_text()
    assert "c minisat22: SAT" in text and "\np cnf 5 15\n" in text
    assert not list((tmp_path / "out").glob("stats/*.json"))  # nothing of that bucket was written


def test_cli_end_to_end_and_errors(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    argv = ["synth", "nlsat", "--vars", "6", "--ratio", "4.0,5.0", "--per-bucket", "4", "--fragment", "relative",
            "--stats-samples", "256", "--no-progress", "--no-plots", "--core", "--out", str(out)]
    assert nesy_main(argv) == 0
    printed = capsys.readouterr().out
    assert "8 records (4 SAT / 4 UNSAT)" in printed and "n=6" in printed
    records = [json.loads(line) for p in (out / "shards").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert all(r["sentences"][0].startswith("Every person") for r in records)
    assert all((r["core_size"] is not None) == (r["label"] == "UNSAT") for r in records)
    assert nesy_main(["synth", "nlsat", "--vars", "2", "--k", "3", "--ratio", "4", "--per-bucket", "2", "--out", str(tmp_path / "x")]) == 2
    assert "nesy: error: --k 3 > n = 2" in capsys.readouterr().err
    assert nesy_main(["synth", "nlsat", "--vars", "5", "--ratio", "1..2", "--per-bucket", "2", "--out", str(tmp_path / "y")]) == 2
    assert "needs a step" in capsys.readouterr().err

"""Bad input to ``nesy synth nlsat``: one ``nesy: error:`` line (exit 2), nothing written before
the request is known to be possible, nothing already written lost; and the card/plot fixes of
issue 14 (independent attributes, pool-median hardness ratio, cross-check counts in card.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nesy.cli import main
from synthesis.nlsat.card import HARDNESS_PERCENTILES, hardness_ratio
from synthesis.nlsat.vocabulary import load_vocabulary

BASE = ["synth", "nlsat", "--vars", "5", "--ratio", "4.26", "--per-bucket", "2", "--stats-samples", "20", "--no-progress", "--no-plots"]


def _error(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nesy: error: ") and "Traceback" not in err, err
    return lines[0]


def test_out_below_a_file_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert "cannot create or write --out" in _error(capsys, BASE + ["--out", str(blocker / "sub")])
    assert blocker.read_text() == "keep me"


def test_out_under_proc_is_a_clear_error(capsys):
    assert "cannot create or write --out /proc/nesy-nlsat" in _error(capsys, BASE + ["--out", "/proc/nesy-nlsat"])


def test_out_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert "exists and is not a directory" in _error(capsys, BASE + ["--out", str(blocker)])
    assert blocker.read_text() == "keep me"


@pytest.mark.parametrize(
    "ratio, message",
    [
        ("1e9", "gives m = 5000000000 clauses; at most 1000000"),
        ("100000", "GiB per chunk of 256 formulas"),
        ("nan", "is not a finite number"),
        ("inf", "is not a finite number"),
        ("abc", "is not a number"),
    ],
)
def test_huge_or_odd_ratios_are_refused_before_writing(tmp_path, capsys, ratio, message):
    out = tmp_path / "out"
    argv = [a if a != "4.26" else ratio for a in BASE] + ["--out", str(out), "--stats-samples", "256"]
    assert message in _error(capsys, argv)
    assert not out.exists()  # no config.json written before the request was checked


def test_non_utf8_vocabulary_is_a_clear_error(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_bytes(b"Bob\n\xffnne\n")
    assert "is not UTF-8 text" in _error(capsys, BASE + ["--names", str(names), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_corrupt_config_json_is_a_clear_error_and_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_bytes(b"\xff\xfe")
    assert "use a new --out" in _error(capsys, BASE + ["--out", str(out)])
    assert (out / "config.json").read_bytes() == b"\xff\xfe"


def test_write_failure_during_a_run_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import synthesis.nlsat.pipeline as pipeline

    out = tmp_path / "out"
    real = pipeline.atomic_write_text  # every file the pipeline writes goes through it (nesyrun.files)

    def failing(path, text):
        if Path(path).name.startswith("k3-") and "shards" in Path(path).parts:
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(pipeline, "atomic_write_text", failing)
    assert "No space left on device" in _error(capsys, BASE + ["--out", str(out)])
    assert (out / "config.json").is_file()  # what was written stays; a rerun resumes


def test_built_in_attributes_have_no_antonym_or_synonym_pairs():
    adjectives = set(load_vocabulary().adjectives)
    # pairs that read as contradictions or duplicates about one entity
    pairs = [
        ("big", "small"), ("big", "large"), ("big", "little"), ("big", "tiny"), ("big", "tall"), ("rich", "poor"),
        ("rich", "wealthy"), ("young", "old"), ("hot", "cold"), ("cold", "warm"), ("fast", "slow"), ("happy", "sad"),
        ("quiet", "loud"), ("strong", "weak"), ("wet", "dry"), ("kind", "nice"), ("kind", "rude"), ("sleepy", "tired"),
        ("furry", "fluffy"), ("clever", "smart"), ("clever", "wise"), ("brave", "bold"), ("gentle", "fierce"),
        ("tidy", "messy"), ("happy", "glad"), ("proud", "humble"), ("shy", "bold"),
    ]
    for a, b in pairs:
        assert not {a, b} <= adjectives, (a, b)
    colours = {"red", "blue", "green", "white", "yellow", "orange", "pink", "purple", "black", "brown"}
    assert len(adjectives & colours) <= 1


def test_hardness_ratio_uses_the_pool_median_and_is_monotone():
    rng = np.random.default_rng(0)
    for size in (8, 13, 40, 500):
        pool = rng.geometric(0.2, size=size).astype(np.int64)
        rows = [hardness_ratio(pool, p) for p in HARDNESS_PERCENTILES]
        assert all(r["median_pool"] == float(np.median(pool)) for r in rows)
        ratios = [r["ratio"] for r in rows]
        assert ratios == sorted(ratios), (size, ratios)


def test_card_md_has_cross_check_counts_and_thresholds(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["synth", "nlsat", "--vars", "6", "--ratio", "4.0,5.0", "--per-bucket", "4", "--stats-samples", "40",
            "--hard-percentile", "50", "--cross-check", "0.5", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    card = json.loads((out / "card.json").read_text())
    md = (out / "card.md").read_text()
    checked = sum(b["cross_checked"] for b in card["buckets"])
    assert checked > 0 and f"{checked} labels re-checked with Z3" in md
    for b in card["buckets"]:
        for label, threshold in b["hard_threshold"].items():
            assert f"{label} {threshold}" in md
    assert (out / "effort.png").stat().st_size > 0 and (out / "psat.png").stat().st_size > 0

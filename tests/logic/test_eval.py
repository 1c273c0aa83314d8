"""Loaders, the evaluation pipeline and ``nesy eval proofwriter|folio|prontoqa`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logic.datasets import load
from logic.depth import proof_depth
from logic.errors import DataError
from logic.evaluation import LogicEvalConfig, format_summary, run_eval
from logic.solvers import Answer
from logic.translate.controlled import complement, translate_problem
from nesy.cli import main

PW_LOGICLM = [
    {
        "id": "pw_1",
        "context": "Bob is big. Big things are red. If something is red and not kind then it is cold.",
        "question": "Based on the above information, is the following statement true, false, or unknown? Bob is red.",
        "options": ["A) True", "B) False", "C) Unknown"],
        "answer": "A",
    },
    {
        "id": "pw_2",
        "context": "Bob is big. Anne is not red. Big things are red.",
        "question": "Based on the above information, is the following statement true, false, or unknown? Anne is red.",
        "options": [],
        "answer": "B",
    },
    {
        "id": "pw_3",
        "context": "Bob is big. If Bob is red then Anne is kind.",
        "question": "Based on the above information, is the following statement true, false, or unknown? Anne is kind.",
        "options": [],
        "answer": "C",
    },
    {
        "id": "pw_4",
        "context": "Bob is big. The cat, sleeping, is big.",
        "question": "Based on the above information, is the following statement true, false, or unknown? Bob is big.",
        "options": [],
        "answer": "A",
    },
]
PW_ORIGINAL = {
    "id": "RelNeg-D2-1",
    "theory": "The cat is big. If something is big then it chases the dog. If something chases the dog then the dog is red.",
    "questions": {
        "Q1": {"question": "The dog is red.", "answer": True, "QDep": 2},
        "Q2": {"question": "The dog is not red.", "answer": False, "QDep": 2},
        "Q3": {"question": "The cat is cold.", "answer": "Unknown", "QDep": 0},
    },
}
FOLIO = [
    {"premises": ["All dogs bark.", "Rex is a dog."], "premises-FOL": ["∀x (Dog(x) → Bark(x))", "Dog(rex)"], "conclusion": "Rex barks.", "conclusion-FOL": "Bark(rex)", "label": "True"},
    {"premises": ["All dogs bark."], "premises-FOL": ["∀x (Dog(x) → Bark(x)"], "conclusion": "Rex barks.", "conclusion-FOL": "Bark(rex)", "label": "True"},
    {"premises": ["Rex is a dog or a cat.", "Rex is not a dog."], "premises-FOL": ["Dog(rex) ⊕ Cat(rex)", "¬Dog(rex)"], "conclusion": "Rex is a cat.", "conclusion-FOL": "Cat(rex)", "label": "True"},
    {"premises": ["Rex is a dog."], "premises-FOL": ["Dog(rex)"], "conclusion": "Tom is a dog.", "conclusion-FOL": "Dog(tom)", "label": "Uncertain"},
]


@pytest.fixture
def pw_file(tmp_path) -> Path:
    path = tmp_path / "data" / "ProofWriter" / "test.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(PW_LOGICLM))
    return path


@pytest.fixture
def folio_file(tmp_path) -> Path:
    path = tmp_path / "folio-validation.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in FOLIO) + "\n")
    return path


def test_loaders_accept_files_directories_and_both_proofwriter_formats(pw_file, tmp_path):
    by_dir = load("proofwriter", tmp_path)  # finds data/ProofWriter/test.json
    assert [p.id for p in by_dir] == ["pw_1", "pw_2", "pw_3", "pw_4"]
    assert by_dir[0].question == "Bob is red." and by_dir[0].label is Answer.TRUE
    assert by_dir[0].context[1] == "Big things are red."
    original = tmp_path / "meta-test.jsonl"
    original.write_text(json.dumps(PW_ORIGINAL) + "\n")
    problems = load("proofwriter", original)
    assert [(p.label, p.depth) for p in problems] == [(Answer.TRUE, 2), (Answer.FALSE, 2), (Answer.UNKNOWN, 0)]


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load("proofwriter", tmp_path / "missing")
    with pytest.raises(DataError, match="no proofwriter test file"):
        load("proofwriter", tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 1, "context": "Bob is big.", "question": "Bob is big.", "answer": "Z"}]')
    with pytest.raises(DataError, match="answer must be one of A, B, C"):
        load("proofwriter", bad)
    bad.write_text("{not json")
    with pytest.raises(DataError, match="neither a JSON list nor JSON lines"):
        load("proofwriter", bad)


def test_proof_depth_by_forward_chaining():
    premises, goal = translate_problem(
        ["The cat is big.", "If something is big then it chases the dog.", "If something chases the dog then the dog is red."],
        "The dog is red.",
        negation="literal",
    )
    assert proof_depth(premises, [goal]) == 2
    assert proof_depth(premises, [complement(goal)]) is None


@pytest.mark.parametrize("prover", ["prover9", "z3"])
def test_run_eval_rule_translator(pw_file, tmp_path, prover):
    out = tmp_path / "out.jsonl"
    # a generous limit: on a loaded machine the default 10 s made a saturating Prover9 search time out
    summary = run_eval(LogicEvalConfig("proofwriter", pw_file, provers=(prover,), output=out, progress=False, timeout_s=120))
    assert (summary.n, summary.correct) == (4, 3)
    assert summary.errors_by_stage == {"translation": 1}
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["prediction"] for r in records] == ["True", "False", "Unknown", None]
    assert records[3]["error"] == "translation" and "The cat, sleeping, is big." in records[3]["error_message"]
    assert records[0]["samples"][0]["premises"][0] == "big(Bob)"
    assert records[0]["depth"] == 1 and records[1]["depth"] == 0 and records[2]["depth"] is None
    assert summary.confusion["True"]["error"] == 1
    text = format_summary(summary)
    assert "accuracy 3/4" in text and "by depth" in text and "translation=1" in text


def test_folio_gold_mode_with_agreement(folio_file, tmp_path):
    out = tmp_path / "folio.jsonl"
    summary = run_eval(LogicEvalConfig("folio", folio_file, translator="gold", provers=("prover9", "z3"), output=out, progress=False))
    assert (summary.n, summary.correct) == (4, 3)
    assert summary.errors_by_stage == {"parse": 1}
    assert summary.per_prover_correct == {"prover9": 3, "z3": 3}
    assert summary.disagreements == []
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(records[0]["samples"][0]["answers"]) == {"prover9", "z3"}
    assert "disagreements: 0" in format_summary(summary)


def test_cli_end_to_end(pw_file, folio_file, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    code = main(["eval", "proofwriter", "--data", str(pw_file), "--prover", "z3", "--out", str(out), "--no-progress"])
    assert code == 0
    assert "accuracy 3/4 = 75.00%" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 4
    assert main(["eval", "folio", "--data", str(folio_file), "--mode", "gold", "--agreement", "--limit", "2", "--out", str(tmp_path / "f.jsonl"), "--no-progress"]) == 0
    assert "accuracy 1/2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "proofwriter", "--data", "/nonexistent/x"], "does not exist"),
        (["eval", "proofwriter", "--data", "{pw}", "--prover", "vampyre"], "unknown prover 'vampyre'"),
        (["eval", "proofwriter", "--data", "{pw}", "--translator", "gpt:x"], "unknown translator"),
        (["eval", "proofwriter", "--data", "{pw}", "--samples", "3"], "only applies to LLM translators"),
        (["eval", "proofwriter", "--data", "{pw}", "--mode", "gold"], "needs FOLIO"),
        (["eval", "proofwriter", "--data", "{pw}", "--limit", "0"], "--limit must be >= 1"),
        (["eval", "folio", "--data", "{pw}", "--mode", "gold"], "has no gold FOL"),
    ],
)
def test_cli_bad_input_is_a_clear_error(pw_file, tmp_path, capsys, argv, message):
    argv = [a.replace("{pw}", str(pw_file)) for a in argv] + ["--out", str(tmp_path / "x.jsonl"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nesy: error:") and message in err


def test_shards_merge_into_the_same_summary(pw_file, tmp_path):
    from logic.evaluation import summarise_records

    whole = run_eval(LogicEvalConfig("proofwriter", pw_file, provers=("z3",), output=tmp_path / "all.jsonl", progress=False))
    run_eval(LogicEvalConfig("proofwriter", pw_file, provers=("z3",), limit=2, output=tmp_path / "a.jsonl", progress=False))
    run_eval(LogicEvalConfig("proofwriter", pw_file, provers=("z3",), offset=2, output=tmp_path / "b.jsonl", progress=False))
    records = [json.loads(line) for name in ("a", "b") for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    merged = summarise_records("proofwriter", "rule", ("z3",), records)
    assert (merged.n, merged.correct, merged.confusion, merged.by_depth) == (whole.n, whole.correct, whole.confusion, whole.by_depth)

"""Bad input to ``logic/`` and ``nesy eval``: one ``nesy: error:`` line (exit 2) or one error row,
never a traceback, a silent wrong answer, or lost results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logic.errors import FormulaTooDeepError, ParseError, TranslationError
from logic.evaluation import LogicEvalConfig, run_eval
from logic.parsing import parse
from logic.solvers import Answer, get_prover
from logic.syntax import MAX_DEPTH, Const, Not, Pred
from logic.translate.controlled import translate_problem, translate_sentence
from nesy.cli import main

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "id": "g1",
    "context": "Bob is big. Big things are red.",
    "question": "Based on the above information, is the following statement true, false, or unknown? Bob is red.",
    "answer": "A",
}


def _write(tmp_path: Path, rows, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(rows) if not isinstance(rows, str) else rows, encoding="utf-8")
    return path


def _cli_error(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nesy: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _eval(path: Path, tmp_path: Path, *extra: str, dataset: str = "proofwriter") -> list[str]:
    return ["eval", dataset, "--data", str(path), "--prover", "z3", "--out", str(tmp_path / "out.jsonl"), "--no-progress", *extra]


# ---------------------------------------------------------------------------- malformed records


@pytest.mark.parametrize(
    "change, message",
    [
        ({"answer": ["A"]}, "record 1: answer must be one of A, B, C, got list"),
        ({"answer": None}, "answer must be one of A, B, C, got null"),
        ({"context": None}, "field 'context' must be a string or a list of strings, got null"),
        ({"context": ["Bob is big.", 3]}, "context[1] must be a string, got int"),
        ({"context": {"a": 1}}, "must be a string or a list of strings, got dict"),
        ({"question": ["Bob is red."]}, "field 'question' must be a string, got list"),
        ({"question": "   "}, "field 'question' is empty"),
    ],
)
def test_malformed_logic_lm_record_is_a_clear_error(tmp_path, capsys, change, message):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "g2", **change}])
    assert message in _cli_error(capsys, _eval(path, tmp_path))
    assert not (tmp_path / "out.jsonl").exists()  # validated before anything was written


def test_context_as_a_list_of_sentences_is_accepted(tmp_path):
    path = _write(tmp_path, [{**GOOD, "context": ["Bob is big.", "Big things are red."]}])
    summary = run_eval(LogicEvalConfig("proofwriter", path, provers=("z3",), output=None, progress=False))
    assert (summary.n, summary.correct) == (1, 1)


@pytest.mark.parametrize(
    "questions, message",
    [
        ({"Q1": {"answer": True}}, "question Q1: missing field 'question'"),
        ({"Q1": "The dog is red."}, "question Q1: a question must be an object"),
        (["The dog is red."], "question 0: a question must be an object"),
        ({"Q1": {"question": "The dog is red.", "answer": "maybe"}}, "answer must be one of"),
        ("The dog is red.", "field 'questions' must be a list or an object"),
    ],
)
def test_malformed_allenai_question_is_a_clear_error(tmp_path, capsys, questions, message):
    row = {"id": "t1", "theory": "The dog is red.", "questions": questions}
    path = _write(tmp_path, json.dumps(row) + "\n", "meta-test.jsonl")
    assert message in _cli_error(capsys, _eval(path, tmp_path))


def test_folio_record_with_bad_types_is_a_clear_error(tmp_path, capsys):
    row = {"premises": "All dogs bark.", "premises-FOL": "x", "conclusion": "Rex barks.", "label": "True"}
    path = _write(tmp_path, json.dumps(row) + "\n", "folio-validation.jsonl")
    assert "'premises-FOL' must be a list of strings" in _cli_error(capsys, _eval(path, tmp_path, "--mode", "gold", dataset="folio"))
    row = {"premises": ["All dogs bark."], "conclusion": "Rex barks.", "label": ["True"]}
    path.write_text(json.dumps(row) + "\n")
    assert "label must be one of" in _cli_error(capsys, _eval(path, tmp_path, dataset="folio"))


def test_prontoqa_answer_c_is_refused(tmp_path, capsys):
    path = _write(tmp_path, [{**GOOD, "answer": "C"}], "dev.json")
    assert "answer must be one of A, B, got str" in _cli_error(capsys, _eval(path, tmp_path, dataset="prontoqa"))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe[\x00{", "is not UTF-8 text"),
        (b'{"a": 1}', "record 0: every record must be a JSON object"),  # one JSON line that is fine ...
        (b"[1, 2]", "record 0: every record must be a JSON object, got int"),
        (b'"just a string"', "record 0: every record must be a JSON object, got str"),
        (b"[{]", "neither a JSON list nor JSON lines"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, capsys, content, message):
    path = tmp_path / "data.json"
    path.write_bytes(content)
    err = _cli_error(capsys, _eval(path, tmp_path))
    if content == b'{"a": 1}':  # an object without the fields: named as a missing field
        assert "record 0: missing field 'answer'" in err
    else:
        assert message in err


# ---------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--timeout", "nan"], "--timeout must be a positive finite number"),
        (["--timeout", "inf"], "--timeout must be a positive finite number"),
        (["--timeout", "-1"], "--timeout must be a positive finite number"),
        (["--offset", "-1"], "--offset must be >= 0"),
        (["--offset", "2"], "--offset 2 is past the end: "),
        (["--offset", "5"], "has 2 proofwriter problems"),
    ],
)
def test_bad_numbers_are_clear_errors(tmp_path, capsys, extra, message):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "g2"}])
    assert message in _cli_error(capsys, _eval(path, tmp_path, *extra))


@pytest.mark.parametrize("where", ["below_a_file", "proc"])
def test_unwritable_out_is_a_clear_error(tmp_path, capsys, where):
    path = _write(tmp_path, [GOOD])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "sub" / "out.jsonl" if where == "below_a_file" else Path("/proc/nesy-test/out.jsonl")
    argv = ["eval", "proofwriter", "--data", str(path), "--prover", "z3", "--out", str(out), "--no-progress"]
    assert f"cannot write --out {out}" in _cli_error(capsys, argv)
    assert blocker.read_text() == "x"


# ---------------------------------------------------------------- per-example problems: error rows


def test_contraction_and_uncovered_sentences_become_error_rows(tmp_path):
    rows = [
        {**GOOD, "id": "c1", "context": "Bob isn't big. Big things are red.", "question": "Q? Bob is big.", "answer": "B"},
        {**GOOD, "id": "c2", "context": "Bob's cat is big.", "question": "Q? Bob is big.", "answer": "C"},
        {**GOOD, "id": "c3"},
    ]
    out = tmp_path / "rows.jsonl"
    summary = run_eval(LogicEvalConfig("proofwriter", _write(tmp_path, rows), provers=("z3",), output=out, progress=False))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["c1", "c2", "c3"]
    assert records[0]["prediction"] == "False"  # "isn't" is read as "is not"
    assert records[1]["prediction"] is None and records[1]["error"] == "translation"
    assert "Bob's" in records[1]["error_message"]
    assert records[2]["correct"] and summary.n == 3


@pytest.mark.parametrize(
    "sentence, formula",
    [
        ("Nothing is sleek.", "all x.-sleek(x)"),
        ("Nobody is kind.", "all x.-kind(x)"),
        ("No one is kind.", "all x.-kind(x)"),
        ("None of the cats are big.", "all x.(cat(x) -> -big(x))"),
        ("No big cat is red.", "all x.((big(x) & cat(x)) -> -red(x))"),
        ("Nobody chases the cat.", "all x.-chases(x, cat)"),
    ],
)
def test_negative_determiners_are_negated_universals_not_names(sentence, formula):
    assert str(translate_sentence(sentence)) == formula


@pytest.mark.parametrize("negation", ["classical", "literal"])
def test_nothing_is_sleek_makes_the_otter_not_sleek(negation):
    premises, conclusion = translate_problem(["Nothing is sleek."], "The otter is sleek.", negation=negation)
    from logic.translate.controlled import complement

    refutation = complement(conclusion) if negation == "literal" else None
    result = get_prover("z3").entails(premises, conclusion, timeout_s=10, refutation=refutation)
    assert result.answer is Answer.FALSE


@pytest.mark.parametrize("sentence", ["Anything is big.", "Most cats are big.", "Some cats are big.", "Neither cat is big."])
def test_other_determiners_are_refused_not_guessed(sentence):
    with pytest.raises(TranslationError):
        translate_sentence(sentence)


def test_flat_chain_of_gold_conjuncts_is_proved(tmp_path):
    premise = " ∧ ".join(f"P{i}(rex)" for i in range(600))
    row = {"premises": ["Many facts."], "premises-FOL": [premise], "conclusion": "Rex is P599.", "conclusion-FOL": "P599(rex)", "label": "True"}
    path = _write(tmp_path, json.dumps(row) + "\n", "folio-validation.jsonl")
    summary = run_eval(LogicEvalConfig("folio", path, translator="gold", provers=("prover9", "z3"), output=None, progress=False))
    assert summary.correct == 1 and summary.per_prover_correct == {"prover9": 1, "z3": 1}


def test_too_deep_gold_formula_is_a_parse_error_row(tmp_path):
    deep = "¬" * 150 + "P(rex)"
    row = {"premises": ["x."], "premises-FOL": [deep], "conclusion": "y.", "conclusion-FOL": "P(rex)", "label": "True"}
    path = _write(tmp_path, json.dumps(row) + "\n", "folio-validation.jsonl")
    summary = run_eval(LogicEvalConfig("folio", path, translator="gold", provers=("z3",), output=None, progress=False))
    assert summary.errors_by_stage == {"parse": 1}


# ------------------------------------------------------------------------ the documented limit


def test_nesting_limit_is_the_documented_one():
    assert MAX_DEPTH == 100
    assert parse("(" * MAX_DEPTH + "P" + ")" * MAX_DEPTH) == Pred("P")
    with pytest.raises(ParseError, match=f"at most {MAX_DEPTH} levels"):
        parse("(" * (MAX_DEPTH + 1) + "P" + ")" * (MAX_DEPTH + 1))
    assert parse("-" * (MAX_DEPTH - 1) + "P").depth == MAX_DEPTH
    with pytest.raises(ParseError, match=f"at most {MAX_DEPTH} levels deep"):
        parse("-" * MAX_DEPTH + "P")
    docs = (REPO / "docs" / "logic.md").read_text()
    assert f"deeper than {MAX_DEPTH} levels" in docs


def test_building_a_tree_past_the_limit_is_a_typed_error():
    f = Pred("P", (Const("a"),))
    for _ in range(MAX_DEPTH - 2):
        f = Not(f)
    with pytest.raises(FormulaTooDeepError, match="at most 100 levels"):
        Not(f)


def test_z3_timeout_names_the_whole_budget():
    from logic.solvers.base import ProofAttempt, ProofStatus, combine

    pos = ProofAttempt(ProofStatus.TIMEOUT, 2.5, "z3: timeout after 2.50s")
    result = combine("z3", 5.0, pos, ProofAttempt(ProofStatus.NOT_PROVED, 0.1), 2.6)
    assert result.message.startswith("the 5s budget of the call ran out")


# ------------------------------------------------------------------------------ nothing is lost


def test_rerun_resumes_and_keeps_what_was_written(tmp_path, capsys):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "g2"}, {**GOOD, "id": "g3"}])
    out = tmp_path / "out.jsonl"
    base = ["eval", "proofwriter", "--data", str(path), "--prover", "z3", "--out", str(out), "--no-progress"]
    assert main(base + ["--limit", "1"]) == 0
    first = out.read_text()
    out.write_text(first + '{"id": "g2", "dataset": "proofw')  # an interrupted write
    capsys.readouterr()
    assert main(base) == 0
    assert "accuracy 3/3" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert lines[0] == first.strip() and [json.loads(x)["id"] for x in lines] == ["g1", "g2", "g3"]
    assert main(base) == 0  # nothing left to do: nothing appended
    assert len(out.read_text().splitlines()) == 3
    assert main(base + ["--fresh", "--limit", "1"]) == 0
    assert len(out.read_text().splitlines()) == 1


def test_resume_refuses_results_of_another_experiment(tmp_path, capsys):
    path = _write(tmp_path, [GOOD])
    out = tmp_path / "out.jsonl"
    assert main(["eval", "proofwriter", "--data", str(path), "--prover", "z3", "--out", str(out), "--no-progress"]) == 0
    before = out.read_text()
    err = _cli_error(capsys, ["eval", "proofwriter", "--data", str(path), "--prover", "prover9", "--out", str(out), "--no-progress"])
    assert "holds results with provers ['z3']" in err and out.read_text() == before
    err = _cli_error(capsys, ["eval", "prontoqa", "--data", str(path), "--prover", "z3", "--out", str(out), "--no-progress"])
    assert "holds 'proofwriter' results" in err


def test_a_real_process_prints_one_line_and_exits_2(tmp_path):
    path = _write(tmp_path, [{**GOOD, "answer": ["A"]}])
    proc = subprocess.run(
        [sys.executable, "-m", "nesy.cli", *_eval(path, tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("nesy: error:") and "Traceback" not in proc.stderr


def test_propositional_letter_named_like_a_variable_reaches_prover9():
    # a translator wrote the 0-ary predicate "x" (FOLIO validation); Prover9 read it as a variable
    premises = [parse("x -> y"), parse("x")]
    assert get_prover("prover9").entails(premises, parse("y"), timeout_s=10).answer is Answer.TRUE

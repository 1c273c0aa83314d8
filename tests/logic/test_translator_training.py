"""``nesy train translator`` on tiny data written by the test: held-out sentences are never
trained on, the run is reproducible from its seed and resumable, the model is saved in Hugging
Face format and ``nesy eval ... --translator hf:DIR`` uses it (k samples, repaired decoding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from logic.translate.seq2seq import TrainConfig, build_pairs, is_seq2seq_dir, train_translator  # noqa: E402
from nesy.cli import main  # noqa: E402

TRAIN_PW = [
    {"id": f"t{i}", "context": f"{name} is big. If something is big then it is red. The cat chases {name}.",
     "question": f"Q? {name} is red.", "answer": "A"}
    for i, name in enumerate(["Bob", "Anne", "Erin", "Gary", "Fiona", "Dave"])
]
TEST_PW = [
    {"id": "x1", "context": "Bob is big. If something is big then it is red.", "question": "Q? Bob is red.", "answer": "A"},
]
FOLIO_TRAIN = [
    {"premises": ["All dogs bark.", "Rex is a dog."], "premises-FOL": ["∀x (Dog(x) → Bark(x))", "Dog(rex)"],
     "conclusion": "Rex barks.", "conclusion-FOL": "Bark(rex)", "label": "True"},
    {"premises": ["Rex is a cat."], "premises-FOL": ["Cat(rex"], "conclusion": "Rex barks.", "conclusion-FOL": "Bark(rex)", "label": "Uncertain"},
]
FOLIO_VAL = [
    {"premises": ["Rex is a dog."], "premises-FOL": ["Dog(rex)"], "conclusion": "Rex is a dog.", "conclusion-FOL": "Dog(rex)", "label": "True"},
]


@pytest.fixture()
def data(tmp_path: Path) -> dict[str, Path]:
    pw = tmp_path / "pw"
    pw.mkdir()
    (pw / "train.json").write_text(json.dumps(TRAIN_PW))
    (pw / "test.json").write_text(json.dumps(TEST_PW))
    (pw / "dev.json").write_text(json.dumps(TEST_PW))
    folio = tmp_path / "folio"
    folio.mkdir()
    (folio / "folio-train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in FOLIO_TRAIN))
    (folio / "folio-validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in FOLIO_VAL))
    return {"pw": pw, "folio": folio}


def test_pairs_leave_out_every_evaluation_sentence(data):
    pairs = build_pairs(folio_dir=data["folio"], proofwriter_dir=data["pw"])
    sources = {s.split(": ", 1)[1] for s, _ in pairs.pairs}
    assert "Rex is a dog." not in sources and "Bob is big." not in sources  # in validation / test
    assert "Anne is big." in sources and "All dogs bark." in sources
    assert dict(pairs.pairs)["rule: The cat chases Anne."] == "chases(cat, Anne)"
    assert dict(pairs.pairs)["folio: All dogs bark."] == "all x.(Dog(x) -> Bark(x))"
    assert pairs.counts["folio"]["removed_overlap"] == 1 and pairs.counts["folio"]["skipped_unparsable_gold"] == 1
    assert pairs.counts["rule"]["removed_overlap"] >= 2


def _config(out: Path, data, **kw) -> TrainConfig:
    settings = dict(vocab_size=300, d_model=32, layers=1, d_ff=64, batch_size=4, epochs=2, seed=3, threads=1, checkpoint_every=1000)
    return TrainConfig(out=out, folio=data["folio"], proofwriter=data["pw"], **(settings | kw))


def _weights(path: Path) -> bytes:
    return (path / "model.safetensors").read_bytes()


def test_training_is_seeded_resumable_and_saved_in_hf_format(data, tmp_path):
    whole = train_translator(_config(tmp_path / "a", data))
    assert whole.finished and whole.steps == whole.total_steps
    assert is_seq2seq_dir(tmp_path / "a") and (tmp_path / "a" / "tokenizer.json").is_file()
    meta = json.loads((tmp_path / "a" / "training.json").read_text())
    assert meta["counts"]["rule"]["removed_overlap"] >= 2 and meta["finished"]
    # same seed, stopped after its first step and resumed: the same weights as one run
    first = train_translator(_config(tmp_path / "b", data, minutes=1e-9))
    assert not first.finished and first.steps >= 1
    rest = train_translator(_config(tmp_path / "b", data))
    assert rest.finished and rest.resumed_from_step == first.steps
    assert _weights(tmp_path / "a") == _weights(tmp_path / "b")
    from transformers import AutoModelForSeq2SeqLM

    AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "a"))  # plain HF loading works


def test_other_settings_in_the_same_out_are_refused(data, tmp_path, capsys):
    train_translator(_config(tmp_path / "m", data))
    argv = ["train", "translator", "--proofwriter", str(data["pw"]), "--out", str(tmp_path / "m"), "--no-progress"]
    assert main(argv) == 2
    assert "trained with other settings" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "translator", "--out", "{tmp}/x"], "give training data"),
        (["train", "translator", "--proofwriter", "{pw}", "--out", "{tmp}/x", "--epochs", "nan"], "--epochs must be a positive finite"),
        (["train", "translator", "--proofwriter", "{pw}", "--out", "{tmp}/x", "--minutes", "-1"], "--minutes must be"),
        (["train", "translator", "--proofwriter", "{pw}", "--out", "{tmp}/x", "--d-model", "30"], "multiple of 4"),
        (["train", "translator", "--proofwriter", "{tmp}/nope", "--out", "{tmp}/x"], "does not exist"),
    ],
)
def test_train_cli_bad_input(data, tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{pw}", str(data["pw"])) for a in argv] + ["--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nesy: error:") and message in err


def test_eval_with_the_trained_translator(data, tmp_path, capsys):
    train_translator(_config(tmp_path / "m", data))
    out = tmp_path / "eval.jsonl"
    argv = ["eval", "proofwriter", "--data", str(data["pw"]), "--translator", f"hf:{tmp_path / 'm'}", "--samples", "3",
            "--retries", "1", "--prover", "z3", "--timeout", "5", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    record = json.loads(out.read_text())
    assert len(record["samples"]) == 3  # k readings, each proved or a parse failure
    for sample in record["samples"]:
        assert ("answers" in sample) or sample["error"] == "parse"
    assert "accuracy" in capsys.readouterr().out


def test_grounding_check_of_repaired_decoding():
    from logic.parsing import parse
    from logic.translate.seq2seq import grounded

    assert grounded(parse("sees(bald_eagle, bear)"), "The bald eagle sees the bear.")
    assert not grounded(parse("sees(lion, bear)"), "The bald eagle sees the bear.")
    assert grounded(parse("all x.(Dog(x) -> Bark(x))"), "All dogs bark.")


def test_resume_refuses_answers_of_another_model_at_the_same_path(data, tmp_path, capsys):
    model = tmp_path / "m"
    train_translator(_config(model, data))
    out = tmp_path / "eval.jsonl"
    argv = ["eval", "proofwriter", "--data", str(data["pw"]), "--translator", f"hf:{model}", "--samples", "1",
            "--prover", "z3", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    train_translator(_config(model, data, epochs=3))  # the same directory trained further: a new model
    capsys.readouterr()
    assert main(argv) == 2
    assert "holds results with model" in capsys.readouterr().err

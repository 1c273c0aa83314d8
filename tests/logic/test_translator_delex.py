"""Delexicalisation for the trained translator (``logic.translate.delex``): real ProofWriter
sentences, paired with the controlled-English parser's formulas, round-trip through placeholders;
symbol names built from a sentence's words (CamelCase, plurals, compounds) are found; a
placeholder the sentence lacks is a parse error; and a tiny delexicalised model trained for a few
steps translates unseen names through ``nesy eval``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logic.errors import ParseError
from logic.parsing import parse
from logic.translate.controlled import Lexicon, translate_sentence
from logic.translate.delex import (
    delexicalise_source,
    delexicalise_target,
    learn_function_words,
    relexicalise,
)

# ProofWriter train sentences, as written in the data (Logic-LM's depth-5 split)
PROOFWRITER = [
    "If someone sees the squirrel and they eat the bald eagle then they need the rabbit.",
    "If someone chases the bear then they chase the rabbit.",
    "If something is big and round then it is kind.",
    "Smart, white things are round.",
    "All smart, round things are kind.",
    "If something visits the bald eagle and the bald eagle visits the cat then the cat visits the bald eagle.",
    "If Bob is round and Bob is quiet then Bob is kind.",
    "If something chases the squirrel then it likes the squirrel.",
    "If the cow visits the bald eagle then the bald eagle does not need the tiger.",
    "All young, smart people are nice.",
    "If something needs the rabbit and the rabbit is red then the rabbit chases the cat.",
    "If someone is green then they eat the lion.",
    "All rough people are cold.",
    "The bald eagle does not chase the squirrel.",
    "Gary is not quiet.",
    "The bear visits the lion.",
]


def _pairs():
    lexicon = Lexicon.from_sentences(PROOFWRITER)
    return [(s, str(translate_sentence(s, lexicon, negation="classical"))) for s in PROOFWRITER]


def test_real_proofwriter_sentences_round_trip_with_every_name_a_placeholder():
    pairs = _pairs()
    function_words = learn_function_words(pairs, min_count=2)
    assert {"the", "is", "if", "then", "and", "someone", "something"} <= function_words
    assert not {"bear", "squirrel", "visits", "chase", "round"} & function_words
    for sentence, target in pairs:
        source, words = delexicalise_source(sentence, function_words)
        delex = delexicalise_target(target, words)
        assert relexicalise(delex, words) == target, sentence
        # no name is left for the model to spell: only placeholders, variables and keywords
        names = {s.name for s in __import__("logic.syntax", fromlist=["signature"]).signature([parse(target)])}
        assert not any(n in delex.replace("<", " ").replace(">", " ").split() for n in names), (sentence, delex)
    source, words = delexicalise_source("If the cow visits the bald eagle then the bald eagle does not need the tiger.", function_words)
    assert source == "If <0> <1> <2> <3> then <2> <3> does not <4> <5>."  # "the" left out
    assert words == ["cow", "visits", "bald", "eagle", "need", "tiger"]
    assert delexicalise_target("(visits(cow, bald_eagle) -> -needs(bald_eagle, tiger))", words) == (
        "(<1>(<0>, <2>_<3>) -> -<4+s>(<2>_<3>, <5>))"
    )


def test_names_and_the_noun_share_a_template():
    fw = frozenset({"is", "the", "not"})
    assert delexicalise_source("Bob is big.", fw)[0] == delexicalise_source("The bear is not young.", fw)[0].replace(" not", "")
    assert delexicalise_source("The bald eagle is big.", fw) == ("<0> <1> is <2>.", ["bald", "eagle", "big"])


def test_names_built_from_words_case_plural_and_compounds():
    fw = frozenset({"all", "is", "a", "the", "in"})
    source, words = delexicalise_source("All dogs bark.", fw)
    assert source == "All <0> <1>."
    assert delexicalise_target("all x.(Dog(x) -> Bark(x))", words) == "all x.(<0^-s>(x) -> <1^>(x))"
    source, words = delexicalise_source("Rex is a song in Trouble at the Henhouse.", fw)
    delex = delexicalise_target("SongIn(rex, troubleHenhouse)", words)
    assert delex == "<1^>In(<0,>, <2,><4>)"  # Rex song Trouble at Henhouse
    assert relexicalise(delex, words) == "SongIn(rex, troubleHenhouse)"


def test_a_placeholder_the_sentence_lacks_is_a_parse_error():
    with pytest.raises(ParseError):
        relexicalise("<3>(<0>)", ["big", "Bob"])


torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

TRAIN = [
    {"id": f"t{i}", "context": f"{a} is {p}. If something is {p} then it is {q}. The {n} chases {a}.",
     "question": f"Q? {a} is {q}.", "answer": "A"}
    for i, (a, p, q, n) in enumerate([
        ("Anne", "big", "red", "cat"), ("Erin", "kind", "blue", "dog"), ("Gary", "cold", "nice", "cow"),
        ("Fiona", "rough", "young", "lion"), ("Dave", "smart", "green", "mouse"), ("Harry", "quiet", "white", "tiger"),
    ])
]
# names the model never saw in training: only placeholders make them translatable
TEST = [{"id": "x1", "context": "Zed is furry. If something is furry then it is round. The bear chases Zed.",
         "question": "Q? Zed is round.", "answer": "A"}]


def test_a_tiny_delexicalised_model_translates_unseen_names_through_eval(tmp_path: Path):
    from logic.translate.seq2seq import TrainConfig, train_translator
    from nesy.cli import main

    pw = tmp_path / "pw"
    pw.mkdir()
    (pw / "train.json").write_text(json.dumps(TRAIN))
    (pw / "test.json").write_text(json.dumps(TEST))
    (pw / "dev.json").write_text(json.dumps(TEST))
    config = TrainConfig(out=tmp_path / "m", proofwriter=pw, vocab_size=300, d_model=64, layers=1, d_ff=128,
                         batch_size=4, lr=5e-3, epochs=60, seed=0, threads=1, checkpoint_every=10_000)
    report = train_translator(config)
    assert report.finished and report.counts["delexicalised_templates"] <= 4  # 24 sentences, 4 templates
    assert (tmp_path / "m" / "delex.json").is_file()
    out = tmp_path / "eval.jsonl"
    argv = ["eval", "proofwriter", "--data", str(pw), "--translator", f"hf:{tmp_path / 'm'}", "--samples", "1",
            "--prover", "z3", "--timeout", "5", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    record = json.loads(out.read_text())
    assert "error" not in record["samples"][0], record
    assert record["correct"], record


def test_story_names_are_unified_by_key_and_kind():
    from logic.translate.unify import unify_names

    story = [parse(x) for x in ["all x.(Dogs(x) -> Bark(x))", "Dog(rex)", "-bark(Rex)", "(Animal(vic_dicara) & Animal(vicdicara))",
                                "Rex(rex)", "Dog(fido)"]]
    assert [str(f) for f in unify_names(story)] == [
        "all x.(Dog(x) -> Bark(x))", "Dog(rex)", "-Bark(rex)", "(Animal(vic_dicara) & Animal(vic_dicara))", "Rex(rex)", "Dog(fido)",
    ]  # the most frequent spelling wins (ties: the first); the predicate Rex and the constant rex stay apart
    assert unify_names(story[:1]) == story[:1]


def test_coverage_check_of_repaired_decoding():
    from logic.translate.seq2seq import covers

    fw = frozenset({"the", "is", "not", "does"})
    assert covers(parse("-sees(squirrel, bald_eagle)"), "The squirrel does not see the bald eagle.", fw)
    assert not covers(parse("needs(lion, bald)"), "The lion needs the bald eagle.", fw)  # "eagle" lost

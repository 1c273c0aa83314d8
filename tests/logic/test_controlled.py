"""The deterministic controlled-English translator (ProofWriter, ProntoQA, NLSat fragments)."""

from __future__ import annotations

import json

import pytest

from logic.errors import LogicError, TranslationError
from logic.parsing import parse
from logic.solvers import Answer, get_prover
from logic.syntax import And, Const, Forall, Implies, Not, Or, Pred, Var
from logic.translate.controlled import (
    complement,
    split_sentences,
    translate_problem,
    translate_sentence,
    translate_theory,
)

X = Var("x")
BOB, ANNE = Const("Bob"), Const("Anne")


def p(name, *args):
    return Pred(name, tuple(args))


# ------------------------------------------------------------------ the NLSat contract, exactly


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Bob is big.", p("big", BOB)),
        ("Bob is not big.", Not(p("big", BOB))),
        ("If Bob is not big and Anne is red then Bob is kind.", Implies(And(Not(p("big", BOB)), p("red", ANNE)), p("kind", BOB))),
        ("If Bob is big then Anne is not kind.", Implies(p("big", BOB), Not(p("kind", ANNE)))),
        (
            "If Bob is big and Anne is red and Bob is not quiet then Anne is furry.",
            Implies(And(And(p("big", BOB), p("red", ANNE)), Not(p("quiet", BOB))), p("furry", ANNE)),
        ),
        ("Bob is big or Bob is not red or Anne is kind.", Or(Or(p("big", BOB), Not(p("red", BOB))), p("kind", ANNE))),
        ("Bob is big or Anne is kind.", Or(p("big", BOB), p("kind", ANNE))),
        ("Every person who is big and is not red is kind.", Forall(X, Implies(And(p("big", X), Not(p("red", X))), p("kind", X)))),
        ("Every person who is not big is not red.", Forall(X, Implies(Not(p("big", X)), Not(p("red", X))))),
        ("Every person who is big and is red and is not cold is kind.", Forall(X, Implies(And(And(p("big", X), p("red", X)), Not(p("cold", X))), p("kind", X)))),
        ("Every person is big.", Forall(X, p("big", X))),
        ("Every person is not big.", Forall(X, Not(p("big", X)))),
        ("Zed is zesty.", p("zesty", Const("Zed"))),  # any adjective, any capitalised name
    ],
)
def test_nlsat_fragments(sentence, expected):
    assert translate_sentence(sentence) == expected
    assert translate_theory([sentence]) == [expected]
    assert parse(str(expected)) == expected  # the printed form reads back


@pytest.mark.parametrize(
    "sentence, printed",
    [
        ("The bear does not chase the lion.", "-chases(bear, lion)"),
        ("The bald eagle visits Anne.", "visits(bald_eagle, Anne)"),
        ("Bob is big and red.", "(big(Bob) & red(Bob))"),
        ("Young, red things are big.", "all x.((young(x) & red(x)) -> big(x))"),
        ("All big people are not kind.", "all x.(big(x) -> -kind(x))"),
        ("If something chases the bear and it is not red then the bear visits it.", "all x.((chases(x, bear) & -red(x)) -> visits(bear, x))"),
        ("If someone is big and not young then they do not see the cat.", "all x.((big(x) & -young(x)) -> -sees(x, cat))"),
        ("If someone chases the cat and they visit the dog then the dog is big.", "all x.((chases(x, cat) & visits(x, dog)) -> big(dog))"),
        ("If the rabbit is big then the rabbit chases the tiger.", "(big(rabbit) -> chases(rabbit, tiger))"),
        ("Jompuses are not shy.", "all x.(jompus(x) -> -shy(x))"),
        ("Each yumpus is a dumpus.", "all x.(yumpus(x) -> dumpus(x))"),
        ("Every wumpus is an impus.", "all x.(wumpus(x) -> impus(x))"),
        ("Max is a yumpus.", "yumpus(Max)"),
    ],
)
def test_proofwriter_and_prontoqa_forms(sentence, printed):
    assert str(translate_sentence(sentence)) == printed


def test_plural_nouns_use_the_theory_lexicon():
    formulas = translate_theory(["Wumpuses are yumpuses.", "Each yumpus is nervous.", "Dumpuses are nervous."])
    assert [str(f) for f in formulas] == [
        "all x.(wumpus(x) -> yumpus(x))",
        "all x.(yumpus(x) -> nervous(x))",
        "all x.(dumpus(x) -> nervous(x))",
    ]


@pytest.mark.parametrize(
    "sentence",
    ["The cat, being quite big, sleeps.", "Most people are kind.", "Bob is big because Anne is red.", "If it is big then Bob is red.", "Bob are big."],
)
def test_uncovered_sentence_is_a_translation_error_naming_it(sentence):
    with pytest.raises(TranslationError) as info:
        translate_theory(["Bob is big.", sentence])
    assert info.value.sentence == sentence
    assert repr(sentence) in str(info.value)
    assert isinstance(info.value, LogicError)


def test_theory_must_be_a_list_of_sentences():
    with pytest.raises(TranslationError, match="list of sentences"):
        translate_theory("Bob is big.")


def test_literal_negation_has_no_contraposition():
    context = ["If something is big then it is not blue.", "All big things are blue.", "Dave is nice."]
    classical, goal = translate_problem(context, "Dave is big.")
    literal, lit_goal = translate_problem(context, "Dave is big.", negation="literal")
    assert str(literal[0]) == "all x.(big(x) -> not_blue(x))"
    assert complement(lit_goal) == p("not_big", Const("Dave"))
    z3 = get_prover("z3")
    assert z3.entails(classical, goal, timeout_s=10).answer is Answer.FALSE  # FOL: nothing is big
    assert z3.entails(literal, lit_goal, timeout_s=10, refutation=complement(lit_goal)).answer is Answer.UNKNOWN  # ProofWriter


def test_split_sentences():
    assert split_sentences("Bob is big. Anne is red.  If Bob is big then Anne is kind.") == [
        "Bob is big.",
        "Anne is red.",
        "If Bob is big then Anne is kind.",
    ]


def test_proofwriter_sample_is_answered_exactly(shared_data):
    """120 ProofWriter depth-5 test problems through the translator and Z3 (the full 600 are in
    docs/logic.md)."""
    rows = json.loads((shared_data / "proofwriter/data/ProofWriter/test.json").read_text())[::5]
    gold = {"A": Answer.TRUE, "B": Answer.FALSE, "C": Answer.UNKNOWN}
    z3 = get_prover("z3")
    for row in rows:
        premises, goal = translate_problem(split_sentences(row["context"]), row["question"].rsplit("?", 1)[1].strip(), negation="literal")
        result = z3.entails(premises, goal, timeout_s=20, refutation=complement(goal))
        assert result.answer is gold[row["answer"]], row["id"]

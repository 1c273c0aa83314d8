"""FOL syntax trees, the parser (NLTK/Prover9 and FOLIO Unicode) and the printers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logic.errors import LogicError, ParseError
from logic.parsing import parse
from logic.printers import prover9_input, tptp_problem
from logic.syntax import (
    And,
    Const,
    Eq,
    Exists,
    Forall,
    Func,
    Iff,
    Implies,
    Not,
    Or,
    Pred,
    Var,
    Xor,
    free_variables,
    signature,
)

X = Var("x")


def test_linc_style_and_folio_unicode_give_the_same_tree():
    expected = Forall(X, Implies(Pred("Dog", (X,)), Pred("Barks", (X,))))
    assert parse("all x.(Dog(x) -> Barks(x))") == expected
    assert parse("∀x (Dog(x) → Barks(x))") == expected
    assert parse("all x (Dog(x) -> Barks(x))") == expected  # Prover9 style, no dot
    assert str(expected) == "all x.(Dog(x) -> Barks(x))"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-P(a) & Q(a)", And(Not(Pred("P", (Const("a"),))), Pred("Q", (Const("a"),)))),
        ("¬P(a) ∨ Q(a) ∧ R(a)", Or(Not(Pred("P", (Const("a"),))), And(Pred("Q", (Const("a"),)), Pred("R", (Const("a"),))))),
        ("A -> B -> C", Implies(Pred("A"), Implies(Pred("B"), Pred("C")))),
        ("A ⊕ B", Xor(Pred("A"), Pred("B"))),
        ("A <~> B", Xor(Pred("A"), Pred("B"))),
        ("A ↔ B", Iff(Pred("A"), Pred("B"))),
        ("A <-> B & C", Iff(Pred("A"), And(Pred("B"), Pred("C")))),
        ("exists x.(P(x) & x != bob)", Exists(X, And(Pred("P", (X,)), Not(Eq(X, Const("bob")))))),
        ("f(a) = b", Eq(Func("f", (Const("a"),)), Const("b"))),
        ("all x y.R(x, y)", Forall(X, Forall(Var("y"), Pred("R", (X, Var("y")))))),
        ("∀x ∃y (Loves(x, y))", Forall(X, Exists(Var("y"), Pred("Loves", (X, Var("y")))))),
        ("P(x)", Pred("P", (Const("x"),))),  # unbound names are constants
    ],
)
def test_parse_examples(text, expected):
    assert parse(text) == expected


def test_quantifier_scope_is_maximal_and_printer_keeps_it():
    f = And(Forall(X, Pred("P", (X,))), Pred("Q"))
    assert str(f) == "((all x.P(x)) & Q)"
    assert parse(str(f)) == f
    assert parse("all x.P(x) & Q") == Forall(X, And(Pred("P", (X,)), Pred("Q")))


def test_folio_names_are_normalised():
    f = parse("Companies’Stocks(kO) ∧ LostToIgaŚwiątek(coco) ∧ ValuedAt(y, y42.3billion)")
    names = {s.name for s in signature([f])}
    assert {"Companies_Stocks", "LostToIgaSwiatek", "y42_3billion"} <= names


@pytest.mark.parametrize(
    "text, position, expected",
    [
        ("P(x", 3, "',' or ')'"),
        ("all x.", 6, "a formula"),
        ("P(x) & ", 7, "a formula"),
        ("P Q", 2, "end of formula"),
        ("P(,)", 2, "a term"),
        ("P(a) # Q", 5, "a name"),
        ("", 0, "a formula"),
    ],
)
def test_parse_errors_name_position_and_expectation(text, position, expected):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.position == position
    assert expected in info.value.expected
    assert isinstance(info.value, LogicError)
    assert f"position {position}" in str(info.value)


def test_deep_nesting_is_a_parse_error_not_a_recursion_error():
    with pytest.raises(ParseError):
        parse("(" * 5000 + "P" + ")" * 5000)
    with pytest.raises(ParseError):
        parse("-" * 5000 + "P")


def test_free_variables_and_signature():
    f = parse("all x.(R(x, y) -> P(f(x)))")
    assert free_variables(Forall(X, Pred("R", (X, Var("y"))))) == {"y"}
    assert free_variables(f) == set()
    kinds = {(s.kind, s.name, s.arity) for s in signature([f])}
    assert kinds == {("pred", "R", 2), ("pred", "P", 1), ("func", "f", 1), ("const", "y", 0)}


def test_printers_rename_clashing_symbols_and_prover9_variable_like_constants():
    fs = [parse("P(xavier)"), parse("P(a, b)"), parse("all x.(P(x) -> Q(x))")]
    text = prover9_input(fs, [parse("Q(xavier)")], max_seconds=2)
    assert "c_xavier" in text  # a free 'xavier' would be a variable for Prover9
    assert "P_p1(" in text and "P_p2(" in text
    tptp = tptp_problem(fs, parse("Q(xavier)"))
    assert "fof(goal, conjecture" in tptp and "! [Vx]" in tptp


# ----------------------------------------------------------------------- property-based tests

CONSTS = ["a", "b", "bob", "Anne", "c1"]
PREDS = ["P", "Q", "Dog", "red"]


def random_formula(rng, bound: tuple[str, ...] = (), depth: int = 3):
    """A random closed formula (cheaper than a recursive hypothesis strategy)."""

    def term(d: int):
        choice = rng.random()
        if bound and choice < 0.4:
            return Var(rng.choice(bound))
        if d > 0 and choice > 0.85:
            return Func(rng.choice(["f", "g"]), tuple(term(d - 1) for _ in range(rng.randint(1, 2))))
        return Const(rng.choice(CONSTS))

    kind = rng.randint(0, 9) if depth > 0 else rng.randint(0, 1)
    if kind == 0:
        return Pred(rng.choice(PREDS), tuple(term(2) for _ in range(rng.randint(0, 2))))
    if kind == 1:
        return Eq(term(2), term(2))
    if kind == 2:
        return Not(random_formula(rng, bound, depth - 1))
    if kind <= 7:
        cls = [And, Or, Implies, Iff, Xor][kind - 3]
        return cls(random_formula(rng, bound, depth - 1), random_formula(rng, bound, depth - 1))
    v = rng.choice(["x", "y", "z"])
    cls = Forall if kind == 8 else Exists
    return cls(Var(v), random_formula(rng, bound + (v,), depth - 1))


@settings(max_examples=500, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 4))
def test_print_then_parse_gives_an_equal_tree(rng, depth):
    formula = random_formula(rng, (), depth)
    assert parse(str(formula)) == formula


ALPHABET = list("PQRabxy(),.-&|>=<~!¬∧∨→↔⊕∀∃ ") + ["all ", "exists ", "->", "<->", "Dog(", "x)"]
SEEDS = [
    "all x.(Dog(x) -> Barks(x))",
    "∀x ∀y (GoodGuy(x) ∧ Fights(x, y) ⟷ BadGuy(y) ∧ Fights(y, x))",
    "exists x.(P(x) & -(x = bob)) | (A <~> B)",
    "(Engaged(bonnie) ∧ Students(bonnie)) ⊕ (¬Engaged(bonnie) ∧ ¬Students(bonnie))",
]
STRINGS_PER_EXAMPLE = 50
EXAMPLES = 200  # 200 x 50 = 10,000 strings


def random_string(rng) -> str:
    """Random token soup, random Unicode, or a valid formula with a few random edits."""
    kind = rng.randint(0, 3)
    if kind == 0:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
    if kind == 1:
        return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 20)))
    text = rng.choice(SEEDS) if kind == 2 else str(random_formula(rng, (), 3))
    for _ in range(rng.randint(1, 6)):
        pos = rng.randint(0, len(text))
        op = rng.randint(0, 2)
        if op == 0:
            text = text[:pos] + rng.choice(ALPHABET) + text[pos:]
        elif op == 1:
            text = text[:pos] + text[pos + 1 :]
        else:
            text = text[:pos] + rng.choice(ALPHABET) + text[pos + 1 :]
    return text


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.randoms(use_true_random=False))
def test_ten_thousand_random_and_mutated_strings_give_a_tree_or_a_parse_error(rng):
    for _ in range(STRINGS_PER_EXAMPLE):
        text = random_string(rng)
        try:
            tree = parse(text)
        except ParseError as exc:
            assert 0 <= exc.position <= len(text)
            continue
        assert parse(str(tree)) == tree  # whatever parses also prints and re-parses to itself

"""NLSat building blocks: sweeps, sampler, canonical forms and counting, labels, selection, rendering."""

from __future__ import annotations

import random
from itertools import combinations, combinations_with_replacement, permutations, product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis.errors import ConfigError
from synthesis.nlsat.canonical import Deduplicator, _burnside, canonical_form, canonical_hash, count_distinct_formulas, degree_keys
from synthesis.nlsat.config import Fragment, NLSatConfig, clause_count, hard_keep_count, parse_int_sweep, parse_ratio_sweep
from synthesis.nlsat.labelling import Label, core_size, label_chunk, solver_name, z3_label
from synthesis.nlsat.render import assign_atoms, fol_trees, render
from synthesis.nlsat.sampler import chunk_rng, sample_formulas, to_dimacs
from synthesis.nlsat.selection import Target, pool_needed, select
from synthesis.nlsat.vocabulary import Vocabulary, load_vocabulary

# ------------------------------------------------------------------------------------ sweeps


def test_ratio_sweep_is_exact_and_inclusive() -> None:
    assert parse_ratio_sweep("3.0..4.0:0.25") == ("3", "3.25", "3.5", "3.75", "4")
    assert parse_ratio_sweep("4.26,2.0..2.2:0.1") == ("2", "2.1", "2.2", "4.26")
    assert parse_int_sweep("5..8") == (5, 6, 7, 8)
    assert parse_int_sweep("10..30:10,5") == (5, 10, 20, 30)
    for bad in ("x", "3..4", "4..3:0.1", "1..2:0"):
        with pytest.raises(ConfigError):
            parse_ratio_sweep(bad)
    with pytest.raises(ConfigError):
        parse_int_sweep("5..x")


def test_clause_count_rounds_half_up_exactly() -> None:
    assert clause_count("4.26", 50) == 213  # 4.26 * 50 in floats is 212.99999999999997
    assert clause_count("4.5", 5) == 23  # 22.5 rounds up
    assert clause_count("4.3", 5) == 22  # 21.5 rounds up
    assert clause_count("4.2", 5) == 21
    cfg = NLSatConfig(vars=(5,), ratios=("4.2", "4.25", "4.3"), per_bucket=2)
    buckets = cfg.buckets()
    assert [(b.m, b.ratios) for b in buckets] == [(21, ("4.2", "4.25")), (22, ("4.3",))]


def test_hard_keep_count() -> None:
    assert hard_keep_count(100, 0) == 100
    assert hard_keep_count(100, 95) == 5
    assert hard_keep_count(101, 95) == 6
    assert hard_keep_count(3, 99) == 1
    for p in (75, 90, 95, 97.5):
        for c in range(1, 200):
            size = pool_needed(c, p)
            assert hard_keep_count(size, p) >= c > hard_keep_count(size - 1, p)


# ----------------------------------------------------------------------------------- sampler


def test_sampler_shape_distinct_vars_and_reproducible() -> None:
    a = sample_formulas(chunk_rng(1, 3, 12, 51, 0), 12, 51, 3, 400)
    b = sample_formulas(chunk_rng(1, 3, 12, 51, 0), 12, 51, 3, 400)
    c = sample_formulas(chunk_rng(1, 3, 12, 51, 1), 12, 51, 3, 400)
    assert a.shape == (400, 51, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    v = np.abs(a)
    assert v.min() == 1 and v.max() == 12
    assert np.all(v[:, :, 0] != v[:, :, 1]) and np.all(v[:, :, 0] != v[:, :, 2]) and np.all(v[:, :, 1] != v[:, :, 2])


def test_sampler_is_uniform() -> None:
    """Each position, each variable and each sign are uniform; ordered triples too (chi-square)."""
    n, k = 5, 3
    lits = sample_formulas(np.random.default_rng(7), n, 40, k, 1500).reshape(-1, k)  # 60,000 clauses
    total = len(lits)
    assert abs((lits > 0).mean() - 0.5) < 0.01
    for j in range(k):
        freq = np.bincount(np.abs(lits[:, j]) - 1, minlength=n) / total
        assert np.all(np.abs(freq - 1 / n) < 0.01)
    # ordered triples of distinct variables: 5*4*3 = 60 cells, chi-square with 59 dof
    v = np.abs(lits) - 1
    code = v[:, 0] * 25 + v[:, 1] * 5 + v[:, 2]
    counts = np.bincount(code, minlength=125)
    cells = [a * 25 + b * 5 + c for a, b, c in permutations(range(5), 3)]
    assert counts.sum() == counts[cells].sum()
    expected = total / 60
    chi2 = float((((counts[cells] - expected) ** 2) / expected).sum())
    assert chi2 < 100  # p ~ 0.0006 at 59 dof


def test_k_greater_than_n_is_rejected_by_sampler() -> None:
    with pytest.raises(ValueError):
        sample_formulas(np.random.default_rng(0), 2, 3, 3, 1)


def test_dimacs() -> None:
    assert to_dimacs([[1, -2], [3]], 3) == "p cnf 3 2\n1 -2 0\n3 0\n"


# ------------------------------------------------------------------------- canonical forms


def _brute_classes(n: int, k: int, m: int) -> int:
    clauses = [tuple(sorted(zip(vs, s))) for vs in combinations(range(1, n + 1), k) for s in product((1, -1), repeat=k)]
    forms = set()
    for multiset in combinations_with_replacement(clauses, m):
        best = min(
            tuple(sorted(tuple(sorted((p[v - 1] * s for v, s in c), key=lambda x: (abs(x), x))) for c in multiset))
            for p in permutations(range(1, n + 1))
        )
        forms.add(best)
    return len(forms)


@pytest.mark.parametrize("n,k,m", [(3, 2, 2), (3, 2, 3), (4, 2, 2), (3, 3, 3), (4, 3, 2), (4, 2, 3)])
def test_canonical_form_and_burnside_match_brute_force(n: int, k: int, m: int) -> None:
    clauses = [[v * s for v, s in zip(vs, signs)] for vs in combinations(range(1, n + 1), k) for signs in product((1, -1), repeat=k)]
    ours = {canonical_form(list(ms)) for ms in combinations_with_replacement(clauses, m)}
    brute = _brute_classes(n, k, m)
    assert len(ours) == brute
    assert _burnside(n, k, m) == brute
    assert count_distinct_formulas(n, k, m) == brute


def test_distinct_count_needs_only_km_variables() -> None:
    assert count_distinct_formulas(20, 3, 1) == 4  # one clause: 0..3 negated literals
    assert count_distinct_formulas(50, 3, 2) == _burnside(6, 3, 2)


def _scramble(clauses: list[list[int]], n: int, rnd: random.Random) -> list[list[int]]:
    perm = list(range(1, n + 1))
    rnd.shuffle(perm)
    out = [[perm[abs(lit) - 1] * (1 if lit > 0 else -1) for lit in rnd.sample(c, len(c))] for c in clauses]
    rnd.shuffle(out)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 14), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_canonical_form_is_invariant(n: int, m: int, seed: int) -> None:
    rnd = random.Random(seed)
    k = min(3, n)
    f = sample_formulas(np.random.default_rng(seed), n, m, k, 1)[0].tolist()
    g = _scramble(f, n, rnd)
    assert canonical_form(f) == canonical_form(g)
    assert canonical_hash(f, n, k) == canonical_hash(g, n, k)
    assert degree_keys(np.array([f]), n) == degree_keys(np.array([g]), n)


def test_canonical_form_separates_and_does_not_flip_polarity() -> None:
    assert canonical_form([[1, 2]]) != canonical_form([[1, -2]])
    assert canonical_form([[1, 2], [1, 2]]) != canonical_form([[1, 2]])  # multisets
    # same degree sequence, different structure: a 6-cycle vs two triangles of 2-clauses
    hexagon = [[1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 1]]
    triangles = [[1, 2], [2, 3], [3, 1], [4, 5], [5, 6], [6, 4]]
    assert degree_keys(np.array([hexagon]), 6) == degree_keys(np.array([triangles]), 6)
    assert canonical_form(hexagon) != canonical_form(triangles)
    dedup = Deduplicator()
    keys = degree_keys(np.array([hexagon, triangles, hexagon[::-1]]), 6)
    assert [dedup.add(keys[0], hexagon), dedup.add(keys[1], triangles), dedup.add(keys[2], hexagon[::-1])] == [True, True, False]
    assert dedup.exact_checks == 2


# ---------------------------------------------------------------------------------- labels


def test_labels_agree_with_z3_and_models_satisfy() -> None:
    lits = sample_formulas(np.random.default_rng(3), 10, 43, 3, 150)
    labels = label_chunk(lits, "minisat22")
    assert 0 < labels.sat.sum() < 150
    for i, clauses in enumerate(lits.tolist()):
        assert z3_label(clauses, 10) is (Label.SAT if labels.sat[i] else Label.UNSAT)
        if labels.sat[i]:
            model = set(labels.models[i])
            assert all(any(lit in model for lit in c) for c in clauses)
        else:
            assert labels.models[i] is None
            assert 1 <= core_size(clauses, 10) <= 43
    assert labels.conflicts.dtype == np.int64 and (labels.propagations > 0).all()
    again = label_chunk(lits, "minisat22")  # deterministic: same counters on a fresh solver
    assert np.array_equal(again.conflicts, labels.conflicts) and np.array_equal(again.propagations, labels.propagations)
    other = label_chunk(lits, "glucose3")
    assert np.array_equal(other.sat, labels.sat)


def test_unknown_solver_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown solver 'nosuch'.*minisat22"):
        solver_name("nosuch")
    assert solver_name("M22") == "minisat22"


# ------------------------------------------------------------------------------- selection


def test_selection_hard_filter_balance_and_order() -> None:
    sat = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0], dtype=bool)
    distinct = np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 1], dtype=bool)
    effort = np.array([5, 9, 1, 3, 5, 7, 8, 100, 2, 7])
    sat_sel, unsat_sel = select(sat, distinct, effort, (Target(True, 2), Target(False, 2)), 50)
    # SAT pool 0,2,4,6,8 (efforts 5,1,5,8,2): top ceil(5*0.5)=3 -> 6 (8), 0 (5), 4 (5, tie by order)
    assert sat_sel.hard == 3 and sat_sel.threshold == 5 and sat_sel.chosen == (0, 4)
    # UNSAT pool 1,3,5,9 (7 is a duplicate): top 2 -> 1 (9), 5 (7; 9 ties at 7 but comes later)
    assert unsat_sel.chosen == (1, 5) and unsat_sel.pool == 4
    (everything,) = select(sat, distinct, effort, (Target(None, 20),), 0)
    assert len(everything.chosen) == 9  # short: only 9 distinct candidates


# ------------------------------------------------------------------------------- rendering


def test_render_exact_forms() -> None:
    atoms = [("Bob", "big"), ("Anne", "red"), ("Bob", "kind")]
    r = render([[1, -2, 3], [-1], [2, 3]], atoms, Fragment.RULES)
    assert r.sentences == ("If Bob is not big and Anne is red then Bob is kind.", "Bob is not big.", "If Anne is not red then Bob is kind.")
    assert r.fol == ("((-big(Bob) & red(Anne)) -> kind(Bob))", "-big(Bob)", "(-red(Anne) -> kind(Bob))")
    d = render([[1, -2, 3], [2]], atoms, Fragment.DISJUNCTIVE)
    assert d.sentences == ("Bob is big or Anne is not red or Bob is kind.", "Anne is red.")
    assert d.fol == ("((big(Bob) | -red(Anne)) | kind(Bob))", "red(Anne)")
    rel = render([[-1, 2, 3], [-1, -2], [1], [-3]], [(None, "big"), (None, "red"), (None, "kind")], Fragment.RELATIVE)
    assert rel.sentences == (
        "Every person who is big and is not red is kind.",
        "Every person who is big is not red.",
        "Every person is big.",
        "Every person is not kind.",
    )
    assert rel.fol[0] == "all x.((big(x) & -red(x)) -> kind(x))"
    assert rel.fol[2] == "all x.big(x)"


def test_fol_parses_and_equals_the_translation() -> None:
    parsing = pytest.importorskip("logic.parsing")
    controlled = pytest.importorskip("logic.translate.controlled")
    vocab = load_vocabulary()
    rng = np.random.default_rng(5)
    for fragment in Fragment:
        for k in (1, 2, 3, 4):
            for clauses in sample_formulas(rng, 9, 12, k, 5).tolist():
                atoms = assign_atoms(9, fragment, vocab, rng)
                r = render(clauses, atoms, fragment)
                trees = fol_trees(clauses, atoms, fragment)
                assert [str(t) for t in trees] == list(r.fol)  # the fast printer is logic's printer
                assert [parsing.parse(s) for s in r.fol] == trees == controlled.translate_theory(list(r.sentences))


def test_atoms_are_distinct_and_capacity_is_checked() -> None:
    vocab = load_vocabulary()
    atoms = assign_atoms(300, Fragment.RULES, vocab, np.random.default_rng(0))
    assert len(set(atoms)) == 300
    assert len(vocab.names) * len(vocab.adjectives) >= 300
    small = Vocabulary(("Bob", "Anne"), ("big", "red"))
    assert len(set(assign_atoms(4, Fragment.DISJUNCTIVE, small, np.random.default_rng(0)))) == 4
    with pytest.raises(ConfigError, match="only 2 names x 2 attributes"):
        assign_atoms(5, Fragment.RULES, small, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="relative.*n = 3 > 2 attributes"):
        assign_atoms(3, Fragment.RELATIVE, small, np.random.default_rng(0))


def test_vocabulary_files_are_validated(tmp_path) -> None:
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    (tmp_path / "bad.txt").write_text("big\nRed\n")
    (tmp_path / "reserved.txt").write_text("big\nnot\n")
    (tmp_path / "names.txt").write_text("Bob\n")
    with pytest.raises(ConfigError, match="empty vocabulary"):
        load_vocabulary(adjectives_file=str(tmp_path / "empty.txt"))
    with pytest.raises(ConfigError, match=r"bad.txt:2: 'Red' is not a lower-case adjective"):
        load_vocabulary(adjectives_file=str(tmp_path / "bad.txt"))
    with pytest.raises(ConfigError, match="reserved word"):
        load_vocabulary(adjectives_file=str(tmp_path / "reserved.txt"))
    with pytest.raises(ConfigError, match="not found"):
        load_vocabulary(names_file=str(tmp_path / "missing.txt"))
    assert load_vocabulary(names_file=str(tmp_path / "names.txt")).names == ("Bob",)

"""Fresh-vocabulary copies of controlled-English training stories (``logic.translate.augment``)
and the article marker of the delexicalised source: copies read back to the renamed formula, never
use a held-out word, restore sentence forms the overlap check removed, and "the" tells the model
where a two-word name starts."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from logic.parsing import parse
from logic.syntax import signature
from logic.translate.augment import fresh_copy, vocabulary_words
from logic.translate.controlled import Lexicon, translate_sentence
from logic.translate.delex import delexicalise_source

# a ProofWriter training story as written in the data (relations, negation, "it"/"they", a
# two-word name, a plural rule), and a ProntoQA-style one (nouns, "a", plurals)
STORY = [
    "The bald eagle chases the cat.",
    "The cat does not visit the bald eagle.",
    "The cat is big.",
    "Gary is not rough.",
    "If something chases the cat and it is big then it visits the bald eagle.",
    "If someone is rough then they do not chase the cat.",
    "Big, rough things are young.",
    "If Gary is young then Gary chases the bald eagle.",
]
NOUN_STORY = ["Every yumpus is a dumpus.", "Wumpuses are yumpuses.", "Max is a wumpus.", "Max is not shy."]


def _read(sentences):
    lexicon = Lexicon.from_sentences(sentences)
    return [str(translate_sentence(s, lexicon, negation="classical")) for s in sentences]


def test_a_copy_reads_back_as_the_renamed_formula_with_no_old_word_left():
    copy = fresh_copy(STORY, random.Random(0))
    assert len(copy) == len(STORY)  # every sentence copied
    old = _read(STORY)
    old_names = {s.name.lower() for f in old for s in signature([parse(f)])}
    old_words = {w for n in old_names for w in n.split("_")} | {"chase", "visit"}
    for (new_sentence, new_formula), old_formula in zip(copy, old):
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", new_sentence)}
        assert not words & old_words, new_sentence
        # same shape: the formula with names blanked out is unchanged
        blank = lambda f: re.sub(r"[A-Za-z_][A-Za-z0-9_]*(?=\(|[,)])", "N", f)
        assert blank(new_formula) == blank(old_formula), (new_sentence, new_formula, old_formula)
    # one renaming for the whole story: the bald eagle is the same new name in every sentence
    eagles = {re.search(r"(\w+_\w+)", f).group(1) for _, f in copy if "_" in f}
    assert len(eagles) == 1
    # and the copy is read back by the parser itself, not only rewritten
    assert [f for _, f in copy] == _read([s for s, _ in copy])


def test_nouns_and_plurals_are_copied_as_nouns():
    copy = fresh_copy(NOUN_STORY, random.Random(1))
    assert len(copy) == 4
    assert copy[0][1].startswith("all x.(") and copy[2][0].split()[2] in ("a", "an")
    assert [f for _, f in copy] == _read([s for s, _ in copy])


def test_banned_words_are_never_used_and_an_exhausted_vocabulary_gives_no_copy():
    banned = frozenset(w for w in vocabulary_words() if w[0] in "abcdefghijklm")
    for seed in range(5):
        for sentence, _ in fresh_copy(STORY, random.Random(seed), banned):
            assert not {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)} & banned, sentence
    assert fresh_copy(STORY, random.Random(0), vocabulary_words()) == []


def test_build_pairs_restores_forms_removed_by_the_overlap_check(tmp_path: Path):
    from logic.translate.seq2seq import build_pairs

    train = [{"id": "t0", "context": " ".join(STORY), "question": "Q? The cat is young.", "answer": "A"}]
    # the test split holds two of the training sentences word for word
    test = [{"id": "x0", "context": "The bald eagle chases the cat. The cat is big.", "question": "Q? The cat is young.", "answer": "A"}]
    for name, rows in (("train", train), ("test", test), ("dev", test)):
        (tmp_path / f"{name}.json").write_text(json.dumps(rows))
    plain = build_pairs(folio_dir=None, proofwriter_dir=tmp_path)
    copied = build_pairs(folio_dir=None, proofwriter_dir=tmp_path, augment=2)
    sources = {s.split(": ", 1)[1] for s, _ in copied.pairs}
    assert "The bald eagle chases the cat." not in sources and "The cat is big." not in sources
    held = {"the", "bald", "eagle", "chases", "cat", "is", "big", "young"}
    relation_facts = [s for s in sources if re.fullmatch(r"The \w+ \w+ \w+s the \w+\.", s)]
    assert relation_facts and all("eagle" not in s for s in relation_facts)  # the form is back, in new words
    assert copied.counts["augmented"]["copies_per_story"] == 2 and copied.counts["augmented"]["sentences"] > 0
    assert len(copied.pairs) > len(plain.pairs)
    for s in sources - {s.split(": ", 1)[1] for s, _ in plain.pairs}:
        content = {w.lower() for w in re.findall(r"[A-Za-z]+", s)} - {"if", "then", "and", "it", "they", "someone", "something", "does", "do", "not", "things", "are", "the", "is"}
        assert not content & held, s  # a copy never writes a held-out content word


def test_the_article_marks_where_a_name_starts():
    fw = frozenset({"the", "is"})
    a = "The bald eagle chases the cat."
    b = "The lion chases the bald eagle."
    # left out, the two forms collide; kept, they differ
    assert delexicalise_source(a, fw)[0] == delexicalise_source(b, fw)[0] == "<0> <1> <2> <3>."
    assert delexicalise_source(a, fw, keep_articles=True)[0] == "The <0> <1> <2> the <3>."
    assert delexicalise_source(b, fw, keep_articles=True)[0] == "The <0> <1> the <2> <3>."


def test_each_placeholder_is_one_token_and_decodes_back(tmp_path: Path):
    import pytest

    pytest.importorskip("tokenizers")
    pytest.importorskip("transformers")
    from logic.translate.delex import PLACEHOLDER, placeholder_tokens
    from logic.translate.seq2seq import _train_tokenizer

    added = placeholder_tokens()
    assert len(added) == len(set(added)) and all(PLACEHOLDER.fullmatch(t) for t in added)
    texts = ["rule: The <0> <1> the <2> <3>.", "<1>(<0>, <2>_<3>)", "all x.(<0^-s>(x) -> <1^>(x))"] * 20
    tok = _train_tokenizer(texts, 300, tmp_path / "tok", added)
    for text in ("<1>(<0>, <2>_<3>)", "all x.(<12,+es>(x) -> -<1^>(x))", "rule: If <10> is <1> then <0> is <2>."):
        pieces = tok.convert_ids_to_tokens(tok(text)["input_ids"])
        assert {p for p in pieces if "<" in p and p != "</s>"} <= set(added), pieces  # never split
        assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text


def test_both_architectures_build_save_and_load_and_an_unknown_one_is_refused(tmp_path: Path):
    import pytest

    pytest.importorskip("torch")
    from transformers import AutoModelForSeq2SeqLM

    from logic.errors import LogicError
    from logic.translate.delex import placeholder_tokens
    from logic.translate.seq2seq import TrainConfig, _build_model, _train_tokenizer

    tok = _train_tokenizer(["rule: The <0> <1> the <2>.", "<1>(<0>, <2>)"] * 10, 300, tmp_path / "tok", placeholder_tokens())
    for arch in ("bart", "t5"):
        model = _build_model(TrainConfig(out=tmp_path, arch=arch, d_model=32, layers=1, d_ff=64), tok)
        model.save_pretrained(str(tmp_path / arch))
        assert type(AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / arch))).__name__.lower().startswith(arch)
    with pytest.raises(LogicError, match="architecture"):
        _build_model(TrainConfig(out=tmp_path, arch="gpt"), tok)

"""Fresh-vocabulary copies of controlled-English training stories, for the trained translator.

ProofWriter's vocabulary is small (ten animals, six verbs, a few dozen adjectives and names), so
many of its *training* sentences occur word for word in its dev or test split, and the overlap
check of ``nesy train translator`` removes them: every positive relation fact ("The lion visits
the bear.") goes, and the model never sees that sentence form. A fresh-vocabulary copy keeps the
form and changes the words: each story is rewritten with new names, nouns, adjectives and verbs
drawn from lists disjoint from every word of the evaluation splits::

    The lion visits the bear.            ->  The heron admires the walrus.
    If someone visits the bear then ...  ->  If someone admires the walrus then ...

The copy is read again by the controlled-English parser (``translate_sentence``), and kept only
when its formula is the original's with the same renaming applied, so a copy never carries a
reading the parser would not give. The overlap check runs on the copies too. Copies come only
from training stories; what they share with an evaluation sentence is the sentence *form*, which
is what a delexicalised model reads anyway (``logic.translate.delex``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

from logic.errors import TranslationError
from logic.syntax import signature

# Fresh words, chosen outside ProofWriter's vocabulary; build_pairs also bans every word of the
# held-out sentences, so a copy never writes one.
NAMES = (
    "Abel Bruno Carla Dario Edith Fabio Greta Hugo Ines Jonas Kira Luca Marta Nora Otto Paula Quinn Rosa "
    "Silas Tilda Ugo Vera Wanda Xavi Yara Zeno Alba Boris Celia Dunja Elio Frida Gino Hedda Ivo Jana Kurt Lena"
).split()
NOUNS = (
    "heron walrus otter badger beaver camel donkey falcon ferret gecko goose hamster hedgehog jackal koala "
    "lemur llama lynx magpie marmot moose newt ostrich panda parrot pelican penguin puffin raven salmon "
    "seal shark sloth stork swan toad turkey viper weasel wombat yak zebra"
).split()
MODIFIERS = "arctic golden spotted striped woolly grey crested pygmy snowy desert".split()
ADJECTIVES = (
    "calm eager brave clever gentle proud shy fierce loyal noisy sleepy hungry lazy polite clumsy jolly "
    "grumpy humble lucky modest silly sturdy tidy witty bold fuzzy shiny dusty muddy spiky stiff tame wild"
).split()
# base forms; each takes "s"/"es" in the third person (controlled.third_person), as the
# delexicaliser's plural rule expects
VERBS = "admire follow help meet greet call trust watch push fear praise guide hug tease warn avoid pull".split()

_WORD = re.compile(r"[A-Za-z]+")


class _Clash(Exception):
    """One word form would be rewritten two ways: this story is not copied."""


def _fresh(pool: Sequence[str], used: set[str], rng: random.Random, banned: frozenset[str]) -> str:
    choices = [w for w in pool if w not in used and w.lower() not in banned]
    if not choices:
        raise _Clash("fresh vocabulary exhausted")
    w = rng.choice(choices)
    used.add(w)
    return w


def _renaming(formulas: Iterable, sentences: Sequence[str], rng: random.Random, banned: frozenset[str]):
    """(word-form map for the text, symbol map for the formulas) of one story."""
    from logic.translate.controlled import singular, third_person

    symbols = {(s.name, s.kind, s.arity) for s in signature(list(formulas))}
    text_words = {w.lower() for s in sentences for w in _WORD.findall(s)}
    words: dict[str, str] = {}  # lower-case form in the text -> replacement (lower case)
    names: dict[str, str] = {}  # symbol name -> new symbol name
    used: set[str] = set()

    def claim(form: str, new: str) -> None:
        if words.setdefault(form, new) != new:
            raise _Clash(form)

    for name, kind, arity in sorted(symbols):
        if kind == "const":
            if name[:1].isupper() and "_" not in name:
                new = _fresh(NAMES, used, rng, banned)
                claim(name.lower(), new.lower())
            else:
                parts = name.split("_")
                fresh = [_fresh(MODIFIERS, used, rng, banned) for _ in parts[:-1]] + [_fresh(NOUNS, used, rng, banned)]
                for old, new_part in zip(parts, fresh):
                    claim(old.lower(), new_part)
                new = "_".join(fresh)
            names[name] = new
        elif kind == "pred" and arity == 2:  # a verb, named by its third person
            base = _fresh(VERBS, used, rng, banned)
            new = third_person(base)
            claim(name.lower(), new)
            for w in text_words:
                if w != name.lower() and third_person(w) == name.lower():
                    claim(w, base)
            names[name] = new
        elif kind == "pred" and arity == 1:  # an adjective, or a noun (also written in the plural)
            plurals = {w for w in text_words if w != name.lower() and singular(w) == name.lower()}
            noun = bool(plurals) or any(re.search(rf"\b(?:a|an) {re.escape(name.lower())}\b", s.lower()) for s in sentences)
            new = _fresh(NOUNS if noun else ADJECTIVES, used, rng, banned)
            claim(name.lower(), new)
            for w in plurals:
                plural = third_person(new)
                if singular(plural) != new:
                    raise _Clash(new)
                claim(w, plural)
            names[name] = new
        else:
            raise _Clash(name)  # other arities: not a controlled-English story
    return words, names


def _rewrite(sentence: str, words: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        w = m.group(0)
        new = words.get(w.lower())
        if new is None:
            return w
        return new[:1].upper() + new[1:] if w[:1].isupper() else new

    return _WORD.sub(sub, sentence)


def _rename_formula(text: str, names: dict[str, str]) -> str:
    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: names.get(m.group(0), m.group(0)), text)


def fresh_copy(sentences: Sequence[str], rng: random.Random, banned: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """One fresh-vocabulary copy of a story: (new sentence, its formula) for each sentence the
    controlled-English parser reads the same way after the renaming (classical negation). Empty
    when the story cannot be copied (a word that would be rewritten two ways, vocabulary used
    up). ``banned``: lower-case words a copy must not use (the held-out splits' words)."""
    from logic.translate.controlled import Lexicon, translate_sentence

    lexicon = Lexicon.from_sentences(sentences)
    originals = []
    for s in sentences:
        try:
            originals.append((s, translate_sentence(s, lexicon, negation="classical")))
        except (TranslationError, ValueError):
            continue
    if not originals:
        return []
    try:
        words, names = _renaming([f for _, f in originals], [s for s, _ in originals], rng, banned)
    except _Clash:
        return []
    new_sentences = [_rewrite(s, words) for s, _ in originals]
    new_lexicon = Lexicon.from_sentences(new_sentences)
    out = []
    for new, (_, formula) in zip(new_sentences, originals):
        try:
            got = str(translate_sentence(new, new_lexicon, negation="classical"))
        except (TranslationError, ValueError):
            continue
        if got == _rename_formula(str(formula), names):
            out.append((new, got))
    return out


def vocabulary_words() -> frozenset[str]:
    """Every fresh word (lower case), with the forms a copy can write."""
    from logic.translate.controlled import third_person

    words = {w.lower() for w in (*NAMES, *NOUNS, *MODIFIERS, *ADJECTIVES, *VERBS)}
    return frozenset(words | {third_person(w) for w in words})

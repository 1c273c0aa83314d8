"""Deterministic translation of controlled English into first-order formulas.

Covered language (ProofWriter/RuleTaker, ProntoQA and the NLSat fragments), by example::

    Bob is big.                  Bob is not big.              The bear does not chase the lion.
    The bald eagle visits Anne.  Max is a yumpus.             Bob is big and red.
    Bob is big or Bob is not red or Anne is kind.
    If Bob is not big and Anne is red then Bob is kind.
    If something chases the bear and it is not red then the bear visits it.
    If someone is big and not young then they do not see the cat.
    Young, red things are big.   All big people are not kind.   Jompuses are not shy.
    Each yumpus is a dumpus.     Every wumpus is an impus.      Wumpuses are yumpuses.
    Every person who is big and is not red is kind.              Every person is not big.

Naming conventions (stable, so other code can build the same formulas):

* entities: a capitalised name stays as written (``Bob``); ``the bald eagle`` -> ``bald_eagle``;
* adjectives: the word in lower case (``big(Bob)``); nouns: the singular in lower case
  (``yumpus(Max)`` for "is a yumpus" and "Yumpuses are ..."); ``people``/``things``/``person``/
  ``thing``/``everything``/``everyone`` restrict nothing;
* verbs: the third-person singular (``chases(bear, lion)``), also for "does not chase" and
  "they chase";
* variables: ``x`` (only one per sentence: "something"/"someone" introduce it, "it"/"they"
  refer back to it; in "every person who ..." it is the person).

A sentence outside this language raises ``TranslationError`` naming the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logic.errors import TranslationError
from logic.syntax import Const, Formula, Forall, Implies, Not, Pred, Term, Var, conj, disj

VAR = Var("x")

_COPULA_SG = {"is"}
_COPULA_PL = {"are"}
_AUX_SG = {"does"}
_AUX_PL = {"do"}
_INTRODUCE = {"something", "someone", "somebody"}
_REFER = {"it", "they", "he", "she", "them"}
_QUANT = {"all", "every", "each"}
_DOMAIN = {"people", "things", "person", "thing", "persons", "everything", "everyone", "everybody", "ones", "one"}
_RELATIVE = {"who", "that", "which"}
# determiners whose meaning is not "every": refuse rather than misread them as adjectives
_UNCOVERED_DETERMINERS = {"most", "some", "many", "few", "several", "both", "any", "only", "none", "a", "an", "no", "not", "there"}
_ARTICLES = {"a", "an"}
# "Nothing is X", "Nobody chases the cat", "No one is X", "None of the cats are X", "No cat is X":
# negated universals. Such a word is never an entity name ("Nothing" is not a constant).
_NEGATIVE_PRONOUNS = {"nothing", "nobody", "noone", "no-one"}
_QUANTIFIER_WORDS = _NEGATIVE_PRONOUNS | {
    "none", "no", "anything", "anyone", "anybody", "somebody", "most", "some", "many", "few",
    "several", "both", "any", "only", "there", "each", "every", "all", "neither", "either",
}
# contractions are expanded before reading ("isn't" -> "is not")
_CONTRACTIONS = {
    "isn't": "is not", "aren't": "are not", "doesn't": "does not", "don't": "do not",
    "wasn't": "was not", "weren't": "were not", "can't": "cannot", "won't": "will not",
}
_FUNCTION_WORDS = {"the", "if", "then", "or", "not", "no", "a", "an"} | _INTRODUCE | _REFER | _QUANT
_CONNECTIVES = {"and", "or", "then", ",", "<end>"}
_SENTENCE_START_WORDS = _QUANT | _INTRODUCE | _REFER | {"if", "the"} | _DOMAIN | _QUANTIFIER_WORDS


def singular(word: str) -> str:
    """Singular of a (possibly invented) plural noun: jompuses -> jompus, people -> person."""
    w = word.lower()
    if w in ("people", "persons"):
        return "person"
    if w == "things":
        return "thing"
    for suffix, repl in (("uses", "us"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("zes", "z")):
        if w.endswith(suffix):
            return w[: -len(suffix)] + repl
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")):
        return w[:-1]
    return w


def third_person(verb: str) -> str:
    """Third-person singular of a base-form verb: chase -> chases, see -> sees, try -> tries."""
    v = verb.lower()
    if v.endswith(("s", "sh", "ch", "x", "z", "o")):
        return v + "es"
    if v.endswith("y") and len(v) > 1 and v[-2] not in "aeiou":
        return v[:-1] + "ies"
    return v + "s"


def looks_plural_noun(word: str) -> bool:
    w = word.lower()
    return w.endswith("s") and not w.endswith(("ss", "us", "is", "ous"))


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences at '.', '!' or '?' followed by white space."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


@dataclass
class Lexicon:
    """What the theory tells us about words: which singular forms are nouns."""

    nouns: set[str] = field(default_factory=set)

    @classmethod
    def from_sentences(cls, sentences: Iterable[str]) -> Lexicon:
        nouns: set[str] = set()
        for s in sentences:
            words = [w.lower() for w in _WORD.findall(s)]
            for i, w in enumerate(words[:-1]):
                if w in _ARTICLES or (w in ("every", "each") and words[i + 1] not in _DOMAIN):
                    nouns.add(singular(words[i + 1]) if w not in _ARTICLES else words[i + 1])
        return cls(nouns - _DOMAIN)


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|,")


@dataclass(frozen=True)
class _Tok:
    low: str
    raw: str

    @property
    def capital(self) -> bool:
        return self.raw[:1].isupper()


class _Fail(Exception):
    """Internal: this reading does not fit; the caller may try another one."""


NEGATION_MODES = ("classical", "literal")
LITERAL_PREFIX = "not_"


def complement(literal: Formula) -> Formula:
    """In ``literal`` negation mode, the atom that answers FALSE: ``red(b)`` <-> ``not_red(b)``."""
    if not isinstance(literal, Pred):
        raise TranslationError(str(literal), "literal negation mode needs an atomic conclusion")
    if literal.name.startswith(LITERAL_PREFIX):
        return Pred(literal.name[len(LITERAL_PREFIX) :], literal.args)
    return Pred(LITERAL_PREFIX + literal.name, literal.args)


class _SentenceParser:
    def __init__(self, sentence: str, lexicon: Lexicon, negation: str = "classical") -> None:
        self.negation = negation
        body = sentence.strip()
        if body.endswith((".", "!")):
            body = body[:-1]
        if not body or re.search(r"[^A-Za-z'’\-,\s]", body):
            raise _Fail("unexpected characters")
        words: list[str] = []
        for w in _WORD.findall(body.replace("’", "'")):
            expanded = _CONTRACTIONS.get(w.lower())
            if expanded is not None:
                words.extend(expanded.split())
            elif "'" in w:
                raise _Fail(f"cannot read the word {w!r} (possessives and contractions other than n't are not covered)")
            else:
                words.append(w)
        self.toks = [_Tok(w.lower(), w) for w in words]
        self.toks.append(_Tok("<end>", "<end>"))
        self.i = 0
        self.lexicon = lexicon
        self.var_used = False

    # -- helpers ------------------------------------------------------------------------------
    def neg(self, atom: Pred) -> Formula:
        return Not(atom) if self.negation == "classical" else complement(atom)

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def at(self, k: int) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        t = self.tok
        if t.low == "<end>":
            raise _Fail("sentence ends too early")
        self.i += 1
        return t

    def accept(self, *words: str) -> bool:
        if self.tok.low in words:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise _Fail(f"expected {word!r} at {self.tok.raw!r}")

    def done(self) -> None:
        if self.tok.low != "<end>":
            raise _Fail(f"unexpected {self.tok.raw!r}")

    # -- noun phrases -------------------------------------------------------------------------
    def is_name(self, t: _Tok, initial: bool = False) -> bool:
        return t.capital and t.low not in _CONNECTIVES and (not initial or t.low not in _SENTENCE_START_WORDS)

    def starts_subject(self, t: _Tok) -> bool:
        return t.low in _INTRODUCE | _REFER | {"the"} or (t.capital and t.low not in _CONNECTIVES)

    def subject(self, initial: bool = False) -> tuple[Term, bool]:
        """A subject noun phrase: (term, plural)."""
        t = self.tok
        if t.low in _INTRODUCE:
            self.i += 1
            self.var_used = True
            return VAR, False
        if t.low in _REFER:
            if not self.var_used:
                raise _Fail(f"{t.raw!r} does not refer to anything")
            self.i += 1
            return VAR, t.low == "they"
        if t.low == "the":
            self.i += 1
            words = [self.take().low]
            # "the bald eagle": keep reading until a copula, auxiliary or 3rd-person verb
            while (
                self.tok.low not in _COPULA_SG | _COPULA_PL | _AUX_SG | _AUX_PL | _CONNECTIVES | {"not"}
                and not self.tok.low.endswith("s")
                and self.at(1).low != "<end>"
            ):
                words.append(self.take().low)
            return Const("_".join(words)), False
        if self.is_name(t, initial):
            self.i += 1
            return Const(t.raw), False
        raise _Fail(f"expected a subject at {t.raw!r}")

    def object_np(self) -> Term:
        t = self.tok
        if t.low == "the":
            self.i += 1
            words = [self.take().low]
            while self.tok.low not in _CONNECTIVES:
                words.append(self.take().low)
            return Const("_".join(words))
        if t.low in _REFER | _INTRODUCE:
            if t.low in _INTRODUCE:
                self.var_used = True
            elif not self.var_used:
                raise _Fail(f"{t.raw!r} does not refer to anything")
            self.i += 1
            return VAR
        if t.capital and t.low not in _CONNECTIVES:
            self.i += 1
            return Const(t.raw)
        raise _Fail(f"expected an object at {t.raw!r}")

    # -- verb phrases -------------------------------------------------------------------------
    def starts_vp(self, k: int) -> bool:
        """Does a verb phrase start at absolute token index ``k``?"""
        t = self.toks[min(k, len(self.toks) - 1)]
        if t.low in _COPULA_SG | _COPULA_PL | _AUX_SG | _AUX_PL:
            return True
        if t.capital or t.low in _CONNECTIVES:
            return False
        nxt = self.toks[min(k + 1, len(self.toks) - 1)]
        return nxt.low == "the" or (nxt.capital and nxt.low not in _CONNECTIVES) or nxt.low in _REFER | _INTRODUCE

    def complement(self, subj: Term, plural: bool) -> Formula:
        negated = self.accept("not")
        if self.accept(*_ARTICLES):
            atom = Pred(self.take().low, (subj,))
        else:
            t = self.take()
            if t.low in _CONNECTIVES or t.low in _COPULA_SG | _COPULA_PL | {"not"}:
                raise _Fail(f"expected an adjective or noun at {t.raw!r}")
            word = t.low
            if plural and (singular(word) in self.lexicon.nouns or looks_plural_noun(word)):
                word = singular(word)
            atom = Pred(word, (subj,))
        return self.neg(atom) if negated else atom

    def vp(self, subj: Term, plural: bool) -> Formula:
        """is/are [not] COMPLEMENT {and|or [not] COMPLEMENT} | does not VERB OBJ | VERB OBJ."""
        t = self.tok
        if not plural and t.low in _COPULA_PL | _AUX_PL:
            raise _Fail(f"{t.raw!r} does not agree with a singular subject")
        if t.low in _COPULA_SG | _COPULA_PL:
            self.i += 1
            parts = [self.complement(subj, t.low in _COPULA_PL or plural)]
            op = None
            while self.tok.low in ("and", "or"):
                nxt = self.at(1)
                if self.starts_subject(nxt) or self.starts_vp(self.i + 1):
                    break
                if op is not None and self.tok.low != op:
                    raise _Fail("mixed 'and' and 'or' in one list")
                op = self.tok.low
                self.i += 1
                parts.append(self.complement(subj, t.low in _COPULA_PL or plural))
            return disj(parts) if op == "or" else conj(parts)
        if t.low in _AUX_SG | _AUX_PL:
            self.i += 1
            self.expect("not")
            verb = third_person(self.take().low)
            return self.neg(Pred(verb, (subj, self.object_np())))
        if t.low in _CONNECTIVES or t.capital:
            raise _Fail(f"expected a verb at {t.raw!r}")
        self.i += 1
        verb = third_person(t.low) if plural else t.low
        if not plural and not verb.endswith("s"):
            raise _Fail(f"expected 'is', 'does not' or a verb at {t.raw!r}")
        return Pred(verb, (subj, self.object_np()))

    def clause(self, initial: bool = False) -> Formula:
        subj, plural = self.subject(initial)
        return self.vp(subj, plural)

    def clause_list(self, word: str, initial: bool = False) -> list[Formula]:
        """clause {word clause}, where a ``word`` followed by a verb phrase reuses the subject."""
        start_subject = self.i
        parts = [self.clause(initial)]
        while self.tok.low == word:
            nxt = self.at(1)
            self.i += 1
            if self.starts_vp(self.i) and not self.starts_subject(nxt):
                # "... and is not red": same subject as the previous clause
                saved = self.i
                self.i = start_subject
                subj, plural = self.subject(initial)
                self.i = saved
                parts.append(self.vp(subj, plural))
            else:
                start_subject = self.i
                parts.append(self.clause())
        return parts

    # -- sentences ----------------------------------------------------------------------------
    def rule(self) -> Formula:
        self.expect("if")
        cond = self.clause_list("and")
        self.accept(",")
        self.expect("then")
        concl = self.clause_list("and")
        self.done()
        body: Formula = Implies(conj(cond), conj(concl))
        return Forall(VAR, body) if self.var_used else body

    def facts(self) -> Formula:
        parts = self.clause_list("or", initial=True)
        self.done()
        out = disj(parts)
        if self.var_used:
            raise _Fail("a fact cannot talk about 'something'")
        return out

    def negative(self) -> Formula:
        """Nothing/Nobody/No one VP; None of the NOUNS VP; No MODIFIERS NOUN VP:
        ``all x.(conditions -> -VP(x))`` (a negated universal, never a constant)."""
        conds: list[Formula] = []
        plural = False
        if self.accept(*_NEGATIVE_PRONOUNS):
            pass
        elif self.tok.low == "no" and self.at(1).low in ("one", "body"):
            self.i += 2
        elif self.accept("none"):
            self.expect("of")
            self.expect("the")
            plural = True
            conds = self.noun_phrase(conds)
        elif self.accept("no"):
            conds = self.noun_phrase(conds)
            plural = self.toks[self.i - 1].low != singular(self.toks[self.i - 1].low) or self.tok.low in _COPULA_PL | _AUX_PL
        else:
            raise _Fail("expected nothing, nobody, no one, none of or no")
        self.var_used = True
        body = self.vp(VAR, plural)
        self.done()
        if self.negation == "literal":
            if not isinstance(body, Pred):
                raise _Fail("a negated universal over a compound predicate needs classical negation")
            negated = complement(body)
        else:
            negated = Not(body)
        return Forall(VAR, Implies(conj(conds), negated) if conds else negated)

    def noun_phrase(self, conds: list[Formula]) -> list[Formula]:
        """MODIFIERS HEAD before a verb phrase, as conditions on x (people/things restrict nothing)."""
        words: list[str] = []
        while self.tok.low not in _COPULA_SG | _COPULA_PL | _AUX_PL | _AUX_SG | {"<end>"}:
            t = self.take()
            if t.low in (",", "and"):
                continue
            if t.low in _FUNCTION_WORDS or t.capital:
                raise _Fail(f"{t.raw!r} cannot be part of a noun phrase")
            words.append(t.low)
            if len(words) > 1 and self.starts_vp(self.i):
                break
        if not words:
            raise _Fail("expected a noun phrase")
        head, modifiers = words[-1], words[:-1]
        out = conds + [Pred(m, (VAR,)) for m in modifiers]
        if head not in _DOMAIN:
            out.append(Pred(singular(head), (VAR,)))
        return out

    def generic(self) -> Formula:
        """[all|every|each] MODIFIERS HEAD [who VP {and VP}] VP."""
        self.accept(*_QUANT)
        if self.tok.low in _UNCOVERED_DETERMINERS:
            raise _Fail(f"the determiner {self.tok.raw!r} is not covered")
        words: list[str] = []
        while self.tok.low not in _COPULA_SG | _COPULA_PL | _RELATIVE | _AUX_PL | _AUX_SG | {"<end>"}:
            t = self.take()
            if t.low in (",", "and"):
                continue
            if t.low in _FUNCTION_WORDS or t.low in _QUANTIFIER_WORDS or (t.capital and self.i > 1):
                raise _Fail(f"{t.raw!r} cannot be part of a generic noun phrase")
            words.append(t.low)
            if len(words) > 1 and self.starts_vp(self.i) and self.tok.low not in _COPULA_SG | _COPULA_PL:
                break  # "Red things chase the cat": head ends before a verb with an object
        if not words:
            raise _Fail("expected a noun phrase")
        head, modifiers = words[-1], words[:-1]
        plural = head not in ("person", "thing", "everything", "everyone", "everybody", "one") and (
            head in _DOMAIN or looks_plural_noun(head) or singular(head) != head
        )
        self.var_used = True
        conds: list[Formula] = [Pred(m, (VAR,)) for m in modifiers]
        if head not in _DOMAIN:
            conds.append(Pred(singular(head), (VAR,)))
        if self.accept(*_RELATIVE):
            conds.append(self.vp(VAR, plural))
            while self.accept("and"):
                conds.append(self.vp(VAR, plural))
        concl = self.vp(VAR, plural)
        self.done()
        return Forall(VAR, Implies(conj(conds), concl) if conds else concl)


def _check_mode(negation: str) -> None:
    if negation not in NEGATION_MODES:
        raise TranslationError(negation, f"unknown negation mode; choose one of {', '.join(NEGATION_MODES)}")


def translate_sentence(sentence: str, lexicon: Lexicon | None = None, *, negation: str = "classical") -> Formula:
    """Translate one sentence; ``lexicon`` (from the whole theory) helps tell nouns from
    adjectives in "Xs are Ys". Raises ``TranslationError`` naming the sentence.

    ``negation="classical"`` (default) reads "not" as logical negation. ``"literal"`` reads a
    negated atom as an atom of its own (``not_red(b)``), as the ProofWriter/RuleTaker reasoner
    does: rules then only fire forwards, with no contraposition (see docs/logic.md)."""
    _check_mode(negation)
    if not isinstance(sentence, str):
        raise TranslationError(repr(sentence), "not a string")
    lexicon = lexicon or Lexicon.from_sentences([sentence])
    first = sentence.strip().split(" ", 1)[0].lower().rstrip(".,!")
    if first == "if":
        readings = ["rule"]
    elif first in _QUANT:
        readings = ["generic"]
    elif first in _NEGATIVE_PRONOUNS | {"no", "none"}:
        readings = ["negative"]
    else:
        readings = ["facts", "generic"]
    reasons: list[str] = []
    for reading in readings:
        try:
            parser = _SentenceParser(sentence, lexicon, negation)
            return getattr(parser, reading)()
        except _Fail as exc:
            reasons.append(str(exc))
        except ValueError as exc:  # a word that is no identifier, a formula too deep, ...
            reasons.append(str(exc))
    raise TranslationError(sentence, "not covered by the controlled-English grammar (" + "; ".join(reasons) + ")")


def translate_theory(sentences: Sequence[str], *, negation: str = "classical") -> list[Formula]:
    """Translate every sentence of a theory, in order (one formula per sentence).

    Raises ``TranslationError`` naming the first sentence that cannot be read."""
    if isinstance(sentences, str):
        raise TranslationError(sentences[:80], "translate_theory takes a list of sentences (use split_sentences)")
    lexicon = Lexicon.from_sentences(sentences)
    return [translate_sentence(s, lexicon, negation=negation) for s in sentences]


def translate_problem(context: Sequence[str], question: str, *, negation: str = "classical") -> tuple[list[Formula], Formula]:
    """Premises and conclusion for one problem, sharing one lexicon."""
    lexicon = Lexicon.from_sentences([*context, question])
    premises = [translate_sentence(s, lexicon, negation=negation) for s in context]
    return premises, translate_sentence(question, lexicon, negation=negation)

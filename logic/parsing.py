"""Parse first-order formulas written in nesy/NLTK/Prover9 style or in FOLIO's Unicode style.

Accepted notation (both styles may be mixed in one string):

==============  ==========================================
negation        ``-``  ``¬``  ``~``
and / or        ``&``  ``∧``   /   ``|``  ``∨``
implication     ``->`` ``→``  ``=>``
equivalence     ``<->`` ``↔`` ``⟷`` ``<=>``
exclusive or    ``<~>`` ``⊕``
quantifiers     ``all x.F``  ``all x y.F``  ``all x (F)``  ``forall x.F``  ``∀x F``  (``exists``/``∃``)
equality        ``a = b``  ``a != b``  ``a ≠ b``
==============  ==========================================

Precedence, tightest first: negation, ``&``, ``|``, exclusive or, ``->`` (right-associative),
``<->``. ``&``, ``|``, xor and ``<->`` associate to the left. A quantifier's body extends as far
to the right as possible (NLTK's convention).

A name in term position is a variable when an enclosing quantifier binds it, otherwise a
constant. Names are normalised to ``[A-Za-z_][A-Za-z0-9_]*`` so that every backend can print
them: accents are dropped (``Świątek`` -> ``Swiatek``), apostrophes and inner dots become ``_``
(FOLIO writes ``Companies’Stocks``, ``y42.3billion``), a leading digit gets an ``n`` prefix.

Errors are ``logic.errors.ParseError`` with the 0-based position and what was expected there.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from logic.errors import FormulaTooDeepError, ParseError
from logic.syntax import MAX_DEPTH, And, Const, Eq, Exists, Forall, Formula, Func, Iff, Implies, Not, Or, Pred, Term, Var, Xor, chain

# MAX_DEPTH (from logic.syntax, 100) bounds both what the parser recurses through (nested
# parentheses, quantifier scopes and function applications, counted together) and the depth of
# the tree it builds; deeper input is a ParseError, never a RecursionError.

_NOT = {"-", "¬", "~"}
_AND = {"&", "∧"}
_OR = {"|", "∨"}
_XOR = {"<~>", "⊕"}
_IMP = {"->", "→", "=>"}
_IFF = {"<->", "↔", "⟷", "<=>"}
_EQ = {"="}
_NEQ = {"!=", "≠"}
_FORALL = {"∀"}
_EXISTS = {"∃"}
_FORALL_WORDS = {"all", "forall"}
_EXISTS_WORDS = {"exists"}
# longest first, so that "<->" wins over "<~>"... and "->" over "-"
_OPERATORS = sorted(
    {"(", ")", ",", ".", *(_NOT | _AND | _OR | _XOR | _IMP | _IFF | _EQ | _NEQ | _FORALL | _EXISTS)},
    key=len,
    reverse=True,
)
_APOSTROPHES = {"'", "’", "‘"}
_TRANSLIT = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe"}


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "op" or "end"
    text: str  # normalised name, or the operator as written
    pos: int  # 0-based offset in the input


def normalise_name(raw: str) -> str:
    """Map a raw name (possibly Unicode, with apostrophes) to an ASCII identifier."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", raw):
        if unicodedata.combining(ch):
            continue
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        elif ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        elif ch in _APOSTROPHES or ch == ".":
            out.append("_")
        else:
            out.append(f"u{ord(ch):04x}")
    name = "".join(out) or "_"
    return "n" + name if name[0].isdigit() else name


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into name and operator tokens, ending with an ``end`` token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if _is_name_char(ch):
            start = i
            while i < n:
                c = text[i]
                if _is_name_char(c):
                    i += 1
                elif c in _APOSTROPHES and i + 1 < n and _is_name_char(text[i + 1]):
                    i += 1  # Companies’Stocks
                elif c == "." and text[i - 1].isdigit() and i + 1 < n and text[i + 1].isdigit():
                    i += 1  # y42.3billion
                else:
                    break
            tokens.append(Token("name", normalise_name(text[start:i]), start))
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise ParseError(text, i, "a name, '(', a connective or a quantifier", ch)
    tokens.append(Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.bound: list[str] = []
        self.depth = 0

    # -- helpers ------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def fail(self, expected: str) -> ParseError:
        t = self.tok
        return ParseError(self.text, t.pos, expected, t.text if t.kind != "end" else None)

    def accept(self, ops: set[str] | str) -> bool:
        ops = {ops} if isinstance(ops, str) else ops
        if self.tok.kind == "op" and self.tok.text in ops:
            self.i += 1
            return True
        return False

    def expect(self, op: str, expected: str | None = None) -> None:
        if not self.accept(op):
            raise self.fail(expected or repr(op))

    # -- grammar ------------------------------------------------------------------------------
    # Binary connectives are read iteratively: one flat run of operands and operators, then
    # split by precedence (lowest first). Associative chains become ``chain(...)`` trees (left-
    # nested when short, balanced when long); ``->`` folds to the right. Recursion only happens
    # through parentheses, quantifier scopes and function applications, each counted by
    # ``enter`` against ``MAX_DEPTH``.
    _LEVELS = ((_IFF, Iff), (_IMP, Implies), (_XOR, Xor), (_OR, Or), (_AND, And))

    def formula(self) -> Formula:
        operands = [self.unary()]
        ops: list[str] = []
        while self.tok.kind == "op" and any(self.tok.text in level for level, _ in self._LEVELS):
            ops.append(self.tok.text)
            self.i += 1
            operands.append(self.unary())
        return self._build(operands, ops, 0)

    def _build(self, operands: list[Formula], ops: list[str], level: int) -> Formula:
        if level == len(self._LEVELS):
            return operands[0]
        symbols, cls = self._LEVELS[level]
        segments: list[Formula] = []
        lo = 0
        for j, op in enumerate(ops):
            if op in symbols:
                segments.append(self._build(operands[lo : j + 1], ops[lo:j], level + 1))
                lo = j + 1
        segments.append(self._build(operands[lo:], ops[lo:], level + 1))
        if len(segments) == 1:
            return segments[0]
        if cls is Implies:  # right-associative, not associative: a right fold
            out = segments[-1]
            for left in reversed(segments[:-1]):
                out = Implies(left, out)
            return out
        return chain(cls, segments)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} levels of nesting")

    def unary(self) -> Formula:
        negations = 0
        while self.accept(_NOT):
            negations += 1
        if self.tok.kind == "op" and self.tok.text in _FORALL | _EXISTS:
            universal = self.tok.text in _FORALL
            self.i += 1
            inner = self.quantified(universal)
        elif self.tok.kind == "name" and self.tok.text in _FORALL_WORDS | _EXISTS_WORDS and self.peek().kind == "name":
            universal = self.tok.text in _FORALL_WORDS
            self.i += 1
            inner = self.quantified(universal)
        elif self.tok.kind == "op" and self.tok.text == "(":
            self.enter()
            self.i += 1
            inner = self.formula()
            self.expect(")", "')' or a connective")
            self.depth -= 1
        elif self.tok.kind == "name":
            inner = self.atom()
        else:
            raise self.fail("a formula (name, '(', negation or quantifier)")
        for _ in range(negations):
            inner = Not(inner)
        return inner

    def quantified(self, universal: bool) -> Formula:
        if self.tok.kind != "name":
            raise self.fail("a variable after the quantifier")
        names = [self.tok.text]
        self.i += 1
        # NLTK's "all x y z.F": extra variables only when the run of names ends in '.'
        j = self.i
        while self.tokens[j].kind == "name":
            j += 1
        if j > self.i and self.tokens[j].kind == "op" and self.tokens[j].text == ".":
            names.extend(t.text for t in self.tokens[self.i : j])
            self.i = j
        self.accept(".")
        self.bound.extend(names)
        self.enter()
        try:
            body = self.formula()
        finally:
            del self.bound[len(self.bound) - len(names) :]
        self.depth -= 1
        for name in reversed(names):
            body = Forall(Var(name), body) if universal else Exists(Var(name), body)
        return body

    def atom(self) -> Formula:
        start = self.tok
        name = start.text
        self.i += 1
        args: tuple[Term, ...] = ()
        if self.accept("("):
            args = self.term_list()
        if self.tok.kind == "op" and self.tok.text in _EQ | _NEQ:
            negated = self.tok.text in _NEQ
            self.i += 1
            left = self.make_term(name, args)
            eq = Eq(left, self.term())
            return Not(eq) if negated else eq
        return Pred(name, args)

    def term_list(self) -> tuple[Term, ...]:
        args = [self.term()]
        while self.accept(","):
            args.append(self.term())
        self.expect(")", "',' or ')' after an argument")
        return tuple(args)

    def term(self) -> Term:
        self.enter()
        try:
            if self.tok.kind != "name":
                raise self.fail("a term (variable, constant or function application)")
            name = self.tok.text
            self.i += 1
            args: tuple[Term, ...] = ()
            if self.accept("("):
                args = self.term_list()
            return self.make_term(name, args)
        finally:
            self.depth -= 1

    def make_term(self, name: str, args: tuple[Term, ...]) -> Term:
        if args:
            return Func(name, args)
        return Var(name) if name in self.bound else Const(name)


def parse(text: str) -> Formula:
    """Parse one formula; raise ``ParseError`` (position + what was expected) when malformed."""
    if not isinstance(text, str):
        raise ParseError(repr(text), 0, "a string", type(text).__name__)
    parser = _Parser(text)
    if parser.tok.kind == "end":
        raise parser.fail("a formula")
    try:
        result = parser.formula()
    except FormulaTooDeepError as exc:
        raise parser.fail(f"a formula at most {exc.limit} levels deep (this one is deeper)") from None
    if parser.tok.kind != "end":
        raise parser.fail("end of formula or a connective")
    return result

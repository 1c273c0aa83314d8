"""How a mutation is written in a backend's language: the tactics that find invocable lemmas, the
mutated statement, and the proof composed from the original's.

The mutation logic (:mod:`synthesis.alchemy.mutate`) speaks only the proof-environment protocol
(states, goals, hypotheses) and this interface; a backend plugs in by adding its syntax to
:data:`SYNTAXES` under its registry name. Coq's is :class:`CoqSyntax`; Lean has none yet (its
``rw``/``apply`` and ``have`` forms are what Alchemy itself used: a ``LeanSyntax`` is the one
class to write).

The composed proofs follow Alchemy: undo the mutation, then run the original proof unchanged.

* rewrite of the conclusion ``G`` into ``G'``::

      intros xs.
      enough (nesy_goal : G) by (rewrite L in nesy_goal; exact nesy_goal).
      revert xs.
      <the original proof>

  ``rewrite L`` on the hypothesis ``G`` rewrites the same first instance it rewrote in the goal,
  so this step is deterministic; what is left is the original statement.
* rewrite of a hypothesis ``h : T`` into ``h : T'``: the original hypothesis is established from
  the new one by the same rewrite on the goal ``T``, then the original proof::

      intros xs.
      assert (nesy_hyp : T) by (rewrite L; exact h).
      clear h. rename nesy_hyp into h.
      revert xs.
      <the original proof>

* apply of ``L : A1 -> ... -> Ak -> T`` to ``h : T``: ``h`` is replaced by ``h_1 : A1 ... h_k : Ak``
  and re-established by ``apply L``::

      intros xs'.
      assert (h : T) by (apply L; assumption).
      clear h_1 ... h_k.
      revert xs.
      <the original proof>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthesis.alchemy.lemmas import split_top

_NAME = re.compile(r"[A-Za-z_][\w']*")


class SyntaxError_(ValueError):
    """A declaration this syntax cannot take apart (the theorem is skipped with the reason)."""


@dataclass(frozen=True)
class Declaration:
    """A theorem's declaration cut into the parts a variant keeps: ``binders`` before the
    top-level colon (``{A} (l : list A)``) and the stated ``type``."""

    keyword: str
    name: str
    binders: str
    type: str


class CoqSyntax:
    """Coq's forms of the mutation tactics, statements and composed proofs (see the module doc)."""

    name = "coq"
    intro_all = "intros."
    temp_goal = "nesy_goal"
    temp_hyp = "nesy_hyp"
    terminators = ("Qed.", "Defined.", "Admitted.", "Abort.", "Abort All.", "Save.")
    given_up = ("Admitted.", "Abort.", "Abort All.")

    def ends_proof(self, sentence: str) -> bool:
        """Whether ``sentence`` (comments stripped, blanks collapsed) closes a proof."""
        return sentence in self.terminators or re.match(r"^(Qed|Defined|Save)\b", sentence) is not None

    # ---------------------------------------------------------------- finding invocable lemmas

    def rewrite(self, lemma: str, direction: str, hyp: str | None = None) -> str:
        arrow = "<- " if direction == "<-" else ""
        where = f" in {hyp}" if hyp else ""
        return f"rewrite {arrow}{lemma}{where}."

    def apply_to_hyp(self, lemma: str, hyp: str) -> str:
        """Goals after it: the antecedents of ``lemma`` instantiated to ``hyp``'s type, then the
        main goal (which has ``nesy_hyp`` added)."""
        # every new goal must be a proposition (applying a function would ask for its arguments)
        is_prop = "match goal with |- ?G => let s := type of G in constr_eq s Prop end"
        return f"let T := type of {hyp} in assert ({self.temp_hyp} : T); [apply {lemma}; {is_prop}|]."

    # ---------------------------------------------------------------- statements

    def declaration(self, statement: str) -> Declaration:
        from provers.coq.files import _DECL_RE
        from provers.coq.sentences import SentenceError, strip_comments

        try:
            body = " ".join(strip_comments(statement).split())
        except SentenceError as exc:
            raise SyntaxError_(str(exc)) from None
        m = _DECL_RE.match(body)
        if m is None:
            raise SyntaxError_(f"not a theorem declaration: {body[:80]!r}")
        rest = body[m.end():].rstrip()
        if not rest.endswith("."):
            raise SyntaxError_("the declaration does not end with '.'")
        rest = rest[:-1]
        cut = _top_level_colon(rest)
        if cut is None:
            raise SyntaxError_("no top-level ':' in the declaration")
        binders, typ = rest[:cut].strip(), rest[cut + 1:].strip()
        if len(split_top(typ, ":=")) > 1:
            raise SyntaxError_("the declaration has a body (':=')")
        return Declaration(m.group(1), m.group(2), binders, typ)

    def statement(self, name: str, binders: str, hyps: list[tuple[tuple[str, ...], str]], conclusion: str) -> str:
        """``Lemma name binders : forall (h : T) ..., conclusion.``"""
        quant = " ".join(f"({' '.join(names)} : {typ})" for names, typ in hyps)
        body = f"forall {quant}, {conclusion}" if hyps else conclusion
        b = f" {binders}" if binders else ""
        return f"Lemma {name}{b} :\n  {body}."

    def typed_binders(self, binders: str, types: dict[str, str]) -> str:
        """``binders`` with every binder that has no type given one from ``types`` (the types
        the theorem's initial state shows): ``n m`` -> ``(n : nat) (m : nat)``, ``{A}`` ->
        ``{A : Type}``. A variant's statement no longer mentions the binders the way the
        original did, so Coq could not infer their types again."""
        out: list[str] = []
        i = 0
        while i < len(binders):
            c = binders[i]
            if c.isspace():
                out.append(c)
                i += 1
            elif c in "({[" or c == "`":
                j = _group_end(binders, i)
                group = binders[i:j]
                inner = group[1:-1] if c != "`" else ""
                names = inner.split()
                if c in "({" and names and ":" not in inner and all(_NAME.fullmatch(n) and n in types for n in names):
                    close = ")" if c == "(" else "}"
                    out.append(" ".join(f"{c}{n} : {types[n]}{close}" for n in names))
                else:
                    out.append(group)
                i = j
            else:
                m = _NAME.match(binders, i)
                if m is None:
                    out.append(c)
                    i += 1
                    continue
                n = m.group(0)
                out.append(f"({n} : {types[n]})" if n in types else n)
                i = m.end()
        return "".join(out)

    # ---------------------------------------------------------------- composed proofs

    def _intros(self, names: list[str]) -> list[str]:
        return [f"intros {' '.join(names)}."] if names else []

    def _revert(self, names: list[str]) -> list[str]:
        return [f"revert {' '.join(names)}."] if names else []

    def bridge_rw_goal(self, names: list[str], conclusion: str, lemma: str, direction: str) -> list[str]:
        rw = self.rewrite(lemma, direction, self.temp_goal)[:-1]
        return [*self._intros(names), f"enough ({self.temp_goal} : {conclusion}) by ({rw}; exact {self.temp_goal}).", *self._revert(names)]

    def bridge_rw_hyp(self, names: list[str], hyp: str, original_type: str, lemma: str, direction: str) -> list[str]:
        rw = self.rewrite(lemma, direction)[:-1]
        return [*self._intros(names), f"assert ({self.temp_hyp} : {original_type}) by ({rw}; exact {hyp}).",
                f"clear {hyp}.", f"rename {self.temp_hyp} into {hyp}.", *self._revert(names)]

    def bridge_apply(self, new_names: list[str], names: list[str], hyp: str, original_type: str, lemma: str,
                     antecedent_names: list[str]) -> list[str]:
        return [*self._intros(new_names), f"assert ({hyp} : {original_type}) by (apply {lemma}; assumption).",
                f"clear {' '.join(antecedent_names)}.", *self._revert(names)]

    def proof_block(self, statement: str, proof_sentence: str, sentences: list[str]) -> str:
        """The variant as a file would hold it: a bullet or an opening brace shares its line with
        the sentence after it."""
        from provers.coq.sentences import is_bullet_or_brace

        lines: list[str] = []
        pending = ""
        for s in sentences:
            if is_bullet_or_brace(s) and s != "}":
                pending += s + " "
                continue
            lines.append(f"  {pending}{s}")
            pending = ""
        if pending:
            lines.append(f"  {pending.rstrip()}")
        body = "\n".join(lines)
        return f"{statement}\n{proof_sentence}\n{body}\nQed.\n"

    def trivial(self, proposition: str) -> bool:
        """``x = x``, ``A <-> A``, ``True``: a rewrite that leaves this made the statement empty."""
        p = " ".join(proposition.split())
        if p == "True":
            return True
        for rel in (" = ", " <-> "):
            sides = split_top(p, rel)
            if len(sides) == 2 and sides[0].strip() == sides[1].strip():
                return True
        return False

    def vacuous(self, hypothesis: str) -> bool:
        """A hypothesis that makes every statement true (``False``): a variant assuming it is no
        variant."""
        return " ".join(hypothesis.split()) in ("False", "(False)")

    def read_source(self, dataset: str, rel: str):
        """The library file ``rel`` of a traced dataset, cut into sentences; or why it cannot be read."""
        from pathlib import Path

        from provers.coq.library import _read, library_of

        lib, _ = library_of(Path(dataset))
        return _read(lib.root / rel)

    def verify_stretch(self, src, placed, check_args, *, recheck: bool = True, timeout_s: float = 900.0):
        """Kernel-check the variants of one stretch of a file in one batch (:mod:`synthesis.alchemy.verify`)."""
        from synthesis.alchemy.verify import verify_stretch

        return verify_stretch(src, placed, self, check_args, recheck=recheck, timeout_s=timeout_s)

    def check_alone(self, lt, statement: str, proof: list[str], name: str, *, timeout_s: float = 300.0):
        """A fresh, single kernel check of one variant in its original's context (the check of
        ``nesy eval library``: the file's prefix under a private name, the statement, the proof,
        ``Print Assumptions`` and ``coqchk``), independent of the batch that verified it."""
        from dataclasses import replace

        from provers.coq.check import CheckConfig, check_proof

        theorem = replace(lt.theorem, name=name, statement=statement, header=lt.check_header or lt.theorem.header, prelude="")
        config = CheckConfig(timeout_s=timeout_s, extra_args=lt.check_args)
        return check_proof(theorem, list(proof), config=config, closing=lt.closing, scope=lt.scope)

    def evar_free(self, text: str) -> bool:
        return re.search(r"\?[A-Za-z_]", text) is None


def _group_end(text: str, i: int) -> int:
    """End (exclusive) of the bracket group starting at ``text[i]`` (a backquote starts one too)."""
    if text[i] == "`":
        i += 1
    depth = 0
    for j in range(i, len(text)):
        if text[j] in "([{":
            depth += 1
        elif text[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def _top_level_colon(text: str) -> int | None:
    depth = 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == ":" and depth == 0:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            prev = text[i - 1] if i else ""
            if nxt in "=:>" or prev == ":":
                continue
            return i
    return None


SYNTAXES = {"coq": CoqSyntax}


def syntax_for(backend_name: str):
    from synthesis.errors import SynthesisError

    cls = SYNTAXES.get(backend_name)
    if cls is None:
        raise SynthesisError(f"nesy synth alchemy has no mutation syntax for the {backend_name!r} backend yet "
                             f"(available: {', '.join(sorted(SYNTAXES))}); see synthesis/alchemy/syntax.py")
    return cls()


def fresh_names(base: str, k: int, taken: set[str]) -> list[str]:
    """``k`` names ``base_1 ...`` not in ``taken`` (and added to it)."""
    out, i = [], 1
    while len(out) < k:
        cand = f"{base}_{i}"
        if cand not in taken and _NAME.fullmatch(cand):
            out.append(cand)
            taken.add(cand)
        i += 1
    return out


__all__ = ["SYNTAXES", "CoqSyntax", "Declaration", "SyntaxError_", "fresh_names", "syntax_for"]

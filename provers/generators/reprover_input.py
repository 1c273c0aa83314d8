"""ReProver's model input: the retrieved premises, then the goal state. One definition, shared by
the ``hf:`` generator (:mod:`provers.generators.hf`, at proving time) and by any trainer of a
retrieval-augmented tactic model (``nesy train tactics --data TRACED``, issue 12), so that the
text a model is trained on is the text it reads when proving.

The format is that of ReProver (Yang et al., LeanDojo, 2023; ``format_augmented_state`` and
``Premise.serialize`` in ``lean-dojo/ReProver``, ``common.py``):

* each premise is its statement as written, with its name marked ``<a>NAME</a>`` where the
  statement declares it (``Lemma <a>Nat.add_comm</a> : forall n m, ...``); a statement that does
  not spell the name (``Axioms a b : T``) is prefixed ``<a>NAME</a> : ``;
* each premise is followed by a blank line (``"\\n\\n"``), and the premises come *before* the
  state in reverse rank order: the best premise ends right above the state, the last thing a
  causal reader sees before the state itself;
* the state is never cut: the premises get the budget left after it (``max_len`` minus the
  state's length), taken best first; a premise that does not fit is left out whole (never cut
  mid-statement) and the next, shorter one may still fit, as in ReProver;
* for training, ``drop`` leaves each premise out with that probability (ReProver's ``p_drop``),
  so that the model learns not to trust the retriever blindly.

Two deliberate differences. ReProver measures lengths in UTF-8 bytes because its model (ByT5)
reads bytes; here the length is a parameter (``length``, UTF-8 bytes by default), and the
``hf:`` generator passes its tokenizer's token count, so the budget is the model's own limit.
ReProver marks a premise's *full* name; here the caller chooses the name (:func:`premise_name_at`:
the name a tactic at the theorem's place must use, relative to the file for a premise of the
theorem's own file, because the kernel check compiles the file's prefix under a private library
name where the file's absolute names do not exist).

:func:`model_text` puts it in a model's prompt within the model's length in tokens: it is what
``hf:MODEL,premises=DIR`` reads, and so what a trainer writes for each (state, tactic) pair of a
theorem in ``file`` (``top``: the retriever's best premises accessible there)::

    texts = [serialize_premise(p.code, p.full_name, premise_name_at(p, file)) for p in top[:n]]
    text = model_text(prompt, state[:max_input_chars], texts, max_input_tokens,
                      tokens=lambda s: len(tokenizer(s)["input_ids"]),
                      piece_tokens=lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"]))

with the model directory's ``nesy_generator.json`` saying ``"input": "reprover-v1"``,
``"premises": n`` and ``"max_input_tokens"`` (see :mod:`provers.generators.hf`).

Nothing here imports torch or transformers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from retrieval.dataset import MARK_END, MARK_START

FORMAT = "reprover-v1"  # written to a trained model's nesy_generator.json ("input")
SEPARATOR = "\n\n"  # after each premise


def utf8_length(text: str) -> int:
    """ReProver's length: UTF-8 bytes (its ByT5 model reads bytes)."""
    return len(text.encode("utf-8"))


STATE_CUTS = ("head", "tail")


def cut_state(state: str, max_chars: int, keep: str = "head") -> str:
    """``state`` within ``max_chars`` characters: its first ones (``head``, what ``hf:`` always did
    and still does for a model that says nothing) or its last ones (``tail``: the goal, which a
    Coq state prints last, and the hypotheses nearest it; what ``nesy train tactics --data``
    trains with and declares as ``"state_cut": "tail"``)."""
    if keep not in STATE_CUTS:
        raise ValueError(f"state cut must be one of {STATE_CUTS}, not {keep!r}")
    if len(state) <= max_chars:
        return state
    return state[:max_chars] if keep == "head" else state[len(state) - max_chars:]


def premise_name_at(premise, file: str | None) -> str:
    """The name a tactic proving a theorem of ``file`` uses for ``premise``: its full name, except
    for a premise of ``file`` itself, named relative to the file (``premises:`` names them so too)."""
    from provers.generators.premises import relative_name

    if file is not None and premise.path == file:
        return relative_name(premise.full_name, premise.path)
    return premise.full_name


def serialize_premise(code: str, full_name: str, name: str | None = None) -> str:
    """A premise's text: ``code`` with the declared name marked ``<a>name</a>``.

    As ReProver's ``Premise.serialize``: the longest suffix of ``full_name`` (``A.B.c``, ``B.c``,
    ``c``) found in ``code`` after whitespace (or at its start: some traced statements begin with
    the name, ``pow_inj_l : forall ...``) is replaced, at its first occurrence, by the marked
    ``name`` (``full_name`` when None). Without such an occurrence the marked name is prefixed.
    """
    marked = f"{MARK_START}{name or full_name}{MARK_END}"
    fields = full_name.split(".")
    for i in range(len(fields)):
        suffix = ".".join(fields[i:])
        if not suffix:
            continue
        pattern = re.compile(r"(?<!\S)" + re.escape(suffix) + r"(?![\w'])")  # after whitespace or at the start
        if pattern.search(code):
            return pattern.sub(lambda _: marked, code, count=1)
    return f"{marked} : {code}"


def format_augmented_state(state: str, premises: Sequence[str], max_len: int | None = None, *,
                           length: Callable[[str], int] = utf8_length, drop: float = 0.0,
                           rng: random.Random | None = None) -> str:
    """The model input: ``premises`` (serialized, best first) prepended to ``state`` (module doc).

    ``max_len`` bounds the whole input as measured by ``length`` (None: no bound); the state is
    kept whole even when it alone is longer. ``drop`` (0 <= drop < 1) leaves each premise out with
    that probability, drawn from ``rng`` (required when ``drop`` > 0, so runs are repeatable).
    """
    if not 0.0 <= drop < 1.0:
        raise ValueError(f"drop must be in [0, 1), not {drop}")
    if drop > 0 and rng is None:
        raise ValueError("drop > 0 needs an rng (random.Random(seed)), so that the input is repeatable")
    budget = None if max_len is None else max_len - length(state)
    used = 0
    kept: list[str] = []
    for text in premises:
        if drop > 0 and rng.random() < drop:  # type: ignore[union-attr]
            continue
        piece = text + SEPARATOR
        size = length(piece)
        if budget is not None and used + size > budget:
            continue
        used += size
        kept.append(piece)
    return "".join(reversed(kept)) + state


def model_text(prompt: str, state: str, premises: Sequence[str], max_tokens: int, *,
               tokens: Callable[[str], int], piece_tokens: Callable[[str], int] | None = None,
               drop: float = 0.0, rng: random.Random | None = None) -> str:
    """``prompt`` (a template with ``{state}``) around :func:`format_augmented_state`, the whole
    text at most ``max_tokens`` long as ``tokens`` counts it (the state is kept whole even when
    it alone is longer).

    The premises get what the prompt and the state leave, measured piece by piece with
    ``piece_tokens`` (default ``tokens``). Piece counts add up to the whole text's count only up
    to merges across a boundary, so the result is measured again and, while it is too long, the
    premises' budget shrinks (by the excess, at least an eighth) and they are laid out again.
    """
    budget = max_tokens - tokens(prompt.format(state=""))
    seed = rng.random() if rng is not None else None  # one draw: the same premises dropped in every round
    while True:  # ends: the budget falls every round, and below the state's length no premise is left
        round_rng = random.Random(seed) if seed is not None else None
        augmented = format_augmented_state(state, premises, budget, length=piece_tokens or tokens, drop=drop, rng=round_rng)
        text = prompt.format(state=augmented)
        excess = tokens(text) - max_tokens
        if excess <= 0 or augmented == state:
            return text
        budget -= max(excess, budget // 8, 1)

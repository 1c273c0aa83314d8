"""Verifying the variants of one stretch of a library file in one ``coqc`` run.

The batch file is the library file's own text up to the end of the stretch's last proof, with
each variant written just before its original theorem (so it sees exactly the original's context:
the same ``Require`` s, sections, variables, notations and earlier lemmas, and neither the
original nor anything after it). Modules still open are closed at the end; the signature
constraints of the modules that hold a variant are cut, as the single-proof check in library
context does (:func:`provers.coq.library._unconstrained`), so that no sealing hides the variant.
:func:`provers.coq.batch.check_batch` then compiles, removes what fails and re-checks the rest,
and reads ``Print Assumptions`` and ``coqchk``.
"""

from __future__ import annotations

from provers.coq.batch import BatchItem, BatchReport, check_batch
from provers.coq.check import CheckConfig
from provers.coq.library import unconstrained_opener
from provers.coq.sentences import SentenceError, strip_comments


def proof_end(src, index: int, syntax) -> int | None:
    """Index of the sentence that ends the proof of the declaration at sentence ``index``."""
    for j in range(index + 1, len(src.sentences)):
        try:
            text = " ".join(strip_comments(src.sentences[j].text).split())
        except SentenceError:
            return None
        if syntax.ends_proof(text):
            return j
    return None


def batch_pieces(src, placed: list[tuple[object, int, list]], syntax) -> list[str | BatchItem] | str:
    """The pieces of the batch file for ``placed``: ``(library theorem, sentence index, variants)``
    of one file; or why no batch can be built."""
    if not placed:
        return "nothing to check"
    last = max(index for _, index, _ in placed)
    end_index = proof_end(src, last, syntax)
    if end_index is None:
        return "the last proof of the stretch has no terminator"
    cut = src.sentences[end_index].start + len(src.sentences[end_index].text)
    edits: list[tuple[int, int, object]] = []  # (start, end, replacement text or BatchItem)
    openers: set[int] = set()
    for lt, index, variants in placed:
        for sc, opener in src.scopes_before(index):
            if sc.kind == "Module":
                openers.add(opener)
        for k, v in enumerate(variants):
            qualified = f"{lt.scope}.{v.name}" if lt.scope else v.name
            block = syntax.proof_block(v.statement, v.proof_sentence, list(v.proof))
            edits.append((lt.position, lt.position, (k, BatchItem(v.name, qualified, block, tuple(v.proof)))))
    for i in sorted(openers):
        s = src.sentences[i]
        opener = unconstrained_opener(s.text)
        if opener is not None:
            edits.append((s.start, s.start + len(s.text), opener))
    edits.sort(key=lambda e: (e[0], 0 if isinstance(e[2], tuple) else 1, e[2][0] if isinstance(e[2], tuple) else 0))
    pieces: list[str | BatchItem] = []
    at = 0
    text = src.text
    for a, b, what in edits:
        pieces.append(text[at:a])
        pieces.append(what[1] if isinstance(what, tuple) else what)
        at = b
    pieces.append(text[at:cut])
    closing = [f"End {sc.name}." for sc, _ in reversed(src.scopes_before(end_index))]
    pieces.append("\n" + "\n".join(closing) + "\n" if closing else "\n")
    return pieces


def verify_stretch(src, placed, syntax, check_args: tuple[str, ...], *, recheck: bool = True, timeout_s: float = 600.0,
                   max_rounds: int = 8) -> BatchReport | str:
    """Kernel-check the variants of ``placed`` (see :func:`batch_pieces`) in one batch."""
    pieces = batch_pieces(src, placed, syntax)
    if isinstance(pieces, str):
        return pieces
    config = CheckConfig(timeout_s=timeout_s, recheck=recheck, extra_args=tuple(check_args))
    return check_batch(pieces, config, max_rounds=max_rounds)


__all__ = ["batch_pieces", "proof_end", "verify_stretch"]

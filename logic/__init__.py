"""logic: natural language to first-order logic, and FOL provers (LINC-style, done properly).

``logic.syntax``      FOL syntax trees (frozen dataclasses); ``str(f)`` prints nesy syntax
``logic.parsing``     ``parse(text)`` for NLTK/Prover9-style and FOLIO Unicode formulas
``logic.printers``    Prover9 and TPTP printers (Z3 terms: ``logic.solvers.z3_backend``)
``logic.solvers``     ``get_prover("prover9" | "z3" | "eprover")``: ``entails`` / ``satisfiable``
``logic.translate``   controlled English (deterministic) and LLM (hf:PATH / openai:URL) translators
``logic.datasets``    ProofWriter, FOLIO, ProntoQA loaders
``logic.evaluation``  the ``nesy eval proofwriter|folio|prontoqa`` pipeline

This package imports no other nesy package.
"""

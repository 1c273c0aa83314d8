"""NLSat: hard random k-SAT instances rendered as natural-language theories.

After Richardson and Sabharwal (AAAI 2022): formulas are sampled from the fixed-clause-length
random k-SAT model across the satisfiability phase transition, labelled SAT/UNSAT by a CDCL solver
(python-sat) with its effort as hardness, cross-checked by Z3, deduplicated up to renaming,
filtered for hardness, balanced, and rendered in a natural-language fragment together with their
FOL in nesy's syntax. Entry point: :func:`synthesis.nlsat.pipeline.run_nlsat` (``nesy synth nlsat``).

Modules: ``config`` (the frozen config, sweeps, buckets), ``sampler``, ``labelling``,
``canonical`` (exact canonical forms, counting), ``selection``, ``vocabulary``, ``render``,
``bucket`` (one bucket, pure), ``pipeline`` (orchestration, files, resume), ``card``, ``plots``.
"""

"""Tracing Coq libraries into the LeanDojo Benchmark layout (``nesy trace``).

* :mod:`provers.tracing.config` — what to trace (a library: root, logical name, options).
* :mod:`provers.tracing.syntax` — what a sentence declares, module/section scopes, identifiers.
* :mod:`provers.tracing.locate` — resolving identifiers to full names with Coq's ``Locate``.
* :mod:`provers.tracing.replay` — replaying one file through coqidetop into a :class:`FileTrace`.
* :mod:`provers.tracing.deps` — dependency order of a user's files and compiling them with coqc.
* :mod:`provers.tracing.driver` — all files, in parallel on Ray or serially, with a resumable cache.
* :mod:`provers.tracing.assemble` — per-file traces to ``corpus.jsonl`` and the two splits.

``docs/tracing.md`` describes the command, the formats and the measured figures.
"""

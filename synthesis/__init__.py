"""synthesis: data generation on top of ``logic/`` (and later ``provers/``/``retrieval/``).

Subpackages:

* :mod:`synthesis.nlsat` -- hard random k-SAT instances from the satisfiability phase transition,
  labelled by a CDCL solver and rendered as natural-language theories (``nesy synth nlsat``).

Importing this package does nothing beyond defining names.
"""

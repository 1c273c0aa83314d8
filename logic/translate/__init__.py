"""Translators from natural language to first-order formulas.

``controlled``  deterministic controlled-English parser (ProofWriter/RuleTaker, ProntoQA, NLSat).
``llm``         LINC-style few-shot LLM translation (``hf:PATH`` or ``openai:URL``), k samples.
"""

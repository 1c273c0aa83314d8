"""Few-shot prompt files for the LLM translator (one per dataset; see logic.translate.llm)."""

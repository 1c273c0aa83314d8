"""Run infrastructure shared by every nesy package (``provers/``, ``retrieval/``, ``synthesis/``,
``logic/``). It sits below all four and imports none of them.

``nesyrun.openai_client``   the one client for OpenAI-compatible model servers (vLLM, llama.cpp's
                            server, ``transformers serve``, hosted endpoints), used by the tactic
                            generators and the LLM translators alike.
"""

"""Coq backend: ``coqidetop.opt`` driven through its XML protocol, and the ``coqc`` kernel check."""

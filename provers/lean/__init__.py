"""Lean 4 backend (through lean-dojo; optional extra ``nesy[lean]``)."""

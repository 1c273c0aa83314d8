"""provers."""

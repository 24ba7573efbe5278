"""Benchmarks of the import engine (run by hand: ``python -m bench``; figures, not tests)."""

"""Benchmarks: ``make bench`` / ``make bench-quick`` (python -m bench).  They print figures; no test
asserts a time."""

"""Benchmarks of Assured: run with ``make bench`` (full) or ``make bench-quick``."""

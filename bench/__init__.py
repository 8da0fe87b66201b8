"""Benchmarks: run as `python -m bench.<name>`; figures are recorded in BENCHMARKS.md."""

"""Benchmarks: each module is a `python -m bench.NAME` script (see BENCHMARKS.md)."""
